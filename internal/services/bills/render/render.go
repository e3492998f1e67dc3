// Package render renders bills to HTML and PDF (reference §6.7): one
// printable A4 template per type (invoice, also for amendments; fee, a
// membership card; pro forma, the invoice without its payment block),
// which staff may replace per install (BILLS_TEMPLATE_DIR), and one
// headless Chromium that prints them. Every label is translated into the
// bill's language; amounts are exact decimals, totalled by package amounts.
package render

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/bills/amounts"
)

// Document is everything a bill's rendering shows: the caller reads it
// from the bill, its lines, the seller's and the buyer's contacts and its
// payment source.
type Document struct {
	Type     string    // amounts.Invoice, amounts.AmendmentInvoice, amounts.Fee, amounts.AmendmentFee or amounts.ProForma
	Number   string    // e.g. I20260001, or OI20260001 while open
	Open     bool      // an open bill: marked as a draft
	Date     time.Time // closed on, or now for an open bill
	DueOn    time.Time // due on, or the payment method's default; zero: not shown
	Seller   Contact   // the main account's invoice contact
	Buyer    Contact   // the account's invoice contact
	Lines    []Line
	Comments string // plain text; -pageskip- in it starts a new page
	// Payment is the payment block's text: the payment method's message
	// (plain text, **bold** allowed, as SEPA's names the IBAN); empty: the
	// bank transfer text with BILLS_SELLER_BANK_ACCOUNT.
	Payment  string
	Language string // "en", "es", "ca"; empty: the context's
}

// Contact is a party of the bill as it is shown.
type Contact struct {
	Name    string // the contact's name, or the account's full name
	Address string // may hold several lines
	ZipCode string
	City    string
	Country string // as shown: the country's name, not its code
	VAT     string
}

// Line is a bill line. Its subtotal is before its sublines (discounts);
// the totals add them.
type Line struct {
	Ref         string          // the order's id, or "L<line id>" for a line without an order
	Description string          // the order's description
	Ini, End    time.Time       // the period billed; End zero: a one-time service
	Quantity    string          // already written out: "0.57", "10×2"; empty: not shown
	Rate        decimal.Decimal // the service's nominal price; zero: not shown
	Subtotal    decimal.Decimal
	Tax         decimal.Decimal // percent, e.g. 21
	Sublines    []Subline
}

// Subline is an amount added to a line, a discount (negative) mostly.
type Subline struct {
	Description string // e.g. "Discount per plan"
	Total       decimal.Decimal
}

// View is what a template receives: the document with its amounts and
// dates written out in its language, its totals computed, and every label
// translated. Templates in BILLS_TEMPLATE_DIR read the same fields.
type View struct {
	Lang   string // the document's language, for <html lang>
	Type   string // amounts.Invoice…
	Title  string // the type's name in the document's language: "Invoice"
	Number string
	Open   bool   // a draft
	Date   string // the bill's date written out: "May 15, 2016"
	DueOn  string // empty: none
	Seller Contact
	Buyer  Contact

	// Phone, Email and Website are BILLS_SELLER_PHONE, _EMAIL and _WEBSITE.
	Phone, Email, Website string

	Lines []ViewLine
	Taxes []ViewTax // by rate ascending
	Total string    // "12.10 €"

	Comments string

	// Payment is the payment block: the method's message, or the bank
	// transfer text, with its markup.
	Payment template.HTML
	// BankAccount is BILLS_SELLER_BANK_ACCOUNT when the bill is paid by
	// transfer (Document.Payment empty), else empty; Transfer then says
	// so, in a fee's amount box: "By bank transfer to <account>".
	BankAccount, Transfer string
	// Questions invites questions at the seller's e-mail; empty without one.
	Questions string

	// From is a fee's period, its first line's: "From May 1, 2016 to Jun
	// 1, 2016"; Others are its other lines' descriptions.
	From   string
	Others []string

	L Labels
}

// ViewLine is a line as shown: amounts with their currency.
type ViewLine struct {
	Ref, Description, Period, Quantity string
	Rate                               string // empty for none
	Subtotal                           string
	Sublines                           []ViewSubline
}

// ViewSubline is a subline as shown.
type ViewSubline struct{ Description, Total string }

// ViewTax is the base and the tax of one rate: "subtotal 21% VAT" 10.00 €,
// "taxes 21% VAT" 2.10 €.
type ViewTax struct{ BaseLabel, Base, TaxLabel, Tax string }

// Labels are the templates' fixed words, translated.
type Labels struct {
	Ref, Description, Period, Quantity, Rate, Subtotal string // the lines' columns
	DueDate, Total, BillDate                           string // the summary's boxes
	Comments, Payment, QuestionsTitle, Draft           string
}

// templates are the built-in templates: the parts (parts.html) and a page
// per type.
//
//go:embed templates/*.html
var templates embed.FS

// files are the template of each bill type (the original's
// BILLS_*_TEMPLATE: an amendment fee had the default, the invoice's).
var files = map[string]string{
	amounts.Invoice:          "invoice.html",
	amounts.AmendmentInvoice: "invoice.html",
	amounts.AmendmentFee:     "invoice.html",
	amounts.Fee:              "fee.html",
	amounts.ProForma:         "proforma.html",
}

// parts is the built-in parts every template may use ({{template "lines" .}}).
var parts = sync.OnceValues(func() (*template.Template, error) {
	return template.New("parts.html").ParseFS(templates, "templates/parts.html")
})

// builtins are the built-in pages, parsed once.
var builtins sync.Map // file name → *template.Template

// pageTemplate is the template for file: the override in BILLS_TEMPLATE_DIR if
// there is one (parsed on every bill, so that an edit applies at once),
// else the built-in one. Either may use the built-in parts.
func pageTemplate(file string) (*template.Template, error) {
	if dir := TemplateDir.Get(); dir != "" {
		path := filepath.Join(dir, file)
		src, err := os.ReadFile(path)
		switch {
		case err == nil:
			t, err := withParts(file, string(src))
			if err != nil {
				return nil, fmt.Errorf("bill template %s: %w", path, err)
			}
			return t, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("bill template: %w", err)
		}
	}
	if t, ok := builtins.Load(file); ok {
		return t.(*template.Template), nil
	}
	src, err := templates.ReadFile("templates/" + file)
	if err != nil {
		return nil, err
	}
	t, err := withParts(file, string(src))
	if err != nil {
		return nil, err
	}
	builtins.Store(file, t)
	return t, nil
}

// withParts parses src as file beside a copy of the built-in parts.
func withParts(file, src string) (*template.Template, error) {
	p, err := parts()
	if err != nil {
		return nil, err
	}
	t, err := p.Clone()
	if err != nil {
		return nil, err
	}
	return t.New(file).Parse(src)
}

// pageSkip is the original's page break mark, which comments (or a
// template) may hold; pageBreak replaces it: markup without quotes,
// harmless wherever the mark was.
var pageSkip, pageBreak = []byte("-pageskip-"), []byte(`<div class=pageskip style=break-after:page></div>`)

// HTML renders d with its type's template (the override in
// BILLS_TEMPLATE_DIR, if any), in d's language.
func HTML(ctx context.Context, d Document) ([]byte, error) {
	file, ok := files[d.Type]
	if !ok {
		return nil, fmt.Errorf("render: unknown bill type %q", d.Type)
	}
	t, err := pageTemplate(file)
	if err != nil {
		return nil, err
	}
	if d.Language != "" {
		ctx = i18n.WithLanguage(ctx, d.Language)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, file, view(ctx, d)); err != nil {
		return nil, fmt.Errorf("render: bill %s: %w", d.Number, err)
	}
	return bytes.ReplaceAll(buf.Bytes(), pageSkip, pageBreak), nil
}

// Title is a bill type's name in the context's language.
func Title(ctx context.Context, typ string) string {
	switch typ {
	case amounts.Invoice:
		return i18n.T(ctx, "Invoice")
	case amounts.AmendmentInvoice:
		return i18n.T(ctx, "Amendment invoice")
	case amounts.Fee:
		return i18n.T(ctx, "Fee")
	case amounts.AmendmentFee:
		return i18n.T(ctx, "Amendment fee")
	case amounts.ProForma:
		return i18n.T(ctx, "Pro forma")
	}
	return typ
}

// view computes what d's template shows.
func view(ctx context.Context, d Document) View {
	lang, cur := i18n.Language(ctx), Currency.Get()
	cash := func(x decimal.Decimal) string { return money(lang, cur, x) }
	title := Title(ctx, d.Type)
	kind := strings.ToLower(title) // in a sentence: "our invoice"
	v := View{
		Lang: lang, Type: d.Type, Title: title, Number: d.Number, Open: d.Open,
		Date: longDate(ctx, d.Date), DueOn: longDate(ctx, d.DueOn),
		Seller: d.Seller, Buyer: d.Buyer,
		Phone: SellerPhone.Get(), Email: SellerEmail.Get(), Website: SellerWebsite.Get(),
		Comments: d.Comments,
		L: Labels{
			Ref: i18n.T(ctx, "ID"), Description: i18n.T(ctx, "Description"), Period: i18n.T(ctx, "Period"),
			Quantity: i18n.T(ctx, "Hrs/qty"), Rate: i18n.T(ctx, "Rate/price"), Subtotal: i18n.T(ctx, "Subtotal"),
			DueDate: i18n.T(ctx, "Due date"), Total: i18n.T(ctx, "total"), BillDate: i18n.T(ctx, "%s date", title),
			Comments: i18n.T(ctx, "Comments"), Payment: i18n.T(ctx, "Payment"),
			QuestionsTitle: i18n.T(ctx, "Questions"), Draft: i18n.T(ctx, "Draft"),
		},
	}
	var sums []amounts.Line
	for _, l := range d.Lines {
		vl := ViewLine{Ref: l.Ref, Description: l.Description, Period: Period(ctx, l.Ini, l.End),
			Quantity: l.Quantity, Subtotal: cash(l.Subtotal)}
		if !l.Rate.IsZero() {
			vl.Rate = cash(l.Rate)
		}
		sum := amounts.Line{Subtotal: l.Subtotal, Tax: l.Tax}
		for _, s := range l.Sublines {
			vl.Sublines = append(vl.Sublines, ViewSubline{Description: s.Description, Total: cash(s.Total)})
			sum.Sublines = append(sum.Sublines, s.Total)
		}
		v.Lines = append(v.Lines, vl)
		sums = append(sums, sum)
	}
	for _, g := range amounts.Groups(sums) {
		rate := percent(lang, g.Rate)
		v.Taxes = append(v.Taxes, ViewTax{
			BaseLabel: i18n.T(ctx, "subtotal %s VAT", rate), Base: cash(g.Base),
			TaxLabel: i18n.T(ctx, "taxes %s VAT", rate), Tax: cash(g.Tax),
		})
	}
	v.Total = cash(amounts.Total(sums))
	if d.Payment != "" {
		v.Payment = markup(d.Payment)
	} else {
		v.BankAccount = SellerBankAccount.Get()
		v.Transfer = i18n.T(ctx, "By bank transfer to %s", v.BankAccount)
		v.Payment = template.HTML(template.HTMLEscapeString(
			i18n.T(ctx, "You can pay our %s by bank transfer. Please make sure to state your name and the %s number. Our bank account number is", kind, kind)) +
			" <strong>" + template.HTMLEscapeString(v.BankAccount) + "</strong>")
	}
	if v.Email != "" {
		v.Questions = i18n.T(ctx, "If you have any question about your %s, please feel free to write us at %s. We will reply as soon as we get your message.", kind, v.Email)
	}
	if len(d.Lines) > 0 {
		first := d.Lines[0]
		if first.End.IsZero() {
			v.From = i18n.T(ctx, "From %s", longDate(ctx, first.Ini))
		} else {
			v.From = i18n.T(ctx, "From %s to %s", longDate(ctx, first.Ini), longDate(ctx, first.End))
		}
		for _, l := range d.Lines[1:] {
			v.Others = append(v.Others, l.Description)
		}
	}
	return v
}

// bold is a payment message's emphasis: **IBAN**.
var bold = regexp.MustCompile(`\*\*(.+?)\*\*`)

// markup is a payment message as HTML: escaped, with its **bold** and its
// line breaks.
func markup(msg string) template.HTML {
	s := bold.ReplaceAllString(template.HTMLEscapeString(msg), "<strong>$1</strong>")
	return template.HTML(strings.ReplaceAll(s, "\n", "<br>"))
}
