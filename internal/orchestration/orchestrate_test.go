package orchestration_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestFollow: a tracked write learns its own operations, waits for their
// units and gets their outcome; a failing unit sums up as FAILURE, and a
// wait shorter than the unit as PENDING.
func TestFollow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newExecBed(t, st)
		b.account(t, "zed", "") // someone else's change, not in the outcome
		write := func(username, fullName string) []int {
			ctx, tr := orchestration.Track(viewer.System(context.Background(), viewer.ChannelAPI))
			err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Account.Create().SetUsername(username).SetPassword("!").SetFullName(fullName).
					SetEmail(username + "@example.com").Exec(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
			return tr.Changes()
		}

		changes := write("alice", "Alice")
		if n := st.Change.Query().Where(change.IDIn(changes...), change.Model("Account")).CountX(sys); n != 1 || len(changes) > 2 {
			t.Fatalf("tracked changes %v, want the account's (and its main system user's)", changes)
		}
		out, err := b.ex.Follow(context.Background(), changes, 20*time.Second, false)
		if err != nil {
			t.Fatal(err)
		}
		// the package's other test backends have no route: their operations are SKIPPED
		var mine []*ent.Operation
		for _, op := range out.Operations {
			if op.Repr != "alice" {
				t.Errorf("operation of another write: %v", op)
			}
			if op.Backend == "test-exec" {
				mine = append(mine, op)
			} else if op.State != orchestration.StateSkipped {
				t.Errorf("unrouted operation %v", op)
			}
		}
		if out.State != orchestration.StateSuccess || len(mine) != 1 || mine[0].State != orchestration.StateSuccess {
			t.Fatalf("outcome %s, operations %v", out.State, out.Operations)
		}
		if got := b.sh(t, 0, "cat "+b.roots[0]+"/alice"); got != "Alice" {
			t.Errorf("server holds %q", got)
		}

		out, err = b.ex.Follow(context.Background(), write("amy", "FAIL"), 20*time.Second, false)
		if err != nil || out.State != orchestration.StateFailure {
			t.Errorf("failing unit: %s, %v", out.State, err)
		}
		out, err = b.ex.Follow(context.Background(), write("anna", "SLOW"), 100*time.Millisecond, false)
		if err != nil || out.State != orchestration.StatePending {
			t.Errorf("unit longer than the wait: %s, %v", out.State, err)
		}
		b.settle(t)

		// a rolled-back write tracks nothing
		ctx, tr := orchestration.Track(viewer.System(context.Background(), viewer.ChannelAPI))
		st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			tx.Account.Create().SetUsername("arnold").SetPassword("!").SetFullName("x").SetEmail("a@example.com").Exec(ctx)
			return errors.New("roll back")
		})
		if c := tr.Changes(); len(c) != 0 {
			t.Errorf("rolled-back write tracked changes %v", c)
		}
	})
}

// TestOrchestrateResyncRetry: directed orchestration selects by model,
// filter, backend and server, prints scripts on a dry run, and runs them
// otherwise; a failed log is retried on its server with the objects as they
// are now, a deleted object's delete from its snapshot.
func TestOrchestrateResyncRetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newExecBed(t, st)
		alice := b.account(t, "alice", "Alice")
		b.account(t, "adam", "Adam")
		b.account(t, "bob", "Bob")
		b.settle(t)
		// the servers lose their files; a resync of server 1 brings back its own only
		b.sh(t, 0, "rm -f "+b.roots[0]+"/* "+b.roots[1]+"/*")

		dry, err := b.ex.Orchestrate(viewer.System(context.Background(), viewer.ChannelSystem), orchestration.Selection{ServerID: b.servers[0].ID}, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(dry) != 1 || dry[0].LogID != 0 || dry[0].Operations != 2 || !strings.Contains(dry[0].Script, "/alice") ||
			strings.Contains(dry[0].Script, "/bob") {
			t.Fatalf("dry run: %+v", dry)
		}
		if got := b.sh(t, 0, "ls "+b.roots[0]); got != "" {
			t.Fatalf("a dry run wrote %q", got)
		}
		units, err := b.ex.Orchestrate(viewer.System(context.Background(), viewer.ChannelSystem), orchestration.Selection{ServerID: b.servers[0].ID}, false)
		if err != nil || len(units) != 1 || units[0].LogID == 0 {
			t.Fatalf("resync: %+v, %v", units, err)
		}
		b.settle(t)
		if got := b.files(t, 0) + b.files(t, 1); got != "adam\nalice\n" {
			t.Errorf("after the resync of server 1 the servers hold %q", got)
		}

		// filter and backend, to every server their routes allow
		units, err = b.ex.Orchestrate(viewer.System(context.Background(), viewer.ChannelSystem), orchestration.Selection{
			Model: "Account", Backend: "test-exec", Filter: `account.full_name == "Bob"`}, false)
		if err != nil || len(units) != 1 || units[0].Server.ID != b.servers[1].ID || units[0].Operations != 1 {
			t.Fatalf("filtered: %+v, %v", units, err)
		}
		b.settle(t)
		if got := b.files(t, 1); got != "bob\n" {
			t.Errorf("server 2 holds %q", got)
		}
		for _, sel := range []orchestration.Selection{
			{Model: "Nope"}, {Backend: "nope"}, {Model: "Account", Filter: "account.nope == 1"},
			{Model: "Account", Action: "explode"},
		} {
			var se *orchestration.SelectionError
			if _, err := b.ex.Orchestrate(viewer.System(context.Background(), viewer.ChannelSystem), sel, true); !errors.As(err, &se) {
				t.Errorf("%+v: %v", sel, err)
			}
		}

		// retry: the failed unit runs again with the object as it is now
		b.rename(t, alice.ID, "FAIL")
		logs := b.settle(t)
		failed := logs[len(logs)-1]
		if failed.State != orchestration.StateFailure {
			t.Fatalf("last log %s", failed.State)
		}
		if _, err := b.ex.Retry(context.Background(), failed.ID+1000); !ent.IsNotFound(err) {
			t.Errorf("retry of a missing log: %v", err)
		}
		b.rename(t, alice.ID, "Alice again") // its own unit runs too
		b.settle(t)
		u, err := b.ex.Retry(context.Background(), failed.ID)
		if err != nil || u.LogID == 0 || u.Server.ID != b.servers[0].ID {
			t.Fatalf("retry: %+v, %v", u, err)
		}
		logs = b.settle(t)
		last := logs[len(logs)-1]
		if last.ID != u.LogID || last.State != orchestration.StateSuccess || last.RetryOf == nil || *last.RetryOf != failed.ID {
			t.Fatalf("retry log %d %s retry_of %v", last.ID, last.State, last.RetryOf)
		}
		if got := b.sh(t, 0, "cat "+b.roots[0]+"/alice"); got != "Alice again" {
			t.Errorf("after the retry the server holds %q", got)
		}

		// a deleted object's failed delete is retried from its snapshot
		b.rename(t, alice.ID, "Alice")
		b.settle(t)
		b.sh(t, 0, "chattr +i "+b.roots[0]+" 2>/dev/null || chmod 0555 "+b.roots[0])
		err = st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error { return tx.Account.DeleteOneID(alice.ID).Exec(ctx) })
		if err != nil {
			t.Fatal(err)
		}
		logs = b.settle(t)
		failed = logs[len(logs)-1]
		b.sh(t, 0, "chattr -i "+b.roots[0]+" 2>/dev/null; chmod 0755 "+b.roots[0])
		if failed.State == orchestration.StateSuccess {
			t.Skip("the server let root delete from a read-only directory")
		}
		if _, err := b.ex.Retry(context.Background(), failed.ID); err != nil {
			t.Fatal(err)
		}
		logs = b.settle(t)
		if l := logs[len(logs)-1]; l.State != orchestration.StateSuccess {
			t.Fatalf("retried delete: %s %s", l.State, l.Stderr)
		}
		if got := b.files(t, 0); got != "adam\n" {
			t.Errorf("after the retried delete the server holds %q", got)
		}
	})
}

// TestPing: a reachable server reports its uptime; a wrong host key and a
// closed port are unreachable with the reason.
func TestPing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newExecBed(t, st)
		p := b.ex.Ping(context.Background(), b.servers[0])
		if !p.Reachable || p.Uptime <= 0 || p.Error != "" {
			t.Errorf("ping: %+v", p)
		}
		other := *b.servers[0]
		other.HostKey = b.servers[1].HostKey
		if p := b.ex.Ping(context.Background(), &other); p.Reachable || !strings.Contains(p.Error, "host key") {
			t.Errorf("wrong key: %+v", p)
		}
		other = *b.servers[0]
		other.SSHPort = 1
		if p := b.ex.Ping(context.Background(), &other); p.Reachable || p.Error == "" {
			t.Errorf("closed port: %+v", p)
		}
		key, err := orchestration.HostKey(context.Background(), b.servers[1])
		if err != nil || key != b.servers[1].HostKey {
			t.Errorf("host key %q, %v", key, err)
		}
	})
}

// files lists the account files on server i (not the test backend's own).
func (b *execBed) files(t *testing.T, i int) string {
	return b.sh(t, i, "find "+orchestration.Quote(b.roots[i])+` -maxdepth 1 -type f -not -name order -not -name overlaps -printf '%f\n' | sort`)
}
