package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/services/web/webtest"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/webapp"
	"github.com/orchestra-panel/orchestra/internal/store/ent/website"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// server is one of the bed's web servers and the backend that writes it.
type server struct{ backend, addr, sites string }

// siteBed is a customer on the API whose websites the nginx and Apache
// backends write to the web test bed.
type siteBed struct {
	*apitest.Bed
	web     *webtest.Bed
	cust    *apitest.Client
	acc     int
	user    string // the account's and its main system user's name
	dom     string // its domain; sites answer for NAME.dom
	domID   int
	servers []server
	cert    *webtest.Cert
	sites   []int
}

// newSiteBed starts the API on the bed with the system users and both site
// backends routed, the bed's server settings and a default certificate
// for the customer's domain and its subdomains, and holds the bed's lock:
// a unit whose configuration the check refuses would fail another's check.
func newSiteBed(t testing.TB, st *store.Store) *siteBed {
	wb := webtest.Load(t)
	wb.Lock(t)
	bed := apitest.OnTestBed(t, st, systemusers.Backend, web.NginxBackend, web.ApacheBackend)
	b := &siteBed{Bed: bed, web: wb, user: apitest.Unique("w")}
	b.dom = b.user + ".example"
	b.cert = wb.Cert(t, b.dom, "*."+b.dom)
	set := wb.ServerSettings()
	set["WEB_DEFAULT_CERT"], set["WEB_DEFAULT_KEY"] = b.cert.CertFile, b.cert.KeyFile
	bed.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", bed.ServerID), map[string]any{"version": 1, "settings": set}).Want(http.StatusOK)
	b.servers = []server{{web.NginxBackend, wb.Nginx, wb.NginxSites()}, {web.ApacheBackend, wb.Apache, wb.ApacheSites()}}
	b.cust, b.acc = bed.Customer(b.user)
	b.domID = b.cust.Do("POST", "/domains", map[string]any{"name": b.dom}).Want(http.StatusCreated).ID()
	// before the certificate's folder goes: no site may point at it then
	t.Cleanup(func() {
		for _, id := range b.sites {
			b.Admin.Do("DELETE", fmt.Sprintf("/websites/%d", id), nil)
		}
		if out, _ := b.Root("ls " + wb.NginxSites() + " " + wb.ApacheSites() + " | grep -F -- " + orchestrationQuote(fmt.Sprintf("%d-", b.acc)) + " | grep -F " + b.user); strings.TrimSpace(out) != "" {
			t.Errorf("left on the bed: %s", out)
		}
	})
	return b
}

func orchestrationQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// app adds a web app of kind typ and puts files (name → content) in its
// folder as the user; the app's folder is made here until the web app
// backend makes it.
func (b *siteBed) app(name, typ string, settings map[string]any, folder string, files map[string]string) int {
	b.T.Helper()
	body := map[string]any{"name": name, "type": typ}
	if settings != nil {
		body["settings"] = settings
	}
	id := b.cust.Do("POST", "/webapps", body).Want(http.StatusCreated).ID() // no backend of its own yet
	dir := "/home/" + b.user + "/webapps/" + name
	if folder != "" {
		dir += "/" + folder
	}
	script := fmt.Sprintf("set -e; runuser -u %[1]s -- mkdir -p %[2]s\n", b.user, dir)
	for f, content := range files {
		script += fmt.Sprintf("runuser -u %s -- mkdir -p \"$(dirname %s)\"; printf %%s %s | runuser -u %s -- tee %s >/dev/null\n",
			b.user, orchestrationQuote(dir+"/"+f), orchestrationQuote(content), b.user, orchestrationQuote(dir+"/"+f))
	}
	if out, code := b.Root(script); code != 0 {
		b.T.Fatalf("app %s's files: %s", name, out)
	}
	return id
}

// site adds a website for NAME.dom (NAME being unique to the run) with
// protocol and returns its id and host name.
func (b *siteBed) site(name, protocol string) (int, string) {
	b.T.Helper()
	host := name + "." + b.dom
	domID := b.cust.Do("POST", "/domains", map[string]any{"name": host}).Want(http.StatusCreated).ID()
	id := b.Applied(b.cust.Do("POST", "/websites", map[string]any{"name": name, "protocol": protocol,
		"domains": []int{domID}}).Want(http.StatusCreated)).ID()
	b.sites = append(b.sites, id)
	return id, host
}

func (b *siteBed) mount(site, app int, path string) int {
	b.T.Helper()
	return b.Applied(b.cust.Do("POST", "/website-contents", map[string]any{"website": site, "webapp": app, "path": path}).
		Want(http.StatusCreated)).ID()
}

func (b *siteBed) directive(c *apitest.Client, site int, typ string, settings map[string]any) *apitest.Resp {
	b.T.Helper()
	return c.Do("POST", "/website-directives", map[string]any{"website": site, "type": typ, "settings": settings}).Want(http.StatusCreated)
}

// each runs fn on both servers.
func (b *siteBed) each(fn func(s server)) {
	for _, s := range b.servers {
		fn(s)
	}
}

// want fails unless GET scheme://host/path on each server answers status
// with a body containing body.
func (b *siteBed) want(scheme, host, path string, status int, body string) {
	b.T.Helper()
	b.each(func(s server) {
		b.T.Helper()
		r, err := b.web.Fetch(s.addr, scheme, host, path)
		if err != nil {
			b.T.Errorf("%s: GET %s://%s%s: %v", s.backend, scheme, host, path, err)
			return
		}
		if r.Status != status || !strings.Contains(r.Body, body) {
			b.T.Errorf("%s: GET %s://%s%s: %d %q, want %d with %q", s.backend, scheme, host, path, r.Status, r.Body, status, body)
		}
	})
}

// TestSitesOverAPI: a customer's websites as nginx and Apache serve them,
// each scenario on both: a static app's files, a redirect, a proxy, an
// error document, a protected folder, headers, https with the server's
// default certificate and https-only, the suspended page of an inactive
// site or account, a refused configuration that leaves the old one
// serving, and a deleted site's files gone.
func TestSitesOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newSiteBed(t, st)
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "upstream saw %s", r.URL.Path)
		}))
		t.Cleanup(upstream.Close)

		app := b.app("files", "static", map[string]any{"public_root": "public"}, "public", map[string]string{
			"index.html": "hello from " + b.user, "private/index.html": "the secret", "oops.html": "our own 404 page",
			"privateer.html": "not below /private"})
		id, host := b.site("www"+b.user[1:], "http")
		b.mount(id, app, "/")
		b.want("http", host, "/", 200, "hello from "+b.user)

		// directives
		b.Applied(b.directive(b.cust, id, "redirect", map[string]any{"location": "/old", "target": "https://example.com/new"}))
		b.Applied(b.directive(b.cust, id, "proxy", map[string]any{"location": "/api", "url": upstream.URL + "/v1"}))
		b.Applied(b.directive(b.cust, id, "error-document", map[string]any{"status": 404, "target": "/oops.html"}))
		prot := b.directive(b.cust, id, "protection", map[string]any{"location": "/private", "realm": "Staff only",
			"users": map[string]any{"ann": "Ann-secret-42"}})
		b.Applied(prot)
		// its unit final, the hash is in the directive's own row only: in no
		// answer, change, operation, stored script or history entry
		d, err := st.WebsiteDirective.Get(viewer.System(t.Context(), viewer.ChannelCLI), prot.ID())
		if found := storetest.TablesHolding(t, st, []string{d.PasswordHashes["ann"]}); err != nil || fmt.Sprint(found) != "[website_directives]" {
			t.Errorf("the protection's hash is in %v (%v)", found, err)
		}
		b.Applied(b.directive(b.cust, id, "headers", map[string]any{"location": "/", "headers": map[string]any{"X-Site": "yes"}}))
		b.Applied(b.directive(b.cust, id, "headers", map[string]any{"location": "/private", "headers": map[string]any{"X-Private": "100% \"quoted\""}}))
		b.each(func(s server) {
			r, err := b.web.Fetch(s.addr, "http", host, "/old/page")
			if err != nil || r.Status != http.StatusFound || r.Header.Get("Location") != "https://example.com/new/page" {
				t.Errorf("%s: redirect: %v %+v", s.backend, err, r)
			}
			_, body, h := b.web.Get(t, s.addr, "http", host, "/api/x")
			if body != "upstream saw /v1/x" || h.Get("X-Site") != "yes" {
				t.Errorf("%s: proxy: %q %v", s.backend, body, h)
			}
			st, body, _ := b.web.Get(t, s.addr, "http", host, "/nothing-here")
			if st != 404 || body != "our own 404 page" {
				t.Errorf("%s: error document: %d %q", s.backend, st, body)
			}
			if st, _, _ := b.web.Get(t, s.addr, "http", host, "/private/"); st != 401 {
				t.Errorf("%s: protected without a password: %d", s.backend, st)
			}
			if st, _, _ := b.web.GetAuth(t, s.addr, "http", host, "/private/", "ann", "wrong-password"); st != 401 {
				t.Errorf("%s: protected with a wrong password: %d", s.backend, st)
			}
			st, body, h = b.web.GetAuth(t, s.addr, "http", host, "/private/", "ann", "Ann-secret-42")
			if st != 200 || body != "the secret" || h.Get("X-Private") != `100% "quoted"` || h.Get("X-Site") != "yes" {
				t.Errorf("%s: protected with the password: %d %q %v", s.backend, st, body, h)
			}
			// a location covers what lies below it, not what only starts as it does
			if st, body, h := b.web.Get(t, s.addr, "http", host, "/privateer.html"); st != 200 || body != "not below /private" || h.Get("X-Private") != "" {
				t.Errorf("%s: /privateer.html beside /private: %d %q %v", s.backend, st, body, h)
			}
			if _, _, h := b.web.Get(t, s.addr, "http", host, "/"); h.Get("X-Site") != "yes" || h.Get("X-Private") != "" {
				t.Errorf("%s: headers of /: %v", s.backend, h)
			}
		})

		// https with the server's default certificate; https-only redirects
		patch := func(path string, body map[string]any) *apitest.Resp {
			t.Helper()
			cur := b.Admin.Do("GET", path, nil).Want(http.StatusOK).JSON()
			body["version"] = cur["version"]
			return b.Applied(b.cust.Do("PATCH", path, body).Want(http.StatusOK))
		}
		site := fmt.Sprintf("/websites/%d", id)
		patch(site, map[string]any{"protocol": "http/https"})
		b.each(func(s server) {
			r, err := b.web.Fetch(s.addr, "https", host, "/")
			if err != nil || r.Status != 200 || r.Body != "hello from "+b.user || r.TLS.PeerCertificates[0].SerialNumber.Cmp(b.cert.Leaf.SerialNumber) != 0 {
				t.Errorf("%s: https: %v %+v", s.backend, err, r)
			}
		})
		b.want("http", host, "/", 200, "hello from")
		patch(site, map[string]any{"protocol": "https-only"})
		b.each(func(s server) {
			r, err := b.web.Fetch(s.addr, "http", host, "/a?b=c")
			if err != nil || r.Status != http.StatusMovedPermanently || r.Header.Get("Location") != "https://"+host+"/a?b=c" {
				t.Errorf("%s: https-only over http: %v %+v", s.backend, err, r)
			}
		})
		b.want("https", host, "/", 200, "hello from")

		// the suspended page: an inactive site, an inactive account
		patch(site, map[string]any{"is_active": false})
		b.want("https", host, "/", 503, "This site is suspended")
		b.want("https", host, "/private/", 503, "This site is suspended")
		patch(site, map[string]any{"is_active": true})
		b.want("https", host, "/", 200, "hello from")
		b.Applied(b.Admin.Do("PATCH", fmt.Sprintf("/accounts/%d", b.acc), map[string]any{"is_active": false,
			"version": b.Admin.Do("GET", fmt.Sprintf("/accounts/%d", b.acc), nil).JSON()["version"]}).Want(http.StatusOK))
		b.want("https", host, "/", 503, "This site is suspended")
		b.Applied(b.Admin.Do("PATCH", fmt.Sprintf("/accounts/%d", b.acc), map[string]any{"is_active": true,
			"version": b.Admin.Do("GET", fmt.Sprintf("/accounts/%d", b.acc), nil).JSON()["version"]}).Want(http.StatusOK))
		b.want("https", host, "/", 200, "hello from")

		// staff's include directive with a line no server takes: refused
		// with the checker's words, and the site still answers as it did
		r := b.directive(b.Admin, id, "include", map[string]any{"text": "no_such_directive on;"})
		if r.Header.Get("Orchestra-Outcome") != "FAILURE" {
			t.Errorf("a bad include: outcome %q", r.Header.Get("Orchestra-Outcome"))
		}
		logs := b.Admin.Do("GET", "/logs?page_size=100", nil).JSON()["results"].([]any)
		seen := map[string]bool{}
		for _, l := range logs {
			l := l.(map[string]any)
			if l["state"] == "FAILURE" {
				full := b.Admin.Do("GET", fmt.Sprintf("/logs/%d", int(l["id"].(float64))), nil).JSON()
				stderr, _ := full["stderr"].(string)
				if strings.Contains(stderr, "no_such_directive") && strings.Contains(stderr, "the previous one stays live") {
					seen[full["backend"].(string)] = true
				}
			}
		}
		if !seen[web.NginxBackend] || !seen[web.ApacheBackend] {
			t.Errorf("the checkers' words were not in the logs of both: %v", seen)
		}
		b.want("https", host, "/", 200, "hello from")
		b.Applied(b.Admin.Do("DELETE", fmt.Sprintf("/website-directives/%d", r.ID()), nil).Want(http.StatusNoContent))

		// deleting the site takes its files
		b.Applied(b.cust.Do("DELETE", site, nil).Want(http.StatusNoContent))
		b.each(func(s server) {
			if st, body, _ := b.web.Get(t, s.addr, "http", host, "/"); st != 404 || strings.Contains(body, "hello") {
				t.Errorf("%s: a deleted site: %d %q", s.backend, st, body)
			}
			name := web.SiteName(b.acc, "www"+b.user[1:])
			if out, _ := b.Root(fmt.Sprintf("ls -d %s/%s.conf %s/orchestra/include/%s.conf %s/orchestra/htpasswd/%s 2>/dev/null",
				s.sites, name, s.sites+"/..", name, s.sites+"/..", name)); out != "" {
				t.Errorf("%s: left after the delete: %s", s.backend, out)
			}
		})
	})
}

// TestSitePHP: a PHP app's site answers through its PHP-FPM pool, on
// both servers.
func TestSitePHP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newSiteBed(t, st)
		for _, be := range []string{"webapp", "php-fpm"} {
			b.Admin.Do("POST", "/routes", map[string]any{"backend": be, "server": b.ServerID}).Want(http.StatusCreated)
		}
		app := b.Applied(b.cust.Do("POST", "/webapps", map[string]any{"name": "php", "type": "php"}).Want(http.StatusCreated)).ID()
		t.Cleanup(func() { b.Admin.Do("DELETE", fmt.Sprintf("/webapps/%d", app), nil) })
		dir := "/home/" + b.user + "/webapps/php"
		if out, code := b.Root(fmt.Sprintf("echo '<?php echo \"php says \" . (1 + 2);' | runuser -u %s -- tee %s/index.php >/dev/null", b.user, dir)); code != 0 {
			t.Fatal(out)
		}
		id, host := b.site("php"+b.user[1:], "http")
		b.mount(id, app, "/")
		b.want("http", host, "/", 200, "php says 3")
	})
}

// TestSitePlantedLinks: links the customer plants where a site's served
// folder is (to /etc, to another account's home) make its unit fail with
// nothing outside the home changed and the site not written; a link inside
// a served or protected folder is not followed by the grants, nor served.
func TestSitePlantedLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newSiteBed(t, st)
		other := apitest.Unique("x")
		b.Customer(other)
		home := "/home/" + b.user
		state := func() string {
			out, _ := b.Root("getfacl -R -p /etc /home/" + other + " 2>/dev/null | sha256sum; stat -c '%n %a %U %G' /etc /etc/passwd /home/" + other)
			return out
		}
		before := state()
		for i, target := range []string{"/etc", "/home/" + other} {
			name := fmt.Sprintf("trap%d", i)
			app := b.cust.Do("POST", "/webapps", map[string]any{"name": name, "type": "static", "settings": map[string]any{"public_root": "public"}}).
				Want(http.StatusCreated).ID()
			if out, code := b.Root(fmt.Sprintf("runuser -u %[1]s -- mkdir -p %[2]s/webapps/%[3]s && runuser -u %[1]s -- ln -s %[4]s %[2]s/webapps/%[3]s/public", b.user, home, name, target)); code != 0 {
				t.Fatal(out)
			}
			id, host := b.site(name+b.user[1:], "http")
			r := b.cust.Do("POST", "/website-contents", map[string]any{"website": id, "webapp": app, "path": "/"}).Want(http.StatusCreated)
			if got := r.Header.Get("Orchestra-Outcome"); got != "FAILURE" {
				t.Errorf("a served folder linked to %s: outcome %q", target, got)
			}
			b.each(func(s server) {
				if st, body, _ := b.web.Get(t, s.addr, "http", host, "/passwd"); st == 200 || strings.Contains(body, "root:") {
					t.Errorf("%s: served through a link to %s: %d %q", s.backend, target, st, body)
				}
			})
		}
		// links inside a served folder, and where a protected folder is
		app := b.app("ok", "static", map[string]any{"public_root": "public"}, "public", map[string]string{"index.html": "fine"})
		if out, code := b.Root(fmt.Sprintf("runuser -u %[1]s -- ln -s /etc %[2]s/webapps/ok/public/etc && runuser -u %[1]s -- ln -s /etc %[2]s/webapps/ok/public/private", b.user, home)); code != 0 {
			t.Fatal(out)
		}
		id, host := b.site("ok"+b.user[1:], "http")
		b.mount(id, app, "/")
		b.Applied(b.directive(b.cust, id, "protection", map[string]any{"location": "/private", "users": map[string]any{"ann": "Ann-secret-42"}}))
		b.want("http", host, "/", 200, "fine")
		b.each(func(s server) {
			for _, p := range []string{"/etc/passwd", "/private/passwd"} {
				if st, body, _ := b.web.GetAuth(t, s.addr, "http", host, p, "ann", "Ann-secret-42"); st == 200 || strings.Contains(body, "root:") {
					t.Errorf("%s: %s served through a planted link: %d %q", s.backend, p, st, body)
				}
			}
		})
		if after := state(); after != before {
			t.Errorf("outside the home, before:\n%s\nafter:\n%s", before, after)
		}
	})
}

// BenchmarkThousandSites adds 1,000 websites, each with a PHP app of its
// own mounted at /, in one write (the apps' folders, their account's
// PHP-FPM pool and both servers' sites), and waits from the commit until
// nginx and Apache both serve every one of them through PHP (each app's
// index.php); it reports the write, the commit to success, the units the
// backends ran and the reloads nginx and Apache logged per unit of theirs
// (target: 1).
//
//	go test -run '^$' -bench ThousandSites -benchtime 1x ./internal/services/web/
func BenchmarkThousandSites(b *testing.B) {
	const n = 1000
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		wb := webtest.Load(b)
		wb.Lock(b)
		bed := sshtest.Load(b)
		pool, err := sshpool.New(sshpool.Config{Signer: bed.Signer})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pool.Close() })
		s0 := bed.Servers[0]
		target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
		root := func(script string) string {
			var out, errOut strings.Builder
			if code, err := pool.Run(context.Background(), target, []byte(script), &out, &errOut); err != nil || code != 0 {
				b.Fatalf("%s: %d %v %s", script, code, err, errOut.String())
			}
			return out.String()
		}
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		tag := webtest.Token()
		set := wb.ServerSettings()
		var acc *ent.Account
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
			srv, err := tx.Server.Create().SetName("bench").SetAddress(s0.Address).SetSSHPort(s0.Port).SetHostKey(s0.HostKey).
				SetSettings(set).Save(ctx)
			if err != nil {
				return err
			}
			for _, be := range []string{systemusers.Backend, web.AppBackend, web.PHPFPMBackend, web.NginxBackend, web.ApacheBackend} {
				if err := tx.Route.Create().SetBackend(be).SetServerID(srv.ID).Exec(ctx); err != nil {
					return err
				}
			}
			if acc, err = tx.Account.Create().SetUsername(tag).SetPassword("!").SetFullName("Bench").SetEmail("bench@example.com").Save(ctx); err != nil {
				return err
			}
			_, err = tx.Domain.Create().SetName(tag + ".example").SetAccountID(acc.ID).Save(ctx)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: 200 * time.Millisecond})
		ex.Start()
		b.Cleanup(ex.Close)
		settle := func(what string, changes []int) {
			out, err := ex.Follow(ctx, changes, 10*time.Minute, false)
			if err != nil || out.State != orchestration.StateSuccess {
				b.Fatalf("%s: outcome %s, %v", what, out.State, err)
			}
		}
		// the account's user first, and each app's index.html as it
		ids, err := st.Change.Query().IDs(ctx)
		if err != nil {
			b.Fatal(err)
		}
		settle("the account", ids)
		b.Cleanup(func() {
			root(fmt.Sprintf("pkill -KILL -u %[1]s; userdel -r %[1]s; groupdel %[1]s; true", tag))
		})
		home := "/home/" + tag
		root(fmt.Sprintf(`set -e
for i in $(seq -w 0 %d); do
  runuser -u %[2]s -- mkdir -p %[3]s/webapps/a$i
  printf '<?php echo "site %%s";' "$i" | runuser -u %[2]s -- tee %[3]s/webapps/a$i/index.php >/dev/null
done`, n-1, tag, home))
		count := func(log, what string) int {
			data, err := os.ReadFile(wb.Log(log))
			if err != nil {
				b.Fatal(err)
			}
			return strings.Count(string(data), what)
		}
		const nginxReload, apacheReload = "reconfiguring", "Doing graceful restart"
		var lastLog int
		if l, err := st.ExecutionLog.Query().Order(ent.Desc(executionlog.FieldID)).First(ctx); err == nil {
			lastLog = l.ID
		}
		b.Cleanup(func() {
			tctx, tracker := orchestration.Track(ctx)
			if err := st.Tx(tctx, func(ctx context.Context, tx *ent.Tx) error {
				if _, err := tx.Website.Delete().Where(website.AccountID(acc.ID)).Exec(ctx); err != nil {
					return err
				}
				_, err := tx.WebApp.Delete().Where(webapp.AccountID(acc.ID)).Exec(ctx) // their pool and execution user too
				return err
			}); err != nil {
				b.Error(err)
				return
			}
			settle("deleting the sites and apps", tracker.Changes())
		})
		b.ResetTimer()
		for range b.N {
			reloads := count("nginx/error.log", nginxReload) + count("apache/error.log", apacheReload)
			t0 := time.Now()
			tctx, tracker := orchestration.Track(ctx)
			err := st.Tx(tctx, func(ctx context.Context, tx *ent.Tx) error {
				doms := make([]*ent.DomainCreate, n)
				apps := make([]*ent.WebAppCreate, n)
				for i := range n {
					doms[i] = tx.Domain.Create().SetName(fmt.Sprintf("s%03d.%s.example", i, tag)).SetAccountID(acc.ID)
					apps[i] = tx.WebApp.Create().SetName(fmt.Sprintf("a%03d", i)).SetType(web.AppPHP).SetSettings(map[string]any{}).SetAccountID(acc.ID)
				}
				var ds []*ent.Domain
				var as []*ent.WebApp
				for c := range slices.Chunk(doms, 500) {
					made, err := tx.Domain.CreateBulk(c...).Save(ctx)
					if err != nil {
						return err
					}
					ds = append(ds, made...)
				}
				for c := range slices.Chunk(apps, 500) {
					made, err := tx.WebApp.CreateBulk(c...).Save(ctx)
					if err != nil {
						return err
					}
					as = append(as, made...)
				}
				sites := make([]*ent.WebsiteCreate, n)
				for i := range n {
					sites[i] = tx.Website.Create().SetName(fmt.Sprintf("s%03d", i)).SetAccountID(acc.ID).SetDomains([]int{ds[i].ID})
				}
				var ws []*ent.Website
				for c := range slices.Chunk(sites, 500) {
					made, err := tx.Website.CreateBulk(c...).Save(ctx)
					if err != nil {
						return err
					}
					ws = append(ws, made...)
				}
				contents := make([]*ent.WebsiteContentCreate, n)
				for i := range n {
					contents[i] = tx.WebsiteContent.Create().SetWebsiteID(ws[i].ID).SetWebappID(as[i].ID).SetPath("/")
				}
				for c := range slices.Chunk(contents, 500) {
					if err := tx.WebsiteContent.CreateBulk(c...).Exec(ctx); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			committed := time.Now()
			settle("1,000 sites", tracker.Changes())
			done := time.Since(committed)
			b.StopTimer()
			for i := range n {
				host := fmt.Sprintf("s%03d.%s.example", i, tag)
				for _, addr := range []string{wb.Nginx, wb.Apache} {
					r, err := wb.Fetch(addr, "http", host, "/")
					if err != nil || r.Status != 200 || r.Body != fmt.Sprintf("site %03d", i) {
						b.Fatalf("%s on %s: %v %+v", host, addr, err, r)
					}
				}
			}
			logs, err := st.ExecutionLog.Query().Where(executionlog.IDGT(lastLog),
				executionlog.BackendIn(web.AppBackend, web.PHPFPMBackend, web.NginxBackend, web.ApacheBackend)).All(ctx)
			if err != nil {
				b.Fatal(err)
			}
			units := len(logs)
			for _, l := range logs {
				ops, _ := l.QueryOperations().Count(ctx)
				var took time.Duration
				if l.StartedAt != nil && l.FinishedAt != nil {
					took = l.FinishedAt.Sub(*l.StartedAt)
				}
				var started time.Duration
				if l.StartedAt != nil {
					started = l.StartedAt.Sub(committed)
				}
				b.Logf("unit %d: %s, %d operations, %s, made at +%v, started at +%v, ran %v", l.ID, l.Backend, ops, l.State,
					l.CreatedAt.Sub(committed).Round(time.Millisecond), started.Round(time.Millisecond), took.Round(time.Millisecond))
			}
			b.ReportMetric(committed.Sub(t0).Seconds(), "s-write")
			b.ReportMetric(done.Seconds(), "s-commit-to-success")
			b.ReportMetric(float64(units), "units")
			siteUnits := 0
			for _, l := range logs {
				if l.Backend == web.NginxBackend || l.Backend == web.ApacheBackend {
					siteUnits++
				}
			}
			b.ReportMetric(float64(count("nginx/error.log", nginxReload)+count("apache/error.log", apacheReload)-reloads)/float64(max(siteUnits, 1)), "reloads/unit")
			b.StartTimer()
		}
	})
}
