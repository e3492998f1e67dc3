// Package hostiletest feeds hostile strings into every string field of the
// models of every registered backend, through the store as the API writes
// them, and checks each value end to end: refused by the rules with an error
// naming the field, with nothing queued for a server, or applied by a unit
// that succeeds and found on the server byte for byte where the server keeps
// it (or in the documented form the rules store it in). No value may run:
// the seeds try to create a canary file on the server.
//
// It is a package of its own because it imports every service (through
// internal/api, as the panel does), whose rules would change the behaviour
// of the orchestration package's own tests.
package hostiletest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/schema/field"
	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/kinds"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/migrate"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

var sys = viewer.System(context.Background(), viewer.ChannelSystem)

// seeds are strings a shell, a heredoc, printf, an option parser, a zone
// file, SQL or /etc/passwd would act on if they were not data; "CANARY"
// stands for the run's canary file. They are a selection of the seeds of
// the account fuzz test (internal/orchestration/hostile_test.go), every
// write being a transaction, plus the separators of the servers' own files
// and names at the limits of the file system.
func seeds(canary string) []string {
	in := []string{
		`it's "quoted"`, `'`, `"`, `'\''`,
		`$(touch CANARY)`, "`touch CANARY`", `$(touch${IFS}CANARY)`, `'; touch CANARY; '`, `"; touch CANARY; "`,
		";touch CANARY", "x && touch CANARY", "x\ntouch CANARY\n", "a\r\nb\rc\n", "\t", " \t padded \t\n ",
		"* ? [a-z] {a,b} ~ ~root", "$HOME ${PATH} $1 $@ $$ !! \\$x", `\`, `\n\t\x41\0`, "%s%n%d %b",
		"--help", "-rf", "-", "..", "../../etc/passwd", "/", "a/", "a//b", "a:b", "a,b=c",
		"Núria 山田 🎉", "\u202eevil\u202c", "\ufeffbom", "e\u0301", "\xff\xfe invalid",
		"ORCHESTRA_EOF\n", "orchestra_flush; touch CANARY", "`id`'$HOME'*?{}~!#|&^=/@example.com",
		"a\x00b", "a\x01b\x7f",
		strings.Repeat("'\"$(x)`;\n山", 500),
		strings.Repeat("x", 256), strings.Repeat("山", 100), // one name over NAME_MAX bytes
		"", "STAFF", "h-rf", "x_y", "x.y",
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ReplaceAll(s, "CANARY", canary)
	}
	return out
}

// stringFields lists the string columns of model's table: all the text a
// backend of the model can put into a script. It comes from the table, so
// a column added later is covered without editing this test.
func stringFields(model string) []string {
	meta, ok := ent.Meta[model]
	if !ok {
		panic("unknown model " + model)
	}
	for _, t := range migrate.Tables {
		if t.Name != meta.Table {
			continue
		}
		var out []string
		for _, c := range t.Columns {
			switch {
			case c.Type == field.TypeString:
				out = append(out, c.Name)
			case c.Type == field.TypeJSON && c.Name == "settings" && kinds.For(model) != nil:
				for _, k := range kinds.For(model).TextSettings() { // each kind's text, by name
					out = append(out, "settings."+k)
				}
			case c.Type == field.TypeJSON:
				out = append(out, c.Name)
			}
		}
		return out
	}
	panic("no table for " + model)
}

// errorFields names the fields a refusal blames; nil for any other error (a
// database's own refusal is not validation).
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

// outcome counts what happened to the values written into one field.
type outcome struct{ refused, arrived int }

// recorder writes values through the store and keeps the outcome of each
// field ("Model.field").
type recorder struct {
	t       *testing.T
	st      *store.Store
	mu      sync.Mutex
	by      map[string]*outcome
	queued  int // changes in the store after the last write; -1 before the first
	started time.Time
}

func newRecorder(t *testing.T, st *store.Store) *recorder {
	return &recorder{t: t, st: st, by: map[string]*outcome{}, queued: -1, started: time.Now()}
}

func (r *recorder) get(key string) *outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.by[key]
	if o == nil {
		o = &outcome{}
		r.by[key] = o
	}
	return o
}

// phase logs how long the suite took so far.
func (r *recorder) phase(what string) {
	r.t.Logf("%s after %s", what, time.Since(r.started).Round(100*time.Millisecond))
}

// arrived notes a value of key found on the server as the store holds it.
func (r *recorder) arrived(key string) { r.get(key).arrived++ }

func (r *recorder) changes() int {
	r.t.Helper()
	n, err := r.st.Change.Query().Count(sys)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// write runs fn in a transaction as ctx's viewer. A refusal must be a
// validation error naming only fields among blame (the fields holding
// hostile values) and queue no change; write returns the fields it named
// (nil when the write was saved).
func (r *recorder) write(ctx context.Context, key string, value string, blame []string, fn func(ctx context.Context, tx *ent.Tx) error) []string {
	r.t.Helper()
	if r.queued < 0 {
		r.queued = r.changes()
	}
	err := r.st.Tx(ctx, fn)
	if err == nil {
		r.queued = r.changes()
		return nil
	}
	named := errorFields(err)
	if len(named) == 0 || slices.ContainsFunc(named, func(f string) bool { return !slices.Contains(blame, f) }) {
		r.t.Errorf("%s = %q: refused with %v, which is not a validation error naming %v", key, value, err, blame)
		return []string{"?"}
	}
	if after := r.changes(); after != r.queued {
		r.t.Errorf("%s = %q: refused (%v) but %d changes were queued", key, value, err, after-r.queued)
		r.queued = after
	}
	model, _, _ := strings.Cut(key, ".")
	for _, f := range named {
		r.get(model+"."+f).refused++
	}
	return named
}

// one is write for a single field: it reports whether the value was saved.
func (r *recorder) one(ctx context.Context, key, value string, fn func(ctx context.Context, tx *ent.Tx) error) bool {
	r.t.Helper()
	_, f, _ := strings.Cut(key, ".")
	return r.write(ctx, key, value, []string{f}, fn) == nil
}

// check fails unless every field of fields was both refused and found on
// a server at least once (so that neither half of the test is empty), and
// logs the table.
func (r *recorder) check(fields map[string][]string) {
	r.t.Helper()
	var keys []string
	for model, fs := range fields {
		for _, f := range fs {
			keys = append(keys, model+"."+f)
		}
	}
	sort.Strings(keys)
	var table strings.Builder
	for _, k := range keys {
		o := r.get(k)
		fmt.Fprintf(&table, "\n  %-24s refused %4d  arrived %4d", k, o.refused, o.arrived)
		if o.refused == 0 || o.arrived == 0 {
			r.t.Errorf("%s: refused %d and arrived %d values; the test must see both", k, o.refused, o.arrived)
		}
	}
	r.t.Logf("outcomes (%s):%s", time.Since(r.started).Round(time.Second), table.String())
}

// account creates an account (as the panel) and returns its id and a
// context acting as its customer, as the API does for a customer's request.
func account(t *testing.T, st *store.Store, name string) (int, context.Context) {
	t.Helper()
	var a *ent.Account
	err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
		a, err = tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName(name).
			SetEmail(name + "@example.com").Save(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID, viewer.With(context.Background(), viewer.Viewer{AccountID: a.ID, Username: name, Channel: viewer.ChannelAPI})
}

// shared is the pool of every suite and store of the run: a session's first
// connection costs what the servers' login takes, paid once per server.
var shared struct {
	once sync.Once
	p    *sshpool.Pool
	err  error
}

// sharedPool returns the run's pool of SSH connections to the test bed,
// closed by TestMain.
func sharedPool(t *testing.T, signer ssh.Signer) *sshpool.Pool {
	t.Helper()
	shared.once.Do(func() { shared.p, shared.err = sshpool.New(sshpool.Config{Signer: signer}) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.p
}

// addServer registers the bed's server s as name, with settings (nil:
// none), and routes each of backends to it.
func addServer(t *testing.T, st *store.Store, name string, s sshtest.Server, settings map[string]string, backends ...string) {
	t.Helper()
	err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
		c := tx.Server.Create().SetName(name).SetAddress(s.Address).SetSSHPort(s.Port).SetHostKey(s.HostKey)
		if settings != nil {
			c.SetSettings(settings)
		}
		srv, err := c.Save(ctx)
		if err != nil {
			return err
		}
		for _, b := range backends {
			if err := tx.Route.Create().SetBackend(b).SetServerID(srv.ID).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.p != nil {
		shared.p.Close()
	}
	os.Exit(code)
}

// run runs script as root on target and returns its standard output.
func run(t *testing.T, pool *sshpool.Pool, target sshpool.Target, script string) string {
	t.Helper()
	var out, errOut strings.Builder
	code, err := pool.Run(context.Background(), target, []byte(script), &out, &errOut)
	if err != nil || code != 0 {
		t.Fatalf("%s: exit %d, %v: %s", script, code, err, errOut.String())
	}
	return out.String()
}

// startExecutor starts an executor once the writes are done, so that the
// accepted values of a run reach each server in one unit per backend.
func startExecutor(t *testing.T, st *store.Store, pool *sshpool.Pool) *orchestration.Executor {
	t.Helper()
	ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: 100 * time.Millisecond})
	ex.Start()
	t.Cleanup(ex.Close)
	return ex
}

// settle waits until no change is unplanned and every log is final, then
// fails unless every log after since succeeded (or had nothing to do); it
// returns the highest log id.
func settle(t *testing.T, st *store.Store, since int) int {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		// unplanned first: once none is, the logs of every change exist
		unplanned, err := st.Change.Query().Where(change.PlannedAtIsNil()).Exist(sys)
		if err != nil {
			t.Fatal(err)
		}
		pending := false
		if !unplanned {
			if pending, err = st.ExecutionLog.Query().
				Where(executionlog.StateIn(orchestration.StateReceived, orchestration.StateStarted)).Exist(sys); err != nil {
				t.Fatal(err)
			}
		}
		if !unplanned && !pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("units not final after 2 minutes (unplanned changes %v, pending logs %v)", unplanned, pending)
		}
	}
	logs, err := st.ExecutionLog.Query().Where(executionlog.IDGT(since)).Order(ent.Asc(executionlog.FieldID)).All(sys)
	if err != nil {
		t.Fatal(err)
	}
	last := since
	for _, l := range logs {
		last = l.ID
		if l.State != orchestration.StateSuccess && l.State != orchestration.StateNothing {
			t.Fatalf("log %d (%s) %s: %s\nstderr, last lines: %s", l.ID, l.Backend, l.State, l.Error, l.Stderr[max(0, len(l.Stderr)-2000):])
		}
	}
	return last
}

// noCanary fails if the canary exists on the server: a value ran as code.
func noCanary(t *testing.T, pool *sshpool.Pool, target sshpool.Target, canary string) {
	t.Helper()
	if out := run(t, pool, target, "if [[ -e "+orchestration.Quote(canary)+" ]]; then echo PWNED; fi"); out != "" {
		t.Errorf("%s exists on %s: a value ran as code", canary, target.Address)
	}
}

// orDefault is a choice as the rules store it: trimmed, def when empty.
func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}
