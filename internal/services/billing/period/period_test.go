package period

import (
	"testing"
	"time"
)

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestSize: worked examples, by hand, of the calendar rules: whole months
// first (clipped to the month's end), the days left as a share of the end
// date's month or year, rounded half to even.
func TestSize(t *testing.T) {
	for _, c := range []struct {
		ini, end string
		unit     Period
		want     string
		why      string
	}{
		{"2016-05-15", "2016-06-01", Monthly, "0.57", "17 days of June's 30"},
		{"2016-05-15", "2016-05-20", Monthly, "0.16", "5 of May's 31"},
		{"2016-02-15", "2016-03-01", Monthly, "0.48", "15 days of March's 31, not February's 29"},
		{"2016-01-31", "2016-03-01", Monthly, "1.03", "31 Jan + 1 month = 29 Feb, then 1 day of March's 31"},
		{"2016-05-15", "2017-01-01", Annual, "0.63", "7 months and 17 days of 2017's 365"},
		{"2016-01-01", "2016-07-01", Annual, "0.50", "6 months"},
		{"2016-02-29", "2017-02-28", Annual, "1.00", "29 Feb + 12 months is 28 Feb"},
		{"2024-01-01", "2025-01-01", Annual, "1.00", "a leap year is one year"},
		{"2024-12-01", "2024-12-31", Annual, "0.08", "30 days of a leap year's 366 = 0.0820 → 0.08"},
		{"2023-12-01", "2023-12-31", Annual, "0.08", "30 of 365 = 0.0822 → 0.08"},
		{"2023-12-15", "2024-01-15", Monthly, "1.00", "across a year end, one month"},
		{"2023-12-20", "2024-01-05", Monthly, "0.52", "16 days of January's 31 = 0.516 → 0.52"},
		{"2024-01-30", "2024-02-29", Monthly, "1.00", "30 Jan + 1 month clips to 29 Feb"},
		{"2023-01-31", "2023-02-28", Monthly, "1.00", "31 Jan + 1 month clips to 28 Feb"},
		{"2023-01-29", "2023-02-28", Monthly, "1.00", "29 Jan + 1 month clips to 28 Feb: one month"},
		{"2023-01-28", "2023-02-27", Monthly, "1.07", "28 Jan + 1 month is 28 Feb, after the end: 0 months and 30 days of the end's month (28 days)"},
		{"2024-03-31", "2024-04-30", Monthly, "1.00", "31 Mar + 1 month clips to 30 Apr"},
		{"2024-05-01", "2024-05-01", Monthly, "0.00", "nothing"},
		{"2024-05-01", "2024-05-01", OneTime, "1", "a one-time service is one"},
		{"2024-06-10", "2024-06-13", Monthly, "0.10", "3 of June's 30: exactly 0.10"},
		{"2024-06-01", "2024-06-04", Monthly, "0.10", "3 of 30"},
		{"2023-02-01", "2023-02-15", Monthly, "0.50", "14 of February's 28"},
		{"2023-02-01", "2023-02-08", Monthly, "0.25", "7 of 28"},
		{"2024-07-01", "2024-07-09", Monthly, "0.26", "8 of 31 = 0.2581 → 0.26"},
		{"2024-09-01", "2024-09-04", Monthly, "0.10", "3 of 30"},
		{"2024-11-01", "2024-11-20", Monthly, "0.63", "19 of 30 = 0.6333"},
	} {
		got, err := Size(d(c.ini), d(c.end), c.unit)
		if err != nil || got.StringFixed(2) != mustFixed(c.want) {
			t.Errorf("Size(%s, %s, %q) = %s %v, want %s (%s)", c.ini, c.end, c.unit, got, err, c.want, c.why)
		}
	}
	if _, err := Size(d("2024-02-02"), d("2024-02-01"), Monthly); err == nil {
		t.Error("a stretch ending before it starts has a size")
	}
}

// TestHalfEven: a size exactly between two cents goes to the even one, as
// the original's Decimal rounding did.
func TestHalfEven(t *testing.T) {
	for _, c := range []struct {
		ini, end string
		unit     Period
		want     string
	}{
		{"2023-02-01", "2023-02-04", Monthly, "0.11"}, // 3/28 = 0.10714
		{"2024-02-01", "2024-02-04", Monthly, "0.10"}, // 3/29 = 0.10345
		{"2023-01-01", "2023-01-02", Annual, "0.00"},  // 1/365 = 0.0027
		{"2023-01-01", "2023-01-03", Annual, "0.01"},  // 2/365 = 0.0055 → 0.01
		{"2023-01-01", "2023-02-01", Annual, "0.08"},  // 1/12 = 0.0833
		{"2023-01-01", "2023-04-01", Annual, "0.25"},  // 3/12
		{"2023-01-01", "2023-03-01", Annual, "0.17"},  // 2/12 = 0.1667
	} {
		got, _ := Size(d(c.ini), d(c.end), c.unit)
		if got.StringFixed(2) != c.want {
			t.Errorf("Size(%s, %s) = %s, want %s", c.ini, c.end, got, c.want)
		}
	}
	// the rounding itself: half to even
	for in, want := range map[string]string{"0.125": "0.12", "0.135": "0.14", "0.565": "0.56", "0.575": "0.58"} {
		if got := mustDec(in).RoundBank(2).StringFixed(2); got != want {
			t.Errorf("%s rounds to %s, want %s", in, got, want)
		}
	}
}

// TestPoint: billing points by period, anchor and payment style, worked by
// hand.
func TestPoint(t *testing.T) {
	monthlyFixed := Point{Period: Monthly, Anchor: OnFixedDate, Prepay: true}
	monthlyReg := Point{Period: Monthly, Anchor: OnRegister, Prepay: true}
	annualFixed := Point{Period: Annual, Anchor: OnFixedDate, Prepay: true, AnnualMonth: time.January}
	annualReg := Point{Period: Annual, Anchor: OnRegister, Prepay: true}
	post := func(p Point) Point { p.Prepay = false; return p }
	for _, c := range []struct {
		name                string
		p                   Point
		bp0, reg, cancelled string
		fixed, cut          bool
		want                string
	}{
		{"monthly fixed prepay: the 1st of next month", monthlyFixed, "2024-05-25", "2024-03-10", "", false, true, "2024-06-01"},
		{"monthly fixed postpay: the 1st of this month", post(monthlyFixed), "2024-05-25", "2024-03-10", "", false, true, "2024-05-01"},
		{"monthly on register prepay: next month's registration day", monthlyReg, "2024-05-25", "2024-03-10", "", false, true, "2024-06-10"},
		{"monthly on register postpay", post(monthlyReg), "2024-05-25", "2024-03-10", "", false, true, "2024-05-10"},
		{"registered on the 31st, into a 30-day month", monthlyReg, "2024-05-25", "2024-01-31", "", false, true, "2024-06-30"},
		{"registered on the 31st, into February of a leap year", monthlyReg, "2024-01-15", "2023-12-31", "", false, true, "2024-02-29"},
		{"registered on the 30th, into February", monthlyReg, "2023-01-15", "2022-11-30", "", false, true, "2023-02-28"},
		{"registered on the 29th, postpay in February of a common year", post(monthlyReg), "2023-02-20", "2022-10-29", "", false, true, "2023-02-28"},
		{"monthly prepay across the year end", monthlyFixed, "2024-12-15", "2024-01-01", "", false, true, "2025-01-01"},
		{"annual fixed prepay: next January", annualFixed, "2024-05-25", "2024-03-10", "", false, true, "2025-01-01"},
		{"annual fixed prepay billed in January: next year", annualFixed, "2024-01-01", "2023-03-10", "", false, true, "2025-01-01"},
		{"annual fixed, June renewals, billed in May", Point{Period: Annual, Anchor: OnFixedDate, Prepay: true, AnnualMonth: time.June}, "2024-05-25", "2024-03-10", "", false, true, "2024-06-01"},
		{"annual on register, billed before its month", annualReg, "2024-02-20", "2021-03-10", "", false, true, "2024-03-10"},
		{"annual on register, billed in its month before the day (the month decides)", annualReg, "2024-03-05", "2021-03-10", "", false, true, "2025-03-10"},
		{"annual on register, 29 February into a common year", annualReg, "2024-05-01", "2020-02-29", "", false, true, "2025-02-28"},
		{"annual postpay (raised in the original): this year's anniversary", post(annualReg), "2024-05-01", "2021-03-10", "", false, true, "2024-03-10"},
		{"annual postpay before the anniversary's month: last year's", post(annualReg), "2024-02-01", "2021-03-10", "", false, true, "2023-03-10"},
		{"annual fixed postpay", post(annualFixed), "2024-05-25", "2021-03-10", "", false, true, "2024-01-01"},
		{"one-time: its registration", Point{Period: OneTime, Prepay: true}, "2024-05-25", "2024-03-10", "", false, true, "2024-03-10"},
		{"fixed point: the run's own date", monthlyFixed, "2024-05-25", "2024-03-10", "", true, true, "2024-05-25"},
		{"cancelled before the point: cut to the cancellation", monthlyFixed, "2024-05-25", "2024-03-10", "2024-05-20", false, true, "2024-05-20"},
		{"cancelled, but nothing on cancel: not cut", monthlyFixed, "2024-05-25", "2024-03-10", "2024-05-20", false, false, "2024-06-01"},
		{"cancelled after the point: not cut", monthlyFixed, "2024-05-25", "2024-03-10", "2024-06-20", false, true, "2024-06-01"},
	} {
		var cancelled time.Time
		if c.cancelled != "" {
			cancelled = d(c.cancelled)
		}
		got, err := c.p.Of(d(c.bp0), d(c.reg), cancelled, c.fixed, c.cut)
		if err != nil || !got.Equal(d(c.want)) {
			t.Errorf("%s: %s %v, want %s", c.name, got.Format(time.DateOnly), err, c.want)
		}
	}
}

func TestAddMonths(t *testing.T) {
	for _, c := range []struct {
		from string
		n    int
		want string
	}{{"2024-01-31", 1, "2024-02-29"}, {"2023-01-31", 1, "2023-02-28"}, {"2024-12-31", 2, "2025-02-28"}, {"2024-03-31", -1, "2024-02-29"},
		{"2024-01-15", -1, "2023-12-15"}, {"2024-01-15", 24, "2026-01-15"}} {
		if got := AddMonths(d(c.from), c.n); !got.Equal(d(c.want)) {
			t.Errorf("%s + %d months = %s, want %s", c.from, c.n, got.Format(time.DateOnly), c.want)
		}
	}
}
