package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/dns"
	"github.com/orchestra-panel/orchestra/internal/services/dns/bindtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestBrowser drives the web interface of a running `orchestra serve` with
// headless Chromium, on both stores: staff logs in, adds an account and,
// from the account's page, a domain, and watches its units reach SUCCESS on
// the BIND test bed; a bad record is refused beside its field with nothing
// applied; the customer sees only their own objects, also when typing
// another account's URLs. Screenshots of the pages are saved as artifacts.
func TestBrowser(t *testing.T) {
	chromium := browserPath(t)
	bed := bindtest.Load(t)
	bin := build(t)
	artifacts := os.Getenv("ORCHESTRA_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(os.TempDir(), "orchestra-artifacts")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dbURL := "sqlite:" + filepath.Join(t.TempDir(), "orchestra.db")
			if engine == "postgres" {
				if dbURL = pgSchemaURL(t); dbURL == "" {
					t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
				}
			}
			shots := filepath.Join(artifacts, "screenshots", engine)
			if err := os.MkdirAll(shots, 0o755); err != nil {
				t.Fatal(err)
			}
			token := fmt.Sprintf("%s%d", engine[:2], time.Now().UnixNano()%1e9)
			browserSetup(t, dbURL)
			env := append(os.Environ(), "ORCHESTRA_DATABASE_URL="+dbURL, "ORCHESTRA_SUPERUSER_PASSWORD=Staff-Kestrel-4821",
				"ORCHESTRA_SECRET_KEY="+filepath.Join(t.TempDir(), "secret.key"))
			if out, err := runWithEnv(env, bin, "createsuperuser", "--username=kestrel", "--email=kestrel@example.com"); err != nil {
				t.Fatalf("createsuperuser: %v\n%s", err, out)
			}
			addr := freePort(t)
			srv := exec.Command(bin, "serve", "--listen="+addr, "--ssh-key="+bed.SSH.KeyPath, "--no-superuser")
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

			// another account with a domain, which the customer must never see
			staffAPI := apiClient(t, base, "kestrel", "Staff-Kestrel-4821")
			other := staffAPI.post(t, "/accounts", map[string]any{"username": "other" + token, "full_name": "Other",
				"email": "other@example.com"})
			otherZone := "other" + token + ".example.net"
			otherDomain := staffAPI.post(t, "/domains", map[string]any{"name": otherZone, "account": other["id"]})

			ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
				chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
			defer cancel()
			ctx, cancel = chromedp.NewContext(ctx)
			defer cancel()
			// the browser lives as long as the context of the first call: start it without the timeout
			if err := chromedp.Do(ctx); err != nil {
				t.Fatalf("starting %s: %v", chromium, err)
			}
			// a bound for a hung browser, not a speed check: on a busy machine
			// every page on two screens for two people takes minutes
			ctx, cancel = context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			b := &browser{t: t, ctx: ctx, base: base, shots: shots}

			// staff logs in
			b.login("kestrel", "Staff-Kestrel-4821")
			if h1 := b.text("h1"); h1 != "Dashboard" {
				t.Fatalf("after login: %q", h1)
			}
			b.shot("dashboard-staff")

			// staff adds the name servers from nothing: each server's page shows
			// the panel's key to authorize, the key it presents to pin, and the
			// services to route to it; a route then applies what already exists
			// (the other account's domain, added before any server)
			mysqlClient := os.Getenv("ORCHESTRA_TEST_MYSQL_CLIENT")
			if mysqlClient == "" {
				mysqlClient = "mysql"
			}
			masterSettings := bed.MasterSettings()
			masterSettings["DATABASES_MYSQL_CLIENT"] = mysqlClient
			for i, role := range []struct {
				name     string
				backends []string // the first applies what exists
				settings map[string]string
			}{{"ns-master", []string{dns.MasterBackend, "mysql", "mysql-user"}, masterSettings}, {"ns-slave", []string{dns.SlaveBackend}, bed.SlaveSettings()}} {
				s := bed.SSH.Servers[i]
				var lines []string
				for k, v := range role.settings {
					lines = append(lines, k+"="+v)
				}
				b.run(chromedp.Navigate(base+"/servers/new"), waitvisible("#f-name"),
					sendkeys("#f-name", role.name), sendkeys("#f-address", s.Address),
					setvalue("#f-ssh_port", strconv.Itoa(s.Port)),
					setvalue("#f-settings", strings.Join(lines, "\n")))
				if i == 0 {
					b.shot("server-add")
				}
				b.run(click(".form button[type=submit]"), waitvisible("section.setup"))
				serverURL, _, _ := strings.Cut(b.location(), "?")
				// the panel's key, as authorized_keys takes it: the test bed's sshd reads that file
				b.follow(`section.setup a[href$="/view/panel-key"]`)
				b.run(waitvisible("dl.fields"))
				shown := b.text("dl.fields")
				authorized := filepath.Join(filepath.Dir(bed.SSH.KeyPath), "authorized_keys")
				have, err := os.ReadFile(authorized)
				if err != nil {
					t.Fatal(err)
				}
				key := strings.Fields(string(have))
				if len(key) < 2 || !strings.Contains(shown, key[0]+" "+key[1]) {
					t.Fatalf("the panel's key shown is not the one the server authorizes:\n%s", shown)
				}
				if i == 0 {
					b.shot("server-panel-key")
				}
				b.run(chromedp.Navigate(serverURL), waitvisible("section.setup"))
				// its host key: presented, checked, pinned
				if got := b.text("section.setup code.fingerprint"); got != fingerprintOf(t, s.HostKey) {
					t.Fatalf("the server presents %q, the test bed's key is %q", got, fingerprintOf(t, s.HostKey))
				}
				if i == 0 {
					b.shot("server-setup")
				}
				b.follow(`section.setup a[href*="/do/host-key?fingerprint="]`)
				b.run(waitvisible("#f-fingerprint"))
				b.press(".form button[type=submit]")
				b.run(waitvisible("dl.fields"), chromedp.Navigate(serverURL), waitvisible("section.setup"))
				// pinned, the panel reaches it
				b.poll(`!!document.querySelector('section.setup .ping .state-SUCCESS')`, 30*time.Second)
				// the proposals: route its services here, then apply what exists
				for j, backend := range role.backends {
					b.run(chromedp.Navigate(serverURL), waitvisible("section.setup"))
					b.follow(`section.setup a[href^="/routes/new?"][href*="backend=` + backend + `&"]`)
					b.run(waitvisible("#f-backend"))
					if got := b.value("#f-backend"); got != backend {
						t.Fatalf("the proposed route names %q", got)
					}
					b.press(".form button[type=submit]")
					b.run(waitvisible("#fields"))
					if j > 0 {
						continue
					}
					b.follow(`.actions a[href$="/do/apply"]`)
					b.run(waitvisible(".form button[type=submit]"))
					b.press(".form button[type=submit]")
					b.run(waitvisible("dl.fields"))
					if i == 0 {
						b.shot("route-applied")
					}
				}
			}
			bindtest.Eventually(t, "the master serving the domain added before it", func() (string, bool) {
				got := bindtest.Dig(t, bed.Master, otherZone, "SOA")
				return got, got != ""
			})
			bindtest.Eventually(t, "the slave serving the domain added before it", func() (string, bool) {
				got := bindtest.Dig(t, bed.Slave, otherZone, "SOA")
				return got, got != ""
			})

			// four mistakes in one form: four messages, each beside its field
			b.run(chromedp.Navigate(base+"/accounts/new"), waitvisible("#f-username"),
				sendkeys("#f-username", "bad name!"), sendkeys("#f-email", "not-an-email"), sendkeys("#f-password", "short"),
				click(".form button[type=submit]"), waitvisible("#f-username-error"))
			for _, f := range []string{"username", "full_name", "email", "password"} {
				if msg := b.inner("#f-" + f + "-error"); msg == "" {
					t.Errorf("no message beside %s", f)
				}
			}
			b.shot("account-add-mistakes")

			// staff adds an account
			user := "cust" + token
			b.run(chromedp.Navigate(base+"/accounts/new"), waitvisible("#f-username"))
			b.shot("account-add")
			b.run(sendkeys("#f-username", user), sendkeys("#f-full_name", "Customer "+token),
				sendkeys("#f-email", user+"@example.com"), sendkeys("#f-password", "Cust-Heron-7734"),
				click(".form button[type=submit]"), waitvisible("#fields"))
			if h1 := b.text("h1"); h1 != "Account "+user {
				t.Fatalf("after adding the account: %q", h1)
			}
			b.shot("account")

			// and, from the account's page, a domain for it
			zone := "web" + token + ".example.org"
			b.run(click(`a[href^="/domains/new?account="]`), waitvisible("#f-name"))
			if prefilled := b.value("#f-account"); prefilled == "" {
				t.Errorf("the domain form is not filled with the account")
			}
			b.shot("domain-add")
			b.run(sendkeys("#f-name", zone), click(".form button[type=submit]"), waitvisible("#fields"))
			// its units run on the master and the slave: the page follows them
			b.poll(`(() => { const s = [...document.querySelectorAll('#ops .state')].map(e => e.textContent);
				return s.length >= 2 && s.every(x => x === 'SUCCESS'); })()`, 90*time.Second)
			b.shot("domain-applied")
			if got := bindtest.Dig(t, bed.Master, zone, "SOA"); got == "" {
				t.Errorf("the master does not serve %s", zone)
			}
			domainURL, _, _ := strings.Cut(b.location(), "?")
			domainID := domainURL[strings.LastIndex(domainURL, "/")+1:]
			// a record added under the domain's own list, without leaving its page
			b.run(chromedp.Navigate(domainURL), waitvisible("form.inline-add"),
				setvalue("#records-f-type", "A"), sendkeys("#records-f-value", "192.0.2.10"))
			b.shot("domain-inline-record")
			b.press("form.inline-add button[type=submit]")
			b.run(waitvisible("#ops"))
			if got, _, _ := strings.Cut(b.location(), "?"); got != domainURL {
				t.Errorf("after adding a record inline: at %s, not %s", got, domainURL)
			}
			bindtest.Eventually(t, "the record added inline served", func() (string, bool) {
				got := bindtest.Dig(t, bed.Master, zone, "A")
				return got, strings.Contains(got, "192.0.2.10")
			})
			// the execution log, coloured by its state
			b.follow(`#ops a[href^="/logs/"]`)
			b.run(waitvisible("#fields .state-SUCCESS"))
			b.shot("execution-log")
			// retry it: the new log's page refreshes itself until the unit ends
			// (followed, not clicked: the log's page may be swapping nodes)
			b.follow(`.actions a[href$="/do/retry"]`)
			b.run(waitvisible(".form button[type=submit]"), click(".form button[type=submit]"))
			b.follow(`dl.fields a[href^="/logs/"]`)
			b.run(waitvisible("#fields"))
			b.poll(`!!document.querySelector('#fields .state-SUCCESS')`, 60*time.Second)
			if got := b.text("#fields"); !strings.Contains(got, "Retry of") {
				t.Errorf("the retry's log:\n%s", got)
			}
			// a route's match is checked as it is typed: half an expression is
			// refused with the compiler's message, the rest of it is valid
			b.run(chromedp.Navigate(base+"/routes/new"), waitvisible("#f-match"),
				setvalue("#f-backend", dns.MasterBackend), sendkeys("#f-match", "domain.name =="))
			b.poll(`(() => { const e = document.querySelector('#check .error');
				return !!e && !e.textContent.includes('required'); })()`, 10*time.Second)
			b.run(sendkeys("#f-match", ` "x.org"`), waitvisible("#check p.ok"))
			b.shot("route-check")
			b.run(chromedp.Navigate(base+"/logs/"), waitvisible("table"))
			b.shot("execution-logs")
			// apply the domain again: asked first, then planned on both servers
			b.run(chromedp.Navigate(domainURL))
			b.press(`.actions form[action$="/bulk"] button`)
			b.run(waitvisible("p.warning"))
			b.press("form.buttons button.primary")
			b.run(waitvisible("p.ok"))
			if got := b.text("main"); !strings.Contains(got, "2 units of work planned") {
				t.Errorf("apply again:\n%s", got)
			}

			// a bad record: an inline error, and nothing applied
			st := openStore(t, dbURL)
			logsBefore := countLogs(t, st)
			recordsBefore := countRecords(t, st)
			b.run(chromedp.Navigate(base+"/records/new?domain="+domainID), waitvisible("#f-value"),
				setvalue("#f-type", "A"), sendkeys("#f-value", "999.1.2.3"),
				click(".form button[type=submit]"), waitvisible("#f-value-error"))
			if msg := b.text("#f-value-error"); msg == "" {
				t.Errorf("no message beside the value")
			}
			if kept := b.value("#f-value"); kept != "999.1.2.3" {
				t.Errorf("the form lost what was typed: %q", kept)
			}
			b.shot("record-error")
			if n := countRecords(t, st); n != recordsBefore {
				t.Errorf("a refused record was stored: %d records, were %d", n, recordsBefore)
			}
			if n := countLogs(t, st); n != logsBefore {
				t.Errorf("a refused record was applied: %d logs, were %d", n, logsBefore)
			}

			// the list: search with field=value, and the servers' reachability
			b.run(chromedp.Navigate(base+"/domains/?q="+qs(`account=`+jsonID(other["id"]))), waitvisible("p.count"))
			if body := b.text("main"); !strings.Contains(body, otherZone) || strings.Contains(body, zone) {
				t.Errorf("domains filtered by account=%v:\n%s", other["id"], body)
			}
			b.run(chromedp.Navigate(base+"/servers/"), waitvisible("table"))
			b.poll(`document.querySelectorAll('td .state-SUCCESS').length >= 2`, 30*time.Second)
			b.shot("servers")
			b.run(chromedp.Navigate(base+"/settings/?open=DOMAINS_DEFAULT_REFRESH"), waitvisible("#DOMAINS_DEFAULT_REFRESH"))
			b.shot("settings")

			// the customer
			b.run(click(`form[action="/logout"] button`), waitvisible("#username"))
			b.login(user, "Cust-Heron-7734")
			b.shot("dashboard-customer")
			if body := b.text("body"); strings.Contains(body, "Administration") || strings.Contains(body, "Servers") {
				t.Errorf("the customer sees staff pages:\n%s", body)
			}
			// their services, each with its state in words
			if got := b.inner("section.services"); !strings.Contains(got, zone+" active") || strings.Contains(got, "bind9") ||
				strings.Contains(got, "SUCCESS") || strings.Contains(got, "SKIPPED") {
				t.Errorf("the customer's services:\n%s", got)
			}
			b.run(chromedp.Navigate(base+"/domains/"), waitvisible("p.count"))
			if body := b.text("main"); !strings.Contains(body, zone) || strings.Contains(body, otherZone) {
				t.Errorf("the customer's domains:\n%s", body)
			}
			b.shot("domains-customer")
			// a record's form names the customer's domains, fields in their order
			b.run(chromedp.Navigate(base+"/records/new"), waitvisible("#f-domain"))
			if got := b.text("#f-domain"); !strings.Contains(got, zone) {
				t.Errorf("the customer's record form offers %q", got)
			}
			b.shot("record-add-customer")
			// saved and applied, told in plain words: no backend, server, log or state
			b.run(setvalue("#f-type", "TXT"), sendkeys("#f-value", "hello from the panel"), click(".form button[type=submit]"), waitvisible("#fields"))
			b.poll(`(() => { const h = document.querySelector('#ops h2'); return !!h && h.textContent === 'Applied on the servers.'; })()`, 90*time.Second)
			if body := b.text("main"); strings.Contains(body, "bind9") || strings.Contains(body, "SUCCESS") || strings.Contains(body, "Log") {
				t.Errorf("the customer's record page shows internals:\n%s", body)
			}
			b.shot("record-applied-customer")
			// a database with a new user, in one form: the user logs in to MariaDB
			dbName, dbUser, dbPass := "db"+token, "u"+token, "Db-Plover-5512"
			t.Cleanup(func() {
				exec.Command("sh", "-c", "printf '%s\\n' \"DROP DATABASE IF EXISTS $1; DROP USER IF EXISTS '$2'@'%';\" | "+mysqlClient,
					"sh", dbName, dbUser).Run()
			})
			b.run(chromedp.Navigate(base+"/databases/new"), waitvisible("#f-name"), sendkeys("#f-name", dbName),
				setvalue("#f-type", "mysql"), sendkeys(`[id="f-user.username"]`, dbUser), sendkeys(`[id="f-user.password"]`, dbPass))
			b.shot("database-add-customer")
			b.press(".form button[type=submit]")
			b.run(waitvisible("#fields"))
			b.poll(`(() => { const h = document.querySelector('#ops h2'); return !!h && h.textContent === 'Applied on the servers.'; })()`, 90*time.Second)
			b.shot("database-applied-customer")
			if out, err := mysqlLogin(dbUser, dbPass, dbName, "SELECT DATABASE()"); err != nil || out != dbName {
				t.Errorf("%s logging in to MariaDB: %v\n%s", dbUser, err, out)
			}
			// staff measure databases' size: the customer's database page shows
			// its usage of its allocation, and the usage's page its history
			if out, err := mysqlLogin(dbUser, dbPass, dbName, "CREATE TABLE t (v MEDIUMTEXT); INSERT INTO t VALUES (REPEAT('x', 200000))"); err != nil {
				t.Errorf("filling %s: %v\n%s", dbName, err, out)
			}
			master := staffAPI.get(t, "/servers?search=ns-master")["results"].([]any)[0].(map[string]any)
			staffAPI.post(t, "/routes", map[string]any{"backend": "mysql-disk", "server": master["id"], "match": `database.type == "mysql"`})
			disk := staffAPI.post(t, "/resources", map[string]any{"name": "size", "label": "Database size", "model": "Database", "unit": "MB",
				"scale": "10**6", "aggregation": "last", "monitors": []string{"mysql-disk"}, "default_allocation": 50})
			if round := staffAPI.post(t, "/resources/"+jsonID(disk["id"])+"/measure", nil); round["samples"] == float64(0) {
				t.Errorf("measuring databases' size: %v", round)
			}
			b.run(chromedp.Navigate(b.location()), waitvisible("section.usage meter"))
			if got := b.text("section.usage"); !strings.Contains(got, "of 50 MB") {
				t.Errorf("the database's usage: %q", got)
			}
			b.shot("database-usage-customer")
			b.follow(`section.usage a[href^="/usage/"]`)
			b.run(waitvisible("svg.chart polyline.samples"))
			b.shot("usage-chart-customer")
			for _, path := range []string{"/domains/" + jsonID(otherDomain["id"]), "/accounts/" + jsonID(other["id"]),
				"/domains/" + jsonID(otherDomain["id"]) + "/edit", "/domains/" + jsonID(otherDomain["id"]) + "/view/zone",
				"/servers/", "/logs/"} {
				b.run(chromedp.Navigate(base+path), waitvisible("h1"))
				if h1, body := b.text("h1"), b.text("main"); h1 != "Not found" || strings.Contains(body, otherZone) {
					t.Errorf("customer at %s: %q\n%s", path, h1, body)
				}
			}
			b.run(chromedp.Navigate(base+"/search?q="+qs(otherZone)), waitvisible("h1"))
			if body := b.text("main"); strings.Contains(body, otherZone) && !strings.Contains(body, "Nothing matches") {
				t.Errorf("global search shows the other account's domain:\n%s", body)
			}
			// the same pages on a phone
			b.run(chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/domains/"), waitvisible("p.count"))
			b.shot("domains-phone")

			// the customer chooses Spanish: every page speaks it, no English left
			b.run(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/accounts/"), waitvisible("p.count"))
			b.follow(`main table a[href^="/accounts/"]`)
			b.follow(`.actions a[href$="/edit"]`)
			b.run(waitvisible("#f-language"), setvalue("#f-language", "ES"), click(".form button[type=submit]"), waitvisible("#fields"))
			english := englishOnly(t)
			if !english["Save"] || !english["Domains"] {
				t.Fatalf("the Spanish catalog does not translate Save and Domains")
			}
			for _, page := range []struct{ name, path string }{
				{"dashboard-es", "/"}, {"domains-es", "/domains/"}, {"domain-es", domainURL}, {"record-add-es", "/records/new"},
				{"records-es", "/records/"}, {"database-add-es", "/databases/new"}, {"system-users-es", "/system-users/"},
				{"ssh-keys-es", "/ssh-keys/"}, {"contacts-es", "/contacts/"}, {"password-es", "/password"},
				{"search-es", "/search?q=" + qs(zone)}, {"tokens-es", "/tokens/"},
			} {
				u := page.path
				if !strings.HasPrefix(u, "http") {
					u = base + u
				}
				b.run(chromedp.Navigate(u), waitvisible("h1"))
				if left := b.untranslated(english); len(left) > 0 {
					t.Errorf("%s in Spanish still shows English: %q", page.path, left)
				}
				if lang := b.attr("html", "lang"); lang != "es" {
					t.Errorf("%s: <html lang=%q>", page.path, lang)
				}
				b.shot(page.name)
			}
			// mail of the customer's own (a mailbox, its address with an
			// autoresponse, the domain's DKIM key), so that every page has
			// a first object to show
			custAPI := apiClient(t, base, user, "Cust-Heron-7734")
			mailDomain := custAPI.post(t, "/domains", map[string]any{"name": "mail" + token + ".example.org"})
			box := custAPI.post(t, "/mailboxes", map[string]any{"name": "ann" + token, "password": "Ann-Mailbox-5150"})
			info := custAPI.post(t, "/mail-addresses", map[string]any{"name": "info", "domain": mailDomain["id"], "mailboxes": []any{box["id"]}})
			custAPI.post(t, "/autoresponses", map[string]any{"address": info["id"], "subject": "Fuera de la oficina", "message": "Vuelvo el lunes."})
			b.billing(staffAPI, user, "Cust-Heron-7734", zone, mailDomain["name"].(string), english)
			// every page, as the customer (in Spanish) and as staff, on a
			// desktop and on a phone: nothing overflows, axe-core finds
			// nothing serious, and the customer's pages hold no English
			b.everyPage("customer", english)
			b.run(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/"), waitvisible("h1"))
			b.press(`form[action="/logout"] button`)
			b.run(waitvisible("#username"))
			b.login("kestrel", "Staff-Kestrel-4821")
			b.everyPage("staff", nil)
			t.Logf("screenshots in %s", shots)
		})
	}
}

// browserPath finds Chromium: ./do test installs Debian's package.
func browserPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("ORCHESTRA_TEST_BROWSER_REQUIRED") != "" {
		t.Fatal("chromium is not installed (./do test installs Debian's chromium)")
	}
	t.Skip("chromium is not installed: run through ./do test")
	return ""
}

// browserSetup makes the store: the servers are added from the browser.
func browserSetup(t *testing.T, dbURL string) {
	st := openStore(t, dbURL)
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	if err := migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T, dbURL string) *store.Store {
	st, err := store.Open(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func countLogs(t *testing.T, st *store.Store) int {
	n, err := st.ExecutionLog.Query().Count(viewer.System(context.Background(), viewer.ChannelCLI))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countRecords(t *testing.T, st *store.Store) int {
	n, err := st.Record.Query().Count(viewer.System(context.Background(), viewer.ChannelCLI))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func runWithEnv(env []string, bin string, args ...string) ([]byte, error) {
	c := exec.Command(bin, args...)
	c.Env = env
	return c.CombinedOutput()
}

func waitUp(t *testing.T, u string) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if r, err := http.Get(u); err == nil {
			r.Body.Close()
			return
		}
	}
	t.Fatalf("%s did not answer", u)
}

func qs(s string) string { return strings.NewReplacer("=", "%3D", " ", "+", "&", "%26").Replace(s) }

func jsonID(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.Itoa(int(f))
	}
	return fmt.Sprint(v)
}

// staffClient calls the API with a session.
type staffClient struct {
	base string
	c    *http.Client
}

func apiClient(t *testing.T, base, user, pw string) *staffClient {
	jar, _ := cookiejar.New(nil)
	c := &staffClient{base: base, c: &http.Client{Jar: jar}}
	c.post(t, "/auth/login", map[string]any{"username": user, "password": pw})
	return c
}

func (c *staffClient) post(t *testing.T, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	r, err := c.c.Post(c.base+"/api/v1"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var out map[string]any
	json.NewDecoder(r.Body).Decode(&out)
	if r.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %v", path, r.StatusCode, out)
	}
	return out
}

func (c *staffClient) get(t *testing.T, path string) map[string]any {
	t.Helper()
	r, err := c.c.Get(c.base + "/api/v1" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var out map[string]any
	json.NewDecoder(r.Body).Decode(&out)
	if r.StatusCode >= 300 {
		t.Fatalf("GET %s: %d %v", path, r.StatusCode, out)
	}
	return out
}

// browser is one Chromium tab.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

// byCSS finds elements with querySelectorAll (a plain string selector would
// be a DevTools search, which also matches text).
func byCSS(sel string) chromedp.QueryOption {
	return chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		res, err := cdp.Call(ctx, t, dom.QuerySelectorAll, dom.QuerySelectorAllParams{NodeID: n.NodeID, Selector: sel})
		return res.NodeIDs, err
	})
}

func waitvisible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(sel, byCSS(sel))
}
func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(sel, byCSS(sel)) }
func sendkeys(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(sel, v, byCSS(sel))
}
func setvalue(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(sel, v, byCSS(sel))
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		body, _ := chromedp.Run(b.ctx, chromedp.Text("body", byCSS("body")))
		b.shot("failure")
		b.t.Fatalf("browser: %v\nat %s\n%s", err, b.location(), body)
	}
}

func (b *browser) poll(js string, timeout time.Duration) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(timeout))); err != nil {
		body, _ := chromedp.Run(b.ctx, chromedp.Text("body", byCSS("body")))
		b.shot("failure")
		b.t.Fatalf("browser: waiting for %s: %v\nat %s\n%s", js, err, b.location(), body)
	}
}

// follow opens the link sel once it is on the page. It reads the address
// instead of clicking: a live page swaps its fields while they refresh, and a
// click can land on a node that was just replaced. Waiting for the node first
// lets a navigation under way (a form's answer) end.
func (b *browser) follow(sel string) {
	b.t.Helper()
	b.run(waitvisible(sel))
	js := `(() => { const a = document.querySelector(` + strconv.Quote(sel) + `); return a ? a.href : ""; })()`
	href, err := chromedp.Run(b.ctx, chromedp.Poll[string](js, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: no link %s: %v\nat %s", sel, err, b.location())
	}
	b.run(chromedp.Navigate(href))
}

// press clicks the button sel from the page's own script once it is on the
// page: a click by node id can land on a node that the live page has just
// replaced, or that a navigation under way takes away.
func (b *browser) press(sel string) {
	b.t.Helper()
	b.run(waitvisible(sel))
	js := `(() => { const e = document.querySelector(` + strconv.Quote(sel) + `); if (e) e.click(); return !!e; })()`
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: no button %s: %v\nat %s", sel, err, b.location())
	}
}

func (b *browser) value(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Value(sel, byCSS(sel)))
	if err != nil {
		b.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

func (b *browser) login(user, pw string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base+"/login"), waitvisible("#username"),
		sendkeys("#username", user), sendkeys("#password", pw),
		click(`form[action="/login"] button`), waitvisible("nav.side"))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	// read in one evaluation, once sel is there: a node looked up first and
	// read after may be gone by then (htmx swaps main)
	var s *string
	for {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[*string](`(() => { const e = document.querySelector(`+strconv.Quote(sel)+`); return e ? e.innerText : null; })()`))
		if err != nil {
			b.t.Fatalf("text of %s: %v", sel, err)
		}
		if s = v; s != nil {
			return strings.TrimSpace(*s)
		}
		select {
		case <-b.ctx.Done():
			b.t.Fatalf("text of %s: %v", sel, b.ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *browser) location() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Location())
	return s
}

// shot saves a screenshot of the whole page.
func (b *browser) shot(name string) {
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644)
	if name != "failure" {
		b.accessible(name)
	}
}

// axeSource is axe-core (ORCHESTRA_TEST_AXE: ./do test fetches the pinned
// version), read once.
var axeSource = sync.OnceValues(func() ([]byte, error) {
	path := os.Getenv("ORCHESTRA_TEST_AXE")
	if path == "" {
		return nil, nil
	}
	return os.ReadFile(path)
})

// accessible runs axe-core on the page and fails the test on any serious or
// critical violation.
func (b *browser) accessible(page string) {
	b.t.Helper()
	src, err := axeSource()
	if err != nil {
		b.t.Fatalf("axe-core: %v", err)
	}
	if src == nil {
		if os.Getenv("ORCHESTRA_TEST_BROWSER_REQUIRED") != "" {
			b.t.Fatal("ORCHESTRA_TEST_AXE is unset: ./do test fetches axe-core")
		}
		return
	}
	const run = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => v.impact + " " + v.id + ": " + v.help + " — " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")))`
	found, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](string(src)+";\n"+run, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Errorf("axe-core on %s: %v", page, err)
		return
	}
	for _, v := range found {
		b.t.Errorf("accessibility of %s: %s", page, v)
	}
}

// fingerprintOf is the SHA256 fingerprint of a key in authorized_keys form.
func fingerprintOf(t *testing.T, key string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(pk)
}

// englishOnly are the English messages whose Spanish differs: one of them
// on a Spanish page is a string left untranslated.
func englishOnly(t *testing.T) map[string]bool {
	cat, err := i18n.Catalog("es")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for en, es := range cat {
		if en != es && !strings.Contains(en, "%") {
			out[en] = true
		}
	}
	return out
}

// untranslated lists the page's texts (and its labels, titles and
// placeholders) that are English messages.
func (b *browser) untranslated(english map[string]bool) []string {
	b.t.Helper()
	js := `(() => {
		const out = [];
		const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		while (w.nextNode()) { const s = w.currentNode.textContent.trim(); if (s) out.push(s); }
		for (const e of document.querySelectorAll('[title],[placeholder],[aria-label],[data-label]'))
			for (const a of ['title', 'placeholder', 'aria-label', 'data-label']) { const v = e.getAttribute(a); if (v) out.push(v.trim()); }
		return out; })()`
	texts, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](js))
	if err != nil {
		b.t.Fatalf("reading the page's texts: %v", err)
	}
	var left []string
	for _, s := range texts {
		if english[s] || english[strings.TrimSuffix(s, ":")] {
			left = append(left, s)
		}
	}
	return left
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Attributes(sel, byCSS(sel)))
	if err != nil {
		b.t.Fatalf("attributes of %s: %v", sel, err)
	}
	return v[name]
}

// inner is what the page shows of sel, as a person reads it.
func (b *browser) inner(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector(`+strconv.Quote(sel)+`); return e ? e.innerText : ""; })()`))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// mysqlLogin runs SQL as user over TCP on the test bed's MariaDB.
func mysqlLogin(user, pw, db, sql string) (string, error) {
	host, port := "127.0.0.1", "3306"
	if a := os.Getenv("ORCHESTRA_TEST_MYSQL_ADDR"); a != "" {
		if h, p, err := net.SplitHostPort(a); err == nil {
			host, port = h, p
		}
	}
	out, err := exec.Command("mysql", "--protocol=TCP", "-h", host, "-P", port, "-u", user, "--password="+pw,
		"-N", "-B", "-e", sql, db).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// everyPage visits every list in the navigation, the first object of each
// and its add form, on a desktop and on a phone, and keeps a screenshot of
// each. No page is wider than the screen; with english, none shows an
// English message.
func (b *browser) everyPage(who string, english map[string]bool) {
	b.t.Helper()
	b.run(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(b.base+"/"), waitvisible("nav.side"))
	lists, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('nav.side a')].map(a => a.getAttribute('href'))`))
	if err != nil || len(lists) < 3 {
		b.t.Fatalf("the navigation: %v %v", lists, err)
	}
	pages := []string{"/", "/password", "/search?q=example"}
	for _, l := range lists {
		if l == "/" {
			continue
		}
		pages = append(pages, l)
		b.run(chromedp.Navigate(b.base+l), waitvisible("h1"))
		more, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[
			document.querySelector('main table tbody a[href^="`+l+`"]'),
			document.querySelector('main a.button.primary[href$="/new"]'),
		].filter(a => a).map(a => a.getAttribute('href'))`))
		if err != nil {
			b.t.Fatalf("links of %s: %v", l, err)
		}
		pages = append(pages, more...)
	}
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		b.run(chromedp.EmulateViewport(vp.w, vp.h))
		for _, p := range pages {
			b.run(chromedp.Navigate(b.base+p), waitvisible("h1"))
			name := "every-" + who + "-" + vp.name + "-" + strings.Trim(strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(p), "-")
			if p == "/" {
				name = "every-" + who + "-" + vp.name + "-dashboard"
			}
			if wide, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); err != nil || wide {
				b.t.Errorf("%s on a %s is wider than the screen", p, vp.name)
			}
			if english != nil {
				if left := b.untranslated(english); len(left) > 0 {
					b.t.Errorf("%s still shows English: %q", p, left)
				}
			}
			b.shot(name)
		}
	}
	b.run(chromedp.EmulateViewport(1280, 900))
}

// billing: the customer's domains become orders once staff add a service
// for domains; staff bill them from the orders list through its preview,
// close the bill, and the customer reads it in Spanish and downloads its
// PDF; the account's page says what it pays a month. The browser starts and
// ends logged in as the customer.
func (b *browser) billing(staffAPI *staffClient, user, pw, zone, mailZone string, english map[string]bool) {
	t := b.t
	t.Helper()
	cust := staffAPI.get(t, "/accounts?search="+user)["results"].([]any)[0].(map[string]any)
	custID := jsonID(cust["id"])
	staffAPI.post(t, "/services", map[string]any{"description": "Domain", "model": "Domain", "match": "domain.top_id == 0",
		"nominal_price": "10.00", "billing_period": "MONTHLY", "billing_point": "ON_REGISTER", "tax": 21})
	// the orders consumer opens an order for each of the customer's domains
	// (not for the subdomains mail made: _dmarc, the DKIM key's)
	deadline := time.Now().Add(90 * time.Second)
	for {
		n, _ := staffAPI.get(t, "/orders?account="+custID)["count"].(float64)
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the customer's domains made %v orders, want 2: %v", n, staffAPI.get(t, "/orders?account="+custID)["results"])
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.run(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(b.base+"/orders/"), waitvisible("p.count"))
	if body := b.text("main"); !strings.Contains(body, "Domain: "+zone) || !strings.Contains(body, "Domain: "+mailZone) {
		t.Errorf("the customer's orders:\n%s", body)
	}
	b.shot("orders-customer-es")

	// staff choose the customer's orders and bill them: a preview first
	b.press(`form[action="/logout"] button`)
	b.run(waitvisible("#username"))
	b.login("kestrel", "Staff-Kestrel-4821")
	b.run(chromedp.Navigate(b.base+"/orders/?q="+qs("account="+custID)), waitvisible("th.pick input"))
	b.run(click("th.pick input"), setvalue("#bulk-action", "bill"))
	b.shot("orders-bill")
	b.press("form.list .bulk button[type=submit]")
	b.run(waitvisible("section.preview table"))
	if got := b.text("section.preview"); !strings.Contains(got, "Domain: "+zone) || !strings.Contains(got, "Domain: "+mailZone) || !strings.Contains(got, "24.2") {
		t.Errorf("the bill's preview:\n%s", got)
	}
	if bills := staffAPI.get(t, "/bills?account="+custID)["count"]; bills != float64(0) {
		t.Errorf("the preview made %v bills", bills)
	}
	b.shot("bill-preview")
	b.press("form.buttons button.primary")
	b.run(waitvisible("h1"))
	b.shot("bill-made")
	made := staffAPI.get(t, "/bills?account="+custID)["results"].([]any)
	if len(made) != 1 {
		t.Fatalf("billing made %d bills", len(made))
	}
	bill := made[0].(map[string]any)
	billURL := "/bills/" + jsonID(bill["id"])
	if total, _ := strconv.ParseFloat(fmt.Sprint(bill["total"]), 64); total != 24.2 || !strings.HasPrefix(fmt.Sprint(bill["number"]), "OI") {
		t.Errorf("the bill: %v", bill)
	}
	// closed once both sides have invoice contacts
	staff := staffAPI.get(t, "/accounts?search=kestrel")["results"].([]any)[0].(map[string]any)
	for _, c := range []struct{ account any }{{cust["id"]}, {staff["id"]}} {
		staffAPI.post(t, "/bill-contacts", map[string]any{"account": c.account, "name": "Contact " + jsonID(c.account), "address": "Carrer Gran 1",
			"city": "Barcelona", "zipcode": "08001", "country": "ES", "vat": "B12345678"})
	}
	b.run(chromedp.Navigate(b.base+billURL), waitvisible("h1"))
	b.shot("bill-open")
	b.follow(`.actions a[href$="/do/close"]`)
	b.press("main form button[type=submit]")
	b.run(waitvisible("h1"))
	b.run(chromedp.Navigate(b.base+billURL), waitvisible("h1"))
	closedNumber := fmt.Sprintf("I%d0001", time.Now().Year()) // the year's first closed invoice
	if h1 := b.text("h1"); !strings.Contains(h1, closedNumber) {
		t.Errorf("the closed bill's title: %q", h1)
	}
	if body := b.text("main"); !strings.Contains(body, "Domain: "+zone) || !strings.Contains(body, "24.20") || !strings.Contains(body, "10.00") {
		t.Errorf("the bill's page does not list its lines, to the cent:\n%s", body)
	}
	if got := b.text(".actions"); strings.Contains(got, "Change") || strings.Contains(got, "Delete") || !strings.Contains(got, "Amend") {
		t.Errorf("a closed bill is offered to be changed or deleted, or not to be amended: %q", got)
	}
	b.shot("bill-closed")
	if got := b.fetchHead(billURL + "/download/document"); got != "200 application/pdf %PDF-" {
		t.Errorf("staff downloading the PDF: %q", got)
	}
	// what the account pays a month: two domains at 10.00 and 21% tax
	b.run(chromedp.Navigate(b.base+"/accounts/"+custID), waitvisible("section.monthly"))
	if got := b.text("section.monthly"); !strings.Contains(got, "24.20") {
		t.Errorf("the account's monthly cost: %q", got)
	}
	b.shot("account-monthly")

	// the customer, in Spanish, reads the bill and downloads its PDF
	b.press(`form[action="/logout"] button`)
	b.run(waitvisible("#username"))
	b.login(user, pw)
	b.run(chromedp.Navigate(b.base+"/bills/"), waitvisible("p.count"))
	if body := b.text("main"); !strings.Contains(body, "24,2") && !strings.Contains(body, "24.2") {
		t.Errorf("the customer's bills:\n%s", body)
	}
	b.shot("bills-customer-es")
	b.run(chromedp.Navigate(b.base+billURL), waitvisible("h1"))
	if left := b.untranslated(english); len(left) > 0 {
		t.Errorf("the customer's bill in Spanish still shows English: %q", left)
	}
	if !strings.Contains(b.text(".actions"), "Descargar PDF") {
		t.Errorf("the customer's bill offers no PDF: %q", b.text(".actions"))
	}
	b.shot("bill-customer-es")
	if got := b.fetchHead(billURL + "/download/document"); got != "200 application/pdf %PDF-" {
		t.Errorf("the customer downloading the PDF: %q", got)
	}
}

// fetchHead fetches path from the page, with its session, and says its
// status, media type and first five bytes.
func (b *browser) fetchHead(path string) string {
	b.t.Helper()
	js := `(() => {
		if (window.__fetched === undefined) {
			window.__fetched = "";
			fetch(` + strconv.Quote(path) + `).then(r => r.arrayBuffer().then(buf =>
				window.__fetched = r.status + " " + r.headers.get("content-type") + " " + String.fromCharCode(...new Uint8Array(buf.slice(0, 5)))))
				.catch(e => window.__fetched = "failed: " + e);
		}
		return window.__fetched;
	})()`
	got, err := chromedp.Run(b.ctx, chromedp.Poll[string](js, chromedp.WithPollingTimeout(60*time.Second)))
	if err != nil {
		b.t.Fatalf("fetching %s: %v", path, err)
	}
	return got
}
