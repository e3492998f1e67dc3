package orchestration

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/expr-lang/expr"

	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	entop "github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/ent/route"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Directed orchestration applies objects as they are now, outside of the
// change flow: a server's full resync, the orchestrate command, a custom
// action, the retry of a log. Routes still decide which servers an object
// goes to (a resync must not send a MySQL database to a PostgreSQL server);
// the selection can only narrow them.

// Selection chooses objects and where to apply them.
type Selection struct {
	Model    string // ent type name; "" means every model a backend serves
	IDs      []int  // only these objects; none means all
	Filter   string // expr-lang expression over the model's fields, as a route's match
	Backend  string // only this backend
	ServerID int    // only units for this server
	Action   string // "save" when empty
	// Args are a custom action's arguments, passed to Apply as Object.Args;
	// the caller checks them.
	Args map[string]string
}

// Unit is a unit of work directed orchestration planned.
type Unit struct {
	LogID      int // 0 for a dry run
	Server     *ent.Server
	Backend    string
	State      string // RECEIVED, or NOTHING / ERROR when there is nothing to run
	Problem    string
	Script     string
	Operations int
}

// Orchestrate plans the selection into units; unless dryRun, it records
// them as logs in their servers' lanes (after the units already there).
//
// Who may ask is decided here, for every caller: staff and the system may
// plan anything; an account's user only a custom action on its own objects,
// named by id (another account's object is not found, as a missing one). A
// custom action's arguments pass its backend's Check, whoever asks.
func (p *Planner) Orchestrate(ctx context.Context, sel Selection, dryRun bool) ([]Unit, error) {
	asker := ctx
	v, ok := viewer.From(ctx)
	if !ok {
		return nil, authz.ErrAnonymous
	}
	if sel.Action == "" {
		sel.Action = ActionSave
	}
	custom := sel.Action != ActionSave && sel.Action != ActionDelete
	if !v.Unrestricted() && (!custom || len(sel.IDs) == 0 || sel.Filter != "" || sel.ServerID != 0 || dryRun) {
		return nil, &authz.Forbidden{Message: i18n.M("Only staff may apply objects again.")}
	}
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	backends, err := selectBackends(sel)
	if err != nil {
		return nil, err
	}
	var out []Unit
	err = p.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		out = nil
		if p.st.Dialect == "postgres" && !dryRun {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+planLockKey+")", planLock); err != nil {
				return err
			}
		}
		var ops []operation
		objs := map[string][]Object{}
		for _, b := range backends {
			list, ok := objs[b.Model]
			if !ok {
				if list, err = p.selectObjects(ctx, tx, b.Model, sel); err != nil {
					return err
				}
				if !v.Unrestricted() && !owned(v, b.Model, list, sel.IDs) {
					return &ent.NotFoundError{}
				}
				objs[b.Model] = list
			}
			for _, o := range list {
				o.Args = sel.Args
				if custom {
					if err := b.Check(asker, tx, sel.Action, o); err != nil {
						return err
					}
				}
				ops = append(ops, operation{backend: b, action: sel.Action, obj: o, owner: ownerOf(o)})
			}
		}
		units, _, err := p.route(ctx, tx, ops)
		if err != nil {
			return err
		}
		out, err = p.record(ctx, tx, units, sel.ServerID, nil, dryRun)
		return err
	})
	return out, err
}

// owned reports whether list holds every one of ids and each belongs to v's
// account.
func owned(v viewer.Viewer, model string, list []Object, ids []int) bool {
	owner := ent.Meta[model].Owner
	if owner == "" || len(list) != len(slices.Compact(slices.Sorted(slices.Values(ids)))) {
		return false
	}
	for _, o := range list {
		if o.Int(owner) != v.AccountID {
			return false
		}
	}
	return true
}

// record renders units (those for serverID only, when it is not 0), split
// to the size of a unit, and, unless dryRun, writes them as logs with their
// operations.
func (p *Planner) record(ctx context.Context, tx *ent.Tx, units []*unit, serverID int, retryOf *int, dryRun bool) ([]Unit, error) {
	if serverID != 0 {
		units = slices.DeleteFunc(units, func(u *unit) bool { return u.server.ID != serverID })
	}
	if err := load(ctx, tx, units); err != nil {
		return nil, err
	}
	drafts := compose(units)
	if !dryRun {
		return p.writeDrafts(ctx, tx, drafts, retryOf)
	}
	out := make([]Unit, len(drafts))
	for i, d := range drafts {
		out[i] = Unit{Server: d.u.server, Backend: d.u.backend.Name, State: d.r.state, Problem: d.r.problem,
			Script: d.r.script, Operations: len(d.u.ops)}
	}
	return out, nil
}

// writeDrafts writes drafts, in order, as new logs (ids ascending: their
// order in the lanes) or over the waiting logs they join, with their
// operations. A joined log is rewritten only while it still waits as it was
// read, and is still the last in its lane; else errReplanned.
func (p *Planner) writeDrafts(ctx context.Context, tx *ent.Tx, drafts []draft, retryOf *int) ([]Unit, error) {
	now := time.Now().UTC()
	out := make([]Unit, 0, len(drafts))
	// joined logs first: they are before the new ones in their lanes, and
	// rewrite checks that none is queued behind them
	drafts = slices.Clone(drafts)
	slices.SortStableFunc(drafts, func(a, b draft) int {
		return cmp.Compare(boolInt(a.joined == nil), boolInt(b.joined == nil))
	})
	for _, d := range drafts {
		u, r := d.u, d.r
		pu := Unit{Server: u.server, Backend: u.backend.Name, State: r.state, Problem: r.problem, Script: r.script, Operations: len(u.ops)}
		var logID int
		if d.joined != nil {
			if err := p.rewrite(ctx, tx, d, now); err != nil {
				return nil, err
			}
			logID = d.joined.logID
		} else {
			c := tx.ExecutionLog.Create().SetBackend(u.backend.Name).SetServerID(u.server.ID).
				SetState(r.state).SetAsync(u.async).SetScript(r.script).SetSecretScript(r.secretScript).
				SetError(r.problem).SetNillableRetryOf(retryOf).SetCreatedAt(now).SetUpdatedAt(now)
			if len(r.secrets) > 0 {
				c.SetSecrets(r.secrets)
			}
			log, err := c.Save(ctx)
			if err != nil {
				return nil, err
			}
			logID = log.ID
		}
		pu.LogID = logID
		// only a backend running in-process reads the snapshots then
		keep := u.backend.Exec != nil && r.state == StateReceived
		rows := make([]*ent.OperationCreate, 0, len(u.ops))
		for _, op := range u.ops {
			if op.id != 0 {
				continue // the joined log's already
			}
			if !keep {
				op.obj.Snapshot = withoutSecrets(op.obj.Model, op.obj.Snapshot)
			}
			rows = append(rows, opRow(tx, op, now).SetLogID(logID).SetServerID(u.server.ID).SetState(r.state))
		}
		for i := 0; i < len(rows); i += 500 {
			if err := tx.Operation.CreateBulk(rows[i:min(i+500, len(rows))]...).Exec(ctx); err != nil {
				return nil, err
			}
		}
		out = append(out, pu)
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rewrite puts a joined unit's new script in its log, on the condition that
// the log still waits untried (the executor starts a unit with the converse
// condition, so a unit is either joined or started), and that nothing has
// joined it or been queued behind it since it was read.
func (p *Planner) rewrite(ctx context.Context, tx *ent.Tx, d draft, now time.Time) error {
	j := d.joined
	upd := tx.ExecutionLog.Update().Where(executionlog.ID(j.logID), executionlog.State(StateReceived),
		executionlog.Attempts(0), executionlog.NextAttemptAtIsNil(), executionlog.RetryOfIsNil()).
		SetScript(d.r.script).SetSecretScript(d.r.secretScript).SetUpdatedAt(now)
	if len(d.r.secrets) > 0 {
		upd.SetSecrets(d.r.secrets)
	} else {
		upd.ClearSecrets()
	}
	n, err := upd.Save(ctx)
	if err != nil || n != 1 {
		return cmp.Or(err, errReplanned)
	}
	rows, err := tx.Operation.Query().Where(entop.LogID(j.logID)).Count(ctx)
	if err != nil || rows != j.rows {
		return cmp.Or(err, errReplanned)
	}
	behind, err := tx.ExecutionLog.Query().Where(executionlog.ServerID(d.u.server.ID),
		executionlog.StateIn(StateReceived, StateStarted), executionlog.IDNEQ(j.logID),
		func(s *entsql.Selector) {
			s.Where(entsql.P(func(b *entsql.Builder) {
				b.WriteString("COALESCE(" + s.C(executionlog.FieldRetryOf) + ", " + s.C(executionlog.FieldID) + ") > ").Arg(j.logID)
			}))
		}).Exist(ctx)
	if err != nil || behind {
		return cmp.Or(err, errReplanned)
	}
	return nil
}

// SelectionError is a selection naming something that does not exist or
// does not fit; Field is the selection field at fault.
type SelectionError struct{ Field, Message string }

func (e *SelectionError) Error() string { return e.Field + ": " + e.Message }

func selectBackends(sel Selection) ([]*Backend, error) {
	if sel.Backend != "" {
		if _, ok := Lookup(sel.Backend); !ok {
			return nil, &SelectionError{"backend", fmt.Sprintf("unknown backend %q", sel.Backend)}
		}
	}
	if sel.Model != "" && modelOf(sel.Model) == nil {
		return nil, &SelectionError{"model", fmt.Sprintf("unknown model %q", sel.Model)}
	}
	var out []*Backend
	for _, b := range Backends() {
		if (sel.Backend == "" || b.Name == sel.Backend) && (sel.Model == "" || b.Model == sel.Model) && b.Handles(sel.Action) {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return nil, &SelectionError{"action", fmt.Sprintf("no backend of the selection has the action %q", sel.Action)}
	}
	if sel.Filter != "" || len(sel.IDs) > 0 {
		for _, b := range out {
			if b.Model != out[0].Model {
				return nil, &SelectionError{"model", "a filter or object ids need one model"}
			}
		}
	}
	return out, nil
}

// selectObjects loads the selection's objects of one model, as they are now.
func (p *Planner) selectObjects(ctx context.Context, tx *ent.Tx, modelName string, sel Selection) ([]Object, error) {
	m := modelOf(modelName)
	ids := sel.IDs
	if len(ids) == 0 {
		query, args := entsql.Dialect(p.st.Dialect).Select("id").From(entsql.Table(m.table.Name)).OrderBy("id").Query()
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var filter func(Object) (bool, error)
	if sel.Filter != "" {
		prog, err := compileExpr(m, sel.Filter)
		if err != nil {
			return nil, &SelectionError{"filter", err.Error()}
		}
		filter = func(o Object) (bool, error) {
			v, err := m.value(o.Snapshot)
			if err != nil {
				return false, err
			}
			res, err := expr.Run(prog, matchEnv(m, v))
			if err != nil {
				return false, &SelectionError{"filter", err.Error()}
			}
			return res.(bool), nil
		}
	}
	var out []Object
	for i := 0; i < len(ids); i += 5000 {
		objs, err := p.objects(ctx, tx, modelName, ids[i:min(i+5000, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if filter != nil {
				ok, err := filter(o)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// ErrNotRetryable is returned for a log that has not finished.
var ErrNotRetryable = errors.New("only a finished log can be retried")

// Retry runs a finished log's operations again on its original server, in
// a new log: saves with the objects as they are now (a save of an object
// deleted since is dropped, its delete did or will do the rest), deletes
// from their stored snapshots.
func (p *Planner) Retry(ctx context.Context, logID int) (Unit, error) {
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	var out Unit
	err := p.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		if p.st.Dialect == "postgres" {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+planLockKey+")", planLock); err != nil {
				return err
			}
		}
		l, err := tx.ExecutionLog.Query().Where(executionlog.ID(logID)).Only(ctx)
		if err != nil {
			return err
		}
		if !Final(l.State) {
			return ErrNotRetryable
		}
		b, ok := Lookup(l.Backend)
		if !ok {
			return &SelectionError{"backend", fmt.Sprintf("backend %q is no longer registered", l.Backend)}
		}
		srv, err := tx.Server.Get(ctx, l.ServerID)
		if err != nil {
			return err
		}
		rows, err := tx.Operation.Query().Where(entop.LogID(logID)).Order(ent.Asc(entop.FieldID)).All(ctx)
		if err != nil {
			return err
		}
		u := &unit{server: srv, backend: b, async: l.Async}
		var left []string
		for _, r := range rows {
			obj := Object{Model: r.Model, ID: r.ObjectID, Repr: r.Repr, Snapshot: r.Snapshot}
			if r.Action == ActionDelete {
				taken, err := p.nameTaken(ctx, tx, b, srv.ID, obj)
				if err != nil {
					return err
				}
				if taken {
					left = append(left, fmt.Sprintf("delete %s %d %s", r.Model, r.ObjectID, r.Repr))
					continue
				}
			} else {
				now, err := p.objects(ctx, tx, r.Model, []int{r.ObjectID})
				if err != nil {
					return err
				}
				if len(now) == 0 {
					continue
				}
				obj = now[0]
			}
			obj.Args = r.Args
			op := operation{backend: b, action: r.Action, obj: obj, owner: ownerOf(obj)}
			if r.ChangeID != nil {
				op.changeID = *r.ChangeID
			}
			u.ops = append(u.ops, op)
		}
		why := ""
		if len(left) > 0 {
			why = "left out, another object has its name on the server now: " + strings.Join(left, ", ")
		}
		// a unit that was joined holds the operations later ones superseded
		u.ops, _ = merge(nil, u.ops)
		if len(u.ops) == 0 {
			out = Unit{Server: srv, Backend: b.Name, State: StateNothing, Problem: why}
			return nil
		}
		units, err := p.record(ctx, tx, []*unit{u}, 0, &l.ID, false)
		if err != nil {
			return err
		}
		out = units[0]
		if out.Problem == "" {
			out.Problem = why
		}
		return nil
	})
	return out, err
}

// nameTaken reports whether another object now has the name (the model's
// Repr field: a user name, a domain, a database) that obj had, and would go
// to the same server by b's route: a retried delete would remove that newer
// object's data there.
func (p *Planner) nameTaken(ctx context.Context, tx *ent.Tx, b *Backend, serverID int, obj Object) (bool, error) {
	field := ent.Meta[obj.Model].Repr
	name, ok := obj.Snapshot[field]
	if field == "" || !ok {
		return false, nil
	}
	query, args := entsql.Dialect(p.st.Dialect).Select("id").From(entsql.Table(ent.Meta[obj.Model].Table)).
		Where(entsql.And(entsql.EQ(field, name), entsql.NEQ("id", obj.ID))).Query()
	var ids []int
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return false, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return false, err
	}
	rt, err := tx.Route.Query().Where(route.Backend(b.Name), route.ServerID(serverID)).Only(ctx)
	if ent.IsNotFound(err) {
		return false, nil // no longer routed there: nothing will put the newer one there
	}
	if err != nil {
		return false, err
	}
	others, err := p.objects(ctx, tx, obj.Model, ids)
	if err != nil {
		return false, err
	}
	for _, o := range others {
		if ok, err := p.matcher.matches(b.Name, rt.Match, o); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// Orchestrate plans a selection (see Planner.Orchestrate) and starts the
// lanes that got units.
func (e *Executor) Orchestrate(ctx context.Context, sel Selection, dryRun bool) ([]Unit, error) {
	units, err := e.planner.Orchestrate(ctx, sel, dryRun)
	if err == nil && !dryRun {
		e.startUnits(units)
	}
	return units, err
}

// Retry runs a finished log again (see Planner.Retry) and starts its lane.
func (e *Executor) Retry(ctx context.Context, logID int) (Unit, error) {
	u, err := e.planner.Retry(ctx, logID)
	if err == nil {
		e.startUnits([]Unit{u})
	}
	return u, err
}

func (e *Executor) startUnits(units []Unit) {
	var started []int
	for _, u := range units {
		if u.LogID != 0 && u.State == StateReceived && !slices.Contains(started, u.Server.ID) {
			started = append(started, u.Server.ID)
			e.StartLane(u.Server.ID)
		}
	}
}
