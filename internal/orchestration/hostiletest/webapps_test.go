package hostiletest

import (
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/services/web/webtest"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// webAppsSuite drives the web app backends (folders, PHP-FPM pools, uWSGI
// vassals) on the web test bed, one pool per app: apps whose names, types
// and the settings the backends write (public and writable folders, a
// link's target, a module, a time zone, functions disabled and enabled,
// PHP's limits, a PHP or Python version) are the seeds, and values the
// rules take. What the rules accept is on the server byte for byte: the
// folder of that name, the public and writable folders (the execution
// user's ACL on the latter), the link's text, the vassal's module line, the
// pool's time zone, limits (memory_limit, upload_max_filesize,
// post_max_size) and disabled functions (WEBAPPS_PHP_DISABLED_FUNCTIONS
// less one enabled); a PHP version's pool in that version's pool folder,
// listening in its socket folder, a Python version's vassal with its
// plugin; each kind's app has its folder, link, pool or vassal. The rules'
// documented forms: a name without surrounding space, post_max_size raised
// to upload_max_filesize. Then every app is deleted, and nothing of them
// is left.
var webAppsSuite = suite{
	name:     "webapps",
	backends: []string{web.AppBackend, web.PHPFPMBackend, web.UWSGIBackend},
	fields: map[string][]string{"WebApp": {"name", "type", "settings.public_root", "settings.writable", "settings.target",
		"settings.module", "settings.date_timezone", "settings.disable_functions", "settings.enable_functions",
		"settings.memory_limit", "settings.post_max_size", "settings.upload_max_filesize", "settings.version"}},
	run: runWebApps,
}

func init() { suites = append(suites, webAppsSuite) }

// webAppWant is how an accepted value shows on the server: check prints
// "ok" when it does (a shell fragment, values quoted).
type webAppWant struct {
	key   string
	check string
}

func runWebApps(t *testing.T, st *store.Store, r *recorder) {
	wb := webtest.Load(t)
	wb.Lock(t)
	bed := sshtest.Load(t)
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary, main := "/tmp/orchestra-canary-"+tag, "ha"+tag
	exec := web.ExecUser(main)
	home := fmt.Sprintf(systemusers.Home.Get(), main)
	set := wb.ServerSettings()
	set["WEBAPPS_PHPFPM_POOL_PER"] = "app"
	t.Cleanup(func() {
		run(t, pool, target, fmt.Sprintf(`rm -f $(grep -lsxF %[3]s %[5]s/*.conf) $(grep -lsxF %[4]s %[6]s/*.ini)
kill -USR2 "$(cat %[7]s)"; sleep 2
for u in %[1]s %[8]s; do pkill -KILL -u "$u"; userdel -r "$u"; done 2>/dev/null; rm -f %[2]s; true`,
			main, canary, orchestration.Quote("user = "+exec), orchestration.Quote("uid = "+exec), wb.PHPFPMPools(), wb.UWSGIVassals(),
			wb.PHPFPMPID(), exec))
	})
	addServer(t, st, "apps1", s0, set, systemusers.Backend, web.AppBackend, web.PHPFPMBackend, web.UWSGIBackend)
	_, cust := account(t, st, main)
	q := orchestration.Quote
	var wants []webAppWant
	var apps []*ent.WebApp
	n := 0
	next := func() string { n++; return fmt.Sprintf("a%d", n) }
	add := func(key, value, typ string, settings map[string]any, name string) *ent.WebApp {
		t.Helper()
		var a *ent.WebApp
		if !r.one(cust, key, value, func(ctx context.Context, tx *ent.Tx) (err error) {
			a, err = tx.WebApp.Create().SetName(name).SetType(typ).SetSettings(settings).Save(ctx)
			return err
		}) {
			return nil
		}
		// as stored: JSON holds invalid UTF-8 as U+FFFD
		a, err := st.WebApp.Get(sys, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, a)
		return a
	}
	// stored is the app's setting as stored (a list's first item)
	stored := func(a *ent.WebApp, key string) string {
		switch v := a.Settings[key].(type) {
		case string:
			return v
		case []any:
			if len(v) > 0 {
				s, _ := v[0].(string)
				return s
			}
		}
		t.Fatalf("app %s: its %s is %v", a.Name, key, a.Settings[key])
		return ""
	}
	want := func(key, check string) { wants = append(wants, webAppWant{key, check}) }
	dir := func(a *ent.WebApp) string { return web.Directory(main, a.Name) }
	poolFile := func(a *ent.WebApp) string {
		return wb.PHPFPMPools() + "/" + web.PoolName("app", main, a.Name, "8.2") + ".conf"
	}
	vassalFile := func(a *ent.WebApp) string { return wb.UWSGIVassals() + "/" + web.VassalName(main, a.Name) + ".ini" }
	// a limit of PHP's (memory_limit, upload_max_filesize, post_max_size)
	// is the pool's php_admin_value of that name
	limit := func(name, v string) {
		key := "WebApp.settings." + name
		if a := add(key, v, web.AppPHP, map[string]any{name: v}, next()); a != nil {
			want(key, "grep -qxF "+q(`php_admin_value[`+name+`] = "`+stored(a, name)+`"`)+" "+q(poolFile(a)))
		}
	}
	// a function enabled is missing from the pool's disabled ones, which are
	// WEBAPPS_PHP_DISABLED_FUNCTIONS' others, in their order
	enable := func(v string) {
		if a := add("WebApp.settings.enable_functions", v, web.AppPHP, map[string]any{"enable_functions": []string{v}}, next()); a != nil {
			fn := stored(a, "enable_functions")
			off := slices.DeleteFunc(slices.Clone(web.DisabledFunctions.Get()), func(f string) bool { return f == fn })
			want("WebApp.settings.enable_functions", "grep -qxF "+q(`php_admin_value[disable_functions] = "`+strings.Join(off, ",")+`"`)+
				" "+q(poolFile(a)))
		}
	}
	// a PHP app's version is the folder its pool is in and the folder of
	// its socket (the server's WEB_PHPFPM_POOLS and WEB_PHPFPM_SOCKETS of
	// that version); a Python app's, its vassal's plugin
	version := func(typ, v string) {
		settings := map[string]any{"version": v}
		if typ == web.AppPython {
			settings["processes"] = 1
		}
		a := add("WebApp.settings.version", v, typ, settings, next())
		if a == nil {
			return
		}
		ver := stored(a, "version")
		if typ == web.AppPython {
			want("WebApp.settings.version", "grep -qxF "+q("plugins = python"+strings.ReplaceAll(ver, ".", ""))+" "+q(vassalFile(a)))
			return
		}
		of := func(setting string) string { return strings.ReplaceAll(set[setting], "%(version)s", ver) }
		name := web.PoolName("app", main, a.Name, ver)
		want("WebApp.settings.version", "grep -qxF "+q("listen = "+of("WEB_PHPFPM_SOCKETS")+"/"+name+".sock")+" "+
			q(of("WEB_PHPFPM_POOLS")+"/"+name+".conf"))
	}
	for _, s := range seeds(canary) {
		if a := add("WebApp.name", s, web.AppStatic, map[string]any{}, s); a != nil {
			if a.Name != strings.TrimSpace(s) {
				t.Errorf("name %q stored as %q", s, a.Name)
			}
			want("WebApp.name", "[[ -d "+q(dir(a))+" && ! -L "+q(dir(a))+" ]]")
		}
		add("WebApp.type", s, s, map[string]any{}, next())
		if a := add("WebApp.settings.public_root", s, web.AppStatic, map[string]any{"public_root": s}, next()); a != nil {
			want("WebApp.settings.public_root", "[[ -d "+q(path.Join(dir(a), stored(a, "public_root")))+" ]]")
		}
		if a := add("WebApp.settings.writable", s, web.AppPHP, map[string]any{"writable": []string{s}}, next()); a != nil {
			want("WebApp.settings.writable", "getfacl -cp -- "+q(path.Join(dir(a), stored(a, "writable")))+" | grep -qxF "+
				q("user:"+exec+":rwx"))
		}
		for _, v := range []string{s, home + "/" + s} {
			if a := add("WebApp.settings.target", v, web.AppLink, map[string]any{"target": v}, next()); a != nil {
				want("WebApp.settings.target", "[[ -L "+q(dir(a))+" && $(readlink -- "+q(dir(a))+"; echo x) == "+
					q(stored(a, "target")+"\nx")+" ]]")
			}
		}
		if a := add("WebApp.settings.module", s, web.AppPython, map[string]any{"module": s, "processes": 1}, next()); a != nil {
			want("WebApp.settings.module", "grep -qxF "+q("module = "+stored(a, "module"))+" "+
				q(wb.UWSGIVassals()+"/"+web.VassalName(main, a.Name)+".ini"))
		}
		if a := add("WebApp.settings.date_timezone", s, web.AppPHP, map[string]any{"date_timezone": s}, next()); a != nil {
			if tz := stored(a, "date_timezone"); tz != "" { // empty: the server's
				want("WebApp.settings.date_timezone", "grep -qxF "+q(`php_admin_value[date.timezone] = "`+tz+`"`)+" "+q(poolFile(a)))
			}
		}
		if a := add("WebApp.settings.disable_functions", s, web.AppPHP, map[string]any{"disable_functions": []string{s}}, next()); a != nil {
			want("WebApp.settings.disable_functions", "grep -qF "+q(`php_admin_value[disable_functions] = "`+stored(a, "disable_functions")+`,`)+
				" "+q(poolFile(a)))
		}
		enable(s)
		for _, name := range []string{"memory_limit", "upload_max_filesize", "post_max_size"} {
			limit(name, s)
		}
		version(web.AppPHP, s)
		version(web.AppPython, s)
	}
	// values the rules take, and near misses of the versions offered
	for _, fn := range []string{"exec", "shell_exec", "str_rot13"} {
		enable(fn)
	}
	for _, v := range []string{"1M", "064M", "999M"} {
		for _, name := range []string{"memory_limit", "upload_max_filesize", "post_max_size"} {
			limit(name, v)
		}
	}
	for _, kind := range []struct {
		typ     string
		offered []string
	}{{web.AppPHP, web.PHPVersions.Get()}, {web.AppPython, web.PythonVersions.Get()}} {
		for _, v := range kind.offered {
			for _, v := range []string{v, " " + v, v + "\n", v + ".0", "v" + v} {
				version(kind.typ, v)
			}
		}
	}
	// each kind, as a type
	for _, typ := range web.AppTypes.Enabled() {
		settings := map[string]any{}
		if typ == web.AppLink {
			settings["target"] = home
		}
		a := add("WebApp.type", typ, typ, settings, next())
		if a == nil {
			continue
		}
		switch typ {
		case web.AppLink:
			want("WebApp.type", "[[ -L "+q(dir(a))+" ]] && [[ -f "+q(poolFile(a))+" ]]")
		case web.AppPython:
			want("WebApp.type", "[[ -d "+q(dir(a))+" && -f "+q(wb.UWSGIVassals()+"/"+web.VassalName(main, a.Name)+".ini")+" ]]")
		case web.AppPHP:
			want("WebApp.type", "[[ -d "+q(dir(a))+" && -f "+q(poolFile(a))+" ]]")
		case web.AppWordPress:
			want("WebApp.type", "[[ -f "+q(dir(a)+"/wp-settings.php")+" && -f "+q(poolFile(a))+" ]]")
		default:
			want("WebApp.type", "[[ -d "+q(dir(a))+" ]]")
		}
	}
	r.phase("writes done")
	startExecutor(t, st, pool)
	last := settle(t, st, 0)
	r.phase("units done")

	var script strings.Builder
	for _, w := range wants {
		script.WriteString("if " + w.check + "; then echo ok; else echo no; fi\n")
	}
	lines := strings.Split(strings.TrimSuffix(run(t, pool, target, script.String()), "\n"), "\n")
	if len(lines) != len(wants) {
		t.Fatalf("%d answers for %d values", len(lines), len(wants))
	}
	for i, w := range wants {
		if lines[i] == "ok" {
			r.arrived(w.key)
		} else {
			t.Errorf("%s: not on the server as stored: %s", w.key, w.check)
		}
	}
	// root made nothing below the home: every entry is the account's, but
	// what its code wrote
	if out := run(t, pool, target, fmt.Sprintf(`find %s ! -user %s -printf '%%p\n' | base64 -w0`, q(home), q(main))); out != "" {
		b, _ := base64.StdEncoding.DecodeString(out)
		t.Errorf("not owned by %s below its home:\n%s", main, b)
	}
	noCanary(t, pool, target, canary)

	// every app goes, and all of it
	if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) error {
		for _, a := range apps {
			if err := tx.WebApp.DeleteOneID(a.ID).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	settle(t, st, last)
	out := run(t, pool, target, fmt.Sprintf(`ls -A %s; grep -lsxF %s %s/*.conf; grep -lsxF %s %s/*.ini; getent passwd %s; true`,
		q(home+"/webapps"), q("user = "+exec), wb.PHPFPMPools(), q("uid = "+exec), wb.UWSGIVassals(), q(exec)))
	if out != "" {
		t.Errorf("left once every app was deleted:\n%s", out)
	}
	if slices.ContainsFunc(wants, func(w webAppWant) bool { return w.key == "WebApp.settings.module" }) {
		noCanary(t, pool, target, canary)
	}
}
