package hostiletest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/services/web/webtest"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// websitesSuite drives the nginx and Apache site backends on the web test
// bed: websites whose names and protocols, contents whose paths, and
// directives whose types, locations, redirect targets, proxy URLs,
// header values, realms, protected users' names and passwords are the
// seeds. What the rules accept is checked as a visitor meets it on both
// servers: the site's file by its name, its protocol's port, the app at
// the path, the redirect at the location, the Location, header and realm
// byte for byte as stored, the proxy's URL as stored in the site's file
// and its upstream reached, a user logging in with the password, its
// htpasswd line name:hash as password_hashes holds it. Staff's include
// text is configuration, not data: the servers' checks judge it (see the
// site backends' tests).
var websitesSuite = suite{
	name:     "websites",
	backends: []string{web.NginxBackend, web.ApacheBackend, web.NginxTrafficMonitor, web.ApacheTrafficMonitor},
	fields: map[string][]string{"Website": {"name", "protocol"}, "WebsiteContent": {"path"},
		"WebsiteDirective": {"type", "settings.location", "settings.target", "settings.url", "settings.headers", "settings.realm",
			"settings.users", "password_hashes"},
		"Certificate": {"certificate"}},
	run: runWebsites,
}

func init() {
	suites = append(suites, websitesSuite)
	skipped["WebApp.name"] = "a web app's name is the web app backends' (their suite); the site backends apply WebApp changes of settings only"
	skipped["WebApp.type"] = "as WebApp.name"
	skipped["WebApp.database_password"] = "no one sets it: the rules make it for a WordPress app (the web app backends write it into wp-config.php, masked)"
	skipped["WebsiteDirective.settings.text"] = "staff's include text is configuration, not data: the servers' checks judge it (see the site backends' tests)"
	skipped["Website.domains"] = "ids of the account's domains, looked up by the rules; the names they give are the DNS service's"
}

func runWebsites(t *testing.T, st *store.Store, r *recorder) {
	wb := webtest.Load(t)
	wb.Lock(t)
	bed := sshtest.Load(t)
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary, main := "/tmp/orchestra-canary-"+tag, "hw"+tag
	dom := main + ".example"
	cert := wb.Cert(t, dom, "*."+dom)
	set := wb.ServerSettings()
	set["WEB_DEFAULT_CERT"], set["WEB_DEFAULT_KEY"] = cert.CertFile, cert.KeyFile
	var accID int
	t.Cleanup(func() {
		// the sites go before the certificate and the user
		if accID != 0 {
			run(t, pool, target, fmt.Sprintf("rm -f %s/%d-* %s/%d-* %s/nginx/orchestra/certs/%[2]d-* %[5]s/apache/orchestra/certs/%[2]d-*; rm -rf %[5]s/nginx/orchestra/htpasswd/%[2]d-* %[5]s/apache/orchestra/htpasswd/%[2]d-*",
				wb.NginxSites(), accID, wb.ApacheSites(), accID, wb.Dir))
			if err := wb.ReloadNginx(); err != nil {
				t.Error(err)
			}
			if err := wb.ReloadApache(); err != nil {
				t.Error(err)
			}
		}
		run(t, pool, target, fmt.Sprintf("pkill -KILL -u %[1]s; userdel -r %[1]s 2>/dev/null; rm -f %[2]s; true", main, canary))
	})
	addServer(t, st, "web1", s0, set, systemusers.Backend, web.NginxBackend, web.ApacheBackend,
		web.NginxTrafficMonitor, web.ApacheTrafficMonitor)
	var cust context.Context
	accID, cust = account(t, st, main)
	staff := sys
	var app *ent.WebApp
	n := 0
	domain := func() int { // a fresh name of the account's
		n++
		var d *ent.Domain
		if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
			d, err = tx.Domain.Create().SetName(fmt.Sprintf("h%d.%s", n, dom)).Save(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if r.queued >= 0 {
			r.queued = r.changes() // the domain's, not the value's
		}
		return d.ID
	}
	err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
		app, err = tx.WebApp.Create().SetName("h").SetType(web.AppStatic).SetSettings(map[string]any{}).Save(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// one site holds the contents and directives; each seed of a name or
	// protocol makes a site of its own
	var hub *ent.Website
	hubDomain := domain()
	if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
		hub, err = tx.Website.Create().SetName("hub").SetDomains([]int{hubDomain}).Save(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	hubHost := fmt.Sprintf("h%d.%s", n, dom)
	// the redirects whose locations are the seeds have a site of their
	// own: one at / would take over the hub
	var locs *ent.Website
	locsDomain := domain()
	if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
		locs, err = tx.Website.Create().SetName("locs").SetDomains([]int{locsDomain}).Save(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	locsHost := fmt.Sprintf("h%d.%s", n, dom)
	// a proxy's upstream, which says the path it was asked for
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, "upstream saw %s", req.RequestURI)
	}))
	t.Cleanup(upstream.Close)
	type site struct {
		key string
		s   *ent.Website
	}
	var sites []site
	addSite := func(field, name, protocol, value string) {
		var s *ent.Website
		d := domain()
		if r.one(cust, "Website."+field, value, func(ctx context.Context, tx *ent.Tx) (err error) {
			s, err = tx.Website.Create().SetName(name).SetProtocol(protocol).SetDomains([]int{d}).Save(ctx)
			return err
		}) {
			sites = append(sites, site{"Website." + field, s})
		}
	}
	type content struct {
		key string
		c   *ent.WebsiteContent
	}
	var contents []content
	type directive struct {
		key  string
		host string // its site's
		d    *ent.WebsiteDirective
	}
	var directives []directive
	// addDirectiveTo returns the fields a refusal named (nil: saved)
	addDirectiveTo := func(ctx context.Context, w *ent.Website, host, key, typ string, settings map[string]any, value string, blame ...string) []string {
		var d *ent.WebsiteDirective
		named := r.write(ctx, key, value, blame, func(ctx context.Context, tx *ent.Tx) (err error) {
			d, err = tx.WebsiteDirective.Create().SetWebsiteID(w.ID).SetType(typ).SetSettings(settings).Save(ctx)
			return err
		})
		if named == nil {
			directives = append(directives, directive{key, host, d})
		}
		return named
	}
	passwords := map[int]string{} // a protection's password sent, by directive
	addDirective := func(ctx context.Context, key, typ string, settings map[string]any, value string, blame ...string) []string {
		return addDirectiveTo(ctx, hub, hubHost, key, typ, settings, value, blame...)
	}
	// an uploaded chain, as text and behind a valid one; a site presents
	// the one the rules accept
	tlsDomain := domain()
	tlsHost := fmt.Sprintf("h%d.%s", n, dom)
	own := wb.Cert(t, tlsHost)
	upload := func(chain string) *ent.Certificate {
		var c *ent.Certificate
		if r.one(cust, "Certificate.certificate", chain, func(ctx context.Context, tx *ent.Tx) (err error) {
			c, err = tx.Certificate.Create().SetSource("upload").SetCertificate(chain).SetPrivateKey(string(own.KeyPEM)).Save(ctx)
			return err
		}) {
			return c
		}
		return nil
	}
	for _, s := range seeds(canary) {
		upload(s)
		upload(string(own.CertPEM) + s)
	}
	ownCert := upload(string(own.CertPEM))
	if ownCert == nil {
		t.Fatal("a valid chain was refused")
	}
	var tlsSite *ent.Website
	if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
		if tlsSite, err = tx.Website.Create().SetName("tls").SetProtocol(web.HTTPSOnly).SetDomains([]int{tlsDomain}).Save(ctx); err != nil {
			return err
		}
		return tx.WebsiteDirective.Create().SetWebsiteID(tlsSite.ID).SetType(web.DirSSL).
			SetSettings(map[string]any{"certificate": ownCert.ID}).Exec(ctx)
	}); err != nil {
		t.Fatal(err)
	}
	for i, s := range append(seeds(canary), "http", "https", "http/https", "https-only", "x-y.z_0") {
		addSite("name", s, "http", s)
		addSite("protocol", fmt.Sprintf("p%d", i), s, s)
		var c *ent.WebsiteContent
		if r.one(cust, "WebsiteContent.path", s, func(ctx context.Context, tx *ent.Tx) (err error) {
			c, err = tx.WebsiteContent.Create().SetWebsiteID(hub.ID).SetWebappID(app.ID).SetPath(s).Save(ctx)
			return err
		}) {
			contents = append(contents, content{"WebsiteContent.path", c})
		}
		loc := fmt.Sprintf("/l%d", i)
		addDirective(cust, "WebsiteDirective.type", s, map[string]any{"location": loc + "t", "headers": map[string]any{"X-T": "t"}}, s, "type", "settings")
		addDirective(cust, "WebsiteDirective.settings.target", web.DirRedirect, map[string]any{"location": loc + "r", "target": "https://example.com/" + s}, s, "settings.target")
		addDirective(cust, "WebsiteDirective.settings.headers", web.DirHeaders, map[string]any{"location": loc + "h", "headers": map[string]any{"X-Hostile": s}}, s, "settings.headers")
		addDirective(cust, "WebsiteDirective.settings.realm", web.DirProtection, map[string]any{"location": loc + "p", "realm": s,
			"users": map[string]any{"ann": "Hostile-pass-42"}}, s, "settings.realm")
		addDirectiveTo(cust, locs, locsHost, "WebsiteDirective.settings.location", web.DirRedirect, map[string]any{"location": "/" + s,
			"target": fmt.Sprintf("https://example.com/loc%d", i)}, s, "settings.location")
		addDirective(cust, "WebsiteDirective.settings.url", web.DirProxy, map[string]any{"location": loc + "u", "url": upstream.URL + "/" + s}, s, "settings.url")
		addDirective(cust, "WebsiteDirective.settings.users", web.DirProtection, map[string]any{"location": loc + "n", "realm": "r",
			"users": map[string]any{s: "Hostile-pass-42"}}, s, "settings.users")
		// a password is sent in settings.users and kept, hashed, in
		// password_hashes: one the rules refuse (naming settings.users) is
		// refused for password_hashes too
		for j, pw := range []string{s, "Pw-42-" + s} {
			named := addDirective(cust, "WebsiteDirective.password_hashes", web.DirProtection, map[string]any{"location": fmt.Sprintf("%sw%d", loc, j),
				"realm": "r", "users": map[string]any{"ann": pw}}, pw, "settings.users")
			if named == nil {
				// the rules hash the password as the settings hold it,
				// through JSON as a request's body: invalid UTF-8 is U+FFFD
				b, _ := json.Marshal(pw)
				var held string
				if err := json.Unmarshal(b, &held); err != nil {
					t.Fatal(err)
				}
				passwords[directives[len(directives)-1].d.ID] = held
			} else if slices.Equal(named, []string{"settings.users"}) {
				r.get("WebsiteDirective.password_hashes").refused++
			}
		}
	}
	r.queued = r.changes()
	for _, typ := range []string{web.DirRedirect, web.DirHeaders} { // the valid types, as types
		settings := map[string]any{"location": "/type-" + typ, "target": "/elsewhere", "headers": map[string]any{"X-T": "t"}}
		if typ == web.DirHeaders {
			delete(settings, "target")
		} else {
			delete(settings, "headers")
		}
		addDirective(staff, "WebsiteDirective.type", typ, settings, typ, "type")
	}
	r.phase("writes done")
	ex := startExecutor(t, st, pool)
	settle(t, st, 0)
	r.phase("units done")

	servers := []string{wb.Nginx, wb.Apache}
	get := func(scheme, host, path string, auth ...string) []*webtest.Response {
		var out []*webtest.Response
		for _, addr := range servers {
			resp, err := wb.Fetch(addr, scheme, host, path, auth...)
			if err != nil {
				t.Errorf("GET %s://%s%s on %s: %v", scheme, host, path, addr, err)
				return nil
			}
			out = append(out, resp)
		}
		return out
	}
	all := func(rs []*webtest.Response, ok func(*webtest.Response) bool) bool {
		for _, resp := range rs {
			if !ok(resp) {
				return false
			}
		}
		return len(rs) == len(servers)
	}
	for _, s := range sites {
		file := web.SiteName(accID, s.s.Name) + ".conf"
		out := run(t, pool, target, fmt.Sprintf("cat %s/%s %s/%s | grep -c '^# website '", wb.NginxSites(), file, wb.ApacheSites(), file))
		host, err := web.DomainNames(sys, st.Client, s.s)
		if err != nil || len(host) != 1 {
			t.Fatalf("%v %v", host, err)
		}
		scheme := "http"
		if s.s.Protocol == web.HTTPS || s.s.Protocol == web.HTTPSOnly {
			scheme = "https"
		}
		if strings.TrimSpace(out) == "2" && all(get(scheme, host[0], "/"), func(resp *webtest.Response) bool {
			return resp.Status != 404 || resp.Header.Get("X-Orchestra-Testbed") == ""
		}) {
			r.arrived(s.key)
		} else {
			t.Errorf("%s %q (%s): not served as written (%s)", s.key, s.s.Name, s.s.Protocol, out)
		}
	}
	// the traffic monitors read each site's logs, whatever its name: a line each
	for _, m := range []string{web.NginxTrafficMonitor, web.ApacheTrafficMonitor} {
		units, err := ex.Orchestrate(sys, orchestration.Selection{Model: "Website", Backend: m, Action: resources.ActionMonitor,
			Args: map[string]string{"since": "0", "until": strconv.FormatInt(time.Now().Unix()+1, 10)}}, false)
		if err != nil || len(units) != 1 {
			t.Fatalf("%s: %v %v", m, units, err)
		}
		logs, err := ex.Await(sys, []int{units[0].LogID})
		if err != nil || logs[0].State != orchestration.StateSuccess {
			t.Fatalf("%s: %v %+v", m, err, logs)
		}
		values, err := resources.ParseOutput(logs[0].Stdout)
		for _, s := range sites {
			if _, ok := values[s.s.ID]; !ok || err != nil {
				t.Errorf("%s did not measure site %q: %v\n%s", m, s.s.Name, err, logs[0].Stdout)
			}
		}
	}
	run(t, pool, target, fmt.Sprintf("runuser -u %[1]s -- mkdir -p /home/%[1]s/webapps/h && echo app | runuser -u %[1]s -- tee /home/%[1]s/webapps/h/index.html >/dev/null", main))
	for _, c := range contents {
		if all(get("http", hubHost, strings.TrimSuffix(c.c.Path, "/")+"/"), func(resp *webtest.Response) bool { return resp.Status == 200 && resp.Body == "app\n" }) {
			r.arrived(c.key)
		} else {
			t.Errorf("content at %q not served", c.c.Path)
		}
	}
	for _, d := range directives {
		loc, _ := d.d.Settings["location"].(string)
		var ok bool
		switch d.key {
		case "WebsiteDirective.settings.location":
			// the stored location is a path of [/.A-Za-z0-9_-]: as it is in a URL
			want, _ := d.d.Settings["target"].(string)
			ok = all(get("http", d.host, loc), func(resp *webtest.Response) bool {
				return resp.Header.Get("Location") != "" && strings.TrimRight(resp.Header.Get("Location"), "/") == strings.TrimRight(want, "/")
			})
		case "WebsiteDirective.settings.url":
			// in the site's files as stored (the servers add the slash
			// after which a request's rest follows), and the upstream asked
			// for that path
			u, _ := d.d.Settings["url"].(string)
			want := `"` + strings.TrimSuffix(u, "/") + `/"`
			file := web.SiteName(accID, hub.Name) + ".conf"
			ok = true
			for _, dir := range []string{wb.NginxSites(), wb.ApacheSites()} {
				if !strings.Contains(run(t, pool, target, "cat "+dir+"/"+file), want) {
					t.Errorf("%s/%s does not hold the proxy URL %s", dir, file, want)
					ok = false
				}
			}
			path := strings.TrimSuffix(strings.TrimPrefix(u, upstream.URL), "/") + "/"
			ok = ok && all(get("http", hubHost, loc+"/"), func(resp *webtest.Response) bool {
				return resp.Status == 200 && resp.Body == "upstream saw "+path
			})
		case "WebsiteDirective.settings.users", "WebsiteDirective.password_hashes":
			// each user logs in with the password sent, and the htpasswd
			// files hold name:hash as password_hashes does
			var lines []string
			for name, hash := range d.d.PasswordHashes {
				lines = append(lines, name+":"+hash)
				if _, shown := d.d.Settings["users"].(map[string]any)[name]; !shown {
					t.Errorf("%s: user %q not in the settings %v", d.key, name, d.d.Settings["users"])
				}
			}
			user, pw := "ann", passwords[d.d.ID]
			if d.key == "WebsiteDirective.settings.users" {
				for name := range d.d.PasswordHashes {
					user = name
				}
				pw = "Hostile-pass-42"
			}
			ok = len(lines) == 1 && all(get("http", hubHost, loc+"/"), func(resp *webtest.Response) bool { return resp.Status == 401 }) &&
				all(get("http", hubHost, loc+"/", user, pw), func(resp *webtest.Response) bool { return resp.Status != 401 })
			for _, files := range []string{"nginx", "apache"} {
				got := run(t, pool, target, fmt.Sprintf("cat %s/%s/orchestra/htpasswd/%s/%d", wb.Dir, files, web.SiteName(accID, hub.Name), d.d.ID))
				if got != strings.Join(lines, "\n")+"\n" {
					t.Errorf("%s: %s's htpasswd file %q, the store's %q", d.key, files, got, lines)
					ok = false
				}
			}
		case "WebsiteDirective.type":
			switch d.d.Type {
			case web.DirRedirect:
				ok = all(get("http", hubHost, loc), func(resp *webtest.Response) bool { return resp.Header.Get("Location") != "" })
			case web.DirHeaders:
				ok = all(get("http", hubHost, loc+"/"), func(resp *webtest.Response) bool { return resp.Header.Get("X-T") == "t" })
			}
		case "WebsiteDirective.settings.target":
			// a trailing slash is the servers' to add (vhost)
			want, _ := d.d.Settings["target"].(string)
			ok = all(get("http", hubHost, loc), func(resp *webtest.Response) bool {
				return strings.TrimRight(resp.Header.Get("Location"), "/") == strings.TrimRight(want, "/")
			})
		case "WebsiteDirective.settings.headers":
			want, _ := d.d.Settings["headers"].(map[string]any)["X-Hostile"].(string)
			ok = all(get("http", hubHost, loc+"/"), func(resp *webtest.Response) bool { return resp.Header.Get("X-Hostile") == want })
		case "WebsiteDirective.settings.realm":
			want, _ := d.d.Settings["realm"].(string)
			ok = all(get("http", hubHost, loc+"/"), func(resp *webtest.Response) bool {
				return resp.Status == 401 && resp.Header.Get("WWW-Authenticate") == `Basic realm="`+want+`"`
			}) && all(get("http", hubHost, loc+"/", "ann", "Hostile-pass-42"), func(resp *webtest.Response) bool { return resp.Status != 401 })
		}
		if ok {
			r.arrived(d.key)
		} else {
			t.Errorf("%s: directive %s %q not met as stored", d.key, d.d.Type, d.d.Settings)
		}
	}
	// the chain as stored, on both servers, and presented for its name
	stored := ownCert.Certificate
	for _, files := range []string{"nginx", "apache"} {
		got := run(t, pool, target, fmt.Sprintf("cat %s/%s/orchestra/certs/%s.pem", wb.Dir, files, web.SiteName(accID, tlsSite.Name)))
		if got != stored {
			t.Errorf("%s's copy of the chain differs from the stored one: %q", files, got)
		}
	}
	if all(get("https", tlsHost, "/"), func(resp *webtest.Response) bool {
		return resp.TLS != nil && resp.TLS.PeerCertificates[0].SerialNumber.Cmp(own.Leaf.SerialNumber) == 0
	}) {
		r.arrived("Certificate.certificate")
	} else {
		t.Errorf("the site does not present its uploaded certificate")
	}
	noCanary(t, pool, target, canary)
}
