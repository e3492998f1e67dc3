package systemusers

import (
	_ "embed"
	"strings"
)

// userDB is the program that applies a unit's users to the user database
// in one locked run (see its head).
//
//go:embed userdb.pl
var userDB string

// Mark is the comment (GECOS) of the UNIX users the panel makes, followed
// by the system user's id: a user on a server without it, or with another
// id, is not the panel's and is neither taken over nor deleted.
const Mark = "orchestra-"

// usersHelpers starts every unit of the backend (Prepare). Apply records
// each save and delete with orchestra_user_save / orchestra_user_delete;
// Commit runs orchestra_users_commit, which applies them all:
//
//  1. deletes of the panel's users (their comment names their id; one read
//     of /etc/passwd): their processes killed, their ACL entries in
//     another user's tree removed, their own base homes removed or moved;
//  2. every save and delete in the user database by one locked run of
//     userdb.pl, which also makes the own base homes;
//  3. homes in another user's tree, made as that user, one function each.
//
// A run cut short leaves each file whole (written beside and renamed):
// running the unit again completes it.
var usersHelpers = `orchestra_users=()
orchestra_users_gone=()
orchestra_users_trees=()
# orchestra_user_save ID NAME HOME OWN SHELL GROUPS HASH ACTIVE MEMBERS TREE
orchestra_user_save() {
  orchestra_users+=(S "${@:1:9}")
  [[ -z ${10} ]] || orchestra_users_trees+=("$1")
}
# orchestra_user_delete ID NAME HOME OWN TREE
orchestra_user_delete() {
  orchestra_users+=(D "$1" "$2")
  orchestra_users_gone+=("$@")
}
IFS= read -r -d '' orchestra_users_pl <<'ORCHESTRA_USERS_PL' || true
` + strings.TrimSuffix(userDB, "\n") + `
ORCHESTRA_USERS_PL
orchestra_users_commit() {
  (( ${#orchestra_users[@]} )) || return 0
  local -A uid_of=() comment_of=()
  local name x uid gid comment rest i id home own tree h stamp kill=""
  local homes=()
  while IFS=: read -r name x uid gid comment rest; do
    [[ -n $name ]] || continue
    uid_of[$name]=$uid comment_of[$name]=${comment%%,*}
  done </etc/passwd
  for ((i = 0; i < ${#orchestra_users_gone[@]}; i += 5)); do
    id=${orchestra_users_gone[i]} name=${orchestra_users_gone[i + 1]} home=${orchestra_users_gone[i + 2]}
    own=${orchestra_users_gone[i + 3]} tree=${orchestra_users_gone[i + 4]}
    [[ -v uid_of[$name] ]] || continue
    if [[ ${comment_of[$name]} != "` + Mark + `$id" ]]; then
      echo "$name: left on the server: it was not made by the panel for this system user"
      continue
    fi
    uid=${uid_of[$name]}
    if (( uid < 1000 )); then echo "refusing to delete $name: uid $uid is a system account" >&2; return 1; fi
    kill+=${kill:+,}$uid
    if [[ -n $tree ]]; then "orchestra_user_leave_$id"; fi
    if [[ -n $own && -d $home && ! -L $home ]]; then homes+=("$home"); fi
  done
  if [[ -n $kill ]]; then pkill -KILL -u "$kill" || true; fi
  if (( ${#homes[@]} )); then
    if [[ -n $move_to ]]; then
      install -d -m 0700 -- "$move_to"
      stamp=$(date +%Y%m%d%H%M%S)
      for h in "${homes[@]}"; do mv -- "$h" "$move_to/${h##*/}.$stamp"; done
    else
      rm -rf -- "${homes[@]}"
    fi
  fi
  printf '%s\0' "${orchestra_users[@]}" | perl -e "$orchestra_users_pl"
  # what the deleted users started meanwhile, by uid now
  if [[ -n $kill ]]; then pkill -KILL -u "$kill" || true; fi
  # a name cache must know the new users before anything runs as them
  if [[ -x /usr/sbin/nscd ]]; then /usr/sbin/nscd -i passwd 2>/dev/null || true; /usr/sbin/nscd -i group 2>/dev/null || true; fi
  for id in "${orchestra_users_trees[@]}"; do "orchestra_user_home_$id"; done
}`
