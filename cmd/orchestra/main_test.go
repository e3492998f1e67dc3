package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// build compiles the real binary once per test run.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "orchestra")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeFirstStart runs README's first command as a newcomer would: no
// configuration at all, then logs in with the printed password.
func TestServeFirstStart(t *testing.T) {
	bin := build(t)
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			env := os.Environ()
			if store == "postgres" {
				u := pgSchemaURL(t)
				if u == "" {
					t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
				}
				env = append(env, "ORCHESTRA_DATABASE_URL="+u)
			}
			dir := t.TempDir()
			addr := freePort(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--listen", addr)
			cmd.Dir, cmd.Env = dir, env
			stdout, _ := cmd.StdoutPipe()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			pwRe := regexp.MustCompile(`password: (\S+)`)
			var pw string
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if m := pwRe.FindStringSubmatch(sc.Text()); m != nil {
					pw = m[1]
					break
				}
			}
			if pw == "" {
				t.Fatalf("no password printed; stderr:\n%s", stderr.String())
			}
			base := "http://" + addr + "/api/v1"
			var res *http.Response
			var err error
			for i := 0; i < 100; i++ {
				body := fmt.Sprintf(`{"username":"admin","password":%q}`, pw)
				res, err = http.Post(base+"/auth/login", "application/json", strings.NewReader(body))
				if err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("login with the printed password: %d", res.StatusCode)
			}
			if store == "sqlite" {
				if _, err := os.Stat(filepath.Join(dir, "var", "orchestra.db")); err != nil {
					t.Fatalf("no embedded database under ./var: %v", err)
				}
			}
			cancel()
		})
	}
}

func pgSchemaURL(t *testing.T) string {
	base := os.Getenv("ORCHESTRA_TEST_POSTGRES_URL")
	if base == "" {
		return ""
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "cli_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() })
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestCommands(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(nil, "version"); err != nil || !strings.HasPrefix(out, "orchestra ") {
		t.Fatalf("version: %v %s", err, out)
	}
	if out, err := run(nil, "migrate"); err != nil || !regexp.MustCompile(`applied [1-9][0-9]* migration`).MatchString(out) {
		t.Fatalf("migrate: %v %s", err, out)
	}
	if out, err := run(nil, "migrate"); err != nil || !strings.Contains(out, "applied 0 migration") {
		t.Fatalf("second migrate: %v %s", err, out)
	}
	out, err := run([]string{"ORCHESTRA_SUPERUSER_PASSWORD=Root-pass-123"}, "createsuperuser", "--username", "root", "--email", "root@example.com")
	if err != nil || !strings.Contains(out, `Created superuser "root"`) {
		t.Fatalf("createsuperuser: %v %s", err, out)
	}
	if out, err := run(nil, "createsuperuser", "--username", "root", "--email", "root@example.com"); err == nil {
		t.Fatalf("duplicate superuser accepted: %s", out)
	} else if !strings.Contains(out, "username") {
		t.Fatalf("duplicate superuser error does not name the field: %s", out)
	}
	out, err = run([]string{"ORCHESTRA_DATABASE_URL=postgres://orch:s3cret@db.example/orch", "ORCHESTRA_ACCOUNTS_DEFAULT_TYPE=COMPANY"}, "config")
	if err != nil {
		t.Fatalf("config: %v %s", err, out)
	}
	if strings.Contains(out, "s3cret") || !strings.Contains(out, "orch:********@db.example") {
		t.Fatalf("config does not mask the password:\n%s", out)
	}
	if !strings.Contains(out, "ORCHESTRA_ACCOUNTS_DEFAULT_TYPE=COMPANY  # env") {
		t.Fatalf("config does not show the environment override:\n%s", out)
	}
	if out, err := run([]string{"ORCHESTRA_ACCOUNTS_DEFAULT_TYPE=NOPE"}, "config"); err == nil || !strings.Contains(out, "ORCHESTRA_ACCOUNTS_DEFAULT_TYPE") {
		t.Fatalf("invalid environment value accepted: %v %s", err, out)
	}

	// DNS: import a zone file for an account, print the zone back
	zone := "$TTL 600\n@ IN SOA ns.old. hostmaster.old. 2030010100 3600 600 86400 300\n@ IN A 192.0.2.9\n" +
		"www IN CNAME @\n@ IN TXT \"say \\\"hi\\\"\"\n"
	os.WriteFile(filepath.Join(dir, "zone"), []byte(zone), 0o644)
	if out, err := run(nil, "dns", "import", "example.org", "zone", "--account", "root"); err != nil || !strings.Contains(out, "imported example.org") {
		t.Fatalf("dns import: %v %s", err, out)
	}
	out, err = run(nil, "dns", "zone", "www.example.org")
	if err != nil {
		t.Fatalf("dns zone: %v %s", err, out)
	}
	for _, want := range []string{"example.org.", "2030010101 3600 600 86400 300", "IN A       192.0.2.9",
		"www.example.org.", "IN CNAME   example.org.", `IN TXT     "say \"hi\""`} {
		if !strings.Contains(out, want) {
			t.Errorf("zone lacks %q:\n%s", want, out)
		}
	}
	if out, err := run(nil, "dns", "import", "bad.example", "zone-missing"); err == nil {
		t.Errorf("import of a missing file: %s", out)
	}

	// system users: an account's main user gets a new password
	out, err = run([]string{"ORCHESTRA_SUPERUSER_PASSWORD=Boss-pass-123"}, "createsuperuser", "--username", "boss", "--email", "boss@example.com")
	if err != nil {
		t.Fatalf("createsuperuser boss: %v %s", err, out)
	}
	if out, err := run([]string{"ORCHESTRA_PASSWORD=New-boss-pass-456"}, "system-user", "set-password", "boss"); err != nil ||
		!strings.Contains(out, "password of boss set") {
		t.Errorf("system-user set-password: %v %s", err, out)
	}
	if out, err := run([]string{"ORCHESTRA_PASSWORD=weak"}, "system-user", "set-password", "boss"); err == nil || !strings.Contains(out, "password") {
		t.Errorf("weak password accepted: %v %s", err, out)
	}
	if out, err := run([]string{"ORCHESTRA_PASSWORD=New-boss-pass-456"}, "system-user", "set-password", "nobody-here"); err == nil {
		t.Errorf("unknown user: %s", out)
	}
}
