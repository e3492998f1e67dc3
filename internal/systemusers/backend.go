package systemusers

import (
	"context"
	"path"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
)

// Backend is the name of the UNIX user backend, stored in routes and logs.
const Backend = "unix-user"

// Custom actions of the backend; their arguments are checked by Action.
const (
	ActionSetPermission = "set_permission" // args: path, access (r, w, rw), mode (grant, revoke)
	ActionCreateLink    = "create_link"    // args: target, name
	ActionCheckPaths    = "check_paths"    // args: paths (one per line)
)

// loaded is what Apply needs beyond the user's row.
type loaded struct {
	active bool     // the user and its account are active
	groups []string // names of the groups it is in (other system users')
	main   string   // the account's main user, for a user that is not it
}

func init() {
	orchestration.Register(&orchestration.Backend{
		Name: Backend, Verbose: "UNIX user", Model: "SystemUser", DefaultMatch: "true",
		Actions: []string{orchestration.ActionSave, orchestration.ActionDelete, ActionSetPermission, ActionCreateLink, ActionCheckPaths},
		// an account's activation locks or unlocks all its users
		// (its creation makes the main user, its deletion cascades)
		Related: []orchestration.Related{{Model: "Account", Fields: []string{"is_active"},
			Resolve: func(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
				return tx.SystemUser.Query().Where(systemuser.AccountID(o.ID)).IDs(ctx)
			}}},
		Load: func(ctx context.Context, tx *ent.Tx, o *orchestration.Object) error {
			u, err := tx.SystemUser.Query().Where(systemuser.ID(o.ID)).WithAccount().WithGroups().Only(ctx)
			if err != nil {
				return err
			}
			l := loaded{active: u.IsActive && u.Edges.Account.IsActive}
			for _, g := range u.Edges.Groups {
				l.groups = append(l.groups, g.Username)
			}
			if !u.IsMain {
				main, err := tx.SystemUser.Query().Where(systemuser.AccountID(u.AccountID), systemuser.IsMain(true)).Only(ctx)
				if err != nil && !ent.IsNotFound(err) {
					return err
				}
				if main != nil {
					l.main = main.Username
				}
			}
			o.Extra = l
			return nil
		},
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("sftp_group", srv.Setting("SYSTEMUSERS_SFTP_GROUP", SFTPGroup.Get()))
			s.Raw(`getent group "$sftp_group" >/dev/null || groupadd --system "$sftp_group"`)
		},
		Apply: apply,
	})
}

// homeOf is where a user lives: its base home, or a directory of another
// home (a web app's user inside the main user's).
func homeOf(o orchestration.Object) string {
	home := o.String("home")
	if home == "" {
		home = baseHome(o.String("username"))
	}
	return path.Join(home, o.String("directory"))
}

func apply(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	s.Var("user", o.String("username"))
	s.Var("home", homeOf(o))
	switch action {
	case ActionSetPermission, ActionCreateLink, ActionCheckPaths:
		return applyCustom(s, action, o.Args)
	}
	if action == orchestration.ActionDelete {
		s.Var("move_to", srv.Setting("SYSTEMUSERS_MOVE_ON_DELETE_PATH", MoveOnDelete.Get()))
		s.Raw(`if id -u -- "$user" >/dev/null 2>&1; then
  uid=$(id -u -- "$user")
  if (( uid < 1000 )); then echo "refusing to delete $user: uid $uid is a system account" >&2; exit 1; fi
  pkill -KILL -u "$uid" || true
  userdel -- "$user"
  if [[ -d $home ]]; then
    if [[ -n $move_to ]]; then install -d -m 0700 -- "$move_to" && mv -- "$home" "$move_to/${home##*/}.$(date +%Y%m%d%H%M%S)"; else rm -rf -- "$home"; fi
  fi
fi`)
		return nil
	}
	l, _ := o.Extra.(loaded)
	shell, groups := o.String("shell"), l.groups
	switch shell {
	case ShellSFTP:
		shell = "/usr/sbin/nologin" // sshd runs internal-sftp for the group, never the shell
		groups = append(groups, srv.Setting("SYSTEMUSERS_SFTP_GROUP", SFTPGroup.Get()))
	case ShellNone:
		shell = "/dev/null"
	}
	hash := o.String("password")
	if hash == "" {
		hash = "*" // no password login
	}
	if !l.active {
		hash = "!" + hash // locked; the expiry date below also stops key logins
	}
	s.Var("shell", shell)
	s.Var("groups", strings.Join(groups, " "))
	s.Var("hash", hash)
	s.Var("active", map[bool]string{true: "1", false: ""}[l.active])
	s.Var("own_home", map[bool]string{true: "1", false: ""}[o.String("home") == "" && o.String("directory") == ""])
	// the web server, and the account's main user, read the user's files
	members := srv.SettingList("SYSTEMUSERS_DEFAULT_GROUP_MEMBERS", DefaultGroupMembers.Get())
	if l.main != "" {
		members = append(members, l.main)
	}
	s.Var("group_members", strings.Join(members, " "))
	s.Raw(`member_of=""
for g in $groups; do getent group "$g" >/dev/null && member_of+="${member_of:+,}$g"; done
if id -u -- "$user" >/dev/null 2>&1; then
  usermod --home "$home" --shell "$shell" --groups "$member_of" "$user"
else
  useradd --home-dir "$home" --shell "$shell" --groups "$member_of" --user-group "$user"
fi
printf '%s:%s\n' "$user" "$hash" | chpasswd -e
if [[ -n $active ]]; then usermod --expiredate '' "$user"; else usermod --expiredate 1 "$user"; fi
if [[ -n $own_home ]]; then
  install -d -m 0750 -o "$user" -g "$user" -- "$home"
else
  install -d -m 0770 -- "$home" && chgrp -- "$user" "$home"
fi
for m in $group_members; do id -u -- "$m" >/dev/null 2>&1 && usermod --append --groups "$user" "$m"; done
true`)
	return nil
}

// applyCustom writes a custom action; its arguments were checked when it
// was asked for (CheckArgs) and arrive as shell variables only.
func applyCustom(s *orchestration.Script, action string, args map[string]string) error {
	if err := CheckArgsSyntax(action, args); err != nil {
		return err
	}
	switch action {
	case ActionSetPermission:
		perms := map[string]string{"r": "rX", "w": "wX", "rw": "rwX"}[args["access"]]
		s.Var("target", args["path"])
		s.Var("perms", perms)
		if args["mode"] == "revoke" {
			s.Raw(`setfacl -R -x "u:$user" -- "$target" 2>/dev/null || true
find "$target" -type d -exec setfacl -x "d:u:$user" {} + 2>/dev/null || true`)
			return nil
		}
		// the user must be able to walk down to the path: --x on the
		// directories above it it cannot yet enter, keeping other entries
		s.Raw(`d=$(dirname -- "$target")
while [[ $d != / ]]; do
  runuser -u "$user" -- test -x "$d" || setfacl -m "u:$user:--x" -- "$d"
  d=$(dirname -- "$d")
done
setfacl -R -m "u:$user:$perms" -- "$target"
find "$target" -type d -exec setfacl -m "d:u:$user:$perms" {} +`)
	case ActionCreateLink:
		s.Var("target", args["target"])
		s.Var("name", args["name"])
		s.Raw(`if [[ -e $home/$name || -L $home/$name ]]; then
  echo "$home/$name exists: left as it is"
else
  runuser -u "$user" -- ln -s -- "$target" "$home/$name"
fi`)
	case ActionCheckPaths:
		s.Var("paths", args["paths"])
		s.Raw(`while IFS= read -r p; do
  [[ -n $p ]] || continue
  if [[ -e $p ]]; then printf 'exists: %s\n' "$p"; else printf 'missing: %s\n' "$p"; fi
done <<<"$paths"`)
	}
	return nil
}
