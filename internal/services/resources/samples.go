package resources

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// ParseOutput reads what a monitor printed: one "<object id> <value>" line
// per object it measured. Any other line fails the whole output, naming
// it, so that nothing of a broken run is stored.
func ParseOutput(out string) (map[int]decimal.Decimal, error) {
	values := map[int]decimal.Decimal{}
	for n, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" && n == 0 && out == "" {
			break
		}
		wrong := func(why string) error {
			if len(line) > 200 {
				line = line[:200] + "…"
			}
			return fmt.Errorf("line %d %q: %s", n+1, line, why)
		}
		f := strings.Fields(line)
		if len(f) != 2 || strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' }) {
			return nil, wrong(`not "<object id> <value>"`)
		}
		id, err := strconv.Atoi(f[0])
		if err != nil || id < 1 {
			return nil, wrong("the object id is not a number above zero")
		}
		v, err := decimal.NewFromString(f[1])
		if err != nil || v.IsNegative() || strings.ContainsAny(f[1], "eE") {
			return nil, wrong("the value is not a decimal number of zero or more")
		}
		if _, twice := values[id]; twice {
			return nil, wrong("the object was measured twice")
		}
		values[id] = v
	}
	return values, nil
}

// A compaction strategy keeps fewer samples of the time before some age
// with the same usage as far as aggregations that read so far back go.
type Compaction func(samples []Sample, before time.Time) []Sample

// CollapseEqual is the gauges' (disk): of each run of an object's samples
// before the age whose values stay within 0.5% of the run's first, the
// first and the last are kept.
func CollapseEqual(samples []Sample, before time.Time) []Sample {
	var out []Sample
	for _, g := range byObject(samples) {
		for i := 0; i < len(g); {
			if !g[i].At.Before(before) {
				out = append(out, g[i])
				i++
				continue
			}
			j := i + 1
			for j < len(g) && g[j].At.Before(before) && within(g[i].Value, g[j].Value) {
				j++
			}
			out = append(out, g[i])
			if j-1 > i {
				out = append(out, g[j-1])
			}
			i = j
		}
	}
	return out
}

var halfPercent = decimal.RequireFromString("0.005")

func within(first, v decimal.Decimal) bool {
	return v.Sub(first).Abs().LessThanOrEqual(first.Abs().Mul(halfPercent))
}

// SumMonths is the counters' (traffic): an object's samples before the
// age are summed per calendar month (UTC) into one, the month's last
// sample (its ID kept), so monthly sums read the same.
func SumMonths(samples []Sample, before time.Time) []Sample {
	var out []Sample
	for _, g := range byObject(samples) {
		for i := 0; i < len(g); {
			if !g[i].At.Before(before) {
				out = append(out, g[i])
				i++
				continue
			}
			month, total, j := monthStart(g[i].At), decimal.Zero, i
			for j < len(g) && g[j].At.Before(before) && monthStart(g[j].At).Equal(month) {
				total = total.Add(g[j].Value)
				j++
			}
			out = append(out, Sample{ID: g[j-1].ID, Object: g[i].Object, At: g[j-1].At, Value: total})
			i = j
		}
	}
	return out
}
