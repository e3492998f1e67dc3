package orchestration_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

func init() {
	// Writes nothing for accounts that are not companies: such units are NOTHING.
	orchestration.Register(&orchestration.Backend{
		Name: "test-companies", Model: "Account",
		Related: []orchestration.Related{{Model: "Contact", Resolve: func(_ context.Context, _ *ent.Tx, c orchestration.Object) ([]int, error) {
			return []int{c.Int("account_id")}, nil
		}}},
		Apply: func(s *orchestration.Script, _ orchestration.Server, action string, o orchestration.Object) error {
			if o.String("type") == "COMPANY" {
				s.Cmd("echo", action, o.String("username"))
			}
			return nil
		},
	})
}

func mustTx(t *testing.T, st *store.Store, fn func(ctx context.Context, tx *ent.Tx) error) {
	t.Helper()
	if err := st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), fn); err != nil {
		t.Fatal(err)
	}
}

func TestRouteValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		var srv *ent.Server
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) (err error) {
			srv, err = tx.Server.Create().SetName("web1").Save(ctx)
			return err
		})
		for _, c := range []struct{ backend, match, field, msg string }{
			{"nope", "true", "backend", "Unknown backend"},
			{"test-account-dir", "account.typo == 1", "match", "account has no field typo (fields: id,"},
			{"test-account-dir", `account.is_active == "yes"`, "match", "mismatched types"},
			{"test-account-dir", `account.username +`, "match", "unexpected token"},
			{"test-account-dir", `account.username`, "match", "expected bool"},
		} {
			err := st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) error {
				return tx.Route.Create().SetBackend(c.backend).SetServerID(srv.ID).SetMatch(c.match).Exec(ctx)
			})
			var errs validate.Errors
			if !asErrors(err, &errs) || !errs.Has(c.field) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s %q: error %v, want %s: %s", c.backend, c.match, err, c.field, c.msg)
			}
		}
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Route.Create().SetBackend("test-account-dir").SetServerID(srv.ID).
				SetMatch(`account.type == "COMPANY" && account.username startsWith "a"`).Exec(ctx)
		})
	})
}

func TestPlanner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelSystem)
		var a, b *ent.Server
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) (err error) {
			a = tx.Server.Create().SetName("a").SaveX(ctx)
			b = tx.Server.Create().SetName("b").SetSettings(map[string]string{"TEST_ROOT": "/srv/b"}).SaveX(ctx)
			tx.Route.Create().SetBackend("test-account-dir").SetServerID(a.ID).SetMatch(`account.type == "COMPANY"`).ExecX(ctx)
			tx.Route.Create().SetBackend("test-account-dir").SetServerID(b.ID).SetMatch(`obj.type != "COMPANY"`).ExecX(ctx)
			tx.Route.Create().SetBackend("test-companies").SetServerID(a.ID).ExecX(ctx)
			return nil
		})
		p := orchestration.NewPlanner(st)
		if _, err := p.Plan(ctx); err != nil { // servers and routes are not served: no changes
			t.Fatal(err)
		}
		cli := viewer.System(context.Background(), viewer.ChannelCLI)
		acme := createAccount(t, st, cli, "acme", false)
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			tx.Account.UpdateOneID(acme.ID).SetType("COMPANY").SetFullName("Acme v2").ExecX(ctx)
			tx.Account.UpdateOneID(acme.ID).SetFullName("Acme v3").ExecX(ctx) // latest snapshot wins
			return nil
		})
		joe := createAccount(t, st, cli, "joe", false)
		gone := createAccount(t, st, cli, "gone", false)
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			tx.Account.UpdateOneID(joe.ID).SetComments("only an ignored field").ExecX(ctx)
			return tx.Account.DeleteOneID(gone.ID).Exec(ctx) // cancels its pending save
		})
		servers, err := p.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(servers) != 2 {
			t.Errorf("servers with units: %v, want both", servers)
		}
		logs := st.ExecutionLog.Query().WithOperations().Order(ent.Asc(executionlog.FieldID)).AllX(ctx)
		got := map[string]*ent.ExecutionLog{}
		for _, l := range logs {
			got[l.Backend+"@"+map[int]string{a.ID: "a", b.ID: "b"}[l.ServerID]] = l
		}
		if len(logs) != 3 {
			t.Fatalf("%d logs, want 3: %v", len(logs), logs)
		}
		onA := got["test-account-dir@a"]
		if onA == nil || onA.State != "RECEIVED" || len(onA.Edges.Operations) != 1 || onA.Edges.Operations[0].ObjectID != acme.ID ||
			!strings.Contains(onA.Script, "/tmp/orchestra-test/acme") || !strings.Contains(onA.Script, "base64") {
			t.Errorf("unit on a: %+v", onA)
		}
		onB := got["test-account-dir@b"]
		if onB == nil || len(onB.Edges.Operations) != 2 {
			t.Fatalf("unit on b: %+v", onB)
		}
		if op := onB.Edges.Operations[0]; op.ObjectID != joe.ID || op.Action != "save" ||
			!strings.Contains(onB.Script, "mkdir -p -- /srv/b/joe\n") {
			t.Errorf("joe on b: %+v\n%s", op, onB.Script)
		}
		if op := onB.Edges.Operations[1]; op.ObjectID != gone.ID || op.Action != "delete" {
			t.Errorf("gone on b: %+v", op)
		}
		if c := got["test-companies@a"]; c == nil || c.State != "RECEIVED" || !strings.Contains(c.Script, "echo save acme") {
			t.Errorf("companies unit: %+v", c)
		}
		// The latest snapshot of acme was planned.
		if s := onA.Edges.Operations[0].Snapshot; s["full_name"] != "Acme v3" {
			t.Errorf("acme planned with %v", s["full_name"])
		}
		// The admin-less backend test-contact has no route: skipped, visible.
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Contact.Create().SetAccountID(acme.ID).SetShortName("c").SetEmail("c@example.com").Exec(ctx)
		})
		if _, err := p.Plan(ctx); err != nil {
			t.Fatal(err)
		}
		// (test-exec, of the executor's tests, and unix-user, of the main
		// system users accounts bring, have no route here either)
		skipped := st.Operation.Query().Where(operation.State("SKIPPED"), operation.BackendNotIn("test-exec", "unix-user")).AllX(ctx)
		if len(skipped) != 1 || skipped[0].Backend != "test-contact" || skipped[0].LogID != nil {
			t.Errorf("skipped: %+v", skipped)
		}
		// The contact fanned out to a save of its company, which joined the
		// company's unit still waiting on a (the last in its lane): one
		// unit, its script applying acme once, the operations of acme, joe
		// and gone and the fan-out's in it.
		companies := st.ExecutionLog.Query().Where(executionlog.Backend("test-companies"), executionlog.ServerID(a.ID)).
			WithOperations().AllX(ctx)
		if len(companies) != 1 || strings.Count(companies[0].Script, "echo save acme") != 1 ||
			len(companies[0].Edges.Operations) != 4 {
			t.Errorf("fan-out unit: %d logs, %d operations\n%s", len(companies), len(companies[0].Edges.Operations), companies[0].Script)
		}
		if n := st.ExecutionLog.Query().CountX(ctx); n != 3 {
			t.Errorf("%d logs after the fan-out, want 3", n)
		}
		// A unit whose actions wrote nothing is NOTHING, and not sent to run.
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			tx.Route.Create().SetBackend("test-companies").SetServerID(b.ID).ExecX(ctx)
			return tx.Account.UpdateOneID(joe.ID).SetFullName("Joe").Exec(ctx)
		})
		servers, err = p.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		nothing := st.ExecutionLog.Query().Where(executionlog.Backend("test-companies"), executionlog.ServerID(b.ID)).OnlyX(ctx)
		if nothing.State != "NOTHING" || nothing.Script != "" {
			t.Errorf("empty unit: %+v", nothing)
		}
		// joe's save joined the waiting units of b (test-account-dir) and of
		// a (test-companies, which writes nothing for joe but still runs)
		if slices.Sort(servers); !slices.Equal(servers, []int{a.ID, b.ID}) {
			t.Errorf("servers to run: %v, want a and b", servers)
		}
		// Every change is planned, once: planning again adds nothing.
		if n := st.Change.Query().Where(change.PlannedAtIsNil()).CountX(ctx); n != 0 {
			t.Errorf("%d changes left unplanned", n)
		}
		before := st.ExecutionLog.Query().CountX(ctx)
		if _, err := p.Plan(ctx); err != nil {
			t.Fatal(err)
		}
		if n := st.ExecutionLog.Query().CountX(ctx); n != before {
			t.Errorf("%d logs after planning again, want %d", n, before)
		}
	})
}

// TestAfterOrdersUnits: a backend's unit planned with one it names in After
// runs after it on the server, though its name sorts first and its
// operations are planned first.
func TestAfterOrdersUnits(t *testing.T) {
	orchestration.Register(&orchestration.Backend{Name: "test-aaa-after", Model: "Account", After: []string{"test-account-dir"},
		Apply: func(s *orchestration.Script, _ orchestration.Server, action string, o orchestration.Object) error {
			s.Cmd("echo", action, o.String("username"))
			return nil
		}})
	t.Cleanup(func() { orchestration.Unregister("test-aaa-after") })
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelSystem)
		var srv *ent.Server
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) (err error) {
			srv = tx.Server.Create().SetName("a").SaveX(ctx)
			tx.Route.Create().SetBackend("test-aaa-after").SetServerID(srv.ID).ExecX(ctx)
			tx.Route.Create().SetBackend("test-account-dir").SetServerID(srv.ID).ExecX(ctx)
			return nil
		})
		createAccount(t, st, viewer.System(context.Background(), viewer.ChannelCLI), "ordered", false)
		if _, err := orchestration.NewPlanner(st).Plan(ctx); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range st.ExecutionLog.Query().Where(executionlog.ServerID(srv.ID)).Order(ent.Asc(executionlog.FieldID)).AllX(ctx) {
			got = append(got, l.Backend)
		}
		if !slices.Equal(got, []string{"test-account-dir", "test-aaa-after"}) {
			t.Errorf("units in the lane: %v, want test-account-dir then test-aaa-after", got)
		}
	})
}
