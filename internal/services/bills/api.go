package bills

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/api/models"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/billing"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// Line is a bill line as the API shows it, with its discounts.
type Line struct {
	ID              int              `json:"id"`
	Bill            int              `json:"bill"`
	Account         int              `json:"account"`
	Description     string           `json:"description"`
	Rate            *decimal.Decimal `json:"rate" doc:"The service's nominal price."`
	Quantity        *decimal.Decimal `json:"quantity"`
	VerboseQuantity string           `json:"verbose_quantity" doc:"The quantity as printed: 0.57, 10×2."`
	Subtotal        decimal.Decimal  `json:"subtotal" doc:"At the nominal price."`
	Tax             int              `json:"tax" doc:"In percent."`
	StartOn         time.Time        `json:"start_on"`
	EndOn           *time.Time       `json:"end_on" doc:"Empty for one-time services."`
	Order           *int             `json:"order"`
	AmendedLine     *int             `json:"amended_line" doc:"The line an amendment's line reverses."`
	Discounts       []PreviewSub     `json:"discounts"`
	Total           decimal.Decimal  `json:"total" doc:"The subtotal with its discounts, before tax."`
}

type lineList struct {
	api.ListParams
	Bill    int `query:"bill" minimum:"0"`
	Account int `query:"account" minimum:"0"`
	Order   int `query:"order" minimum:"0"`
}

func (l lineList) Filters() []any {
	return []any{"bill_id", l.Bill, "account_id", l.Account, "order_id", l.Order}
}

// Lines are bills' lines: made by billing runs and amendments, read with
// their bill.
var Lines = api.Model[ent.BillLine, *ent.BillLineQuery, Line, struct{}, struct{}, lineList]{
	Name: "bill-line", Plural: "bill-lines", Tag: "Bills",
	List: "List bill lines", Get: "Get a bill line",
	Listing: api.Listing{Orderable: []string{"id", "start_on"}, Search: []string{"description"}, Default: "id"},
	Presentation: api.Presentation{Name: "bill-line", Label: "Bill lines", Singular: "Bill line", Group: "accounts", Type: "BillLine",
		Title: "description", Columns: []string{"bill", "start_on", "end_on", "verbose_quantity", "subtotal", "total"}, ReadOnly: true, Nested: true,
		Money: []string{"rate", "subtotal", "total"}},
	Client: func(c *ent.Client) api.Client[ent.BillLine, *ent.BillLineQuery] { return c.BillLine },
	Load:   func(q *ent.BillLineQuery) *ent.BillLineQuery { return q.WithSublines() },
	Out:    lineOut,
}

func lineOut(l *ent.BillLine) Line {
	out := Line{ID: l.ID, Bill: l.BillID, Account: l.AccountID, Description: l.Description, Rate: l.Rate, Quantity: l.Quantity,
		VerboseQuantity: l.VerboseQuantity, Subtotal: l.Subtotal, Tax: l.Tax, StartOn: l.StartOn, EndOn: l.EndOn, Order: l.OrderID,
		AmendedLine: l.AmendedLineID, Discounts: []PreviewSub{}, Total: l.Subtotal}
	for _, s := range l.Edges.Sublines {
		out.Discounts = append(out.Discounts, PreviewSub{Type: s.Type, Description: s.Description, Total: s.Total})
		out.Total = out.Total.Add(s.Total)
	}
	return out
}

// RunResult is what a billing run made, or would make.
type RunResult struct {
	Committed bool         `json:"committed" doc:"False: a preview; nothing was changed."`
	Accounts  []AccountRun `json:"accounts"`
}

type runIn struct {
	Body struct {
		Orders       []int  `json:"orders" minItems:"1" maxItems:"200000" doc:"The orders to bill."`
		BillingPoint string `json:"billing_point,omitempty" format:"date" doc:"The day to bill up to; empty: today."`
		FixedPoint   bool   `json:"fixed_point,omitempty" doc:"Bill exactly up to the billing point, not to each order's period."`
		ProForma     bool   `json:"proforma,omitempty" doc:"Make pro forma bills; the orders stay as they are."`
		NewOpen      bool   `json:"new_open,omitempty" doc:"Start new bills rather than adding to the accounts' open ones."`
		Commit       bool   `json:"commit,omitempty" doc:"Make the bills; without it, only show every line the run would make."`
	}
}

type amendIn struct {
	api.IDPath
	Body struct {
		Lines []int `json:"lines,omitempty" doc:"The lines to reverse; none: the whole bill, a line per tax rate."`
	}
}

func operations(s *api.Server) {
	a, st := s.API(), s.Store()
	run := api.Example(api.Op("bill-orders", http.MethodPost, "/orders/bill", "Bill orders (staff)", "Bills"),
		map[string]any{"orders": []int{1}, "commit": false})
	run.DefaultStatus = http.StatusOK
	run.Description = "Charges the chosen orders up to the billing point, as the services say: every line with its discounts, by account. Without commit it changes nothing and shows the lines; with it the lines go to the accounts' open bills (new ones with new_open; a new fee for each fee line) and the orders are billed up to their new dates. An open bill can be undone (deleted)."
	huma.Register(a, run, func(ctx context.Context, in *runIn) (*struct{ Body RunResult }, error) {
		if err := authz.RequireStaff(ctx); err != nil {
			return nil, api.Fail(ctx, err)
		}
		o := Options{Fixed: in.Body.FixedPoint, ProForma: in.Body.ProForma, NewOpen: in.Body.NewOpen}
		if in.Body.BillingPoint != "" {
			p, err := time.Parse(time.DateOnly, in.Body.BillingPoint)
			if err != nil {
				return nil, huma.Error422UnprocessableEntity(i18n.T(ctx, "Enter a date: 2026-12-31."), &huma.ErrorDetail{Location: "body.billing_point", Message: err.Error()})
			}
			o.Point = p
		}
		var out []AccountRun
		f := func(ctx context.Context, tx *ent.Tx) error {
			var err error
			out, err = Run(ctx, tx, in.Body.Orders, o, in.Body.Commit)
			return err
		}
		var err error
		if in.Body.Commit {
			err = st.Tx(ctx, f)
		} else {
			err = billing.Preview(ctx, st, f)
		}
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		if out == nil {
			out = []AccountRun{}
		}
		return &struct{ Body RunResult }{RunResult{Committed: in.Body.Commit, Accounts: out}}, nil
	})

	closeOp := api.Labelled(api.Op("close-bill", http.MethodPost, "/bills/{id}/close", "Close a bill: its number and lines become final (staff)", "Bills"), "Close")
	closeOp.DefaultStatus = http.StatusOK
	huma.Register(a, api.When(closeOp, "is_open"), func(ctx context.Context, in *struct{ api.IDPath }) (*struct{ Body models.Bill }, error) {
		if err := authz.RequireStaff(ctx); err != nil {
			return nil, api.Fail(ctx, err)
		}
		var b *ent.Bill
		if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			var err error
			b, err = Close(ctx, tx, in.ID, time.Now())
			return err
		}); err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct{ Body models.Bill }{billOut(b)}, nil
	})

	amend := api.Example(api.Labelled(api.Op("amend-bill", http.MethodPost, "/bills/{id}/amend", "Amend a closed invoice or fee: an open amendment reverses it, or chosen lines (staff)", "Bills"), "Amend"),
		map[string]any{"lines": []int{}})
	amend.DefaultStatus = http.StatusCreated
	huma.Register(a, amend, func(ctx context.Context, in *amendIn) (*struct{ Body models.Bill }, error) {
		if err := authz.RequireStaff(ctx); err != nil {
			return nil, api.Fail(ctx, err)
		}
		var b *ent.Bill
		if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			var err error
			b, err = Amend(ctx, tx, in.ID, in.Body.Lines, time.Now())
			return err
		}); err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct{ Body models.Bill }{billOut(b)}, nil
	})
}

func billOut(b *ent.Bill) models.Bill {
	return models.Bill{ID: b.ID, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, Version: b.Version, Number: b.Number, Account: b.AccountID,
		AmendOf: b.AmendOfID, Type: b.Type, ClosedOn: b.ClosedOn, IsOpen: b.IsOpen, IsSent: b.IsSent, DueOn: b.DueOn, Total: b.Total, Comments: b.Comments}
}
