package web

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/services/web/appconf"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/webapp"
)

// The PHP-FPM backend: the pools of the apps that run PHP (php,
// symbolic-link, wordpress), running as the account's execution user,
// each listening on a socket only WEB_USER may use.
//
// WEBAPPS_PHPFPM_POOL_PER=account (the default) gives an account one pool
// per PHP version, shared by its apps of that version; =app one pool per
// app. A shared pool takes its apps' settings together (mergePool):
//
//   - limits (memory_limit, upload_max_filesize, post_max_size,
//     max_input_vars, max_input_time, default_socket_timeout, timeout) are
//     the largest any of them asks for;
//   - processes (pm.max_children) add up, to at most maxChildren;
//   - a flag (display_errors, allow_url_fopen, allow_url_include,
//     output_buffering, session.auto_start) is on when any of them turns
//     it on;
//   - a function is disabled unless one of them enables it (or does not
//     disable it): the pool disables the functions all of them disable;
//   - date.timezone is the oldest app's that names one.
//
// Every save of an app writes all of its account's pools (on every
// server the app is routed to: route an account's PHP apps to one server)
// and removes the account's pool files it no longer needs (a version
// changed, an app gone); a deleted app is written away by a save of one of
// its account's other PHP apps, planned with it (Related), or, when it was
// the last, by removing every pool of the account. A pool file is the
// account's when it runs as its execution user ("user = EXEC"). The unit
// then checks each PHP version whose pools changed (php-fpm -t) before it
// reloads any: a refusal puts every file back and fails with php-fpm's
// words, and the pools that were live stay live. Last, the execution users
// left without a pool or vassal go.

// maxChildren caps a shared pool's processes: the most one app may ask for.
const maxChildren = 99

// poolMaxRequests ends a pool's child after so many requests (leaks).
const poolMaxRequests = 500

func init() {
	orchestration.Register(&orchestration.Backend{
		Name: PHPFPMBackend, Verbose: "PHP-FPM pool", Model: "WebApp",
		DefaultMatch: `web_app.type in ["php", "symbolic-link", "wordpress"]`,
		// a deleted app leaves its account's shared pool: one of the other
		// PHP apps of the account writes the pools again
		Related:  []orchestration.Related{{Model: "WebApp", Resolve: survivingPHPApp}},
		After:    []string{systemusers.Backend, AppBackend},
		LoadMany: loadPHP, Prepare: preparePHP, Apply: applyPHP, Commit: commitPHP,
	})
}

// runsPHP reports whether apps of kind typ run PHP.
func runsPHP(typ string) bool { return typ == AppPHP || typ == AppLink || typ == AppWordPress }

// survivingPHPApp is, for a deleted PHP app, the oldest PHP app left in
// its account; nothing for a save (its own save writes the pools).
func survivingPHPApp(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
	if !runsPHP(o.String("type")) {
		return nil, nil
	}
	if there, err := tx.WebApp.Query().Where(webapp.ID(o.ID)).Exist(sys(ctx)); err != nil || there {
		return nil, err
	}
	return tx.WebApp.Query().Where(webapp.AccountID(o.Int("account_id")), webapp.TypeIn(AppPHP, AppLink, AppWordPress)).
		Order(ent.Asc(webapp.FieldID)).Limit(1).IDs(sys(ctx))
}

// phpLoaded is what an app's save needs: its account's PHP apps.
type phpLoaded struct{ acct *phpAccount }

// phpAccount is an account's PHP apps, oldest first, shared by the unit's
// apps of that account: its pools, which hold all of them, are computed
// once per server and written once per script (a unit of a thousand apps
// of one account writes one pool, not a thousand times the same one).
type phpAccount struct {
	apps  []*ent.WebApp
	mu    sync.Mutex
	pools map[int][]pool
	wrote map[*orchestration.Script]bool
}

func loadPHP(ctx context.Context, tx *ent.Tx, objs []*orchestration.Object) ([]error, error) {
	byAccount, err := accountApps(ctx, tx, objs)
	if err != nil {
		return nil, err
	}
	accounts := map[int]*phpAccount{}
	for _, o := range objs {
		id := o.Int("account_id")
		acct := accounts[id]
		if acct == nil {
			acct = &phpAccount{pools: map[int][]pool{}, wrote: map[*orchestration.Script]bool{}}
			for _, a := range byAccount[id] {
				if runsPHP(a.Type) {
					acct.apps = append(acct.apps, a)
				}
			}
			accounts[id] = acct
		}
		o.Extra = &phpLoaded{acct}
	}
	return make([]error, len(objs)), nil
}

// phpHelpers: phpfpm_want EXEC USER FILE... records the pool files the
// account of execution user EXEC keeps; phpfpm_prune removes the others
// that run as EXEC.
const phpHelpers = `declare -A phpfpm_users=() phpfpm_wanted=()
phpfpm_want() {
  phpfpm_users[$1]=$2
  local f
  for f in "${@:3}"; do phpfpm_wanted[$f]=1; done
}
phpfpm_prune() {
  local exec d f
  for exec in "${!phpfpm_users[@]}"; do
    for d in "${web_pool_dirs[@]}"; do
      for f in "$d"/*.conf; do
        [[ -f $f && ! -L $f && ! -v phpfpm_wanted[$f] ]] || continue
        if grep -qxF -- "user = $exec" "$f"; then web_remove "$f"; fi
      done
    done
  done
}
# phpfpm_touched DIR: the unit changed a file of DIR
phpfpm_touched() {
  local f
  for f in "${web_saved[@]}"; do [[ $f != "$1"/* ]] || return 0; done
  return 1
}
phpfpm_drop() {
  local exec
  for exec in "${!phpfpm_users[@]}"; do web_exec_drop "$exec" "${phpfpm_users[$exec]}"; done
}`

func preparePHP(s *orchestration.Script, srv orchestration.Server) {
	BeginConfig(s)
	prepareExec(s, srv)
	s.Raw(phpHelpers)
}

func applyPHP(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	if !runsPHP(o.String("type")) {
		return nil
	}
	user, err := usernameOf(o)
	if err != nil {
		return err
	}
	exec := ExecUser(user)
	if action == orchestration.ActionDelete {
		s.Cmd("phpfpm_want", exec, user) // nothing more, unless another app's save says so
		return nil
	}
	l, _ := o.Extra.(*phpLoaded)
	if l == nil {
		return fmt.Errorf("web app %d was not loaded", o.ID)
	}
	l.acct.mu.Lock()
	defer l.acct.mu.Unlock()
	if l.acct.wrote[s] {
		return nil // another app of the account wrote its pools into this script
	}
	pools, ok := l.acct.pools[srv.ID]
	if !ok {
		if pools, err = accountPools(srv, user, l.acct.apps); err != nil {
			return err
		}
		l.acct.pools[srv.ID] = pools
	}
	l.acct.wrote[s] = true
	files := []string{"phpfpm_want", exec, user}
	if len(pools) > 0 {
		s.Cmd("web_exec_user", exec, user)
	}
	for _, p := range pools {
		s.WriteFile(p.file, []byte(p.text), "0644")
		files = append(files, p.file)
	}
	s.Cmd(files...)
	return nil
}

func commitPHP(s *orchestration.Script, srv orchestration.Server) {
	s.Raw("phpfpm_prune")
	// every version's check before any reload: a refusal puts all back
	for _, v := range PHPVersions.Get() {
		s.Raw("if phpfpm_touched " + orchestration.Quote(On(srv, PHPFPMPools, v)) + "; then")
		s.Cmd(append(append([]string{"web_check"}, strings.Fields(On(srv, PHPFPMCmd, v))...), "-t")...)
		s.Raw("fi")
	}
	for _, v := range PHPVersions.Get() {
		s.Raw("if phpfpm_touched " + orchestration.Quote(On(srv, PHPFPMPools, v)) + "; then")
		s.Cmd("web_reload_phpfpm", On(srv, PHPFPMPID, v))
		s.Raw("fi")
	}
	s.Raw("phpfpm_drop")
}

// pool is one pool file to write.
type pool struct{ file, text string }

// accountPools are the pools of an account's PHP apps (oldest first) on srv.
func accountPools(srv orchestration.Server, user string, apps []*ent.WebApp) ([]pool, error) {
	per := srv.Setting(PoolPer.Name(), PoolPer.Get())
	type group struct {
		name, version string
		apps          []*PHPSettings
	}
	var groups []*group
	for _, a := range apps {
		p := phpOf(a)
		if p == nil {
			return nil, fmt.Errorf("web app %s: its PHP settings do not decode", a.Name)
		}
		name := PoolName(per, user, a.Name, p.Version)
		i := slices.IndexFunc(groups, func(g *group) bool { return g.name == name })
		if i < 0 {
			groups = append(groups, &group{name: name, version: p.Version})
			i = len(groups) - 1
		}
		groups[i].apps = append(groups[i].apps, p)
	}
	out := make([]pool, 0, len(groups))
	for _, g := range groups {
		p := mergePool(g.apps)
		p.Name, p.User, p.Group = g.name, ExecUser(user), ExecUser(user)
		p.Socket = PoolSocket(srv, g.name, g.version)
		p.SocketOwner = srv.Setting(WebUser.Name(), WebUser.Get())
		text, err := p.Render()
		if err != nil {
			return nil, err
		}
		out = append(out, pool{file: On(srv, PHPFPMPools, g.version) + "/" + g.name + ".conf", text: text})
	}
	return out, nil
}

// mergePool is the pool of apps (oldest first), as the package comment
// says: one app's settings, or several taken together.
func mergePool(apps []*PHPSettings) appconf.Pool {
	p := appconf.Pool{MaxRequests: poolMaxRequests, Values: map[string]string{}, Flags: map[string]bool{}}
	largest := func(key string, v int) {
		if cur, ok := p.Values[key]; !ok || megabytes(cur) < v {
			p.Values[key] = strconv.Itoa(v)
		}
	}
	largestM := func(key, v string) {
		if cur, ok := p.Values[key]; !ok || megabytes(cur) < megabytes(v) {
			p.Values[key] = v
		}
	}
	var disabled []string
	for i, a := range apps {
		p.Children = min(p.Children+a.Processes, maxChildren)
		p.Timeout = max(p.Timeout, a.Timeout)
		largestM("memory_limit", a.MemoryLimit)
		largestM("upload_max_filesize", a.UploadMaxFilesize)
		largestM("post_max_size", a.PostMaxSize)
		largest("max_input_vars", a.MaxInputVars)
		largest("max_input_time", a.MaxInputTime)
		largest("default_socket_timeout", a.DefaultSocketTimeout)
		largest("max_execution_time", a.Timeout)
		for k, v := range map[string]bool{"display_errors": a.DisplayErrors, "allow_url_fopen": a.AllowURLFopen,
			"allow_url_include": a.AllowURLInclude, "output_buffering": a.OutputBuffering, "session.auto_start": a.SessionAutoStart} {
			p.Flags[k] = p.Flags[k] || v
		}
		if _, ok := p.Values["date.timezone"]; !ok && a.DateTimezone != "" {
			p.Values["date.timezone"] = a.DateTimezone
		}
		mine := EffectiveDisabledFunctions(a)
		if i == 0 {
			disabled = mine
		} else {
			disabled = slices.DeleteFunc(disabled, func(f string) bool { return !slices.Contains(mine, f) })
		}
	}
	if len(disabled) > 0 {
		p.Values["disable_functions"] = strings.Join(disabled, ",")
	}
	return p
}
