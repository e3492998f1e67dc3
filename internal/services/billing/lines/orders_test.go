package lines

import (
	"testing"

	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
	"github.com/orchestra-panel/orchestra/internal/services/billing/rates"
)

const (
	monthly = period.Monthly
	annual  = period.Annual
	oneTime = period.OneTime
	fixed   = period.OnFixedDate
	onReg   = period.OnRegister
	prepay  = true
	postpay = false
)

// TestPoints: worked examples, by hand, of billing points, periods and
// sizes through Bill, at the nominal price (no rates). A size is whole
// months (or twelfths of a year) and the days left as a share of the END
// date's month (or year), rounded half to even.
func TestPoints(t *testing.T) {
	mPre := svc(monthly, fixed, prepay, "", "DISCOUNT", "10")
	mReg := svc(monthly, onReg, prepay, "", "DISCOUNT", "10")
	mPost := svc(monthly, fixed, postpay, "", "DISCOUNT", "10")
	aPre := svc(annual, fixed, prepay, "", "DISCOUNT", "120")
	aReg := svc(annual, onReg, prepay, "", "DISCOUNT", "120")
	aPost := svc(annual, fixed, postpay, "", "DISCOUNT", "120")
	runExamples(t, []example{
		{
			// prepay: 15 May + 1 month = 15 Jun → the 1st: 1 Jun.
			// 15 May → 1 Jun = 0 months + 17 days of June's 30 = 0.5667 → 0.57 × 10.00 = 5.70
			name: "monthly fixed prepay, a new order", s: mPre,
			batch: []Order{{ID: 1, Registered: d("2024-05-15")}}, o: today("2024-05-15"),
			lines:   []string{"#1 2024-05-15→2024-06-01 0.57×1 sub 5.70 = 5.70"},
			updates: []string{"#1 on 2024-05-15 until 2024-06-01 metric -"},
		},
		{
			// billed until 1 Jun, run on 1 Jun: 1 Jul. 1 Jun → 1 Jul = 1 month = 1.00 × 10.00 = 10.00
			name: "monthly fixed prepay, a renewal", s: mPre,
			batch: []Order{{ID: 1, Registered: d("2024-03-10"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01")}}, o: today("2024-06-01"),
			lines:   []string{"#1 2024-06-01→2024-07-01 1.00×1 sub 10.00 = 10.00"},
			updates: []string{"#1 on 2024-06-01 until 2024-07-01 metric -"},
		},
		{
			// on register, day 31: 31 Jan + 1 month = 29 Feb (leap), day 31 clipped to 29.
			// 31 Jan → 29 Feb: 31 Jan + 1 month clips to 29 Feb = 1 month = 1.00 × 10.00 = 10.00
			name: "registered on the 31st, into a leap February", s: mReg,
			batch: []Order{{ID: 1, Registered: d("2024-01-31")}}, o: today("2024-01-31"),
			lines:   []string{"#1 2024-01-31→2024-02-29 1.00×1 sub 10.00 = 10.00"},
			updates: []string{"#1 on 2024-01-31 until 2024-02-29 metric -"},
		},
		{
			// registered the 30th, billed until 28 Feb (clipped), run 28 Feb:
			// 28 Feb + 1 month = 28 Mar, day 30 → 30 Mar.
			// 28 Feb → 30 Mar = 1 month (28 Mar) + 2 days of March's 31 = 1.0645 → 1.06 × 10.00 = 10.60
			name: "registered on the 30th, back from a short February", s: mReg,
			batch: []Order{{ID: 1, Registered: d("2023-01-30"), BilledOn: d("2023-01-30"), BilledUntil: d("2023-02-28")}}, o: today("2023-02-28"),
			lines:   []string{"#1 2023-02-28→2023-03-30 1.06×1 sub 10.60 = 10.60"},
			updates: []string{"#1 on 2023-02-28 until 2023-03-30 metric -"},
		},
		{
			// registered 10 Feb 2024: prepay → 1 Mar. 10 Feb → 1 Mar = 20 days of
			// MARCH's 31 (not February's 29) = 0.6452 → 0.65 × 10.00 = 6.50
			name: "a leap February, the end's month counts", s: mPre,
			batch: []Order{{ID: 1, Registered: d("2024-02-10")}}, o: today("2024-02-10"),
			lines:   []string{"#1 2024-02-10→2024-03-01 0.65×1 sub 6.50 = 6.50"},
			updates: []string{"#1 on 2024-02-10 until 2024-03-01 metric -"},
		},
		{
			// postpay monthly aligns on the run's day (20 May), the billing point option
			// (15 Jun) ignored: the 1st of May. 1 Apr → 1 May = 1.00 × 10.00 = 10.00
			name: "monthly postpay, the point option ignored", s: mPost,
			batch:   []Order{{ID: 1, Registered: d("2024-03-10"), BilledOn: d("2024-04-02"), BilledUntil: d("2024-04-01")}},
			o:       Options{Point: d("2024-06-15"), Today: d("2024-05-20")},
			lines:   []string{"#1 2024-04-01→2024-05-01 1.00×1 sub 10.00 = 10.00"},
			updates: []string{"#1 on 2024-05-20 until 2024-05-01 metric -"},
		},
		{
			// postpay, run 3 May: 1 May. 10 Apr → 1 May = 21 days of May's 31 = 0.6774 → 0.68 × 10.00 = 6.80
			name: "monthly postpay, a first bill", s: mPost,
			batch: []Order{{ID: 1, Registered: d("2024-04-10")}}, o: today("2024-05-03"),
			lines:   []string{"#1 2024-04-10→2024-05-01 0.68×1 sub 6.80 = 6.80"},
			updates: []string{"#1 on 2024-05-03 until 2024-05-01 metric -"},
		},
		{
			// postpay, run 20 May: the point is 1 May, before the registration (10 May):
			// nothing to charge yet (the original billed a negative stretch)
			name: "monthly postpay, registered after the point", s: mPost,
			batch: []Order{{ID: 1, Registered: d("2024-05-10")}}, o: today("2024-05-20"),
		},
		{
			// annual fixed (January) prepay, run 15 May 2024: May ≥ January → 1 Jan 2025.
			// 15 May 2024 → 1 Jan 2025 = 7 months (15 Dec) + 17 days of 2025's 365
			// = 0.5833 + 0.0466 = 0.6299 → 0.63 × 120.00 = 75.60
			name: "annual fixed prepay, a new order", s: aPre,
			batch: []Order{{ID: 1, Registered: d("2024-05-15")}}, o: today("2024-05-15"),
			lines:   []string{"#1 2024-05-15→2025-01-01 0.63×1 sub 75.60 = 75.60"},
			updates: []string{"#1 on 2024-05-15 until 2025-01-01 metric -"},
		},
		{
			// anniversary 29 Feb, run 20 Feb 2024 (the month decides: next year's),
			// 2025 has no 29 Feb: 28 Feb 2025. 29 Feb 2024 + 12 months = 28 Feb 2025:
			// 12 months = 1.00 × 120.00 = 120.00
			name: "annual on register, a 29 February anniversary", s: aReg,
			batch: []Order{{ID: 1, Registered: d("2020-02-29"), BilledOn: d("2023-02-01"), BilledUntil: d("2024-02-29")}}, o: today("2024-02-20"),
			lines:   []string{"#1 2024-02-29→2025-02-28 1.00×1 sub 120.00 = 120.00"},
			updates: []string{"#1 on 2024-02-20 until 2025-02-28 metric -"},
		},
		{
			// anniversary 10 March, run 20 Feb 2024: February < March → this year's,
			// 10 Mar 2024, already billed: skipped
			name: "annual on register, billed before its month: already billed", s: aReg,
			batch: []Order{{ID: 1, Registered: d("2021-03-10"), BilledOn: d("2023-03-01"), BilledUntil: d("2024-03-10")}}, o: today("2024-02-20"),
		},
		{
			// the same on 5 March: the month (March) decides → 10 Mar 2025.
			// 10 Mar 2024 → 10 Mar 2025 = 1.00 × 120.00 = 120.00
			name: "annual on register, billed in its month before the day", s: aReg,
			batch: []Order{{ID: 1, Registered: d("2021-03-10"), BilledOn: d("2023-03-01"), BilledUntil: d("2024-03-10")}}, o: today("2024-03-05"),
			lines:   []string{"#1 2024-03-10→2025-03-10 1.00×1 sub 120.00 = 120.00"},
			updates: []string{"#1 on 2024-03-05 until 2025-03-10 metric -"},
		},
		{
			// annual postpay (raised in the original): run 10 May 2024, the last
			// 1 January: 1 Jan 2024. 1 Jun 2023 → 1 Jan 2024 = 7 months = 7/12
			// = 0.5833 → 0.58 × 120.00 = 69.60
			name: "annual fixed postpay", s: aPost,
			batch: []Order{{ID: 1, Registered: d("2023-06-01")}}, o: today("2024-05-10"),
			lines:   []string{"#1 2023-06-01→2024-01-01 0.58×1 sub 69.60 = 69.60"},
			updates: []string{"#1 on 2024-05-10 until 2024-01-01 metric -"},
		},
		{
			// annual prepay priced monthly counts months: 15 May 2024 → 1 Jan 2025
			// = 7 months + 17 days of January's 31 = 7.5484 → 7.55 × 10.00 = 75.50
			name: "annual prepay priced monthly: sizes in months", s: svc(annual, fixed, prepay, "MONTHLY", "DISCOUNT", "10"),
			batch: []Order{{ID: 1, Registered: d("2024-05-15")}}, o: today("2024-05-15"),
			lines:   []string{"#1 2024-05-15→2025-01-01 7.55×1 sub 75.50 = 75.50"},
			updates: []string{"#1 on 2024-05-15 until 2025-01-01 metric -"},
		},
		{
			// one-time: the point is the registration, size 1: 1 × 50.00 = 50.00, no end
			name: "one-time", s: svc(oneTime, fixed, prepay, "", "DISCOUNT", "50"),
			batch: []Order{{ID: 1, Registered: d("2024-05-10")}}, o: today("2024-05-20"),
			lines:   []string{"#1 2024-05-10→- 1.00×1 sub 50.00 = 50.00"},
			updates: []string{"#1 on 2024-05-20 until 2024-05-10 metric -"},
		},
		{
			// billed until its registration already: nothing
			name: "one-time, billed once only", s: svc(oneTime, fixed, prepay, "", "DISCOUNT", "50"),
			batch: []Order{{ID: 1, Registered: d("2024-05-10"), BilledOn: d("2024-05-20"), BilledUntil: d("2024-05-10")}}, o: today("2024-06-20"),
		},
		{
			// fixed point: exactly 25 May. 10 May → 25 May = 15 days of May's 31
			// = 0.4839 → 0.48 × 10.00 = 4.80
			name: "fixed point", s: mPre,
			batch: []Order{{ID: 1, Registered: d("2024-05-10")}}, o: Options{Point: d("2024-05-25"), Fixed: true, Today: d("2024-05-20")},
			lines:   []string{"#1 2024-05-10→2024-05-25 0.48×1 sub 4.80 = 4.80"},
			updates: []string{"#1 on 2024-05-20 until 2024-05-25 metric -"},
		},
		{
			// run 15 Dec: 15 Jan 2025 → 1 Jan 2025. 1 Dec → 1 Jan = 1.00 × 10.00 = 10.00
			name: "monthly across the year end", s: mPre,
			batch: []Order{{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-11-01"), BilledUntil: d("2024-12-01")}}, o: today("2024-12-15"),
			lines:   []string{"#1 2024-12-01→2025-01-01 1.00×1 sub 10.00 = 10.00"},
			updates: []string{"#1 on 2024-12-15 until 2025-01-01 metric -"},
		},
		{
			// registered 31 Dec 2024, annual: 1 Jan 2025. 1 day of 2025's 365 =
			// 0.0027 → 0.00: a zero quantity, the line dropped; the order still
			// moves on to 1 Jan 2025
			name: "a zero-quantity line dropped at the year end", s: aPre,
			batch: []Order{{ID: 1, Registered: d("2024-12-31")}}, o: today("2024-12-31"),
			updates: []string{"#1 on 2024-12-31 until 2025-01-01 metric -"},
		},
		{
			// #1 billed until 1 Jun, run 20 May: the point is 1 Jun, skipped.
			// #2: 20 May → 1 Jun = 12 days of June's 30 = 0.40 × 10.00 = 4.00
			name: "an order already billed skipped", s: mPre,
			batch: []Order{
				{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01")},
				{ID: 2, Registered: d("2024-05-20")},
			}, o: today("2024-05-20"),
			lines:   []string{"#2 2024-05-20→2024-06-01 0.40×1 sub 4.00 = 4.00"},
			updates: []string{"#2 on 2024-05-20 until 2024-06-01 metric -"},
		},
	})
}

// TestCancel: on_cancel, worked by hand: DISCOUNT and REFUND cut the
// point at the cancellation, NOTHING does not, REFUND credits the time
// paid after it.
func TestCancel(t *testing.T) {
	m := func(onCancel string) Service { return svc(monthly, fixed, prepay, "", onCancel, "10") }
	cancelled := Order{ID: 1, Registered: d("2024-03-10"), BilledOn: d("2024-04-01"), BilledUntil: d("2024-05-01"), Cancelled: d("2024-05-20")}
	other := Order{ID: 2, Registered: d("2024-03-12"), BilledOn: d("2024-04-01"), BilledUntil: d("2024-05-01")}
	paidAhead := Order{ID: 1, Registered: d("2024-03-10"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01"), Cancelled: d("2024-05-20")}
	paid8 := paidAhead
	paid8.Paid = decp("8.00")
	runExamples(t, []example{
		{
			// 1 Jun cut at 20 May. 1 May → 20 May = 19 days of May's 31 = 0.6129 → 0.61 × 10.00 = 6.10
			name: "DISCOUNT: the period cut at the cancellation", s: m("DISCOUNT"),
			batch: []Order{cancelled}, o: today("2024-05-25"),
			lines:   []string{"#1 2024-05-01→2024-05-20 0.61×1 sub 6.10 = 6.10"},
			updates: []string{"#1 on 2024-05-25 until 2024-05-20 metric -"},
		},
		{
			// no cut: 1 May → 1 Jun = 1.00 × 10.00 = 10.00
			name: "NOTHING: the whole period", s: m("NOTHING"),
			batch: []Order{cancelled}, o: today("2024-05-25"),
			lines:   []string{"#1 2024-05-01→2024-06-01 1.00×1 sub 10.00 = 10.00"},
			updates: []string{"#1 on 2024-05-25 until 2024-06-01 metric -"},
		},
		{
			// each order's point its own (decision 22.5; the original reused the
			// cut 20 May for #2): #1 6.10 as above; #2 1 May → 1 Jun = 10.00
			name: "a cancelled order first does not cut the next", s: m("DISCOUNT"),
			batch: []Order{cancelled, other}, o: today("2024-05-25"),
			lines: []string{
				"#1 2024-05-01→2024-05-20 0.61×1 sub 6.10 = 6.10",
				"#2 2024-05-01→2024-06-01 1.00×1 sub 10.00 = 10.00",
			},
			updates: []string{"#1 on 2024-05-25 until 2024-05-20 metric -", "#2 on 2024-05-25 until 2024-06-01 metric -"},
		},
		{
			// billed until 1 Jun, cancelled 20 May: DISCOUNT never credits billed time
			name: "DISCOUNT: billed past the cancellation, nothing", s: m("DISCOUNT"),
			batch: []Order{paidAhead}, o: today("2024-05-25"),
		},
		{
			// 20 May → 1 Jun = 12 days of June's 30 = 0.40; at the nominal price
			// (nothing known of what was paid): −(10.00 × 0.40) = −4.00; billed until back to 20 May
			name: "REFUND: the time after the cancellation credited", s: m("REFUND"),
			batch: []Order{paidAhead}, o: today("2024-05-25"),
			lines:   []string{"#1 2024-05-20→2024-06-01 0.40×1 sub -4.00 = -4.00"},
			updates: []string{"#1 on 2024-05-25 until 2024-05-20 metric -"},
		},
		{
			// paid 8.00 a period: subtotal −(10.00 × 0.40) = −4.00, the plan discount
			// given back: +(4.00 − 8.00 × 0.40 = 3.20) = +0.80 → −3.20
			name: "REFUND at the price paid", s: m("REFUND"),
			batch: []Order{paid8}, o: today("2024-05-25"),
			lines:   []string{"#1 2024-05-20→2024-06-01 0.40×1 sub -4.00 PLAN 0.80 = -3.20"},
			updates: []string{"#1 on 2024-05-25 until 2024-05-20 metric -"},
		},
		{
			// annual, paid until 1 Jan 2025, cancelled 15 Sep 2024: 15 Sep → 1 Jan =
			// 3 months (15 Dec) + 17 days of 2025's 365 = 0.25 + 0.0466 = 0.2966 → 0.30
			// × 120.00 = −36.00
			name: "REFUND of an annual service", s: svc(annual, fixed, prepay, "", "REFUND", "120"),
			batch:   []Order{{ID: 1, Registered: d("2023-02-01"), BilledOn: d("2024-01-01"), BilledUntil: d("2025-01-01"), Cancelled: d("2024-09-15")}},
			o:       today("2024-09-20"),
			lines:   []string{"#1 2024-09-15→2025-01-01 0.30×1 sub -36.00 = -36.00"},
			updates: []string{"#1 on 2024-09-20 until 2024-09-15 metric -"},
		},
	})
}

// TestCompensate: prepay COMPENSATE, worked by hand: cancelled orders
// prepaid past their cancellation give that time to the orders billed.
func TestCompensate(t *testing.T) {
	s := svc(monthly, fixed, prepay, "", "COMPENSATE", "10")
	runExamples(t, []example{
		{
			// giver #1 [10 May, 1 Jun), receiver #2 [10 May, ∞): all 22 days used.
			// 10 May → 1 Jun = 22 days of June's 30 = 0.7333 → 0.73 × 10.00 = 7.30,
			// compensation 0.73 × 10.00 = −7.30 → 0.00; the giver cut back to 10 May
			name: "a re-created order takes the credit", s: s,
			batch: []Order{
				{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01"), Cancelled: d("2024-05-10")},
				{ID: 2, Registered: d("2024-05-10")},
			}, o: today("2024-05-10"),
			lines: []string{"#2 2024-05-10→2024-06-01 0.73×1 sub 7.30 COMPENSATION -7.30 = 0.00"},
			updates: []string{
				"#1 on 2024-05-01 until 2024-05-10 metric -",
				"#2 on 2024-05-10 until 2024-06-01 metric -",
			},
		},
		{
			// the credit runs to 1 Aug, past the point (1 Jun): the line stretches there.
			// 10 May → 1 Aug = 2 months (10 Jul) + 22 days of August's 31 = 2.7097 → 2.71
			// × 10.00 = 27.10, compensation the same −27.10 → 0.00
			name: "a credit past the point stretches the line", s: s,
			batch:  []Order{{ID: 2, Registered: d("2024-05-10")}},
			others: []Order{{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-08-01"), Cancelled: d("2024-05-10")}},
			o:      today("2024-05-10"),
			lines:  []string{"#2 2024-05-10→2024-08-01 2.71×1 sub 27.10 COMPENSATION -27.10 = 0.00"},
			updates: []string{
				"#1 on 2024-05-01 until 2024-05-10 metric -",
				"#2 on 2024-05-10 until 2024-08-01 metric -",
			},
		},
		{
			// fixed point 20 May: #2's line [1 May, 20 May). Credit [22 May, 1 Sep) =
			// 102 days, after a gap of 2 days: 102 > 3 × 2, the line stretches to 1 Sep.
			// 1 May → 1 Sep = 4.00 × 10.00 = 40.00; 22 May → 1 Sep = 3 months (22 Aug)
			// + 10 days of September's 30 = 3.3333 → 3.33 × 10.00 = −33.30 → 6.70
			name: "a credit after a short gap: the 3× rule", s: s,
			batch:  []Order{{ID: 2, Registered: d("2024-05-01")}},
			others: []Order{{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-09-01"), Cancelled: d("2024-05-22")}},
			o:      Options{Point: d("2024-05-20"), Fixed: true, Today: d("2024-05-25")},
			lines:  []string{"#2 2024-05-01→2024-09-01 4.00×1 sub 40.00 COMPENSATION -33.30 = 6.70"},
			updates: []string{
				"#1 on 2024-05-01 until 2024-05-22 metric -",
				"#2 on 2024-05-25 until 2024-09-01 metric -",
			},
		},
		{
			// credit [1 Jul, 1 Aug) = 31 days after a gap of 42 (20 May → 1 Jul):
			// 31 ≤ 3 × 42, not taken, and the giver keeps it (not cut).
			// 1 May → 20 May = 19 days of May's 31 = 0.61 × 10.00 = 6.10
			name: "a credit after a long gap stays with its giver", s: s,
			batch:   []Order{{ID: 2, Registered: d("2024-05-01")}},
			others:  []Order{{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-08-01"), Cancelled: d("2024-07-01")}},
			o:       Options{Point: d("2024-05-20"), Fixed: true, Today: d("2024-05-25")},
			lines:   []string{"#2 2024-05-01→2024-05-20 0.61×1 sub 6.10 = 6.10"},
			updates: []string{"#2 on 2024-05-25 until 2024-05-20 metric -"},
		},
		{
			// givers sorted (billed until, latest first): G2 [20 May, 1 Jul) 42 days,
			// G1 [10 May, 1 Jun) 22 days. Receivers by id (never billed): #3, #4.
			// #3 [10 May, ∞): G2 overlaps 42, G1 22 → G2 [20 May, 1 Jul) first; left
			//   [10 May, 20 May): G1 overlaps 10 → [10 May, 20 May); G1's
			//   [20 May, 1 Jun) back to the pool.
			// #4 [15 May, ∞): G1's [20 May, 1 Jun) (12 days).
			// Cuts: G1 min(1 Jun, 10 May, 20 May) = 10 May; G2 20 May.
			// #3: line 10 May → 1 Jul (G2's credit runs past 1 Jun) = 1 month (10 Jun)
			//   + 21 days of July's 31 = 1.6774 → 1.68 × 10.00 = 16.80; credits
			//   20 May → 1 Jul = 1 month + 11/31 = 1.3548 → 1.35, 10 May → 20 May =
			//   10/31 = 0.3226 → 0.32: 1.67 × 10.00 = −16.70 → 0.10 (the rounding of
			//   three sizes)
			// #4: 15 May → 1 Jun = 17/30 = 0.5667 → 0.57 × 10.00 = 5.70; credit
			//   20 May → 1 Jun = 12/30 = 0.40 × 10.00 = −4.00 → 1.70
			name: "two givers, two receivers: the largest overlap first", s: s,
			batch: []Order{{ID: 3, Registered: d("2024-05-10")}, {ID: 4, Registered: d("2024-05-15")}},
			others: []Order{
				{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01"), Cancelled: d("2024-05-10")},
				{ID: 2, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-07-01"), Cancelled: d("2024-05-20")},
			},
			o: today("2024-05-20"),
			lines: []string{
				"#3 2024-05-10→2024-07-01 1.68×1 sub 16.80 COMPENSATION -16.70 = 0.10",
				"#4 2024-05-15→2024-06-01 0.57×1 sub 5.70 COMPENSATION -4.00 = 1.70",
			},
			updates: []string{
				"#1 on 2024-05-01 until 2024-05-10 metric -",
				"#2 on 2024-05-01 until 2024-05-20 metric -",
				"#3 on 2024-05-20 until 2024-07-01 metric -",
				"#4 on 2024-05-20 until 2024-06-01 metric -",
			},
		},
		{
			// #3 renews 1 May → 1 Jun = 1.00 × 10.00 = 10.00. Credits: G2 [16 May, 1 Jun)
			// (16 days, the larger) = 16/30 = 0.5333 → 0.53, G1 [1 May, 16 May) = 15/31
			// = 0.4839 → 0.48: 1.01 × 10.00 = −10.10, clipped to −10.00 → 0.00
			name: "a compensation never goes below zero", s: s,
			batch: []Order{{ID: 3, Registered: d("2024-01-01"), BilledOn: d("2024-04-01"), BilledUntil: d("2024-05-01")}},
			others: []Order{
				{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-04-01"), BilledUntil: d("2024-05-16"), Cancelled: d("2024-05-01")},
				{ID: 2, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01"), Cancelled: d("2024-05-16")},
			},
			o:     today("2024-05-16"),
			lines: []string{"#3 2024-05-01→2024-06-01 1.00×1 sub 10.00 COMPENSATION -10.00 = 0.00"},
			updates: []string{
				"#1 on 2024-04-01 until 2024-05-01 metric -",
				"#2 on 2024-05-01 until 2024-05-16 metric -",
				"#3 on 2024-05-16 until 2024-06-01 metric -",
			},
		},
		{
			// postpay: no compensation, the giver untouched.
			// 10 Apr → 1 May = 21 days of May's 31 = 0.68 × 10.00 = 6.80
			name: "postpay does not compensate", s: svc(monthly, fixed, postpay, "", "COMPENSATE", "10"),
			batch:   []Order{{ID: 2, Registered: d("2024-04-10")}},
			others:  []Order{{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-04-01"), BilledUntil: d("2024-05-01"), Cancelled: d("2024-04-10")}},
			o:       today("2024-05-03"),
			lines:   []string{"#2 2024-04-10→2024-05-01 0.68×1 sub 6.80 = 6.80"},
			updates: []string{"#2 on 2024-05-03 until 2024-05-01 metric -"},
		},
	})
}

// TestRates: the rate algorithms through Bill, worked by hand: concurrent
// orders (chunks, positions), register or renew (events), plan discounts.
func TestRates(t *testing.T) {
	step := svc(monthly, fixed, prepay, "", "DISCOUNT", "10").with(rates.StepPrice)
	// from unit 1 free, from unit 3 at 5.00: units 1–2 free, 3 on 5.00
	free2 := plan(1, 1, "0", 3, "5")
	// unit 1 free, from unit 2 on 4.00
	free1 := plan(1, 1, "0", 2, "4")
	renewed := func(id int) Order {
		return Order{ID: id, Registered: d("2024-01-01"), BilledOn: d("2024-04-01"), BilledUntil: d("2024-05-01")}
	}
	runExamples(t, []example{
		{
			// sorted: #3 (never billed, registered 16 May, after the others' 1 May)
			// first, then #1, #2 by id. Chunks:
			//  1 May → 16 May = 15/31 = 0.4839 → 0.48: #1, #2 alive, units 1, 2 free;
			//  16 May → 1 Jun = 16/30 = 0.5333 → 0.53: #3 unit 1, #1 unit 2 free, #2
			//  unit 3: 5.00 × 0.53 = 2.65.
			// #1: 1.00 × 10.00 = 10.00, price 0 → PLAN −10.00; #2: PLAN 2.65 − 10.00 =
			// −7.35 → 2.65; #3 16 May → 1 Jun 0.53 × 10.00 = 5.30, PLAN −5.30 → 0.00
			name: "concurrent: chunks and positions", s: step, plans: free2,
			batch: []Order{renewed(1), renewed(2), {ID: 3, Registered: d("2024-05-16")}}, o: today("2024-05-16"),
			lines: []string{
				"#1 2024-05-01→2024-06-01 1.00×1 sub 10.00 PLAN -10.00 = 0.00",
				"#2 2024-05-01→2024-06-01 1.00×1 sub 10.00 PLAN -7.35 = 2.65",
				"#3 2024-05-16→2024-06-01 0.53×1 sub 5.30 PLAN -5.30 = 0.00",
			},
			updates: []string{
				"#1 on 2024-05-16 until 2024-06-01 metric -",
				"#2 on 2024-05-16 until 2024-06-01 metric -",
				"#3 on 2024-05-16 until 2024-06-01 metric -",
			},
		},
		{
			// #5, billed until 1 Jun already (not in the batch), holds unit 1 (billed
			// until 1 Jun after #6's registration, 1 May): #6 is unit 2 all May:
			// 4.00 × 1.00 = 4.00; subtotal 10.00 → PLAN −6.00
			name: "concurrent: an order billed already holds its position", s: step, plans: free1,
			batch:   []Order{{ID: 6, Registered: d("2024-05-01")}},
			others:  []Order{{ID: 5, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01")}},
			o:       today("2024-05-01"),
			lines:   []string{"#6 2024-05-01→2024-06-01 1.00×1 sub 10.00 PLAN -6.00 = 4.00"},
			updates: []string{"#6 on 2024-05-01 until 2024-06-01 metric -"},
		},
		{
			// a table dearer than nominal (12.00): the price 12.00 × 1.00 is not
			// charged, only the nominal subtotal 10.00, and no surcharge line
			name: "rates dearer than nominal: no surcharge", s: step, plans: plan(1, 0, "12"),
			batch: []Order{{ID: 1, Registered: d("2024-05-01")}}, o: today("2024-05-01"),
			lines:   []string{"#1 2024-05-01→2024-06-01 1.00×1 sub 10.00 = 10.00"},
			updates: []string{"#1 on 2024-05-01 until 2024-06-01 metric -"},
		},
		{
			// two contracts of 0→0, 2→10: the free block twice, units 1–2 free, 3 at
			// 10.00. One chunk, 1 May → 1 Jun = 1.00: #1, #2 free (PLAN −10.00), #3 10.00
			name: "two contracts of a plan", s: step, plans: plan(2, 0, "0", 2, "10"),
			batch: []Order{renewed(1), renewed(2), renewed(3)}, o: today("2024-05-01"),
			lines: []string{
				"#1 2024-05-01→2024-06-01 1.00×1 sub 10.00 PLAN -10.00 = 0.00",
				"#2 2024-05-01→2024-06-01 1.00×1 sub 10.00 PLAN -10.00 = 0.00",
				"#3 2024-05-01→2024-06-01 1.00×1 sub 10.00 = 10.00",
			},
			updates: []string{
				"#1 on 2024-05-01 until 2024-06-01 metric -",
				"#2 on 2024-05-01 until 2024-06-01 metric -",
				"#3 on 2024-05-01 until 2024-06-01 metric -",
			},
		},
		{
			// match price 0→10, 3→6: three orders reach 3, every unit at 6.00:
			// each 6.00 × 1.00, subtotal 10.00 → PLAN −4.00
			name: "match price", s: step.with(rates.MatchPrice), plans: plan(1, 0, "10", 3, "6"),
			batch: []Order{renewed(1), renewed(2), renewed(3)}, o: today("2024-05-01"),
			lines: []string{
				"#1 2024-05-01→2024-06-01 1.00×1 sub 10.00 PLAN -4.00 = 6.00",
				"#2 2024-05-01→2024-06-01 1.00×1 sub 10.00 PLAN -4.00 = 6.00",
				"#3 2024-05-01→2024-06-01 1.00×1 sub 10.00 PLAN -4.00 = 6.00",
			},
			updates: []string{
				"#1 on 2024-05-01 until 2024-06-01 metric -",
				"#2 on 2024-05-01 until 2024-06-01 metric -",
				"#3 on 2024-05-01 until 2024-06-01 metric -",
			},
		},
		{
			// best price 0→10, 2→7. #2 (registered 16 May) sorts first.
			//  1 May → 16 May = 0.48: #1 alone, 1 unit at 10.00: 4.80;
			//  16 May → 1 Jun = 0.53: 2 units, both at 7.00: #2 3.71, #1 3.71.
			// #1: 4.80 + 3.71 = 8.51, subtotal 10.00 → PLAN −1.49;
			// #2: 3.71, subtotal 0.53 × 10.00 = 5.30 → PLAN −1.59
			name: "best price", s: step.with(rates.BestPrice), plans: plan(1, 0, "10", 2, "7"),
			batch: []Order{renewed(1), {ID: 2, Registered: d("2024-05-16")}}, o: today("2024-05-16"),
			lines: []string{
				"#1 2024-05-01→2024-06-01 1.00×1 sub 10.00 PLAN -1.49 = 8.51",
				"#2 2024-05-16→2024-06-01 0.53×1 sub 5.30 PLAN -1.59 = 3.71",
			},
			updates: []string{
				"#1 on 2024-05-16 until 2024-06-01 metric -",
				"#2 on 2024-05-16 until 2024-06-01 metric -",
			},
		},
		{
			// COMPENSATE in concurrent mode. #1 (billed until 1 Jun) holds unit 1; the
			// giver #2 cut to 11 May drops out of the pricing orders. #3: 11 May →
			// 1 Jun = 21/30 = 0.70 at unit 2 (4.00) = 2.80, all of it credited (2.80);
			// the credit runs to 1 Jul: 1 Jun → 1 Jul = 1.00 × 4.00 added to the price
			// and to the credit: price 6.80, credit 6.80. Line 11 May → 1 Jul = 1 month
			// + 20/31 = 1.6452 → 1.65 × 10.00 = 16.50, PLAN 6.80 − 16.50 = −9.70,
			// COMPENSATION −6.80 → 0.00
			name: "concurrent with a compensation", s: svc(monthly, fixed, prepay, "", "COMPENSATE", "10").with(rates.StepPrice), plans: free1,
			batch: []Order{{ID: 3, Registered: d("2024-05-11")}},
			others: []Order{
				{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01")},
				{ID: 2, Registered: d("2024-02-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-07-01"), Cancelled: d("2024-05-11")},
			},
			o:     today("2024-05-11"),
			lines: []string{"#3 2024-05-11→2024-07-01 1.65×1 sub 16.50 PLAN -9.70 COMPENSATION -6.80 = 0.00"},
			updates: []string{
				"#2 on 2024-05-01 until 2024-05-11 metric -",
				"#3 on 2024-05-11 until 2024-07-01 metric -",
			},
		},
		{
			// #1 refunded: paid 4.00 a period (unit 2), 10 May → 1 Jun = 22/30 = 0.7333
			// → 0.73: subtotal −7.30, credit 4.00 × 0.73 = 2.92, PLAN +4.38 → −2.92.
			// Its billed until back to 10 May, it no longer prices May's rest: #2
			// alone from 15 May, unit 1, free: 15 May → 1 Jun = 17/30 = 0.57 × 10.00
			// = 5.70, PLAN −5.70 → 0.00
			name: "a refunded order leaves the pricing at its cancellation", s: svc(monthly, fixed, prepay, "", "REFUND", "10").with(rates.StepPrice), plans: free1,
			batch: []Order{
				{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01"), Cancelled: d("2024-05-10"), Paid: decp("4")},
				{ID: 2, Registered: d("2024-05-15")},
			}, o: today("2024-05-20"),
			lines: []string{
				"#1 2024-05-10→2024-06-01 0.73×1 sub -7.30 PLAN 4.38 = -2.92",
				"#2 2024-05-15→2024-06-01 0.57×1 sub 5.70 PLAN -5.70 = 0.00",
			},
			updates: []string{
				"#1 on 2024-05-20 until 2024-05-10 metric -",
				"#2 on 2024-05-20 until 2024-06-01 metric -",
			},
		},
	})
}

// TestRegisterOrRenew: rates and a pricing period: the n-th registration
// or renewal within a pricing period pays the n-th unit's price.
func TestRegisterOrRenew(t *testing.T) {
	// domains: annual on register, priced on the billing period; units 1–2
	// at 15.00, from 3 on 10.00
	domains := svc(annual, onReg, prepay, "BILLING_PERIOD", "DISCOUNT", "15").with(rates.StepPrice)
	setup := svc(oneTime, fixed, prepay, "ANUAL", "DISCOUNT", "20").with(rates.StepPrice)
	runExamples(t, []example{
		{
			// run 5 Jun 2024; points: #1 10 Jun 2025, #2 1 Feb 2025, #3 20 May 2025.
			// Sorted: #1 (billed until 10 Jun 2024) before #2 (registered 1 Feb), #3.
			// #1, position 1: events in (10 Jun 2023, 10 Jun 2024]: #1's old end
			//   10 Jun 2024, #2's and #3's registrations = 3 → unit min(1, 3) = 1: 15.00
			// #2, position 2: (1 Feb 2023, 1 Feb 2024]: #1 registered 10 Jun 2023, #2
			//   registered 1 Feb 2024 = 2 → unit 2: 15.00
			// #3, position 3: (20 May 2023, 20 May 2024]: three registrations = 3 →
			//   unit 3: 10.00 → subtotal 15.00, PLAN −5.00. Each a year: 1.00
			name: "domains: registrations and renewals counted", s: domains, plans: plan(1, 1, "15", 3, "10"),
			batch: []Order{
				{ID: 1, Registered: d("2023-06-10"), BilledOn: d("2023-06-10"), BilledUntil: d("2024-06-10")},
				{ID: 2, Registered: d("2024-02-01")},
				{ID: 3, Registered: d("2024-05-20")},
			}, o: today("2024-06-05"),
			lines: []string{
				"#1 2024-06-10→2025-06-10 1.00×1 sub 15.00 = 15.00",
				"#2 2024-02-01→2025-02-01 1.00×1 sub 15.00 = 15.00",
				"#3 2024-05-20→2025-05-20 1.00×1 sub 15.00 PLAN -5.00 = 10.00",
			},
			updates: []string{
				"#1 on 2024-06-05 until 2025-06-10 metric -",
				"#2 on 2024-06-05 until 2025-02-01 metric -",
				"#3 on 2024-06-05 until 2025-05-20 metric -",
			},
		},
		{
			// one-time, priced per year: unit 1 at 20.00, from 2 on 10.00.
			// Sorted: #2, #3 (registered after #1's billing), then #1.
			// #2, position 1: (10 May 2023, 10 May 2024]: #1's and #2's registrations
			//   = 2 → unit 1: 20.00
			// #3, position 2: (11 May 2023, 11 May 2024]: 3 registrations → unit 2:
			//   10.00, subtotal 20.00 → PLAN −10.00. One-time: size 1, no end
			name: "one-time purchases within a year", s: setup, plans: plan(1, 1, "20", 2, "10"),
			batch:  []Order{{ID: 2, Registered: d("2024-05-10")}, {ID: 3, Registered: d("2024-05-11")}},
			others: []Order{{ID: 1, Registered: d("2024-01-10"), BilledOn: d("2024-01-10"), BilledUntil: d("2024-01-10")}},
			o:      today("2024-05-12"),
			lines: []string{
				"#2 2024-05-10→- 1.00×1 sub 20.00 = 20.00",
				"#3 2024-05-11→- 1.00×1 sub 20.00 PLAN -10.00 = 10.00",
			},
			updates: []string{
				"#2 on 2024-05-12 until 2024-05-10 metric -",
				"#3 on 2024-05-12 until 2024-05-11 metric -",
			},
		},
	})
}

// TestInvalid: what Bill refuses, naming it.
func TestInvalid(t *testing.T) {
	ok := svc(monthly, fixed, prepay, "", "DISCOUNT", "10")
	order := []Order{{ID: 1, Registered: d("2024-05-01")}}
	for _, c := range []struct {
		name string
		s    Service
		o    Options
	}{
		{"no day", ok, Options{}},
		{"an unknown on cancel", svc(monthly, fixed, prepay, "", "SOMETIMES", "10"), today("2024-05-01")},
		{"an unknown pricing period", svc(monthly, fixed, prepay, "WEEKLY", "DISCOUNT", "10"), today("2024-05-01")},
		{"an unknown period", svc("DAILY", fixed, prepay, "", "DISCOUNT", "10"), today("2024-05-01")},
		{"an unknown anchor", svc(monthly, "ON_EASTER", prepay, "", "DISCOUNT", "10"), today("2024-05-01")},
	} {
		if _, _, err := Bill(c.s, nil, order, nil, c.o); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if ls, ups, err := Bill(ok, nil, nil, nil, today("2024-05-01")); err != nil || len(ls)+len(ups) > 0 {
		t.Errorf("an empty batch: %v %v %v", ls, ups, err)
	}
}
