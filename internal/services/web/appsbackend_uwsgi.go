package web

import (
	"path"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/services/web/appconf"
)

// The uWSGI backend: one vassal per Python app (VassalName), running as
// the account's execution user in the app's folder, its socket chowned to
// WEB_USER (0660). uWSGI has no check and no reload command: the emperor
// follows the vassal files (testbed/web.sh says how). A changed file gets
// an mtime later, in whole seconds, than the one it replaces (else the
// emperor does not see the change), and the unit waits until the emperor
// runs the new file with new workers only; a removed one, until no master
// runs it any more, and then removes its socket (bound as root, the vassal
// cannot). The code is the customer's: a vassal whose module's file is not
// there is not waited for, and one that does not go live within
// uwsgiWaitText seconds (its module does not load: need-app) is reported
// in the unit's output; neither fails the unit.

// uwsgiWaitText is how long, in seconds, a unit waits for its vassals.
const uwsgiWaitText = "30"

// vassalMaxRequests ends a vassal's worker after so many requests.
const vassalMaxRequests = 500

func init() {
	orchestration.Register(&orchestration.Backend{
		Name: UWSGIBackend, Verbose: "uWSGI vassal", Model: "WebApp", DefaultMatch: `web_app.type == "python"`,
		// the app's folder (and a new app's first module) comes first
		After:   []string{systemusers.Backend, AppBackend},
		Prepare: prepareUWSGI, Apply: applyUWSGI, Commit: commitUWSGI,
	})
}

// uwsgiHelpers: uwsgi_put FILE before and after a vassal's file is
// written, uwsgi_remove FILE SOCKET for one that goes; uwsgi_commit waits
// for them all.
const uwsgiHelpers = `uwsgi_emperor=$(cat -- "$uwsgi_pidfile") || { echo "orchestra: no uWSGI emperor ($uwsgi_pidfile)" >&2; exit 1; }
declare -A uwsgi_users=() uwsgi_old=() uwsgi_mtime=() uwsgi_gone=()
uwsgi_new=()
# uwsgi_master FILE: the pid of the vassal master running FILE
uwsgi_master() {
  local pid cmd
  for pid in $(pgrep -P "$uwsgi_emperor"); do
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
    if [[ $cmd == *" --ini $1 " ]]; then echo "$pid"; return 0; fi
  done
  return 1
}
# uwsgi_before FILE EXEC USER
uwsgi_before() {
  local master
  uwsgi_users[$2]=$3
  uwsgi_mtime[$1]=$(stat -c %Y -- "$1" 2>/dev/null || echo 0)
  uwsgi_old[$1]=
  if master=$(uwsgi_master "$1"); then uwsgi_old[$1]=$(pgrep -P "$master" || true); fi
  uwsgi_changed=$changed
  changed=0
}
# uwsgi_after FILE EXEC MODULE-FILE MODULE-FOLDER: the vassal is waited
# for when its file changed and its module is there (as EXEC sees it)
uwsgi_after() {
  local was=${uwsgi_mtime[$1]} now
  if ((changed)); then
    now=$(stat -c %Y -- "$1")
    ((now > was)) || touch -d "@$((was + 1))" -- "$1"
    if orchestra_as "$2" test -e "$3" || orchestra_as "$2" test -d "$4"; then
      uwsgi_new+=("$1")
    else
      echo "orchestra: $1: its module ($3) is not there yet: uWSGI starts the app once it is"
    fi
  fi
  ((changed |= uwsgi_changed)) || true
}
uwsgi_live() {
  local master workers
  master=$(uwsgi_master "$1") && workers=$(pgrep -P "$master") || return 1
  [[ -z ${uwsgi_old[$1]} ]] || ! grep -qxF -- "${uwsgi_old[$1]}" <<<"$workers"
}
# uwsgi_remove FILE SOCKET EXEC USER
uwsgi_remove() {
  uwsgi_users[$3]=$4
  if [[ -e $1 || -L $1 ]]; then rm -f -- "$1"; fi
  uwsgi_gone[$1]=$2
}
uwsgi_stopped() { ! uwsgi_master "$1" >/dev/null; }
uwsgi_commit() {
  local f exec
  local end=$((SECONDS + ` + uwsgiWaitText + `)) waiting=("${uwsgi_new[@]}") left
  while ((${#waiting[@]})); do
    left=()
    for f in "${waiting[@]}"; do
      [[ -v uwsgi_gone[$f] ]] || uwsgi_live "$f" || left+=("$f")
    done
    waiting=("${left[@]}")
    ((${#waiting[@]})) || break
    if ((SECONDS >= end)); then
      # the code is the customer's: its app is not live, the unit is done
      for f in "${waiting[@]}"; do echo "orchestra: uWSGI's vassal $f is not live: does its module load? (see the emperor's log)"; done
      break
    fi
    sleep 0.1
  done
  for f in "${!uwsgi_gone[@]}"; do
    web_until ` + uwsgiWaitText + ` "the end of uWSGI's vassal $f" uwsgi_stopped "$f"
    rm -f -- "${uwsgi_gone[$f]}"
  done
  for exec in "${!uwsgi_users[@]}"; do web_exec_drop "$exec" "${uwsgi_users[$exec]}"; done
}`

func prepareUWSGI(s *orchestration.Script, srv orchestration.Server) {
	BeginConfig(s) // web_until
	prepareExec(s, srv)
	s.Var("uwsgi_pidfile", srv.Setting(UWSGIPID.Name(), UWSGIPID.Get()))
	s.Raw(uwsgiHelpers)
}

func applyUWSGI(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	if o.String("type") != AppPython {
		return nil
	}
	user, err := usernameOf(o)
	if err != nil {
		return err
	}
	app := appOf(o)
	exec, name := ExecUser(user), VassalName(user, app.Name)
	file := srv.Setting(UWSGIVassals.Name(), UWSGIVassals.Get()) + "/" + name + ".ini"
	if action == orchestration.ActionDelete {
		s.Cmd("uwsgi_remove", file, VassalSocket(srv, name), exec, user)
		return nil
	}
	st, err := AppSettings[PythonSettings](app)
	if err != nil {
		return err
	}
	v := appconf.Vassal{User: exec, Group: exec, Dir: Directory(user, app.Name), Module: st.Module,
		Socket: VassalSocket(srv, name), SocketOwner: srv.Setting(WebUser.Name(), WebUser.Get()),
		Processes: st.Processes, Timeout: st.Timeout, MaxRequests: vassalMaxRequests,
		Plugin: "python" + strings.ReplaceAll(st.Version, ".", "")}
	text, err := v.Render()
	if err != nil {
		return err
	}
	s.Cmd("web_exec_user", exec, user)
	s.Cmd("uwsgi_before", file, exec, user)
	s.WriteFile(file, []byte(text), "0644")
	mod, _, _ := strings.Cut(st.Module, ":")
	modPath := path.Join(v.Dir, strings.ReplaceAll(mod, ".", "/"))
	s.Cmd("uwsgi_after", file, exec, modPath+".py", modPath)
	return nil
}

func commitUWSGI(s *orchestration.Script, _ orchestration.Server) { s.Raw("uwsgi_commit") }
