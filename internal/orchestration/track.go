package orchestration

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	entop "github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// A tracked request learns which changes it committed, so that it can plan
// them at once, wait for their units or say where to poll for them.

// Settings of waiting for a write's units.
var (
	SyncWait = settings.Duration("ORCHESTRATION_SYNC_WAIT", 10*time.Second,
		"How long a write waits for its units on synchronous routes before it answers with them still pending.")
	MaxWait = settings.Duration("ORCHESTRATION_MAX_WAIT", 60*time.Second,
		"The longest wait a client may ask for with Prefer: wait=<seconds>.")
)

type trackerKey struct{}

// Tracker collects the ids of the changes committed under its context.
type Tracker struct {
	mu  sync.Mutex
	ids []int
}

// Track returns a context whose committed changes t collects.
func Track(ctx context.Context) (context.Context, *Tracker) {
	t := &Tracker{}
	return context.WithValue(ctx, trackerKey{}, t), t
}

func trackerFrom(ctx context.Context) *Tracker {
	t, _ := ctx.Value(trackerKey{}).(*Tracker)
	return t
}

func (t *Tracker) add(ids []int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ids = append(t.ids, ids...)
}

// Changes returns the ids of the changes committed so far.
func (t *Tracker) Changes() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.ids)
}

// Outcome is what a write's changes became on the servers.
type Outcome struct {
	Operations []*ent.Operation // in id order
	// State sums them up: the most serious state among the operations
	// waited for, PENDING when some of those had not finished when the
	// wait ended, or "" when there are no operations.
	State string
}

// StatePending sums up operations that have not finished yet.
const StatePending = "PENDING"

// severity orders states for an outcome: the larger, the more it needs
// attention.
var severity = map[string]int{
	StateSkipped: 1, StateNothing: 2, StateSuccess: 3, StateReceived: 4, StateStarted: 4, StatePending: 4,
	StateAborted: 5, StateTimeout: 6, StateFailure: 7, StateError: 8,
}

// asyncPlanWait bounds how long a write that waits for none of its units
// waits for its changes to be planned, to name its operations.
const asyncPlanWait = 2 * time.Second

// Follow plans the changes pending now, up to changes, and waits, up to
// wait, until the units of the changes' operations are final. With syncOnly
// it waits only for units of synchronous routes: an async route's unit is
// reported as it stands. wait 0 waits for no unit.
//
// Planning is done batch by batch, in change order, by whoever's turn it
// is, and a write's changes come after those committed before: the wait
// bounds the planning too, so a write behind a large batch answers in time
// with its outcome PENDING, its changes planned later. A write that waits
// for nothing plans only when its changes are in the next batch.
func (e *Executor) Follow(ctx context.Context, changes []int, wait time.Duration, syncOnly bool) (Outcome, error) {
	if len(changes) == 0 {
		return Outcome{}, nil
	}
	sys := viewer.System(ctx, viewer.ChannelSystem)
	start := time.Now()
	deadline := start.Add(wait)
	if wait <= 0 {
		deadline = start.Add(asyncPlanWait)
	}
	// a lane starts as soon as a batch gave it work, while later batches
	// of a big write are still being planned
	servers, err := e.planner.planFor(sys, changes, deadline, wait <= 0, e.StartLane)
	if err != nil {
		return Outcome{}, err
	}
	ops, err := operationsOf(sys, e, changes)
	if err != nil {
		return Outcome{}, err
	}
	var logs []int
	for _, op := range ops {
		if op.LogID != nil && !slices.Contains(logs, *op.LogID) {
			logs = append(logs, *op.LogID)
			// planned by another pass, whose lanes start when it ends
			if !Final(op.State) && op.ServerID != nil && !slices.Contains(servers, *op.ServerID) {
				servers = append(servers, *op.ServerID)
				e.StartLane(*op.ServerID)
			}
		}
	}
	waited := map[int]bool{}
	if len(logs) > 0 {
		wctx, cancel := context.WithDeadline(sys, start.Add(wait))
		defer cancel()
		var final []*ent.ExecutionLog
		if syncOnly {
			final, err = e.st.ExecutionLog.Query().Where(executionlog.IDIn(logs...), executionlog.Async(false)).Select(executionlog.FieldID).All(sys)
			if err != nil {
				return Outcome{}, err
			}
			logs = logs[:0]
			for _, l := range final {
				logs = append(logs, l.ID)
			}
		}
		for _, id := range logs {
			waited[id] = true
		}
		if wait > 0 && len(logs) > 0 {
			if _, err := e.Await(wctx, logs); err != nil && wctx.Err() == nil {
				return Outcome{}, err
			}
		}
		if ops, err = operationsOf(sys, e, changes); err != nil {
			return Outcome{}, err
		}
	}
	out := Outcome{Operations: ops}
	for _, op := range ops {
		state := op.State
		if op.LogID != nil && !waited[*op.LogID] {
			continue
		}
		if op.LogID != nil && !Final(state) {
			state = StatePending
		}
		if out.State == "" || severity[state] > severity[out.State] {
			out.State = state
		}
	}
	if out.State == "" && len(ops) > 0 {
		out.State = StatePending // only async units, not waited for
	}
	if len(ops) == 0 && len(changes) > 0 {
		if done, err := e.planner.planned(sys, changes); err == nil && !done {
			out.State = StatePending // not planned yet: behind others' changes
		}
	}
	return out, nil
}

// planFor plans batches until the changes ids are planned or deadline
// passes; once, it plans only if they are in the next batch, and at most
// that one. It starts a server's lane (start) as soon as a batch gave it
// units, and returns the servers that got units to run.
func (p *Planner) planFor(ctx context.Context, ids []int, deadline time.Time, once bool, start func(server int)) ([]int, error) {
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	var servers []int
	for time.Now().Before(deadline) {
		if once {
			ahead, err := p.st.Change.Query().Where(change.PlannedAtIsNil(), change.IDLT(slices.Max(ids))).Count(ctx)
			if err != nil || ahead >= planBatch {
				return servers, err
			}
		}
		full, got, err := p.batch(ctx, deadline, ids)
		servers = addServers(servers, got)
		for _, s := range got {
			start(s)
		}
		if err != nil && ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || !time.Now().Before(deadline)) {
			return servers, nil // the wait is over: planned later
		}
		// a batch short of its size took every change pending when it
		// read, ids among them (committed before this call)
		if err != nil || !full || once {
			return servers, err
		}
	}
	return servers, nil
}

func operationsOf(ctx context.Context, e *Executor, changes []int) ([]*ent.Operation, error) {
	var out []*ent.Operation
	for i := 0; i < len(changes); i += 1000 {
		ops, err := e.st.Operation.Query().Where(entop.ChangeIDIn(changes[i:min(i+1000, len(changes))]...)).
			Order(ent.Asc(entop.FieldID)).All(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, ops...)
	}
	slices.SortFunc(out, func(a, b *ent.Operation) int { return a.ID - b.ID })
	return out, nil
}
