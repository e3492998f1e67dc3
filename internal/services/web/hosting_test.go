package web_test

import (
	"cmp"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/services/databases"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// hostingProbe tells who runs it, with what limits, where it may write and
// whether it can read the file ?read names.
const hostingProbe = `<?php
header('Content-Type: text/plain');
echo posix_geteuid(), " ", ini_get('memory_limit'), " ";
echo @file_put_contents(__DIR__ . '/written.txt', 'x') === false ? "code-ro" : "code-rw", " ";
echo @file_put_contents(__DIR__ . '/uploads/written.txt', 'x') === false ? "uploads-ro" : "uploads-rw", " ";
echo isset($_GET['read']) && @file_get_contents($_GET['read']) !== false ? "read" : "unread";
`

// TestWebHostingOverAPI: what an account's web hosting is, end to end
// through the API and every web backend together, as visitors of each
// server (nginx and Apache) see it: a PHP app runs as the account's
// execution user with its settings, writes only its writable folder, runs
// no PHP there, and cannot read another account's files; a Python app
// answers through uWSGI; a WordPress app asks to be installed (its
// database reached); deleting the apps takes their pools, vassals and
// execution user.
func TestWebHostingOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newSiteBed(t, st)
		wordpress := os.Getenv("ORCHESTRA_TEST_MYSQL_ADDR") != ""
		backends := []string{web.AppBackend, web.PHPFPMBackend, web.UWSGIBackend}
		if wordpress {
			backends = append(backends, databases.MySQLBackend, databases.MySQLUserBackend)
		}
		for _, be := range backends {
			b.Admin.Do("POST", "/routes", map[string]any{"backend": be, "server": b.ServerID}).Want(http.StatusCreated)
		}
		srv := b.Admin.Do("GET", fmt.Sprintf("/servers/%d", b.ServerID), nil).JSON()
		set := srv["settings"].(map[string]any)
		set["DATABASES_MYSQL_CLIENT"] = cmp.Or(os.Getenv("ORCHESTRA_TEST_MYSQL_CLIENT"), "mysql")
		set["WEBAPPS_WORDPRESS_DB_HOST"] = os.Getenv("ORCHESTRA_TEST_MYSQL_ADDR")
		b.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", b.ServerID), map[string]any{"version": srv["version"], "settings": set}).Want(http.StatusOK)
		var apps []string
		t.Cleanup(func() { // before the sites and users go: pools, vassals, execution users
			for _, a := range apps {
				b.Admin.Do("DELETE", a, nil)
			}
		})
		add := func(c *apitest.Client, name, typ string, settings map[string]any) int {
			t.Helper()
			id := b.Applied(c.Do("POST", "/webapps", map[string]any{"name": name, "type": typ, "settings": settings}).Want(http.StatusCreated)).ID()
			apps = append(apps, fmt.Sprintf("/webapps/%d", id))
			return id
		}
		put := func(user, app, file, content string) {
			t.Helper()
			p := orchestrationQuote("/home/" + user + "/webapps/" + app + "/" + file)
			if out, code := b.Root(fmt.Sprintf("printf %%s %s | runuser -u %s -- tee %s >/dev/null", orchestrationQuote(content), user, p)); code != 0 {
				t.Fatalf("%s: %s", file, out)
			}
		}
		get := func(s server, host, path string) (int, string) {
			t.Helper()
			r, err := b.web.Fetch(s.addr, "http", host, path)
			if err != nil {
				t.Fatalf("%s: GET %s%s: %v", s.backend, host, path, err)
			}
			return r.Status, r.Body
		}

		// ann's PHP shop, with an uploads folder its code may write
		shop := add(b.cust, "shop", "php", map[string]any{"memory_limit": "96M", "writable": []string{"uploads"}})
		put(b.user, "shop", "index.php", hostingProbe)
		put(b.user, "shop", "uploads/run.php", `<?php echo strrev("nar");`)
		put(b.user, "shop", "secret.txt", "ann's")
		shopSite, shopHost := b.site("shop", "http")
		b.mount(shopSite, shop, "/")
		// bob, another account, with a PHP app of his own
		bobUser := apitest.Unique("wb")
		bob, _ := b.Customer(bobUser)
		bobDom := bob.Do("POST", "/domains", map[string]any{"name": bobUser + ".example"}).Want(http.StatusCreated).ID()
		bobApp := add(bob, "peek", "php", nil)
		put(bobUser, "peek", "index.php", hostingProbe)
		bobSite := b.Applied(bob.Do("POST", "/websites", map[string]any{"name": "peek", "domains": []int{bobDom}}).Want(http.StatusCreated)).ID()
		b.Applied(bob.Do("POST", "/website-contents", map[string]any{"website": bobSite, "webapp": bobApp, "path": "/"}).Want(http.StatusCreated))
		t.Cleanup(func() { b.Admin.Do("DELETE", fmt.Sprintf("/websites/%d", bobSite), nil) })

		// ann's Python app
		py := add(b.cust, "py", "python", nil)
		pySite, pyHost := b.site("py", "http")
		b.mount(pySite, py, "/")

		annUID, bobUID := b.uidOf(web.ExecUser(b.user)), b.uidOf(web.ExecUser(bobUser))
		b.each(func(s server) {
			want := annUID + " 96M code-ro uploads-rw unread"
			if status, body := get(s, shopHost, "/?read=/home/"+bobUser+"/webapps/peek/index.php"); status != 200 || body != want {
				t.Errorf("%s: ann's shop answers %d %q, want %q", s.backend, status, body, want)
			}
			if _, body := get(s, shopHost, "/uploads/run.php"); strings.Contains(body, "ran") {
				t.Errorf("%s: PHP ran in the writable folder: %q", s.backend, body)
			}
			want = bobUID + " 128M code-ro uploads-ro unread"
			if status, body := get(s, bobUser+".example", "/?read=/home/"+b.user+"/webapps/shop/secret.txt"); status != 200 || body != want {
				t.Errorf("%s: bob's app answers %d %q, want %q (not reading ann's file)", s.backend, status, body, want)
			}
			if status, body := get(s, pyHost, "/"); status != 200 || !strings.Contains(body, "no code yet") {
				t.Errorf("%s: the Python app answers %d %q", s.backend, status, body)
			}
		})

		if wordpress {
			blog := add(b.cust, "blog", "wordpress", nil)
			blogSite, blogHost := b.site("blog", "http")
			b.mount(blogSite, blog, "/")
			b.each(func(s server) {
				r, err := b.web.Fetch(s.addr, "http", blogHost, "/")
				if err != nil || r.Status != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "wp-admin/install.php") {
					t.Errorf("%s: WordPress answers %v %+v", s.backend, err, r)
				}
			})
		}

		// the apps deleted: their pools, vassals and execution users go
		for _, a := range apps {
			b.Applied(b.Admin.Do("DELETE", a, nil).Want(http.StatusNoContent))
		}
		apps = nil
		for _, u := range []string{web.ExecUser(b.user), web.ExecUser(bobUser)} {
			if out, code := b.Root("id " + u); code == 0 {
				t.Errorf("execution user %s is left: %s", u, out)
			}
		}
	})
}

func (b *siteBed) uidOf(user string) string {
	b.T.Helper()
	out, code := b.Root("id -u " + orchestrationQuote(user))
	if code != 0 {
		b.T.Fatalf("id -u %s: %s", user, out)
	}
	return strings.TrimSpace(out)
}
