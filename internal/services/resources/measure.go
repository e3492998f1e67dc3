package resources

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/mailer"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/monitorsample"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/shopspring/decimal"
)

// Round is what one measuring of a resource did.
type Round struct {
	Samples int      `json:"samples" doc:"How many samples were stored."`
	Objects int      `json:"objects" doc:"How many objects' usage was computed."`
	Failed  []string `json:"failed" doc:"The units that stored nothing, and why."`
}

// Measure runs r's monitors on every server their routes pick, one unit
// per server and monitor, waiting up to wait; stores what they printed as
// samples at now, and computes the usage of each object of r's model from
// them. A unit that fails, or whose output holds a line that is not
// "<object id> <value>", stores nothing (its log says why) and staff are
// told.
func Measure(ctx context.Context, st *store.Store, ex *orchestration.Executor, r *ent.Resource, now time.Time, wait time.Duration) (Round, error) {
	return measure(ctx, st, ex, r, 0, now, wait)
}

// measure measures every object of r's model, or only object (not 0).
func measure(ctx context.Context, st *store.Store, ex *orchestration.Executor, r *ent.Resource, object int, now time.Time, wait time.Duration) (Round, error) {
	sys := viewer.System(ctx, viewer.ChannelSystem)
	var round Round
	only := map[string][]int{} // per monitor, the objects it measures for object
	for _, name := range r.Monitors {
		mon, ok := monitorOf(name)
		if !ok {
			round.Failed = append(round.Failed, fmt.Sprintf("%s: no such monitor", name))
			continue
		}
		var ids []int
		if object != 0 {
			var err error
			if ids, err = monitored(sys, st, r, mon.Backend.Model, object); err != nil {
				return round, err
			}
			if len(ids) == 0 {
				continue
			}
			only[name] = ids
		}
		since, err := lastSample(sys, st, name)
		if err != nil {
			return round, err
		}
		units, err := ex.Orchestrate(sys, orchestration.Selection{Model: mon.Backend.Model, Backend: name, Action: ActionMonitor, IDs: ids,
			Args: map[string]string{"since": strconv.FormatInt(since.Unix(), 10), "until": strconv.FormatInt(now.Unix(), 10)}}, false)
		if err != nil {
			return round, err
		}
		var logIDs []int
		for _, u := range units {
			if u.LogID != 0 {
				logIDs = append(logIDs, u.LogID)
			}
		}
		if len(logIDs) == 0 {
			continue
		}
		wctx, cancel := context.WithTimeout(sys, wait)
		logs, err := ex.Await(wctx, logIDs)
		cancel()
		if err != nil {
			return round, err
		}
		for _, l := range logs {
			values, err := ParseOutput(l.Stdout)
			switch {
			case l.State != orchestration.StateSuccess:
				err = fmt.Errorf("the unit ended %s", l.State)
			case err != nil:
				// its exit said success; what it printed says otherwise
				err = fmt.Errorf("%s printed %w", name, err)
				if uerr := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
					return tx.ExecutionLog.UpdateOneID(l.ID).SetState(orchestration.StateFailure).SetError(err.Error()).Exec(ctx)
				}); uerr != nil {
					return round, uerr
				}
			}
			if err != nil {
				round.Failed = append(round.Failed, fmt.Sprintf("log %d (%s on server %d): %v", l.ID, name, l.ServerID, err))
				continue
			}
			if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
				builders := make([]*ent.MonitorSampleCreate, 0, len(values))
				for id, v := range values {
					builders = append(builders, tx.MonitorSample.Create().SetMonitor(name).SetObjectID(id).SetCreatedAt(now).SetValue(v))
				}
				return tx.MonitorSample.CreateBulk(builders...).Exec(ctx)
			}); err != nil {
				return round, err
			}
			round.Samples += len(values)
		}
	}
	if len(round.Failed) > 0 {
		mailer.Tell(sys, fmt.Sprintf("[Orchestra] measuring %s of %s stored nothing for %d units", r.Name, r.Model, len(round.Failed)),
			strings.Join(round.Failed, "\n"))
	}
	if object != 0 && len(only) == 0 {
		return round, nil // nothing of it to measure
	}
	n, crossed, err := computeUsage(sys, st, r, now, only)
	round.Objects = n
	if err == nil && r.OnExceed == ExceedDisable && len(crossed) > 0 {
		err = enforce(sys, ex, r, crossed)
	}
	return round, err
}

// lastSample is when monitor last stored samples (the zero Unix time if
// never): the window of a counter's object that has no sample of its own
// starts there (one that has starts at its own last sample).
func lastSample(ctx context.Context, st *store.Store, monitor string) (time.Time, error) {
	s, err := st.MonitorSample.Query().Where(monitorsample.Monitor(monitor)).Order(ent.Desc(monitorsample.FieldCreatedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return time.Unix(0, 0).UTC(), nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return s.CreatedAt, nil
}

// computeUsage sets the used value of each object of r's model that some
// monitor of r measured, from the samples its aggregation reads: a
// monitored object is the object itself (a system user's disk) or, for an
// account's resource, one of its account's.
func computeUsage(ctx context.Context, st *store.Store, r *ent.Resource, now time.Time, only map[string][]int) (int, map[int]bool, error) {
	scale, err := Scale(r.Scale)
	if err != nil {
		return 0, nil, err
	}
	agg := Aggregations[r.Aggregation]
	perObject := map[int][]Sample{}
	names := map[string]string{} // "Model id" → the object's name
	account := map[int]int{}     // a resource object's account
	for _, name := range r.Monitors {
		mon, ok := monitorOf(name)
		if !ok {
			continue
		}
		q := st.MonitorSample.Query().Where(monitorsample.Monitor(name), monitorsample.CreatedAtGTE(agg.Since(now)))
		if r.Aggregation == "last" { // each object's latest sample only, not all it ever had
			q.Where(func(s *sql.Selector) {
				s.Where(sql.ExprP(fmt.Sprintf(`%s = (SELECT MAX(latest.created_at) FROM %s latest WHERE latest.monitor = %s AND latest.object_id = %s)`,
					s.C(monitorsample.FieldCreatedAt), monitorsample.Table, s.C(monitorsample.FieldMonitor), s.C(monitorsample.FieldObjectID))))
			})
		}
		if len(only) > 0 {
			ids, ok := only[name]
			if !ok {
				continue
			}
			q.Where(monitorsample.ObjectIDIn(ids...))
		}
		samples, err := q.All(ctx)
		if err != nil {
			return 0, nil, err
		}
		owners, err := ownersOf(ctx, st, mon.Backend.Model, samples, names)
		if err != nil {
			return 0, nil, err
		}
		for _, s := range samples {
			acc, known := owners[s.ObjectID]
			if !known {
				continue // an object since deleted
			}
			object := s.ObjectID
			if r.Model == "Account" {
				object = acc
			} else if r.Model != mon.Backend.Model {
				continue
			}
			account[object] = acc
			perObject[object] = append(perObject[object], Sample{Object: s.ObjectID, At: s.CreatedAt, Value: s.Value})
		}
	}
	var crossed []string
	over := map[int]bool{} // the objects that crossed: true went over
	err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		crossed, over = nil, map[int]bool{}
		for chunk := range slices.Chunk(slices.Sorted(maps.Keys(perObject)), 500) {
			rows, err := tx.ResourceData.Query().Where(resourcedata.ResourceID(r.ID), resourcedata.ObjectIDIn(chunk...)).All(ctx)
			if err != nil {
				return err
			}
			known := make(map[int]*ent.ResourceData, len(rows))
			for _, d := range rows {
				known[d.ObjectID] = d
			}
			var added []*ent.ResourceDataCreate
			for _, object := range chunk {
				used := agg.Usage(perObject[object], now).DivRound(scale, 3)
				d, found := known[object]
				var allocated *int
				was := false
				if found {
					allocated, was = d.Allocated, d.Exceeded
				} else if allocated, err = startingAllocation(ctx, tx, r, object); err != nil {
					return err
				}
				exceeds := allocated != nil && used.GreaterThan(decimal.NewFromInt(int64(*allocated)))
				if found {
					err = tx.ResourceData.UpdateOne(d).SetUsed(used).SetUpdatedAt(now).SetExceeded(exceeds).Exec(store.KeepVersion(ctx))
				} else {
					added = append(added, tx.ResourceData.Create().SetResourceID(r.ID).SetObjectID(object).SetAccountID(account[object]).
						SetUsed(used).SetUpdatedAt(now).SetNillableAllocated(allocated).SetExceeded(exceeds))
				}
				if err != nil {
					return err
				}
				if exceeds != was {
					line, err := recordCrossing(ctx, tx, r, object, account[object], names[fmt.Sprintf("%s %d", r.Model, object)], used, allocated, exceeds, now)
					if err != nil {
						return err
					}
					crossed, over[object] = append(crossed, line), exceeds
				}
			}
			if len(added) > 0 {
				if err := tx.ResourceData.CreateBulk(added...).Exec(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil && len(crossed) > 0 && r.OnExceed != ExceedNothing {
		mailer.Tell(ctx, fmt.Sprintf("[Orchestra] %s of %s: %d objects crossed their allocation", r.Name, r.Model, len(crossed)), strings.Join(crossed, "\n"))
	}
	return len(perObject), over, err
}

// recordCrossing writes, in the object's history, that its usage of r went
// over its allocation or came back under it: once per crossing, as the
// data's exceeded flag remembers which side it was on.
func recordCrossing(ctx context.Context, tx *ent.Tx, r *ent.Resource, object, account int, name string, used decimal.Decimal, allocated *int, over bool, now time.Time) (string, error) {
	if name == "" {
		name = fmt.Sprintf("%s %d", r.Model, object)
	}
	state, was := "exceeded", "within"
	if !over {
		state, was = was, state
	}
	usage := fmt.Sprintf("%s %s, none allocated", used, r.Unit)
	if allocated != nil {
		usage = fmt.Sprintf("%s of %d %s", used, *allocated, r.Unit)
	}
	err := tx.History.Create().SetTime(now).SetActor("system").SetChannel(viewer.ChannelSystem).SetAction(audit.ActionUpdate).
		SetObjectType(r.Model).SetObjectID(object).SetObjectRepr(name).SetAccountID(account).
		SetChanges(map[string]any{"resources." + r.Name: map[string]any{"old": was, "new": state}, "resources." + r.Name + ".used": map[string]any{"new": usage}}).
		Exec(ctx)
	return fmt.Sprintf("%s %s: %s (%s)", r.Model, name, state, usage), err
}

// ownersOf gives each sampled object of model that still exists its
// account (an account its own id) and adds its name to names.
func ownersOf(ctx context.Context, st *store.Store, model string, samples []*ent.MonitorSample, names map[string]string) (map[int]int, error) {
	meta := ent.Meta[model]
	owner := meta.Owner
	if owner == "" || meta.Repr == "" {
		return nil, fmt.Errorf("resources: %s has no owning account or no name", model)
	}
	out := map[int]int{}
	rows, err := st.DB.QueryContext(ctx, fmt.Sprintf(`SELECT id, "%s", "%s" FROM "%s"`, owner, meta.Repr, meta.Table))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sampled := map[int]bool{}
	for _, s := range samples {
		sampled[s.ObjectID] = true
	}
	for rows.Next() {
		var id, acc int
		var name string
		if err := rows.Scan(&id, &acc, &name); err != nil {
			return nil, err
		}
		if sampled[id] {
			out[id] = acc
			names[fmt.Sprintf("%s %d", model, id)], names[fmt.Sprintf("Account %d", acc)] = name, ""
		}
	}
	return out, rows.Err()
}

// monitored are the objects of model a monitor measures for object of r:
// the object itself, or, for an account's resource, the account's objects.
func monitored(ctx context.Context, st *store.Store, r *ent.Resource, model string, object int) ([]int, error) {
	if r.Model != "Account" {
		if model != r.Model {
			return nil, nil
		}
		return []int{object}, nil
	}
	meta := ent.Meta[model]
	rows, err := st.DB.QueryContext(ctx, fmt.Sprintf(`SELECT id FROM "%s" WHERE "%s" = %d`, meta.Table, meta.Owner, object))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
