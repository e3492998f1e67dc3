// Package jobs wires the durable job queue (River) to the store: its tables
// migrate with the database, every transaction that writes changes queues a
// planning job in that same transaction, and periodic jobs keep logs tidy.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

func driver(st *store.Store) riverdriver.Driver[*sql.Tx] {
	if st.Dialect == dialect.Postgres {
		return riverdatabasesql.New(st.DB)
	}
	return riversqlite.New(st.DB)
}

// Migrate creates or upgrades the queue's tables.
func Migrate(ctx context.Context, st *store.Store) error {
	m, err := rivermigrate.New(driver(st), &rivermigrate.Config{Logger: quiet()})
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, nil))
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// PlanArgs is the job that plans pending changes and starts their lanes.
type PlanArgs struct{}

// Kind implements river.JobArgs.
func (PlanArgs) Kind() string { return "orchestration.plan" }

// CleanupArgs is the periodic job deleting old execution logs and changes.
type CleanupArgs struct{}

// Kind implements river.JobArgs.
func (CleanupArgs) Kind() string { return "orchestration.cleanup" }

type planWorker struct {
	river.WorkerDefaults[PlanArgs]
	ex *orchestration.Executor
}

func (w *planWorker) Work(ctx context.Context, _ *river.Job[PlanArgs]) error {
	return w.ex.PlanNow(ctx)
}

type cleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	st *store.Store
}

func (w *cleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	n, err := orchestration.Cleanup(ctx, w.st, time.Now().Add(-orchestration.LogRetention.Get()))
	if n > 0 {
		slog.InfoContext(ctx, "orchestration: deleted old execution logs", "count", n)
	}
	c, err2 := orchestration.CleanupChanges(ctx, w.st, time.Now().Add(-orchestration.ChangeRetention.Get()))
	if c > 0 {
		slog.InfoContext(ctx, "orchestration: deleted old changes", "count", c)
	}
	return errors.Join(err, err2)
}

// Queue is the job queue of one process.
type Queue struct {
	client *river.Client[*sql.Tx]
	work   bool
}

// New returns the queue and makes every transaction that writes changes
// queue a planning job. With ex it also works jobs (Start); without, it only
// inserts them (a CLI process).
func New(st *store.Store, ex *orchestration.Executor) (*Queue, error) {
	cfg := &river.Config{
		Logger:                      quiet(),
		CompletedJobRetentionPeriod: time.Hour,
		// the executor is told of local commits at once; polling catches
		// other processes' jobs
		FetchCooldown:     50 * time.Millisecond,
		FetchPollInterval: time.Second,
	}
	if ex != nil {
		workers := river.NewWorkers()
		river.AddWorker(workers, &planWorker{ex: ex})
		river.AddWorker(workers, &cleanupWorker{st: st})
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}}
		cfg.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		}
	}
	if st.Dialect != dialect.Postgres {
		cfg.PollOnly = true // SQLite has no LISTEN/NOTIFY
	}
	client, err := river.NewClient(driver(st), cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	q := &Queue{client: client, work: ex != nil}
	orchestration.SetTxJob(q.insertPlan)
	return q, nil
}

func (q *Queue) insertPlan(ctx context.Context, tx *ent.Tx) error {
	stx := tx.SQLTx()
	if stx == nil {
		return errors.New("the transaction is not a database/sql one")
	}
	_, err := q.client.InsertTx(ctx, stx, PlanArgs{}, nil)
	return err
}

// Start works jobs until Stop.
func (q *Queue) Start(ctx context.Context) error {
	if !q.work {
		return nil
	}
	return q.client.Start(ctx)
}

// Stop stops working jobs (waiting for those running) and stops queueing.
func (q *Queue) Stop(ctx context.Context) error {
	orchestration.SetTxJob(nil)
	if !q.work {
		return nil
	}
	return q.client.Stop(ctx)
}
