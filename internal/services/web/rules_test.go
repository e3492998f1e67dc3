package web_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// wantFields fails unless r is a 422 naming exactly fields.
func wantFields(t *testing.T, what string, r *apitest.Resp, fields ...string) {
	t.Helper()
	got := r.FieldErrors()
	slices.Sort(got)
	slices.Sort(fields)
	if r.Status != http.StatusUnprocessableEntity || !slices.Equal(slices.Compact(got), fields) {
		t.Errorf("%s: %d %v, want 422 on %v: %s", what, r.Status, got, fields, r.Body)
	}
}

// TestWebAppRules: names, types and each kind's settings, checked whole
// and stored whole; every mistake at once; paths that climb out of the app
// or the account's homes refused; the folder shown; hostile values stored
// byte for byte or refused.
func TestWebAppRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		e.MakeAccount("ann", "Ann-password-42", false)
		ann := e.Login("ann", "Ann-password-42")

		// every mistake of one request at once, by field
		r := ann.Do("POST", "/webapps", map[string]any{"name": "Bad Name", "type": "php", "settings": map[string]any{
			"version": "5.6", "timeout": 0, "processes": 100, "memory_limit": "1G", "public_root": "../../etc",
			"enable_functions": []string{"exec; rm"}, "date_timezone": "Not a zone", "writable": []string{"/etc"}, "magic_quotes_gpc": true}})
		wantFields(t, "a bad PHP app", r, "body.name", "body.settings.version", "body.settings.timeout", "body.settings.processes",
			"body.settings.memory_limit", "body.settings.public_root", "body.settings.enable_functions", "body.settings.date_timezone",
			"body.settings.writable", "body.settings.magic_quotes_gpc")
		wantFields(t, "an unknown type", ann.Do("POST", "/webapps", map[string]any{"name": "x", "type": "cgi"}), "body.type")
		for _, root := range []string{"..", "../x", "/etc", "a/../../b", "a//b", "x\ny", "my site", `a"b`, "a;b", "a$b"} {
			wantFields(t, "public root "+root, ann.Do("POST", "/webapps", map[string]any{"name": "s", "type": "static",
				"settings": map[string]any{"public_root": root}}), "body.settings.public_root")
		}
		for _, name := range []string{".hidden", "-x", "a/b", "..", strings.Repeat("a", 129)} {
			if r := ann.Do("POST", "/webapps", map[string]any{"name": name, "type": "static"}); r.Status != http.StatusUnprocessableEntity {
				t.Errorf("name %q: %d", name, r.Status)
			}
		}

		// defaults filled in and stored; post_max_size raised to the upload limit
		app := ann.Do("POST", "/webapps", map[string]any{"name": "blog", "type": "php", "settings": map[string]any{
			"upload_max_filesize": "64M", "post_max_size": "8M", "public_root": "public", "writable": []string{"wp-content/uploads"}}}).
			Want(http.StatusCreated).JSON()
		s := app["settings"].(map[string]any)
		if s["version"] != "8.2" || s["timeout"] != float64(30) || s["post_max_size"] != "64M" || s["allow_url_fopen"] != true ||
			app["directory"] != "/home/ann/webapps/blog" {
			t.Errorf("a new PHP app: %v", app)
		}
		id := int(app["id"].(float64))
		ann.Do("POST", "/webapps", map[string]any{"name": "blog", "type": "static"}).Want(http.StatusConflict)
		// an update lays its settings over the stored ones; the type stays
		got := ann.Do("PATCH", fmt.Sprintf("/webapps/%d", id), map[string]any{"settings": map[string]any{"processes": 7}, "version": 1}).
			Want(http.StatusOK).JSON()["settings"].(map[string]any)
		if got["processes"] != float64(7) || got["post_max_size"] != "64M" || got["public_root"] != "public" {
			t.Errorf("after a change of processes: %v", got)
		}
		wantFields(t, "an unknown setting on update", ann.Do("PATCH", fmt.Sprintf("/webapps/%d", id),
			map[string]any{"settings": map[string]any{"safe_mode": "On"}, "version": 2}), "body.settings.safe_mode")

		// python: a strict module
		wantFields(t, "a bad module", ann.Do("POST", "/webapps", map[string]any{"name": "py", "type": "python",
			"settings": map[string]any{"module": "app; import os", "version": "2.7"}}), "body.settings.module", "body.settings.version")
		py := ann.Do("POST", "/webapps", map[string]any{"name": "py", "type": "python", "settings": map[string]any{"module": "site.wsgi:application"}}).
			Want(http.StatusCreated).JSON()["settings"].(map[string]any)
		if py["version"] != "3.11" || py["processes"] != float64(3) {
			t.Errorf("python defaults: %v", py)
		}

		// a symbolic link points inside the account's homes, and stays
		for _, target := range []string{"/etc", "/home/bob/www", "/home/ann/../bob", "home/ann/www", "/home/annx"} {
			wantFields(t, "link to "+target, ann.Do("POST", "/webapps", map[string]any{"name": "ln", "type": "symbolic-link",
				"settings": map[string]any{"target": target}}), "body.settings.target")
		}
		ln := ann.Do("POST", "/webapps", map[string]any{"name": "ln", "type": "symbolic-link",
			"settings": map[string]any{"target": "/home/ann/shared/www"}}).Want(http.StatusCreated).ID()
		wantFields(t, "a moved link", ann.Do("PATCH", fmt.Sprintf("/webapps/%d", ln),
			map[string]any{"settings": map[string]any{"target": "/home/ann/other"}, "version": 1}), "body.settings.target")
		ann.Do("PATCH", fmt.Sprintf("/webapps/%d", ln), map[string]any{"settings": map[string]any{"timeout": 90}, "version": 1}).Want(http.StatusOK)

		// hostile values: refused, or stored byte for byte
		wantFields(t, "a header in a timezone", ann.Do("POST", "/webapps", map[string]any{"name": "h", "type": "php",
			"settings": map[string]any{"date_timezone": "Europe/Madrid\nX-Evil: 1"}}), "body.settings.date_timezone")
		wantFields(t, "a bad function list", ann.Do("POST", "/webapps", map[string]any{"name": "h", "type": "php",
			"settings": map[string]any{"disable_functions": []string{"$(id)"}}}), "body.settings.disable_functions")
		// folders the web servers' configuration names hold plain names only
		wantFields(t, "an odd writable folder", ann.Do("POST", "/webapps", map[string]any{"name": "w", "type": "wordpress",
			"settings": map[string]any{"writable": []string{"it's \"odd\" $(id) `x`"}}}), "body.settings.writable")
		if a, err := st.WebApp.Get(viewer.System(t.Context(), viewer.ChannelCLI), id); err != nil || a.Settings["post_max_size"] != "64M" {
			t.Errorf("stored settings: %v %v", a, err)
		}
	})
}

// TestWebsiteRules: a website's domains are its account's, one at least not
// a wildcard; active websites share a domain only on ports that do not
// overlap, the answer naming the other; contents mount the account's apps
// at normalised paths, unique per site and apart from redirects and
// proxies; another account's objects look missing.
func TestWebsiteRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		e.MakeAccount("ann", "Ann-password-42", false)
		e.MakeAccount("bob", "Bob-password-42", false)
		ann, bob := e.Login("ann", "Ann-password-42"), e.Login("bob", "Bob-password-42")
		dom := ann.Do("POST", "/domains", map[string]any{"name": "ann.example"}).Want(http.StatusCreated).ID()
		wild := ann.Do("POST", "/domains", map[string]any{"name": "*.ann.example"}).Want(http.StatusCreated).ID()
		bobDom := bob.Do("POST", "/domains", map[string]any{"name": "bob.example"}).Want(http.StatusCreated).ID()
		app := ann.Do("POST", "/webapps", map[string]any{"name": "blog", "type": "static"}).Want(http.StatusCreated).ID()
		bobApp := bob.Do("POST", "/webapps", map[string]any{"name": "blog", "type": "static"}).Want(http.StatusCreated).ID()

		wantFields(t, "every mistake at once", ann.Do("POST", "/websites", map[string]any{"name": "Bad!", "protocol": "gopher",
			"domains": []int{bobDom}}), "body.name", "body.protocol", "body.domains")
		wantFields(t, "only a wildcard", ann.Do("POST", "/websites", map[string]any{"name": "w", "domains": []int{wild}}), "body.domains")
		wantFields(t, "no domain", ann.Do("POST", "/websites", map[string]any{"name": "w", "domains": []int{}}), "body.domains")
		// names there for mail and DNS are no host names, and are not offered
		dmarc := ann.Do("POST", "/domains", map[string]any{"name": "_dmarc.ann.example"}).Want(http.StatusCreated).ID()
		wantFields(t, "a _ label", ann.Do("POST", "/websites", map[string]any{"name": "w", "domains": []int{dom, dmarc}}), "body.domains")
		hosts := ann.Do("GET", "/domains?host=true", nil).JSON()["results"].([]any)
		others := ann.Do("GET", "/domains?host=false", nil).JSON()["results"].([]any)
		if len(hosts) != 2 || len(others) != 1 || others[0].(map[string]any)["name"] != "_dmarc.ann.example" {
			t.Errorf("domains that are host names: %v; not: %v", hosts, others)
		}
		r := ann.Do("POST", "/websites", map[string]any{"name": "main", "domains": []int{dom, wild, dom}}).Want(http.StatusCreated).JSON()
		if r["protocol"] != "http" || fmt.Sprint(r["domains"]) != fmt.Sprint([]any{float64(dom), float64(wild)}) {
			t.Errorf("a new website: %v", r)
		}
		site := int(r["id"].(float64))
		ann.Do("POST", "/websites", map[string]any{"name": "main", "domains": []int{dom}, "protocol": "https"}).Want(http.StatusConflict)

		// the original's clash rule: ports overlap or not
		clash := ann.Do("POST", "/websites", map[string]any{"name": "other", "domains": []int{dom}, "protocol": "http/https"})
		wantFields(t, "http/https over http", clash, "body.domains")
		if !strings.Contains(string(clash.Body), "main") {
			t.Errorf("the clash does not name the other website: %s", clash.Body)
		}
		wantFields(t, "https-only over http", ann.Do("POST", "/websites", map[string]any{"name": "other", "domains": []int{wild}, "protocol": "https-only"}), "body.domains")
		secure := ann.Do("POST", "/websites", map[string]any{"name": "secure", "domains": []int{dom}, "protocol": "https"}).Want(http.StatusCreated).ID()
		wantFields(t, "main to http/https", ann.Do("PATCH", fmt.Sprintf("/websites/%d", site), map[string]any{"protocol": "http/https", "version": 1}), "body.domains")
		// an inactive site takes no port until it is active
		next := ann.Do("POST", "/websites", map[string]any{"name": "next", "domains": []int{dom}, "protocol": "https", "is_active": false}).
			Want(http.StatusCreated).ID()
		wantFields(t, "activating a clashing site", ann.Do("PATCH", fmt.Sprintf("/websites/%d", next), map[string]any{"is_active": true, "version": 1}), "body.domains")
		ann.Do("DELETE", fmt.Sprintf("/websites/%d", secure), nil).Want(http.StatusNoContent)
		ann.Do("PATCH", fmt.Sprintf("/websites/%d", next), map[string]any{"is_active": true, "version": 1}).Want(http.StatusOK)

		// a deleted domain leaves the websites; another account's is missing
		bob.Do("DELETE", fmt.Sprintf("/domains/%d", dom), nil).Want(http.StatusNotFound)
		ann.Do("DELETE", fmt.Sprintf("/domains/%d", wild), nil).Want(http.StatusNoContent)
		if got := ann.Do("GET", fmt.Sprintf("/websites/%d", site), nil).Want(http.StatusOK).JSON(); fmt.Sprint(got["domains"]) != fmt.Sprint([]any{float64(dom)}) || got["version"] != float64(2) {
			t.Errorf("after its wildcard went: %v", got)
		}

		// contents: normalised paths, unique per site, the account's apps only
		c := ann.Do("POST", "/website-contents", map[string]any{"website": site, "webapp": app}).Want(http.StatusCreated).JSON()
		if c["path"] != "/" || c["account"] == nil {
			t.Errorf("a content without a path: %v", c)
		}
		c = ann.Do("POST", "/website-contents", map[string]any{"website": site, "webapp": app, "path": "blog/"}).Want(http.StatusCreated).JSON()
		if c["path"] != "/blog" {
			t.Errorf("path blog/ is kept as %v", c["path"])
		}
		ann.Do("POST", "/website-contents", map[string]any{"website": site, "webapp": app, "path": "/blog/"}).Want(http.StatusConflict)
		for _, p := range []string{"/a/../../etc", "/a//b", "/a b", "/./x", "/x\n"} {
			wantFields(t, "path "+p, ann.Do("POST", "/website-contents", map[string]any{"website": site, "webapp": app, "path": p}), "body.path")
		}
		wantFields(t, "bob's app on ann's site", ann.Do("POST", "/website-contents", map[string]any{"website": site, "webapp": bobApp, "path": "/x"}), "body.webapp")
		wantFields(t, "ann's site for bob", bob.Do("POST", "/website-contents", map[string]any{"website": site, "webapp": bobApp, "path": "/x"}), "body.website")
		bob.Do("GET", fmt.Sprintf("/websites/%d", site), nil).Want(http.StatusNotFound)
		if n := len(ann.Do("GET", fmt.Sprintf("/website-contents?website=%d", site), nil).Want(http.StatusOK).JSON()["results"].([]any)); n != 2 {
			t.Errorf("the site lists %d contents", n)
		}
		if n := len(ann.Do("GET", fmt.Sprintf("/websites?domain=%d", dom), nil).Want(http.StatusOK).JSON()["results"].([]any)); n != 2 {
			t.Errorf("%d websites serve the domain", n)
		}
		if n := len(ann.Do("GET", fmt.Sprintf("/webapps?website=%d", site), nil).Want(http.StatusOK).JSON()["results"].([]any)); n != 1 {
			t.Errorf("%d web apps on the site", n)
		}
	})
}

// TestDirectiveRules: each kind's settings; passwords kept as hashes; header
// values on one line; a redirect and a content never share a location;
// include is staff's.
func TestDirectiveRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		e.MakeAccount("ann", "Ann-password-42", false)
		ann := e.Login("ann", "Ann-password-42")
		dom := ann.Do("POST", "/domains", map[string]any{"name": "ann.example"}).Want(http.StatusCreated).ID()
		app := ann.Do("POST", "/webapps", map[string]any{"name": "blog", "type": "static"}).Want(http.StatusCreated).ID()
		site := ann.Do("POST", "/websites", map[string]any{"name": "main", "domains": []int{dom}}).Want(http.StatusCreated).ID()
		ann.Do("POST", "/website-contents", map[string]any{"website": site, "webapp": app, "path": "/blog"}).Want(http.StatusCreated)
		add := func(c *apitest.Client, typ string, s map[string]any) *apitest.Resp {
			return c.Do("POST", "/website-directives", map[string]any{"website": site, "type": typ, "settings": s})
		}

		wantFields(t, "a bad redirect", add(ann, "redirect", map[string]any{"location": "/a b", "target": "javascript:alert(1)"}),
			"body.settings.location", "body.settings.target")
		wantFields(t, "a redirect with a space", add(ann, "redirect", map[string]any{"target": "https://x.example/a b"}), "body.settings.target")
		red := add(ann, "redirect", map[string]any{"location": "old/", "target": "https://example.com/new?a=1&b=%20"}).Want(http.StatusCreated).JSON()
		if s := red["settings"].(map[string]any); s["location"] != "/old" || s["target"] != "https://example.com/new?a=1&b=%20" {
			t.Errorf("a redirect: %v", s)
		}
		add(ann, "proxy", map[string]any{"location": "/old", "url": "http://127.0.0.1:8080/"}).Want(http.StatusConflict)
		add(ann, "redirect", map[string]any{"location": "/blog", "target": "/"}).Want(http.StatusConflict)
		ann.Do("POST", "/website-contents", map[string]any{"website": site, "webapp": app, "path": "/old"}).Want(http.StatusUnprocessableEntity)
		wantFields(t, "a proxy to ftp", add(ann, "proxy", map[string]any{"location": "/api", "url": "ftp://x", "timeout": 99999}),
			"body.settings.url", "body.settings.timeout")
		add(ann, "proxy", map[string]any{"location": "/api", "url": "http://127.0.0.1:8080/", "timeout": 30}).Want(http.StatusCreated)
		wantFields(t, "an error status 200", add(ann, "error-document", map[string]any{"status": 200, "target": "/e.html"}), "body.settings.status")
		add(ann, "error-document", map[string]any{"status": 404, "target": "/404.html"}).Want(http.StatusCreated)
		add(ann, "error-document", map[string]any{"status": 404, "target": "/other.html"}).Want(http.StatusConflict)

		// protection: hashes only
		wantFields(t, "a weak password", add(ann, "protection", map[string]any{"location": "/private", "users": map[string]string{"joe": "joe"}}), "body.settings.users")
		wantFields(t, "a colon in a user", add(ann, "protection", map[string]any{"location": "/private", "users": map[string]string{"jo:e": "Long-secret-99"}}), "body.settings.users")
		wantFields(t, "a quote in a realm", add(ann, "protection", map[string]any{"realm": "a\"b", "users": map[string]string{"joe": "Long-secret-99"}}), "body.settings.realm")
		p := add(ann, "protection", map[string]any{"location": "/private", "realm": "Team", "users": map[string]string{"joe": "Long-secret-99"}}).
			Want(http.StatusCreated)
		if strings.Contains(string(p.Body), "Long-secret-99") || strings.Contains(string(p.Body), "$2y$") || !strings.Contains(string(p.Body), `"joe":""`) {
			t.Errorf("a protection shows %s", p.Body)
		}
		sys := viewer.System(t.Context(), viewer.ChannelCLI)
		d, err := st.WebsiteDirective.Get(sys, p.ID())
		if err != nil || d.Settings["users"].(map[string]any)["joe"] != "" || !strings.HasPrefix(d.PasswordHashes["joe"], "$2y$10$") {
			t.Errorf("stored users: %v %v", d, err)
		}
		// a change keeps the password of a user sent without one, takes a
		// hash as given, and a new user needs a password
		hash := d.PasswordHashes["joe"]
		wantFields(t, "a new user without a password", ann.Do("PATCH", fmt.Sprintf("/website-directives/%d", p.ID()), map[string]any{"settings": map[string]any{
			"users": map[string]string{"joe": "", "bob": ""}}, "version": 1}), "body.settings.users")
		apr := "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/"
		back := ann.Do("PATCH", fmt.Sprintf("/website-directives/%d", p.ID()), map[string]any{"settings": map[string]any{
			"users": map[string]string{"joe": "", "ann": "Another-secret-7", "cy": apr}}, "version": 1}).Want(http.StatusOK)
		d, _ = st.WebsiteDirective.Get(sys, p.ID())
		if strings.Contains(string(back.Body), "$2y$") || strings.Contains(string(back.Body), "$apr1$") || d.PasswordHashes["joe"] != hash ||
			!strings.HasPrefix(d.PasswordHashes["ann"], "$2y$") || d.PasswordHashes["cy"] != apr || len(d.Settings["users"].(map[string]any)) != 3 {
			t.Errorf("users after a change: %s; stored %v", back.Body, d.PasswordHashes)
		}

		// headers: names and one-line values
		wantFields(t, "a header split in two", add(ann, "headers", map[string]any{"headers": map[string]string{"X-A": "1\r\nSet-Cookie: x=1"}}), "body.settings.headers")
		wantFields(t, "a bad header name", add(ann, "headers", map[string]any{"headers": map[string]string{"X A:": "1"}}), "body.settings.headers")
		h := add(ann, "headers", map[string]any{"headers": map[string]string{"Content-Security-Policy": `default-src 'self'; img-src "x"`}}).
			Want(http.StatusCreated).JSON()["settings"].(map[string]any)
		if h["headers"].(map[string]any)["Content-Security-Policy"] != `default-src 'self'; img-src "x"` {
			t.Errorf("a header value: %v", h)
		}

		// include: staff only, to add, change or remove
		wantFields(t, "a customer's include", add(ann, "include", map[string]any{"text": "location / { deny all; }"}), "body.type")
		inc := add(admin, "include", map[string]any{"text": "# staff's own\n"}).Want(http.StatusCreated).ID()
		ann.Do("PATCH", fmt.Sprintf("/website-directives/%d", inc), map[string]any{"settings": map[string]any{"text": "x"}, "version": 1}).
			Want(http.StatusUnprocessableEntity)
		ann.Do("DELETE", fmt.Sprintf("/website-directives/%d", inc), nil).Want(http.StatusUnprocessableEntity)
		add(admin, "include", map[string]any{"text": "# again\n"}).Want(http.StatusConflict)
		admin.Do("DELETE", fmt.Sprintf("/website-directives/%d", inc), nil).Want(http.StatusNoContent)
	})
}

// TestWordPressDatabase: a WordPress app makes its MySQL database and user,
// named after the app and the account, with a sealed password; a name
// taken is refused on the app's name; deleting the app deletes both.
func TestWordPressDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		e.MakeAccount("ann", "Ann-password-42", false)
		ann := e.Login("ann", "Ann-password-42")
		app := ann.Do("POST", "/webapps", map[string]any{"name": "my-blog.v2", "type": "wordpress"}).Want(http.StatusCreated).JSON()
		db, user := app["database"], app["database_user"]
		if db == nil || user == nil {
			t.Fatalf("a WordPress app without its database: %v", app)
		}
		got := ann.Do("GET", fmt.Sprintf("/databases/%v", db), nil).Want(http.StatusOK).JSON()
		if got["name"] != "wp_my_blog_v2_ann" || got["type"] != "mysql" {
			t.Errorf("its database: %v", got)
		}
		ctx := viewer.System(t.Context(), viewer.ChannelCLI)
		a, err := st.WebApp.Get(ctx, int(app["id"].(float64)))
		if err != nil || a.DatabasePassword == "" || strings.Contains(fmt.Sprint(app), a.DatabasePassword) {
			t.Errorf("the sealed password: %v %v", a, err)
		}
		// the same database name again, from a name that folds to it
		ann.Do("POST", "/webapps", map[string]any{"name": "my_blog-v2", "type": "wordpress"}).Want(http.StatusConflict)
		ann.Do("DELETE", fmt.Sprintf("/webapps/%v", app["id"]), nil).Want(http.StatusNoContent)
		ann.Do("GET", fmt.Sprintf("/databases/%v", db), nil).Want(http.StatusNotFound)
		ann.Do("GET", fmt.Sprintf("/database-users/%v", user), nil).Want(http.StatusNotFound)
	})
}
