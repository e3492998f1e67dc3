package web

import (
	"cmp"
	"context"
	"regexp"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// The execution user of an account (ExecUser): a UNIX user of its own
// group, without a home or a shell, a member of the account's main group
// (a supplementary group): it reads the account's home (0750) and files
// (0644) through the group, and writes only where an ACL lets it (an app's
// writable folders). Its comment (GECOS) marks it as the panel's, for
// that account: a user of the same name without the mark is refused, never
// taken over or removed. The pool and vassal backends (and the folder
// backend, for writable folders) make it when they need it; the pool and
// vassal backends remove it with the account's last pool or vassal on the
// server.

// execHelpers are the shell functions; web_pool_dirs and web_vassal_dir
// name where pools and vassals are.
const execHelpers = `declare -A web_exec_made=()
# web_exec_user EXEC USER: USER's execution user EXEC exists, in USER's group
# (once per unit: a unit may hold a thousand apps of one account)
web_exec_user() {
  [[ ! -v web_exec_made[$1] ]] || return 0
  local entry
  if entry=$(getent passwd "$1"); then
    entry=$(cut -d: -f5 <<<"$entry")
    if [[ ${entry%%,*} != "orchestra-web $2" ]]; then
      echo "orchestra: a user $1 exists on the server and is not the web execution user of $2: refused" >&2
      return 1
    fi
  else
    useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group \
      --comment "orchestra-web $2" -- "$1"
    web_exec_nscd
  fi
  if getent group "$2" >/dev/null && ! id -nG -- "$1" | tr ' ' '\n' | grep -qxF -- "$2"; then
    usermod -a -G "$2" -- "$1"
    web_exec_nscd
  fi
  web_exec_made[$1]=1
}
web_exec_nscd() {
  if [[ -x /usr/sbin/nscd ]]; then /usr/sbin/nscd -i passwd 2>/dev/null || true; /usr/sbin/nscd -i group 2>/dev/null || true; fi
}
web_exec_idle() { ! pgrep -u "$1" >/dev/null; }
# web_exec_drop EXEC USER: removes USER's execution user EXEC once no pool
# or vassal on the server runs as it
web_exec_drop() {
  local d f entry
  entry=$(getent passwd "$1") || return 0
  entry=$(cut -d: -f5 <<<"$entry")
  [[ ${entry%%,*} == "orchestra-web $2" ]] || return 0
  for d in "${web_pool_dirs[@]}"; do
    for f in "$d"/*.conf; do
      if [[ -f $f ]] && grep -qxF -- "user = $1" "$f"; then return 0; fi
    done
  done
  for f in "$web_vassal_dir"/*.ini; do
    if [[ -f $f ]] && grep -qxF -- "uid = $1" "$f"; then return 0; fi
  done
  pkill -KILL -u "$1" 2>/dev/null || true
  web_until 10 "the end of $1's processes" web_exec_idle "$1"
  userdel -- "$1"
  web_exec_nscd
}`

// prepareExec defines the helpers for srv.
func prepareExec(s *orchestration.Script, srv orchestration.Server) {
	dirs := make([]string, 0, len(PHPVersions.Get()))
	for _, v := range PHPVersions.Get() {
		dirs = append(dirs, orchestration.Quote(On(srv, PHPFPMPools, v)))
	}
	s.Raw("web_pool_dirs=(" + strings.Join(dirs, " ") + ")")
	s.Var("web_vassal_dir", srv.Setting(UWSGIVassals.Name(), UWSGIVassals.Get()))
	s.Raw(execHelpers)
}

// An execution user's name is taken on the servers: no system user may
// have it, and no account may be added whose execution user would have
// the name of a system user. (Checked when a system user is added: an
// account's main user is added with it.)
func init() {
	store.RegisterHook("SystemUser", ent.OpCreate, func(next ent.Mutator) ent.Mutator {
		return hook.SystemUserFunc(func(ctx context.Context, m *ent.SystemUserMutation) (ent.Value, error) {
			name, _ := m.Username()
			if name == "" {
				return next.Mutate(ctx, m)
			}
			if taken, err := execUserOfAccount(ctx, m.Client(), name); err != nil || taken {
				return nil, cmp.Or(err, error(&validate.Conflict{Field: "username",
					Message: i18n.T(ctx, "The name %s is taken on the servers: choose another.", name)}))
			}
			if main, _ := m.IsMain(); main {
				exec := ExecUser(name)
				taken, err := m.Client().SystemUser.Query().Where(systemuser.Username(exec)).Exist(sys(ctx))
				if err != nil || taken {
					return nil, cmp.Or(err, error(&validate.Conflict{Field: "username",
						Message: i18n.T(ctx, "An account named %s would run its web apps as %s, a name taken on the servers: choose another.", name, exec)}))
				}
			}
			return next.Mutate(ctx, m)
		})
	})
}

// longExec is an execution user's name of the second form (ExecUser).
var longExec = regexp.MustCompile(`^[a-z0-9_.-]{1,19}-[0-9a-f]{8}-w$`)

// execUserOfAccount reports whether name is an account's execution user.
func execUserOfAccount(ctx context.Context, client *ent.Client, name string) (bool, error) {
	var candidates []string
	if a, ok := strings.CutSuffix(name, "-web"); ok && ExecUser(a) == name {
		candidates = []string{a}
	} else if longExec.MatchString(name) {
		// rare: every account of a name the first form does not take
		all, err := client.Account.Query().Select(account.FieldUsername).Strings(sys(ctx))
		if err != nil {
			return false, err
		}
		for _, a := range all {
			if ExecUser(a) == name {
				candidates = append(candidates, a)
			}
		}
	}
	if len(candidates) == 0 {
		return false, nil
	}
	return client.Account.Query().Where(account.UsernameIn(candidates...)).Exist(sys(ctx))
}
