package resources

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resource"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/shopspring/decimal"
)

// The actions of an enforcer backend: an object of its model went over its
// allocation of a resource that disables (exceeded), or came back under it
// (recovered). Object.Args["resource"] names the resource.
const (
	ActionExceeded  = "exceeded"
	ActionRecovered = "recovered"
)

// RegisterEnforcer registers b, whose Apply writes what an object of its
// model loses while it uses more than it is allocated (a database its
// users' INSERT and CREATE) and gets back when it recovers. A resource
// whose on_exceed is disable runs the enforcers of its model on each
// crossing; disable is refused for a model with none.
func RegisterEnforcer(b *orchestration.Backend) {
	b.Actions = []string{ActionExceeded, ActionRecovered}
	if b.Check == nil {
		b.Check = func(context.Context, *ent.Tx, string, orchestration.Object) error { return nil } // the panel's own arguments
	}
	orchestration.Register(b)
}

func hasEnforcer(model string) bool {
	for _, b := range orchestration.Backends() {
		if b.Model == model && b.Handles(ActionExceeded) {
			return true
		}
	}
	return false
}

// Exceeded reports whether object id of model is over its allocation of a
// resource that disables: its backends' save keeps what the enforcer took
// away (a database's grants) until it recovers.
func Exceeded(ctx context.Context, tx *ent.Tx, model string, id int) (bool, error) {
	return tx.ResourceData.Query().Where(resourcedata.ObjectID(id), resourcedata.Exceeded(true),
		resourcedata.HasResourceWith(resource.Model(model), resource.OnExceed(ExceedDisable), resource.IsActive(true))).Exist(ctx)
}

// An Allocation is where a model's backends read what an object is
// allocated: a mailbox's quota. Staff changing the object's allocation of
// a resource of that model change the field (through the store, so the
// backend applies it); the field's value is the allocation an object's
// usage starts with.
type Allocation struct {
	Model string
	// Unit is how many bytes one unit of the field holds (a quota in MiB:
	// 1<<20); a resource's allocation in its unit times its scale is bytes.
	Unit int64
	// Get reads the field (nil: none set); Set writes it.
	Get func(ctx context.Context, tx *ent.Tx, id int) (*int, error)
	Set func(ctx context.Context, tx *ent.Tx, id int, v *int) error
}

var (
	allocMu     sync.Mutex
	allocations = map[string]Allocation{}
)

// RegisterAllocation registers a; services call it from init.
func RegisterAllocation(a Allocation) {
	allocMu.Lock()
	defer allocMu.Unlock()
	allocations[a.Model] = a
}

func allocationOf(model string) (Allocation, bool) {
	allocMu.Lock()
	defer allocMu.Unlock()
	a, ok := allocations[model]
	return a, ok
}

// toField converts an allocation in r's unit into a's field's units,
// rounded up (a quota is never smaller than what was allocated).
func (a Allocation) toField(r *ent.Resource, alloc int) (int, error) {
	scale, err := Scale(r.Scale)
	if err != nil {
		return 0, err
	}
	v := decimal.NewFromInt(int64(alloc)).Mul(scale).Div(decimal.NewFromInt(a.Unit)).Ceil()
	if !v.IsInteger() || v.GreaterThan(decimal.NewFromInt(1<<40)) {
		return 0, fmt.Errorf("resources: %d %s is too large for %s", alloc, r.Unit, a.Model)
	}
	return int(v.IntPart()), nil
}

// fromField converts a's field's value into r's unit, rounded down.
func (a Allocation) fromField(r *ent.Resource, v int) (int, error) {
	scale, err := Scale(r.Scale)
	if err != nil {
		return 0, err
	}
	return int(decimal.NewFromInt(int64(v)).Mul(decimal.NewFromInt(a.Unit)).Div(scale).Floor().IntPart()), nil
}

// startingAllocation is what object starts with: its model's allocation
// field if it has one and it is set, else r's default.
func startingAllocation(ctx context.Context, tx *ent.Tx, r *ent.Resource, object int) (*int, error) {
	a, ok := allocationOf(r.Model)
	if !ok {
		return r.DefaultAllocation, nil
	}
	v, err := a.Get(ctx, tx, object)
	if err != nil || v == nil {
		return r.DefaultAllocation, err
	}
	n, err := a.fromField(r, *v)
	return &n, err
}

// enforce runs, for the objects of r that crossed (true: over), the
// enforcers of r's model: their units queue in the servers' lanes like
// any change.
func enforce(ctx context.Context, ex *orchestration.Executor, r *ent.Resource, crossed map[int]bool) error {
	for _, over := range []bool{true, false} {
		var ids []int
		for id, o := range crossed {
			if o == over {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			continue
		}
		slices.Sort(ids)
		action := ActionRecovered
		if over {
			action = ActionExceeded
		}
		if _, err := ex.Orchestrate(ctx, orchestration.Selection{Model: r.Model, IDs: ids, Action: action,
			Args: map[string]string{"resource": r.Name}}, false); err != nil {
			return err
		}
	}
	return nil
}
