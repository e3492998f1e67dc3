package jobs_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// how often each store's queue ran the test's periodic job
var periodicRuns sync.Map // *store.Store → *atomic.Int32

func init() {
	jobs.RegisterPeriodic(jobs.Periodic{Name: "jobs-test", Every: time.Hour, Run: func(ctx context.Context, st *store.Store) error {
		if v, ok := viewer.From(ctx); !ok || !v.System {
			panic("a periodic job runs as the system")
		}
		if n, ok := periodicRuns.Load(st); ok {
			n.(*atomic.Int32).Add(1)
		}
		return nil
	}})
}

func TestServicesPeriodicJobsRunAtStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		if err := jobs.Migrate(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		runs := &atomic.Int32{}
		periodicRuns.Store(st, runs)
		q := newQueue(t, st, orchestration.NewExecutor(st, orchestration.ExecutorConfig{}))
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); runs.Load() == 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the periodic job did not run at start")
			}
		}
	})
}
