package lines

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
)

// piece is a stretch of time at one metric value.
type piece struct {
	ini, end time.Time
	value    decimal.Decimal
}

// changes is get_metric(ini, end, changes=True): the values w's metric
// took over [ini, end), from its samples in id order. A first sample after
// ini leaves the start unknown: an error, as in the original. No samples:
// no pieces. The last value runs from its sample (or ini) to end (the
// original started it at an older sample's day when none fell in the
// stretch).
func changes(w *order, ini, end time.Time) ([]piece, error) {
	out := make([]piece, 0, len(w.Metrics)+1)
	var prev *Metric
	for i := range w.Metrics {
		m := &w.Metrics[i]
		created := period.Date(m.Created)
		if !created.Before(end) {
			continue
		}
		if created.After(ini) {
			if prev == nil {
				return nil, fmt.Errorf("lines: order %d: its first metric sample (%s) is after %s: the metric before it is unknown",
					w.ID, created.Format(time.DateOnly), ini.Format(time.DateOnly))
			}
			start := period.Date(prev.Created)
			if len(out) == 0 {
				start = ini
			}
			out = append(out, piece{start, created, prev.Value})
		}
		prev = m
	}
	if prev != nil {
		out = append(out, piece{maxDate(ini, period.Date(prev.Created)), end, prev.Value})
	}
	return out, nil
}

// latest is the value of the last updated sample among those ok accepts
// (ties: the later in id order), or 0.
func latest(w *order, ok func(m Metric) bool) decimal.Decimal {
	var best *Metric
	for i := range w.Metrics {
		m := &w.Metrics[i]
		if ok(*m) && (best == nil || !m.Updated.Before(best.Updated)) {
			best = m
		}
	}
	if best == nil {
		return decimal.Zero
	}
	return best.Value
}

// slot is get_metric(ini, end): the last value updated within a slot.
func slot(w *order, ini, end time.Time) decimal.Decimal {
	return latest(w, func(m Metric) bool { return period.Date(m.Created).Before(end) && !m.Updated.Before(ini) })
}

// at is get_metric(date): the value in effect on day (created by the next
// day).
func at(w *order, day time.Time) decimal.Decimal {
	next := day.AddDate(0, 0, 1)
	return latest(w, func(m Metric) bool { return !period.Date(m.Created).After(next) })
}

// slots are the pricing periods from ini's to end, aligned on the 1st (of
// the annual billing month) or on the registration's day (and month):
// at least one, the last reaching end or past it. Each is counted from the
// anchor, so a day clipped in a short month comes back (the original
// stepped from the last slot and drifted).
func (r *run) slots(w *order, ini, end time.Time) [][2]time.Time {
	step, month, day := 1, r.s.Point.AnnualMonth, 1
	if r.pricing == period.Annual {
		step = 12
	}
	if r.s.Point.Anchor == period.OnRegister {
		month, day = w.Registered.Month(), w.Registered.Day()
	}
	if r.pricing == period.Monthly {
		month = ini.Month()
	}
	// the n-th slot from the anchor, its day clipped to the month's last
	// (no drift after a short month)
	at := func(n int) time.Time {
		first := time.Date(ini.Year(), month, 1, 0, 0, 0, 0, time.UTC)
		m := period.AddMonths(first, n*step)
		last := m.AddDate(0, 1, -1).Day()
		return time.Date(m.Year(), m.Month(), min(day, last), 0, 0, 0, 0, time.UTC)
	}
	var out [][2]time.Time
	for n := 0; ; n++ {
		s, e := at(n), at(n+1)
		out = append(out, [2]time.Time{s, e})
		if !e.Before(end) {
			return out
		}
	}
}

// billMetric is bill_with_metric (§5.8), for services with a metric: per
// order, a prepay recharge of what the metric grew past what was prepaid,
// a refund, then its periods priced by the metric's changes (pricing on
// the current value), per slot (pricing on the billing period, postpay),
// at today's value for every slot (other pricing periods, prepay), or
// once at today's value (one-time).
func (r *run) billMetric() error {
	recurring := r.s.Point.Period != period.OneTime
	switch {
	case recurring && r.pricing != current && r.pricing == r.s.Point.Period && r.s.Point.Prepay:
		return fmt.Errorf("lines: a metric service billed %s in prepay, priced on the billing period, is not implemented", r.s.Point.Period)
	case recurring && r.pricing != current && r.pricing != r.s.Point.Period && !r.s.Point.Prepay:
		return fmt.Errorf("lines: a metric service billed %s in postpay, priced %s, is not implemented", r.s.Point.Period, r.pricing)
	case !recurring && r.pricing != current:
		return fmt.Errorf("lines: a one-time metric service priced %s is not implemented", r.pricing)
	}
	for _, w := range r.batch {
		if err := r.billMetricOrder(w, recurring); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) billMetricOrder(w *order, recurring bool) error {
	bp, err := r.point(w)
	if err != nil {
		return err
	}
	w.newUntil = w.BilledUntil
	if recurring && r.pricing == current && r.s.Point.Prepay && !w.BilledOn.IsZero() && !w.BilledUntil.IsZero() {
		if err := r.recharge(w, bp); err != nil {
			return err
		}
	}
	if r.refundable(w) {
		m := r.billedMetric(w)
		paid, err := r.paidPerPeriod(w, m)
		if err != nil {
			return err
		}
		return r.refund(w, m, paid)
	}
	// billed up to its cancellation (the gap before a later one is billed:
	// decision 22.12)
	if !w.BilledUntil.IsZero() && !w.Cancelled.IsZero() && !w.BilledUntil.Before(w.Cancelled) {
		return nil
	}
	if !recurring {
		if !w.BilledUntil.IsZero() {
			return nil
		}
		day := r.o.Today
		m := at(w, day)
		price, err := r.price(m)
		if err != nil {
			return err
		}
		w.newUntil, w.metric = day, &m
		return r.line(w, day, day, price, false, m)
	}
	ini := w.from()
	if !bp.After(ini) {
		return nil // already billed
	}
	var last *decimal.Decimal
	switch {
	case r.pricing == current: // the metric's changes (mailbox disk)
		ps, err := changes(w, ini, bp)
		if err != nil {
			return err
		}
		for _, p := range ps {
			last = &p.value
			if !p.value.IsPositive() {
				continue
			}
			price, err := r.price(p.value)
			if err != nil {
				return err
			}
			if err := r.line(w, p.ini, p.end, price, false, p.value); err != nil {
				return err
			}
		}
	case r.pricing == r.s.Point.Period: // per slot, postpay (traffic)
		for _, s := range r.slots(w, ini, bp) {
			m := slot(w, s[0], s[1])
			last = &m
			if !m.IsPositive() {
				continue
			}
			price, err := r.price(m)
			if err != nil {
				return err
			}
			if err := r.line(w, s[0], s[1], price, false, m); err != nil {
				return err
			}
		}
	default: // today's value for every slot, prepay (traffic prepay)
		m := at(w, r.o.Today)
		last = &m
		if m.IsPositive() {
			price, err := r.price(m)
			if err != nil {
				return err
			}
			for _, s := range r.slots(w, ini, bp) {
				if err := r.line(w, s[0], s[1], price, false, m); err != nil {
					return err
				}
			}
		}
	}
	// a line of this run (a recharge's too) commits the period, billed up
	// to the point at the last value it saw
	if w.billed {
		w.newUntil = bp
		if last != nil {
			w.metric = last
		}
	}
	return nil
}

// billedMetric is the metric w was last billed at.
func (r *run) billedMetric(w *order) decimal.Decimal {
	if w.BilledMetric != nil {
		return *w.BilledMetric
	}
	return at(w, w.BilledOn)
}

// recharge (prepay, priced on the current value) charges what the metric
// consumed since w was last billed beyond what it prepaid: the credit is
// the billed metric's price over [billed on, min(point, billed until));
// each piece of the metric since consumes it, and only when the credit
// runs out are the pieces still costing something charged, each with the
// credit it used as a PREPAY discount. The recharge records the metric
// (decision 22.6), so a second run the same day charges nothing more.
func (r *run) recharge(w *order, bp time.Time) error {
	ini, end := w.BilledOn, minDate(bp, w.BilledUntil)
	if !end.After(ini) {
		return nil
	}
	size, err := r.size(ini, end)
	if err != nil {
		return err
	}
	billed, err := r.price(r.billedMetric(w))
	if err != nil {
		return err
	}
	credit := cents(billed.Mul(size))
	ps, err := changes(w, ini, end)
	if err != nil {
		return err
	}
	type recharge struct {
		p           piece
		price, used decimal.Decimal
	}
	var due []recharge
	for _, p := range ps {
		s, err := r.size(p.ini, p.end)
		if err != nil {
			return err
		}
		unit, err := r.price(p.value)
		if err != nil {
			return err
		}
		// in cents, as the credit, so an unchanged metric uses it exactly
		price := cents(unit.Mul(s))
		used := decimal.Min(price, decimal.Max(credit, decimal.Zero))
		credit = credit.Sub(price)
		if price.Sub(used).IsPositive() {
			due = append(due, recharge{p, price, used})
		}
	}
	if !credit.IsNegative() {
		return nil
	}
	for _, d := range due {
		var extra []Discount
		if d.used.IsPositive() {
			extra = append(extra, Discount{Type: Prepay, Total: d.used.Neg()})
		}
		if err := r.line(w, d.p.ini, d.p.end, d.price, true, d.p.value, extra...); err != nil {
			return err
		}
	}
	if n := len(ps); n > 0 {
		w.metric = &ps[n-1].value
	}
	return nil
}
