package web

import "github.com/orchestra-panel/orchestra/internal/orchestration"

// Going live. A web server's configuration is many files read together
// (every site of nginx, every pool of PHP-FPM), so no one file can be
// checked alone before it is put in place, as the DNS backend checks a
// zone. Instead a unit keeps the version of each file it replaces or
// removes (or that there was none), puts its files in place, runs the
// daemon's check, and on a refusal puts every kept version back and fails
// with the checker's message: the daemon, never reloaded, keeps serving
// the previous configuration, and the next reload finds it unchanged.
// Then it reloads once, and waits until every new request meets the new
// configuration (the waits of testbed/web.sh).
//
// BeginConfig goes in a backend's Prepare; RemoveConfig deletes a file so
// that a refusal brings it back; GoLive goes in its Commit.

// liveHelpers are the shell functions behind them.
const liveHelpers = `web_old=$(mktemp -d)
trap 'orchestra_abandon; rm -rf -- "$web_old"' EXIT
web_saved=()
declare -A web_kept=()
# web_keep FILE: keeps FILE's version (or its absence), once per unit
web_keep() {
  [[ ! -v web_kept[$1] ]] || return 0
  web_kept[$1]=${#web_saved[@]}
  if [[ -f $1 && ! -L $1 ]]; then cp -p -- "$1" "$web_old/${#web_saved[@]}"; fi
  web_saved+=("$1")
}
orchestra_before_flush() { local f; for f in "$@"; do web_keep "$f"; done; }
web_remove() {
  [[ -e $1 || -L $1 ]] || return 0
  web_keep "$1"
  rm -f -- "$1"
  changed=1
}
web_rollback() {
  local i
  for i in "${!web_saved[@]}"; do
    if [[ -f $web_old/$i ]]; then mv -f -- "$web_old/$i" "${web_saved[$i]}"; else rm -f -- "${web_saved[$i]}"; fi
  done
}
# web_check CMD...: runs the daemon's check; on a refusal, takes every file
# back and fails with the checker's words
web_check() {
  local out
  if ! out=$("$@" 2>&1); then
    web_rollback
    printf '%s\n' "$out" >&2
    echo "orchestra: the configuration was refused; the previous one stays live" >&2
    return 1
  fi
}
# web_until SECONDS WHAT CMD...: waits until CMD succeeds
web_until() {
  local end=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    if ((SECONDS >= end)); then echo "orchestra: $what not live after ${end}s" >&2; return 1; fi
    sleep 0.1
  done
}
# web_renewed MASTER OLD: none of the pids OLD is a live child of MASTER
# and another is (a zombie serves no one; Apache reaps its old children and
# starts new ones at its once-a-second maintenance, and until then requests
# wait in the listening socket for the new ones)
web_renewed() {
  kill -0 "$1" 2>/dev/null || return 0
  local live
  live=$(ps --ppid "$1" -o pid=,stat= | awk '$2 !~ /^Z/ { print $1 }')
  [[ -n $live ]] && { [[ -z $2 ]] || ! grep -qxF "$2" <<<"$live"; }
}
# web_reload_workers PIDFILE CMD...: nginx -s reload, apache2 -k graceful;
# returns once the master's children are all new ones
web_reload_workers() {
  local master old
  master=$(cat -- "$1") || return 1
  shift
  old=$(pgrep -P "$master" || true)
  "$@"
  web_until 30 "the reload" web_renewed "$master" "$old"
  kill -0 "$master" 2>/dev/null || { echo "orchestra: the master process $master ended (see its error log)" >&2; return 1; }
}
web_pidfile_renewed() { ! kill -0 "$1" 2>/dev/null || [[ $(stat -c %.9Y -- "$2" 2>/dev/null) != "$3" && $(cat -- "$2" 2>/dev/null) == "$1" ]]; }
# web_reload_phpfpm PIDFILE: USR2; returns once the master wrote its pid
# file anew (its new pools listen)
web_reload_phpfpm() {
  local pid old
  pid=$(cat -- "$1") || return 1
  old=$(stat -c %.9Y -- "$1")
  kill -USR2 "$pid"
  web_until 30 "PHP-FPM's reload" web_pidfile_renewed "$pid" "$1" "$old"
  kill -0 "$pid" 2>/dev/null || { echo "orchestra: PHP-FPM ($pid) ended (see its log)" >&2; return 1; }
}`

// BeginConfig starts a unit that changes a daemon's configuration.
func BeginConfig(s *orchestration.Script) { s.Raw(liveHelpers) }

// RemoveConfig removes file, which GoLive brings back if the check fails.
func RemoveConfig(s *orchestration.Script, file string) { s.Cmd("web_remove", file) }

// GoLive, when the unit changed a file, runs check (an argv) and, if it
// passes, reload (a shell command line, built with orchestration.Quote)
// once.
func GoLive(s *orchestration.Script, check []string, reload string) {
	s.Raw(`if ((changed)); then`)
	s.Cmd(append([]string{"web_check"}, check...)...)
	s.Raw(reload)
	s.Raw(`fi`)
}
