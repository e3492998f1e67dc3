package orchestration_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	entop "github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// test-exec writes one file per account under the server's TEST_ROOT and
// appends "<username> <server address>" to TEST_ROOT/order, so tests see
// which server ran what, in which order. A unit that finds another one
// running on the same server (TEST_ROOT/.busy) records it in overlaps.
// Some full names make the script misbehave on purpose.
func init() {
	orchestration.Register(&orchestration.Backend{
		Name: "test-exec", Model: "Account",
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("root", srv.Setting("TEST_ROOT", "/nonexistent"))
			s.Raw(`mkdir -p "$root"`)
			s.Raw(`mkdir "$root/.busy" 2>/dev/null || echo "$$" >>"$root/overlaps"`)
		},
		Apply: func(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
			s.Var("name", o.String("username"))
			switch o.String("full_name") {
			case "FAIL":
				s.Raw(`echo "failing $name" >&2; exit 3`)
			case "HANG":
				s.Raw(`echo hanging; sleep 600`)
			case "SLOW":
				s.Raw(`echo step1; sleep 2; echo step2`)
			}
			if action == orchestration.ActionDelete {
				s.Raw(`rm -f -- "$root/$name"`)
			} else {
				s.WriteFile(srv.Setting("TEST_ROOT", "/nonexistent")+"/"+o.String("username"), []byte(o.String("full_name")), "0644")
			}
			s.Raw(`read -r _ _ addr _ <<<"$SSH_CONNECTION"; printf '%s %s %s\n' "$name" "$addr" ` + action + ` >>"$root/order"`)
			return nil
		},
		Commit: func(s *orchestration.Script, srv orchestration.Server) {
			s.Raw(`rmdir "$root/.busy"`)
		},
	})
}

// execBed is a store with the test bed's servers, a route per server for
// test-exec, and an executor.
type execBed struct {
	st      *store.Store
	bed     *sshtest.Bed
	pool    *sshpool.Pool
	ex      *orchestration.Executor
	servers []*ent.Server
	roots   []string

	mu     sync.Mutex
	alerts []orchestration.Alert
}

var sys = viewer.System(context.Background(), viewer.ChannelSystem)

// setEnv gives settings environment values for the test.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if err := settings.LoadEnv(lookup(env)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settings.LoadEnv(lookup(nil)) })
}

// newExecBed routes usernames starting with "a" to the first server and the
// rest to the second.
func newExecBed(t *testing.T, st *store.Store) *execBed {
	t.Helper()
	b := &execBed{st: st, bed: sshtest.Load(t)}
	pool, err := sshpool.New(sshpool.Config{Signer: b.bed.Signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	b.pool = pool
	token := fmt.Sprintf("%d", time.Now().UnixNano())
	matches := []string{`account.username startsWith "a"`, `not (account.username startsWith "a")`}
	for i, s := range b.bed.Servers[:2] {
		root := fmt.Sprintf("/tmp/orchestra-exec-%s/s%d", token, i+1)
		b.roots = append(b.roots, root)
		srv := b.addServer(t, fmt.Sprintf("s%d", i+1), s.Address, s.Port, s.HostKey, root)
		b.route(t, srv, matches[i])
	}
	t.Cleanup(func() { b.sh(t, 0, "rm -rf -- "+orchestration.Quote("/tmp/orchestra-exec-"+token)) })
	b.ex = b.executor(t, st)
	return b
}

func (b *execBed) addServer(t *testing.T, name, addr string, port int, hostKey, root string) *ent.Server {
	t.Helper()
	var srv *ent.Server
	err := b.st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
		srv, err = tx.Server.Create().SetName(name).SetAddress(addr).SetSSHPort(port).SetSSHUser("root").
			SetHostKey(hostKey).SetSettings(map[string]string{"TEST_ROOT": root}).Save(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b.servers = append(b.servers, srv)
	return srv
}

func (b *execBed) route(t *testing.T, srv *ent.Server, match string) {
	t.Helper()
	err := b.st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Route.Create().SetBackend("test-exec").SetServerID(srv.ID).SetMatch(match).Exec(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (b *execBed) executor(t *testing.T, st *store.Store) *orchestration.Executor {
	ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{
		Pool: b.pool, LeaseTTL: 2 * time.Second, Sweep: 100 * time.Millisecond,
		Alert: func(_ context.Context, a orchestration.Alert) {
			b.mu.Lock()
			b.alerts = append(b.alerts, a)
			b.mu.Unlock()
		},
	})
	ex.Start()
	t.Cleanup(ex.Close)
	return ex
}

// sh runs a command on server i and returns its stdout.
func (b *execBed) sh(t *testing.T, i int, script string) string {
	t.Helper()
	s := b.bed.Servers[i]
	var out, errOut bytes.Buffer
	code, err := b.pool.Run(context.Background(), sshpool.Target{Address: s.Address, Port: s.Port, HostKey: s.HostKey},
		[]byte(script), &out, &errOut)
	if err != nil || code != 0 {
		t.Fatalf("%s: exit %d, %v: %s", script, code, err, errOut.String())
	}
	return out.String()
}

// settle waits until every log is final and returns them in id order.
func (b *execBed) settle(t *testing.T) []*ent.ExecutionLog {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		// unplanned changes first: logs read after that include every log
		// of the changes planned until then
		unplanned, err := b.unplanned()
		if err != nil {
			t.Fatal(err)
		}
		logs, err := b.st.ExecutionLog.Query().Order(ent.Asc(executionlog.FieldID)).All(sys)
		if err != nil {
			t.Fatal(err)
		}
		pending := slices.ContainsFunc(logs, func(l *ent.ExecutionLog) bool { return !orchestration.Final(l.State) })
		if !pending && !unplanned {
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs not final after 60 s: %s", states(logs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *execBed) unplanned() (bool, error) {
	return b.st.Change.Query().Where(change.PlannedAtIsNil()).Exist(sys)
}

func states(logs []*ent.ExecutionLog) string {
	var s []string
	for _, l := range logs {
		s = append(s, fmt.Sprintf("%d:%s:%s", l.ID, l.State, l.Error))
	}
	return strings.Join(s, " ")
}

func (b *execBed) account(t *testing.T, username, fullName string) *ent.Account {
	t.Helper()
	if fullName == "" {
		fullName = username + " full"
	}
	var a *ent.Account
	err := b.st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) (err error) {
		a, err = tx.Account.Create().SetUsername(username).SetPassword("!").SetFullName(fullName).
			SetEmail(username + "@example.com").Save(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (b *execBed) rename(t *testing.T, id int, fullName string) {
	t.Helper()
	err := b.st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Account.UpdateOneID(id).SetFullName(fullName).Exec(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// takeAlerts returns the alerts sent so far, waiting a little for want of
// them (an alert follows its log's final state).
func (b *execBed) takeAlerts(want int) []orchestration.Alert {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b.mu.Lock()
		a := b.alerts
		if len(a) >= want || time.Now().After(deadline) {
			b.alerts = nil
			b.mu.Unlock()
			if want == 0 {
				time.Sleep(50 * time.Millisecond)
			}
			return a
		}
		b.mu.Unlock()
	}
}

func TestExecutorRoutingOrderBatching(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newExecBed(t, st)

		// routing: each account reaches the server its route's expression picks
		b.account(t, "alice", "Alice A")
		b.account(t, "bob", "Bob B")
		logs := b.settle(t)
		for _, l := range logs {
			if l.State != orchestration.StateSuccess {
				t.Fatalf("log %d: %s %s\nstdout %s\nstderr %s", l.ID, l.State, l.Error, l.Stdout, l.Stderr)
			}
		}
		addr := func(i int) string { return b.bed.Servers[i].Address }
		if got := b.sh(t, 0, "cat "+b.roots[0]+"/order"); got != "alice "+addr(0)+" save\n" {
			t.Errorf("server 1 ran: %q", got)
		}
		if got := b.sh(t, 1, "cat "+b.roots[1]+"/order"); got != "bob "+addr(1)+" save\n" {
			t.Errorf("server 2 ran: %q", got)
		}
		if got := b.sh(t, 0, "cat "+b.roots[0]+"/alice"); got != "Alice A" {
			t.Errorf("alice's file: %q", got)
		}

		// order: one change per transaction, in quick succession, run in
		// the order of the changes on each server, never two at once
		var want [2][]string
		for i := range 30 {
			name := fmt.Sprintf("a%02d", i)
			if i%2 == 1 {
				name = fmt.Sprintf("b%02d", i)
			}
			a := b.account(t, name, "")
			b.rename(t, a.ID, "renamed "+name)
			srv := 0
			if i%2 == 1 {
				srv = 1
			}
			want[srv] = append(want[srv], name+" "+addr(srv)+" save")
		}
		logs = b.settle(t)
		for i := range 2 {
			got := strings.Split(strings.TrimSpace(b.sh(t, i, "cat "+b.roots[i]+"/order")), "\n")[1:] // alice, bob
			// a unit may have batched a create and its rename: the runs
			// seen are the wanted ones with adjacent duplicates of a name
			got = slices.CompactFunc(got, func(x, y string) bool { return x == y })
			if !slices.Equal(got, want[i]) {
				t.Errorf("server %d order:\n got %q\nwant %q", i+1, got, want[i])
			}
			if o := b.sh(t, i, "cat "+b.roots[i]+"/overlaps 2>/dev/null || true"); o != "" {
				t.Errorf("server %d ran units at the same time: %q", i+1, o)
			}
		}
		for _, l := range logs {
			if l.State != orchestration.StateSuccess {
				t.Errorf("log %d: %s %s %s", l.ID, l.State, l.Error, l.Stderr)
			}
		}

		// batching: one transaction changing 200 accounts is one unit per
		// server, whatever the number of objects
		before := len(logs)
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Account.Update().Where(account.Not(account.IsSuperuser(true))).SetFullName("bulk").Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		logs = b.settle(t)
		if n := len(logs) - before; n != 2 {
			t.Errorf("a bulk update of 32 accounts made %d units, want 2 (one per server)", n)
		}
		for _, l := range logs[before:] {
			ops, _ := st.Operation.Query().Where(entop.LogID(l.ID)).Count(sys)
			if l.State != orchestration.StateSuccess || ops != 16 {
				t.Errorf("bulk unit %d: %s with %d operations, want SUCCESS with 16", l.ID, l.State, ops)
			}
		}
		if got := b.sh(t, 1, "cat "+b.roots[1]+"/bob"); got != "bulk" {
			t.Errorf("bob after the bulk update: %q", got)
		}
		if a := b.takeAlerts(0); len(a) != 0 {
			t.Errorf("alerts on success: %d", len(a))
		}
	})
}

func TestExecutorFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		setEnv(t, map[string]string{
			"ORCHESTRA_ORCHESTRATION_UNIT_TIMEOUT":      "4s", // connecting counts: a loaded CI machine needs room
			"ORCHESTRA_ORCHESTRATION_TRANSPORT_RETRIES": "3",
			"ORCHESTRA_ORCHESTRATION_RETRY_BACKOFF":     "100ms",
		})
		b := newExecBed(t, st)
		final := func(state string) *ent.ExecutionLog {
			t.Helper()
			logs := b.settle(t)
			l := logs[len(logs)-1]
			if l.State != state {
				t.Fatalf("log %d: %s (%s), want %s\nstderr %s", l.ID, l.State, l.Error, state, l.Stderr)
			}
			alerts := b.takeAlerts(1)
			if len(alerts) != 1 || alerts[0].Log.ID != l.ID || alerts[0].Server.ID != l.ServerID || len(alerts[0].Ops) == 0 {
				t.Errorf("%s: want one alert for log %d, got %d", state, l.ID, len(alerts))
			}
			return l
		}

		// a failing script: FAILURE, its exit code and stderr, an alert
		b.account(t, "afail", "FAIL")
		l := final(orchestration.StateFailure)
		if l.ExitCode == nil || *l.ExitCode != 3 || !strings.Contains(l.Stderr, "failing afail") {
			t.Errorf("failure log: exit %v stderr %q", l.ExitCode, l.Stderr)
		}

		// a hanging script: killed at the unit timeout, TIMEOUT
		start := time.Now()
		b.account(t, "ahang", "HANG")
		l = final(orchestration.StateTimeout)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("the timeout took %s", d)
		}
		if !strings.Contains(l.Error, "killed") || l.Stdout != "hanging\n" {
			t.Errorf("timeout log: error %q stdout %q", l.Error, l.Stdout)
		}
		if ps := b.sh(t, 0, "pgrep -f 'sleep 600' || true"); ps != "" {
			t.Errorf("the hung script still runs: %s", ps)
		}
		b.sh(t, 0, "rmdir "+b.roots[0]+"/.busy") // the killed script's marker

		// an unreachable server: retried with backoff, then TIMEOUT
		dead := b.addServer(t, "dead", "127.0.0.1", 1, b.bed.Servers[0].HostKey, "/tmp/nowhere")
		b.route(t, dead, `account.username startsWith "d"`)
		b.account(t, "dora", "")
		l = final(orchestration.StateTimeout)
		if l.ServerID != dead.ID || l.Attempts != 3 || !strings.Contains(l.Error, "unreachable after 3 attempts") {
			t.Errorf("unreachable: server %d attempts %d error %q", l.ServerID, l.Attempts, l.Error)
		}

		// a wrong host key: refused, ERROR
		wrong := b.addServer(t, "wrong", b.bed.Servers[1].Address, b.bed.Servers[1].Port, b.bed.Servers[0].HostKey, "/tmp/nowhere")
		b.route(t, wrong, `account.username startsWith "w"`)
		b.account(t, "wanda", "")
		l = final(orchestration.StateError)
		if !strings.Contains(l.Error, "host key mismatch") {
			t.Errorf("wrong key: %q", l.Error)
		}
		if got := b.sh(t, 1, "cat /tmp/nowhere/wanda 2>/dev/null || echo absent"); got != "absent\n" {
			t.Errorf("a server with a wrong key ran the script: %q", got)
		}

		// the servers that work still do
		b.account(t, "afine", "")
		logs := b.settle(t)
		if l := logs[len(logs)-1]; l.State != orchestration.StateSuccess {
			t.Errorf("after the failures: %s %s", l.State, l.Error)
		}
	})
}

func TestExecutorLiveOutput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newExecBed(t, st)
		b.account(t, "aslow", "SLOW")
		deadline := time.Now().Add(20 * time.Second)
		for {
			l, err := st.ExecutionLog.Query().First(sys)
			if err == nil && l.State == orchestration.StateStarted && l.Stdout == "step1\n" {
				break // seen while running: only the first step's output
			}
			if err == nil && orchestration.Final(l.State) {
				t.Fatalf("the unit ended (%s, stdout %q) before its output was seen live", l.State, l.Stdout)
			}
			if time.Now().After(deadline) {
				t.Fatal("no live output")
			}
			time.Sleep(20 * time.Millisecond)
		}
		logs := b.settle(t)
		if l := logs[0]; l.State != orchestration.StateSuccess || l.Stdout != "step1\nstep2\n" {
			t.Errorf("final: %s %q", l.State, l.Stdout)
		}
	})
}

// Two executors (as two processes would) on one database: each server's
// units still run one at a time, in order.
func TestTwoExecutorsShareLanes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newExecBed(t, st)
		st2, err := store.Open(st.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st2.Close() })
		b.executor(t, st2)
		var want []string
		for i := range 40 {
			name := fmt.Sprintf("a%02d", i)
			b.account(t, name, "")
			want = append(want, name+" "+b.bed.Servers[0].Address+" save")
			if i%4 == 0 {
				time.Sleep(30 * time.Millisecond) // let both executors pick work up
			}
		}
		logs := b.settle(t)
		got := strings.Split(strings.TrimSpace(b.sh(t, 0, "cat "+b.roots[0]+"/order")), "\n")
		if !slices.Equal(got, want) {
			t.Errorf("order:\n got %q\nwant %q", got, want)
		}
		if o := b.sh(t, 0, "cat "+b.roots[0]+"/overlaps 2>/dev/null || true"); o != "" {
			t.Errorf("units ran at the same time: %q", o)
		}
		for _, l := range logs {
			if l.State != orchestration.StateSuccess {
				t.Errorf("log %d: %s", l.ID, l.State)
			}
		}
	})
}

// A lane whose units are done keeps its lease a while: the next unit starts
// without taking it again, and the units that other processes plan for its
// server meanwhile (they cannot start a lane it holds) run too.
func TestLingeringLane(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newExecBed(t, st) // b.ex plans every change; its lanes linger 2 s
		b.account(t, "a00", "")
		b.settle(t)
		srv := b.servers[0].ID
		lane := func() (owner string, gen int64) {
			t.Helper()
			q := "SELECT owner, generation FROM lanes WHERE id = ?"
			if st.Dialect == "postgres" {
				q = "SELECT owner, generation FROM lanes WHERE id = $1"
			}
			if err := st.DB.QueryRow(q, srv).Scan(&owner, &gen); err != nil {
				t.Fatal(err)
			}
			return owner, gen
		}
		waitFor := func(what string, ok func() bool) {
			t.Helper()
			for deadline := time.Now().Add(time.Minute); !ok(); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("waited a minute for %s", what)
				}
			}
		}
		// another process, which plans nothing, takes the lane once b.ex's
		// lingering ends, and lingers a minute
		ex2 := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: b.pool, LeaseTTL: 2 * time.Second,
			Passive: true, Linger: time.Minute})
		ex2.Start()
		t.Cleanup(ex2.Close)
		waitFor("b.ex to release the lane", func() bool { owner, _ := lane(); return owner == "" })
		ex2.StartLane(srv)
		waitFor("ex2 to take the lane", func() bool { owner, _ := lane(); return owner == ex2.Owner() })
		_, gen := lane()

		// b.ex plans these and cannot start the lane: ex2 runs them, under
		// the lease it holds (else they would wait for its minute to end)
		for i := 1; i <= 3; i++ {
			b.account(t, fmt.Sprintf("a%02d", i), "")
			for _, l := range b.settle(t) {
				if l.State != orchestration.StateSuccess {
					t.Fatalf("log %d: %s", l.ID, l.State)
				}
			}
		}
		if owner, g := lane(); owner != ex2.Owner() || g != gen {
			t.Errorf("lane held by %q at generation %d, want %q still at %d", owner, g, ex2.Owner(), gen)
		}
		got := strings.Fields(b.sh(t, 0, "cut -d' ' -f1 "+b.roots[0]+"/order"))
		if want := []string{"a00", "a01", "a02", "a03"}; !slices.Equal(got, want) {
			t.Errorf("order %q, want %q", got, want)
		}
	})
}
