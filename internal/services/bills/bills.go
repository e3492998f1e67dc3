// Package bills is what the panel charges: billing runs that turn orders
// into lines of invoices, fees and pro formas; numbers; totals and taxes;
// closing, amending and undoing bills; and the accounts' invoice contacts.
// The rules are django-orchestra's (reference §5, §6), with its flaws
// fixed as decision 22 says.
package bills

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/api/models"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/billing"
	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
	"github.com/orchestra-panel/orchestra/internal/services/bills/amounts"
	"github.com/orchestra-panel/orchestra/internal/services/bills/render"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/bill"
	"github.com/orchestra-panel/orchestra/internal/store/ent/billcontact"
	"github.com/orchestra-panel/orchestra/internal/store/ent/billline"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

func init() {
	models.DeclareBill(models.BillModel{Name: "bill", Plural: "bills", Tag: "Bills",
		List: "List bills", Get: "Get a bill", Update: "Change an open bill's comments or due date (staff)",
		Delete:        "Undo an open bill: its lines go, and their orders are to be billed again (staff)",
		UpdateExample: map[string]any{"comments": "Thank you.", "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "number", "created_at", "closed_on", "account_id"}, Search: []string{"number"}, Default: "-id"},
		Presentation: api.Presentation{Name: "bill", Label: "Bills", Singular: "Bill", Group: "accounts", Type: "Bill",
			Title: "number", Columns: []string{"type", "created_at", "total", "is_open", "is_sent", "account"}, Money: []string{"total"}, Open: "is_open",
			Choices:   map[string]api.Choice{"type": api.Among(amounts.Invoice, amounts.AmendmentInvoice, amounts.Fee, amounts.AmendmentFee, amounts.ProForma)},
			Fieldsets: []api.Fieldset{api.Set("", "comments", "due_on")}},
	})
	api.Declare(Lines)
	models.DeclareBillContact(models.BillContactModel{Name: "bill-contact", Plural: "bill-contacts", Tag: "Bills",
		List: "List invoice contacts", Get: "Get an invoice contact", Create: "Add an account's invoice contact",
		Update: "Change an invoice contact", Delete: "Remove an invoice contact",
		CreateExample: map[string]any{"address": "Carrer Gran 1", "city": "Barcelona", "zipcode": "08001", "country": "ES", "vat": "B12345678"},
		UpdateExample: map[string]any{"address": "Carrer Gran 2", "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "account_id"}, Search: []string{"name", "vat"}, Default: "account_id"},
		Presentation: api.Presentation{Name: "bill-contact", Label: "Invoice contacts", Singular: "Invoice contact", Group: "accounts", Type: "BillContact",
			Title: "vat", Caption: []string{"name", "vat"}, Columns: []string{"name", "city", "country", "account"},
			Fieldsets: []api.Fieldset{api.Set("", "account", "name", "vat", "address", "zipcode", "city", "country")}},
	})
	api.SayValues(typeNames) // pages say a bill's type in words
	api.Operations(operations)
	api.Operations(documentOperations)
	api.Operations(monthlyOperations)
	// only open bills change, and only staff change them; undoing one
	// gives its orders back their billed dates
	store.RegisterHook("Bill", ent.OpUpdateOne|ent.OpDeleteOne|ent.OpCreate|ent.OpUpdate|ent.OpDelete, func(next ent.Mutator) ent.Mutator {
		return hook.BillFunc(func(ctx context.Context, m *ent.BillMutation) (ent.Value, error) {
			if err := authz.RequireStaff(ctx); err != nil {
				return nil, &authz.Forbidden{Message: i18n.M("Bills are made by billing runs and changed by staff.")}
			}
			if v, _ := viewer.From(ctx); v.System || m.Op().Is(ent.OpCreate) {
				return next.Mutate(ctx, m)
			}
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			closed, err := m.Client().Bill.Query().Where(bill.IDIn(ids...), bill.IsOpen(false)).Exist(ctx)
			if err != nil {
				return nil, err
			}
			if closed && !closing(ctx) {
				return nil, huma.Error409Conflict(i18n.T(ctx, "This bill is closed: amend it instead."))
			}
			if m.Op().Is(ent.OpDelete | ent.OpDeleteOne) {
				tx, err := m.Tx()
				if err != nil {
					return nil, err
				}
				for _, id := range ids {
					if err := undo(ctx, tx, id); err != nil {
						return nil, err
					}
				}
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("BillContact", ent.OpCreate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.BillContactFunc(func(ctx context.Context, m *ent.BillContactMutation) (ent.Value, error) {
			if err := checkContact(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

type closingKey struct{}

// closing marks ctx as closing a bill: the one change of a closed bill.
func closing(ctx context.Context) bool { return ctx.Value(closingKey{}) != nil }

var (
	zipcode = regexp.MustCompile(`^[0-9A-Z]{3,10}$`)
	country = regexp.MustCompile(`^[A-Z]{2}$`)
)

// checkContact holds an invoice contact's rules, every mistake at once.
func checkContact(ctx context.Context, m *ent.BillContactMutation) error {
	var errs validate.Errors
	errs.Check(ctx, m, "address", func(s string) string { return validate.Required(ctx, strings.TrimSpace(s)) })
	errs.Check(ctx, m, "vat", func(s string) string { return validate.Required(ctx, strings.TrimSpace(s)) }, validate.OneLine(ctx))
	errs.Check(ctx, m, "name", validate.OneLine(ctx))
	errs.Check(ctx, m, "city", validate.OneLine(ctx))
	errs.Check(ctx, m, "zipcode", func(s string) string {
		if !zipcode.MatchString(s) {
			return i18n.T(ctx, "Enter 3 to 10 capital letters and digits.")
		}
		return ""
	})
	errs.Check(ctx, m, "country", func(s string) string {
		if !country.MatchString(s) {
			return i18n.T(ctx, "Enter a country's two-letter ISO code: ES, FR, DE…")
		}
		return ""
	})
	return errs.Err()
}

// Recompute sets bill id's total from its lines: each line's subtotal and
// discounts with its tax, rounded once.
func Recompute(ctx context.Context, tx *ent.Tx, id int) error {
	ls, err := tx.BillLine.Query().Where(billline.BillID(id)).WithSublines().All(ctx)
	if err != nil {
		return err
	}
	return tx.Bill.UpdateOneID(id).SetTotal(amounts.Total(amountLines(ls))).Exec(ctx)
}

func amountLines(ls []*ent.BillLine) []amounts.Line {
	out := make([]amounts.Line, len(ls))
	for i, l := range ls {
		out[i] = amounts.Line{Subtotal: l.Subtotal, Tax: decimal.NewFromInt(int64(l.Tax))}
		for _, s := range l.Edges.Sublines {
			out[i].Sublines = append(out[i].Sublines, s.Total)
		}
	}
	return out
}

// undo gives the orders of bill id's lines back their billed dates (each
// order the earliest its lines recorded) before the bill goes.
func undo(ctx context.Context, tx *ent.Tx, id int) error {
	ls, err := tx.BillLine.Query().Where(billline.BillID(id), billline.OrderIDNotNil()).Order(ent.Asc(billline.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	first := map[int]*ent.BillLine{}
	for _, l := range ls {
		if f := first[*l.OrderID]; f == nil || before(l.OrderBilledUntil, f.OrderBilledUntil) {
			first[*l.OrderID] = l
		}
	}
	for oid, l := range first {
		up := tx.Order.UpdateOneID(oid).SetNillableBilledOn(l.OrderBilledOn).SetNillableBilledUntil(l.OrderBilledUntil).
			SetNillableBilledMetric(l.OrderBilledMetric)
		if l.OrderBilledOn == nil {
			up.ClearBilledOn()
		}
		if l.OrderBilledUntil == nil {
			up.ClearBilledUntil()
		}
		if l.OrderBilledMetric == nil {
			up.ClearBilledMetric()
		}
		if err := up.Exec(ctx); err != nil && !ent.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// before: a never billed order (nil) comes first.
func before(a, b *time.Time) bool {
	return a == nil && b != nil || a != nil && b != nil && a.Before(*b)
}

// Close closes the open bill id: its buyer and the seller (the main
// account) must have invoice contacts; it takes its final number and a due
// date (a month on, unless set).
func Close(ctx context.Context, tx *ent.Tx, id int, now time.Time) (*ent.Bill, error) {
	b, err := tx.Bill.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !b.IsOpen {
		return nil, huma.Error409Conflict(i18n.T(ctx, "This bill is closed already."))
	}
	var missing []string
	for _, who := range []struct {
		account int
		name    string
	}{{b.AccountID, i18n.T(ctx, "the account")}, {accounts.MainAccountID.Get(), i18n.T(ctx, "the main account (the seller)")}} {
		ok, err := tx.BillContact.Query().Where(billcontact.AccountID(who.account)).Exist(viewer.System(ctx, viewer.ChannelSystem))
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, who.name)
		}
	}
	if len(missing) > 0 {
		return nil, huma.Error409Conflict(i18n.T(ctx, "Add an invoice contact for %s before closing the bill.", strings.Join(missing, ", ")))
	}
	seq := map[string]int{}
	number, err := nextNumber(ctx, tx, seq, b.Type, now.Year(), false)
	if err != nil {
		return nil, err
	}
	up := tx.Bill.UpdateOne(b).SetIsOpen(false).SetClosedOn(now).SetIsSent(false).SetNumber(number)
	if b.DueOn == nil {
		up.SetDueOn(period.AddMonths(period.Date(now), 1))
	}
	ctx = context.WithValue(ctx, closingKey{}, true)
	if b, err = up.Save(ctx); err != nil {
		return nil, err
	}
	// what it says is frozen with it
	d, err := document(ctx, tx, b)
	if err != nil {
		return nil, err
	}
	html, err := render.HTML(ctx, d)
	if err != nil {
		return nil, err
	}
	return tx.Bill.UpdateOne(b).SetHTML(string(html)).Save(ctx)
}

// Amend makes an open amendment of the closed invoice or fee id: one
// negative line for each chosen line (lineIDs), or, with none chosen, one
// per tax rate reversing the bill's base at that rate.
func Amend(ctx context.Context, tx *ent.Tx, id int, lineIDs []int, now time.Time) (*ent.Bill, error) {
	b, err := tx.Bill.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	typ := map[string]string{amounts.Invoice: amounts.AmendmentInvoice, amounts.Fee: amounts.AmendmentFee}[b.Type]
	if b.IsOpen || typ == "" {
		return nil, huma.Error409Conflict(i18n.T(ctx, "Only a closed invoice or fee can be amended."))
	}
	ls, err := tx.BillLine.Query().Where(billline.BillID(id)).WithSublines().Order(ent.Asc(billline.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, lid := range lineIDs {
		if !slices.ContainsFunc(ls, func(l *ent.BillLine) bool { return l.ID == lid }) {
			return nil, huma.Error422UnprocessableEntity(i18n.T(ctx, "Line %d is not a line of this bill.", lid))
		}
	}
	seq := map[string]int{}
	number, err := nextNumber(ctx, tx, seq, typ, now.Year(), true)
	if err != nil {
		return nil, err
	}
	kind := i18n.T(ctx, typeNames[typ])
	a, err := tx.Bill.Create().SetAccountID(b.AccountID).SetType(typ).SetAmendOfID(b.ID).SetNumber(number).SetTotal(decimal.Zero).
		SetComments(i18n.T(ctx, "%s of %s %s, made on %s.", kind, i18n.T(ctx, typeNames[b.Type]), b.Number, b.CreatedAt.Format(time.DateOnly))).Save(ctx)
	if err != nil {
		return nil, err
	}
	day := period.Date(now)
	if len(lineIDs) > 0 {
		for _, l := range ls {
			if !slices.Contains(lineIDs, l.ID) {
				continue
			}
			total := l.Subtotal
			for _, s := range l.Edges.Sublines {
				total = total.Add(s.Total)
			}
			if err := tx.BillLine.Create().SetBillID(a.ID).SetAccountID(b.AccountID).SetDescription(billing.Clip(i18n.T(ctx, "Reverses: %s", l.Description), 256)).
				SetSubtotal(total.Neg()).SetTax(l.Tax).SetStartOn(l.StartOn).SetNillableEndOn(l.EndOn).SetAmendedLineID(l.ID).
				SetVerboseQuantity(l.VerboseQuantity).SetNillableQuantity(l.Quantity).SetCreatedOn(day).Exec(ctx); err != nil {
				return nil, err
			}
		}
	} else {
		for _, g := range amounts.Groups(amountLines(ls)) {
			if err := tx.BillLine.Create().SetBillID(a.ID).SetAccountID(b.AccountID).
				SetDescription(billing.Clip(i18n.T(ctx, "%s %s subtotal for tax %s%%", i18n.T(ctx, typeNames[b.Type]), b.Number, g.Rate.String()), 256)).
				SetSubtotal(g.Base.Neg()).SetTax(int(g.Rate.IntPart())).SetStartOn(period.Date(b.CreatedAt)).SetCreatedOn(day).Exec(ctx); err != nil {
				return nil, err
			}
		}
	}
	if err := Recompute(ctx, tx, a.ID); err != nil {
		return nil, err
	}
	return tx.Bill.Get(ctx, a.ID)
}

// typeNames are the bill types in words.
var typeNames = map[string]string{amounts.Invoice: i18n.M("Invoice"), amounts.AmendmentInvoice: i18n.M("Amendment invoice"),
	amounts.Fee: i18n.M("Fee"), amounts.AmendmentFee: i18n.M("Amendment fee"), amounts.ProForma: i18n.M("Pro forma")}
