// Package period holds billing's calendar: how long a stretch of time is in
// billing periods (the size a price is prorated by) and the date a billing
// run charges up to (the billing point). Dates are calendar days; times of
// day are ignored. The rules are django-orchestra's, with its flaws fixed
// where it raised (a registration on the 29th–31st, annual postpay).
package period

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Period is how often a service is billed, and the unit a size counts.
type Period string

const (
	OneTime Period = ""        // billed once
	Monthly Period = "MONTHLY" // each month
	Annual  Period = "ANUAL"   // each year (the original's spelling, kept in stored values)
)

// Date is t's calendar day at midnight UTC.
func Date(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysIn is the number of days of month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// AddMonths is d plus n months, the day clipped to the month's last (31
// January plus one month is the last of February), as dateutil's
// relativedelta adds them.
func AddMonths(d time.Time, n int) time.Time {
	y, m, day := d.Date()
	total := y*12 + int(m) - 1 + n // months since year 0: positive for any date billed
	y, m = total/12, time.Month(total%12+1)
	return time.Date(y, m, min(day, daysIn(y, m)), 0, 0, 0, 0, time.UTC)
}

// Delta is the calendar difference from ini to end (end not before ini):
// whole months, then the days left, as relativedelta(end, ini) gives them.
func Delta(ini, end time.Time) (months, days int) {
	ini, end = Date(ini), Date(end)
	months = (end.Year()-ini.Year())*12 + int(end.Month()) - int(ini.Month())
	for months > 0 && AddMonths(ini, months).After(end) {
		months--
	}
	return months, int(end.Sub(AddMonths(ini, months)).Hours() / 24)
}

var twelve = decimal.NewFromInt(12)

// Size is how many periods of unit [ini, end) lasts, rounded half to even
// to two decimals: whole months (or years and twelfths), and the days left
// as a share of the end date's month (or of its year: 366 days in a leap
// year). A one-time period has size 1.
func Size(ini, end time.Time, unit Period) (decimal.Decimal, error) {
	if Date(end).Before(Date(ini)) {
		return decimal.Zero, fmt.Errorf("period: %s ends before it starts (%s)", end.Format(time.DateOnly), ini.Format(time.DateOnly))
	}
	months, days := Delta(ini, end)
	var size decimal.Decimal
	switch unit {
	case OneTime:
		return decimal.NewFromInt(1), nil
	case Monthly:
		size = decimal.NewFromInt(int64(months)).Add(decimal.NewFromInt(int64(days)).Div(decimal.NewFromInt(int64(daysIn(end.Year(), end.Month())))))
	case Annual:
		year := int64(365)
		if daysIn(end.Year(), time.February) == 29 {
			year = 366
		}
		size = decimal.NewFromInt(int64(months)).Div(twelve).Add(decimal.NewFromInt(int64(days)).Div(decimal.NewFromInt(year)))
	default:
		return decimal.Zero, fmt.Errorf("period: no period %q", unit)
	}
	return size.RoundBank(2), nil
}

// Anchor says what renewals are aligned to.
type Anchor string

const (
	OnRegister  Anchor = "ON_REGISTER"   // the day (and month) the service was registered
	OnFixedDate Anchor = "ON_FIXED_DATE" // the 1st of the month (and the annual billing month)
)

// Point is what a billing run charges an order up to.
type Point struct {
	Period Period
	Anchor Anchor
	// Prepay charges the period ahead; postpay the one behind.
	Prepay bool
	// AnnualMonth is the month annual fixed-date services renew in
	// (SERVICES_SERVICE_ANUAL_BILLING_MONTH).
	AnnualMonth time.Month
}

// Of is the billing point of an order registered on registered when a run
// bills at bp0: with fixed, bp0 itself; else the next renewal (prepay) or
// the last one (postpay) as the period and the anchor align it; a one-time
// service's is its registration. A point after cancelled (when not zero
// and the service does something on cancel) is cut back to it.
func (p Point) Of(bp0, registered, cancelled time.Time, fixed, cutAtCancel bool) (time.Time, error) {
	bp0, registered = Date(bp0), Date(registered)
	bp := bp0
	if !fixed {
		switch p.Period {
		case OneTime:
			bp = registered
		case Monthly:
			base := bp0
			if p.Prepay {
				base = AddMonths(bp0, 1)
			}
			day := 1
			if p.Anchor == OnRegister {
				day = registered.Day()
			}
			// a registration on the 31st renews on the last of shorter months
			bp = time.Date(base.Year(), base.Month(), min(day, daysIn(base.Year(), base.Month())), 0, 0, 0, 0, time.UTC)
		case Annual:
			month, day := p.AnnualMonth, 1
			if p.Anchor == OnRegister {
				month, day = registered.Month(), registered.Day()
			}
			if month < time.January || month > time.December {
				return time.Time{}, fmt.Errorf("period: no month %d", month)
			}
			// the month decides, as in the original: billed anywhere in the
			// anchor's month, prepay runs to next year's, postpay to this one's
			year := bp0.Year()
			switch {
			case p.Prepay && bp0.Month() >= month:
				year++
			case !p.Prepay && bp0.Month() < month:
				year--
			}
			bp = time.Date(year, month, min(day, daysIn(year, month)), 0, 0, 0, 0, time.UTC)
		default:
			return time.Time{}, fmt.Errorf("period: no period %q", p.Period)
		}
	}
	if cutAtCancel && !cancelled.IsZero() && Date(cancelled).Before(bp) {
		bp = Date(cancelled)
	}
	return bp, nil
}
