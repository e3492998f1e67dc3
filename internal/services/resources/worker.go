package resources

import (
	"context"
	"log/slog"
	"time"

	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/crontab"
	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resource"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Wait bounds how long one measuring waits for its units.
var Wait = settings.Duration("RESOURCES_MONITOR_WAIT", 10*time.Minute, "How long measuring a resource waits for its monitors' units on the servers.")

func init() {
	jobs.RegisterWorker(jobs.Worker{Name: "resources", Run: Work})
}

// Work measures each resource in the minutes its schedule names, until
// ctx ends. Schedules are read in UTC.
func Work(ctx context.Context, st *store.Store, ex *orchestration.Executor) {
	for {
		now := time.Now().UTC()
		next := now.Truncate(time.Minute).Add(time.Minute)
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Sub(now)):
		}
		if _, err := RunDue(ctx, st, ex, next); err != nil && ctx.Err() == nil {
			slog.ErrorContext(ctx, "resources: measuring", "err", err)
		}
	}
}

// RunDue measures the active resources whose schedule names now's minute
// and that were not measured in it, each claimed first so that no two runs
// of one resource overlap, whichever panel or person started them. It
// returns how many it measured.
func RunDue(ctx context.Context, st *store.Store, ex *orchestration.Executor, now time.Time) (int, error) {
	sys := viewer.System(ctx, viewer.ChannelSystem)
	minute := now.UTC().Truncate(time.Minute)
	due, err := st.Resource.Query().Where(resource.IsActive(true), resource.OnDemand(false), resource.ScheduleNEQ(""),
		resource.Or(resource.MeasuredAtIsNil(), resource.MeasuredAtLT(minute))).All(sys)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range due {
		if s, err := crontab.Parse(r.Schedule); err != nil || !s.Matches(minute) {
			continue
		}
		ok, err := Run(ctx, st, ex, r.ID, now, resource.Or(resource.MeasuredAtIsNil(), resource.MeasuredAtLT(minute)))
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Run measures resource id once, if no run of it is under way (and where
// holds): it claims the resource for the time a run may take, measures,
// and records when. It reports whether it ran.
func Run(ctx context.Context, st *store.Store, ex *orchestration.Executor, id int, now time.Time, where ...predicate.Resource) (bool, error) {
	return run(ctx, st, ex, id, 0, now, where...)
}

// Refresh measures object's usage of resource id now, unless a run of the
// resource is under way: it reports whether it ran.
func Refresh(ctx context.Context, st *store.Store, ex *orchestration.Executor, id, object int) (bool, error) {
	return run(ctx, st, ex, id, object, time.Now().UTC().Truncate(time.Second))
}

func run(ctx context.Context, st *store.Store, ex *orchestration.Executor, id, object int, now time.Time, where ...predicate.Resource) (bool, error) {
	return runWith(ctx, st, ex, id, object, now, nil, where...)
}

// runWith is run, keeping what the measuring did in round (if not nil).
func runWith(ctx context.Context, st *store.Store, ex *orchestration.Executor, id, object int, now time.Time, round *Round, where ...predicate.Resource) (bool, error) {
	sys := viewer.System(ctx, viewer.ChannelSystem)
	book := store.KeepVersion(audit.Without(sys)) // the panel's bookkeeping: no history, no new version
	until := time.Now().Add(Wait.Get() + time.Minute)
	var claimed int
	err := st.Tx(book, func(ctx context.Context, tx *ent.Tx) (err error) {
		claimed, err = tx.Resource.Update().Where(append(where, resource.ID(id),
			resource.Or(resource.ClaimedUntilIsNil(), resource.ClaimedUntilLT(time.Now())))...).SetClaimedUntil(until).Save(ctx)
		return err
	})
	if err != nil || claimed == 0 {
		return false, err
	}
	defer func() {
		if err := st.Tx(book, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Resource.UpdateOneID(id).ClearClaimedUntil().Exec(ctx)
		}); err != nil {
			slog.ErrorContext(ctx, "resources: a claim not released", "resource", id, "err", err)
		}
	}()
	r, err := st.Resource.Get(sys, id)
	if err != nil {
		return false, err
	}
	done, err := measure(ctx, st, ex, r, object, now, Wait.Get())
	if round != nil {
		*round = done
	}
	if err != nil || object != 0 {
		return true, err
	}
	return true, st.Tx(book, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Resource.UpdateOneID(id).SetMeasuredAt(now).Exec(ctx)
	})
}
