package lines

import (
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
)

var one = decimal.NewFromInt(1)

// billOrders is bill_with_orders (§5.5), for services without a metric:
// the number of orders drives the price. The mode:
//   - nominal: no rates (or no algorithm), or a one-time service priced on
//     its current value: each period at the nominal price;
//   - concurrent: rates, a recurring service, pricing on the current value:
//     the k-th order alive at a time pays the k-th unit's price;
//   - register-or-renew: rates and a pricing period: the n-th registration
//     or renewal within a pricing period pays the n-th unit's price.
func (r *run) billOrders() error {
	var selected []*order
	var ini, end time.Time
	for _, w := range r.batch {
		if r.refundable(w) {
			paid, err := r.paidPerPeriod(w, one)
			if err != nil {
				return err
			}
			if err := r.refund(w, one, paid); err != nil {
				return err
			}
			continue
		}
		// cancelled and billed past the cancellation: nothing left
		if !w.BilledUntil.IsZero() && !w.Cancelled.IsZero() && w.BilledUntil.After(w.Cancelled) {
			continue
		}
		bp, err := r.point(w)
		if err != nil {
			return err
		}
		// already billed up to the point; or a recurring period that has
		// not started (the original billed a negative stretch)
		if !w.BilledUntil.IsZero() && !w.BilledUntil.Before(bp) || w.from().After(bp) {
			continue
		}
		w.selected, w.newUntil = true, bp
		if len(selected) == 0 || w.from().Before(ini) {
			ini = w.from()
		}
		if len(selected) == 0 || bp.After(end) {
			end = bp
		}
		selected = append(selected, w)
	}
	if len(selected) == 0 {
		return nil
	}
	if r.s.Point.Prepay && r.s.OnCancel == CancelCompensate {
		r.assignCompensations(selected, ini, end)
	}
	switch {
	case !r.hasRates || r.s.Point.Period == period.OneTime && r.pricing == current:
		return r.nominal(selected)
	case r.pricing == current:
		return r.concurrent(selected, ini, end)
	}
	return r.registerOrRenew(selected, ini, end)
}

// nominal bills each order's periods at the nominal price.
func (r *run) nominal(selected []*order) error {
	for _, w := range selected {
		if err := r.charge(w, r.s.Nominal); err != nil {
			return err
		}
	}
	return nil
}

// charge adds w's line at unit per period, less its compensations.
func (r *run) charge(w *order, unit decimal.Decimal) error {
	dsize, newEnd, err := r.applyCompensations(w, false)
	if err != nil {
		return err
	}
	var extra []Discount
	if !dsize.IsZero() {
		extra = append(extra, Discount{Type: Compensation, Total: dsize.Mul(unit).Neg()})
	}
	if !newEnd.IsZero() {
		w.newUntil = newEnd
	}
	return r.line(w, w.from(), w.newUntil, unit, false, one, extra...)
}

// pricingOrders are the orders that set the price with the selected ones:
// the account's others billed past ini and registered before end, as the
// run leaves them (givers cut), sorted.
func (r *run) pricingOrders(ini, end time.Time) []*order {
	var out []*order
	for _, w := range r.all {
		if w.selected || !w.stored().IsZero() && w.stored().After(ini) && w.Registered.Before(end) {
			out = append(out, w)
		}
	}
	return sorted(out)
}

// concurrent splits [ini, end) into chunks at every registration and
// billed until of the pricing orders; in each, the k-th order alive (in
// sorted order) pays the unit price at position k of as many units as
// orders alive, for the chunk's size. Compensated days inside a chunk are
// priced the same way and discounted.
func (r *run) concurrent(selected []*order, ini, end time.Time) error {
	porders := r.pricingOrders(ini, end)
	cuts := []time.Time{ini, end}
	for _, p := range porders {
		for _, t := range []time.Time{p.Registered, p.until()} {
			if t.After(ini) && t.Before(end) {
				cuts = append(cuts, t)
			}
		}
	}
	slices.SortFunc(cuts, time.Time.Compare)
	cuts = slices.CompactFunc(cuts, time.Time.Equal)
	price, cprice, last := map[*order]decimal.Decimal{}, map[*order]decimal.Decimal{}, map[*order]decimal.Decimal{}
	var alive []*order
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		alive = alive[:0]
		for _, p := range porders {
			if p.Registered.Before(b) && p.until().After(a) {
				alive = append(alive, p)
			}
		}
		size, err := r.size(a, b)
		if err != nil {
			return err
		}
		metric := decimal.NewFromInt(int64(len(alive)))
		chunk := interval{ini: a, end: b}
		for k, p := range alive {
			if !p.selected {
				continue
			}
			unit, err := r.unitPrice(metric, k+1)
			if err != nil {
				return err
			}
			csize := decimal.Zero
			for _, u := range p.comps {
				if x, ok := u.intersect(chunk); ok {
					s, err := r.size(x.ini, x.end)
					if err != nil {
						return err
					}
					csize = csize.Add(s)
				}
			}
			price[p] = price[p].Add(unit.Mul(size))
			cprice[p] = cprice[p].Add(unit.Mul(csize))
			last[p] = unit
		}
	}
	for _, w := range selected {
		// past the period's end, the unit price the order had in its last
		// chunk (the original multiplied by the whole period's price)
		unit, ok := last[w]
		if !ok {
			unit = r.s.Nominal
		}
		dsize, newEnd, err := r.applyCompensations(w, true)
		if err != nil {
			return err
		}
		p, c := price[w], cprice[w].Add(dsize.Mul(unit))
		if !newEnd.IsZero() {
			s, err := r.size(w.newUntil, newEnd)
			if err != nil {
				return err
			}
			p, w.newUntil = p.Add(unit.Mul(s)), newEnd
		}
		var extra []Discount
		if !c.IsZero() {
			extra = append(extra, Discount{Type: Compensation, Total: c.Neg()})
		}
		if err := r.line(w, w.from(), w.newUntil, p, true, one, extra...); err != nil {
			return err
		}
	}
	return nil
}

// registerOrRenew prices the order at position p of the sorted pricing
// orders by the events (registrations, old and new billing ends) in the
// pricing period before its start: the unit price at min(p, events) of
// that many units.
func (r *run) registerOrRenew(selected []*order, ini, end time.Time) error {
	back := 1
	if r.pricing == period.Annual {
		back = 12
	}
	porders := r.pricingOrders(period.AddMonths(ini, -back), end)
	units := make(map[*order]decimal.Decimal, len(selected))
	for pos, w := range porders {
		if !w.selected {
			continue
		}
		pend := w.from()
		events := countEvents(porders, period.AddMonths(pend, -back), pend)
		// an order counts itself; never fewer than one unit
		events = max(events, 1)
		unit, err := r.unitPrice(decimal.NewFromInt(int64(events)), min(pos+1, events))
		if err != nil {
			return fmt.Errorf("lines: order %d: %w", w.ID, err)
		}
		units[w] = unit
	}
	// events are counted before any compensation stretches a line
	for _, w := range selected {
		if err := r.charge(w, units[w]); err != nil {
			return err
		}
	}
	return nil
}

// countEvents counts registrations and billing ends (the new one, and the
// old one when it differs) within (ini, end].
func countEvents(porders []*order, ini, end time.Time) int {
	in := func(t time.Time) bool { return t.After(ini) && !t.After(end) }
	n := 0
	for _, p := range porders {
		bu := p.until()
		if bu.IsZero() {
			continue
		}
		if in(p.Registered) {
			n++
		}
		if !p.Registered.Equal(bu) && in(bu) {
			n++
		}
		if old := p.stored(); !old.IsZero() && !old.Equal(bu) && !p.Registered.Equal(old) && in(old) {
			n++
		}
	}
	return n
}
