package resources

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseOutput(t *testing.T) {
	got, err := ParseOutput("12 1048576\n7 0\n3 12.5\n")
	if err != nil || len(got) != 3 || got[12].String() != "1048576" || got[7].String() != "0" || got[3].String() != "12.5" {
		t.Errorf("good output: %v %v", got, err)
	}
	if got, err := ParseOutput(""); err != nil || len(got) != 0 {
		t.Errorf("nothing measured: %v %v", got, err)
	}
	for _, bad := range []string{"12", "12 1 2", "x 5", "0 5", "-3 5", "12 five", "12 -1", "12 1e9", "12 NaN", "12 5\n12 6", "12 5\n\n13 6",
		"du: cannot access '/home/x': No such file or directory", "12 5\r"} {
		if got, err := ParseOutput(bad); err == nil {
			t.Errorf("%q taken: %v", bad, got)
		} else if !strings.Contains(err.Error(), "line ") {
			t.Errorf("%q: the error names no line: %v", bad, err)
		}
	}
}

func show(samples []Sample) string {
	var b strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&b, "%d@%s=%s ", s.Object, s.At.Format("01-02"), s.Value)
	}
	return strings.TrimSpace(b.String())
}

func TestCollapseEqual(t *testing.T) {
	s := []Sample{sample(1, "2026-01-01 00:00", 1000), sample(1, "2026-01-02 00:00", 1004), sample(1, "2026-01-03 00:00", 996),
		sample(1, "2026-01-04 00:00", 1005), // within 0.5% of the run's first: the run goes on
		sample(1, "2026-01-05 00:00", 1006), // not: a new run
		sample(1, "2026-01-06 00:00", 2000), sample(1, "2026-03-01 00:00", 2000), sample(1, "2026-03-02 00:00", 2000),
		sample(2, "2026-01-01 00:00", 0), sample(2, "2026-01-02 00:00", 0)}
	got := show(CollapseEqual(s, at("2026-02-01 00:00")))
	if want := "1@01-01=1000 1@01-04=1005 1@01-05=1006 1@01-06=2000 1@03-01=2000 1@03-02=2000 2@01-01=0 2@01-02=0"; got != want {
		t.Errorf("collapsed:\n%s\nwant\n%s", got, want)
	}
	// what a last-value usage reads does not change
	before, after := Aggregations["last"].Usage(s, at("2026-03-03 00:00")), Aggregations["last"].Usage(CollapseEqual(s, at("2026-02-01 00:00")), at("2026-03-03 00:00"))
	if !before.Equal(after) {
		t.Errorf("last: %s before, %s after", before, after)
	}
}

func TestSumMonths(t *testing.T) {
	s := []Sample{sample(1, "2026-01-05 00:00", 10), sample(1, "2026-01-31 23:00", 5), sample(1, "2026-02-01 00:00", 7),
		sample(1, "2026-02-20 00:00", 1), sample(1, "2026-03-02 00:00", 100), sample(2, "2025-12-31 23:59", 4), sample(2, "2026-01-01 00:00", 6)}
	got := show(SumMonths(s, at("2026-03-01 00:00")))
	if want := "1@01-31=15 1@02-20=8 1@03-02=100 2@12-31=4 2@01-01=6"; got != want {
		t.Errorf("summed:\n%s\nwant\n%s", got, want)
	}
	// each month's sum reads the same
	for _, now := range []string{"2026-01-31 23:59", "2026-02-28 00:00"} {
		a := Aggregations["monthly-sum"].Usage(s, at(now))
		b := Aggregations["monthly-sum"].Usage(SumMonths(s, at("2026-03-01 00:00")), at(now))
		if !a.Equal(b) {
			t.Errorf("monthly sum at %s: %s before, %s after", now, a, b)
		}
	}
}
