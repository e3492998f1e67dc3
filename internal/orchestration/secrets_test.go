package orchestration_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	entaccount "github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	entop "github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// An in-process backend reads the snapshots when its unit runs: they keep
// the secret until then, and lose it when the unit is final; the output and
// the alert show it masked.
func TestSecretsOfAnInProcessBackend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		var mu sync.Mutex
		var seen []string
		orchestration.Register(&orchestration.Backend{
			Name: "test-secret-exec", Model: "Account",
			Exec: func(_ context.Context, _ orchestration.Server, _ string, o orchestration.Object, out io.Writer) error {
				mu.Lock()
				seen = append(seen, o.String("password"))
				mu.Unlock()
				if o.String("full_name") == "FAIL" {
					return errors.New("refused " + o.String("password"))
				}
				fmt.Fprintf(out, "applied %s %s\n", o.String("username"), o.String("password"))
				return nil
			},
		})
		t.Cleanup(func() { orchestration.Unregister("test-secret-exec") })
		var srv *ent.Server
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) (err error) {
			if srv, err = tx.Server.Create().SetName("api").Save(ctx); err != nil {
				return err
			}
			return tx.Route.Create().SetBackend("test-secret-exec").SetServerID(srv.ID).
				SetMatch(`account.username startsWith "x"`).Exec(ctx)
		})
		var alerts []orchestration.Alert
		ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Passive: true,
			Alert: func(_ context.Context, a orchestration.Alert) { alerts = append(alerts, a) }})
		ex.Start()
		t.Cleanup(ex.Close)
		p := orchestration.NewPlanner(st)
		account := func(name, fullName string) string {
			t.Helper()
			hash, err := auth.HashPassword("Pass-" + name + "-42")
			if err != nil {
				t.Fatal(err)
			}
			mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Account.Create().SetUsername(name).SetPassword(hash).SetFullName(fullName).
					SetEmail(name + "@example.com").Exec(ctx)
			})
			if _, err := p.Plan(sys); err != nil {
				t.Fatal(err)
			}
			return hash
		}
		opsOf := func(logID int) []*ent.Operation {
			return st.Operation.Query().Where(entop.LogID(logID)).AllX(sys)
		}

		hash := account("xena", "Xena")
		l := st.ExecutionLog.Query().Where(executionlog.State(orchestration.StateReceived)).OnlyX(sys)
		if ops := opsOf(l.ID); len(ops) != 1 || ops[0].Snapshot["password"] != hash {
			t.Fatalf("the waiting unit's operation lacks the hash its backend reads: %v", ops[0].Snapshot)
		}
		if strings.Contains(l.Script, hash) {
			t.Errorf("the stored script holds the hash: %s", l.Script)
		}
		// planned: the change and the operations no route took lose it
		for _, c := range st.Change.Query().AllX(sys) {
			if pw, _ := c.Snapshot["password"].(string); pw != "" || c.PlannedAt == nil {
				t.Errorf("planned change %d keeps the hash", c.ID)
			}
		}
		for _, op := range st.Operation.Query().Where(entop.State(orchestration.StateSkipped)).AllX(sys) {
			if pw, _ := op.Snapshot["password"].(string); pw != "" {
				t.Errorf("skipped operation %d (%s) keeps the hash", op.ID, op.Backend)
			}
		}
		if _, err := ex.RunLane(sys, srv.ID); err != nil {
			t.Fatal(err)
		}
		l = st.ExecutionLog.GetX(sys, l.ID)
		if l.State != orchestration.StateSuccess || l.Stdout != "applied xena "+orchestration.Mask+"\n" || l.Secrets != nil {
			t.Errorf("log: %s, stdout %q, secrets kept: %v", l.State, l.Stdout, l.Secrets != nil)
		}
		if ops := opsOf(l.ID); len(ops) != 1 || ops[0].Snapshot["password"] != nil || ops[0].Snapshot["username"] != "xena" {
			t.Errorf("a final unit's operation: %v", ops[0].Snapshot)
		}

		// a delete needs no secret: its change never has it
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			_, err := tx.Account.Delete().Where(entaccount.Username("xena")).Exec(ctx)
			return err
		})
		del := st.Change.Query().Where(change.Action(orchestration.ActionDelete), change.Model("Account")).OnlyX(sys)
		if _, ok := del.Snapshot["password"]; ok || del.PlannedAt != nil || del.Snapshot["username"] != "xena" {
			t.Errorf("the delete's change: planned %v, snapshot %v", del.PlannedAt, del.Snapshot)
		}
		if _, err := p.Plan(sys); err != nil {
			t.Fatal(err)
		}
		if _, err := ex.RunLane(sys, srv.ID); err != nil {
			t.Fatal(err)
		}

		hash = account("xfail", "FAIL")
		if _, err := ex.RunLane(sys, srv.ID); err != nil {
			t.Fatal(err)
		}
		if len(alerts) != 1 || alerts[0].Log.State != orchestration.StateFailure ||
			alerts[0].Log.Stderr != "save Account "+fmt.Sprint(alerts[0].Ops[0].ObjectID)+": refused "+orchestration.Mask+"\n" {
			t.Fatalf("alerts: %d, %+v", len(alerts), alerts)
		}
		if alerts[0].Ops[0].Snapshot["password"] != nil {
			t.Errorf("the alert's operation keeps the hash")
		}
		mu.Lock()
		if len(seen) != 3 || seen[1] != "" || seen[2] != hash {
			t.Errorf("the backend read %q, want the hash", seen)
		}
		mu.Unlock()
	})
}

// Old changes go like old logs, but never one whose operations have yet to
// run, nor one not planned yet.
func TestCleanupChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		var srv *ent.Server
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) (err error) {
			if srv, err = tx.Server.Create().SetName("web1").Save(ctx); err != nil {
				return err
			}
			return tx.Route.Create().SetBackend("test-companies").SetServerID(srv.ID).
				SetMatch(`account.username startsWith "w"`).Exec(ctx)
		})
		create := func(name, typ string) {
			mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName(name).SetType(typ).
					SetEmail(name + "@example.com").Exec(ctx)
			})
		}
		p := orchestration.NewPlanner(st)
		plan := func() {
			if _, err := p.Plan(sys); err != nil {
				t.Fatal(err)
			}
		}
		create("done", "INDIVIDUAL")     // skipped: final at once
		create("wnothing", "INDIVIDUAL") // a unit with nothing to do, final too
		plan()
		create("waiting", "COMPANY") // a unit that has not run
		plan()
		create("unplanned", "INDIVIDUAL")
		left := func() []string {
			var out []string
			for _, c := range st.Change.Query().Where(change.Model("Account")).Order(ent.Asc(change.FieldID)).AllX(sys) {
				out = append(out, c.Repr)
			}
			return out
		}
		if n, err := orchestration.CleanupChanges(sys, st, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("recent changes deleted: %d %v", n, err)
		}
		if _, err := orchestration.CleanupChanges(sys, st, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(left(), " "); got != "waiting unplanned" {
			t.Errorf("changes left: %s, want waiting unplanned", got)
		}
	})
}
