package bills

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/mailer"
	"github.com/orchestra-panel/orchestra/internal/services/bills/amounts"
	"github.com/orchestra-panel/orchestra/internal/services/bills/render"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/billcontact"
	"github.com/orchestra-panel/orchestra/internal/store/ent/billline"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contact"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// printer prints every bill of this process: one Chromium, started on the
// first PDF.
var printer = sync.OnceValue(render.NewPrinter)

// document reads bill b as its rendering shows it. The contacts are read
// as the panel: a customer's bill names the seller.
func document(ctx context.Context, tx *ent.Tx, b *ent.Bill) (render.Document, error) {
	sys := viewer.System(ctx, viewer.ChannelSystem)
	d := render.Document{Type: b.Type, Number: b.Number, Open: b.IsOpen, Date: time.Now(), Comments: b.Comments}
	if b.ClosedOn != nil {
		d.Date = *b.ClosedOn
	}
	if b.DueOn != nil {
		d.DueOn = *b.DueOn
	}
	for _, who := range []struct {
		account int
		to      *render.Contact
	}{{accounts.MainAccountID.Get(), &d.Seller}, {b.AccountID, &d.Buyer}} {
		a, err := tx.Account.Query().Where(account.ID(who.account)).Only(sys)
		if err != nil && !ent.IsNotFound(err) {
			return d, err
		}
		c, err := tx.BillContact.Query().Where(billcontact.AccountID(who.account)).Only(sys)
		if err != nil && !ent.IsNotFound(err) {
			return d, err
		}
		if c != nil {
			*who.to = render.Contact{Name: c.Name, Address: c.Address, ZipCode: c.Zipcode, City: c.City, Country: c.Country, VAT: c.Vat}
		}
		if who.to.Name == "" && a != nil {
			who.to.Name = a.FullName
		}
		if a != nil && who.account == b.AccountID {
			d.Language = strings.ToLower(a.Language)
		}
	}
	ls, err := tx.BillLine.Query().Where(billline.BillID(b.ID)).WithSublines().Order(ent.Asc(billline.FieldID)).All(sys)
	if err != nil {
		return d, err
	}
	for _, l := range ls {
		rl := render.Line{Ref: "L" + strconv.Itoa(l.ID), Description: l.Description, Ini: l.StartOn, Quantity: l.VerboseQuantity,
			Subtotal: l.Subtotal, Tax: decimal.NewFromInt(int64(l.Tax))}
		if l.OrderID != nil {
			rl.Ref = strconv.Itoa(*l.OrderID)
		}
		if l.EndOn != nil {
			rl.End = *l.EndOn
		}
		if l.Rate != nil {
			rl.Rate = *l.Rate
		}
		for _, s := range l.Edges.Sublines {
			rl.Sublines = append(rl.Sublines, render.Subline{Description: s.Description, Total: s.Total})
		}
		d.Lines = append(d.Lines, rl)
	}
	return d, nil
}

// billingEmails are the addresses bills of account go to: its contacts
// with the BILLING usage, else the account's own address.
func billingEmails(ctx context.Context, tx *ent.Tx, acct int) ([]string, error) {
	sys := viewer.System(ctx, viewer.ChannelSystem)
	cs, err := tx.Contact.Query().Where(contact.AccountID(acct)).All(sys)
	if err != nil {
		return nil, err
	}
	var to []string
	for _, c := range cs {
		if slices.Contains(c.EmailUsage, "BILLING") && !slices.Contains(to, c.Email) {
			to = append(to, c.Email)
		}
	}
	if len(to) == 0 {
		a, err := tx.Account.Get(sys, acct)
		if err != nil {
			return nil, err
		}
		to = append(to, a.Email)
	}
	return to, nil
}

type documentIn struct {
	api.IDPath
	Accept string `header:"Accept" doc:"application/pdf for the PDF; else the HTML."`
}

type documentOut struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

// SendResult is what sending a bill did.
type SendResult struct {
	To []string `json:"to" doc:"The addresses it went to."`
}

func documentOperations(s *api.Server) {
	a, st := s.API(), s.Store()
	doc := api.Download(api.Labelled(api.Op("get-bill-document", http.MethodGet, "/bills/{id}/document", "A bill as a document: its HTML, or its PDF", "Bills"), "Download PDF"), "application/pdf")
	doc.Description = "A closed bill's document is the one frozen when it was closed; an open bill's is drawn now, marked as a draft. Ask for application/pdf to get the PDF."
	huma.Register(a, doc, func(ctx context.Context, in *documentIn) (*documentOut, error) {
		var html []byte
		var b *ent.Bill
		err := st.ReadTx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			var err error
			if b, err = tx.Bill.Get(ctx, in.ID); err != nil {
				return err
			}
			html, err = htmlOf(ctx, tx, b)
			return err
		})
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		if !strings.Contains(in.Accept, "application/pdf") {
			return &documentOut{ContentType: "text/html; charset=utf-8", Body: html}, nil
		}
		pdf, err := printer().PDF(ctx, html, b.Type != amounts.Fee)
		if err != nil {
			return nil, err
		}
		return &documentOut{ContentType: "application/pdf", ContentDisposition: fmt.Sprintf(`inline; filename="%s.pdf"`, b.Number), Body: pdf}, nil
	})

	send := api.Labelled(api.Op("send-bill", http.MethodPost, "/bills/{id}/send", "Mail a closed bill, its PDF attached, to the account's billing contacts (staff)", "Bills"), "Send")
	send.DefaultStatus = http.StatusOK
	huma.Register(a, send, func(ctx context.Context, in *struct{ api.IDPath }) (*struct{ Body SendResult }, error) {
		if err := authz.RequireStaff(ctx); err != nil {
			return nil, api.Fail(ctx, err)
		}
		out, err := Send(ctx, st, in.ID)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct{ Body SendResult }{out}, nil
	})
}

// htmlOf is bill b's HTML: frozen once closed, drawn now while open.
func htmlOf(ctx context.Context, tx *ent.Tx, b *ent.Bill) ([]byte, error) {
	if !b.IsOpen && b.HTML != "" {
		return []byte(b.HTML), nil
	}
	d, err := document(ctx, tx, b)
	if err != nil {
		return nil, err
	}
	return render.HTML(ctx, d)
}

// Send mails the closed bill id, its PDF attached, to its account's
// billing contacts, and marks it sent.
func Send(ctx context.Context, st *store.Store, id int) (SendResult, error) {
	var b *ent.Bill
	var html []byte
	var to []string
	if err := st.ReadTx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		var err error
		if b, err = tx.Bill.Get(ctx, id); err != nil {
			return err
		}
		if b.IsOpen {
			return huma.Error409Conflict(i18n.T(ctx, "Close the bill before sending it."))
		}
		if html, err = htmlOf(ctx, tx, b); err != nil {
			return err
		}
		to, err = billingEmails(ctx, tx, b.AccountID)
		return err
	}); err != nil {
		return SendResult{}, err
	}
	pdf, err := printer().PDF(ctx, html, b.Type != amounts.Fee)
	if err != nil {
		return SendResult{}, err
	}
	kind := render.Title(ctx, b.Type)
	body := i18n.T(ctx, "Hello,\n\nyour %s %s is attached.\n\nThank you.", strings.ToLower(kind), b.Number)
	if err := mailer.Send(ctx, to, i18n.T(ctx, "%s %s", kind, b.Number), body,
		mailer.Attachment{Name: b.Number + ".pdf", ContentType: "application/pdf", Data: pdf}); err != nil {
		return SendResult{}, err
	}
	return SendResult{To: to}, st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Bill.UpdateOneID(id).SetIsSent(true).Exec(context.WithValue(ctx, closingKey{}, true))
	})
}
