// Package lines is what a billing run charges: for one account's orders of
// one service, the bill lines (prorated periods, rate-table prices, plan,
// compensation and prepay discounts, refunds) and what committing them
// writes to the orders. It reads no database and never the clock: the
// caller passes the orders, their metric samples, the account's plans and
// the run's day. The rules are django-orchestra's (reference §5), with the
// flaws fixed as decision 22 says.
package lines

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
	"github.com/orchestra-panel/orchestra/internal/services/billing/rates"
)

// Pricing periods and cancellation behaviours, as services store them.
const (
	PricingCurrent       = ""               // the metric's current value (or the number of orders)
	PricingBillingPeriod = "BILLING_PERIOD" // the service's billing period
	PricingMonthly       = "MONTHLY"
	PricingAnnual        = "ANUAL"

	CancelNothing    = "NOTHING"    // a cancellation changes nothing
	CancelDiscount   = "DISCOUNT"   // the last period is cut at the cancellation
	CancelCompensate = "COMPENSATE" // the cut, and prepaid time after it credits other orders (prepay)
	CancelRefund     = "REFUND"     // the cut, and prepaid time after it is credited back
)

// Discount (sub-line) types.
const (
	Plan         = "PLAN"         // rates cheaper than the nominal price
	Compensation = "COMPENSATION" // time a cancelled order had prepaid
	Prepay       = "PREPAY"       // a metric's consumption already prepaid
)

// Service is what a billed service says about how to bill (the store's
// Service row, resolved).
type Service struct {
	Point         period.Point // period, anchor, prepay, annual month (zero: January)
	PricingPeriod string       // "", "BILLING_PERIOD", "MONTHLY", "ANUAL"
	OnCancel      string       // "NOTHING", "DISCOUNT", "COMPENSATE", "REFUND"
	Nominal       decimal.Decimal
	Algorithm     rates.Algorithm // nil: nominal only
	Metric        bool            // the service has a metric expression (bill_with_metric)
}

// Metric is one MetricStorage row (in id order): the value, the day it was
// created, when it was last updated.
type Metric struct {
	Value   decimal.Decimal
	Created time.Time // a date
	Updated time.Time
}

// Order is an order as billing reads it. Zero times mean "not set".
type Order struct {
	ID           int
	Registered   time.Time
	Cancelled    time.Time
	BilledOn     time.Time
	BilledUntil  time.Time
	BilledMetric *decimal.Decimal
	Metrics      []Metric
	// Paid is what one billing period of the order was last charged per
	// unit of metric, after plan discounts (its last line's total ÷ its
	// quantity): what a refund credits back. Nil: the nominal price (the
	// price of the billed metric at the account's rates, for a metric
	// service).
	Paid *decimal.Decimal
}

// Options are a billing run's.
type Options struct {
	Point time.Time // the billing point option (default: Today)
	Fixed bool      // fixed_point: bill exactly up to Point
	Today time.Time // the run's day (injected, never time.Now in this package)
}

// Discount is a sub-line: a negative amount, or a positive one on a refund
// (the plan discount given back).
type Discount struct {
	Type  string // PLAN, COMPENSATION, PREPAY
	Total decimal.Decimal
}

// Line is a bill line. Amounts are in cents: the subtotal at the nominal
// price and each discount are rounded half to even, so that a line's total
// is exactly what it charges.
type Line struct {
	Order     int
	Ini, End  time.Time // End zero for one-time services
	Size      decimal.Decimal
	Metric    decimal.Decimal
	Rate      decimal.Decimal // nominal price
	Subtotal  decimal.Decimal // nominal × size × metric (negative for a refund)
	Discounts []Discount
}

// Quantity is what the line counts: metric × size.
func (l Line) Quantity() decimal.Decimal { return l.Metric.Mul(l.Size) }

// Total is what the line charges: the subtotal and its discounts.
func (l Line) Total() decimal.Decimal {
	t := l.Subtotal
	for _, d := range l.Discounts {
		t = t.Add(d.Total)
	}
	return t
}

// Update is what committing a run writes to an order: its three billing
// fields, those it keeps copied. Orders that got a line (one dropped for a
// zero quantity included), compensation givers whose billed_until was cut,
// and refunded orders; by order id.
type Update struct {
	Order        int
	BilledOn     time.Time
	BilledUntil  time.Time
	BilledMetric *decimal.Decimal
}

// Bill computes the lines of one account's orders of one service.
// batch: the orders chosen to bill. others: the account's other orders of
// the same service (needed for concurrent pricing, register-or-renew event
// counts, and compensation givers). plans: the account's plans with this
// service's rates (default plans and contracted ones, Contracts counted).
// Lines come in the batch's order (an order's in date order).
func Bill(s Service, plans []rates.Plan, batch, others []Order, o Options) ([]Line, []Update, error) {
	r, err := newRun(s, plans, batch, others, o)
	if err != nil {
		return nil, nil, err
	}
	if s.Metric {
		err = r.billMetric()
	} else {
		err = r.billOrders()
	}
	if err != nil {
		return nil, nil, err
	}
	return r.results()
}

// current is a pricing period resolved to "": priced on the current value.
const current = period.OneTime

// run is one call of Bill.
type run struct {
	s        Service
	plans    []rates.Plan
	o        Options
	unit     period.Period // what a size counts
	pricing  period.Period // the service's pricing period, resolved
	hasRates bool
	all      []*order // the batch, then the others
	batch    []*order
	steps    map[numKey][]rates.Step // the rate algorithm's result by metric
	prices   map[numKey]decimal.Decimal
	lines    []Line // as made
	owners   []int  // each line's order's position in the batch
}

// order is an order while a run bills it.
type order struct {
	Order
	inBatch  bool
	pos      int       // in the batch
	selected bool      // billed by this run (bill_with_orders)
	newUntil time.Time // billed until once committed
	cut      time.Time // billed until cut back: by the compensations a giver gave, or a refund
	comps    []interval
	billed   bool // got a line (even a dropped one): committing updates it
	metric   *decimal.Decimal
}

// from is where the order's next charge starts.
func (w *order) from() time.Time {
	if !w.BilledUntil.IsZero() {
		return w.BilledUntil
	}
	return w.Registered
}

// until is the order's billed until as the run sees it: the new one of a
// billed order, a giver's cut one, or the stored one.
func (w *order) until() time.Time {
	switch {
	case w.selected:
		return w.newUntil
	case !w.cut.IsZero():
		return w.cut
	}
	return w.BilledUntil
}

// stored is billed until as the store will hold it: cut back, or as it is.
func (w *order) stored() time.Time {
	if !w.cut.IsZero() {
		return w.cut
	}
	return w.BilledUntil
}

func dateOf(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return period.Date(t)
}

func newRun(s Service, plans []rates.Plan, batch, others []Order, o Options) (*run, error) {
	if o.Today.IsZero() {
		return nil, fmt.Errorf("lines: the run has no day (Options.Today)")
	}
	o.Today = period.Date(o.Today)
	if o.Point.IsZero() {
		o.Point = o.Today
	}
	o.Point = period.Date(o.Point)
	if s.Point.AnnualMonth == 0 {
		s.Point.AnnualMonth = time.January
	}
	r := &run{s: s, plans: plans, o: o, steps: map[numKey][]rates.Step{}, prices: map[numKey]decimal.Decimal{}}
	switch s.Point.Period {
	case period.OneTime, period.Monthly, period.Annual:
	default:
		return nil, fmt.Errorf("lines: no billing period %q", s.Point.Period)
	}
	if s.Point.Period != period.OneTime && s.Point.Anchor != period.OnRegister && s.Point.Anchor != period.OnFixedDate {
		return nil, fmt.Errorf("lines: no billing point %q", s.Point.Anchor)
	}
	switch s.PricingPeriod {
	case PricingBillingPeriod:
		r.pricing = s.Point.Period
	case PricingCurrent, PricingMonthly, PricingAnnual:
		r.pricing = period.Period(s.PricingPeriod)
	default:
		return nil, fmt.Errorf("lines: no pricing period %q", s.PricingPeriod)
	}
	if !slices.Contains([]string{CancelNothing, CancelDiscount, CancelCompensate, CancelRefund}, s.OnCancel) {
		return nil, fmt.Errorf("lines: no cancellation behaviour %q", s.OnCancel)
	}
	// sizes count billing periods; an annual prepay priced monthly counts months
	r.unit = s.Point.Period
	if s.Point.Period == period.Annual && s.Point.Prepay && r.pricing == period.Monthly {
		r.unit = period.Monthly
	}
	if s.Algorithm != nil {
		for _, p := range plans {
			if len(p.Rates) > 0 {
				r.hasRates = true
			}
		}
	}
	seen := map[int]bool{}
	add := func(list []Order, inBatch bool) {
		for _, x := range list {
			if seen[x.ID] {
				continue
			}
			seen[x.ID] = true
			w := &order{Order: x, inBatch: inBatch, pos: len(r.batch)}
			w.Registered, w.Cancelled = dateOf(w.Registered), dateOf(w.Cancelled)
			w.BilledOn, w.BilledUntil = dateOf(w.BilledOn), dateOf(w.BilledUntil)
			r.all = append(r.all, w)
			if inBatch {
				r.batch = append(r.batch, w)
			}
		}
	}
	add(batch, true)
	add(others, false)
	return r, nil
}

// point is what the run charges w up to (§5.2): computed per order, never
// reused (decision 22.5); a monthly postpay aligns on the run's day, as the
// original did whatever the billing point option said.
func (r *run) point(w *order) (time.Time, error) {
	bp0 := r.o.Point
	if r.s.Point.Period == period.Monthly && !r.s.Point.Prepay && !r.o.Fixed {
		bp0 = r.o.Today
	}
	return r.s.Point.Of(bp0, w.Registered, w.Cancelled, r.o.Fixed, r.s.OnCancel != CancelNothing)
}

// stepsFor is the rate algorithm's steps for metric (none: nominal).
func (r *run) stepsFor(metric decimal.Decimal) ([]rates.Step, error) {
	if !r.hasRates {
		return nil, nil
	}
	key := keyOf(metric)
	if s, ok := r.steps[key]; ok {
		return s, nil
	}
	s, err := r.s.Algorithm(r.plans, metric, r.s.Nominal)
	if err != nil {
		return nil, err
	}
	r.steps[key] = s
	return s, nil
}

// price is what metric units cost for a period (get_price), memoized:
// a metric's pieces repeat the same few values.
func (r *run) price(metric decimal.Decimal) (decimal.Decimal, error) {
	key := keyOf(metric)
	if p, ok := r.prices[key]; ok {
		return p, nil
	}
	steps, err := r.stepsFor(metric)
	if err != nil {
		return decimal.Zero, err
	}
	p, err := rates.Price(steps, metric, r.s.Nominal)
	if err != nil {
		return decimal.Zero, err
	}
	r.prices[key] = p
	return p, nil
}

// unitPrice is what unit position of metric costs for a period.
func (r *run) unitPrice(metric decimal.Decimal, position int) (decimal.Decimal, error) {
	steps, err := r.stepsFor(metric)
	if err != nil {
		return decimal.Zero, err
	}
	return rates.UnitPrice(steps, position, r.s.Nominal)
}

// add keeps w's line.
func (r *run) add(w *order, l Line) {
	r.lines = append(r.lines, l)
	r.owners = append(r.owners, w.pos)
	w.billed = true
}

// results gathers the lines in the batch's order, zero quantities
// dropped, and the updates.
func (r *run) results() ([]Line, []Update, error) {
	out := r.lines
	if !slices.IsSorted(r.owners) {
		idx := make([]int, len(out))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(r.owners[a], r.owners[b]) })
		out = make([]Line, len(idx))
		for i, j := range idx {
			out[i] = r.lines[j]
		}
	}
	kept := out[:0]
	for _, l := range out {
		if !l.Size.IsZero() && !l.Metric.IsZero() {
			kept = append(kept, l)
		}
	}
	out = kept
	var ups []Update
	for _, w := range r.all {
		switch {
		case w.billed:
			m := w.BilledMetric
			if w.metric != nil {
				m = w.metric
			}
			ups = append(ups, Update{Order: w.ID, BilledOn: r.o.Today, BilledUntil: w.newUntil, BilledMetric: m})
		case !w.cut.IsZero() && w.cut.Before(w.BilledUntil):
			ups = append(ups, Update{Order: w.ID, BilledOn: w.BilledOn, BilledUntil: w.cut, BilledMetric: w.BilledMetric})
		}
	}
	slices.SortFunc(ups, func(a, b Update) int { return cmp.Compare(a.Order, b.Order) })
	return out, ups, nil
}
