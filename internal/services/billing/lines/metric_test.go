package lines

import (
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/services/billing/rates"
)

// TestMetric: services with a metric, worked by hand: a mailbox's disk
// (the metric's changes), traffic (per slot), traffic prepay, a one-time
// metric, the prepay recharge, the gap before a cancellation, a refund.
func TestMetric(t *testing.T) {
	// disk, per GB and month, postpay: pieces of the metric's changes
	disk := svc(monthly, fixed, postpay, "", "DISCOUNT", "2").metric()
	// disk, per GB and month, prepay
	diskPre := svc(monthly, fixed, prepay, "", "DISCOUNT", "2").metric()
	// disk, per GB and year, annual prepay on register (the recharge)
	diskYear := svc(annual, onReg, prepay, "", "DISCOUNT", "10").metric()
	traffic := svc(monthly, fixed, postpay, "BILLING_PERIOD", "DISCOUNT", "0.50").metric()
	trafficPre := svc(annual, fixed, prepay, "MONTHLY", "DISCOUNT", "1").metric()
	job := svc(oneTime, fixed, prepay, "", "DISCOUNT", "25").metric()
	// billed for a year on 1 Jan 2024 at 99 GB; 199 GB from 1 Jul
	recharged := Order{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-01-01"), BilledUntil: d("2025-01-01"), BilledMetric: decp("99"),
		Metrics: []Metric{sample("99", "2024-01-01", ""), sample("199", "2024-07-01", "")}}
	// the same once the recharge below is committed
	afterRecharge := recharged
	afterRecharge.BilledOn, afterRecharge.BilledMetric = d("2024-07-01"), decp("199")
	shrunk := recharged
	shrunk.Metrics = []Metric{sample("99", "2024-01-01", ""), sample("49", "2024-07-01", "")}
	runExamples(t, []example{
		{
			// pieces of [1 Apr, 1 May): 5 GB to 11 Apr, 8 GB to 21 Apr, 3 GB after.
			// 1 → 11 Apr = 10/30 = 0.3333 → 0.33: 5 × 2.00 = 10.00 × 0.33 = 3.30
			// 11 → 21 Apr = 0.33: 8 × 2.00 = 16.00 × 0.33 = 5.28
			// 21 Apr → 1 May = 10 days of May's 31 = 0.3226 → 0.32: 3 × 2.00 = 6.00 × 0.32 = 1.92
			name: "changes: a mailbox's disk in pieces", s: disk,
			batch: []Order{{ID: 1, Registered: d("2024-04-01"), Metrics: []Metric{
				sample("5", "2024-04-01", ""), sample("8", "2024-04-11", ""), sample("3", "2024-04-21", "")}}},
			o: today("2024-05-02"),
			lines: []string{
				"#1 2024-04-01→2024-04-11 0.33×5 sub 3.30 = 3.30",
				"#1 2024-04-11→2024-04-21 0.33×8 sub 5.28 = 5.28",
				"#1 2024-04-21→2024-05-01 0.32×3 sub 1.92 = 1.92",
			},
			updates: []string{"#1 on 2024-05-02 until 2024-05-01 metric 3"},
		},
		{
			// rates 0→2, 5→1: units 1–4 at 2.00, 5 on at 1.00: 8 GB = 8.00 + 4.00 = 12.00.
			// 1 → 16 Apr = 15/30 = 0.50: 12.00 × 0.50 = 6.00, subtotal 2.00 × 0.50 × 8
			// = 8.00 → PLAN −2.00. 16 Apr → 1 May at 0 GB: no line; the last metric is 0
			name: "changes at a plan's rates, a zero piece left out", s: disk.with(rates.StepPrice), plans: plan(1, 0, "2", 5, "1"),
			batch: []Order{{ID: 1, Registered: d("2024-04-01"), Metrics: []Metric{
				sample("8", "2024-04-01", ""), sample("0", "2024-04-16", "")}}},
			o:       today("2024-05-02"),
			lines:   []string{"#1 2024-04-01→2024-04-16 0.50×8 sub 8.00 PLAN -2.00 = 6.00"},
			updates: []string{"#1 on 2024-05-02 until 2024-05-01 metric 0"},
		},
		{
			// slots of a month, the value last updated within each:
			// April: the sample created 1 Apr, updated 30 Apr: 12 GB × 0.50 = 6.00 × 1.00
			// May: the one updated 31 May: 20 GB × 0.50 = 10.00 × 1.00
			// (the sample updated 31 Mar is before April)
			name: "slots: traffic per month", s: traffic,
			batch: []Order{{ID: 1, Registered: d("2024-03-10"), BilledOn: d("2024-04-02"), BilledUntil: d("2024-04-01"), Metrics: []Metric{
				sample("4", "2024-03-10", "2024-03-31 22:00"), sample("12", "2024-04-01", "2024-04-30 22:00"), sample("20", "2024-05-01", "2024-05-31 22:00")}}},
			o: today("2024-06-03"),
			lines: []string{
				"#1 2024-04-01→2024-05-01 1.00×12 sub 6.00 = 6.00",
				"#1 2024-05-01→2024-06-01 1.00×20 sub 10.00 = 10.00",
			},
			updates: []string{"#1 on 2024-06-03 until 2024-06-01 metric 20"},
		},
		{
			// registered 10 May: the slot is May from the 1st, size 1, not prorated:
			// 7 GB × 0.50 = 3.50 × 1.00
			name: "slots: the first month not prorated", s: traffic,
			batch:   []Order{{ID: 1, Registered: d("2024-05-10"), Metrics: []Metric{sample("7", "2024-05-10", "2024-05-31 20:00")}}},
			o:       today("2024-06-02"),
			lines:   []string{"#1 2024-05-01→2024-06-01 1.00×7 sub 3.50 = 3.50"},
			updates: []string{"#1 on 2024-06-02 until 2024-06-01 metric 7"},
		},
		{
			// no traffic in May: no line, the order not updated
			name: "slots: nothing used, nothing billed", s: traffic,
			batch: []Order{{ID: 1, Registered: d("2024-03-10"), BilledOn: d("2024-05-02"), BilledUntil: d("2024-05-01"), Metrics: []Metric{
				sample("0", "2024-03-10", "2024-05-31 22:00")}}},
			o: today("2024-06-03"),
		},
		{
			// annual prepay priced monthly, sizes in months: run 15 Oct 2024 →
			// 1 Jan 2025; slots Oct, Nov, Dec from the 1st; today's value 3 GB at 1.00
			// = 3.00 a month × 1.00
			name: "traffic prepay: today's value for every month", s: trafficPre,
			batch: []Order{{ID: 1, Registered: d("2024-10-15"), Metrics: []Metric{sample("3", "2024-10-15", "")}}},
			o:     today("2024-10-15"),
			lines: []string{
				"#1 2024-10-01→2024-11-01 1.00×3 sub 3.00 = 3.00",
				"#1 2024-11-01→2024-12-01 1.00×3 sub 3.00 = 3.00",
				"#1 2024-12-01→2025-01-01 1.00×3 sub 3.00 = 3.00",
			},
			updates: []string{"#1 on 2024-10-15 until 2025-01-01 metric 3"},
		},
		{
			// one-time: today's value, 3.5 hours × 25.00 = 87.50, size 1; billed until today
			name: "one-time metric: a job's hours", s: job,
			batch:   []Order{{ID: 1, Registered: d("2024-05-10"), Metrics: []Metric{sample("3.5", "2024-05-12", "")}}},
			o:       today("2024-05-13"),
			lines:   []string{"#1 2024-05-13→- 1.00×3.5 sub 87.50 = 87.50"},
			updates: []string{"#1 on 2024-05-13 until 2024-05-13 metric 3.5"},
		},
		{
			name: "one-time metric, billed once only", s: job,
			batch: []Order{{ID: 1, Registered: d("2024-05-10"), BilledOn: d("2024-05-13"), BilledUntil: d("2024-05-13"), Metrics: []Metric{sample("3.5", "2024-05-12", "")}}},
			o:     today("2024-06-13"),
		},
		{
			// the point: 1 Jan 2025 (anniversary 1 Jan, July ≥ January), billed until then.
			// Credit: 99 GB × 10.00 = 990.00 × size(1 Jan 2024, 1 Jan 2025) 1.00 = 990.00.
			// 1 Jan → 1 Jul at 99 GB: 0.50 × 990.00 = 495.00, all from the credit (495.00 left)
			// 1 Jul → 1 Jan at 199 GB: 0.50 × 1,990.00 = 995.00, 495.00 from the credit → −500.00
			// The credit ran out: the second piece is charged, subtotal 10.00 × 0.50 × 199
			// = 995.00, PREPAY −495.00 → 500.00 ((199 − 99) × 10 × 0.5). The metric recorded: 199
			name: "a prepay recharge", s: diskYear,
			batch: []Order{recharged}, o: today("2024-07-01"),
			lines:   []string{"#1 2024-07-01→2025-01-01 0.50×199 sub 995.00 PREPAY -495.00 = 500.00"},
			updates: []string{"#1 on 2024-07-01 until 2025-01-01 metric 199"},
		},
		{
			// the recharge committed (billed on 1 Jul at 199): credit 1,990.00 × 0.50 =
			// 995.00, the one piece 1 Jul → 1 Jan at 199 = 995.00: nothing more (the
			// original charged the 500.00 again)
			name: "a second run the same day charges nothing", s: diskYear,
			batch: []Order{afterRecharge}, o: today("2024-07-01"),
		},
		{
			// 49 GB from 1 Jul: 495.00 + 0.50 × 490.00 = 245.00 = 740.00 of a 990.00
			// credit: nothing to recharge
			name: "a metric that shrank: no recharge", s: diskYear,
			batch: []Order{shrunk}, o: today("2024-07-01"),
		},
		{
			// fixed point 1 Jul 2025: the recharge above (500.00), then the next period
			// 1 Jan → 1 Jul 2025 at 199 GB = 0.50 × 1,990.00 = 995.00
			name: "a recharge and the next period", s: diskYear,
			batch: []Order{recharged}, o: Options{Point: d("2025-07-01"), Fixed: true, Today: d("2024-07-01")},
			lines: []string{
				"#1 2024-07-01→2025-01-01 0.50×199 sub 995.00 PREPAY -495.00 = 500.00",
				"#1 2025-01-01→2025-07-01 0.50×199 sub 995.00 = 995.00",
			},
			updates: []string{"#1 on 2024-07-01 until 2025-07-01 metric 199"},
		},
		{
			// billed until 1 May, cancelled 20 May (the original never billed this gap).
			// Recharge: credit 4 GB × 2.00 × 1.00 (1 Apr → 1 May) = 8.00, used exactly.
			// Then 1 May → 20 May (the point cut) = 19/31 = 0.6129 → 0.61: 8.00 × 0.61 = 4.88
			name: "the gap before a cancellation billed", s: diskPre,
			batch: []Order{{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-04-01"), BilledUntil: d("2024-05-01"), BilledMetric: decp("4"),
				Cancelled: d("2024-05-20"), Metrics: []Metric{sample("4", "2024-01-01", "")}}},
			o:       today("2024-05-25"),
			lines:   []string{"#1 2024-05-01→2024-05-20 0.61×4 sub 4.88 = 4.88"},
			updates: []string{"#1 on 2024-05-25 until 2024-05-20 metric 4"},
		},
		{
			// REFUND: billed until 1 Jun at 4 GB, cancelled 16 May. Recharge 1 → 16 May:
			// credit 8.00 × 15/31 (0.48) = 3.84, used exactly. Refund 16 May → 1 Jun =
			// 16/30 = 0.5333 → 0.53: 2.00 × 0.53 × 4 = −4.24, at the price of 4 GB
			// (8.00 × 0.53 = 4.24, no plan discount)
			name: "a metric refund", s: svc(monthly, fixed, prepay, "", "REFUND", "2").metric(),
			batch: []Order{{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01"), BilledMetric: decp("4"),
				Cancelled: d("2024-05-16"), Metrics: []Metric{sample("4", "2024-01-01", "")}}},
			o:       today("2024-05-20"),
			lines:   []string{"#1 2024-05-16→2024-06-01 0.53×4 sub -4.24 = -4.24"},
			updates: []string{"#1 on 2024-05-20 until 2024-05-16 metric 4"},
		},
		{
			// billed until its cancellation: nothing left
			name: "billed up to the cancellation", s: diskPre,
			batch: []Order{{ID: 1, Registered: d("2024-01-01"), BilledOn: d("2024-05-20"), BilledUntil: d("2024-05-20"), BilledMetric: decp("4"),
				Cancelled: d("2024-05-20"), Metrics: []Metric{sample("4", "2024-01-01", "")}}},
			o: today("2024-05-25"),
		},
	})
}

// TestMetricRefused: the combinations the original raised on, refused by
// name, never priced.
func TestMetricRefused(t *testing.T) {
	order := []Order{{ID: 1, Registered: d("2024-04-01"), Metrics: []Metric{sample("1", "2024-04-01", "")}}}
	for _, c := range []struct {
		name string
		s    Service
		want string
	}{
		{"slots in prepay", svc(monthly, fixed, prepay, "BILLING_PERIOD", "DISCOUNT", "1").metric(), "prepay, priced on the billing period"},
		{"traffic prepay in postpay", svc(annual, fixed, postpay, "MONTHLY", "DISCOUNT", "1").metric(), "postpay, priced MONTHLY"},
		{"a one-time metric priced per year", svc(oneTime, fixed, prepay, "ANUAL", "DISCOUNT", "1").metric(), "one-time metric service priced ANUAL"},
	} {
		_, _, err := Bill(c.s, nil, order, nil, today("2024-05-02"))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "not implemented") {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
	// the first sample after the stretch starts: the metric before it unknown
	late := []Order{{ID: 7, Registered: d("2024-04-01"), Metrics: []Metric{sample("1", "2024-04-05", "")}}}
	if _, _, err := Bill(svc(monthly, fixed, postpay, "", "DISCOUNT", "1").metric(), nil, late, nil, today("2024-05-02")); err == nil || !strings.Contains(err.Error(), "order 7") {
		t.Errorf("a sample after the start: %v", err)
	}
}
