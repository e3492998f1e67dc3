package orchestration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
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
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// test-lane writes each account's full name and comments to
// TEST_ROOT/acc/<username> (a delete removes it) and appends
// "<username> <action>" to TEST_ROOT/order. A unit holding an account whose
// full name is GATE waits until TEST_ROOT/gate exists, so a test can hold a
// unit running; planning an account whose full name is LOADGATE waits in
// Load until the test closes laneGate. It is registered only while a test
// of this file runs, since other tests see every backend of Account.
var (
	laneMu      sync.Mutex
	laneGate    chan struct{} // closed: Load goes on
	laneEntered chan struct{} // gets a value when Load waits
)

func registerLane(t *testing.T) {
	t.Helper()
	orchestration.Register(&orchestration.Backend{
		Name: "test-lane", Model: "Account",
		Load: func(ctx context.Context, _ *ent.Tx, o *orchestration.Object) error {
			if o.String("full_name") != "LOADGATE" {
				return nil
			}
			laneMu.Lock()
			gate, entered := laneGate, laneEntered
			laneMu.Unlock()
			if gate == nil {
				return nil
			}
			select {
			case entered <- struct{}{}:
			default:
			}
			select {
			case <-gate:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("root", srv.Setting("TEST_ROOT", "/nonexistent"))
			s.Raw(`mkdir -p "$root/acc"`)
		},
		Apply: func(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
			s.Var("name", o.String("username"))
			if o.String("full_name") == "GATE" {
				s.Raw(`for ((i = 0; i < 6000; i++)); do [[ ! -e $root/gate ]] || break; sleep 0.05; done`)
			}
			if action == orchestration.ActionDelete {
				s.Raw(`rm -f -- "$root/acc/$name"`)
			} else {
				s.WriteFile(srv.Setting("TEST_ROOT", "/nonexistent")+"/acc/"+o.String("username"),
					[]byte(o.String("full_name")+o.String("comments")), "0644")
			}
			s.Raw(`printf '%s %s\n' "$name" ` + action + ` >>"$root/order"`)
			return nil
		},
	})
	t.Cleanup(func() { orchestration.Unregister("test-lane") })
}

// laneBed is a store whose accounts go to the test bed's servers through
// test-lane: usernames starting with "a" to the first, others to the second.
type laneBed struct {
	st      *store.Store
	bed     *sshtest.Bed
	pool    *sshpool.Pool
	ex      *orchestration.Executor
	servers []*ent.Server
	roots   []string
}

func newLaneBed(t *testing.T, st *store.Store, start bool) *laneBed {
	t.Helper()
	registerLane(t)
	b := &laneBed{st: st, bed: sshtest.Load(t)}
	pool, err := sshpool.New(sshpool.Config{Signer: b.bed.Signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	b.pool = pool
	token := fmt.Sprintf("/tmp/orchestra-lane-%d", time.Now().UnixNano())
	matches := []string{`account.username startsWith "a"`, `not (account.username startsWith "a")`}
	for i, s := range b.bed.Servers[:2] {
		root := fmt.Sprintf("%s/s%d", token, i+1)
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			srv, err := tx.Server.Create().SetName(fmt.Sprintf("s%d", i+1)).SetAddress(s.Address).SetSSHPort(s.Port).
				SetSSHUser("root").SetHostKey(s.HostKey).SetSettings(map[string]string{"TEST_ROOT": root}).Save(ctx)
			if err != nil {
				return err
			}
			b.servers = append(b.servers, srv)
			return tx.Route.Create().SetBackend("test-lane").SetServerID(srv.ID).SetMatch(matches[i]).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		b.roots = append(b.roots, root)
	}
	t.Cleanup(func() { b.sh(t, 0, "rm -rf -- "+orchestration.Quote(token)) })
	b.ex = orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, LeaseTTL: 2 * time.Second, Sweep: 100 * time.Millisecond})
	if start {
		b.ex.Start()
		t.Cleanup(b.ex.Close)
	}
	return b
}

func (b *laneBed) sh(t *testing.T, i int, script string) string {
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

// settle waits until no change is pending and every log is final, and
// fails unless every log of test-lane succeeded; it returns them in id order.
func (b *laneBed) settle(t *testing.T, timeout time.Duration) []*ent.ExecutionLog {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		unplanned, err := b.st.Change.Query().Where(change.PlannedAtIsNil()).Exist(sys)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := b.st.ExecutionLog.Query().Where(executionlog.StateIn(orchestration.StateReceived, orchestration.StateStarted)).Exist(sys)
		if err != nil {
			t.Fatal(err)
		}
		if !unplanned && !pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after %s (unplanned changes %v, pending logs %v)", timeout, unplanned, pending)
		}
	}
	logs, err := b.st.ExecutionLog.Query().Where(executionlog.Backend("test-lane")).Order(ent.Asc(executionlog.FieldID)).All(sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		if l.State != orchestration.StateSuccess {
			t.Fatalf("log %d: %s %s\n%s", l.ID, l.State, l.Error, l.Stderr)
		}
	}
	return logs
}

// matches fails unless each server's files are exactly the accounts the
// database routes to it, with their contents.
func (b *laneBed) matches(t *testing.T) {
	t.Helper()
	accounts, err := b.st.Account.Query().Where(account.UsernameNEQ("admin")).All(sys)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.roots {
		want := map[string]string{}
		for _, a := range accounts {
			if strings.HasPrefix(a.Username, "a") == (i == 0) {
				want[a.Username] = a.FullName + a.Comments
			}
		}
		got := map[string]string{}
		out := b.sh(t, i, `cd `+orchestration.Quote(b.roots[i])+` 2>/dev/null && [[ -d acc ]] || exit 0
			cd acc; for f in *; do [[ -e $f ]] || continue; printf '%s\t%s\n' "$f" "$(base64 -w0 <"$f")"; done`)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if name, content, ok := strings.Cut(line, "\t"); ok {
				got[name] = decode64(t, content)
			}
		}
		for name, w := range want {
			if g, ok := got[name]; !ok || g != w {
				t.Errorf("server %d: %s holds %q (present %v), database %q", i+1, name, trim(g), ok, trim(w))
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("server %d: %s is there, not in the database", i+1, name)
			}
		}
	}
}

func trim(s string) string { return s[:min(len(s), 60)] }

// laneLogs returns server i's test-lane logs after id since, with their
// operations.
func (b *laneBed) laneLogs(t *testing.T, i, since int) []*ent.ExecutionLog {
	t.Helper()
	logs, err := b.st.ExecutionLog.Query().Where(executionlog.Backend("test-lane"), executionlog.ServerID(b.servers[i].ID),
		executionlog.IDGT(since)).WithOperations(func(q *ent.OperationQuery) { q.Order(ent.Asc(entop.FieldID)) }).
		Order(ent.Asc(executionlog.FieldID)).All(sys)
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// withSettings gives settings environment values for the test.
func withSettings(t *testing.T, env map[string]string) {
	t.Helper()
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if err := settings.LoadEnv(lookup(env)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settings.LoadEnv(lookup(nil)) })
}

func createAccounts(t *testing.T, st *store.Store, ctx context.Context, names []string, fullName func(string) string) {
	t.Helper()
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		for i := 0; i < len(names); i += 500 {
			rows := make([]*ent.AccountCreate, 0, 500)
			for _, n := range names[i:min(i+500, len(names))] {
				rows = append(rows, tx.Account.Create().SetUsername(n).SetPassword("pw-"+n).SetFullName(fullName(n)).
					SetEmail(n+"@example.com"))
			}
			if err := tx.Account.CreateBulk(rows...).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUnitSizeCap: 1,200 operations of one backend for one server become
// units of at most ORCHESTRATION_UNIT_MAX_OPERATIONS, in change order, that
// all run; a group over ORCHESTRATION_UNIT_MAX_SCRIPT_BYTES is split the same
// way, and an operation larger than that alone runs alone.
func TestUnitSizeCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		withSettings(t, map[string]string{"ORCHESTRA_ORCHESTRATION_UNIT_MAX_OPERATIONS": "500"})
		b := newLaneBed(t, st, true)
		names := make([]string, 1200)
		for i := range names {
			names[i] = fmt.Sprintf("a%04d", i)
		}
		createAccounts(t, st, sys, names, func(n string) string { return n + " full" })
		b.settle(t, 5*time.Minute)
		logs := b.laneLogs(t, 0, 0)
		if len(logs) != 3 {
			t.Fatalf("%d units for 1,200 operations, want 3 of at most 500", len(logs))
		}
		var seen []string
		lastChange := 0
		for i, l := range logs {
			if want := []int{500, 500, 200}[i]; len(l.Edges.Operations) != want {
				t.Errorf("unit %d has %d operations, want %d", i+1, len(l.Edges.Operations), want)
			}
			if !strings.HasPrefix(l.Script, "#!/bin/bash\n") || !strings.Contains(l.Script, `mkdir -p "$root/acc"`) {
				t.Errorf("unit %d lacks the prepare section: %q", i+1, l.Script[:min(len(l.Script), 200)])
			}
			for _, op := range l.Edges.Operations {
				if *op.ChangeID <= lastChange {
					t.Fatalf("unit %d: operation of change %d after change %d", i+1, *op.ChangeID, lastChange)
				}
				lastChange = *op.ChangeID
				seen = append(seen, op.Repr)
			}
		}
		// change order (a bulk create captures its rows last first)
		inOrder, err := st.Change.Query().Where(change.Model("Account")).Order(ent.Asc(change.FieldID)).
			Select(change.FieldRepr).Strings(sys)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seen, inOrder) {
			t.Errorf("units hold the accounts out of change order: %v…, want %v…", seen[:min(len(seen), 10)], inOrder[:min(len(inOrder), 10)])
		}
		order := strings.Fields(b.sh(t, 0, "cat "+b.roots[0]+"/order"))
		var ran []string
		for i := 0; i+1 < len(order); i += 2 {
			ran = append(ran, order[i])
		}
		if !slices.Equal(ran, inOrder) {
			t.Errorf("the server applied %d accounts, not in change order: %v…", len(ran), ran[:min(len(ran), 10)])
		}

		// a resync is cut the same way
		units, err := b.ex.Orchestrate(sys, orchestration.Selection{Backend: "test-lane", ServerID: b.servers[0].ID}, true)
		if err != nil || len(units) != 3 || units[0].Operations != 500 || units[2].Operations != 200 {
			t.Errorf("resync of 1,200 accounts: %d units (%v)", len(units), err)
		}

		// by bytes: 60 saves of 4 KiB and, in the middle, one of 100 KiB,
		// with a cap of 64 KiB
		withSettings(t, map[string]string{"ORCHESTRA_ORCHESTRATION_UNIT_MAX_OPERATIONS": "10000",
			"ORCHESTRA_ORCHESTRATION_UNIT_MAX_SCRIPT_BYTES": "65536"})
		since := logs[len(logs)-1].ID
		err = st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			for i := range 61 {
				size := 4 << 10
				if i == 30 {
					size = 100 << 10
				}
				err := tx.Account.UpdateOneID(idOf(t, st, names[i])).SetComments(strings.Repeat(string(rune('a'+i%26)), size)).Exec(ctx)
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		b.settle(t, 5*time.Minute)
		logs = b.laneLogs(t, 0, since)
		seen = seen[:0]
		big := 0
		for i, l := range logs {
			if len(l.Script) > 65536 {
				if len(l.Edges.Operations) != 1 || l.Edges.Operations[0].Repr != names[30] {
					t.Errorf("unit %d: %d bytes for %d operations", i+1, len(l.Script), len(l.Edges.Operations))
				}
				big++
			}
			for _, op := range l.Edges.Operations {
				seen = append(seen, op.Repr)
			}
		}
		if big != 1 || len(logs) < 5 || !slices.Equal(seen, names[:61]) {
			t.Errorf("%d units (%d over the cap) for %v", len(logs), big, seen)
		}
		b.matches(t)
	})
}

func idOf(t *testing.T, st *store.Store, username string) int {
	t.Helper()
	id, err := st.Account.Query().Where(account.Username(username)).OnlyID(sys)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func decode64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLongPlanningPassWritesGoOn: while a planning batch is held up (a
// backend's Load waits), writes commit and the writes' own follow-up
// answers: planning reads without the write lock and a write never waits
// for others' planning beyond its bound.
func TestLongPlanningPassWritesGoOn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newLaneBed(t, st, false)
		gate, entered := make(chan struct{}), make(chan struct{}, 1)
		laneMu.Lock()
		laneGate, laneEntered = gate, entered
		laneMu.Unlock()
		opened := false
		open := func() {
			if !opened {
				opened = true
				close(gate)
			}
		}
		t.Cleanup(func() {
			open()
			laneMu.Lock()
			laneGate, laneEntered = nil, nil
			laneMu.Unlock()
		})
		createAccounts(t, st, sys, []string{"agate"}, func(string) string { return "LOADGATE" })
		planned := make(chan error, 1)
		go func() {
			_, err := orchestration.NewPlanner(st).Plan(sys)
			planned <- err
		}()
		select {
		case <-entered:
		case <-time.After(time.Minute):
			t.Fatal("the planner did not reach Load")
		}

		// 20 writers, 5 writes each, the last one followed as the API does
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for w := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 5 {
					ctx, tr := orchestration.Track(viewer.System(context.Background(), viewer.ChannelAPI))
					name := fmt.Sprintf("w%02d-%d", w, i)
					err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
						return tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName(name).
							SetEmail(name + "@example.com").Exec(ctx)
					})
					if err == nil && i == 4 {
						_, err = b.ex.Follow(ctx, tr.Changes(), 0, true)
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", name, err)
					}
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			open()
			t.Fatal("writes did not finish while a planning batch was held up")
		}
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		open()
		if err := <-planned; err != nil {
			t.Fatal(err)
		}
		if _, err := orchestration.NewPlanner(st).Plan(sys); err != nil {
			t.Fatal(err)
		}
		n, err := st.Operation.Query().Where(entop.Backend("test-lane"), entop.StateNEQ(orchestration.StateSkipped)).Count(sys)
		if err != nil || n != 101 {
			t.Errorf("%d operations of test-lane (%v), want 101", n, err)
		}
	})
}

// TestJoiningWhileUnitRuns: while a server's unit runs, the changes that
// arrive for it, planned one by one, pile into one next unit; a later
// snapshot replaces an earlier operation and a delete a save; the server
// then holds what the database does.
func TestJoiningWhileUnitRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newLaneBed(t, st, true)
		createAccounts(t, st, sys, []string{"agate"}, func(string) string { return "GATE" })
		var gateLog *ent.ExecutionLog
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			l, err := st.ExecutionLog.Query().Where(executionlog.Backend("test-lane"), executionlog.State(orchestration.StateStarted)).First(sys)
			if err == nil {
				gateLog = l
				break
			}
			if !ent.IsNotFound(err) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("the gated unit did not start")
			}
		}
		write := func(fn func(ctx context.Context, tx *ent.Tx) error) {
			t.Helper()
			ctx, tr := orchestration.Track(viewer.System(context.Background(), viewer.ChannelAPI))
			if err := st.Tx(ctx, fn); err != nil {
				t.Fatal(err)
			}
			if _, err := b.ex.Follow(ctx, tr.Changes(), 0, true); err != nil {
				t.Fatal(err)
			}
		}
		const n = 20
		for i := range n {
			write(func(ctx context.Context, tx *ent.Tx) error {
				return tx.Account.Create().SetUsername(fmt.Sprintf("a%02d", i)).SetPassword("!").
					SetFullName(fmt.Sprintf("v0 %d", i)).SetEmail(fmt.Sprintf("a%02d@example.com", i)).Exec(ctx)
			})
		}
		for v := 1; v <= 3; v++ { // later snapshots of a00
			write(func(ctx context.Context, tx *ent.Tx) error {
				return tx.Account.Update().Where(account.Username("a00")).SetFullName(fmt.Sprintf("v%d", v)).Exec(ctx)
			})
		}
		write(func(ctx context.Context, tx *ent.Tx) error { // a delete after a save
			_, err := tx.Account.Delete().Where(account.Username("a01")).Exec(ctx)
			return err
		})
		if _, err := orchestration.NewPlanner(st).Plan(sys); err != nil {
			t.Fatal(err)
		}
		next := b.laneLogs(t, 0, gateLog.ID)
		if len(next) != 1 {
			t.Fatalf("%d units after the running one, want 1", len(next))
		}
		l := next[0]
		if l.State != orchestration.StateReceived || len(l.Edges.Operations) != n+4 {
			t.Errorf("next unit: %s with %d operations, want RECEIVED with %d", l.State, len(l.Edges.Operations), n+4)
		}
		if c := strings.Count(l.Script, "/acc/a00 "); c != 1 || !strings.Contains(l.Script, "/acc/a00 0644 v3") {
			t.Errorf("a00 written %d times, the last snapshot: %v", c, strings.Contains(l.Script, "v3"))
		}
		if strings.Contains(l.Script, "/acc/a01 ") || !strings.Contains(l.Script, "name=a01\nrm -f") {
			t.Errorf("a01's save not replaced by its delete")
		}
		b.sh(t, 0, "mkdir -p "+b.roots[0]+" && touch "+b.roots[0]+"/gate") // the gated script may not have made it yet
		b.settle(t, 2*time.Minute)
		b.matches(t)

		// run again, the unit applies each object once: 19 saves, a01's delete
		again, err := b.ex.Retry(sys, l.ID)
		if err != nil || again.Operations != n {
			t.Errorf("retry of the joined unit: %d operations (%v), want %d", again.Operations, err, n)
		}
		b.settle(t, 2*time.Minute)
		b.matches(t)
	})
}

// TestPlanningUnderHostileTiming: 20 writers create, update and delete
// accounts while units run, a second process plans beside this one and a
// unit holds a lane for part of the time; every server ends up holding what
// the database does, and what arrived while the lane was held made a few
// units, not one per planning pass.
func TestPlanningUnderHostileTiming(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		withSettings(t, map[string]string{"ORCHESTRA_ORCHESTRATION_UNIT_MAX_OPERATIONS": "15"})
		b := newLaneBed(t, st, true)
		other, err := store.Open(st.URL) // another process on the same database
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		createAccounts(t, st, sys, []string{"agate"}, func(string) string { return "GATE" })

		stop := make(chan struct{})
		var planners sync.WaitGroup
		planners.Add(1)
		go func() {
			defer planners.Done()
			p := orchestration.NewPlanner(other)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := p.Plan(sys); err != nil {
					t.Errorf("other planner: %v", err)
					return
				}
				time.Sleep(5 * time.Millisecond) // pacing, not waiting for anything
			}
		}()

		names := []string{}
		for i := range 15 {
			names = append(names, fmt.Sprintf("ah%02d", i), fmt.Sprintf("bh%02d", i))
		}
		run := func(phase int) {
			var wg sync.WaitGroup
			for w := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(phase), uint64(w)))
					for i := range 8 {
						name := names[r.IntN(len(names))]
						full := fmt.Sprintf("p%d w%d i%d", phase, w, i)
						ctx, tr := orchestration.Track(viewer.System(context.Background(), viewer.ChannelAPI))
						err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
							n, err := tx.Account.Update().Where(account.Username(name)).SetFullName(full).Save(ctx)
							switch {
							case err != nil:
								return err
							case n == 0:
								return tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName(full).
									SetEmail(name + "@example.com").Exec(ctx)
							case r.IntN(4) == 0:
								_, err = tx.Account.Delete().Where(account.Username(name)).Exec(ctx)
							}
							return err
						})
						var taken *validate.Conflict
						if ent.IsConstraintError(err) || errors.As(err, &taken) {
							continue // created by another writer meanwhile
						}
						if err == nil && i%2 == 0 {
							_, err = b.ex.Follow(ctx, tr.Changes(), 0, true)
						}
						if err != nil {
							t.Errorf("writer %d: %v", w, err)
							return
						}
					}
				}()
			}
			wg.Wait()
		}
		// with the first lane held by the gated unit, then running
		gated := 0
		for deadline := time.Now().Add(time.Minute); gated == 0; time.Sleep(10 * time.Millisecond) {
			l, err := st.ExecutionLog.Query().Where(executionlog.Backend("test-lane"), executionlog.State(orchestration.StateStarted)).First(sys)
			if err == nil {
				gated = l.ID
			} else if !ent.IsNotFound(err) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("the gated unit did not start")
			}
		}
		run(1)
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			if n, err := st.Change.Query().Where(change.PlannedAtIsNil()).Count(sys); err != nil || n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("changes not planned")
			}
		}
		held := b.laneLogs(t, 0, gated)
		rows := 0
		for _, l := range held {
			rows += len(l.Edges.Operations)
		}
		if len(held) > rows/15+4 {
			t.Errorf("%d units for %d operations that arrived while the lane was held", len(held), rows)
		}
		b.sh(t, 0, "mkdir -p "+b.roots[0]+" && touch "+b.roots[0]+"/gate") // the gated script may not have made it yet
		run(2)
		close(stop)
		planners.Wait()
		if _, err := orchestration.NewPlanner(st).Plan(sys); err != nil {
			t.Fatal(err)
		}
		b.settle(t, 3*time.Minute)
		b.matches(t)
	})
}
