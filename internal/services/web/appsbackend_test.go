package web_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/databases"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/services/web/webtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// appBed is the API on the test beds with the system user and app
// backends routed to the web bed, whose lock it holds: a pool php-fpm
// refuses, put in place while it checks, would fail another's check.
type appBed struct {
	*apitest.Bed
	web      *webtest.Bed
	settings map[string]string
	sites    []string // nginx files the test wrote
}

func newAppBed(t *testing.T, st *store.Store, backends ...string) *appBed {
	wb := webtest.Load(t)
	wb.Lock(t)
	bed := apitest.OnTestBed(t, st, append([]string{systemusers.Backend, web.AppBackend, web.PHPFPMBackend, web.UWSGIBackend},
		backends...)...)
	b := &appBed{Bed: bed, web: wb, settings: wb.ServerSettings()}
	b.patchServer(nil)
	t.Cleanup(func() {
		for _, f := range b.sites {
			os.Remove(f)
		}
		if len(b.sites) > 0 {
			if err := wb.ReloadNginx(); err != nil {
				t.Error(err)
			}
		}
	})
	return b
}

// patchServer sets the server's settings: the bed's, and more.
func (b *appBed) patchServer(more map[string]string) {
	b.T.Helper()
	set := map[string]string{}
	for k, v := range b.settings {
		set[k] = v
	}
	for k, v := range more {
		set[k] = v
	}
	srv := b.Admin.Do("GET", fmt.Sprintf("/servers/%d", b.ServerID), nil).Want(http.StatusOK).JSON()
	b.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", b.ServerID), map[string]any{"version": srv["version"], "settings": set}).
		Want(http.StatusOK)
}

// appCustomer is an account on the bed.
type appCustomer struct {
	b    *appBed
	c    *apitest.Client
	id   int
	user string
	apps map[string]int
}

// customer adds an account whose apps are deleted at the end of the test,
// before its users: their pools, vassals and execution user go with them.
func (b *appBed) customer() *appCustomer {
	b.T.Helper()
	user := apitest.Unique("wa")
	c, id := b.Customer(user)
	a := &appCustomer{b: b, c: c, id: id, user: user, apps: map[string]int{}}
	exec := web.ExecUser(user)
	b.T.Cleanup(func() {
		for _, id := range a.apps {
			b.Admin.Do("DELETE", fmt.Sprintf("/webapps/%d", id), nil)
		}
		if out, _ := b.Root("getent passwd " + exec + "; grep -lsxF " + orchestration.Quote("user = "+exec) + " " +
			b.web.PHPFPMPools() + "/*.conf; grep -lsxF " + orchestration.Quote("uid = "+exec) + " " + b.web.UWSGIVassals() + "/*.ini"); out != "" {
			b.T.Errorf("left on the bed after deleting %s's apps:\n%s", user, out)
			b.Root("rm -f $(grep -lsxF " + orchestration.Quote("user = "+exec) + " " + b.web.PHPFPMPools() + "/*.conf) $(grep -lsxF " +
				orchestration.Quote("uid = "+exec) + " " + b.web.UWSGIVassals() + "/*.ini); kill -USR2 $(cat " + b.web.PHPFPMPID() +
				"); sleep 2; pkill -KILL -u " + exec + "; userdel " + exec)
		}
	})
	return a
}

// add adds an app and fails unless it was applied.
func (a *appCustomer) add(name, typ string, settings map[string]any) int {
	a.b.T.Helper()
	body := map[string]any{"name": name, "type": typ}
	if settings != nil {
		body["settings"] = settings
	}
	id := a.b.Applied(a.c.Do("POST", "/webapps", body).Want(http.StatusCreated)).ID()
	a.apps[name] = id
	return id
}

// change changes an app's settings and returns the answer.
func (a *appCustomer) change(name string, settings map[string]any) *apitest.Resp {
	a.b.T.Helper()
	app := a.c.Do("GET", fmt.Sprintf("/webapps/%d", a.apps[name]), nil).Want(http.StatusOK).JSON()
	return a.c.Do("PATCH", fmt.Sprintf("/webapps/%d", a.apps[name]), map[string]any{"version": app["version"], "settings": settings}).
		Want(http.StatusOK)
}

func (a *appCustomer) remove(name string) {
	a.b.T.Helper()
	a.b.Applied(a.c.Do("DELETE", fmt.Sprintf("/webapps/%d", a.apps[name]), nil).Want(http.StatusNoContent))
	delete(a.apps, name)
}

func (a *appCustomer) dir(app string) string { return "/home/" + a.user + "/webapps/" + app }

// put writes files into the app's folder as the account's user.
func (a *appCustomer) put(app string, files map[string]string) {
	a.b.T.Helper()
	script := "set -e\n"
	for f, content := range files {
		p := orchestration.Quote(a.dir(app) + "/" + f)
		script += fmt.Sprintf("runuser -u %[1]s -- mkdir -p \"$(dirname %[2]s)\"; printf %%s %[3]s | runuser -u %[1]s -- tee %[2]s >/dev/null\n",
			a.user, p, orchestration.Quote(content))
	}
	if out, code := a.b.Root(script); code != 0 {
		a.b.T.Fatalf("files of %s: %s", app, out)
	}
}

// uid is a user's uid on the bed.
func (b *appBed) uid(user string) string {
	b.T.Helper()
	out, code := b.Root("id -u " + orchestration.Quote(user))
	if code != 0 {
		b.T.Fatalf("id -u %s: %s", user, out)
	}
	return strings.TrimSpace(out)
}

// serve has nginx answer for host from root, passing PHP to the pool
// socket php and everything to the vassal socket py (either may be "").
func (b *appBed) serve(host, root, php, py string) {
	b.T.Helper()
	conf := fmt.Sprintf("server {\n  listen %s:80;\n  server_name %s;\n  root %s;\n", b.web.Nginx, host, root)
	if php != "" {
		conf += "  index index.php;\n  location ~ \\.php$ {\n    include snippets/fastcgi-php.conf;\n    fastcgi_pass unix:" + php + ";\n  }\n"
	}
	if py != "" {
		conf += "  location / {\n    include uwsgi_params;\n    uwsgi_pass unix:" + py + ";\n  }\n"
	}
	conf += "}\n"
	f := filepath.Join(b.web.NginxSites(), "apps-"+host+".conf")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		b.T.Fatal(err)
	}
	b.sites = append(b.sites, f)
	if err := b.web.CheckNginx(); err != nil {
		b.T.Fatal(err)
	}
	if err := b.web.ReloadNginx(); err != nil {
		b.T.Fatal(err)
	}
}

// get fetches host's path from nginx.
func (b *appBed) get(host, path string) (int, string) {
	b.T.Helper()
	status, body, _ := b.web.Get(b.T, b.web.Nginx, "http", host, path)
	return status, body
}

func (a *appCustomer) pool(app string) (file, socket string) {
	name := web.PoolName("account", a.user, app, "8.2")
	return filepath.Join(a.b.web.PHPFPMPools(), name+".conf"), filepath.Join(a.b.web.PHPFPMSockets(), name+".sock")
}

func (a *appCustomer) vassal(app string) (file, socket string) {
	name := web.VassalName(a.user, app)
	return filepath.Join(a.b.web.UWSGIVassals(), name+".ini"), filepath.Join(a.b.web.UWSGISockets(), name+".sock")
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// probe is PHP that tells who runs it and what it may do.
const probe = `<?php
header('Content-Type: text/plain');
echo posix_geteuid(), "\n";
echo ini_get('memory_limit'), "\n";
echo ini_get('disable_functions'), "\n";
echo @file_put_contents(__DIR__ . '/written.txt', 'x') === false ? "no" : "yes", "\n";
echo @file_put_contents(__DIR__ . '/uploads/written.txt', 'x') === false ? "no" : "yes", "\n";
echo isset($_GET['read']) && @file_get_contents($_GET['read']) !== false ? "read" : "unread", "\n";
`

// TestPHPApps: a PHP app's pool runs its code as the account's execution
// user with the app's settings, writing only its writable folders and
// reading no other account's files; a pool php-fpm refuses leaves the unit
// in FAILURE with php-fpm's words and the old pool serving; a deleted
// app takes its pool, folder and execution user with it.
func TestPHPApps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newAppBed(t, st)
		ann, bob := b.customer(), b.customer()
		ann.add("site", "php", map[string]any{"memory_limit": "96M", "writable": []string{"uploads"},
			"disable_functions": []string{"phpinfo"}})
		bob.add("site", "php", nil)
		pool, sock := ann.pool("site")
		if !exists(pool) || !exists(sock) {
			t.Fatalf("ann's pool %s or its socket is missing", pool)
		}
		if out, _ := b.Root("stat -c '%U %G %a' " + sock); strings.TrimSpace(out) != "www-data www-data 660" {
			t.Errorf("the pool's socket is %s", out)
		}
		ann.put("site", map[string]string{"probe.php": probe, "secret.txt": "ann's"})
		bob.put("site", map[string]string{"probe.php": probe, "secret.txt": "bob's"})
		_, bobSock := bob.pool("site")
		annHost, bobHost := ann.user+".apps.test", bob.user+".apps.test"
		b.serve(annHost, ann.dir("site"), sock, "")
		b.serve(bobHost, bob.dir("site"), bobSock, "")

		status, body := b.get(annHost, "/probe.php?read="+bob.dir("site")+"/secret.txt")
		lines := strings.Split(body, "\n")
		if status != http.StatusOK || len(lines) < 6 {
			t.Fatalf("ann's probe: %d %q", status, body)
		}
		exec := web.ExecUser(ann.user)
		if lines[0] != b.uid(exec) || lines[1] != "96M" || !strings.Contains(","+lines[2]+",", ",phpinfo,") ||
			!strings.Contains(","+lines[2]+",", ",exec,") {
			t.Errorf("ann's probe runs as %s (%s is %s), memory_limit %s, disabled %s", lines[0], exec, b.uid(exec), lines[1], lines[2])
		}
		if lines[3] != "no" || lines[4] != "yes" || lines[5] != "unread" {
			t.Errorf("ann's code writes its folder: %s, its writable folder: %s; bob's file: %s", lines[3], lines[4], lines[5])
		}
		if _, body := b.get(bobHost, "/probe.php?read="+ann.dir("site")+"/secret.txt"); strings.Split(body, "\n")[5] != "unread" {
			t.Errorf("bob's code reads ann's files: %q", body)
		}
		if _, body := b.get(annHost, "/probe.php?read="+ann.dir("site")+"/secret.txt"); strings.Split(body, "\n")[5] != "read" {
			t.Errorf("ann's code does not read ann's files: %q", body)
		}

		// a pool php-fpm refuses: FAILURE with its words; the old one serves
		b.patchServer(map[string]string{"WEB_USER": "nosuchuser"})
		r := ann.change("site", map[string]any{"memory_limit": "97M"})
		if got := r.Header.Get("Orchestra-Outcome"); got != "FAILURE" {
			t.Errorf("a pool php-fpm refuses: outcome %q", got)
		}
		if why := b.stderr(r); !strings.Contains(why, "cannot get uid for user 'nosuchuser'") {
			t.Errorf("the refusal says %q", why)
		}
		if _, body := b.get(annHost, "/probe.php"); strings.Split(body, "\n")[1] != "96M" {
			t.Errorf("after a refusal: %q", body)
		}
		if text, _ := os.ReadFile(pool); !strings.Contains(string(text), "96M") || strings.Contains(string(text), "nosuchuser") {
			t.Errorf("after a refusal the pool file is\n%s", text)
		}
		b.patchServer(nil)
		b.Applied(ann.change("site", map[string]any{"memory_limit": "98M"}))
		if _, body := b.get(annHost, "/probe.php"); strings.Split(body, "\n")[1] != "98M" {
			t.Errorf("after a change: %q", body)
		}

		ann.remove("site")
		if exists(pool) || exists(sock) || exists(ann.dir("site")) {
			t.Errorf("ann's deleted app left its pool %v, socket %v or folder %v", exists(pool), exists(sock), exists(ann.dir("site")))
		}
		if out, code := b.Root("id " + exec); code == 0 {
			t.Errorf("ann's execution user is left: %s", out)
		}
	})
}

// stderr is what the logs of r's operations say on standard error.
func (b *appBed) stderr(r *apitest.Resp) string {
	var out strings.Builder
	for _, id := range strings.Split(r.Header.Get("Orchestra-Operations"), ",") {
		op := b.Admin.Do("GET", "/operations/"+id, nil).JSON()
		if l, ok := op["log"].(float64); ok {
			fmt.Fprint(&out, b.Admin.Do("GET", "/logs/"+strconv.Itoa(int(l)), nil).JSON()["stderr"])
		}
	}
	return out.String()
}

var _ = databases.MySQL
