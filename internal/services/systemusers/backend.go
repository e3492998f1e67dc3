package systemusers

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/paths"
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
	groups []string // the groups it is in: other system users' (a main user: all of its account's)
	main   string   // the account's main user, for a user that is not it
	// bases the account owns, for a user living in another's home and for
	// custom actions: paths are checked against them on the server
	bases []paths.Base
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
			if u.IsMain {
				// the main user is in the group of each of the account's
				// users (they add it): saving it keeps it there
				others, err := tx.SystemUser.Query().Where(systemuser.AccountID(u.AccountID), systemuser.IDNEQ(u.ID)).
					Select(systemuser.FieldUsername).Strings(ctx)
				if err != nil {
					return err
				}
				l.groups = append(l.groups, others...)
			} else {
				main, err := tx.SystemUser.Query().Where(systemuser.AccountID(u.AccountID), systemuser.IsMain(true)).Only(ctx)
				if err != nil && !ent.IsNotFound(err) {
					return err
				}
				if main != nil {
					l.main = main.Username
				}
			}
			if u.Home != "" || o.Args != nil {
				if l.bases, err = paths.Owned(ctx, tx.Client(), u.AccountID); err != nil {
					return err
				}
			}
			o.Extra = l
			return nil
		},
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("sftp_group", srv.Setting("SYSTEMUSERS_SFTP_GROUP", SFTPGroup.Get()))
			s.Raw(`getent group "$sftp_group" >/dev/null || groupadd --system "$sftp_group"`)
			s.Var("move_to", srv.Setting("SYSTEMUSERS_MOVE_ON_DELETE_PATH", MoveOnDelete.Get()))
			s.Raw(usersHelpers)
		},
		Check:  check,
		Apply:  apply,
		Commit: func(s *orchestration.Script, srv orchestration.Server) { s.Raw("orchestra_users_commit") },
	})
}

// homeOf is where a user lives: its base home, or a directory of another
// user's base home (a web app's user inside the main user's), and the base
// that holds it. The rules made sure, as text, that the home is one of the
// account's bases.
func homeOf(o orchestration.Object, bases []paths.Base) (home string, base paths.Base, own bool) {
	if o.String("home") == "" {
		own := baseHome(o.String("username"))
		return own, paths.Base{Path: own, Owner: o.String("username")}, true
	}
	home = path.Join(o.String("home"), o.String("directory"))
	base, _ = paths.Within(bases, o.String("home"))
	return home, base, false
}

func apply(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	switch action {
	case orchestration.ActionSave:
		return applySave(s, srv, o)
	case orchestration.ActionDelete:
		applyDelete(s, o)
		return nil
	}
	l, _ := o.Extra.(loaded)
	home, _, _ := homeOf(o, l.bases)
	s.Var("user", o.String("username"))
	s.Var("home", home)
	return applyCustom(s, action, o, l.bases, home)
}

// applySave records the user for the unit's batch (see usersHelpers). A
// home in another user's tree is made after the batch, when the user
// exists: its commands go into a function the batch calls.
func applySave(s *orchestration.Script, srv orchestration.Server, o orchestration.Object) error {
	l, _ := o.Extra.(loaded)
	home, base, own := homeOf(o, l.bases)
	name, id := o.String("username"), strconv.Itoa(o.ID)
	if !own && base.Path == "" {
		return fmt.Errorf("%s: the home %s is no longer the home of one of the account's system users", name, o.String("home"))
	}
	shell, groups := o.String("shell"), l.groups
	switch shell {
	case ShellSFTP:
		shell = "/usr/sbin/nologin" // sshd runs internal-sftp for the group, never the shell
		groups = append(groups, srv.Setting("SYSTEMUSERS_SFTP_GROUP", SFTPGroup.Get()))
	case ShellNone:
		shell = "/dev/null"
	}
	// the web server, and the account's main user, read the user's files
	members := srv.SettingList("SYSTEMUSERS_DEFAULT_GROUP_MEMBERS", DefaultGroupMembers.Get())
	if l.main != "" {
		members = append(members, l.main)
	}
	tree := ""
	if !own {
		// made as the owner of the tree, then the user gets rwx on it (and
		// on what is made in it) and passage down to it by ACL entries,
		// set on the directories reached without following links
		s.Raw("orchestra_user_home_" + id + "() {")
		s.Var("user", name)
		s.MkdirAs(base, home)
		s.Var("owner", base.Owner)
		s.Raw(`setfacl -P -m "u:$user:rwx,d:u:$user:rwx,d:u:$owner:rwx" -- .`)
		s.Traverse(name, base)
		s.Leave()
		s.Raw("}")
		tree = "1"
	}
	// an empty hash is no password login (*); an inactive user's is locked
	s.Cmd("orchestra_user_save", id, name, home, flag(own), shell, strings.Join(groups, " "),
		s.Secret(o.String("password")), flag(l.active), strings.Join(members, " "), tree)
	return nil
}

// applyDelete records the deletion for the unit's batch. Only the user's
// own base home is removed: a home in another user's tree is that user's
// data, where the deleted user only loses its ACL entries. A delete has no
// Load: the snapshot's home is the base the directory lay in (the rules
// made it one of the account's base homes), and Enter checks that the
// directory is physically inside it.
func applyDelete(s *orchestration.Script, o orchestration.Object) {
	name, id := o.String("username"), strconv.Itoa(o.ID)
	home, own, tree := baseHome(name), o.String("home") == "", ""
	if !own {
		home = path.Join(o.String("home"), o.String("directory"))
		s.Raw("orchestra_user_leave_" + id + "() {")
		s.Var("user", name)
		s.Var("home", home)
		s.Var("base", o.String("home"))
		// best effort: a link planted there since must not stop the deletion
		s.Raw(`if [[ -d $home ]]; then (orchestra_enter "$base" "$home" && setfacl -R -P -x "u:$user,d:u:$user" -- .) 2>/dev/null || true; fi`)
		s.Raw("}")
		tree = "1"
	}
	s.Cmd("orchestra_user_delete", id, name, home, flag(own), tree)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return ""
}

// applyCustom writes a custom action. Its arguments were checked when it
// was asked for (check); the paths are checked again against the bases as
// they are now, and arrive as quoted words only.
func applyCustom(s *orchestration.Script, action string, o orchestration.Object, bases []paths.Base, home string) error {
	args := o.Args
	within := func(p string) (paths.Base, error) {
		b, ok := paths.Within(bases, p)
		if !ok || paths.AbsProblem(context.Background(), p) != "" {
			return b, fmt.Errorf("%s is not inside the homes of the account's system users", p)
		}
		return b, nil
	}
	switch action {
	case ActionSetPermission:
		base, err := within(args["path"])
		if err != nil {
			return err
		}
		perms, ok := map[string]string{"r": "rX", "w": "wX", "rw": "rwX"}[args["access"]]
		if !ok {
			return fmt.Errorf("access %q is not r, w or rw", args["access"])
		}
		s.Var("perms", perms)
		s.Enter(base, args["path"])
		switch args["mode"] {
		case "revoke":
			s.Raw(`setfacl -R -P -x "u:$user,d:u:$user" -- "$orchestra_here" 2>/dev/null || true`)
		case "grant":
			// the user must be able to walk down to the path: --x on the
			// directories of the base above it that it cannot yet enter
			s.Traverse(o.String("username"), base)
			s.Raw(`setfacl -R -P -m "u:$user:$perms,d:u:$user:$perms" -- "$orchestra_here"`)
		default:
			return fmt.Errorf("mode %q is not grant or revoke", args["mode"])
		}
		s.Leave()
	case ActionCreateLink:
		if _, err := within(args["target"]); err != nil {
			return err
		}
		if msg := paths.NameProblem(context.Background(), args["name"]); msg != "" {
			return fmt.Errorf("link name %q: %s", args["name"], msg)
		}
		s.Var("target", args["target"])
		s.Var("name", args["name"])
		// all of it as the user: a link is only text, and the user's home
		// may lie in another user's tree
		s.Raw(`runuser -u "$user" -- bash -c 'if [[ -e $2/$3 || -L $2/$3 ]]; then echo "$3 exists: left as it is"; else ln -s -- "$1" "$2/$3"; fi' link "$target" "$home" "$name"`)
	case ActionCheckPaths:
		for _, p := range strings.Split(args["paths"], "\n") {
			if p == "" {
				continue
			}
			base, err := within(p)
			if err != nil {
				return err
			}
			s.CheckPath(base, p)
		}
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	return nil
}
