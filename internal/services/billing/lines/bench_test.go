package lines

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/services/billing/rates"
)

// account is one account's orders of the three services of the benchmark.
type account struct {
	hosting, mailboxes, disk []Order
}

// benchAccounts: 10,000 accounts of 10 orders each: 4 monthly prepay
// orders at the nominal price (3 renewing, 1 new), 3 annual mailboxes
// priced by step rates in concurrent mode (2 renewing, 1 new), 3 mailbox
// disks billed monthly in postpay from a month of daily samples (31 pieces
// each).
func benchAccounts() []account {
	out := make([]account, 10000)
	id := 0
	next := func() int { id++; return id }
	for i := range out {
		a := &out[i]
		for j := range 4 {
			o := Order{ID: next(), Registered: d("2023-01-10"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-06-01")}
			if j == 3 {
				o = Order{ID: next(), Registered: d("2024-05-20")}
			}
			a.hosting = append(a.hosting, o)
		}
		for j := range 3 {
			o := Order{ID: next(), Registered: d("2022-03-01"), BilledOn: d("2023-12-15"), BilledUntil: d("2024-01-01")}
			if j == 2 {
				o = Order{ID: next(), Registered: d("2024-03-15")}
			}
			a.mailboxes = append(a.mailboxes, o)
		}
		for j := range 3 {
			o := Order{ID: next(), Registered: d("2024-01-01"), BilledOn: d("2024-05-01"), BilledUntil: d("2024-05-01")}
			day := d("2024-04-30")
			for k := range 32 {
				v := decimal.NewFromInt(int64(1 + (i+j+k)%7))
				o.Metrics = append(o.Metrics, Metric{Value: v, Created: day, Updated: day.Add(20 * time.Hour)})
				day = day.AddDate(0, 0, 1)
			}
			a.disk = append(a.disk, o)
		}
	}
	return out
}

// BenchmarkBillHundredThousand is a billing run of 100,000 orders of
// 10,000 accounts, Bill called per account and service as a run would:
// one op is the whole run.
func BenchmarkBillHundredThousand(b *testing.B) {
	accounts := benchAccounts()
	hosting := svc(monthly, fixed, prepay, "", "DISCOUNT", "10")
	mailboxes := svc(annual, fixed, prepay, "", "COMPENSATE", "24").with(rates.StepPrice)
	mailboxPlans := []rates.Plan{{Name: "default", Combinable: true, Contracts: 1,
		Rates: []rates.Rate{{Quantity: 1, Price: dec("0")}, {Quantity: 3, Price: dec("20")}, {Quantity: 10, Price: dec("15")}}}}
	disk := svc(monthly, fixed, postpay, "", "DISCOUNT", "0.10").metric()
	o := today("2024-06-01")
	var lines, updates int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		lines, updates = 0, 0
		for _, a := range accounts {
			for _, c := range []struct {
				s     Service
				plans []rates.Plan
				batch []Order
			}{{hosting, nil, a.hosting}, {mailboxes, mailboxPlans, a.mailboxes}, {disk, nil, a.disk}} {
				ls, ups, err := Bill(c.s, c.plans, c.batch, nil, o)
				if err != nil {
					b.Fatal(err)
				}
				lines, updates = lines+len(ls), updates+len(ups)
			}
		}
	}
	b.StopTimer()
	// 4 hosting (3 renewals + 1 new), 3 mailboxes, 3 disks × 31 days
	if want := 10000 * (4 + 3 + 3*31); lines != want || updates != 100000 {
		b.Fatalf("%d lines and %d updates, want %d and 100000", lines, updates, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/order")
}
