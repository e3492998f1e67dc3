package orchestration

import "github.com/orchestra-panel/orchestra/internal/paths"

// Root on a customer's tree. A path a customer gave was checked as text when
// it was saved (package paths); the customer can still plant links in what
// they own. These helpers act so that no root command follows one out of
// the base the path was checked against:
//
//   - Enter changes into the place physically (cd -P pins the directory's
//     inode) and refuses it unless `pwd -P` lies in the base; commands then
//     name the target relative to it ("$orchestra_here"), so no path is
//     resolved again after the check;
//   - MkdirAs makes directories as the base's owner (orchestra_as USER
//     CMD... runs a command so): a planted link gives it nothing its own
//     rights do not;
//   - CheckPath answers whether a path exists only inside the base, as its
//     owner.
//
// Commands run on "$orchestra_here" must not follow a link named there:
// use -P / -h variants (setfacl -P, chgrp -h) or refuse it (Enter refuses a
// final link already).

// confineHelpers is shell the preamble defines for the helpers above.
const confineHelpers = `declare -A orchestra_ids=()
# orchestra_as USER CMD...: CMD with USER's ids and groups (setpriv: no PAM
# session, unlike runuser, so that a unit may do it thousands of times)
orchestra_as() {
  if [[ ! -v orchestra_ids[$1] ]]; then
    local uid gid
    uid=$(id -u -- "$1") && gid=$(id -g -- "$1") || { echo "orchestra: no user $1" >&2; return 1; }
    orchestra_ids[$1]=$uid:$gid
  fi
  setpriv --reuid="${orchestra_ids[$1]%:*}" --regid="${orchestra_ids[$1]#*:}" --init-groups -- "${@:2}"
}
orchestra_base() {
  local b
  b=$(cd -P -- "$1" 2>/dev/null && pwd -P) || { echo "orchestra: $1 is not a directory" >&2; return 1; }
  printf '%s' "$b"
}
orchestra_inside() { [[ $2 == "$1" || $2 == "$1"/* ]]; }
orchestra_enter() {
  local base dir name here
  base=$(orchestra_base "$1") || return 1
  if [[ -d $2 && ! -L $2 ]]; then dir=$2 name=.; else dir=$(dirname -- "$2") name=$(basename -- "$2"); fi
  cd -P -- "$dir" 2>/dev/null || { echo "orchestra: $2: no such directory" >&2; return 1; }
  here=$(pwd -P)
  if ! orchestra_inside "$base" "$here"; then
    cd /
    echo "orchestra: $2 leads out of $1: refused" >&2
    return 1
  fi
  if [[ $name != . && -L $name ]]; then
    cd /
    echo "orchestra: $2 is a link: refused" >&2
    return 1
  fi
  orchestra_here=$name
}
orchestra_mkdir_as() {
  orchestra_as "$1" mkdir -p -- "$3"
  orchestra_enter "$2" "$3"
  if [[ $orchestra_here != . ]]; then cd /; echo "orchestra: $3 is not a directory" >&2; return 1; fi
}
orchestra_traverse() {
  local base here cur
  base=$(orchestra_base "$2") || return 1
  (
    while here=$(pwd -P) && orchestra_inside "$base" "$here"; do
      if ! orchestra_as "$1" test -x "$here"; then
        cur=$(getfacl -cpn -- . 2>/dev/null | awk -F: -v u="$(id -u -- "$1")" '$1 == "user" && $2 == u { print $3 }')
        if [[ -n $cur ]]; then cur=${cur:0:2}x; else cur=--x; fi
        setfacl -m "u:$1:$cur" -- .
      fi
      [[ $here != "$base" ]] || break
      cd -P ..
    done
  )
}
orchestra_check_path() {
  local base r
  base=$(orchestra_base "$2") || { printf 'missing: %s\n' "$3"; return 0; }
  r=$(realpath -m -- "$3")
  if ! orchestra_inside "$base" "$r"; then printf 'outside: %s\n' "$3"
  elif orchestra_as "$1" test -e "$r"; then printf 'exists: %s\n' "$3"
  else printf 'missing: %s\n' "$3"; fi
}`

// Enter changes the script's directory into p (a directory, or the one
// holding p) after proving that it lies physically in base; the target is
// then "$orchestra_here" ("." or p's last name, never a link). Leave goes
// back to /.
func (s *Script) Enter(base paths.Base, p string) { s.Cmd("orchestra_enter", base.Path, p) }

// Leave ends what Enter began.
func (s *Script) Leave() { s.Raw("cd /") }

// MkdirAs makes directory p and its parents as base's owner, then Enters it.
func (s *Script) MkdirAs(base paths.Base, p string) {
	s.Cmd("orchestra_mkdir_as", base.Owner, base.Path, p)
}

// Traverse gives user passage (an --x ACL entry, keeping what it had)
// through every directory from the current one (after Enter) up to base
// that the user cannot pass yet.
func (s *Script) Traverse(user string, base paths.Base) {
	s.Cmd("orchestra_traverse", user, base.Path)
}

// CheckPath prints "exists: p", "missing: p" or "outside: p" (p leads out
// of base through a link): existence is tested as base's owner, so nothing
// is told that the owner could not see.
func (s *Script) CheckPath(base paths.Base, p string) {
	s.Cmd("orchestra_check_path", base.Owner, base.Path, p)
}
