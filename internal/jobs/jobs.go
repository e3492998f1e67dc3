// Package jobs wires the durable job queue (River) to the store: its tables
// migrate with the database, every transaction that writes changes queues a
// planning job in that same transaction, and periodic jobs keep logs tidy
// and do the services' own work (RegisterPeriodic).
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// River runs on SQLite through database/sql (riversqlite) and on PostgreSQL
// through pgx (riverpgxv5): that driver listens for inserts (LISTEN/NOTIFY)
// instead of polling, and does not link lib/pq as riverdatabasesql does.
// It has a pool of its own, beside the store's database/sql one; inserts
// run on the connection of the store's transaction.

// newPool opens River's PostgreSQL pool; connections open when needed and
// close after a while idle, like the store's.
func newPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 4 // the listener, fetches, completions, maintenance
	cfg.MaxConnIdleTime = 15 * time.Second
	return pgxpool.NewWithConfig(ctx, cfg)
}

// Migrate creates or upgrades the queue's tables.
func Migrate(ctx context.Context, st *store.Store) error {
	if st.Dialect == dialect.Postgres {
		pool, err := newPool(ctx, st.URL)
		if err != nil {
			return err
		}
		defer pool.Close()
		return migrate(ctx, riverpgxv5.New(pool))
	}
	return migrate(ctx, riversqlite.New(st.DB))
}

func migrate[TTx any](ctx context.Context, drv riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: quiet()})
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
	client interface {
		Start(ctx context.Context) error
		Stop(ctx context.Context) error
	}
	insertPlan func(ctx context.Context, tx *ent.Tx) error
	pool       *pgxpool.Pool // River's, on PostgreSQL when working jobs
	work       bool
	st         *store.Store
	ex         *orchestration.Executor
	stopWork   context.CancelFunc // ends the services' workers
	workersWG  sync.WaitGroup
}

// New returns the queue and makes every transaction that writes changes
// queue a planning job. With ex it also works jobs (Start); without, it only
// inserts them (a CLI process).
func New(st *store.Store, ex *orchestration.Executor) (*Queue, error) {
	cfg := &river.Config{
		Logger:                      quiet(),
		CompletedJobRetentionPeriod: time.Hour,
		// the executor is told of local commits at once; PostgreSQL's
		// notifications, or polling on SQLite, bring other processes' jobs
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
		addPeriodic(cfg, workers, st) // the services' own
	}
	q := &Queue{work: ex != nil, st: st, ex: ex}
	if st.Dialect == dialect.Postgres {
		if q.work { // an inserting-only client needs no pool
			pool, err := newPool(context.Background(), st.URL)
			if err != nil {
				return nil, fmt.Errorf("job queue: %w", err)
			}
			q.pool = pool
		}
		client, err := river.NewClient(riverpgxv5.New(q.pool), cfg)
		if err != nil {
			q.closePool()
			return nil, fmt.Errorf("job queue: %w", err)
		}
		q.client = client
		q.insertPlan = func(ctx context.Context, tx *ent.Tx) error {
			return store.Raw(tx, func(dc any) error {
				c, ok := dc.(*stdlib.Conn)
				if !ok {
					return fmt.Errorf("job queue: %T is not a pgx connection", dc)
				}
				_, err := client.InsertTx(ctx, txConn{c.Conn()}, PlanArgs{}, nil)
				return err
			})
		}
	} else {
		cfg.PollOnly = true // SQLite has no LISTEN/NOTIFY
		client, err := river.NewClient(riversqlite.New(st.DB), cfg)
		if err != nil {
			return nil, fmt.Errorf("job queue: %w", err)
		}
		q.client = client
		q.insertPlan = func(ctx context.Context, tx *ent.Tx) error {
			stx := tx.SQLTx()
			if stx == nil {
				return errors.New("the transaction is not a database/sql one")
			}
			_, err := client.InsertTx(ctx, stx, PlanArgs{}, nil)
			return err
		}
	}
	orchestration.SetTxJob(q.insertPlan)
	return q, nil
}

func (q *Queue) closePool() {
	if q.pool != nil {
		q.pool.Close()
		q.pool = nil
	}
}

// Start works jobs until Stop.
//
// A start that fails (on SQLite, another process's long write outlasts the
// busy timeout of the queue's first writes) is tried again, with growing
// pauses, for up to startPatience: a panel that starts beside a busy one
// waits for it instead of exiting.
func (q *Queue) Start(ctx context.Context) error {
	if !q.work {
		return nil
	}
	deadline := time.Now().Add(startPatience)
	pause := 500 * time.Millisecond
	for {
		err := q.client.Start(ctx)
		if err == nil {
			q.startWorkers()
		}
		if err == nil || ctx.Err() != nil || time.Now().Add(pause).After(deadline) {
			return err
		}
		slog.Warn("job queue: start failed, trying again", "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Second)
	}
}

// startWorkers runs the services' workers until Stop.
func (q *Queue) startWorkers() {
	ctx, cancel := context.WithCancel(context.Background())
	q.stopWork = cancel
	for _, w := range registeredWorkers() {
		q.workersWG.Add(1)
		go func() {
			defer q.workersWG.Done()
			w.Run(ctx, q.st, q.ex)
		}()
	}
}

// startPatience is how long Start keeps trying.
var startPatience = 2 * time.Minute

// Stop stops working jobs (waiting for those running) and stops queueing.
func (q *Queue) Stop(ctx context.Context) error {
	orchestration.SetTxJob(nil)
	if !q.work {
		return nil
	}
	if q.stopWork != nil {
		q.stopWork()
		q.workersWG.Wait()
	}
	err := q.client.Stop(ctx)
	q.closePool()
	return err
}
