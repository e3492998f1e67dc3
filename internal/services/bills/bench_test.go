package bills_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/services/bills"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

var errRollback = errors.New("rolled back")

// BenchmarkBillHundredThousand: a committed run over 100,000 orders of
// 10,000 accounts (10 each): 4 monthly orders at the nominal price, 3
// yearly ones priced by step rates (concurrent), 3 metric orders (disk,
// postpay) of which one changed mid-month: 110,000 lines. Each iteration runs in a transaction rolled back
// after, so each bills the same orders; its bills, lines and order updates
// are all written.
func BenchmarkBillHundredThousand(b *testing.B) {
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		const accounts, per = 10000, 10
		var ids []int
		start := day("2026-11-01")
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			monthly := tx.Service.Create().SetDescription("Monthly").SetModel("Account").SetNominalPrice(dec("10")).
				SetBillingPeriod("MONTHLY").SaveX(ctx)
			yearly := tx.Service.Create().SetDescription("Yearly").SetModel("Account").SetNominalPrice(dec("12")).
				SetBillingPeriod("ANUAL").SetPricingPeriod("").SaveX(ctx)
			disk := tx.Service.Create().SetDescription("Disk").SetModel("Account").SetNominalPrice(dec("0.5")).
				SetBillingPeriod("MONTHLY").SetPaymentStyle("POSTPAY").SetPricingPeriod("").SetMetric("1").SaveX(ctx)
			p := tx.Plan.Create().SetName("basic").SetIsDefault(true).SaveX(ctx)
			tx.Rate.Create().SetServiceID(yearly.ID).SetPlanID(p.ID).SetQuantity(0).SetPrice(dec("0")).ExecX(ctx)
			tx.Rate.Create().SetServiceID(yearly.ID).SetPlanID(p.ID).SetQuantity(2).SetPrice(dec("9")).ExecX(ctx)
			for chunk := 0; chunk < accounts; chunk += 1000 {
				var acs []*ent.AccountCreate
				for i := chunk; i < chunk+1000; i++ {
					acs = append(acs, tx.Account.Create().SetUsername(fmt.Sprintf("bench%05d", i)).SetFullName("Bench").
						SetEmail(fmt.Sprintf("bench%05d@example.com", i)).SetType("INDIVIDUAL").SetLanguage("EN"))
				}
				as := tx.Account.CreateBulk(acs...).SaveX(ctx)
				var ocs []*ent.OrderCreate
				for _, a := range as {
					for j := range per {
						s := []*ent.Service{monthly, monthly, monthly, monthly, yearly, yearly, yearly, disk, disk, disk}[j]
						ocs = append(ocs, tx.Order.Create().SetAccountID(a.ID).SetServiceID(s.ID).SetModel("Account").SetObjectID(a.ID).
							SetRegisteredOn(start).SetDescription(s.Description))
					}
				}
				var os []*ent.Order
				for part := 0; part < len(ocs); part += 2000 { // within SQLite's variables
					os = append(os, tx.Order.CreateBulk(ocs[part:min(part+2000, len(ocs))]...).SaveX(ctx)...)
				}
				var ms []*ent.MetricStorageCreate
				for i, o := range os {
					ids = append(ids, o.ID)
					if o.ServiceID == disk.ID {
						ms = append(ms, tx.MetricStorage.Create().SetOrderID(o.ID).SetValue(decimal.NewFromInt(3)).
							SetCreatedOn(start).SetUpdatedOn(start.Add(time.Hour)))
						if i%per == per-1 {
							c := start.AddDate(0, 0, 15)
							ms = append(ms, tx.MetricStorage.Create().SetOrderID(o.ID).SetValue(decimal.NewFromInt(5)).
								SetCreatedOn(c).SetUpdatedOn(c.Add(time.Hour)))
						}
					}
				}
				for part := 0; part < len(ms); part += 2000 {
					tx.MetricStorage.CreateBulk(ms[part:min(part+2000, len(ms))]...).ExecX(ctx)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			var out []bills.AccountRun
			err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
				var err error
				out, err = bills.Run(ctx, tx, ids, bills.Options{Today: day("2026-12-01")}, true)
				if err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				b.Fatal(err)
			}
			n := 0
			for _, a := range out {
				n += len(a.Lines)
			}
			if len(out) != accounts || n < len(ids) {
				b.Fatalf("%d accounts, %d lines", len(out), n)
			}
		}
	})
}
