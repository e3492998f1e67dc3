package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/bills/amounts"
)

// needTools skips a test without Chromium or pdftotext, unless
// ORCHESTRA_TEST_BROWSER_REQUIRED=1 (./do test) makes that a failure.
func needTools(t testing.TB) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath(Chromium.Get()); err != nil {
		missing = append(missing, "chromium")
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		missing = append(missing, "pdftotext (poppler-utils)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("ORCHESTRA_TEST_BROWSER_REQUIRED") == "1" {
		t.Fatalf("%s not installed", strings.Join(missing, " and "))
	}
	t.Skipf("%s not installed", strings.Join(missing, " and "))
}

// pdfText is a PDF's text as pdftotext -layout reads it, its pages
// separated by form feeds.
func pdfText(t testing.TB, pdf []byte) string {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", pdf)
	}
	cmd := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// pages is how many pages the text of a PDF holds.
func pages(s string) int { return len(strings.Split(strings.TrimRight(s, "\f"), "\f")) }

// oneLine is s with its runs of spaces made one, for phrases that
// -layout spreads over columns.
func oneLine(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		b.WriteString(strings.Join(strings.Fields(l), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// printer is the tests' Printer, one Chromium for them all.
var printer = sync.OnceValue(NewPrinter)

func TestMain(m *testing.M) {
	code := m.Run()
	printer().Close()
	os.Exit(code)
}

// TestInvoicePDF: the PDF holds the number, the lines, the bases, taxes
// and total, and a page number.
func TestInvoicePDF(t *testing.T) {
	needTools(t)
	pdf, err := printer().Bill(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	got := oneLine(pdfText(t, pdf))
	contains(t, got, "I20160042", "Web hosting plan", "Discount per plan", "-2.50 €", "Domain example.org",
		"May 15, '16 / Jun 1, '16", "Setup fee", "Mailboxes", "10×2",
		"subtotal 0% VAT 30.00 €", "taxes 0% VAT 0.00 €", "subtotal 21% VAT 44.34 €", "taxes 21% VAT 9.31 €",
		"total 83.65 €", "Marta Vidal", "Page 1 of 1")
	if n := pages(got); n != 1 {
		t.Errorf("%d pages", n)
	}
}

// long is an invoice of n lines.
func long(n int) Document {
	d := sample()
	d.Lines = nil
	for i := range n {
		d.Lines = append(d.Lines, Line{Ref: fmt.Sprint(100 + i), Description: fmt.Sprintf("Mailbox number %d", i),
			Ini: day(2016, 5, 1), End: day(2016, 6, 1), Quantity: "1", Rate: dec("1.25"), Subtotal: dec("1.25"), Tax: dec("21")})
	}
	return d
}

// TestPageNumbers: a long invoice numbers its pages, in its language;
// -pageskip- starts a page.
func TestPageNumbers(t *testing.T) {
	needTools(t)
	pdf, err := printer().Bill(t.Context(), long(40))
	if err != nil {
		t.Fatal(err)
	}
	got := pdfText(t, pdf)
	contains(t, got, "Page 1 of 2", "Page 2 of 2", "Mailbox number 0", "Mailbox number 39", "50.00 €", "60.50 €")
	if n := pages(got); n != 2 {
		t.Errorf("%d pages:\n%s", n, got)
	}
	page2 := strings.Split(got, "\f")[1]
	contains(t, page2, "Mailbox number 39", "Page 2 of 2")

	if err := i18n.AddMessages("ca", map[string]string{"Page %s of %s": "Pàgina %s de %s"}); err != nil {
		t.Fatal(err)
	}
	d := sample()
	d.Language = "ca"
	d.Comments = "Vegeu les condicions.\n-pageskip-\nCondicions generals."
	pdf, err = printer().Bill(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	got = pdfText(t, pdf)
	contains(t, got, "Pàgina 1 de 2", "Pàgina 2 de 2")
	if p := strings.Split(got, "\f"); len(p) < 2 || !strings.Contains(p[0], "Vegeu les condicions.") || !strings.Contains(p[1], "Condicions generals.") {
		t.Errorf("-pageskip- did not start a page:\n%s", got)
	}
}

// TestFeePDF: a fee is a card without page numbers.
func TestFeePDF(t *testing.T) {
	needTools(t)
	d := sample()
	d.Type, d.Number = amounts.Fee, "F20160007"
	pdf, err := printer().Bill(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	got := oneLine(pdfText(t, pdf))
	contains(t, got, "F20160007", "83.65 €", "From May 1, 2016 to Jun 1, 2016", "Domain example.org", "Mailboxes")
	lacks(t, got, "Page ")
}

// TestPrinterRestarts: one Chromium serves concurrent prints; one killed
// is started again by the next print, which does not fail.
func TestPrinterRestarts(t *testing.T) {
	needTools(t)
	p := NewPrinter()
	defer p.Close()
	html := render(t, sample())
	var wg sync.WaitGroup
	pdfs, errs := make([][]byte, 6), make([]error, 6)
	for i := range pdfs {
		wg.Go(func() { pdfs[i], errs[i] = p.PDF(t.Context(), html, true) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		contains(t, pdfText(t, pdfs[i]), "I20160042")
	}
	first := process(t, p)
	if second := process(t, p); second != first {
		t.Fatalf("prints started Chromium again: %d, %d", first, second)
	}

	// killed between prints, and noticed: the next starts another
	if err := chromedp.FromContext(p.cur.ctx).Browser.Process().Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.cur.ctx.Done()
	if _, err := p.PDF(t.Context(), html, false); err != nil {
		t.Fatalf("after Chromium died: %v", err)
	}
	second := process(t, p)
	if second == first {
		t.Fatal("the dead Chromium is still the printer's")
	}
	// killed, the print right after it knowing nothing of it yet
	if err := chromedp.FromContext(p.cur.ctx).Browser.Process().Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PDF(t.Context(), html, false); err != nil {
		t.Fatalf("right after Chromium died: %v", err)
	}
	if process(t, p) == second {
		t.Fatal("the dead Chromium is still the printer's")
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PDF(t.Context(), html, false); !errors.Is(err, ErrClosed) {
		t.Errorf("a print after Close: %v", err)
	}
}

// process is the pid of p's Chromium, after a print.
func process(t *testing.T, p *Printer) int {
	t.Helper()
	if _, err := p.PDF(t.Context(), []byte("<p>x</p>"), false); err != nil {
		t.Fatal(err)
	}
	return chromedp.FromContext(p.cur.ctx).Browser.Process().Pid
}

// TestPrintEndsWithItsContext: a print gives up with its context, and the
// printer serves the next one.
func TestPrintEndsWithItsContext(t *testing.T) {
	needTools(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := printer().PDF(ctx, []byte("<p>x</p>"), false); !errors.Is(err, context.Canceled) {
		t.Errorf("a canceled print: %v", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := printer().PDF(ctx, []byte("<p>x</p>"), false); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a print past its deadline: %v", err)
	}
	if _, err := printer().PDF(t.Context(), []byte("<p>x</p>"), false); err != nil {
		t.Error(err)
	}
}

// TestTabsClosed: every print's tab is closed after it, a print that
// gave up midway included.
func TestTabsClosed(t *testing.T) {
	needTools(t)
	p := NewPrinter()
	defer p.Close()
	html := render(t, long(30))
	for i := range 4 {
		if _, err := p.PDF(t.Context(), html, i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		if _, err := p.PDF(ctx, html, true); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a print past its deadline: %v", err)
		}
		cancel()
	}
	p.prints.Wait() // the tabs are closed
	targets, err := chromedp.Targets(p.cur.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tabs []string
	for _, info := range targets {
		if info.Type == "page" {
			tabs = append(tabs, info.URL)
		}
	}
	if len(tabs) != 1 { // Chromium's first, blank
		t.Errorf("tabs left open: %q", tabs)
	}
}

// TestNoChromium: a Chromium that is not there is an error naming the
// setting, not a hang.
func TestNoChromium(t *testing.T) {
	withEnv(t, map[string]string{"ORCHESTRA_BILLS_CHROMIUM": "/nonexistent/chromium"})
	p := NewPrinter()
	defer p.Close()
	if _, err := p.Bill(t.Context(), sample()); err == nil || !strings.Contains(err.Error(), "BILLS_CHROMIUM") {
		t.Errorf("without Chromium: %v", err)
	}
}

// BenchmarkBillPDFs prints 1,000 bills of 10 lines with one Printer, whose
// Chromium starts before the clock does; ms/bill is one bill's time.
func BenchmarkBillPDFs(b *testing.B) {
	needTools(b)
	p := NewPrinter()
	defer p.Close()
	const bills = 1000
	docs := make([]Document, bills)
	for i := range docs {
		d := long(10)
		d.Number = fmt.Sprintf("I2016%04d", i+1)
		d.Lines[3].Sublines = []Subline{{Description: "Discount per plan", Total: decimal.New(-50, -2)}}
		docs[i] = d
	}
	if _, err := p.Bill(b.Context(), docs[0]); err != nil { // starts Chromium
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				next := make(chan Document)
				var wg sync.WaitGroup
				for range workers {
					wg.Go(func() {
						for d := range next {
							pdf, err := p.Bill(b.Context(), d)
							if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
								b.Error(err)
							}
						}
					})
				}
				for _, d := range docs {
					next <- d
				}
				close(next)
				wg.Wait()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*bills), "ms/bill")
		})
	}
}
