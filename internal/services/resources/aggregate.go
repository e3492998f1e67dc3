// Package resources is the resources service: what a resource measures on
// the servers (disk, traffic, counts), the samples monitors store, and the
// usage aggregated from them that limits are held against.
package resources

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Sample is one value a monitor printed for one object at a time. A gauge
// (disk) is the value then; a counter (traffic) is the sum over the window
// since the object's previous sample.
type Sample struct {
	ID     int // its row, when read from one
	Object int
	At     time.Time
	Value  decimal.Decimal
}

// Aggregation turns an object's samples into its usage. Since is the
// oldest sample it reads at now: older ones may be compacted or gone.
type Aggregation struct {
	Name, Label string
	Since       func(now time.Time) time.Time
	Usage       func(samples []Sample, now time.Time) decimal.Decimal
}

// Aggregations are the ways usage is computed, by name; they keep the
// original's names and definitions (correctly: see docs/services/resources.md).
var Aggregations = map[string]Aggregation{
	"last": {Name: "last", Label: "Last value", Since: func(time.Time) time.Time { return time.Time{} }, Usage: last},
	"monthly-sum": {Name: "monthly-sum", Label: "Monthly sum", Since: monthStart,
		Usage: func(s []Sample, now time.Time) decimal.Decimal { return sum(since(s, monthStart(now))) }},
	"monthly-avg": {Name: "monthly-avg", Label: "Monthly average", Since: monthStart,
		Usage: func(s []Sample, now time.Time) decimal.Decimal { return weighted(s, monthStart(now)) }},
	"last-10-days-avg": {Name: "last-10-days-avg", Label: "Last 10 days average", Since: tenDaysBefore,
		Usage: func(s []Sample, now time.Time) decimal.Decimal { return weighted(s, tenDaysBefore(now)) }},
}

// DefaultAggregation is the original's default.
const DefaultAggregation = "last-10-days-avg"

// monthStart is the first instant of now's month, in UTC.
func monthStart(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func tenDaysBefore(now time.Time) time.Time { return now.Add(-10 * 24 * time.Hour) }

// byObject groups samples per object, each group in time order.
func byObject(samples []Sample) [][]Sample {
	s := slices.Clone(samples)
	slices.SortStableFunc(s, func(a, b Sample) int { return cmp.Or(cmp.Compare(a.Object, b.Object), a.At.Compare(b.At)) })
	var out [][]Sample
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Object == s[i].Object {
			j++
		}
		out, i = append(out, s[i:j]), j
	}
	return out
}

func since(samples []Sample, epoch time.Time) []Sample {
	return slices.DeleteFunc(slices.Clone(samples), func(s Sample) bool { return s.At.Before(epoch) })
}

func sum(samples []Sample) decimal.Decimal {
	total := decimal.Zero
	for _, s := range samples {
		total = total.Add(s.Value)
	}
	return total
}

// last is the sum, over the objects, of each one's latest value.
func last(samples []Sample, _ time.Time) decimal.Decimal {
	total := decimal.Zero
	for _, g := range byObject(samples) {
		total = total.Add(g[len(g)-1].Value)
	}
	return total
}

// weighted is the sum, over the objects, of each one's average since epoch
// weighted by time: a value counts for the interval before it (from the
// previous sample, or from epoch for the first), over the time from epoch
// to the object's last sample. An object whose only sample is at epoch
// counts its value.
func weighted(samples []Sample, epoch time.Time) decimal.Decimal {
	total := decimal.Zero
	for _, g := range byObject(since(samples, epoch)) {
		span := g[len(g)-1].At.Sub(epoch)
		if span <= 0 {
			total = total.Add(g[len(g)-1].Value)
			continue
		}
		acc, prev := decimal.Zero, epoch
		for _, s := range g {
			acc = acc.Add(s.Value.Mul(decimal.NewFromInt(int64(s.At.Sub(prev)))))
			prev = s.At
		}
		total = total.Add(acc.DivRound(decimal.NewFromInt(int64(span)), 6))
	}
	return total
}

// Aggregate is the usage of one resource's object from the samples of its
// monitored objects, scaled: rounded to three places, as it is stored.
func Aggregate(name string, samples []Sample, now time.Time, scale decimal.Decimal) (decimal.Decimal, error) {
	a, ok := Aggregations[name]
	if !ok {
		return decimal.Zero, fmt.Errorf("resources: no aggregation %q", name)
	}
	if scale.IsZero() {
		return decimal.Zero, fmt.Errorf("resources: a scale of zero")
	}
	return a.Usage(samples, now).DivRound(scale, 3), nil
}
