package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Periodic is work a service does on a schedule, in every panel that works
// jobs (serve): a retired DKIM key deleted once its days are over. Run is
// called with the system as the viewer; it must be idempotent, as two
// panels over one database both run it.
type Periodic struct {
	Name  string // unique; in the job's arguments and the logs
	Every time.Duration
	Run   func(ctx context.Context, st *store.Store) error
}

var (
	periodicMu sync.Mutex
	periodics  []Periodic
)

// RegisterPeriodic adds p; services call it from init.
func RegisterPeriodic(p Periodic) {
	periodicMu.Lock()
	defer periodicMu.Unlock()
	if p.Name == "" || p.Every <= 0 || p.Run == nil {
		panic("jobs: a periodic job needs a name, an interval and a function")
	}
	if slices.ContainsFunc(periodics, func(q Periodic) bool { return q.Name == p.Name }) {
		panic("jobs: periodic job registered twice: " + p.Name)
	}
	periodics = append(periodics, p)
}

// Worker is long-running work of a service in every panel that works jobs
// (serve): the certificates service's ACME orders. Run returns when ctx
// ends; it must tolerate other panels over the same database running it
// too. ex applies what it changes (custom actions, waits for units).
type Worker struct {
	Name string
	Run  func(ctx context.Context, st *store.Store, ex *orchestration.Executor)
}

// workers start with the change stream's consumers
// (orchestration.RegisterConsumer), all in one worker.
var workers = []Worker{{Name: "orchestration.stream", Run: func(ctx context.Context, st *store.Store, _ *orchestration.Executor) {
	orchestration.RunConsumers(ctx, st)
}}}

// RegisterWorker adds w; services call it from init.
func RegisterWorker(w Worker) {
	periodicMu.Lock()
	defer periodicMu.Unlock()
	if w.Name == "" || w.Run == nil {
		panic("jobs: a worker needs a name and a function")
	}
	workers = append(workers, w)
}

func registeredWorkers() []Worker {
	periodicMu.Lock()
	defer periodicMu.Unlock()
	return slices.Clone(workers)
}

func registered() []Periodic {
	periodicMu.Lock()
	defer periodicMu.Unlock()
	return slices.Clone(periodics)
}

// PeriodicArgs is the job of a registered Periodic.
type PeriodicArgs struct {
	Name string `json:"name"`
}

// Kind implements river.JobArgs.
func (PeriodicArgs) Kind() string { return "periodic" }

type periodicWorker struct {
	river.WorkerDefaults[PeriodicArgs]
	st *store.Store
}

func (w *periodicWorker) Work(ctx context.Context, j *river.Job[PeriodicArgs]) error {
	for _, p := range registered() {
		if p.Name == j.Args.Name {
			if err := p.Run(viewer.System(ctx, viewer.ChannelSystem), w.st); err != nil {
				slog.WarnContext(ctx, "periodic job failed", "job", p.Name, "err", err)
				return err
			}
			return nil
		}
	}
	return fmt.Errorf("no periodic job %q", j.Args.Name)
}

// addPeriodic adds the registered periodic jobs to cfg, run at start and
// every interval after.
func addPeriodic(cfg *river.Config, workers *river.Workers, st *store.Store) {
	river.AddWorker(workers, &periodicWorker{st: st})
	for _, p := range registered() {
		args := PeriodicArgs{Name: p.Name}
		cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(p.Every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil }, &river.PeriodicJobOpts{RunOnStart: true}))
	}
}
