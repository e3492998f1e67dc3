// Package amounts holds a bill's arithmetic and its numbering: line totals,
// the base and tax of each rate, the bill's total, the payment state its
// transactions give it, and bill numbers. Money is exact decimals, rounded
// half to even to cents where the reference rounds (§6.2, §6.3, §6.8).
package amounts

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"
)

// Line is a bill line: its subtotal at the nominal price, the totals of its
// sublines (discounts, negative) and its tax rate in percent.
type Line struct {
	Subtotal decimal.Decimal
	Sublines []decimal.Decimal
	Tax      decimal.Decimal
}

// Total is the line's subtotal plus its sublines, in cents.
func (l Line) Total() decimal.Decimal {
	t := l.Subtotal
	for _, s := range l.Sublines {
		t = t.Add(s)
	}
	return t.RoundBank(2)
}

// TaxGroup is what the lines of one tax rate add up to.
type TaxGroup struct {
	Rate decimal.Decimal // percent
	Base decimal.Decimal // the lines' totals
	Tax  decimal.Decimal // rate × base, in cents
}

var hundred = decimal.NewFromInt(100)

// Groups are the bill's bases and taxes per rate, by rate ascending.
func Groups(lines []Line) []TaxGroup {
	var out []TaxGroup
	for _, l := range lines {
		i := slices.IndexFunc(out, func(g TaxGroup) bool { return g.Rate.Equal(l.Tax) })
		if i < 0 {
			out = append(out, TaxGroup{Rate: l.Tax})
			i = len(out) - 1
		}
		out[i].Base = out[i].Base.Add(l.Total())
	}
	for i := range out {
		out[i].Tax = out[i].Rate.Div(hundred).Mul(out[i].Base).RoundBank(2)
	}
	slices.SortFunc(out, func(a, b TaxGroup) int { return a.Rate.Cmp(b.Rate) })
	return out
}

// Total is the bill's total: each line's total with its tax, summed, and
// rounded to cents only at the end, as the reference does.
func Total(lines []Line) decimal.Decimal {
	t := decimal.Zero
	for _, l := range lines {
		sum := l.Subtotal
		for _, s := range l.Sublines {
			sum = sum.Add(s)
		}
		t = t.Add(sum.Mul(hundred.Add(l.Tax)).Div(hundred))
	}
	return t.RoundBank(2)
}

// Bill types, as stored, and their number prefixes.
const (
	Invoice          = "INVOICE"
	AmendmentInvoice = "AMENDMENTINVOICE"
	Fee              = "FEE"
	AmendmentFee     = "AMENDMENTFEE"
	ProForma         = "PROFORMA"
)

// Prefixes are the bill number prefixes by type (BILLS_*_NUMBER_PREFIX).
var Prefixes = map[string]string{Invoice: "I", AmendmentInvoice: "A", Fee: "F", AmendmentFee: "B", ProForma: "P"}

// Number is a bill's number: an O while it is open, the type's prefix, the
// year and its sequence, zero-padded to width (BILLS_NUMBER_LENGTH) and
// longer past it: I20260001, OI20260002, I202610000.
func Number(prefix string, year, seq, width int, open bool) string {
	o := ""
	if open {
		o = "O"
	}
	return fmt.Sprintf("%s%s%04d%0*d", o, prefix, year, width, seq)
}

// Next is the sequence after the greatest among numbers of prefix and year,
// open or closed as asked: closed bills number on among closed ones, so
// that they follow each other without gaps, as the original's. They are
// compared as numbers: past 9,999 the original's string comparison took
// I20269999 for greater than I202610000.
func Next(numbers []string, prefix string, year int, open bool) int {
	o := ""
	if open {
		o = "O"
	}
	re := regexp.MustCompile("^" + o + regexp.QuoteMeta(prefix) + fmt.Sprintf("%04d", year) + "([0-9]+)$")
	high := 0
	for _, n := range numbers {
		if m := re.FindStringSubmatch(n); m != nil {
			if v, err := strconv.Atoi(m[1]); err == nil && v > high {
				high = v
			}
		}
	}
	return high + 1
}

// Transaction states.
const (
	Secured           = "SECURED"
	WaitingProcessing = "WAITTING_PROCESSING" // the original's spelling, kept in stored values
	WaitingExecution  = "WAITTING_EXECUTION"
	Executed          = "EXECUTED"
	Rejected          = "REJECTED"
	StateOpen         = "OPEN"
	StatePaid         = "PAID"
	StateIncomplete   = "INCOMPLETE"
	StateCreated      = "CREATED"
	StateProcessed    = "PROCESSED"
	StateExecuted     = "EXECUTED"
	StateBadDebt      = "BAD_DEBT"
)

// Transaction is what a payment state is derived from.
type Transaction struct {
	State  string
	Amount decimal.Decimal
}

// PaymentState derives a bill's payment state from its transactions: OPEN
// while the bill is open (or a pro forma), PAID once what is secured
// covers the total, INCOMPLETE while some is under way but what is pending
// falls short, else how far the transactions got (CREATED, PROCESSED,
// EXECUTED) or BAD_DEBT. Negative totals (a refund) mirror the
// comparisons.
func PaymentState(open bool, total decimal.Decimal, txs []Transaction) string {
	if open {
		return StateOpen
	}
	secured, pending := decimal.Zero, decimal.Zero
	var created, processed, executed bool
	for _, t := range txs {
		switch t.State {
		case Secured:
			secured, pending = secured.Add(t.Amount), pending.Add(t.Amount)
		case WaitingProcessing:
			pending, created = pending.Add(t.Amount), true
		case WaitingExecution:
			pending, processed = pending.Add(t.Amount), true
		case Executed:
			pending, executed = pending.Add(t.Amount), true
		}
	}
	ongoing := !secured.IsZero() || created || processed || executed
	covers := func(a decimal.Decimal) bool { // a covers the total, mirrored for refunds
		if total.IsNegative() {
			return a.LessThanOrEqual(total)
		}
		return a.GreaterThanOrEqual(total)
	}
	switch {
	case covers(secured):
		return StatePaid
	case ongoing && !covers(pending):
		return StateIncomplete
	case created:
		return StateCreated
	case processed:
		return StateProcessed
	case executed:
		return StateExecuted
	}
	return StateBadDebt
}
