package jobs_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// a backend so that accounts are captured; no route: planned as skipped
func init() {
	orchestration.Register(&orchestration.Backend{
		Name: "test-jobs", Model: "Account",
		Apply: func(s *orchestration.Script, _ orchestration.Server, _ string, o orchestration.Object) error {
			s.Cmd("echo", o.String("username"))
			return nil
		},
	})
}

func planJobs(t *testing.T, st *store.Store, state string) int {
	t.Helper()
	var n int
	q := "SELECT count(*) FROM river_job WHERE kind = 'orchestration.plan'"
	if state != "" {
		q += " AND state = '" + state + "'"
	}
	if err := st.DB.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// newQueue returns the queue of st for ex (nil: an inserting-only one),
// stopped when the test ends.
func newQueue(t *testing.T, st *store.Store, ex *orchestration.Executor) *jobs.Queue {
	t.Helper()
	q, err := jobs.New(st, ex)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	return q
}

// awaitCompletedPlanJobs waits until n planning jobs are completed.
func awaitCompletedPlanJobs(t *testing.T, st *store.Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); planJobs(t, st, "completed") != n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d planning jobs did not complete", n)
		}
	}
}

func createAccount(ctx context.Context, st *store.Store, name string, fail bool) error {
	return st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		err := tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName(name).
			SetEmail(name + "@example.com").Exec(ctx)
		if err == nil && fail {
			err = errors.New("rolled back")
		}
		return err
	})
}

func TestPlanningJobInTheChangesTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		for range 2 { // idempotent
			if err := jobs.Migrate(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		q := newQueue(t, st, orchestration.NewExecutor(st, orchestration.ExecutorConfig{}))
		create := func(name string, fail bool) error { return createAccount(ctx, st, name, fail) }
		// a rolled-back write leaves neither change nor job
		if err := create("ghost", true); err == nil {
			t.Fatal("no error")
		}
		if n := planJobs(t, st, ""); n != 0 {
			t.Errorf("rolled back: %d planning jobs", n)
		}
		// one job per committing transaction, however many changes it wrote
		if err := create("alice", false); err != nil {
			t.Fatal(err)
		}
		if n := planJobs(t, st, ""); n != 1 {
			t.Errorf("committed: %d planning jobs, want 1", n)
		}
		// the worker plans the change (no route: skipped)
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		awaitCompletedPlanJobs(t, st, 1)
		if n, err := st.Change.Query().Where(change.PlannedAtIsNil()).Count(viewer.System(ctx, viewer.ChannelSystem)); err != nil || n != 0 {
			t.Errorf("unplanned changes after the job: %d %v", n, err)
		}
	})
}

// A process that only inserts (the CLI) queues the planning job in the
// write's transaction too.
func TestInsertingOnlyQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		if err := jobs.Migrate(ctx, st); err != nil {
			t.Fatal(err)
		}
		q := newQueue(t, st, nil)
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := createAccount(ctx, st, "bob", true); err == nil {
			t.Fatal("no error")
		}
		if err := createAccount(ctx, st, "carol", false); err != nil {
			t.Fatal(err)
		}
		if n := planJobs(t, st, "available"); n != 1 {
			t.Errorf("%d planning jobs available, want 1", n)
		}
	})
}

// On PostgreSQL a queued job is announced (NOTIFY, in the write's
// transaction) and the worker listens for it instead of polling.
func TestPostgresQueueListens(t *testing.T) {
	st := storetest.Postgres(t)
	if st == nil {
		t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
	}
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	if err := jobs.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := st.DB.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	listener, err := pgx.Connect(ctx, st.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(context.Background())
	if _, err := listener.Exec(ctx, `LISTEN "`+schema+`.river_insert"`); err != nil {
		t.Fatal(err)
	}
	q := newQueue(t, st, orchestration.NewExecutor(st, orchestration.ExecutorConfig{}))
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := createAccount(ctx, st, "dave", false); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := listener.WaitForNotification(wait); err != nil {
		t.Fatalf("no insert notification: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := st.DB.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE pid <> $1 AND query LIKE $2`,
			listener.PgConn().PID(), `LISTEN "`+schema+`.%`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the queue does not listen")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A panel that starts while another process holds SQLite's write lock
// longer than the busy timeout waits for it: the queue's start is tried
// again instead of failing the whole process.
func TestStartWaitsForALongWrite(t *testing.T) {
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	path := filepath.Join(t.TempDir(), "orchestra.db")
	st, err := store.Open("sqlite:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	other, err := store.Open("sqlite:" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.DB.BeginTx(ctx, nil) // immediate: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE river_queue SET updated_at = updated_at"); err != nil {
		t.Fatal(err)
	}
	q := newQueue(t, st, orchestration.NewExecutor(st, orchestration.ExecutorConfig{}))
	started := make(chan error, 1)
	go func() { started <- q.Start(ctx) }()
	// past the 10 s busy timeout, or until Start gave up
	select {
	case err := <-started:
		tx.Rollback()
		t.Fatalf("Start returned while the write lock was held: %v", err)
	case <-time.After(12 * time.Second):
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatalf("Start after the lock was released: %v", err)
	}
	if err := createAccount(ctx, st, "late", false); err != nil {
		t.Fatal(err)
	}
	awaitCompletedPlanJobs(t, st, 1)
}
