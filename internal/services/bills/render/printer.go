package render

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/bills/amounts"
)

// ErrClosed is returned by a Printer's prints after Close.
var ErrClosed = errors.New("render: the printer is closed")

// startTimeout bounds Chromium's start, and openTimeout a tab's opening:
// a Chromium that hangs must not hold the bills that wait for it forever.
const (
	startTimeout = time.Minute
	openTimeout  = 30 * time.Second
)

// Printer prints HTML to PDF with one headless Chromium (BILLS_CHROMIUM),
// started on first use and reused for every bill: each print has a tab of
// its own, closed after, so a Printer is safe for concurrent use. A
// Chromium that died is started again by the next print. The zero value
// is ready to use.
type Printer struct {
	mu     sync.Mutex
	cur    *browser // nil before the first print and after Close
	closed bool
	// prints counts the prints under way and the tabs being closed after
	// them, which Close waits for; added to under mu, before closed.
	prints sync.WaitGroup
}

// browser is one Chromium run: ready closes once it started (or failed
// to: err); then ctx is its chromedp context, ended when it dies.
type browser struct {
	ready  chan struct{}
	ctx    context.Context
	err    error
	cancel context.CancelFunc // stops it
}

// NewPrinter returns a Printer; Chromium starts on its first print.
func NewPrinter() *Printer { return &Printer{} }

// browser is the running Chromium, started (again) when there is none,
// and done, to call when the print it is for has finished with it.
func (p *Printer) browser(ctx context.Context) (_ *browser, done func(), _ error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, nil, ErrClosed
	}
	p.prints.Add(1)
	b := p.cur
	if b == nil || b.dead() {
		if b != nil {
			go b.cancel() // waits for the dead process to be reaped
		}
		b = &browser{ready: make(chan struct{})}
		p.cur = b
		go b.start()
	}
	p.mu.Unlock()
	select {
	case <-b.ready:
		if b.err == nil {
			return b, p.prints.Done, nil
		}
		p.prints.Done()
		return nil, nil, b.err
	case <-ctx.Done():
		p.prints.Done()
		return nil, nil, ctx.Err()
	}
}

// start runs Chromium, headless, its life bound to a context of its own
// (chromedp binds it to the context of the first action: not a print's).
func (b *browser) start() {
	defer close(b.ready)
	path, err := exec.LookPath(Chromium.Get())
	if err != nil {
		b.err, b.cancel = fmt.Errorf("render: BILLS_CHROMIUM: %w", err), func() {}
		return
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
			chromedp.Flag("disable-gpu", true), chromedp.Flag("mute-audio", true),
			// every tab in the renderer of the first (blank) one, which
			// lives as long as Chromium: a tab that starts a renderer of
			// its own takes half as long again to print
			chromedp.Flag("renderer-process-limit", "1"))...)
	ctx, cancelCtx := chromedp.NewContext(alloc,
		chromedp.WithLogf(func(f string, args ...any) { slog.Debug("render: chromium: " + fmt.Sprintf(f, args...)) }),
		chromedp.WithErrorf(func(f string, args ...any) {
			// chromedp tracks no frame in a page it did not navigate, and
			// says so when the page's document changes: nothing is wrong
			level := slog.LevelWarn
			if strings.HasPrefix(f, "received DOM.documentUpdated") {
				level = slog.LevelDebug
			}
			slog.Log(context.Background(), level, "render: chromium: "+fmt.Sprintf(f, args...))
		}))
	// once: a second call of chromedp's cancel waits for good on a
	// browser that never started
	b.ctx, b.cancel = ctx, sync.OnceFunc(func() { cancelCtx(); cancelAlloc() })
	timer := time.AfterFunc(startTimeout, b.cancel)
	err = chromedp.Do(ctx)
	if !timer.Stop() {
		err = fmt.Errorf("did not start within %s", startTimeout)
	}
	if err != nil {
		b.err = fmt.Errorf("render: starting %s: %w", path, err)
		b.cancel()
	}
}

// dead reports whether b, started, has stopped since.
func (b *browser) dead() bool {
	select {
	case <-b.ready:
	default:
		return false // starting
	}
	return b.err != nil || b.ctx.Err() != nil || b.lost(0)
}

// lost reports whether b's connection is lost, waiting up to wait for it:
// a print that failed because Chromium died may see its error first.
func (b *browser) lost(wait time.Duration) bool {
	gone := chromedp.FromContext(b.ctx).Browser.LostConnection
	if wait == 0 {
		select {
		case <-gone:
			return true
		default:
			return false
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-gone:
		return true
	case <-b.ctx.Done():
		return true
	case <-t.C:
		return false
	}
}

// mm is a length for PrintToPDF, which takes inches.
func mm(v float64) float64 { return v / 25.4 }

// PDF prints html to an A4 PDF in a new tab of the printer's Chromium,
// with a translated "Page X of Y" footer on every page when pageNumbers.
// The page runs no scripts. A print that Chromium's death failed is tried
// once more, on a new one.
func (p *Printer) PDF(ctx context.Context, html []byte, pageNumbers bool) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := []chromedp.PDFOption{
		chromedp.PDFPaper(chromedp.PaperA4),
		chromedp.PDFMargins(mm(20), mm(15), mm(22), mm(15)),
		chromedp.PDFPrintBackground(),
	}
	if pageNumbers {
		// the translation is escaped, then the page counters put in
		footer := fmt.Sprintf(template.HTMLEscapeString(i18n.T(ctx, "Page %s of %s")),
			`<span class="pageNumber"></span>`, `<span class="totalPages"></span>`)
		opts = append(opts, chromedp.PDFHeaderTemplate(`<span></span>`), chromedp.PDFFooterTemplate(
			`<div style="width:100%;margin:0 15mm;text-align:center;font:7pt 'DejaVu Sans',Arial,sans-serif;color:#666">`+footer+`</div>`))
	}
	for try := 0; ; try++ {
		b, done, err := p.browser(ctx)
		if err != nil {
			return nil, err
		}
		out, err := p.printTab(ctx, b, done, string(html), opts)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil && try == 0 && b.lost(time.Second):
			continue
		}
		return out, err
	}
}

// printTab prints html in a new tab of b, and calls done once the tab is
// closed: after it returns, as closing takes a few round trips to
// Chromium. It returns when ctx ends, the print then stopped at its next
// step; only the tab's opening runs to its end (or openTimeout), as a
// tab left half open would never be closed.
func (p *Printer) printTab(ctx context.Context, b *browser, done func(), html string, opts []chromedp.PDFOption) ([]byte, error) {
	type printed struct {
		pdf []byte
		err error
	}
	res := make(chan printed, 1)
	go func() {
		defer done()
		// in the browser's window: a window per tab costs more than the print
		tab, closeTab := chromedp.NewContext(b.ctx, chromedp.WithNewWindow(false))
		defer closeTab()
		// chromedp binds the tab's reading to the context of its first
		// action, so one context serves them all
		run, cancel := context.WithCancel(tab)
		defer cancel()
		hung := time.AfterFunc(openTimeout, cancel)
		err := chromedp.Do(run)
		if !hung.Stop() {
			err = fmt.Errorf("no tab opened within %s", openTimeout)
		}
		if err != nil {
			res <- printed{err: fmt.Errorf("render: opening a tab: %w", err)}
			return
		}
		defer context.AfterFunc(ctx, cancel)()
		err = chromedp.Do(run, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
				return err
			}
			tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
			if err != nil {
				return err
			}
			_, err = cdp.Call(ctx, t, page.SetDocumentContent, page.SetDocumentContentParams{FrameID: tree.FrameTree.Frame.ID, HTML: html})
			return err
		}))
		if err != nil {
			res <- printed{err: fmt.Errorf("render: loading the page: %w", err)}
			return
		}
		pdf, err := chromedp.Run(run, chromedp.PrintToPDF(opts...))
		if err != nil {
			err = fmt.Errorf("render: printing: %w", err)
		}
		res <- printed{pdf, err}
	}()
	select {
	case r := <-res:
		return r.pdf, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Bill renders d to PDF in d's language: page numbers on every type but
// fees, which are a single card.
func (p *Printer) Bill(ctx context.Context, d Document) ([]byte, error) {
	if d.Language != "" {
		ctx = i18n.WithLanguage(ctx, d.Language)
	}
	html, err := HTML(ctx, d)
	if err != nil {
		return nil, err
	}
	return p.PDF(ctx, html, d.Type != amounts.Fee)
}

// Close stops the printer's Chromium, failing the prints under way, and
// waits for them; later prints fail with ErrClosed.
func (p *Printer) Close() error {
	p.mu.Lock()
	b := p.cur
	p.cur, p.closed = nil, true
	p.mu.Unlock()
	if b != nil {
		<-b.ready
		b.cancel()
	}
	p.prints.Wait()
	return nil
}
