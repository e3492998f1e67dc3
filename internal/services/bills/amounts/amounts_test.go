package amounts

import (
	"fmt"
	"testing"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// TestTotals: worked examples of line totals, tax groups and the bill's
// total, rounded half to even, the total only at the end.
func TestTotals(t *testing.T) {
	discounted := Line{Subtotal: dec("10.00"), Sublines: []decimal.Decimal{dec("-2.50")}, Tax: dec("21")}
	if got := discounted.Total(); got.StringFixed(2) != "7.50" {
		t.Errorf("a discounted line: %s", got)
	}
	// 21% of 7.50 is 1.575: half to even gives 1.58; the total 9.075 gives 9.08
	if g := Groups([]Line{discounted}); len(g) != 1 || g[0].Base.StringFixed(2) != "7.50" || g[0].Tax.StringFixed(2) != "1.58" {
		t.Errorf("one group: %+v", g)
	}
	if got := Total([]Line{discounted}); got.StringFixed(2) != "9.08" {
		t.Errorf("its total: %s", got)
	}
	mixed := []Line{{Subtotal: dec("10"), Tax: dec("21")}, {Subtotal: dec("5"), Tax: dec("0")}, {Subtotal: dec("2.40"), Tax: dec("21")}}
	if got := fmt.Sprint(groupsText(Groups(mixed))); got != "[0%: 5.00 + 0.00 21%: 12.40 + 2.60]" {
		t.Errorf("groups by rate: %s", got)
	}
	if got := Total(mixed); got.StringFixed(2) != "20.00" {
		t.Errorf("a mixed total: %s", got)
	}
	// rounded once at the end: three lines of 1.01 at 21% are 3.6663 → 3.67,
	// where rounding each (1.22) would give 3.66
	three := []Line{{Subtotal: dec("1.01"), Tax: dec("21")}, {Subtotal: dec("1.01"), Tax: dec("21")}, {Subtotal: dec("1.01"), Tax: dec("21")}}
	if got := Total(three); got.StringFixed(2) != "3.67" {
		t.Errorf("three small lines: %s", got)
	}
	// a line made free by its discounts is zero, not negative
	if got := (Line{Subtotal: dec("3"), Sublines: []decimal.Decimal{dec("-1"), dec("-2")}}).Total(); !got.IsZero() {
		t.Errorf("a free line: %s", got)
	}
	if got := Total(nil); !got.IsZero() {
		t.Errorf("no lines: %s", got)
	}
}

func groupsText(gs []TaxGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Rate.String()+"%: "+g.Base.StringFixed(2)+" + "+g.Tax.StringFixed(2))
	}
	return out
}

// TestNumbers: numbers per type and year, an O while open, and the
// sequence past 9,999 compared as a number.
func TestNumbers(t *testing.T) {
	for _, c := range []struct {
		prefix    string
		year, seq int
		open      bool
		want      string
	}{{"I", 2026, 1, false, "I20260001"}, {"I", 2026, 2, true, "OI20260002"}, {"F", 2027, 42, false, "F20270042"},
		{"I", 2026, 10000, false, "I202610000"}, {"P", 2026, 7, true, "OP20260007"}} {
		if got := Number(c.prefix, c.year, c.seq, 4, c.open); got != c.want {
			t.Errorf("Number(%s, %d, %d, open %v) = %s, want %s", c.prefix, c.year, c.seq, c.open, got, c.want)
		}
	}
	existing := []string{"I20269999", "I202610000", "OI202610007", "I20250500", "A20260003", "F20260001", "OF20260004"}
	for _, c := range []struct {
		prefix string
		year   int
		open   bool
		want   int
	}{{"I", 2026, false, 10001}, {"I", 2026, true, 10008}, {"I", 2025, false, 501}, {"I", 2025, true, 1}, {"I", 2027, false, 1},
		{"A", 2026, false, 4}, {"B", 2026, false, 1}, {"F", 2026, false, 2}, {"F", 2026, true, 5}} {
		if got := Next(existing, c.prefix, c.year, c.open); got != c.want {
			t.Errorf("Next(%s, %d, open %v) = %d, want %d", c.prefix, c.year, c.open, got, c.want)
		}
	}
	if Prefixes[Invoice] != "I" || Prefixes[AmendmentInvoice] != "A" || Prefixes[Fee] != "F" || Prefixes[AmendmentFee] != "B" || Prefixes[ProForma] != "P" {
		t.Errorf("prefixes %v", Prefixes)
	}
}

// TestPaymentState: the state a closed bill's transactions give it.
func TestPaymentState(t *testing.T) {
	tx := func(state, amount string) Transaction { return Transaction{State: state, Amount: dec(amount)} }
	for _, c := range []struct {
		name  string
		open  bool
		total string
		txs   []Transaction
		want  string
	}{
		{"open", true, "100", nil, StateOpen},
		{"closed at zero", false, "0", nil, StatePaid},
		{"secured", false, "100", []Transaction{tx(Secured, "100")}, StatePaid},
		{"waiting to be processed", false, "100", []Transaction{tx(WaitingProcessing, "100")}, StateCreated},
		{"waiting to be executed", false, "100", []Transaction{tx(WaitingExecution, "100")}, StateProcessed},
		{"executed", false, "100", []Transaction{tx(Executed, "100")}, StateExecuted},
		{"part secured, part on its way, short", false, "100", []Transaction{tx(Secured, "40"), tx(WaitingExecution, "30")}, StateIncomplete},
		{"part secured, the rest on its way", false, "100", []Transaction{tx(Secured, "40"), tx(Executed, "60")}, StateExecuted},
		{"rejected", false, "100", []Transaction{tx(Rejected, "100")}, StateBadDebt},
		{"rejected then reissued", false, "100", []Transaction{tx(Rejected, "100"), tx(WaitingProcessing, "100")}, StateCreated},
		{"nothing", false, "100", nil, StateBadDebt},
		{"a refund made", false, "-50", []Transaction{tx(Secured, "-50")}, StatePaid},
		{"a refund short", false, "-50", []Transaction{tx(WaitingExecution, "-20")}, StateIncomplete},
	} {
		if got := PaymentState(c.open, dec(c.total), c.txs); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
