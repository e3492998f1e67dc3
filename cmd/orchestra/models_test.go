package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliRun is one run of the binary: what it printed and how it ended.
type cliRun struct {
	stdout, stderr string
	err            error
}

func (r cliRun) String() string {
	return "stdout:\n" + r.stdout + "stderr:\n" + r.stderr + "err: " + errString(r.err)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// field is the value of a "name: value" line.
func (r cliRun) field(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `: (.*)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no %s line:\n%s", name, r)
	}
	return m[1]
}

// TestModelCommands drives the model commands generated from the API's
// document through the real binary, on both stores: accounts, database
// users and databases are created, listed, read by id and by title,
// changed, acted on and deleted; mistakes come back as the API lists them
// and change nothing; writes queue their planning for the running panel.
func TestModelCommands(t *testing.T) {
	bin := build(t)
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			var env []string
			if store == "postgres" {
				u := pgSchemaURL(t)
				if u == "" {
					t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
				}
				env = append(env, "ORCHESTRA_DATABASE_URL="+u)
			}
			dir := t.TempDir()
			run := func(stdin string, extra []string, args ...string) cliRun {
				t.Helper()
				cmd := exec.Command(bin, args...)
				cmd.Dir = dir
				cmd.Env = append(append(os.Environ(), env...), extra...)
				cmd.Stdin = strings.NewReader(stdin)
				var out, errOut bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errOut
				err := cmd.Run()
				return cliRun{out.String(), errOut.String(), err}
			}
			ok := func(stdin string, args ...string) cliRun {
				t.Helper()
				r := run(stdin, nil, args...)
				if r.err != nil {
					t.Fatalf("%s: %s", strings.Join(args, " "), r)
				}
				return r
			}
			fails := func(r cliRun, wants ...string) {
				t.Helper()
				if r.err == nil {
					t.Fatalf("succeeded: %s", r)
				}
				for _, w := range wants {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, r)
					}
				}
			}
			count := func(model string) int {
				t.Helper()
				var page struct{ Count int }
				if err := json.Unmarshal([]byte(ok("", model, "list", "--json").stdout), &page); err != nil {
					t.Fatal(err)
				}
				return page.Count
			}

			// an account, with no password (standard input is empty)
			acc := ok("", "account", "create", "--username", "shopkeeper", "--full-name", "Shop Keeper", "--email", "shop@example.com")
			accID := acc.field(t, "id")
			if acc.field(t, "username") != "shopkeeper" || acc.field(t, "full_name") != "Shop Keeper" {
				t.Fatalf("account create: %s", acc)
			}
			if !strings.Contains(acc.stderr, "Orchestra-Changes: ") || !strings.Contains(acc.stderr, "follow with: orchestra operation list --changes ") {
				t.Errorf("a write does not name its changes: %s", acc)
			}

			// a database user of the account, named by its username, the
			// password read from standard input
			admin := ok("Str0ng-pass-phrase\n", "database-user", "create", "--username", "shop_admin", "--account", "shopkeeper", "--type", "mysql")
			adminID := admin.field(t, "id")
			if admin.field(t, "account") != accID || admin.field(t, "type") != "mysql" {
				t.Fatalf("database-user create: %s", admin)
			}
			db := ok("", "database", "create", "--name", "shop", "--users", "shop_admin")
			dbID := db.field(t, "id")
			if db.field(t, "users") != adminID || db.field(t, "owner") != adminID || db.field(t, "account") != accID {
				t.Fatalf("database create: %s", db)
			}

			// list: a table of id, title and columns; --json is the API's page
			list := ok("", "database", "list")
			if !regexp.MustCompile(`(?m)^ID\s+NAME\s+TYPE\s+USERS\s+ACCOUNT\s*$`).MatchString(list.stdout) ||
				!regexp.MustCompile(`(?m)^`+dbID+`\s+shop\s+mysql\s+`+adminID+`\s+`+accID+`\s*$`).MatchString(list.stdout) {
				t.Errorf("database list:\n%s", list)
			}
			var page struct {
				Count   int
				Results []struct {
					ID    int
					Name  string
					Users []int
				}
			}
			if err := json.Unmarshal([]byte(ok("", "database", "list", "--json").stdout), &page); err != nil {
				t.Fatal(err)
			}
			if page.Count != 1 || len(page.Results) != 1 || page.Results[0].Name != "shop" || strconv.Itoa(page.Results[0].ID) != dbID {
				t.Errorf("database list --json: %+v", page)
			}
			// filters are the list's query parameters; a filter naming a
			// model takes a title; both spellings of page_size
			for _, size := range []string{"--page-size", "--page_size"} {
				r := ok("", "database", "list", "--account", "shopkeeper", "--type", "mysql", size, "1")
				if !strings.Contains(r.stdout, "shop") {
					t.Errorf("database list %s: %s", size, r)
				}
			}
			if r := ok("", "database", "list", "--type", "postgresql"); strings.Contains(r.stdout, "shop") || !strings.Contains(r.stderr, "no databases") {
				t.Errorf("filtered list: %s", r)
			}

			// get by id and by title show the same object
			byID, byName := ok("", "database", "get", dbID), ok("", "database", "get", "shop")
			if byID.stdout != byName.stdout || byID.field(t, "name") != "shop" || byID.field(t, "version") != "1" {
				t.Errorf("get by id:\n%s\nby name:\n%s", byID, byName)
			}
			if r := ok("", "database-user", "get", "shop_admin", "--json"); !strings.Contains(r.stdout, `"username": "shop_admin"`) {
				t.Errorf("get --json: %s", r)
			}
			fails(run("", nil, "database", "get", "nothere"), "no database named nothere")
			fails(run("", nil, "database", "get", "987654"), "no database 987654")

			// update: based on the version read, unless --version names one
			reader := ok("Another-pass-phrase-1\n", "database-user", "create", "--username", "shop_ro", "--account", accID, "--type", "mysql")
			readerID := reader.field(t, "id")
			up := ok("", "database", "update", "shop", "--users", "shop_admin,"+readerID)
			if up.field(t, "users") != adminID+","+readerID || up.field(t, "version") != "2" {
				t.Errorf("database update: %s", up)
			}
			fails(run("", nil, "database", "update", "shop", "--users", adminID, "--version", "1"), "changed by someone else")
			if r := ok("", "database", "get", "shop"); r.field(t, "users") != adminID+","+readerID {
				t.Errorf("a stale update changed the database: %s", r)
			}

			// an action: the password from standard input, then a weak one
			if r := ok("Brand-new-pass-77\n", "database-user", "set-password", "shop_ro"); !strings.Contains(r.stdout, "password of shop_ro set") {
				t.Errorf("set-password: %s", r)
			}
			fails(run("", []string{"ORCHESTRA_PASSWORD=weak"}, "database-user", "set-password", "shop_ro"), "password: ")
			fails(run("", nil, "database-user", "set-password", "shop_ro"), "no password")

			// mistakes: every field the API refuses, one a line; nothing saved
			users := count("database-user")
			fails(run(strings.Repeat("p", 300)+"\n", nil, "database-user", "create", "--username", strings.Repeat("u", 70), "--account", accID),
				"validation failed", "\n  username: Enter at most 63 characters.", "\n  password: Enter at most 256 characters.")
			fails(run("weak\n", nil, "database-user", "create", "--username", "9bad", "--account", accID), "validation failed", "password: ")
			if n := count("database-user"); n != users {
				t.Errorf("refused creates saved users: %d, was %d", n, users)
			}
			fails(run("", nil, "account", "create", "--username", "bad name!", "--email", "nope", "--full-name", ""),
				"\n  username: ", "\n  email: ", "\n  full_name: ")
			if n := count("account"); n != 1 {
				t.Errorf("a refused account was saved: %d accounts", n)
			}

			// a title two objects share asks for the id
			pg := ok("", "database", "create", "--name", "shop", "--type", "postgresql", "--account", "shopkeeper",
				"--user", `{"username": "shop_pg", "password": "Pg-pass-phrase-9"}`)
			pgID := pg.field(t, "id")
			fails(run("", nil, "database", "get", "shop"), "2 databases named shop (ids ", "give the id")

			// delete, by id and then by the title that is unique again
			if r := ok("", "database", "delete", pgID); !strings.Contains(r.stdout, "deleted database "+pgID) {
				t.Errorf("delete: %s", r)
			}
			ok("", "database", "delete", "shop")
			if n := count("database"); n != 0 {
				t.Errorf("%d databases left", n)
			}

			// what the command line takes is said, and what it does not
			fails(run("", nil, "database", "list", "--frob", "1"), "unknown flag --frob", "--page-size", "--search", "--account")
			fails(run("", nil, "database", "frob"), `unknown verb "frob"`, "list, get, create, update, delete")
			fails(run("", nil, "database", "get"), "needs the database")
			if r := ok("", "database-user", "--help"); !strings.Contains(r.stdout, "set-password <ref>") || !strings.Contains(r.stdout, "create ") {
				t.Errorf("model help: %s", r)
			}
			if r := ok("", "database", "create", "--help"); !strings.Contains(r.stdout, "--users=INTEGER") || !strings.Contains(r.stdout, "Existing users") ||
				!strings.Contains(r.stdout, "--name=STRING") || !strings.Contains(r.stdout, "(required)") {
				t.Errorf("verb help: %s", r)
			}
			if r := ok("", "--help"); !strings.Contains(r.stdout, "database-user") || !strings.Contains(r.stdout, "orchestra <model>") {
				t.Errorf("orchestra --help does not mention the model commands: %s", r)
			}

			// the writes queued their planning: the running panel plans them
			changes := regexp.MustCompile(`Orchestra-Changes: ([0-9,]+)`).FindStringSubmatch(admin.stderr)
			if changes == nil {
				t.Fatalf("no changes named: %s", admin)
			}
			if r := ok("", "operation", "list", "--changes", changes[1]); !strings.Contains(r.stderr, "Orchestra-Unplanned: 1") {
				t.Fatalf("planned with no panel running: %s", r)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			serve := exec.CommandContext(ctx, bin, "serve", "--listen", freePort(t), "--no-superuser")
			serve.Dir, serve.Env = dir, append(os.Environ(), env...)
			var serveOut bytes.Buffer
			serve.Stdout, serve.Stderr = &serveOut, &serveOut
			if err := serve.Start(); err != nil {
				t.Fatal(err)
			}
			defer serve.Wait()
			deadline := time.Now().Add(time.Minute)
			for {
				r := ok("", "operation", "list", "--changes", changes[1])
				if strings.Contains(r.stderr, "Orchestra-Unplanned: 0") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the panel did not plan the command line's write: %s\nserve:\n%s", r, serveOut.String())
				}
			}
			cancel()
		})
	}
}
