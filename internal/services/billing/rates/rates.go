// Package rates prices a metric (how many mailboxes, how many GB) from the
// rate tables of the plans an account has, by a service's rate algorithm:
// step price (each unit at the price of its step), match price (every unit
// at the price the whole quantity reaches) or best price (each unit at the
// cheapest price it qualifies for). The rules are django-orchestra's
// (reference §5.4), with its flaws fixed: a lone combinable plan priced
// with its own rates, a greedy merge that never overshoots, and several
// contracts of a plan whose table starts above zero folding as one.
package rates

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/shopspring/decimal"
)

// Rate is a row of a plan's table: from Quantity units on, Price per unit.
type Rate struct {
	Quantity int
	Price    decimal.Decimal
}

// Plan is a plan the account has, with its rates for the service: a default
// plan counts once, a contracted one once per contract.
type Plan struct {
	Name       string
	Combinable bool
	Contracts  int // at least 1
	Rates      []Rate
}

// Step is a number of units at a price.
type Step struct {
	Quantity decimal.Decimal
	Price    decimal.Decimal
}

func (s Step) String() string { return s.Quantity.String() + "@" + s.Price.StringFixed(2) }

// Algorithm turns an account's plans into steps covering metric units, or
// none (the nominal price applies).
type Algorithm func(plans []Plan, metric, nominal decimal.Decimal) ([]Step, error)

// Algorithms are the rate algorithms by the name services store.
var Algorithms = map[string]Algorithm{"STEP_PRICE": StepPrice, "MATCH_PRICE": MatchPrice, "BEST_PRICE": BestPrice}

var one = decimal.NewFromInt(1)

// standard is a plan's rates sorted by quantity, with a row at quantity 0
// and the nominal price before them when they start above 0 (below its
// first quantity a table prices at nominal): once per plan, whatever its
// contracts.
func standard(rates []Rate, nominal decimal.Decimal) []Rate {
	rs := slices.Clone(rates)
	slices.SortStableFunc(rs, func(a, b Rate) int { return cmp.Compare(a.Quantity, b.Quantity) })
	if len(rs) > 0 && rs[0].Quantity > 0 {
		rs = append([]Rate{{0, nominal}}, rs...)
	}
	return rs
}

// step is a plan's step with the first unit it may serve.
type step struct {
	Step
	barrier decimal.Decimal // units served before it may start
	last    bool            // takes whatever is left
	plan    int
}

// planSteps are a plan's steps by step price: a rate serves from unit
// max(q, 1) to the next rate's quantity; a cheaper block before a dearer
// one counts once per contract.
func planSteps(p Plan, nominal decimal.Decimal, index int) []step {
	rs := standard(p.Rates, nominal)
	folds := decimal.NewFromInt(int64(max(p.Contracts, 1)))
	var out []step
	served := decimal.Zero
	for i, r := range rs {
		s := step{Step: Step{Price: r.Price}, barrier: served, plan: index}
		if i == len(rs)-1 {
			s.last = true
		} else {
			q := decimal.NewFromInt(int64(rs[i+1].Quantity - max(r.Quantity, 1)))
			if q.IsNegative() {
				q = decimal.Zero
			}
			if rs[i+1].Price.GreaterThan(r.Price) {
				q = q.Mul(folds)
			}
			s.Quantity = q
			served = served.Add(q)
		}
		out = append(out, s)
	}
	return out
}

// fill serves metric units from steps, each next unit from the cheapest
// step already open (its barrier reached) that has units left, and never
// past the barrier of a cheaper step: a greedy fill.
func fill(steps []step, metric decimal.Decimal) ([]Step, error) {
	left := make([]decimal.Decimal, len(steps))
	for i, s := range steps {
		left[i] = s.Quantity
		if s.last {
			left[i] = metric
		}
	}
	var out []Step
	served := decimal.Zero
	for served.LessThan(metric) {
		best := -1
		for i, s := range steps {
			if left[i].IsPositive() && !s.barrier.GreaterThan(served) && (best < 0 || s.Price.LessThan(steps[best].Price)) {
				best = i
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("rates: no rate serves unit %s", served.Add(one))
		}
		take := decimal.Min(left[best], metric.Sub(served))
		for i, s := range steps {
			if left[i].IsPositive() && s.Price.LessThan(steps[best].Price) && s.barrier.GreaterThan(served) {
				take = decimal.Min(take, s.barrier.Sub(served))
			}
		}
		left[best] = left[best].Sub(take)
		served = served.Add(take)
		if n := len(out); n > 0 && out[n-1].Price.Equal(steps[best].Price) {
			out[n-1].Quantity = out[n-1].Quantity.Add(take)
		} else {
			out = append(out, Step{Quantity: take, Price: steps[best].Price})
		}
	}
	return out, nil
}

// StepPrice prices each unit at its step's price: every non-combinable plan
// alone, the combinable ones merged; the cheapest of these.
func StepPrice(plans []Plan, metric, nominal decimal.Decimal) ([]Step, error) {
	var candidates [][]Step
	var merged []step
	for i, p := range plans {
		if len(p.Rates) == 0 {
			continue
		}
		steps := planSteps(p, nominal, i)
		if !p.Combinable {
			s, err := fill(steps, metric)
			if err != nil {
				return nil, err
			}
			candidates = append(candidates, s)
			continue
		}
		merged = append(merged, steps...)
	}
	if len(merged) > 0 {
		s, err := fill(merged, metric)
		if err != nil {
			return nil, err
		}
		candidates = append(candidates, s)
	}
	return cheapest(candidates), nil
}

func cheapest(candidates [][]Step) []Step {
	var best []Step
	var low decimal.Decimal
	for _, c := range candidates {
		if t := total(c); best == nil || t.LessThan(low) {
			best, low = c, t
		}
	}
	return best
}

func total(steps []Step) decimal.Decimal {
	t := decimal.Zero
	for _, s := range steps {
		t = t.Add(s.Quantity.Mul(s.Price))
	}
	return t
}

// MatchPrice prices every unit at the price of the largest quantity the
// metric reaches in a plan's table, the cheapest plan's.
func MatchPrice(plans []Plan, metric, nominal decimal.Decimal) ([]Step, error) {
	var price *decimal.Decimal
	for _, p := range plans {
		if len(p.Rates) == 0 {
			continue
		}
		var found *Rate
		for _, r := range standard(p.Rates, nominal) {
			if decimal.NewFromInt(int64(r.Quantity)).LessThanOrEqual(metric) {
				found = &r
			}
		}
		if found != nil && (price == nil || found.Price.LessThan(*price)) {
			price = &found.Price
		}
	}
	if price == nil {
		return nil, nil
	}
	return []Step{{Quantity: metric, Price: *price}}, nil
}

// BestPrice prices units at the cheapest price each qualifies for: a price
// serves quantities up to its table's next row, times its plan's
// contracts; every plan's prices pooled, cheapest first.
func BestPrice(plans []Plan, metric, nominal decimal.Decimal) ([]Step, error) {
	type candidate struct {
		price, cap decimal.Decimal
		fold       int64
	}
	var pool []candidate
	for _, p := range plans {
		var mine []candidate
		for _, r := range standard(p.Rates, nominal) {
			q := decimal.NewFromInt(int64(r.Quantity))
			if q.GreaterThan(metric) {
				break
			}
			if n := len(mine); n > 0 {
				if mine[n-1].price.Equal(r.Price) {
					continue // the same price goes on
				}
				mine[n-1].cap = q.Sub(one)
			}
			mine = append(mine, candidate{price: r.Price, cap: metric, fold: int64(max(p.Contracts, 1))})
		}
		pool = append(pool, mine...)
	}
	slices.SortStableFunc(pool, func(a, b candidate) int { return a.price.Cmp(b.price) })
	var out []Step
	assigned := decimal.Zero
	for _, c := range pool {
		if assigned.GreaterThanOrEqual(metric) {
			break
		}
		if c.cap.LessThan(assigned) {
			continue
		}
		take := decimal.Min(c.cap.Mul(decimal.NewFromInt(c.fold)), metric.Sub(assigned))
		if !take.IsPositive() {
			continue
		}
		assigned = assigned.Add(take)
		if n := len(out); n > 0 && out[n-1].Price.Equal(c.price) {
			out[n-1].Quantity = out[n-1].Quantity.Add(take)
		} else {
			out = append(out, Step{Quantity: take, Price: c.price})
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// ErrShort is a result that does not cover the metric.
var ErrShort = errors.New("rates: the steps do not cover the metric")

// Price is what metric units cost by steps (the nominal price per unit
// when there are none), rounded half to even to cents.
func Price(steps []Step, metric, nominal decimal.Decimal) (decimal.Decimal, error) {
	if len(steps) == 0 {
		return metric.Mul(nominal).RoundBank(2), nil
	}
	t, served := decimal.Zero, decimal.Zero
	for _, s := range steps {
		q := decimal.Min(s.Quantity, metric.Sub(served))
		if !q.IsPositive() {
			continue
		}
		t, served = t.Add(q.Mul(s.Price)), served.Add(q)
	}
	if served.LessThan(metric) {
		return decimal.Zero, ErrShort
	}
	return t.RoundBank(2), nil
}

// UnitPrice is the price of unit position (1 the first) by steps, or the
// nominal price when there are none.
func UnitPrice(steps []Step, position int, nominal decimal.Decimal) (decimal.Decimal, error) {
	if len(steps) == 0 {
		return nominal, nil
	}
	pos, served := decimal.NewFromInt(int64(position)), decimal.Zero
	for _, s := range steps {
		if served = served.Add(s.Quantity); served.GreaterThanOrEqual(pos) {
			return s.Price, nil
		}
	}
	return decimal.Zero, ErrShort
}
