// Package appconf renders the processes that run an account's code: a
// PHP-FPM pool and a uWSGI vassal. Values are checked again here, whatever
// the rules upstream let through: PHP's ini syntax and uWSGI's expansions
// (%(…), $(…), @(…)) would read more into a value than it says.
package appconf

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Pool is one PHP-FPM pool.
type Pool struct {
	Name        string // [Name]: unique among the server's pools
	User, Group string // the processes run as
	Socket      string
	SocketOwner string            // the web server's user: only it may connect
	Children    int               // pm.max_children
	MaxRequests int               // a child ends after so many (0: never)
	Timeout     int               // request_terminate_timeout, seconds (0: none)
	Values      map[string]string // php_admin_value[KEY] = VALUE
	Flags       map[string]bool   // php_admin_flag[KEY] = on|off
}

// Vassal is one uWSGI app.
type Vassal struct {
	User, Group string
	Dir         string // chdir
	Module      string // the WSGI callable: module or module:callable
	Socket      string
	SocketOwner string
	Processes   int
	Timeout     int // harakiri, seconds (0: none)
	MaxRequests int
	Plugin      string // python3
}

var (
	name    = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,63}$`)
	path    = regexp.MustCompile(`^(/[A-Za-z0-9._@+-]+)+$`)
	iniKey  = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
	iniVal  = regexp.MustCompile(`^[A-Za-z0-9_.,:/+@ -]{0,1000}$`)
	plugin  = regexp.MustCompile(`^[a-z0-9]+$`)
	module  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$`)
	between = func(n, lo, hi int) bool { return n >= lo && n <= hi }
)

// Check lists what in p no pool file can hold as it is.
func (p Pool) Check() []error {
	var errs []error
	wrong := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !name.MatchString(p.Name) || p.Name == "global" || p.Name == "www" {
		wrong("pool name %q", p.Name)
	}
	for _, u := range []string{p.User, p.Group, p.SocketOwner} {
		if !name.MatchString(u) || u == "root" {
			wrong("user or group %q", u)
		}
	}
	if !path.MatchString(p.Socket) {
		wrong("socket %q", p.Socket)
	}
	if !between(p.Children, 1, 1000) || !between(p.MaxRequests, 0, 1_000_000) || !between(p.Timeout, 0, 86400) {
		wrong("pool sizes %d, %d, %d", p.Children, p.MaxRequests, p.Timeout)
	}
	for k, v := range p.Values {
		if !iniKey.MatchString(k) || !iniVal.MatchString(v) {
			wrong("php value %s = %q", k, v)
		}
	}
	for k := range p.Flags {
		if !iniKey.MatchString(k) {
			wrong("php flag %s", k)
		}
	}
	return errs
}

// Render is p's pool file.
func (p Pool) Render() (string, error) {
	if errs := p.Check(); len(errs) > 0 {
		return "", fmt.Errorf("pool %s: %w", p.Name, errs[0])
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("; written by the panel, every edit is lost")
	w("[%s]", p.Name)
	w("user = %s", p.User)
	w("group = %s", p.Group)
	w("listen = %s", p.Socket)
	w("listen.owner = %s", p.SocketOwner)
	w("listen.group = %s", p.SocketOwner)
	w("listen.mode = 0660")
	w("pm = ondemand")
	w("pm.max_children = %d", p.Children)
	w("pm.process_idle_timeout = 30s")
	w("pm.max_requests = %d", p.MaxRequests)
	if p.Timeout > 0 {
		w("request_terminate_timeout = %d", p.Timeout)
	}
	// the pool's settings are the panel's: no php.ini a script could change
	// with ini_set, and no environment from the master
	w("clear_env = yes")
	w("security.limit_extensions = .php")
	for _, k := range slices.Sorted(maps.Keys(p.Values)) {
		w("php_admin_value[%s] = \"%s\"", k, p.Values[k])
	}
	for _, k := range slices.Sorted(maps.Keys(p.Flags)) {
		w("php_admin_flag[%s] = %s", k, map[bool]string{true: "on", false: "off"}[p.Flags[k]])
	}
	return b.String(), nil
}

// Check lists what in v no vassal file can hold as it is.
func (v Vassal) Check() []error {
	var errs []error
	wrong := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, u := range []string{v.User, v.Group, v.SocketOwner} {
		if !name.MatchString(u) || u == "root" {
			wrong("user or group %q", u)
		}
	}
	if !path.MatchString(v.Dir) || !path.MatchString(v.Socket) || slices.Contains(strings.Split(v.Dir, "/"), "..") {
		wrong("paths %q, %q", v.Dir, v.Socket)
	}
	if !module.MatchString(v.Module) {
		wrong("module %q", v.Module)
	}
	if !plugin.MatchString(v.Plugin) {
		wrong("plugin %q", v.Plugin)
	}
	if !between(v.Processes, 1, 100) || !between(v.Timeout, 0, 86400) || !between(v.MaxRequests, 0, 1_000_000) {
		wrong("vassal sizes %d, %d, %d", v.Processes, v.Timeout, v.MaxRequests)
	}
	return errs
}

// Render is v's vassal ini.
func (v Vassal) Render() (string, error) {
	if errs := v.Check(); len(errs) > 0 {
		return "", fmt.Errorf("vassal %s: %w", v.Socket, errs[0])
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("; written by the panel, every edit is lost")
	w("[uwsgi]")
	w("plugins = %s", v.Plugin)
	w("uid = %s", v.User)
	w("gid = %s", v.Group)
	w("socket = %s", v.Socket)
	w("chown-socket = %s:%s", v.SocketOwner, v.SocketOwner)
	w("chmod-socket = 660")
	w("chdir = %s", v.Dir)
	w("pythonpath = %s", v.Dir)
	w("module = %s", v.Module)
	w("master = true")
	w("processes = %d", v.Processes)
	if v.Processes > 1 {
		w("cheaper = 1") // one process while idle, up to processes when busy
	}
	if v.Timeout > 0 {
		w("harakiri = %d", v.Timeout)
	}
	if v.MaxRequests > 0 {
		w("max-requests = %d", v.MaxRequests)
	}
	w("need-app = true") // a module that does not load fails, rather than answering 500s
	return b.String(), nil
}
