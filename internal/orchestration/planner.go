package orchestration

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
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

// planLock is the PostgreSQL advisory lock key of planning.
const planLock = 0x6f72636865737472 // "orchestr"

// planBatch bounds the changes one planning pass reads.
const planBatch = 20_000

// Planner turns pending changes into units of work.
type Planner struct {
	st      *store.Store
	matcher matcher
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
}

// unit is the operations of one (server, backend, async) in one script.
type unit struct {
	server  *ent.Server
	backend *Backend
	async   bool
	ops     []operation
}

// Plan plans every pending change, in change order, and returns the ids of
// the servers that got units to run.
func (p *Planner) Plan(ctx context.Context) ([]int, error) {
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	var servers []int
	for {
		var n int
		err := p.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			var err error
			n, servers, err = p.plan(ctx, tx, servers)
			return err
		})
		if err != nil || n < planBatch {
			return servers, err
		}
	}
}

func (p *Planner) plan(ctx context.Context, tx *ent.Tx, servers []int) (int, []int, error) {
	if p.st.Dialect == "postgres" {
		// One planner at a time across processes: units get their ids, and
		// so their place in a server's lane, in the order of the changes
		// (SQLite's write lock does the same there).
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", planLock); err != nil {
			return 0, servers, err
		}
	}
	q := tx.Change.Query().Where(change.PlannedAtIsNil()).Order(ent.Asc(change.FieldID)).Limit(planBatch)
	changes, err := q.All(ctx)
	if err != nil || len(changes) == 0 {
		return 0, servers, err
	}
	ops, err := p.collect(ctx, tx, changes)
	if err != nil {
		return 0, servers, err
	}
	units, skipped, err := p.route(ctx, tx, ops)
	if err != nil {
		return 0, servers, err
	}
	now := time.Now().UTC()
	rows := make([]*ent.OperationCreate, 0, len(skipped))
	for _, op := range skipped {
		op.obj.Snapshot = withoutSecrets(op.obj.Model, op.obj.Snapshot) // final already
		rows = append(rows, opRow(tx, op, now).SetState(StateSkipped))
	}
	for i := 0; i < len(rows); i += 500 {
		if err := tx.Operation.CreateBulk(rows[i:min(i+500, len(rows))]...).Exec(ctx); err != nil {
			return 0, servers, err
		}
	}
	recorded, err := p.record(ctx, tx, units, 0, nil, false)
	if err != nil {
		return 0, servers, err
	}
	for _, u := range recorded {
		if u.State == StateReceived && !slices.Contains(servers, u.Server.ID) {
			servers = append(servers, u.Server.ID)
		}
	}
	ids := make([]int, len(changes))
	var secret []int
	for i, c := range changes {
		ids[i] = c.ID
		if hasSecrets(c.Model, c.Snapshot) {
			secret = append(secret, c.ID)
		}
	}
	for i := 0; i < len(ids); i += 1000 {
		if err := tx.Change.Update().Where(change.IDIn(ids[i:min(i+1000, len(ids))]...)).SetPlannedAt(now).Exec(ctx); err != nil {
			return 0, servers, err
		}
	}
	// the operations and scripts planned hold what the units need
	for i := 0; i < len(secret); i += 1000 {
		batch := secret[i:min(i+1000, len(secret))]
		if err := scrubSnapshots(ctx, tx, p.st.Dialect, "changes", func() *entsql.Predicate {
			return entsql.InInts("id", batch...)
		}); err != nil {
			return 0, servers, err
		}
	}
	return len(changes), servers, nil
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
	return units, skipped, nil
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
		if u.backend.Load == nil {
			continue
		}
		for i := range u.ops {
			op := &u.ops[i]
			if op.action == ActionDelete {
				continue
			}
			k := key{u.backend.Name, op.obj.Model, op.obj.ID}
			l, ok := done[k]
			if !ok {
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

// render writes a unit's script: prepare, every operation's action, commit.
func render(u *unit) rendered {
	s := NewScript()
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
	srv := Server{ID: u.server.ID, Name: u.server.Name, Address: u.server.Address, Settings: u.server.Settings}
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
