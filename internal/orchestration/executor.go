package orchestration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	entop "github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Settings of the executor.
var (
	UnitTimeout = settings.Duration("ORCHESTRATION_UNIT_TIMEOUT", 5*time.Minute,
		"Longest a unit's script may run on a server: then its processes are killed and its log ends in TIMEOUT.")
	TransportRetries = settings.Int("ORCHESTRATION_TRANSPORT_RETRIES", 5,
		"Attempts to reach a server for one unit before its log ends in TIMEOUT (the unit stays retryable).")
	RetryBackoff = settings.Duration("ORCHESTRATION_RETRY_BACKOFF", 2*time.Second,
		"Wait before the second attempt to reach a server; it doubles with each attempt, up to 5 minutes.")
	LaneLease = settings.Duration("ORCHESTRATION_LANE_LEASE", 30*time.Second,
		"How long a process's hold on a server's lane lasts without renewal: how soon another process takes over the lanes of one that died.")
	LogRetention = settings.Duration("ORCHESTRATION_LOG_RETENTION", 90*24*time.Hour,
		"Execution logs and their operations older than this are deleted.")
	ChangeRetention = settings.Duration("ORCHESTRATION_CHANGE_RETENTION", 90*24*time.Hour,
		"Planned changes older than this are deleted, unless some of their operations have yet to run.")
)

// maxOutput bounds the stdout and stderr kept in a log, each.
const maxOutput = 4 << 20

// ExecutorConfig tunes an Executor; zero values take the defaults.
type ExecutorConfig struct {
	Pool *sshpool.Pool // required
	// LeaseTTL overrides ORCHESTRATION_LANE_LEASE.
	LeaseTTL time.Duration
	// Sweep is the interval of the pass that catches work this process was
	// not told about (other processes' commits, retries that came due).
	Sweep time.Duration // default 5s
	// Alert is told about every unit that ends in FAILURE, TIMEOUT or ERROR.
	Alert func(ctx context.Context, a Alert)
	// Passive executors neither plan nor sweep: they run the lanes they are
	// asked to (the orchestrate command, beside a serving process).
	Passive bool
	// Linger is how long a lane whose units are done keeps its lease,
	// ready for the next unit (a customer's edits come in bursts): that
	// unit skips taking the lease, reading the server and checking for
	// units a dead holder left. Default 2s; negative: none.
	Linger time.Duration
}

// lingerPoll is how often a lingering lane looks for units that other
// processes planned (they cannot start a lane this one holds).
const lingerPoll = 200 * time.Millisecond

// Alert describes a unit that needs a person's attention.
type Alert struct {
	Log    *ent.ExecutionLog
	Server *ent.Server
	Ops    []*ent.Operation
}

// Executor runs units: one ordered lane per server, never two units on one
// server at once (also across processes sharing a database, through lane
// leases), lanes of different servers in parallel.
type Executor struct {
	st      *store.Store
	planner *Planner
	cfg     ExecutorConfig
	owner   string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{}

	mu     sync.Mutex
	lanes  map[int]*laneRun // lanes running in this process
	timers map[int]*time.Timer
	// done is closed and replaced whenever a log of this process reaches
	// a final state, waking those waiting for their units.
	done chan struct{}
}

type laneRun struct {
	again bool
	wake  chan struct{} // StartLane's call to a lingering lane
}

// NewExecutor returns an executor; Start starts it.
func NewExecutor(st *store.Store, cfg ExecutorConfig) *Executor {
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = max(LaneLease.Get(), 300*time.Millisecond)
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = 5 * time.Second
	}
	if cfg.Linger == 0 {
		cfg.Linger = 2 * time.Second
	}
	host, _ := os.Hostname()
	b := make([]byte, 6)
	rand.Read(b)
	e := &Executor{
		st: st, planner: NewPlanner(st), cfg: cfg,
		owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b)),
		kick:  make(chan struct{}, 1), lanes: map[int]*laneRun{}, timers: map[int]*time.Timer{},
		done: make(chan struct{}),
	}
	return e
}

// Owner identifies this executor in lane leases.
func (e *Executor) Owner() string { return e.owner }

// Start plans and runs whatever is pending, then keeps doing so as changes
// commit, until Close.
func (e *Executor) Start() {
	e.ctx, e.cancel = context.WithCancel(viewer.System(context.Background(), viewer.ChannelSystem))
	if e.cfg.Passive {
		return
	}
	OnChanges(e.Kick)
	e.wg.Add(1)
	go e.loop()
	e.Kick()
}

// Close stops taking work, kills the scripts running (their logs are
// aborted and run again on the next start) and waits for the lanes to end.
func (e *Executor) Close() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.wg.Wait()
	e.mu.Lock()
	for _, t := range e.timers {
		t.Stop()
	}
	e.mu.Unlock()
}

// Kick asks for a planning pass soon; calls while one is due coalesce.
func (e *Executor) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Executor) loop() {
	defer e.wg.Done()
	tick := time.NewTicker(e.cfg.Sweep)
	defer tick.Stop()
	for {
		sweep := false
		select {
		case <-e.ctx.Done():
			return
		case <-e.kick:
		case <-tick.C:
			sweep = true
		}
		servers, err := e.planner.Plan(e.ctx)
		if err != nil {
			if e.ctx.Err() == nil {
				slog.Error("orchestration: planning", "err", err)
			}
			continue
		}
		if sweep || len(servers) == 0 {
			// units of other processes' plans, retries come due, lanes of
			// processes that died
			more, err := e.pendingServers(e.ctx)
			if err != nil {
				slog.Error("orchestration: pending units", "err", err)
			}
			for _, s := range more {
				if !slices.Contains(servers, s) {
					servers = append(servers, s)
				}
			}
		}
		for _, s := range servers {
			e.StartLane(s)
		}
	}
}

// pendingServers lists servers with units waiting or started (a started
// unit whose lease ran out is aborted and run again by the next lane).
func (e *Executor) pendingServers(ctx context.Context) ([]int, error) {
	var ids []int
	err := e.st.ExecutionLog.Query().Where(executionlog.StateIn(StateReceived, StateStarted)).
		Unique(true).Select(executionlog.FieldServerID).Scan(ctx, &ids)
	return ids, err
}

// StartLane runs server's lane in this process unless it already runs here;
// a lane running here checks again for work before it ends.
func (e *Executor) StartLane(serverID int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil || e.ctx.Err() != nil {
		return // not started, or closed: the next start's sweep runs it
	}
	if r := e.lanes[serverID]; r != nil {
		r.again = true
		select {
		case r.wake <- struct{}{}:
		default:
		}
		return
	}
	r := &laneRun{wake: make(chan struct{}, 1)}
	e.lanes[serverID] = r
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			next, err := e.RunLane(e.ctx, serverID)
			if err != nil && e.ctx.Err() == nil {
				slog.Error("orchestration: lane", "server", serverID, "err", err)
			}
			e.mu.Lock()
			if r.again && e.ctx.Err() == nil {
				r.again = false
				e.mu.Unlock()
				continue
			}
			delete(e.lanes, serverID)
			if !next.IsZero() && e.ctx.Err() == nil {
				e.wakeAt(serverID, next)
			}
			e.mu.Unlock()
			return
		}
	}()
}

// wakeAt restarts a lane at t (a retry coming due); e.mu held.
func (e *Executor) wakeAt(serverID int, t time.Time) {
	if old := e.timers[serverID]; old != nil {
		old.Stop()
	}
	e.timers[serverID] = time.AfterFunc(time.Until(t), func() { e.StartLane(serverID) })
}

// RunLane runs the units of one server, oldest first, until none is left.
// It returns at once when another process holds the lane; a non-zero next
// is when a unit waiting for a retry comes due.
func (e *Executor) RunLane(ctx context.Context, serverID int) (next time.Time, err error) {
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	gen, ok, err := e.acquire(ctx, serverID)
	if err != nil || !ok {
		return time.Time{}, err
	}
	laneCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(e.cfg.LeaseTTL / 3)
		defer t.Stop()
		last := time.Now() // this process's monotonic clock: how long since the last renewal
		for {
			select {
			case <-laneCtx.Done():
				return
			case <-t.C:
			}
			ok, err := e.renew(ctx, serverID, gen)
			switch {
			case ok:
				last = time.Now()
			case err == nil:
				// another process took the lane over: stop at once (its
				// results would be refused anyway)
				stop(fmt.Errorf("lost the lease of server %d's lane", serverID))
				return
			case time.Since(last) > e.cfg.LeaseTTL*2/3:
				// a busy database may refuse a renewal or two; stop before
				// the lease can run out under a running unit
				stop(fmt.Errorf("could not renew the lease of server %d's lane: %w", serverID, err))
				return
			}
		}
	}()
	defer func() {
		stop(nil)
		<-renewed
		e.release(context.WithoutCancel(ctx), serverID, gen)
	}()

	srv, err := e.st.Server.Get(ctx, serverID)
	if err != nil {
		return time.Time{}, err
	}
	// whoever held the lane before us stopped while running these
	if err := e.abortStarted(ctx, serverID, gen, "the process running it stopped (lane taken over)"); err != nil {
		return time.Time{}, err
	}
	var lingered bool
	var until time.Time // end of the current linger
	for laneCtx.Err() == nil {
		l, err := e.st.ExecutionLog.Query().
			Where(executionlog.ServerID(serverID), executionlog.State(StateReceived)).
			Order(laneOrder).First(ctx)
		if ent.IsNotFound(err) {
			if !e.linger(laneCtx, serverID, &until) {
				return time.Time{}, nil
			}
			lingered = true
			continue
		}
		if err != nil {
			return time.Time{}, err
		}
		if lingered {
			// the server may have changed while the lane waited
			if srv, err = e.st.Server.Get(ctx, serverID); err != nil {
				return time.Time{}, err
			}
			lingered, until = false, time.Time{}
		}
		if l.NextAttemptAt != nil && l.NextAttemptAt.After(time.Now()) {
			return *l.NextAttemptAt, nil // later units wait behind it: order
		}
		if !srv.IsActive {
			return time.Time{}, nil // kept until the server is active again
		}
		retryAt, err := e.execute(laneCtx, l, srv, gen)
		if errors.Is(err, errFenced) {
			return time.Time{}, err
		}
		if !retryAt.IsZero() {
			return retryAt, nil
		}
	}
	if cause := context.Cause(laneCtx); ctx.Err() == nil && cause != nil {
		return time.Time{}, cause
	}
	return time.Time{}, nil
}

// linger waits, until *until (set to the configured linger from now if
// zero), for more work for a lane that ran out of units: true when it
// should look again (asked by StartLane, or at each poll for other
// processes' units), false when the wait is over.
func (e *Executor) linger(ctx context.Context, serverID int, until *time.Time) bool {
	if e.cfg.Linger < 0 {
		return false
	}
	e.mu.Lock()
	r := e.lanes[serverID]
	e.mu.Unlock()
	if r == nil {
		return false // RunLane called directly: no lingering
	}
	if until.IsZero() {
		*until = time.Now().Add(e.cfg.Linger)
	}
	left := time.Until(*until)
	if left <= 0 {
		return false
	}
	t := time.NewTimer(min(left, lingerPoll))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-r.wake:
		e.mu.Lock()
		r.again = false // this run takes what StartLane asked for
		e.mu.Unlock()
		return true
	case <-t.C:
		return true
	}
}

// laneOrder runs units in the order of their changes; a unit run again
// after an abort keeps the place of the one it replaces.
func laneOrder(s *entsql.Selector) {
	s.OrderExpr(entsql.Expr("COALESCE(" + s.C(executionlog.FieldRetryOf) + ", " + s.C(executionlog.FieldID) + ")"))
	s.OrderBy(s.C(executionlog.FieldID))
}

// abortStarted marks the server's STARTED units ABORTED and queues each
// again, in its place (scripts are idempotent). Their scripts may still be
// running on the server: the new units wait for them there (laneLock).
func (e *Executor) abortStarted(ctx context.Context, serverID int, gen int64, why string) error {
	ids, err := e.st.ExecutionLog.Query().
		Where(executionlog.ServerID(serverID), executionlog.State(StateStarted)).IDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := e.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			if err := e.fence(ctx, tx, serverID, gen); err != nil {
				return err
			}
			return e.requeue(ctx, tx, id, StateAborted, why)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// requeueChunk bounds the rows of one insert (SQLite allows 32,766
// variables per statement; an operation takes 13).
const requeueChunk = 500

// requeue ends log id in state (with why) and queues a new log that runs
// the same script for the same operations, in its place. A log that is no
// longer STARTED (ended, or re-queued by another holder) is left alone.
func (e *Executor) requeue(ctx context.Context, tx *ent.Tx, id int, state, why string) error {
	now := time.Now().UTC()
	n, err := tx.ExecutionLog.Update().Where(executionlog.ID(id), executionlog.State(StateStarted)).
		SetState(state).SetError(why).SetFinishedAt(now).SetUpdatedAt(now).Save(ctx)
	if err != nil || n == 0 {
		return err
	}
	l, err := tx.ExecutionLog.Get(ctx, id)
	if err != nil {
		return err
	}
	place := l.ID
	if l.RetryOf != nil {
		place = *l.RetryOf
	}
	c := tx.ExecutionLog.Create().SetBackend(l.Backend).SetServerID(l.ServerID).
		SetAsync(l.Async).SetScript(l.Script).SetSecretScript(l.SecretScript).SetRetryOf(place).
		SetCreatedAt(now).SetUpdatedAt(now)
	if len(l.Secrets) > 0 {
		c.SetSecrets(l.Secrets)
	}
	nl, err := c.Save(ctx)
	if err != nil {
		return err
	}
	for after := 0; ; {
		ops, err := tx.Operation.Query().Where(entop.LogID(l.ID), entop.IDGT(after)).
			Order(ent.Asc(entop.FieldID)).Limit(requeueChunk).All(ctx)
		if err != nil {
			return err
		}
		if len(ops) == 0 {
			break
		}
		rows := make([]*ent.OperationCreate, len(ops))
		for i, op := range ops {
			rows[i] = tx.Operation.Create().SetLogID(nl.ID).SetNillableChangeID(op.ChangeID).
				SetNillableServerID(op.ServerID).SetBackend(op.Backend).SetAction(op.Action).SetModel(op.Model).
				SetObjectID(op.ObjectID).SetRepr(op.Repr).SetNillableAccountID(op.AccountID).
				SetSnapshot(op.Snapshot).SetArgs(op.Args).SetCreatedAt(now)
		}
		if err := tx.Operation.CreateBulk(rows...).Exec(ctx); err != nil {
			return err
		}
		after = ops[len(ops)-1].ID
	}
	if err := tx.Operation.Update().Where(entop.LogID(l.ID)).SetState(state).Exec(ctx); err != nil {
		return err
	}
	return scrubLog(ctx, tx, e.st.Dialect, l.ID) // the new log holds what runs
}

// execute runs one unit and records its outcome; a non-zero retryAt means
// the server could not be reached (or still runs an older unit) and the
// unit waits for another attempt. err is errFenced when the lane changed
// hands: nothing of this run was recorded.
func (e *Executor) execute(ctx context.Context, l *ent.ExecutionLog, srv *ent.Server, gen int64) (retryAt time.Time, err error) {
	bg := context.WithoutCancel(ctx) // records are written even as ctx ends
	id := l.ID
	l, err = e.claim(bg, id, srv.ID, gen)
	if err != nil || l == nil {
		if err != nil && !errors.Is(err, errFenced) {
			slog.Error("orchestration: starting a unit", "log", id, "err", err)
			return time.Now().Add(time.Second), nil
		}
		return time.Time{}, err // nil l: joined or taken meanwhile; the lane reads again
	}
	attempts := l.Attempts

	out := newLogOutput(e.st, l.ID, l.Secrets)
	flushed := out.start(bg)
	code, runErr := e.run(ctx, l, srv, out)
	out.stop()
	<-flushed

	state, problem := StateSuccess, ""
	var exit *int
	switch {
	case runErr == nil && code == laneBusyExit && laneBusy(out):
		runErr = errLaneBusy
		fallthrough
	case errors.Is(runErr, sshpool.ErrTransport) || errors.Is(runErr, errLaneBusy):
		if ctx.Err() != nil {
			return e.interrupted(ctx, l, srv.ID, gen)
		}
		if attempts < max(1, TransportRetries.Get()) {
			delay := min(RetryBackoff.Get()<<(attempts-1), 5*time.Minute)
			at := time.Now().Add(delay).UTC()
			err := e.setState(bg, l.ID, srv.ID, gen, StateReceived, func(u *ent.ExecutionLogUpdate) {
				u.SetNextAttemptAt(at).SetError(fmt.Sprintf("attempt %d: %v (next attempt at %s)",
					attempts, runErr, at.Format(time.RFC3339)))
			})
			if err != nil {
				slog.Error("orchestration: deferring a unit", "log", l.ID, "err", err)
				return time.Time{}, err
			}
			return at, nil
		}
		if errors.Is(runErr, errLaneBusy) {
			state, problem = StateTimeout, fmt.Sprintf("the server still ran an older unit after %d attempts", attempts)
		} else {
			state, problem = StateTimeout, fmt.Sprintf("server unreachable after %d attempts: %v", attempts, runErr)
		}
	case runErr == nil && code == 0:
		exit = &code
	case runErr == nil:
		state, exit = StateFailure, &code
	case ctx.Err() != nil:
		// shutdown or a lost lease, not the script's doing: run it again
		return e.interrupted(ctx, l, srv.ID, gen)
	case errors.Is(runErr, context.DeadlineExceeded):
		state, problem = StateTimeout, runErr.Error()
	default: // pinned host key refused or missing, bad target, NUL in script
		state, problem = StateError, runErr.Error()
	}
	problem = MaskSecrets(problem, l.Secrets)
	stdout, stderr := out.text()
	end := time.Now().UTC()
	err = e.setState(bg, l.ID, srv.ID, gen, state, func(u *ent.ExecutionLogUpdate) {
		u.SetStdout(stdout).SetStderr(stderr).SetNillableExitCode(exit).SetError(problem).SetFinishedAt(end)
	})
	if err != nil {
		slog.Error("orchestration: recording a unit", "log", l.ID, "err", err)
		return time.Time{}, err
	}
	if state != StateSuccess && e.cfg.Alert != nil {
		final, err1 := e.st.ExecutionLog.Get(bg, l.ID)
		ops, err2 := e.st.Operation.Query().Where(entop.LogID(l.ID)).Order(ent.Asc(entop.FieldID)).All(bg)
		if err := errors.Join(err1, err2); err != nil {
			slog.Error("orchestration: alert", "log", l.ID, "err", err)
		} else {
			e.cfg.Alert(bg, Alert{Log: final, Server: srv, Ops: ops})
		}
	}
	return time.Time{}, nil
}

// claim starts log id if it is still waiting and this process still holds
// the lane, and returns it as started (its script as it is now: a waiting
// unit may have been joined by later operations); nil when it no longer
// waits.
func (e *Executor) claim(ctx context.Context, id, serverID int, gen int64) (*ent.ExecutionLog, error) {
	var l *ent.ExecutionLog
	err := e.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		if err := relaxCommit(ctx, tx, e.st.Dialect); err != nil {
			return err
		}
		if err := e.fence(ctx, tx, serverID, gen); err != nil {
			return err
		}
		now := time.Now().UTC()
		n, err := tx.ExecutionLog.Update().Where(executionlog.ID(id), executionlog.State(StateReceived)).
			SetState(StateStarted).SetUpdatedAt(now).SetStartedAt(now).AddAttempts(1).ClearNextAttemptAt().
			SetError("").SetStdout("").SetStderr("").ClearExitCode().ClearFinishedAt().Save(ctx)
		if err != nil || n == 0 {
			return err
		}
		if err := tx.Operation.Update().Where(entop.LogID(id)).SetState(StateStarted).Exec(ctx); err != nil {
			return err
		}
		l, err = tx.ExecutionLog.Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// interrupted re-queues a unit cut short by shutdown or a lost lease, if
// this process still holds the lane (else its new holder does).
func (e *Executor) interrupted(ctx context.Context, l *ent.ExecutionLog, serverID int, gen int64) (time.Time, error) {
	err := e.st.Tx(context.WithoutCancel(ctx), func(c context.Context, tx *ent.Tx) error {
		if err := e.fence(c, tx, serverID, gen); err != nil {
			return err
		}
		return e.requeue(c, tx, l.ID, StateAborted, fmt.Sprintf("interrupted: %v", context.Cause(ctx)))
	})
	if err != nil && !errors.Is(err, errFenced) {
		slog.Error("orchestration: aborting a unit", "log", l.ID, "err", err)
	}
	return time.Time{}, err
}

// run runs the unit's script over SSH, or its backend's Go steps.
func (e *Executor) run(ctx context.Context, l *ent.ExecutionLog, srv *ent.Server, out *logOutput) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, UnitTimeout.Get())
	defer cancel()
	if b, ok := Lookup(l.Backend); ok && b.Exec != nil {
		return e.runGo(ctx, b, l, srv, out)
	}
	script := l.Script
	if l.SecretScript != "" {
		script = l.SecretScript
	}
	return e.cfg.Pool.Run(ctx, target(srv), []byte(script), out.stdout(), out.stderr())
}

// runGo runs the in-process steps of a backend that talks to an HTTP API.
func (e *Executor) runGo(ctx context.Context, b *Backend, l *ent.ExecutionLog, srv *ent.Server, out *logOutput) (int, error) {
	ops, err := e.st.Operation.Query().Where(entop.LogID(l.ID)).Order(ent.Asc(entop.FieldID)).All(ctx)
	if err != nil {
		return -1, err
	}
	s := Server{ID: srv.ID, Name: srv.Name, Address: srv.Address, Settings: srv.Settings}
	for _, op := range ops {
		obj := Object{Model: op.Model, ID: op.ObjectID, Repr: op.Repr, Snapshot: op.Snapshot, Args: op.Args}
		if err := b.Exec(ctx, s, op.Action, obj, out.stdout()); err != nil {
			if ctx.Err() != nil {
				return -1, fmt.Errorf("%s %s %d: %w", op.Action, op.Model, op.ObjectID, ctx.Err())
			}
			fmt.Fprintf(out.stderr(), "%s %s %d: %v\n", op.Action, op.Model, op.ObjectID, err)
			return 1, nil
		}
	}
	return 0, nil
}

// setState updates a log and its operations to state, if this process
// still holds the lane, and wakes waiters when the state is final.
func (e *Executor) setState(ctx context.Context, logID, serverID int, gen int64, state string, more func(*ent.ExecutionLogUpdate)) error {
	err := e.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		if err := relaxCommit(ctx, tx, e.st.Dialect); err != nil {
			return err
		}
		if err := e.fence(ctx, tx, serverID, gen); err != nil {
			return err
		}
		// an update by predicate: UpdateOne would read the row back
		u := tx.ExecutionLog.Update().Where(executionlog.ID(logID)).SetState(state).SetUpdatedAt(time.Now().UTC())
		if more != nil {
			more(u)
		}
		if Final(state) {
			u.SetSecretScript("").ClearSecrets() // and its operations' below
		}
		if n, err := u.Save(ctx); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("execution log %d is gone", logID)
		}
		if err := tx.Operation.Update().Where(entop.LogID(logID)).SetState(state).Exec(ctx); err != nil {
			return err
		}
		if Final(state) {
			return scrubSnapshots(ctx, tx, e.st.Dialect, "operations", func() *entsql.Predicate { return entsql.EQ("log_id", logID) })
		}
		return nil
	})
	if err == nil && Final(state) {
		e.mu.Lock()
		close(e.done)
		e.done = make(chan struct{})
		e.mu.Unlock()
	}
	return err
}

// Final reports whether a log in state will not run again by itself.
func Final(state string) bool { return state != StateReceived && state != StateStarted }

// Await waits until every log in ids is final or ctx ends, and returns the
// logs as they are then.
func (e *Executor) Await(ctx context.Context, ids []int) ([]*ent.ExecutionLog, error) {
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	for {
		e.mu.Lock()
		done := e.done
		e.mu.Unlock()
		// states only while waiting: a big unit's script is megabytes
		states, err := e.st.ExecutionLog.Query().Where(executionlog.IDIn(ids...)).
			Select(executionlog.FieldID, executionlog.FieldState).All(ctx)
		if err != nil {
			return nil, err
		}
		all := func() ([]*ent.ExecutionLog, error) {
			return e.st.ExecutionLog.Query().Where(executionlog.IDIn(ids...)).Order(ent.Asc(executionlog.FieldID)).All(ctx)
		}
		if !slices.ContainsFunc(states, func(l *ent.ExecutionLog) bool { return !Final(l.State) }) {
			return all()
		}
		select {
		case <-ctx.Done():
			ctx = context.WithoutCancel(ctx)
			return all()
		case <-done:
		case <-time.After(250 * time.Millisecond): // run by another process
		}
	}
}

// PlanNow plans pending changes and starts the lanes that got units; the
// planning job of the queue calls it.
func (e *Executor) PlanNow(ctx context.Context) error {
	servers, err := e.planner.Plan(ctx)
	for _, s := range servers {
		e.StartLane(s)
	}
	return err
}

// Cleanup deletes the final logs, and their operations, last updated before
// cutoff, and the skipped operations created before it; it returns how many
// logs it deleted.
func Cleanup(ctx context.Context, st *store.Store, cutoff time.Time) (int, error) {
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	total := 0
	for {
		ids, err := st.ExecutionLog.Query().
			Where(executionlog.UpdatedAtLT(cutoff), executionlog.StateNotIn(StateReceived, StateStarted)).
			Limit(1000).IDs(ctx)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			if _, err := tx.Operation.Delete().Where(entop.LogIDIn(ids...)).Exec(ctx); err != nil {
				return err
			}
			// a retry's reference to what it retried goes with it
			if err := tx.ExecutionLog.Update().Where(executionlog.RetryOfIn(ids...)).ClearRetryOf().Exec(ctx); err != nil {
				return err
			}
			_, err := tx.ExecutionLog.Delete().Where(executionlog.IDIn(ids...)).Exec(ctx)
			return err
		})
		if err != nil {
			return total, err
		}
		total += len(ids)
		if _, err := st.Operation.Delete().Where(entop.LogIDIsNil(), entop.CreatedAtLT(cutoff)).Exec(ctx); err != nil {
			return total, err
		}
	}
}

// CleanupChanges deletes the changes created before cutoff that are planned,
// whose operations have all ended (or been deleted) and that every consumer
// of the stream has got past (at or below the lowest cursor position: one
// above may be still unhandled, and a change deleted there would look like
// a gap); it returns how many it deleted.
func CleanupChanges(ctx context.Context, st *store.Store, cutoff time.Time) (int, error) {
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	where := []predicate.Change{change.CreatedAtLT(cutoff), change.PlannedAtNotNil(),
		func(s *entsql.Selector) {
			s.Where(entsql.NotIn(s.C(change.FieldID), entsql.Select(entop.FieldChangeID).From(entsql.Table(entop.Table)).
				Where(entsql.And(entsql.NotNull(entop.FieldChangeID), entsql.In(entop.FieldState, StateReceived, StateStarted)))))
		}}
	floor, consumed, err := streamFloor(ctx, st) // cursors only move up
	if err != nil {
		return 0, err
	}
	if consumed {
		where = append(where, change.IDLTE(floor))
	}
	total := 0
	for {
		ids, err := st.Change.Query().Where(where...).Limit(1000).IDs(ctx)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		n, err := st.Change.Delete().Where(change.IDIn(ids...)).Exec(ctx)
		total += n
		if err != nil {
			return total, err
		}
	}
}
