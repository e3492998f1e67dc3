package bills

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/services/billing/lines"
	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
	"github.com/orchestra-panel/orchestra/internal/services/bills/amounts"
	"github.com/orchestra-panel/orchestra/internal/services/bills/render"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/order"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Monthly is what an account pays a month for what it has now.
type Monthly struct {
	Total    decimal.Decimal `json:"total" doc:"A month of every active order, discounts and taxes included."`
	Shown    string          `json:"shown" doc:"The total as bills write it, in the currency of bills."`
	Services []ServiceCost   `json:"services"`
}

// ServiceCost is a month of an account's orders of one service.
type ServiceCost struct {
	Service     int             `json:"service"`
	Description string          `json:"description"`
	Orders      int             `json:"orders"`
	Total       decimal.Decimal `json:"total" doc:"Before taxes, discounts included."`
	Shown       string          `json:"shown" doc:"The total as bills write it, in the currency of bills."`
}

// MonthlyCost prices a month from today of account's active orders of
// recurring services, as a run would bill them: every order taken as
// billed until today and charged exactly one month on, with the account's
// rates and the metrics last read. One-time services are left out.
func MonthlyCost(ctx context.Context, tx *ent.Tx, account int, today time.Time) (Monthly, error) {
	today = period.Date(today)
	out := Monthly{Total: decimal.Zero, Services: []ServiceCost{}}
	os, err := tx.Order.Query().Where(order.AccountID(account), order.Ignore(false),
		order.Or(order.CancelledOnIsNil(), order.CancelledOnGT(today))).IDs(ctx)
	if err != nil || len(os) == 0 {
		return out, err
	}
	in, err := load(ctx, tx, os)
	if err != nil {
		return out, err
	}
	point := period.AddMonths(today, 1)
	var all []amounts.Line
	for _, k := range in.keys {
		s := in.services[k.service]
		if s.BillingPeriod == "" {
			continue
		}
		mine := in.toLines(in.groups[k])
		for i := range mine {
			mine[i].BilledOn, mine[i].BilledUntil = today, today
			if mine[i].Registered.After(today) {
				mine[i].Registered = today
			}
		}
		got, _, err := lines.Bill(serviceOf(s), in.plansOf(k.account, s.ID), mine, nil, lines.Options{Point: point, Fixed: true, Today: today})
		if err != nil {
			slog.WarnContext(ctx, "bills: a service cannot be priced for a month", "service", s.Description, "err", err)
			continue
		}
		c := ServiceCost{Service: s.ID, Description: s.Description, Orders: len(mine), Total: decimal.Zero}
		for _, l := range got {
			c.Total = c.Total.Add(l.Total())
			al := amounts.Line{Subtotal: l.Subtotal, Tax: decimal.NewFromInt(int64(s.Tax))}
			for _, d := range l.Discounts {
				al.Sublines = append(al.Sublines, d.Total)
			}
			all = append(all, al)
		}
		out.Services = append(out.Services, c)
	}
	for i := range out.Services {
		out.Services[i].Shown = render.Money(ctx, out.Services[i].Total)
	}
	slices.SortFunc(out.Services, func(a, b ServiceCost) int { return b.Total.Cmp(a.Total) })
	out.Total = amounts.Total(all)
	out.Shown = render.Money(ctx, out.Total)
	return out, nil
}

func monthlyOperations(s *api.Server) {
	a, st := s.API(), s.Store()
	op := api.DataOnly(api.Op("get-account-monthly", http.MethodGet, "/accounts/{id}/monthly", "What an account pays a month for its services now", "Bills"))
	huma.Register(a, op, func(ctx context.Context, in *struct{ api.IDPath }) (*struct{ Body Monthly }, error) {
		var out Monthly
		err := st.ReadTx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			if _, err := tx.Account.Get(ctx, in.ID); err != nil { // the viewer's, or 404
				return err
			}
			// its services' prices and plans are staff's to read, what
			// they come to is the account's
			var err error
			out, err = MonthlyCost(viewer.System(ctx, viewer.ChannelSystem), tx, in.ID, time.Now())
			return err
		})
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct{ Body Monthly }{out}, nil
	})
}
