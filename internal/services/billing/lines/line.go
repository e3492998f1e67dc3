package lines

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
)

// line adds w's line for [ini, end) (§5.7). price is what the stretch
// costs: already for the whole of it (computed), or per period, times its
// size. The subtotal is always at the nominal price: a cheaper price shows
// as a PLAN discount, a dearer one is never charged. The extra discounts
// (COMPENSATION, PREPAY) are clipped so the line never goes below zero.
func (r *run) line(w *order, ini, end time.Time, price decimal.Decimal, computed bool, metric decimal.Decimal, extra ...Discount) error {
	size, err := r.size(ini, end)
	if err != nil {
		return err
	}
	if !computed {
		price = price.Mul(size)
	}
	price = cents(price)
	l := Line{Order: w.ID, Ini: ini, End: end, Size: size, Metric: metric, Rate: r.s.Nominal,
		Subtotal: cents(r.s.Nominal.Mul(size).Mul(metric))}
	if r.s.Point.Period == period.OneTime {
		l.End = time.Time{}
	}
	running := l.Subtotal
	if l.Subtotal.GreaterThan(price) {
		l.Discounts = append(l.Discounts, Discount{Type: Plan, Total: price.Sub(l.Subtotal)})
		running = price
	}
	for _, d := range extra {
		t := cents(d.Total)
		if running = running.Add(t); running.IsNegative() {
			t, running = t.Sub(running), decimal.Zero
		}
		if !t.IsZero() {
			l.Discounts = append(l.Discounts, Discount{Type: d.Type, Total: t})
		}
	}
	r.add(w, l)
	return nil
}

// refund credits the time w had paid after its cancellation (decision
// 22.7): a line mirroring a charge for [cancelled, billed until), every
// amount negated, at perPeriod (what a period was paid, never more than
// the nominal subtotal); w's billed until moves back to the cancellation.
func (r *run) refund(w *order, metric, perPeriod decimal.Decimal) error {
	size, err := r.size(w.Cancelled, w.BilledUntil)
	if err != nil {
		return err
	}
	subtotal := cents(r.s.Nominal.Mul(size).Mul(metric))
	credit := decimal.Min(cents(perPeriod.Mul(size)), subtotal)
	l := Line{Order: w.ID, Ini: w.Cancelled, End: w.BilledUntil, Size: size, Metric: metric, Rate: r.s.Nominal, Subtotal: subtotal.Neg()}
	if credit.LessThan(subtotal) {
		l.Discounts = []Discount{{Type: Plan, Total: subtotal.Sub(credit)}}
	}
	r.add(w, l)
	w.newUntil = w.Cancelled
	w.cut = w.Cancelled // what the store will hold, for the pricing of the others
	return nil
}

// refundable is an order REFUND credits: billed past its cancellation.
func (r *run) refundable(w *order) bool {
	return r.s.OnCancel == CancelRefund && !w.BilledUntil.IsZero() && !w.Cancelled.IsZero() && w.BilledUntil.After(w.Cancelled)
}

// paidPerPeriod is what a period of w was paid at metric.
func (r *run) paidPerPeriod(w *order, metric decimal.Decimal) (decimal.Decimal, error) {
	switch {
	case w.Paid != nil:
		return w.Paid.Mul(metric), nil
	case r.s.Metric:
		return r.price(metric)
	}
	return r.s.Nominal.Mul(metric), nil
}
