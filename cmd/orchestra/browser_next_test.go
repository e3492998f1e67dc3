package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserLoginNext: whatever next= the login page is given, Chromium
// ends up on the panel after logging in, also when the path is disguised as
// one browsers rewrite into another host ("/\t/evil.example" drops the tab,
// "/\evil.example" reads the backslash as a slash). evil.example resolves to
// a page of its own, so leaving the site shows at once.
func TestBrowserLoginNext(t *testing.T) {
	chromium := browserPath(t)
	bin := build(t)
	dir := t.TempDir()
	env := append(os.Environ(), "ORCHESTRA_DATABASE_URL=sqlite:"+filepath.Join(dir, "orchestra.db"),
		"ORCHESTRA_SECRET_KEY="+filepath.Join(dir, "secret.key"),
		"ORCHESTRA_SUPERUSER_PASSWORD=Staff-Kestrel-4821")
	if out, err := runWithEnv(env, bin, "createsuperuser", "--username=staff", "--email=staff@example.com"); err != nil {
		t.Fatalf("createsuperuser: %v\n%s", err, out)
	}
	addr := freePort(t)
	srv := exec.Command(bin, "serve", "--listen="+addr, "--ssh-key="+filepath.Join(dir, "id_ed25519"), "--no-superuser")
	srv.Env = env
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
		if t.Failed() {
			t.Logf("orchestra serve:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	waitUp(t, base+"/login")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><h1 id="evil">evil</h1>`)
	}))
	t.Cleanup(evil.Close)

	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("host-resolver-rules", "MAP evil.example "+strings.TrimPrefix(evil.URL, "http://")))...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	b := &browser{t: t, ctx: ctx, base: base, shots: t.TempDir()}

	// the browser reaches the evil page when asked to
	b.run(chromedp.Navigate("http://evil.example/"), waitvisible("#evil"))

	for _, next := range []string{"/%09/evil.example", "//evil.example", "https://evil.example", "/%5Cevil.example",
		"%09/evil.example", "/%0A/evil.example", "/%5C/evil.example", "%2F%09%2Fevil.example", "/domains/"} {
		b.run(chromedp.Navigate(base+"/login?next="+next), waitvisible("#username"),
			sendkeys("#username", "staff"), sendkeys("#password", "Staff-Kestrel-4821"),
			click(`form[action="/login"] button`), waitvisible("nav.side, #evil"))
		u, err := url.Parse(b.location())
		if err != nil || u.Host != addr {
			t.Fatalf("next=%s: after login the browser is at %s, not on %s", next, b.location(), addr)
		}
		if next == "/domains/" && u.Path != "/domains/" {
			t.Errorf("next=/domains/ led to %s", u)
		}
		b.run(click(`form[action="/logout"] button`), waitvisible("#username"))
	}
}
