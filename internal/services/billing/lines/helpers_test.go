package lines

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
	"github.com/orchestra-panel/orchestra/internal/services/billing/rates"
)

func d(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// dt is a moment: "2024-04-30 22:00".
func dt(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func decp(s string) *decimal.Decimal { v := dec(s); return &v }

// svc is a service: its period, anchor, payment, pricing period, on
// cancel and nominal price.
func svc(p period.Period, a period.Anchor, prepay bool, pricing, onCancel, nominal string) Service {
	return Service{Point: period.Point{Period: p, Anchor: a, Prepay: prepay, AnnualMonth: time.January},
		PricingPeriod: pricing, OnCancel: onCancel, Nominal: dec(nominal)}
}

func (s Service) with(alg rates.Algorithm) Service { s.Algorithm = alg; return s }

func (s Service) metric() Service { s.Metric = true; return s }

// plan is a default plan's table: quantity, price, quantity, price…
func plan(contracts int, pairs ...any) []rates.Plan {
	var rs []rates.Rate
	for i := 0; i < len(pairs); i += 2 {
		rs = append(rs, rates.Rate{Quantity: pairs[i].(int), Price: dec(pairs[i+1].(string))})
	}
	return []rates.Plan{{Name: "default", Combinable: true, Contracts: contracts, Rates: rs}}
}

// sample is a metric row: value, created day, last update.
func sample(value, created, updated string) Metric {
	u := d(created).Add(12 * time.Hour)
	if updated != "" {
		u = dt(updated)
	}
	return Metric{Value: dec(value), Created: d(created), Updated: u}
}

// fmtLine writes a line as "#order ini→end size×metric sub subtotal
// [TYPE total]… = total" ("-" for no end).
func fmtLine(l Line) string {
	end := "-"
	if !l.End.IsZero() {
		end = l.End.Format(time.DateOnly)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s→%s %s×%s sub %s", l.Order, l.Ini.Format(time.DateOnly), end, l.Size.StringFixed(2), l.Metric, l.Subtotal.StringFixed(2))
	for _, x := range l.Discounts {
		fmt.Fprintf(&b, " %s %s", x.Type, x.Total.StringFixed(2))
	}
	fmt.Fprintf(&b, " = %s", l.Total().StringFixed(2))
	return b.String()
}

// fmtUpdate writes an update as "#order on day until day metric m".
func fmtUpdate(u Update) string {
	m := "-"
	if u.BilledMetric != nil {
		m = u.BilledMetric.String()
	}
	on := "-"
	if !u.BilledOn.IsZero() {
		on = u.BilledOn.Format(time.DateOnly)
	}
	return fmt.Sprintf("#%d on %s until %s metric %s", u.Order, on, u.BilledUntil.Format(time.DateOnly), m)
}

// example is a worked example: a run and what it must charge, to the cent.
type example struct {
	name          string
	s             Service
	plans         []rates.Plan
	batch, others []Order
	o             Options
	lines         []string
	updates       []string
}

func (e example) run(t *testing.T) {
	t.Helper()
	ls, ups, err := Bill(e.s, e.plans, e.batch, e.others, e.o)
	if err != nil {
		t.Fatalf("%s: %v", e.name, err)
	}
	var got []string
	for _, l := range ls {
		got = append(got, fmtLine(l))
		if !l.Rate.Equal(e.s.Nominal) {
			t.Errorf("%s: line rate %s, want the nominal %s", e.name, l.Rate, e.s.Nominal)
		}
		if l.Quantity().IsZero() {
			t.Errorf("%s: a zero-quantity line: %s", e.name, fmtLine(l))
		}
	}
	if !slices.Equal(got, e.lines) {
		t.Errorf("%s: lines\n\t%s\nwant\n\t%s", e.name, strings.Join(got, "\n\t"), strings.Join(e.lines, "\n\t"))
	}
	var gotU []string
	for _, u := range ups {
		gotU = append(gotU, fmtUpdate(u))
	}
	if !slices.Equal(gotU, e.updates) {
		t.Errorf("%s: updates\n\t%s\nwant\n\t%s", e.name, strings.Join(gotU, "\n\t"), strings.Join(e.updates, "\n\t"))
	}
}

func runExamples(t *testing.T, examples []example) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range examples {
		if seen[e.name] {
			t.Fatalf("two examples named %q", e.name)
		}
		seen[e.name] = true
		t.Run(e.name, func(t *testing.T) { e.run(t) })
	}
}

func today(s string) Options { return Options{Today: d(s)} }

// TestCents: the int64 rounding is RoundBank(2), half to even, signs and
// large coefficients included.
func TestCents(t *testing.T) {
	for _, s := range []string{"0.165", "0.175", "0.125", "-0.125", "-0.135", "0.0050", "0.0150", "1.23456789", "-7.995",
		"99999999999999.995", "12345678901234567.891", "0.00001", "5", "5.1", "-0.005", "-0.015", "2.505000001"} {
		x := dec(s)
		if got, want := cents(x), x.RoundBank(2); !got.Equal(want) {
			t.Errorf("cents(%s) = %s, want %s", s, got, want)
		}
	}
	for i := int64(-100000); i <= 100000; i += 7 {
		for _, e := range []int32{-3, -4, -5} {
			x := decimal.New(i, e)
			if got, want := cents(x), x.RoundBank(2); !got.Equal(want) {
				t.Fatalf("cents(%s) = %s, want %s", x, got, want)
			}
		}
	}
}
