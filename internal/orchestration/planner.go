package orchestration

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	entop "github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/ent/route"
	"github.com/orchestra-panel/orchestra/internal/store/ent/server"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Log states, as the original's, plus SKIPPED for an operation no route took.
const (
	StateReceived = "RECEIVED"
	StateStarted  = "STARTED"
	StateSuccess  = "SUCCESS"
	StateFailure  = "FAILURE"
	StateError    = "ERROR"
	StateTimeout  = "TIMEOUT"
	StateAborted  = "ABORTED"
	StateNothing  = "NOTHING"
	StateSkipped  = "SKIPPED"
)

// planLock seeds the PostgreSQL advisory lock key of planning, planLockKey
// (an SQL expression of $1): one key per schema, so that panels (and tests)
// sharing a database in schemas of their own do not plan in turn.
const (
	planLock    = 0x6f72636865737472 // "orchestr"
	planLockKey = "hashtextextended(current_schema(), $1)"
)

// planBatch bounds the changes one planning batch reads: a batch is read and
// rendered without a write lock and written in one short transaction, and a
// write waiting for its own change waits for at most a batch of others'.
// Behind a backlog, each full batch doubles the next, up to planBatchMax:
// a big write is planned in a few batches, where each batch that joins a
// waiting unit renders that whole unit again.
const (
	planBatch    = 250
	planBatchMax = 2000
)

// Settings of units' size.
var (
	UnitMaxOperations = settings.Int("ORCHESTRATION_UNIT_MAX_OPERATIONS", 500,
		"Most operations in one unit: a larger group of one backend's operations for one server is split into units that run one after the other.",
		settings.Validator(atLeastOne))
	UnitMaxScriptBytes = settings.Int("ORCHESTRATION_UNIT_MAX_SCRIPT_BYTES", 1<<20,
		"Largest script of one unit, in bytes: a larger group is split into units that run one after the other (an operation larger alone runs alone).",
		settings.Validator(atLeastOne))
)

func atLeastOne(v any) error {
	if v.(int) < 1 {
		return errors.New("at least 1")
	}
	return nil
}

// Planner turns pending changes into units of work.
type Planner struct {
	st      *store.Store
	matcher matcher
	size    int // the next batch's, under the planning turn (0: planBatch)
}

// NewPlanner returns a planner over st.
func NewPlanner(st *store.Store) *Planner { return &Planner{st: st} }

// operation is one backend's work on one object, before routing.
type operation struct {
	backend  *Backend
	action   string
	obj      Object
	changeID int
	owner    *int
	loadErr  error // from the backend's Load
	id       int   // its row, for one recorded already in a waiting unit
}

// unit is the operations of one (server, backend, async) in one script.
type unit struct {
	server  *ent.Server
	backend *Backend
	async   bool
	ops     []operation
	// joined is the waiting unit that ops join: they start with its live
	// operations (id != 0), and fresh holds those planned now alone.
	joined *waiting
	fresh  []operation
}

// waiting is a unit in a lane, not started, that later operations join.
type waiting struct {
	logID int
	rows  int // its operations when read, superseded ones included
}

// errReplanned ends a batch's write when what it read has changed since
// (another planner planned its changes, a unit it joins started): nothing is
// written and the batch is read again.
var errReplanned = errors.New("orchestration: planned or started meanwhile")

// Plan plans every pending change, in change order, batch by batch, and
// returns the ids of the servers that got units to run.
func (p *Planner) Plan(ctx context.Context) ([]int, error) {
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	var servers []int
	for {
		full, got, err := p.batch(ctx, time.Time{}, nil)
		servers = addServers(servers, got)
		if err != nil || !full {
			return servers, err
		}
	}
}

func addServers(servers, more []int) []int {
	for _, s := range more {
		if !slices.Contains(servers, s) {
			servers = append(servers, s)
		}
	}
	return servers
}

// planLocks holds, per database, the in-process turn of its planners.
var planLocks sync.Map // *sql.DB → chan struct{}

// lock takes the planning turn: one planner of the database at a time, in
// this process and, on PostgreSQL, across processes (a session lock, which
// no writer of changes waits for). It gives up at deadline (if not zero).
func (p *Planner) lock(ctx context.Context, deadline time.Time) (func(), error) {
	v, _ := planLocks.LoadOrStore(p.st.DB, make(chan struct{}, 1))
	turn := v.(chan struct{})
	wait := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	select {
	case turn <- struct{}{}:
	case <-wait.Done():
		return nil, wait.Err()
	}
	if p.st.Dialect != dialect.Postgres {
		return func() { <-turn }, nil
	}
	conn, err := p.st.DB.Conn(wait)
	if err == nil {
		if err = advisoryLock(ctx, conn, deadline); err != nil {
			conn.Close()
		}
	}
	if err != nil {
		<-turn
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock("+planLockKey+")", planLock); err != nil {
			// a session that may still hold the lock is closed, not reused
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
		<-turn
	}, nil
}

// advisoryLock takes the planning lock on conn: waiting for it, or with a
// deadline by trying until then (cancelling a waiting query would cost the
// connection).
func advisoryLock(ctx context.Context, conn *sql.Conn, deadline time.Time) error {
	if deadline.IsZero() {
		_, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+planLockKey+")", planLock)
		return err
	}
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock("+planLockKey+")", planLock).Scan(&ok); err != nil || ok {
			return err
		}
		if time.Now().Add(20 * time.Millisecond).After(deadline) {
			return context.DeadlineExceeded
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // another process plans a batch
		}
	}
}

// batch plans the oldest pending changes, at most a batch of them, and
// returns whether it planned a full one (more may be pending) and the
// servers that got units to run.
// Changes, their operations, routes and what the backends load are read in
// one read-only transaction; scripts are rendered outside of any; units,
// operations and the changes' planned_at are written in one short
// transaction that first checks the changes are still pending. With mine,
// it plans nothing once those changes are planned; with a deadline, it
// gives up waiting for its turn then.
func (p *Planner) batch(ctx context.Context, deadline time.Time, mine []int) (bool, []int, error) {
	unlock, err := p.lock(ctx, deadline)
	if err != nil {
		return false, nil, err
	}
	defer unlock()
	size := max(p.size, planBatch)
	p.size = planBatch
	join := true
	for attempt := 1; ; attempt++ {
		b, err := p.read(ctx, join, mine, size)
		if err != nil || b == nil {
			return false, nil, err
		}
		servers, err := p.write(ctx, b)
		if !errors.Is(err, errReplanned) {
			full := len(b.changes) == size
			if full && err == nil {
				p.size = min(2*size, planBatchMax)
			}
			return full, servers, err
		}
		if attempt == 3 {
			join = false // units keep starting under us: plan new ones
		}
		if attempt == 20 {
			return false, nil, nil // another process plans them
		}
	}
}

// minePlanned reports whether none of mine is among the pending changes, of
// which read found the oldest, at most size: a batch short of size holds
// every one (mine were committed before), so only a full one needs a query.
func minePlanned(ctx context.Context, tx *ent.Tx, pending []*ent.Change, mine []int, size int) (bool, error) {
	if len(mine) == 0 {
		return false, nil
	}
	ids := make(map[int]bool, len(pending))
	for _, c := range pending {
		ids[c.ID] = true
	}
	for _, id := range mine {
		if ids[id] {
			return false, nil
		}
	}
	if len(pending) < size {
		return true, nil
	}
	return planned(ctx, tx.Client(), mine)
}

// planned reports whether none of ids is pending.
func (p *Planner) planned(ctx context.Context, ids []int) (bool, error) {
	return planned(ctx, p.st.Client, ids)
}

func planned(ctx context.Context, c *ent.Client, ids []int) (bool, error) {
	for i := 0; i < len(ids); i += 1000 {
		pending, err := c.Change.Query().Where(change.IDIn(ids[i:min(i+1000, len(ids))]...), change.PlannedAtIsNil()).Exist(ctx)
		if err != nil || pending {
			return false, err
		}
	}
	return true, nil
}

// plannedBatch is what read found and rendered, for write.
type plannedBatch struct {
	changes []*ent.Change
	skipped []operation
	drafts  []draft
}

// read reads the oldest pending changes, at most size, and renders
// their units (joining waiting ones with join); nil when none is pending,
// or, with mine, when none of mine is.
func (p *Planner) read(ctx context.Context, join bool, mine []int, size int) (*plannedBatch, error) {
	var b *plannedBatch
	var units []*unit
	err := p.st.ReadTx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		changes, err := tx.Change.Query().Where(change.PlannedAtIsNil()).Order(ent.Asc(change.FieldID)).Limit(size).All(ctx)
		if err != nil || len(changes) == 0 {
			return err
		}
		if done, err := minePlanned(ctx, tx, changes, mine, size); err != nil || done {
			return err
		}
		ops, err := p.collect(ctx, tx, changes)
		if err != nil {
			return err
		}
		var skipped []operation
		units, skipped, err = p.route(ctx, tx, ops)
		if err != nil {
			return err
		}
		if join {
			if err := p.joinWaiting(ctx, tx, units); err != nil {
				return err
			}
		}
		if err := load(ctx, tx, units); err != nil {
			return err
		}
		b = &plannedBatch{changes: changes, skipped: skipped}
		return nil
	})
	if err != nil || b == nil {
		return nil, err
	}
	b.drafts = compose(units)
	return b, nil
}

// relaxCommit lets tx's commit return before PostgreSQL has flushed it to
// disk. It is for the engine's own records of a unit (planned, started,
// finished): lost in a crash of the database server, they only make
// idempotent units plan or run again (a unit left STARTED is aborted and
// queued again), the durability SQLite's synchronous=NORMAL gives every
// write. The commit of a write that made the changes stays durable, and
// flushes these with it.
func relaxCommit(ctx context.Context, tx *ent.Tx, dialectName string) error {
	if dialectName != dialect.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off")
	return err
}

// write records what read found and marks its changes planned, or returns
// errReplanned, writing nothing, when they were planned meanwhile.
func (p *Planner) write(ctx context.Context, b *plannedBatch) ([]int, error) {
	var servers []int
	err := p.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		servers = nil
		if err := relaxCommit(ctx, tx, p.st.Dialect); err != nil {
			return err
		}
		ids := make([]int, len(b.changes))
		var secret []int
		for i, c := range b.changes {
			ids[i] = c.ID
			if hasSecrets(c.Model, c.Snapshot) {
				secret = append(secret, c.ID)
			}
		}
		pending, err := tx.Change.Query().Where(change.IDIn(ids...), change.PlannedAtIsNil()).Count(ctx)
		if err != nil {
			return err
		}
		if pending != len(ids) {
			return errReplanned
		}
		now := time.Now().UTC()
		rows := make([]*ent.OperationCreate, 0, len(b.skipped))
		for _, op := range b.skipped {
			op.obj.Snapshot = withoutSecrets(op.obj.Model, op.obj.Snapshot) // final already
			rows = append(rows, opRow(tx, op, now).SetState(StateSkipped))
		}
		for i := 0; i < len(rows); i += 500 {
			if err := tx.Operation.CreateBulk(rows[i:min(i+500, len(rows))]...).Exec(ctx); err != nil {
				return err
			}
		}
		recorded, err := p.writeDrafts(ctx, tx, b.drafts, nil)
		if err != nil {
			return err
		}
		for _, u := range recorded {
			if u.State == StateReceived && !slices.Contains(servers, u.Server.ID) {
				servers = append(servers, u.Server.ID)
			}
		}
		if err := tx.Change.Update().Where(change.IDIn(ids...)).SetPlannedAt(now).Exec(ctx); err != nil {
			return err
		}
		// the operations and scripts planned hold what the units need
		if len(secret) > 0 {
			return scrubSnapshots(ctx, tx, p.st.Dialect, "changes", func() *entsql.Predicate {
				return entsql.InInts("id", secret...)
			})
		}
		return nil
	})
	return servers, err
}

func opRow(tx *ent.Tx, op operation, now time.Time) *ent.OperationCreate {
	return tx.Operation.Create().SetBackend(op.backend.Name).SetAction(op.action).SetModel(op.obj.Model).
		SetObjectID(op.obj.ID).SetRepr(op.obj.Repr).SetSnapshot(op.obj.Snapshot).SetNillableChangeID(nonZero(op.changeID)).
		SetNillableAccountID(op.owner).SetArgs(op.obj.Args).SetCreatedAt(now)
}

func nonZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// collect applies the planning rules: a delete cancels a pending save of
// the same object, the latest snapshot wins, related models fan out to
// saves of their main objects, and a save that set only ignored fields is
// dropped.
func (p *Planner) collect(ctx context.Context, tx *ent.Tx, changes []*ent.Change) ([]operation, error) {
	type key struct {
		backend, model string
		id             int
	}
	var order []key
	ops := map[key]operation{}
	put := func(op operation) {
		k := key{op.backend.Name, op.obj.Model, op.obj.ID}
		if old, ok := ops[k]; ok {
			if old.action == ActionDelete && op.action == ActionSave {
				return // a related save never revives a deleted object
			}
			order = slices.DeleteFunc(order, func(x key) bool { return x == k })
		}
		ops[k] = op
		order = append(order, k)
	}
	all := Backends()
	for _, c := range changes {
		obj := Object{Model: c.Model, ID: c.ObjectID, Repr: c.Repr, Snapshot: c.Snapshot}
		for _, b := range all {
			if b.Model == c.Model && b.Handles(c.Action) {
				if c.Action == ActionSave && len(c.Fields) > 0 && onlyIgnored(c.Fields, b.IgnoreFields) {
					continue
				}
				put(operation{backend: b, action: c.Action, obj: obj, changeID: c.ID, owner: c.AccountID})
			}
			for _, r := range b.Related {
				if r.Model != c.Model || !b.Handles(ActionSave) ||
					len(r.Fields) > 0 && !slices.ContainsFunc(c.Fields, func(f string) bool { return slices.Contains(r.Fields, f) }) {
					continue
				}
				ids, err := r.Resolve(ctx, tx, obj)
				if err != nil {
					return nil, fmt.Errorf("backend %s: related %s %d: %w", b.Name, c.Model, c.ObjectID, err)
				}
				mains, err := p.objects(ctx, tx, b.Model, ids)
				if err != nil {
					return nil, err
				}
				for _, m := range mains {
					put(operation{backend: b, action: ActionSave, obj: m, changeID: c.ID, owner: ownerOf(m)})
				}
			}
		}
	}
	out := make([]operation, len(order))
	for i, k := range order {
		out[i] = ops[k]
	}
	return out, nil
}

func onlyIgnored(fields, ignored []string) bool {
	for _, f := range fields {
		if f != "updated_at" && f != "version" && !slices.Contains(ignored, f) {
			return false
		}
	}
	return true
}

// objects loads the current snapshots of a model's objects (those that
// still exist).
func (p *Planner) objects(ctx context.Context, tx *ent.Tx, modelName string, ids []int) ([]Object, error) {
	m := modelOf(modelName)
	snaps, err := m.snapshots(ctx, tx, p.st.Dialect, ids)
	if err != nil {
		return nil, err
	}
	meta := ent.Meta[modelName]
	var out []Object
	for _, id := range ids {
		if s, ok := snaps[id]; ok {
			o := Object{Model: modelName, ID: id, Snapshot: s}
			if meta.Repr != "" {
				o.Repr = fmt.Sprint(s[meta.Repr])
			}
			out = append(out, o)
		}
	}
	return out, nil
}

func ownerOf(o Object) *int {
	meta := ent.Meta[o.Model]
	if meta.Owner == "" {
		return nil
	}
	if n, ok := o.Snapshot[meta.Owner].(int); ok {
		return &n
	}
	return nil
}

// route sends each operation to the servers whose active routes match it,
// grouping them into units; operations no route takes are returned apart.
func (p *Planner) route(ctx context.Context, tx *ent.Tx, ops []operation) ([]*unit, []operation, error) {
	routes, err := tx.Route.Query().Where(route.IsActive(true), route.HasServerWith(server.IsActive(true))).
		WithServer().Order(ent.Asc(route.FieldID)).All(ctx)
	if err != nil {
		return nil, nil, err
	}
	type ukey struct {
		server  int
		backend string
		async   bool
	}
	var units []*unit
	byKey := map[ukey]*unit{}
	var skipped []operation
	for _, op := range ops {
		taken := false
		for _, r := range routes {
			if r.Backend != op.backend.Name {
				continue
			}
			ok, err := p.matcher.matches(r.Backend, r.Match, op.obj)
			if err != nil {
				slog.WarnContext(ctx, "route match", "route", r.ID, "backend", r.Backend, "err", err)
				continue
			}
			if !ok {
				continue
			}
			taken = true
			k := ukey{r.ServerID, r.Backend, r.Async || slices.Contains(r.AsyncActions, op.action)}
			u := byKey[k]
			if u == nil {
				u = &unit{server: r.Edges.Server, backend: op.backend, async: k.async}
				byKey[k] = u
				units = append(units, u)
			}
			u.ops = append(u.ops, op)
		}
		if !taken {
			skipped = append(skipped, op)
		}
	}
	// units run in the order they are planned: a backend's after those it
	// names in After, the rest in change order
	ranks := map[string]int{}
	for _, u := range units {
		if _, ok := ranks[u.backend.Name]; !ok {
			ranks[u.backend.Name] = rank(u.backend, map[string]bool{u.backend.Name: true})
		}
	}
	slices.SortStableFunc(units, func(a, b *unit) int { return ranks[a.backend.Name] - ranks[b.backend.Name] })
	return units, skipped, nil
}

// joinWaiting makes units join the unit that waits last in their server's
// lane when it is of the same backend and async, was made by the planner
// and has neither started nor failed to reach its server: the lane keeps
// one next unit per server however many changes arrive while a unit runs.
// Only the last one is joined, so that nothing planned earlier for the
// server (a resync, a retry, another backend's unit) runs after what is
// planned now. Its live operations are taken again, saves with the objects
// as they are now (one deleted since is left out, its delete follows),
// deletes from their snapshots, and the collect rules apply between them
// and the new ones. Units of backends that run in-process run each of their
// operations and are not joined.
func (p *Planner) joinWaiting(ctx context.Context, tx *ent.Tx, units []*unit) error {
	last := map[int]*ent.ExecutionLog{} // by server; nil once taken or not joinable
	for _, u := range units {
		l, seen := last[u.server.ID]
		if !seen {
			var err error
			l, err = tx.ExecutionLog.Query().Where(executionlog.ServerID(u.server.ID),
				executionlog.StateIn(StateReceived, StateStarted)).Order(laneLast).
				Select(executionlog.FieldID, executionlog.FieldBackend, executionlog.FieldAsync, executionlog.FieldState,
					executionlog.FieldAttempts, executionlog.FieldNextAttemptAt, executionlog.FieldRetryOf).First(ctx)
			if ent.IsNotFound(err) || err == nil && !joinable(l) {
				l, err = nil, nil
			}
			if err != nil {
				return err
			}
			last[u.server.ID] = l
		}
		if l == nil || l.Backend != u.backend.Name || l.Async != u.async || u.backend.Exec != nil {
			continue
		}
		last[u.server.ID] = nil
		rows, err := tx.Operation.Query().Where(entop.LogID(l.ID)).Order(ent.Asc(entop.FieldID)).
			Select(entop.FieldID, entop.FieldChangeID, entop.FieldModel, entop.FieldObjectID).All(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(rows, func(r *ent.Operation) bool { return r.ChangeID != nil }) {
			continue // a resync's
		}
		live := liveRows(rows)
		if maxOps, _ := unitLimits(u.backend); len(live) >= maxOps {
			continue
		}
		old, err := p.liveOperations(ctx, tx, u.backend, live)
		if err != nil {
			return err
		}
		u.ops, u.fresh = merge(old, u.ops)
		u.joined = &waiting{logID: l.ID, rows: len(rows)}
	}
	return nil
}

// joinable reports whether a unit may take more operations: waiting, never
// tried, not a retry (a retry or a resync runs what staff asked for).
func joinable(l *ent.ExecutionLog) bool {
	return l.State == StateReceived && l.Attempts == 0 && l.NextAttemptAt == nil && l.RetryOf == nil
}

// laneLast orders a lane's units last first (see laneOrder).
func laneLast(s *entsql.Selector) {
	s.OrderExpr(entsql.Expr("COALESCE(" + s.C(executionlog.FieldRetryOf) + ", " + s.C(executionlog.FieldID) + ") DESC"))
	s.OrderBy(entsql.Desc(s.C(executionlog.FieldID)))
}

// liveRows returns the operations of a unit that its script applies: the
// last one of each object (a later one superseded the others, which stay
// in the unit and share its outcome), in the order of the last ones.
func liveRows(rows []*ent.Operation) []*ent.Operation {
	type key struct {
		model string
		id    int
	}
	last := map[key]int{}
	for i, r := range rows {
		last[key{r.Model, r.ObjectID}] = i
	}
	var out []*ent.Operation
	for i, r := range rows {
		if last[key{r.Model, r.ObjectID}] == i {
			out = append(out, r)
		}
	}
	return out
}

// liveOperations reads a waiting unit's live operations again: saves with
// their objects as they are now, deletes with their snapshots.
func (p *Planner) liveOperations(ctx context.Context, tx *ent.Tx, b *Backend, live []*ent.Operation) ([]operation, error) {
	ids := make([]int, len(live))
	for i, r := range live {
		ids[i] = r.ID
	}
	var full []*ent.Operation
	for i := 0; i < len(ids); i += 1000 {
		rows, err := tx.Operation.Query().Where(entop.IDIn(ids[i:min(i+1000, len(ids))]...)).All(ctx)
		if err != nil {
			return nil, err
		}
		full = append(full, rows...)
	}
	slices.SortFunc(full, func(a, b *ent.Operation) int { return a.ID - b.ID })
	saved := map[string][]int{}
	for _, r := range full {
		if r.Action != ActionDelete {
			saved[r.Model] = append(saved[r.Model], r.ObjectID)
		}
	}
	now := map[string]map[int]Object{}
	for m, objIDs := range saved {
		now[m] = map[int]Object{}
		for i := 0; i < len(objIDs); i += 5000 {
			objs, err := p.objects(ctx, tx, m, objIDs[i:min(i+5000, len(objIDs))])
			if err != nil {
				return nil, err
			}
			for _, o := range objs {
				now[m][o.ID] = o
			}
		}
	}
	out := make([]operation, 0, len(full))
	for _, r := range full {
		obj := Object{Model: r.Model, ID: r.ObjectID, Repr: r.Repr, Snapshot: r.Snapshot}
		if r.Action != ActionDelete {
			o, ok := now[r.Model][r.ObjectID]
			if !ok {
				continue
			}
			obj = o
		}
		obj.Args = r.Args
		op := operation{backend: b, action: r.Action, obj: obj, owner: r.AccountID, id: r.ID}
		if r.ChangeID != nil {
			op.changeID = *r.ChangeID
		}
		out = append(out, op)
	}
	return out, nil
}

// merge applies the collect rules to a waiting unit's live operations and
// new ones of the same backend: a later operation on an object replaces the
// earlier one and takes its place at the end, except that a save never
// revives an object deleted before. It returns the operations and those of
// fresh it kept.
func merge(old, fresh []operation) (ops, kept []operation) {
	type key struct {
		model string
		id    int
	}
	ops = slices.Clone(old)
	for _, op := range fresh {
		k := key{op.obj.Model, op.obj.ID}
		i := slices.IndexFunc(ops, func(o operation) bool { return key{o.obj.Model, o.obj.ID} == k })
		if i >= 0 {
			if ops[i].action == ActionDelete && op.action == ActionSave {
				continue
			}
			ops = slices.Delete(ops, i, i+1)
		}
		ops = append(ops, op)
		kept = append(kept, op)
	}
	return ops, kept
}

// draft is a unit rendered, to be written as a new log or over the waiting
// one it joins.
type draft struct {
	u      *unit
	r      rendered
	joined *waiting
}

// compose splits units into drafts that fit ORCHESTRATION_UNIT_MAX_OPERATIONS
// and ORCHESTRATION_UNIT_MAX_SCRIPT_BYTES, in order, and renders them. A unit
// joining a waiting one keeps that one's operations in its first draft and
// adds what fits; when that first draft takes none of the new operations,
// or does not render to a script to run, the new operations make units of
// their own and the waiting one is left as it is.
func compose(units []*unit) []draft {
	var out []draft
	for _, u := range units {
		maxOps, maxBytes := unitLimits(u.backend)
		if u.joined != nil {
			pinned := 0
			for _, op := range u.ops {
				if op.id != 0 {
					pinned++
				}
			}
			drafts := fit(u, pinned, maxOps, maxBytes)
			first := drafts[0]
			if first.r.state == StateReceived && slices.ContainsFunc(first.u.ops, func(o operation) bool { return o.id == 0 }) {
				first.joined = u.joined
				drafts[0] = first
				out = append(out, drafts...)
				continue
			}
			u = &unit{server: u.server, backend: u.backend, async: u.async, ops: u.fresh}
		}
		out = append(out, fit(u, 0, maxOps, maxBytes)...)
	}
	return out
}

// fit cuts u's operations into runs of at most maxOps operations and a
// script of at most maxBytes (an operation larger alone runs alone), the
// first pinned ones together in the first, and renders each.
func fit(u *unit, pinned, maxOps, maxBytes int) []draft {
	part := func(ops []operation) *unit {
		return &unit{server: u.server, backend: u.backend, async: u.async, ops: ops}
	}
	if len(u.ops) <= maxOps || len(u.ops) <= pinned {
		if r := render(u); r.size() <= maxBytes || len(u.ops) <= max(1, pinned) {
			return []draft{{u: u, r: r}}
		}
	}
	base, sizes := measure(u)
	var groups [][]operation
	cur, bytes := u.ops[:pinned:pinned], base
	for _, n := range sizes[:pinned] {
		bytes += n
	}
	for i := pinned; i < len(u.ops); i++ {
		if len(cur) > 0 && (len(cur) >= maxOps || bytes+sizes[i] > maxBytes) {
			groups = append(groups, cur)
			cur, bytes = nil, base
		}
		cur = append(cur, u.ops[i])
		bytes += sizes[i]
	}
	groups = append(groups, cur)
	var out []draft
	for gi := 0; gi < len(groups); gi++ {
		g := groups[gi]
		r := render(part(g))
		// the estimate fell short (files put in place between operations):
		// the last operations move on to the next unit
		keep := 1
		if gi == 0 {
			keep = max(1, pinned+1)
		}
		for (r.size() > maxBytes || len(g) > maxOps) && len(g) > keep {
			if gi+1 == len(groups) {
				groups = append(groups, nil)
			}
			groups[gi+1] = append([]operation{g[len(g)-1]}, groups[gi+1]...)
			g = g[:len(g)-1]
			r = render(part(g))
		}
		out = append(out, draft{u: part(g), r: r})
	}
	return out
}

// measure returns the bytes of u's script without operations and those
// each operation adds to it.
func measure(u *unit) (int, []int) {
	sizes := make([]int, len(u.ops))
	if u.backend.Exec != nil {
		for i, op := range u.ops {
			sizes[i] = len(fmt.Sprintf("# %s %s %d %s\n", op.action, op.obj.Model, op.obj.ID, op.obj.Repr))
		}
		return 0, sizes
	}
	srv := serverOf(u)
	empty := NewScript()
	if u.backend.Prepare != nil {
		empty.into(&empty.head)
		u.backend.Prepare(empty, srv)
	}
	if u.backend.Commit != nil {
		empty.into(&empty.tail)
		u.backend.Commit(empty, srv)
	}
	s := NewScript()
	n := 0 // lines of the body counted
	for i, op := range u.ops {
		if op.loadErr == nil {
			u.backend.Apply(s, srv, op.action, op.obj)
		}
		for ; n < len(s.body); n++ {
			sizes[i] += len(s.body[n]) + 1
		}
	}
	return len(empty.String()), sizes
}

func serverOf(u *unit) Server {
	return Server{ID: u.server.ID, Name: u.server.Name, Address: u.server.Address, Settings: u.server.Settings}
}

// load runs the backends' Load for the operations of units that are not
// deletes, once per backend and object; a failure is kept on the object and
// reported by render.
func load(ctx context.Context, tx *ent.Tx, units []*unit) error {
	type key struct {
		backend, model string
		id             int
	}
	done := map[key]loaded{}
	for _, u := range units {
		if u.backend.LoadMany != nil {
			var todo []*Object
			for _, op := range u.ops {
				if _, ok := done[key{u.backend.Name, op.obj.Model, op.obj.ID}]; !ok && op.action != ActionDelete {
					obj := op.obj
					todo = append(todo, &obj)
				}
			}
			for c := range slices.Chunk(todo, 500) { // the stores' limits on one statement's parameters
				errs, err := u.backend.LoadMany(ctx, tx, c)
				if err != nil && ctx.Err() != nil {
					return err
				}
				for i, obj := range c {
					l := loaded{extra: obj.Extra, err: err}
					if err == nil && i < len(errs) {
						l.err = errs[i]
					}
					done[key{u.backend.Name, obj.Model, obj.ID}] = l
				}
			}
		} else if u.backend.Load == nil {
			continue
		}
		for i := range u.ops {
			op := &u.ops[i]
			if op.action == ActionDelete {
				continue
			}
			k := key{u.backend.Name, op.obj.Model, op.obj.ID}
			l, ok := done[k]
			if !ok && u.backend.Load != nil {
				obj := op.obj
				err := u.backend.Load(ctx, tx, &obj)
				if err != nil && ctx.Err() != nil {
					return err
				}
				l = loaded{extra: obj.Extra, err: err}
				done[k] = l
			}
			op.obj.Extra, op.loadErr = l.extra, l.err
		}
	}
	return nil
}

type loaded struct {
	extra any
	err   error
}

// rendered is a unit's script: masked as stored and shown, and as it runs
// while it holds secrets.
type rendered struct {
	script, secretScript string
	secrets              []string
	state, problem       string
}

// size is the length of the script as it runs.
func (r rendered) size() int { return max(len(r.script), len(r.secretScript)) }

// render writes a unit's script: prepare, every operation's action, commit.
func render(u *unit) rendered {
	s := NewScript()
	s.lane = laneName(u.server)
	for _, op := range u.ops {
		for f := range ent.Meta[op.obj.Model].Secret {
			s.Secret(op.obj.String(f))
		}
	}
	if u.backend.Exec != nil {
		// run in-process: the log shows what will be done; the secrets
		// mask the output
		var b strings.Builder
		for _, op := range u.ops {
			fmt.Fprintf(&b, "# %s %s %d %s\n", op.action, op.obj.Model, op.obj.ID, op.obj.Repr)
		}
		return rendered{script: MaskSecrets(b.String(), s.secrets), secrets: s.Secrets(), state: StateReceived}
	}
	out := func(state, problem string) rendered {
		r := rendered{script: s.Masked(), state: state, problem: MaskSecrets(problem, s.secrets)}
		if state == StateReceived {
			r.secrets = s.Secrets() // masks the output too
			if r.script != s.String() {
				r.secretScript = s.String()
			}
		}
		return r
	}
	srv := serverOf(u)
	if u.backend.Prepare != nil {
		s.into(&s.head)
		u.backend.Prepare(s, srv)
	}
	s.into(&s.body)
	for _, op := range u.ops {
		err := op.loadErr
		if err == nil {
			err = u.backend.Apply(s, srv, op.action, op.obj)
		}
		if err != nil {
			return out(StateError, fmt.Sprintf("%s %s %d: %v", op.action, op.obj.Model, op.obj.ID, err))
		}
	}
	if s.Err() != nil {
		return out(StateError, s.Err().Error())
	}
	if s.Empty() {
		return rendered{state: StateNothing}
	}
	if u.backend.Commit != nil {
		s.into(&s.tail)
		u.backend.Commit(s, srv)
	}
	return out(StateReceived, "")
}
