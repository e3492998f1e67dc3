package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/metricstorage"
	"github.com/orchestra-panel/orchestra/internal/store/ent/order"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resource"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/orchestra-panel/orchestra/internal/store/ent/service"
)

// Orders follow the objects services bill: the "billing.orders" consumer of
// the change stream reads every change of a billable model (and of
// services) and, in the transaction that moves its cursor, opens an order
// for an object that starts to match an active service, refreshes the
// order of one that still does (its metric, description and name), and
// cancels the order of one that stops matching or is deleted. A crash
// between a change and its order loses nothing: the batch comes again.

// What an object's order went through (reference §4.1).
const (
	Created   = "created"
	Updated   = "updated"
	Cancelled = "cancelled"
)

// ConsumerName is the orders consumer's cursor.
const ConsumerName = "billing.orders"

// MetricError is how far a metric must move for a new sample (an absolute
// difference, as the original reads it).
var MetricError = settings.String("ORDERS_METRIC_ERROR", "0.05",
	"How much an order's metric must change, up or down, to be kept as a new value rather than as the last one read again.",
	settings.Validator(func(v any) error {
		d, err := decimal.NewFromString(v.(string))
		if err == nil && d.IsNegative() {
			err = errors.New("negative")
		}
		return err
	}))

// IgnoreAccountTypes are the account types whose orders are ignored by
// services that ignore superusers; "superuser" stands for superusers.
var IgnoreAccountTypes = settings.StringList("SERVICES_IGNORE_ACCOUNT_TYPE", []string{"superuser", "STAFF", "FRIEND"},
	"The account types whose orders services with ignore_superusers ignore (superuser: accounts that are superusers).")

// OrderChange is what syncing did, or would do, to one order.
type OrderChange struct {
	Order  *ent.Order
	Action string
}

func init() {
	orchestration.RegisterConsumer(orchestration.Consumer{Name: ConsumerName, Models: append(Billable(), "Service"), Handle: handleChanges})
}

// handleChanges brings the orders of the changed objects up to date, each
// object as it is now (so the order of changes within a batch does not
// matter), dated by its last change; a changed service goes over all the
// objects of its model.
func handleChanges(ctx context.Context, tx *ent.Tx, changes []*ent.Change) error {
	touched := map[string]map[int]time.Time{}
	var services []int
	for _, c := range changes {
		if c.Model == "Service" {
			// what decides the orders: a price does not
			if len(c.Fields) == 0 || slices.ContainsFunc(c.Fields, func(f string) bool {
				return slices.Contains([]string{"match", "metric", "order_description", "is_active"}, f)
			}) {
				services = append(services, c.ObjectID)
			}
			continue
		}
		if touched[c.Model] == nil {
			touched[c.Model] = map[int]time.Time{}
		}
		touched[c.Model][c.ObjectID] = c.CreatedAt
	}
	dialect := tx.Dialect()
	for _, model := range slices.Sorted(maps.Keys(touched)) {
		if _, err := syncObjects(ctx, tx, dialect, model, touched[model], nil); err != nil {
			return err
		}
	}
	for _, id := range slices.Compact(slices.Sorted(slices.Values(services))) {
		s, err := tx.Service.Get(ctx, id)
		if ent.IsNotFound(err) {
			continue // deleted: its orders went with it
		} else if err != nil {
			return err
		}
		if s.IsActive {
			if _, err := UpdateOrders(ctx, tx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// UpdateOrders brings every order of the service s up to date with the
// objects of its model as they are now: the "Update orders" of staff, and
// what a service's creation or change does.
func UpdateOrders(ctx context.Context, tx *ent.Tx, s *ent.Service) ([]OrderChange, error) {
	meta := ent.Meta[s.Model]
	var ids []int
	rows, err := tx.QueryContext(ctx, `SELECT "id" FROM "`+meta.Table+`" ORDER BY "id"`)
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
	// and the objects deleted since their orders were opened
	// (found in memory: a list of every object would pass SQLite's
	// limit of variables)
	open, err := tx.Order.Query().Where(order.ServiceID(s.ID), active(time.Now())).Select(order.FieldObjectID).Ints(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	at := make(map[int]time.Time, len(ids)+len(open))
	for _, id := range append(ids, open...) {
		at[id] = now
	}
	var out []OrderChange
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(at)), 500) {
		part := make(map[int]time.Time, len(chunk))
		for _, id := range chunk {
			part[id] = now
		}
		done, err := syncObjects(ctx, tx, tx.Dialect(), s.Model, part, []*ent.Service{s})
		if err != nil {
			return nil, err
		}
		out = append(out, done...)
	}
	return out, nil
}

// active orders are not cancelled, or cancelled after now.
func active(now time.Time) func(*sql.Selector) {
	return order.Or(order.CancelledOnIsNil(), order.CancelledOnGT(period.Date(now)))
}

// program is a service's compiled expressions.
type program struct {
	match, metric, description *vm.Program
}

// compiled caches programs by model and expressions (what they are
// compiled from: a service's id and version may name another service in
// another store).
var compiled = struct {
	sync.Mutex
	progs map[[4]string]*program
}{progs: map[[4]string]*program{}}

func compiledGet(key [4]string) (*program, bool) {
	compiled.Lock()
	defer compiled.Unlock()
	p, ok := compiled.progs[key]
	return p, ok
}

func compiledPut(key [4]string, p *program) {
	compiled.Lock()
	defer compiled.Unlock()
	compiled.progs[key] = p
}

func compile(s *ent.Service) (*program, error) {
	key := [4]string{s.Model, s.Match, s.Metric, s.OrderDescription}
	if p, ok := compiledGet(key); ok {
		return p, nil
	}
	p := &program{}
	for _, e := range []struct {
		text string
		to   **vm.Program
		as   expr.Option
	}{{s.Match, &p.match, expr.AsBool()}, {s.Metric, &p.metric, expr.AsFloat64()}, {s.OrderDescription, &p.description, expr.AsKind(reflect.String)}} {
		if strings.TrimSpace(e.text) == "" {
			continue
		}
		prog, err := orchestration.CompileObject(s.Model, e.text, e.as)
		if err != nil {
			return nil, err
		}
		*e.to = prog
	}
	compiledPut(key, p)
	return p, nil
}

// syncObjects brings the orders of services (nil: the model's active
// services) for the objects of model up to date; at dates each object's
// change (a registration, a cancellation).
func syncObjects(ctx context.Context, tx *ent.Tx, dialect, model string, at map[int]time.Time, services []*ent.Service) ([]OrderChange, error) {
	if services == nil {
		var err error
		if services, err = tx.Service.Query().Where(service.Model(model), service.IsActive(true)).Order(ent.Asc(service.FieldID)).All(ctx); err != nil {
			return nil, err
		}
	}
	if len(services) == 0 || len(at) == 0 {
		return nil, nil
	}
	ids := slices.Sorted(maps.Keys(at))
	snaps, err := orchestration.Snapshots(ctx, tx, dialect, model, ids)
	if err != nil {
		return nil, err
	}
	meta := ent.Meta[model]
	owner := func(snap map[string]any) int {
		id, _ := snap[meta.Owner].(int)
		return id
	}
	accountIDs := map[int]bool{}
	for _, snap := range snaps {
		accountIDs[owner(snap)] = true
	}
	accounts, err := tx.Account.Query().Where(account.IDIn(slices.Collect(maps.Keys(accountIDs))...)).All(ctx)
	if err != nil {
		return nil, err
	}
	accountByID := map[int]*ent.Account{}
	for _, a := range accounts {
		accountByID[a.ID] = a
	}
	var usage map[int]map[string]orchestration.Usage
	if slices.ContainsFunc(services, func(s *ent.Service) bool {
		return strings.Contains(s.Match+s.Metric+s.OrderDescription, "resources")
	}) {
		if usage, err = resourcesOf(ctx, tx, model, ids); err != nil {
			return nil, err
		}
	}
	svcIDs := make([]int, len(services))
	for i, s := range services {
		svcIDs[i] = s.ID
	}
	now := time.Now()
	open, err := tx.Order.Query().Where(order.Model(model), order.ObjectIDIn(ids...), order.ServiceIDIn(svcIDs...), active(now)).
		Order(ent.Asc(order.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	var lastMetric map[int]*ent.MetricStorage
	if slices.ContainsFunc(services, func(s *ent.Service) bool { return strings.TrimSpace(s.Metric) != "" }) {
		if lastMetric, err = lastMetrics(ctx, tx, open); err != nil {
			return nil, err
		}
	}
	type key struct{ service, object int }
	orders := map[key][]*ent.Order{}
	for _, o := range open {
		k := key{o.ServiceID, o.ObjectID}
		orders[k] = append(orders[k], o)
	}
	var out []OrderChange
	for _, s := range services {
		p, err := compile(s)
		if err != nil { // saved before a schema change broke it: it opens nothing until fixed
			slog.WarnContext(ctx, "billing: a service's expression no longer compiles", "service", s.Description, "err", err)
			continue
		}
		for _, id := range ids {
			day := period.Date(at[id])
			mine := orders[key{s.ID, id}]
			snap, exists := snaps[id]
			var res map[string]orchestration.Usage
			if usage != nil {
				res = usage[id]
			}
			matches := false
			if exists {
				if matches, err = p.matches(model, snap, res); err != nil {
					slog.WarnContext(ctx, "billing: a service's match failed on an object", "service", s.Description, "model", model, "object", id, "err", err)
					continue
				}
			}
			if !matches {
				for _, o := range mine {
					o, err := cancel(ctx, tx, s, o, day)
					if err != nil {
						return nil, err
					}
					out = append(out, OrderChange{o, Cancelled})
				}
				continue
			}
			action := Updated
			if len(mine) == 0 {
				acct := accountByID[owner(snap)]
				if acct == nil {
					continue // an object of no account opens no order
				}
				o, err := tx.Order.Create().SetAccountID(acct.ID).SetServiceID(s.ID).SetModel(model).SetObjectID(id).
					SetRegisteredOn(day).SetIgnore(ignored(s, acct)).Save(ctx)
				if err != nil {
					return nil, err
				}
				mine, action = []*ent.Order{o}, Created
			}
			// one active order per object and service: should two ever be
			// open, the oldest stays and the others are cancelled
			for _, extra := range mine[1:] {
				slog.WarnContext(ctx, "billing: an object had two active orders of a service; the newer is cancelled", "service", s.Description, "order", extra.ID)
				if _, err := cancel(ctx, tx, s, extra, day); err != nil {
					return nil, err
				}
			}
			o, err := refresh(ctx, tx, s, p, mine[0], lastMetric[mine[0].ID], snap, res, now)
			if err != nil {
				return nil, err
			}
			out = append(out, OrderChange{o, action})
		}
	}
	return out, nil
}

func (p *program) matches(model string, snap map[string]any, res map[string]orchestration.Usage) (bool, error) {
	if p.match == nil {
		return true, nil
	}
	v, err := orchestration.RunObject(p.match, model, snap, res)
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

// ignored says whether orders of the account are ignored from the start.
func ignored(s *ent.Service, a *ent.Account) bool {
	if !s.IgnoreSuperusers {
		return false
	}
	types := IgnoreAccountTypes.Get()
	return a.IsSuperuser && slices.Contains(types, "superuser") || slices.Contains(types, a.Type)
}

// cancel cancels o on day; an order cancelled within the service's ignore
// period (a trial) is ignored.
func cancel(ctx context.Context, tx *ent.Tx, s *ent.Service, o *ent.Order, day time.Time) (*ent.Order, error) {
	reg := period.Date(o.RegisteredOn)
	if day.Before(reg) {
		day = reg
	}
	up := tx.Order.UpdateOne(o).SetCancelledOn(day)
	if !day.After(trialEnd(s.IgnorePeriod, reg)) {
		up.SetIgnore(true)
	}
	return up.Save(ctx)
}

// trialEnd is the last day of an ignore period from reg (reg itself when
// there is none).
func trialEnd(ignore string, reg time.Time) time.Time {
	switch ignore {
	case "ONE_DAY":
		return reg.AddDate(0, 0, 1)
	case "TWO_DAYS":
		return reg.AddDate(0, 0, 2)
	case "TEN_DAYS":
		return reg.AddDate(0, 0, 10)
	case "ONE_MONTH":
		return period.AddMonths(reg, 1)
	}
	return reg.AddDate(0, 0, -1) // no trial: even a same-day cancellation counts
}

// refresh stores o's metric (last: its latest sample, nil when none) and
// brings its description and object's name up to date.
func refresh(ctx context.Context, tx *ent.Tx, s *ent.Service, p *program, o *ent.Order, last *ent.MetricStorage, snap map[string]any, res map[string]orchestration.Usage, now time.Time) (*ent.Order, error) {
	model := s.Model
	repr := ""
	if col := ent.Meta[model].Repr; col != "" {
		repr = fmt.Sprint(snap[col])
	}
	desc := s.Description + ": " + repr
	if p.description != nil {
		v, err := orchestration.RunObject(p.description, model, snap, res)
		if err != nil {
			slog.WarnContext(ctx, "billing: a service's order description failed on an object", "service", s.Description, "object", o.ObjectID, "err", err)
		} else {
			desc = v.(string)
		}
	}
	desc, repr = Clip(desc, 256), Clip(repr, 256)
	if p.metric != nil {
		v, err := orchestration.RunObject(p.metric, model, snap, res)
		if err != nil {
			slog.WarnContext(ctx, "billing: a service's metric failed on an object", "service", s.Description, "object", o.ObjectID, "err", err)
		} else if err := storeMetric(ctx, tx, o.ID, last, decimal.NewFromFloat(v.(float64)).RoundBank(2), now); err != nil {
			return nil, err
		}
	}
	if o.Description == desc && o.ObjectRepr == repr {
		return o, nil
	}
	return tx.Order.UpdateOne(o).SetDescription(desc).SetObjectRepr(repr).Save(ctx)
}

// Clip cuts s to n characters, the length of the text column it goes to.
func Clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// StoreMetric keeps value as order's metric read at now: one row a day (the
// day's last value wins), a new row when the value moved by more than
// ORDERS_METRIC_ERROR since the last or fell to zero, else the last row
// read again (reference §2.3).
func StoreMetric(ctx context.Context, tx *ent.Tx, orderID int, value decimal.Decimal, now time.Time) error {
	last, err := tx.MetricStorage.Query().Where(metricstorage.OrderID(orderID)).Order(ent.Desc(metricstorage.FieldID)).First(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return err
	}
	return storeMetric(ctx, tx, orderID, last, value, now)
}

// storeMetric is StoreMetric with the order's latest sample already read.
func storeMetric(ctx context.Context, tx *ent.Tx, orderID int, last *ent.MetricStorage, value decimal.Decimal, now time.Time) error {
	threshold, _ := decimal.NewFromString(MetricError.Get())
	switch {
	case last == nil:
		return tx.MetricStorage.Create().SetOrderID(orderID).SetValue(value).SetCreatedOn(period.Date(now)).SetUpdatedOn(now).Exec(ctx)
	case period.Date(last.CreatedOn).Equal(period.Date(now)):
		return tx.MetricStorage.UpdateOne(last).SetValue(value).SetUpdatedOn(now).Exec(ctx)
	case value.Sub(last.Value).Abs().GreaterThan(threshold) || value.IsZero() && last.Value.IsPositive():
		return tx.MetricStorage.Create().SetOrderID(orderID).SetValue(value).SetCreatedOn(period.Date(now)).SetUpdatedOn(now).Exec(ctx)
	default:
		return tx.MetricStorage.UpdateOne(last).SetUpdatedOn(now).Exec(ctx)
	}
}

// lastMetrics reads the latest sample of each of orders, one query per 500.
func lastMetrics(ctx context.Context, tx *ent.Tx, orders []*ent.Order) (map[int]*ent.MetricStorage, error) {
	out := map[int]*ent.MetricStorage{}
	for chunk := range slices.Chunk(orders, 500) {
		ids := make([]int, len(chunk))
		for i, o := range chunk {
			ids[i] = o.ID
		}
		rows, err := tx.MetricStorage.Query().Where(func(s *sql.Selector) {
			t := sql.Table(metricstorage.Table)
			latest := sql.Select(sql.Max(t.C(metricstorage.FieldID))).From(t).
				Where(sql.InInts(t.C(metricstorage.FieldOrderID), ids...)).GroupBy(t.C(metricstorage.FieldOrderID))
			s.Where(sql.In(s.C(metricstorage.FieldID), latest))
		}).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.OrderID] = r
		}
	}
	return out, nil
}

// resourcesOf reads the resources of model's objects ids by name, every
// resource of the model present (0 until measured).
func resourcesOf(ctx context.Context, tx *ent.Tx, model string, ids []int) (map[int]map[string]orchestration.Usage, error) {
	rs, err := tx.Resource.Query().Where(resource.Model(model)).All(ctx)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	names := map[int]string{}
	out := make(map[int]map[string]orchestration.Usage, len(ids))
	for _, id := range ids {
		m := make(map[string]orchestration.Usage, len(rs))
		for _, r := range rs {
			m[r.Name] = orchestration.Usage{}
		}
		out[id] = m
	}
	rids := make([]int, len(rs))
	for i, r := range rs {
		rids[i], names[r.ID] = r.ID, r.Name
	}
	for chunk := range slices.Chunk(ids, 500) {
		data, err := tx.ResourceData.Query().Where(resourcedata.ResourceIDIn(rids...), resourcedata.ObjectIDIn(chunk...)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range data {
			u := orchestration.Usage{}
			if d.Used != nil {
				u.Used = d.Used.InexactFloat64()
			}
			if d.Allocated != nil {
				u.Allocated = float64(*d.Allocated)
			}
			out[d.ObjectID][names[d.ResourceID]] = u
		}
	}
	return out, nil
}

// Preview runs f in a transaction that is rolled back: what f reports is
// what it would do.
func Preview(ctx context.Context, st *store.Store, f func(ctx context.Context, tx *ent.Tx) error) error {
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		if err := f(ctx, tx); err != nil {
			return err
		}
		return errPreview
	})
	if errors.Is(err, errPreview) {
		return nil
	}
	return err
}

var errPreview = errors.New("billing: a preview, rolled back")
