package rates

import (
	"errors"
	"fmt"
	"testing"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func table(pairs ...any) []Rate {
	var out []Rate
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Rate{Quantity: pairs[i].(int), Price: dec(pairs[i+1].(string))})
	}
	return out
}

func check(t *testing.T, name string, alg Algorithm, plans []Plan, metric, nominal, wantSteps, wantPrice string) {
	t.Helper()
	steps, err := alg(plans, dec(metric), dec(nominal))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := fmt.Sprint(steps); wantSteps != "" && got != wantSteps {
		t.Errorf("%s: steps %s, want %s", name, got, wantSteps)
	}
	price, err := Price(steps, dec(metric), dec(nominal))
	if err != nil || price.StringFixed(2) != wantPrice {
		t.Errorf("%s: price %s %v, want %s", name, price, err, wantPrice)
	}
}

// TestStepPrice: worked examples of step pricing, by hand.
func TestStepPrice(t *testing.T) {
	def := func(rates []Rate) []Plan {
		return []Plan{{Name: "default", Combinable: true, Contracts: 1, Rates: rates}}
	}
	// the reference's table: 1 unit free, 2 at 10, 2 at 9, the rest at 6
	check(t, "a default plan's table", StepPrice, def(table(0, "0", 2, "10", 4, "9", 6, "6")), "10", "10",
		"[1@0.00 2@10.00 2@9.00 5@6.00]", "68.00")
	steps, _ := StepPrice(def(table(0, "0", 2, "10", 4, "9", 6, "6")), dec("10"), dec("10"))
	for pos, want := range []string{"0", "10", "10", "9", "9", "6", "6", "6"} {
		if got, err := UnitPrice(steps, pos+1, dec("10")); err != nil || !got.Equal(dec(want)) {
			t.Errorf("unit %d costs %s %v, want %s", pos+1, got, err, want)
		}
	}
	if _, err := UnitPrice(steps, 11, dec("10")); !errors.Is(err, ErrShort) {
		t.Errorf("unit 11 of 10: %v", err)
	}
	check(t, "a metric inside the first steps", StepPrice, def(table(0, "0", 2, "10", 4, "9", 6, "6")), "3", "10", "[1@0.00 2@10.00]", "20.00")
	// a table starting above zero is nominal below it
	check(t, "a table from 3 on", StepPrice, def(table(3, "5")), "5", "10", "[2@10.00 3@5.00]", "35.00")
	// two contracts of a plan whose cheap block comes first: twice the block
	// (the original inserted a nominal row per contract and billed 261)
	dupe := []Plan{{Name: "dupe", Combinable: true, Contracts: 2, Rates: table(1, "0", 3, "9")}}
	check(t, "two contracts, the table from 1", StepPrice, dupe, "30", "10", "[4@0.00 26@9.00]", "234.00")
	check(t, "two contracts, a free first unit", StepPrice, []Plan{{Name: "p", Combinable: true, Contracts: 2, Rates: table(0, "0", 2, "10")}}, "5", "10", "[2@0.00 3@10.00]", "30.00")
	// one combinable plan with a non-combinable one: each with its own rates
	// (the original priced the combinable one with the last plan's: 50.00)
	check(t, "a lone combinable plan", StepPrice, []Plan{
		{Name: "a", Combinable: true, Contracts: 1, Rates: table(0, "1")},
		{Name: "b", Combinable: false, Contracts: 1, Rates: table(0, "5")}}, "10", "10", "[10@1.00]", "10.00")
	// merged combinable plans, filled greedily (the original's overshoot gave 74)
	check(t, "a greedy merge", StepPrice, []Plan{
		{Name: "a", Combinable: true, Contracts: 1, Rates: table(0, "9")},
		{Name: "b", Combinable: true, Contracts: 1, Rates: table(0, "10", 7, "1")}}, "10", "10", "[6@9.00 4@1.00]", "58.00")
	// the cheapest of the non-combinable plans
	check(t, "non-combinable plans, the cheaper wins", StepPrice, []Plan{
		{Name: "a", Contracts: 1, Rates: table(0, "5")},
		{Name: "b", Contracts: 1, Rates: table(0, "7", 3, "2")}}, "10", "10", "[2@7.00 8@2.00]", "30.00")
	// no rates: the nominal price
	check(t, "no rates", StepPrice, nil, "3", "4.50", "[]", "13.50")
	check(t, "a fractional metric", StepPrice, def(table(0, "2", 2, "1")), "2.5", "2", "[1@2.00 1.5@1.00]", "3.50")
}

// TestMatchPrice: every unit at the price the quantity reaches.
func TestMatchPrice(t *testing.T) {
	plan := []Plan{{Name: "p", Contracts: 1, Rates: table(0, "10", 5, "8", 10, "6")}}
	check(t, "below the first step", MatchPrice, plan, "4", "10", "[4@10.00]", "40.00")
	check(t, "at a step", MatchPrice, plan, "5", "10", "[5@8.00]", "40.00")
	check(t, "between steps", MatchPrice, plan, "7", "10", "[7@8.00]", "56.00")
	check(t, "past the last", MatchPrice, plan, "12", "10", "[12@6.00]", "72.00")
	check(t, "the cheapest plan", MatchPrice, append(plan, Plan{Name: "q", Contracts: 1, Rates: table(0, "9")}), "3", "10", "[3@9.00]", "27.00")
	check(t, "a table from 5, below it: nominal", MatchPrice, []Plan{{Name: "p", Contracts: 1, Rates: table(5, "8")}}, "3", "10", "[3@10.00]", "30.00")
	check(t, "no rates", MatchPrice, nil, "3", "10", "[]", "30.00")
}

// TestBestPrice: each unit at the cheapest price it qualifies for.
func TestBestPrice(t *testing.T) {
	plan := []Plan{{Name: "p", Contracts: 1, Rates: table(0, "10", 5, "8")}}
	check(t, "all units at the best reached", BestPrice, plan, "10", "10", "[10@8.00]", "80.00")
	check(t, "below the cheaper row", BestPrice, plan, "3", "10", "[3@10.00]", "30.00")
	check(t, "a free block twice for two contracts", BestPrice, []Plan{{Name: "p", Contracts: 2, Rates: table(0, "0", 3, "10")}}, "5", "10",
		"[4@0.00 1@10.00]", "10.00")
	check(t, "pooled plans", BestPrice, []Plan{
		{Name: "a", Contracts: 1, Rates: table(0, "0", 2, "10")},
		{Name: "b", Contracts: 1, Rates: table(0, "7")}}, "6", "10", "[1@0.00 5@7.00]", "35.00")
}

func TestPriceRounding(t *testing.T) {
	for _, c := range []struct{ metric, nominal, want string }{
		{"1.25", "0.10", "0.12"}, // 0.125, half to even
		{"1.35", "0.10", "0.14"}, // 0.135
		{"3", "0.333", "1.00"},   // 0.999
		{"2.5", "0.10", "0.25"},
	} {
		if got, _ := Price(nil, dec(c.metric), dec(c.nominal)); got.StringFixed(2) != c.want {
			t.Errorf("%s × %s = %s, want %s", c.metric, c.nominal, got, c.want)
		}
	}
	if _, err := Price([]Step{{Quantity: dec("2"), Price: dec("1")}}, dec("3"), dec("1")); !errors.Is(err, ErrShort) {
		t.Errorf("steps short of the metric: %v", err)
	}
	for _, name := range []string{"STEP_PRICE", "MATCH_PRICE", "BEST_PRICE"} {
		if Algorithms[name] == nil {
			t.Errorf("no algorithm %s", name)
		}
	}
}
