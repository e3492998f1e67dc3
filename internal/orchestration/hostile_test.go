package orchestration_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/schema/field"

	// accounts.Validate is the validation under test: it must refuse NUL.
	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/migrate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/route"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// accountText is every string column of Account: all the text a backend of
// accounts can put into a script. It comes from the table, so a column added
// later is covered without editing this test.
var accountText = func() []string {
	var out []string
	for _, c := range migrate.AccountsTable.Columns {
		if c.Type == field.TypeString {
			out = append(out, c.Name)
		}
	}
	return out
}()

// trimmed are the fields accounts.Validate strips of surrounding white
// space: they are stored (and shipped) as strings.TrimSpace of the input.
var trimmed = []string{"username", "short_name", "full_name", "email"}

// How test-hostile ships a value; each way is a file suffix.
var hostileWays = []string{"file", "var", "argv"}

// test-hostile writes every string column of an account to TEST_ROOT three
// ways, one per path a value takes into a script: content shipped by
// WriteFile, a variable set by Var and expanded by constant Raw text, and an
// argv word of Cmd. Files are named after the account's id and the column,
// never after a value, so only the content is hostile. It is registered only
// while a test of this file runs, since other tests see every backend of
// Account; tb is the first test needing it.
func registerHostile(tb testing.TB) {
	if _, ok := orchestration.Lookup("test-hostile"); ok {
		return
	}
	orchestration.Register(&orchestration.Backend{
		Name: "test-hostile", Model: "Account",
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("root", srv.Setting("TEST_ROOT", "/nonexistent"))
			s.Raw(`mkdir -p "$root"`)
		},
		Apply: func(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
			s.Var("id", strconv.Itoa(o.ID))
			if action == orchestration.ActionDelete {
				s.Raw(`rm -f -- "$root/$id".*`)
				return nil
			}
			for _, f := range accountText {
				v := o.String(f)
				s.WriteFile(srv.Setting("TEST_ROOT", "/nonexistent")+"/"+strconv.Itoa(o.ID)+"."+f+".file", []byte(v), "0644")
				s.Var("v", v)
				s.Raw(`printf '%s' "$v" >"$root/$id.` + f + `.var"`)
				s.Cmd("bash", "-c", `printf '%s' "$1" >"$2"`, "test-hostile", v,
					srv.Setting("TEST_ROOT", "/nonexistent")+"/"+strconv.Itoa(o.ID)+"."+f+".argv")
			}
			return nil
		},
	})
	tb.Cleanup(func() { orchestration.Unregister("test-hostile") })
}

// canary is the file the seeds try to create on the server.
const canary = "/tmp/orchestra-pwned"

// hostileSeeds are strings a shell, a heredoc, printf or an option parser
// would act on if they were not data.
var hostileSeeds = []string{
	`it's "quoted"`, `'`, `"`, `''`, `'\''`, `"'"'"`,
	`$(touch /tmp/orchestra-pwned)`, "`touch /tmp/orchestra-pwned`", `$(touch${IFS}/tmp/orchestra-pwned)`,
	`'; touch /tmp/orchestra-pwned; '`, `"; touch /tmp/orchestra-pwned; "`, `'$(touch /tmp/orchestra-pwned)'`,
	"x\ntouch /tmp/orchestra-pwned\n", "a\r\nb\rc\n", "\n", " \t padded \t\n ",
	"; rm -rf / #", "a | b && c || d > /tmp/orchestra-pwned < /etc/passwd", "x & touch /tmp/orchestra-pwned",
	"* ? [a-z] {a,b} ~ ~root", "$HOME ${PATH} ${X:-y} $1 $@ $$ $? !! \\$x", `$'\x41'`,
	`\`, `\\`, `\n\t\x41\0`, "%s%n%d %% %b",
	"--help", "-rf", "-", "--", ".", "..", "../../etc/passwd",
	"Núria 山田 🎉", "\u202eevil\u202c", "\u00a0nbsp\u2028line\u2029", "\ufeffbom", "e\u0301",
	"\xff\xfe invalid \xc3(", "\xed\xa0\x80", // invalid UTF-8 (the second a lone surrogate)
	"ORCHESTRA_EOF_0000000000000000", "orchestra_flush; touch /tmp/orchestra-pwned", "EOF\nORCHESTRA_EOF\n",
	"`id`'$HOME'*?{}~!#|&^=/@example.com", // a valid e-mail address
	"a\x00b", "\x00",
	strings.Repeat("'\"$(x)`;\n山", 500), // 5000 runes
	strings.Repeat("x", 5000),
	"",
	"STAFF", "EN", "h-rf", // valid type, language and username
}

// newHostileBed is newBenchBed (whose methods take testing.TB, as a fuzz
// test's setup needs) with test-hostile, registered for the test, instead of
// test-exec: one route, for every account, to the first server.
func newHostileBed(tb testing.TB, st *store.Store) *benchBed {
	tb.Helper()
	b := newBenchBed(tb, st)
	registerHostile(tb)
	err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
		if _, err := tx.Route.Delete().Where(route.Backend("test-exec")).Exec(ctx); err != nil {
			return err
		}
		return tx.Route.Create().SetBackend("test-hostile").SetServerID(b.servers[0].ID).SetMatch("true").Exec(ctx)
	})
	if err != nil {
		tb.Fatal(err)
	}
	// a canary left by another run would be blamed on this one
	b.sh(tb, 0, "rm -f -- "+canary)
	return b
}

var hostileSerial atomic.Int64

// hostileAccount creates an account of plain values (so that every hostile
// value is a change) and returns its id.
func hostileAccount(tb testing.TB, st *store.Store) int {
	tb.Helper()
	name := fmt.Sprintf("h%d", hostileSerial.Add(1))
	var a *ent.Account
	err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
		a, err = tx.Account.Create().SetUsername(name).SetPassword("!").SetShortName("short").
			SetFullName("Plain Name").SetEmail(name + "@example.com").SetComments("none").Save(ctx)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return a.ID
}

// errorFields names the fields a validation error blames; nil for any other
// error (a database's own refusal is not validation).
func errorFields(err error) []string {
	var errs validate.Errors
	if errors.As(err, &errs) {
		var out []string
		for _, e := range errs {
			out = append(out, e.Field)
		}
		return out
	}
	var conflict *validate.Conflict
	if errors.As(err, &conflict) {
		return []string{conflict.Field}
	}
	var invalid *ent.ValidationError
	if errors.As(err, &invalid) {
		return []string{invalid.Name}
	}
	return nil
}

// count returns a function unwrapping a Count query's result.
func count(tb testing.TB) func(int, error) int {
	return func(n int, err error) int {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return n
	}
}

// readBack returns, byte for byte, the files test-hostile wrote for account
// id on the first server ("<id>.<field>.<way>" → content), through base64 so
// that nothing on the way can alter them; it fails if the canary exists, and
// removes it so that the next input is not blamed.
func readBack(tb testing.TB, b *benchBed, id int) map[string][]byte {
	tb.Helper()
	out := b.sh(tb, 0, fmt.Sprintf(`cd -- %s && for f in %d.*; do printf '%%s %%s\n' "$f" "$(base64 -w0 -- "$f")"; done
if [[ -e %[3]s ]]; then echo PWNED; rm -f -- %[3]s; fi`, orchestration.Quote(b.roots[0]), id, canary))
	files := map[string][]byte{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "PWNED" {
			tb.Fatalf("%s exists on the server: a value ran as code", canary)
		}
		name, enc, _ := strings.Cut(line, " ")
		data, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			tb.Fatalf("%s: %v", line, err)
		}
		files[strings.TrimPrefix(name, strconv.Itoa(id)+".")] = data
	}
	return files
}

// stored returns the account's string columns as the store holds them.
func stored(tb testing.TB, st *store.Store, id int) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, f := range accountText {
		v, err := st.Account.Query().Where(account.ID(id)).Select(f).String(sys)
		if err != nil {
			tb.Fatal(err)
		}
		out[f] = v
	}
	return out
}

// checkServer compares every file of account id with the stored values.
func checkServer(tb testing.TB, b *benchBed, id int, want map[string]string) {
	tb.Helper()
	files := readBack(tb, b, id)
	if len(files) != len(accountText)*len(hostileWays) {
		names := make([]string, 0, len(files))
		for n := range files {
			names = append(names, n)
		}
		slices.Sort(names)
		tb.Errorf("account %d: %d files on the server, want %d: %q", id, len(files), len(accountText)*len(hostileWays), names)
	}
	for _, f := range accountText {
		for _, way := range hostileWays {
			got, ok := files[f+"."+way]
			if !ok {
				tb.Errorf("account %d: no %s.%s on the server", id, f, way)
			} else if string(got) != want[f] {
				tb.Errorf("account %d: %s via %s arrived as %q, the store holds %q", id, f, way, got, want[f])
			}
		}
	}
}

// hostileRound sets every string field of a new account (so that no input
// inherits another's state) to in, and checks that each value was either
// refused by validation naming its field, with nothing queued, or stored
// and written on the server byte for byte. All fields go in one
// transaction; the fields a refusal names are dropped and the rest tried
// again, so that one refusal does not hide the others.
func hostileRound(tb testing.TB, b *benchBed, in string) {
	tb.Helper()
	st := b.st
	since := b.lastLogID(tb)
	id := hostileAccount(tb, st)
	pending := slices.Clone(accountText)
	for len(pending) > 0 {
		before := count(tb)(st.Change.Query().Count(sys))
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			u := tx.Account.UpdateOneID(id)
			for _, f := range pending {
				if err := u.Mutation().SetField(f, in); err != nil {
					return err
				}
			}
			return u.Exec(ctx)
		})
		if err == nil {
			break
		}
		if after := count(tb)(st.Change.Query().Count(sys)); after != before {
			tb.Errorf("%q refused in %q but queued %d changes", in, pending, after-before)
		}
		named := errorFields(err)
		if len(named) == 0 || slices.ContainsFunc(named, func(f string) bool { return !slices.Contains(pending, f) }) {
			tb.Errorf("%q in %q refused with %v, which is not a validation error naming those fields (names %q)", in, pending, err, named)
			pending = nil
			break
		}
		pending = slices.DeleteFunc(pending, func(f string) bool { return slices.Contains(named, f) })
	}
	b.settle(tb, since, 5*time.Millisecond, time.Minute)
	want := stored(tb, st, id)
	for _, f := range pending { // the accepted fields
		exp := in
		if slices.Contains(trimmed, f) {
			exp = strings.TrimSpace(in)
		}
		if want[f] != exp {
			tb.Errorf("%s = %q was stored as %q, want %q", f, in, want[f], exp)
		}
	}
	checkServer(tb, b, id, want)
}

// FuzzHostileOverSSH writes hostile strings into every string field of an
// account and reads them back from a real server over SSH, on every store.
// Without -fuzz only the seeds run.
func FuzzHostileOverSSH(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	stores := []*store.Store{storetest.SQLite(f)}
	if pg := storetest.Postgres(f); pg != nil {
		stores = append(stores, pg)
	}
	beds := make([]*benchBed, len(stores))
	for i, st := range stores {
		beds[i] = newHostileBed(f, st)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, b := range beds {
			hostileRound(&dialectTB{t, b.st.Dialect}, b, in)
		}
	})
}

// dialectTB prefixes failures with the store's dialect.
type dialectTB struct {
	*testing.T
	dialect string
}

func (d *dialectTB) Errorf(format string, args ...any) {
	d.T.Helper()
	d.T.Errorf(d.dialect+": "+format, args...)
}

func (d *dialectTB) Fatalf(format string, args ...any) {
	d.T.Helper()
	d.T.Fatalf(d.dialect+": "+format, args...)
}

// TestHostileFieldsRejectNUL: a NUL byte in any string field of an account
// is refused by validation, naming the field, on create, update and bulk
// update alike, and nothing reaches the planner or the server.
func TestHostileFieldsRejectNUL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newHostileBed(t, st)
		id := hostileAccount(t, st)
		b.settle(t, 0, 5*time.Millisecond, time.Minute)
		want := stored(t, st, id)
		changes := count(t)(st.Change.Query().Count(sys))
		ops := count(t)(st.Operation.Query().Count(sys))

		writes := map[string]func(ctx context.Context, tx *ent.Tx, f, v string) error{
			"create": func(ctx context.Context, tx *ent.Tx, f, v string) error {
				// a name of its own, so that a create let through wrongly
				// is not blamed on the next one as a taken username
				name := fmt.Sprintf("hnul%d", hostileSerial.Add(1))
				c := tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName("Nul").SetEmail(name + "@example.com")
				if err := c.Mutation().SetField(f, v); err != nil {
					return err
				}
				return c.Exec(ctx)
			},
			"update": func(ctx context.Context, tx *ent.Tx, f, v string) error {
				u := tx.Account.UpdateOneID(id)
				if err := u.Mutation().SetField(f, v); err != nil {
					return err
				}
				return u.Exec(ctx)
			},
			"bulk update": func(ctx context.Context, tx *ent.Tx, f, v string) error {
				u := tx.Account.Update().Where(account.ID(id))
				if err := u.Mutation().SetField(f, v); err != nil {
					return err
				}
				return u.Exec(ctx)
			},
		}
		for _, f := range accountText {
			for op, write := range writes {
				for _, v := range []string{"\x00", "a\x00b", "$(touch " + canary + ")\x00\n"} {
					err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error { return write(ctx, tx, f, v) })
					if named := errorFields(err); !slices.Equal(named, []string{f}) {
						t.Errorf("%s with %s = %q: %v, want a validation error naming %s", op, f, v, err, f)
					}
				}
			}
		}
		if err := b.ex.PlanNow(sys); err != nil {
			t.Fatal(err)
		}
		if n := count(t)(st.Change.Query().Count(sys)); n != changes {
			t.Errorf("refused writes queued %d changes", n-changes)
		}
		if n := count(t)(st.Operation.Query().Count(sys)); n != ops {
			t.Errorf("refused writes planned %d operations", n-ops)
		}
		if n := count(t)(st.Change.Query().Where(change.PlannedAtIsNil()).Count(sys)); n != 0 {
			t.Errorf("%d changes left unplanned", n)
		}
		checkServer(t, b, id, want)
	})
}
