package render

import (
	"context"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/bills/amounts"
	"github.com/orchestra-panel/orchestra/internal/settings"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// withEnv gives settings environment values (ORCHESTRA_<NAME>) for the
// test, and takes them away again at its end.
func withEnv(t testing.TB, env map[string]string) {
	t.Helper()
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if err := settings.LoadEnv(lookup(env)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settings.LoadEnv(lookup(nil)) })
}

// sample is an invoice of four lines at two tax rates: 0% on 30.00, and
// 21% on 7.50 + 6.84 + 30.00 = 44.34, whose tax 9.3114 is 9.31; the total
// 30 + 44.34 × 1.21 = 83.6514 is 83.65.
func sample() Document {
	return Document{
		Type: amounts.Invoice, Number: "I20160042", Date: day(2016, 5, 31), DueOn: day(2016, 6, 30),
		Seller: Contact{Name: "Pangea Hosting", Address: "Carrer de la Mola 1\nEntresol", ZipCode: "08001",
			City: "Barcelona", Country: "Spain", VAT: "B00000000"},
		Buyer: Contact{Name: "Marta Vidal", Address: "Plaça Major 3", ZipCode: "25001", City: "Lleida",
			Country: "Spain", VAT: "12345678Z"},
		Lines: []Line{
			{Ref: "42", Description: "Web hosting plan", Ini: day(2016, 5, 1), End: day(2016, 6, 1), Quantity: "1",
				Rate: dec("10"), Subtotal: dec("10.00"), Tax: dec("21"),
				Sublines: []Subline{{Description: "Discount per plan", Total: dec("-2.50")}}},
			{Ref: "L7", Description: "Domain example.org", Ini: day(2016, 5, 15), End: day(2016, 6, 1), Quantity: "0.57",
				Rate: dec("12"), Subtotal: dec("6.84"), Tax: dec("21")},
			{Ref: "43", Description: "Setup fee", Ini: day(2016, 5, 3), Subtotal: dec("30"), Tax: dec("0")},
			{Ref: "44", Description: "Mailboxes", Ini: day(2016, 5, 1), End: day(2016, 8, 1), Quantity: "10×2",
				Rate: dec("1.5"), Subtotal: dec("30.00"), Tax: dec("21")},
		},
		Comments: "Thanks for trusting us.",
		Language: "en",
	}
}

var (
	hidden = regexp.MustCompile(`(?s)<(style|title)>.*?</(style|title)>`)
	inline = regexp.MustCompile(`</?(strong|b|i|em)>`)
	tag    = regexp.MustCompile(`<[^>]*>`)
)

// text is what a reader of page sees, its spaces collapsed.
func text(page []byte) string {
	s := inline.ReplaceAllString(hidden.ReplaceAllString(string(page), " "), "")
	s = tag.ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

func render(t *testing.T, d Document) []byte {
	t.Helper()
	out, err := HTML(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func contains(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("no %q in:\n%s", w, got)
		}
	}
}

func lacks(t *testing.T, got string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(got, w) {
			t.Errorf("%q in:\n%s", w, got)
		}
	}
}

// TestInvoiceHTML: an invoice shows its seller, number, dates, buyer,
// every line with its period and sublines as rows, the bases and taxes of
// each rate, the exact total, its comments and the bank transfer text.
func TestInvoiceHTML(t *testing.T) {
	withEnv(t, map[string]string{"ORCHESTRA_BILLS_SELLER_EMAIL": "sales@pangea.example", "ORCHESTRA_BILLS_SELLER_WEBSITE": "www.pangea.example"})
	page := render(t, sample())
	got := text(page)
	contains(t, got,
		"Pangea Hosting B00000000 Carrer de la Mola 1 Entresol 08001 - Barcelona Spain 111-112-11-222 sales@pangea.example www.pangea.example",
		"Invoice I20160042",
		"Due date Jun 30, 2016 total 83.65 € Invoice date May 31, 2016",
		"Marta Vidal 12345678Z Plaça Major 3 25001 - Lleida Spain",
		"ID Description Period Hrs/qty Rate/price Subtotal",
		"42 Web hosting plan May '16 1 10.00 € 10.00 € Discount per plan -2.50 €",
		"L7 Domain example.org May 15, '16 / Jun 1, '16 0.57 12.00 € 6.84 €",
		"43 Setup fee May 3, '16 30.00 €",
		"44 Mailboxes May '16 / Jul '16 10×2 1.50 € 30.00 €",
		"subtotal 0% VAT 30.00 € taxes 0% VAT 0.00 € subtotal 21% VAT 44.34 € taxes 21% VAT 9.31 € total 83.65 €",
		"Comments Thanks for trusting us.",
		"Payment You can pay our invoice by bank transfer. Please make sure to state your name and the invoice number. Our bank account number is 0000 0000 00 00000000 (Orchestra Bank)",
		"Questions If you have any question about your invoice, please feel free to write us at sales@pangea.example.",
	)
	lacks(t, got, "Draft")
	// printable on its own: no scripts, nothing fetched
	lacks(t, string(page), "<script", "http://", "https://", "src=", "@import", "url(")
	contains(t, string(page), `<html lang="en">`, "Content-Security-Policy")
}

// TestTypes: each type's template and title; an amendment is an invoice,
// a pro forma has no payment block, a fee is a card of its first line's
// period and the others' descriptions, and an open bill is a draft.
func TestTypes(t *testing.T) {
	d := sample()
	d.Type = amounts.AmendmentInvoice
	got := text(render(t, d))
	contains(t, got, "Amendment invoice I20160042", "Amendment invoice date May 31, 2016", "subtotal 21% VAT 44.34 €", "pay our amendment invoice")

	d = sample()
	d.Type, d.Number, d.Open = amounts.ProForma, "OP20160003", true
	got = text(render(t, d))
	contains(t, got, "Pro forma OP20160003", "total 83.65 €", "Draft")
	lacks(t, got, "Payment", "bank transfer", "Orchestra Bank")

	d = sample()
	d.Type, d.Number = amounts.Fee, "F20160007"
	d.Payment = "**Direct debit**, this bill will be automatically charged to your bank account with IBAN number **ES00 0000**."
	got = text(render(t, d))
	contains(t, got, "Pangea Hosting", "Marta Vidal 12345678Z Plaça Major 3 25001 - Lleida Spain",
		"Fee F20160007 May 31, 2016 83.65 € Due date Jun 30, 2016",
		"From May 1, 2016 to Jun 1, 2016", "Domain example.org Setup fee Mailboxes",
		"Payment Direct debit, this bill will be automatically charged to your bank account with IBAN number ES00 0000.")
	lacks(t, got, "Web hosting plan", "By bank transfer")

	d.Lines = d.Lines[2:3] // one-time
	d.Payment = ""
	contains(t, text(render(t, d)), "From May 3, 2016", "By bank transfer to 0000 0000 00 00000000 (Orchestra Bank)")

	d.Type = amounts.AmendmentFee
	contains(t, text(render(t, d)), "Amendment fee F20160007", "43 Setup fee")

	d.Type = "RECEIPT"
	if _, err := HTML(context.Background(), d); err == nil {
		t.Error("an unknown type was rendered")
	}
}

// TestPaymentMessage: a method's message is text, its **emphasis** bold.
func TestPaymentMessage(t *testing.T) {
	d := sample()
	d.Payment = "**Direct debit** <b>of</b> IBAN **ES00 0000**\nthe 5th"
	page := string(render(t, d))
	contains(t, page, "<strong>Direct debit</strong> &lt;b&gt;of&lt;/b&gt; IBAN <strong>ES00 0000</strong><br>the 5th")
	lacks(t, page, "Orchestra Bank")
}

// TestEscaping: what a customer typed is shown as typed, never run.
func TestEscaping(t *testing.T) {
	d := sample()
	d.Lines[0].Description = `<script>alert("x")</script>`
	d.Lines[0].Sublines[0].Description = `<img src=x onerror=alert(1)>`
	d.Buyer.Name = `Tom & "Jerry" <b>`
	d.Comments = `</p><script>alert(2)</script>`
	page := string(render(t, d))
	lacks(t, page, "<script", "<img", "<b>")
	contains(t, page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;",
		"Tom &amp; &#34;Jerry&#34; &lt;b&gt;")
	contains(t, text([]byte(page)), `<script>alert("x")</script>`, `Tom & "Jerry" <b>`)
}

// TestPageSkip: -pageskip- in the comments becomes a page break.
func TestPageSkip(t *testing.T) {
	d := sample()
	d.Comments = "First page.\n-pageskip-\nTerms on their own page."
	page := string(render(t, d))
	lacks(t, page, "-pageskip-")
	contains(t, page, "First page.\n"+string(pageBreak)+"\nTerms on their own page.")
}

// TestLanguage: labels, months and amounts in the document's language.
func TestLanguage(t *testing.T) {
	if err := i18n.AddMessages("es", map[string]string{
		"Invoice": "Factura", "Due date": "Vencimiento", "taxes %s VAT": "IVA %s", "{month} {day}, {year}": "{day} de {month} de {year}",
		"{month} '{yy}": "{month} '{yy}", "{month} {day}, '{yy}": "{day} {month} '{yy}", "May": "may", "Jun": "jun", "total": "total",
	}); err != nil {
		t.Fatal(err)
	}
	d := sample()
	d.Language = "es"
	page := render(t, d)
	contains(t, string(page), `<html lang="es">`)
	// a lower-case month starts a date with a capital, as the original's did
	contains(t, text(page), "Factura I20160042", "Vencimiento 30 de jun de 2016", "IVA 21% 9,31 €", "total 83,65 €",
		"May '16", "15 may '16 / 1 jun '16", "10,00 €")
}

// TestPeriod: the original's verbose periods.
func TestPeriod(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		ini, end time.Time
		want     string
	}{
		{day(2016, 5, 1), day(2016, 6, 1), "May '16"},
		{day(2016, 5, 1), day(2017, 5, 1), "May '16 / Apr '17"},
		{day(2016, 5, 15), day(2016, 6, 1), "May 15, '16 / Jun 1, '16"},
		{day(2016, 5, 1), day(2016, 5, 20), "May 1, '16 / May 20, '16"},
		{day(2016, 5, 1), time.Time{}, "May '16"},
		{day(2016, 5, 15), time.Time{}, "May 15, '16"},
		{day(2016, 12, 15), day(2016, 12, 15), "Dec 15, '16"},
		{day(2009, 1, 1), day(2010, 1, 1), "Jan '09 / Dec '09"},
	} {
		if got := Period(ctx, c.ini, c.end); got != c.want {
			t.Errorf("Period(%s, %s) = %q, want %q", c.ini.Format(time.DateOnly), c.end.Format(time.DateOnly), got, c.want)
		}
	}
}

// TestMoney: amounts in cents with the currency's sign, rates as written.
func TestMoney(t *testing.T) {
	for _, c := range []struct{ lang, cur, amount, want string }{
		{"en", "EUR", "12.1", "12.10 €"}, {"en", "EUR", "-0.005", "-0.01 €"}, {"es", "EUR", "1234.5", "1234,50 €"},
		{"ca", "USD", "3", "3,00 $"}, {"en", "SEK", "99.999", "100.00 SEK"},
	} {
		if got := money(c.lang, c.cur, dec(c.amount)); got != c.want {
			t.Errorf("money(%s, %s, %s) = %q, want %q", c.lang, c.cur, c.amount, got, c.want)
		}
	}
	if got := percent("en", dec("21.00")); got != "21%" {
		t.Errorf("21.00%%: %q", got)
	}
	if got := percent("es", dec("10.50")); got != "10,5%" {
		t.Errorf("10.50%%: %q", got)
	}
	withEnv(t, map[string]string{"ORCHESTRA_BILLS_CURRENCY": "GBP"})
	contains(t, text(render(t, sample())), "total 83.65 £")
	if err := settings.LoadEnv(func(k string) (string, bool) { return "euro", k == "ORCHESTRA_BILLS_CURRENCY" }); err == nil {
		t.Error("BILLS_CURRENCY took euro")
	}
}

// TestOverride: a template in BILLS_TEMPLATE_DIR replaces its type's, and
// may use the built-in parts; a type it has none for keeps the built-in
// one; a broken one is an error, not a silent fallback.
func TestOverride(t *testing.T) {
	dir := t.TempDir()
	withEnv(t, map[string]string{"ORCHESTRA_BILLS_TEMPLATE_DIR": dir})
	if err := os.WriteFile(filepath.Join(dir, "invoice.html"),
		[]byte(`<!DOCTYPE html><html><head>{{template "head" .}}</head><body><h1>ACME {{.Title}} {{.Number}}</h1>{{template "lines" .}}<p>{{.Buyer.Name}} -pageskip- owes {{.Total}}</p></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	d := sample()
	d.Buyer.Name = "<Marta>"
	page := render(t, d)
	contains(t, text(page), "ACME Invoice I20160042", "42 Web hosting plan May '16", "<Marta>", "owes 83.65 €")
	contains(t, string(page), "&lt;Marta&gt;", string(pageBreak))

	d.Type = amounts.ProForma // none in dir: the built-in
	got := text(render(t, d))
	contains(t, got, "Pro forma I20160042", "subtotal 21% VAT 44.34 €")
	lacks(t, got, "ACME")

	if err := os.WriteFile(filepath.Join(dir, "proforma.html"), []byte(`{{.NoSuchField}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := HTML(context.Background(), d); err == nil || !strings.Contains(err.Error(), "NoSuchField") {
		t.Errorf("a broken override: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proforma.html"), []byte(`{{if}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := HTML(context.Background(), d); err == nil || !strings.Contains(err.Error(), "proforma.html") {
		t.Errorf("an override that does not parse: %v", err)
	}
	if err := settings.LoadEnv(func(k string) (string, bool) { return "templates", k == "ORCHESTRA_BILLS_TEMPLATE_DIR" }); err == nil {
		t.Error("BILLS_TEMPLATE_DIR took a relative path")
	}
}
