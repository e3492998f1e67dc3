package resources

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func sample(object int, when string, value int64) Sample {
	return Sample{Object: object, At: at(when), Value: decimal.NewFromInt(value)}
}

// TestAggregations: worked examples of each aggregation, by hand.
func TestAggregations(t *testing.T) {
	for _, c := range []struct {
		name, aggregation, now string
		samples                []Sample
		want                   string
	}{
		{"last: each object's latest, summed", "last", "2026-03-15 00:00",
			[]Sample{sample(1, "2026-03-03 00:00", 30), sample(1, "2026-03-01 00:00", 10), sample(2, "2026-03-02 00:00", 5)}, "35"},
		{"last: one object", "last", "2026-03-15 00:00", []Sample{sample(1, "2025-01-01 00:00", 7)}, "7"},
		{"last: nothing measured", "last", "2026-03-15 00:00", nil, "0"},
		{"monthly sum: this month's windows, from the 1st at 00:00", "monthly-sum", "2026-03-15 12:00",
			[]Sample{sample(1, "2026-02-28 23:00", 100), sample(1, "2026-03-01 00:00", 10), sample(1, "2026-03-10 00:00", 20),
				sample(2, "2026-03-15 00:00", 5)}, "35"},
		{"monthly sum: a year's end", "monthly-sum", "2027-01-01 00:30",
			[]Sample{sample(1, "2026-12-31 23:59", 100), sample(1, "2027-01-01 00:10", 3)}, "3"},
		{"monthly average: each value over the time before it", "monthly-avg", "2026-03-11 00:00",
			// object 1: 10 for 1 day, 20 for 4, 40 for 5: 290/10; object 2: one value at the epoch
			[]Sample{sample(1, "2026-02-27 00:00", 1000), sample(1, "2026-03-02 00:00", 10), sample(1, "2026-03-06 00:00", 20),
				sample(1, "2026-03-11 00:00", 40), sample(2, "2026-03-01 00:00", 7)}, "36"},
		{"monthly average: the 31st", "monthly-avg", "2026-01-31 23:00",
			// 60 for 30 days, then 0 for 22 hours: 60*720/742
			[]Sample{sample(1, "2026-01-31 00:00", 60), sample(1, "2026-01-31 22:00", 0)}, "58.221024"},
		{"last 10 days average", "last-10-days-avg", "2026-03-03 12:00",
			// from 2026-02-21 12:00: 100 for 5 days, 200 for 5
			[]Sample{sample(1, "2026-02-20 00:00", 999), sample(1, "2026-02-26 12:00", 100), sample(1, "2026-03-03 12:00", 200)}, "150"},
		{"last 10 days average across a leap day", "last-10-days-avg", "2024-03-01 00:00",
			// from 2024-02-20: 50 for 9 days (the 29th included), 140 for 1
			[]Sample{sample(1, "2024-02-29 00:00", 50), sample(1, "2024-03-01 00:00", 140)}, "59"},
	} {
		got := Aggregations[c.aggregation].Usage(c.samples, at(c.now))
		if want := decimal.RequireFromString(c.want); !got.Equal(want) {
			t.Errorf("%s: %s, want %s", c.name, got, want)
		}
	}
}

// TestAggregateScales: usage is the aggregate over the scale, to three
// places; an unknown aggregation and a zero scale are errors.
func TestAggregateScales(t *testing.T) {
	gb, err := Scale("10**9")
	if err != nil || !gb.Equal(decimal.NewFromInt(1_000_000_000)) {
		t.Fatalf("10**9: %s %v", gb, err)
	}
	samples := []Sample{sample(1, "2026-03-01 00:00", 2_500_000_000), sample(2, "2026-03-01 00:00", 1)}
	if got, err := Aggregate("last", samples, at("2026-03-02 00:00"), gb); err != nil || got.String() != "2.5" {
		t.Errorf("2.5 GB and a byte: %s %v", got, err)
	}
	if got, _ := Aggregate("last", []Sample{sample(1, "2026-03-01 00:00", 1)}, at("2026-03-02 00:00"), decimal.NewFromInt(3)); got.String() != "0.333" {
		t.Errorf("1/3: %s", got)
	}
	if _, err := Aggregate("average", samples, at("2026-03-02 00:00"), gb); err == nil {
		t.Error("an unknown aggregation was taken")
	}
	if _, err := Aggregate("last", samples, at("2026-03-02 00:00"), decimal.Zero); err == nil {
		t.Error("a zero scale was taken")
	}
}

func TestScale(t *testing.T) {
	for text, want := range map[string]string{"1": "1", "1024 * 1024": "1048576", "10**6": "1000000", "2^10": "1024", "1/1000": "0.001"} {
		if got, err := Scale(text); err != nil || !got.Equal(decimal.RequireFromString(want)) {
			t.Errorf("%s: %s %v, want %s", text, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "x", "'a'", "1 +", "len('abc') > 1", `system("id")`} {
		if got, err := Scale(bad); err == nil {
			t.Errorf("%q was taken as %s", bad, got)
		}
	}
}
