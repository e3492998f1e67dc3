package web_test

import (
	"encoding/json"
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
	"github.com/orchestra-panel/orchestra/internal/services/web/appconf"
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

// poolText is the pool file of app, "" when there is none.
func (a *appCustomer) poolText(per, app string) string {
	name := web.PoolName(per, a.user, app, "8.2")
	text, _ := os.ReadFile(filepath.Join(a.b.web.PHPFPMPools(), name+".conf"))
	return string(text)
}

// TestSharedPools: an account's PHP apps of one version share a pool that
// takes the largest limits, the sum of processes and the functions every
// app disables; a deleted app leaves it; per app, each app has its own and
// the shared one goes.
func TestSharedPools(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newAppBed(t, st)
		ann := b.customer()
		ann.add("a", "php", map[string]any{"memory_limit": "64M", "processes": 2, "enable_functions": []string{"exec", "str_rot13"},
			"display_errors": true})
		ann.add("b", "php", map[string]any{"memory_limit": "200M", "processes": 3, "enable_functions": []string{"str_rot13"},
			"date_timezone": "Europe/Madrid"})
		ann.add("s", "static", nil)
		text := ann.poolText("account", "a")
		for _, want := range []string{`memory_limit] = "200M"`, "pm.max_children = 5", `date.timezone] = "Europe/Madrid"`,
			"display_errors] = on", `disable_functions] = "passthru,`} {
			if !strings.Contains(text, want) {
				t.Errorf("the shared pool lacks %s:\n%s", want, text)
			}
		}
		// exec: enabled by a; str_rot13: by both
		if strings.Contains(text, `"exec,`) || strings.Contains(text, "str_rot13") {
			t.Errorf("a function an app enables is disabled:\n%s", text)
		}
		ann.remove("b")
		text = ann.poolText("account", "a")
		if !strings.Contains(text, `memory_limit] = "64M"`) || !strings.Contains(text, "pm.max_children = 2") ||
			!strings.Contains(text, "display_errors] = on") || strings.Contains(text, "date.timezone") {
			t.Errorf("after b's deletion the pool is\n%s", text)
		}
		// per app: a pool of its own, and the shared one goes
		b.settings["WEBAPPS_PHPFPM_POOL_PER"] = "app"
		b.patchServer(nil)
		b.Applied(ann.change("a", map[string]any{"memory_limit": "65M"}))
		if ann.poolText("account", "a") != "" || !strings.Contains(ann.poolText("app", "a"), `memory_limit] = "65M"`) {
			t.Errorf("per app: the shared pool is\n%s\nand a's\n%s", ann.poolText("account", "a"), ann.poolText("app", "a"))
		}
		_, sock := ann.pool("a")
		sock = strings.Replace(sock, filepath.Base(sock), web.PoolName("app", ann.user, "a", "8.2")+".sock", 1)
		if !exists(sock) {
			t.Errorf("a's socket %s is missing", sock)
		}
		ann.remove("a")
		if ann.poolText("app", "a") != "" || exists(sock) {
			t.Error("a's pool is left")
		}
	})
}

// TestPythonApps: a Python app's vassal serves it as the account's
// execution user, first with a placeholder, then with its own module; a
// deleted app takes its vassal, socket, folder and execution user.
func TestPythonApps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newAppBed(t, st)
		ann := b.customer()
		ann.add("py", "python", map[string]any{"processes": 2})
		file, sock := ann.vassal("py")
		if !exists(file) || !exists(sock) {
			t.Fatalf("the vassal %s or its socket is missing", file)
		}
		if out, _ := b.Root("stat -c '%U %G %a' " + sock); strings.TrimSpace(out) != "www-data www-data 660" {
			t.Errorf("the vassal's socket is %s", out)
		}
		host := ann.user + ".py.test"
		b.serve(host, ann.dir("py"), "", sock)
		if status, body := b.get(host, "/"); status != http.StatusOK || !strings.Contains(body, "no code yet") {
			t.Errorf("a new Python app answers %d %q", status, body)
		}
		ann.put("py", map[string]string{"probe.py": "import os\n\ndef application(environ, start_response):\n" +
			"    start_response('200 OK', [('Content-Type', 'text/plain')])\n" +
			"    return [('%d %s' % (os.geteuid(), os.access(__file__, os.W_OK))).encode()]\n"})
		b.Applied(ann.change("py", map[string]any{"module": "probe:application"}))
		exec := web.ExecUser(ann.user)
		if status, body := b.get(host, "/"); status != http.StatusOK || body != b.uid(exec)+" False" {
			t.Errorf("the app answers %d %q, want %s's uid and no write access", status, body, exec)
		}
		// a change within the second of the last is seen too
		b.Applied(ann.change("py", map[string]any{"processes": 3}))
		if text, _ := os.ReadFile(file); !strings.Contains(string(text), "processes = 3") {
			t.Errorf("the vassal is\n%s", text)
		}
		if status, body := b.get(host, "/"); status != http.StatusOK || body != b.uid(exec)+" False" {
			t.Errorf("after a change the app answers %d %q", status, body)
		}
		ann.remove("py")
		if exists(file) || exists(sock) || exists(ann.dir("py")) {
			t.Errorf("the deleted app left its vassal %v, socket %v or folder %v", exists(file), exists(sock), exists(ann.dir("py")))
		}
		if out, _ := b.Root("pgrep -f -- " + orchestration.Quote(filepath.Base(file))); out != "" {
			t.Errorf("the vassal still runs: %s", out)
		}
		if out, code := b.Root("id " + exec); code == 0 {
			t.Errorf("the execution user is left: %s", out)
		}
	})
}

// TestWordPressApps: a WordPress app is Debian's WordPress copied into its
// folder (links followed) with a wp-config.php naming its database, which
// exists and which WordPress reaches; the file is the account's, 0640,
// read by its execution user only; the stored script hides the password.
func TestWordPressApps(t *testing.T) {
	if os.Getenv("ORCHESTRA_TEST_MYSQL_ADDR") == "" {
		t.Skip("no MariaDB test bed (ORCHESTRA_TEST_MYSQL_ADDR)")
	}
	client := os.Getenv("ORCHESTRA_TEST_MYSQL_CLIENT")
	if client == "" {
		client = "mysql"
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newAppBed(t, st, databases.MySQLBackend, databases.MySQLUserBackend)
		b.settings["DATABASES_MYSQL_CLIENT"] = client
		b.settings["WEBAPPS_WORDPRESS_DB_HOST"] = os.Getenv("ORCHESTRA_TEST_MYSQL_ADDR")
		b.patchServer(nil)
		ann, bob := b.customer(), b.customer()
		bob.add("site", "php", nil)
		r := ann.c.Do("POST", "/webapps", map[string]any{"name": "blog", "type": "wordpress"}).Want(http.StatusCreated)
		b.Applied(r)
		ann.apps["blog"] = r.ID()
		dir := ann.dir("blog")
		if out, _ := b.Root("cd " + dir + " && ls wp-settings.php wp-includes/version.php wp-content/plugins/akismet/akismet.php .htaccess" +
			" && find . -type l && stat -c '%U %a' wp-config.php"); out != ".htaccess\nwp-content/plugins/akismet/akismet.php\n"+
			"wp-includes/version.php\nwp-settings.php\n"+ann.user+" 640\n" {
			t.Errorf("the WordPress folder: %q", out)
		}
		config, code := b.Root("runuser -u " + web.ExecUser(ann.user) + " -- cat " + dir + "/wp-config.php")
		if code != 0 {
			t.Fatalf("the execution user cannot read wp-config.php: %s", config)
		}
		if _, code := b.Root("runuser -u " + web.ExecUser(bob.user) + " -- cat " + dir + "/wp-config.php"); code == 0 {
			t.Error("another account's execution user reads wp-config.php")
		}
		value := func(name string) string {
			_, rest, _ := strings.Cut(config, "define('"+name+"', '")
			v, _, _ := strings.Cut(rest, "')")
			return v
		}
		db, user, pw := value("DB_NAME"), value("DB_USER"), value("DB_PASSWORD")
		if db != "wp_blog_"+ann.user || user != db || len(pw) != 24 {
			t.Errorf("wp-config.php names %q, %q, a password of %d characters:\n%s", db, user, len(pw), config)
		}
		host, port, _ := strings.Cut(os.Getenv("ORCHESTRA_TEST_MYSQL_ADDR"), ":")
		if out, _ := b.Root("mysql --protocol=TCP -h " + host + " -P " + port + " -u " + user + " --password=" + orchestration.Quote(pw) +
			" -N -B -e 'SELECT DATABASE()' " + db); strings.TrimSpace(out) != db {
			t.Errorf("logging in with wp-config.php's password: %q", out)
		}
		for _, l := range b.Admin.Do("GET", "/logs?page_size=100", nil).JSON()["results"].([]any) {
			full := b.Admin.Do("GET", fmt.Sprintf("/logs/%d", int(l.(map[string]any)["id"].(float64))), nil).JSON()
			if strings.Contains(fmt.Sprint(full), pw) {
				t.Errorf("log %v shows the database password", full["id"])
			}
		}
		// WordPress reaches its database: it asks to be installed
		_, sock := ann.pool("blog")
		site := ann.user + ".wp.test"
		b.serve(site, dir, sock, "")
		status, body, header := b.web.Get(t, b.web.Nginx, "http", site, "/")
		if status != http.StatusFound || !strings.Contains(header.Get("Location"), "wp-admin/install.php") {
			t.Errorf("WordPress answers %d %s %q", status, header.Get("Location"), body)
		}
		// a change leaves WordPress's files as they are
		ann.put("blog", map[string]string{"wp-content/mine.txt": "mine"})
		b.Applied(ann.change("blog", map[string]any{"memory_limit": "100M"}))
		if out, _ := b.Root("cat " + dir + "/wp-content/mine.txt; stat -c %a " + dir + "/wp-config.php"); out != "mine640\n" {
			t.Errorf("after a change: %q", out)
		}
		ann.remove("blog")
		if exists(dir) {
			t.Error("the deleted app's folder is left")
		}
		if out, _ := b.Root("printf 'SHOW DATABASES;\\n' | " + client + " -N -B | grep -xF " + db); out != "" {
			t.Errorf("the deleted app's database is left: %s", out)
		}
	})
}

// etcState is what of /etc a root command following a planted link could
// change, less the user database and the files its tools lock it with for
// a moment (passwd.lock, passwd.PID), which other tests' accounts change
// meanwhile.
func (b *appBed) etcState() string {
	b.T.Helper()
	out, code := b.Root(`stat -c '%a %U %G' /etc; getfacl -cp /etc; ls -A /etc | grep -Ev '^(passwd|group|shadow|gshadow|subuid|subgid)(-|\.orchestra-new|\+|\.lock|\.[0-9]+)?$|^\.pwd\.lock$'; getfacl -R -P -s -p /etc 2>/dev/null | sha256sum`)
	if code != 0 {
		b.T.Fatalf("/etc: %s", out)
	}
	return out
}

// TestAppsPlantedLinks: links the customer plants in its app's place, at a
// writable folder or above the apps make no root command act outside the
// home: the unit fails and /etc and the other account's home are as they
// were; a deletion removes the link only. A symbolic-link app is a link,
// made as the user, and its deletion leaves its target. A deleted app's
// folder goes to WEBAPPS_DELETED_DIR when it is set.
func TestAppsPlantedLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newAppBed(t, st)
		ann, bob := b.customer(), b.customer()
		bob.add("site", "php", nil)
		bobHome := func() string {
			out, _ := b.Root("getfacl -R -P -p /home/" + bob.user + " | sha256sum")
			return out
		}
		etc, bobs := b.etcState(), bobHome()
		ann.add("app", "php", map[string]any{"writable": []string{"up"}})
		dir := ann.dir("app")
		root := func(script string) {
			t.Helper()
			if out, code := b.Root(script); code != 0 {
				t.Fatalf("%s: %s", script, out)
			}
		}
		as := "runuser -u " + ann.user + " -- "
		refused := func(what string, r *apitest.Resp) {
			t.Helper()
			if got := r.Header.Get("Orchestra-Outcome"); got != "FAILURE" {
				t.Errorf("%s: outcome %q", what, got)
			}
			if now := b.etcState(); now != etc || bobHome() != bobs {
				t.Fatalf("%s: /etc or bob's home changed; /etc was:\n%s\nand is:\n%s", what, etc, now)
			}
		}
		for _, target := range []string{"/etc", "/home/" + bob.user} {
			// the app's folder
			root(as + "mv " + dir + " " + dir + ".away && " + as + "ln -s " + target + " " + dir)
			refused("the folder a link to "+target, ann.change("app", map[string]any{"processes": 2}))
			root(as + "rm " + dir + " && " + as + "mv " + dir + ".away " + dir)
			// a writable folder
			root(as + "rm -rf " + dir + "/up && " + as + "ln -s " + target + " " + dir + "/up")
			refused("a writable folder a link to "+target, ann.change("app", map[string]any{"processes": 3}))
			root(as + "rm " + dir + "/up")
			// the folder of the apps
			root(as + "mv /home/" + ann.user + "/webapps /home/" + ann.user + "/webapps.away && " + as + "ln -s " + target +
				" /home/" + ann.user + "/webapps")
			r := ann.c.Do("POST", "/webapps", map[string]any{"name": "new", "type": "php"}).Want(http.StatusCreated)
			refused("the apps' folder a link to "+target, r)
			root(as + "rm /home/" + ann.user + "/webapps && " + as + "mv /home/" + ann.user + "/webapps.away /home/" + ann.user + "/webapps")
			b.Applied(ann.c.Do("DELETE", fmt.Sprintf("/webapps/%d", r.ID()), nil))
		}
		b.Applied(ann.change("app", map[string]any{"processes": 4}))
		if out, _ := b.Root("getfacl -cp " + dir + "/up | grep -c " + web.ExecUser(ann.user)); strings.TrimSpace(out) != "2" {
			t.Errorf("the writable folder's entries for the execution user: %s", out)
		}
		// deleting an app whose folder is a link removes the link only
		root(as + "mv " + dir + " " + dir + ".away && " + as + "ln -s /etc " + dir)
		ann.remove("app")
		if exists(dir) || !exists("/etc/passwd") || b.etcState() != etc {
			t.Error("deleting an app whose folder is a link")
		}
		root("rm -rf " + dir + ".away")

		// a link app: a link to a folder of the home, made as the user
		root(as + "mkdir -p /home/" + ann.user + "/shared/www")
		ann.add("lnk", "symbolic-link", map[string]any{"target": "/home/" + ann.user + "/shared/www", "writable": []string{"cache"}})
		if out, _ := b.Root("stat -c '%U %F' " + ann.dir("lnk") + "; readlink " + ann.dir("lnk") + "; stat -c %U /home/" + ann.user +
			"/shared/www/cache"); out != ann.user+" symbolic link\n/home/"+ann.user+"/shared/www\n"+ann.user+"\n" {
			t.Errorf("the link app: %q", out)
		}
		ann.remove("lnk")
		if exists(ann.dir("lnk")) || !exists("/home/"+ann.user+"/shared/www/cache") {
			t.Error("deleting a link app: the link is left or its target went")
		}

		// kept when WEBAPPS_DELETED_DIR is set
		kept := t.TempDir()
		b.patchServer(map[string]string{"WEBAPPS_DELETED_DIR": kept + "/deleted"})
		ann.add("old", "static", nil)
		ann.put("old", map[string]string{"index.html": "old"})
		ann.remove("old")
		if out, _ := b.Root("cat " + kept + "/deleted/" + ann.user + ".old.*/index.html"); out != "old" || exists(ann.dir("old")) {
			t.Errorf("a deleted app's folder is not kept: %q", out)
		}
	})
}

// TestAppNames: execution users, pools and vassals have one name per
// account and app, which the renderers take (lower case, at most 64
// characters; users at most 32).
func TestAppNames(t *testing.T) {
	users := []string{"ann", "ann-b", "Ann", "ann-web", "x-1a2b3c4d-w", "_x", "a.b", strings.Repeat("a", 28), strings.Repeat("a", 29),
		strings.Repeat("A", 32), "9lives", strings.Repeat("ab.", 10) + "c"}
	apps := []string{"x", "b-x", "php8.2", "web", strings.Repeat("z", 128), "a.b"}
	seen := map[string]string{}
	taken := func(kind, name, of string) {
		t.Helper()
		if prev, ok := seen[name]; ok {
			t.Errorf("%s %q is both %s and %s", kind, name, prev, of)
		}
		seen[name] = of
	}
	for _, u := range users {
		exec := web.ExecUser(u)
		if len(exec) > 32 {
			t.Errorf("execution user %q of %q: too long", exec, u)
		}
		taken("user", exec, "the execution user of "+u)
		for _, per := range []string{"account", "app"} {
			for _, a := range apps {
				name := web.PoolName(per, u, a, "8.2")
				if per == "app" || a == apps[0] {
					taken("pool", name, per+" pool of "+u+"/"+a)
				}
				p := appconf.Pool{Name: name, User: exec, Group: exec, Socket: "/run/php/" + name + ".sock", SocketOwner: "www-data", Children: 1}
				if _, err := p.Render(); err != nil {
					t.Errorf("pool of %s/%s: %v", u, a, err)
				}
			}
		}
		for _, a := range apps {
			name := web.VassalName(u, a)
			v := appconf.Vassal{User: exec, Group: exec, Dir: "/home/x", Module: "wsgi", Socket: "/run/uwsgi/app/" + name + ".sock",
				SocketOwner: "www-data", Processes: 1, Plugin: "python311"}
			if _, err := v.Render(); err != nil {
				t.Errorf("vassal of %s/%s: %v", u, a, err)
			}
			if seen["vassal "+name] != "" {
				t.Errorf("vassal %s twice", name)
			}
			seen["vassal "+name] = u + "/" + a
		}
	}
}

// TestExecUserNamesTaken: no system user may take an account's execution
// user's name, nor an account be added whose execution user's name a
// system user has.
func TestExecUserNamesTaken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		e.MakeAccount("ann", "Ann-password-42", false)
		ann := e.Login("ann", "Ann-password-42")
		ann.Do("POST", "/system-users", map[string]any{"username": "ann-web"}).Want(http.StatusConflict)
		ann.Do("POST", "/system-users", map[string]any{"username": "carl-web"}).Want(http.StatusCreated)
		admin := e.Admin()
		for _, name := range []string{"ann-web", "carl"} {
			admin.Do("POST", "/accounts", map[string]any{"username": name, "full_name": name, "email": name + "@example.com"}).
				Want(http.StatusConflict)
		}
		admin.Do("POST", "/accounts", map[string]any{"username": "dora", "full_name": "dora", "email": "dora@example.com"}).
			Want(http.StatusCreated)
		// staff route the app backends
		var all []struct{ Name, Model string }
		if err := json.Unmarshal(admin.Do("GET", "/backends", nil).Want(http.StatusOK).Body, &all); err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, b := range all {
			if b.Model == "WebApp" {
				listed = append(listed, b.Name)
			}
		}
		if strings.Join(listed, " ") != "php-fpm uwsgi webapp" {
			t.Errorf("the backends of web apps: %v", listed)
		}
		for _, name := range listed {
			b, _ := orchestration.Lookup(name)
			if _, err := orchestration.CompileMatch(name, b.DefaultMatch); err != nil {
				t.Errorf("%s's default match %q: %v", name, b.DefaultMatch, err)
			}
		}
	})
}

// TestAccountDeletion: deleting an account deletes its users, then its
// apps' pools and vassals (the snapshot of each app names its account)
// and its execution user.
func TestAccountDeletion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newAppBed(t, st)
		ann := b.customer()
		ann.add("site", "php", map[string]any{"writable": []string{"up"}})
		ann.add("py", "python", nil)
		pool, psock := ann.pool("site")
		vassal, vsock := ann.vassal("py")
		b.Applied(b.Admin.Do("DELETE", fmt.Sprintf("/accounts/%d", ann.id), nil).Want(http.StatusNoContent))
		ann.apps = nil
		for _, f := range []string{pool, psock, vassal, vsock, "/home/" + ann.user} {
			if exists(f) {
				t.Errorf("%s is left", f)
			}
		}
		if out, code := b.Root("id " + web.ExecUser(ann.user) + "; id " + ann.user); code == 0 {
			t.Errorf("users are left: %s", out)
		}
	})
}
