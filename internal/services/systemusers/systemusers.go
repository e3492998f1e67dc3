// Package systemusers holds UNIX users on servers: their rules, the main
// system user every account has, and the backend that applies them with
// useradd/usermod/userdel over SSH.
package systemusers

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/go-crypt/crypt/algorithm/shacrypt"

	"github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/paths"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Shells a system user can have.
const (
	ShellNone = "/dev/null" // no login shell: FTP only
	ShellSFTP = "sftp-only" // SFTP and SCP through OpenSSH's internal-sftp
	ShellBash = "/bin/bash"
)

// Settings of system users.
var (
	Shells = settings.StringList("SYSTEMUSERS_SHELLS", []string{ShellNone, ShellSFTP, ShellBash},
		"Shells system users may have: /dev/null (FTP only), sftp-only (SFTP/SCP, no shell) or a shell's path.")
	DefaultShell = settings.String("SYSTEMUSERS_DEFAULT_SHELL", ShellNone, "Shell of new system users that name none.")
	Home         = settings.String("SYSTEMUSERS_HOME", "/home/%s",
		"Base home of a system user; %s is its username.", settings.Validator(func(v any) error {
			if !strings.HasPrefix(v.(string), "/") || strings.Count(v.(string), "%s") != 1 {
				return errors.New("an absolute path with one %s")
			}
			return nil
		}))
	Reserved = settings.StringList("SYSTEMUSERS_RESERVED", []string{
		"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
		"backup", "list", "irc", "gnats", "nobody", "systemd-network", "systemd-resolve", "systemd-timesync",
		"messagebus", "sshd", "_apt", "postfix", "dovecot", "mysql", "postgres", "bind", "named", "ftp",
		"orchestra", "orchestra-sftp", "mailman", "list", "vmail", "debian", "ubuntu", "halt", "shutdown", "operator",
	}, "Names no system user may take (the servers' own accounts and groups).")
	ForbiddenPaths = settings.StringList("SYSTEMUSERS_FORBIDDEN_PATHS", nil,
		"Path globs, relative to a home, no directory or permission may point at (e.g. .ssh).")
	SFTPGroup = settings.String("SYSTEMUSERS_SFTP_GROUP", "orchestra-sftp",
		"Group of SFTP-only users; sshd_config has `Match Group <it>` with `ForceCommand internal-sftp`.")
	MoveOnDelete = settings.String("SYSTEMUSERS_MOVE_ON_DELETE_PATH", "",
		"Directory deleted users' homes are moved to; empty removes them.")
	CryptRounds = settings.Int("SYSTEMUSERS_CRYPT_ROUNDS", 100_000,
		"Rounds of the SHA-512 crypt hashes of system user passwords: each login on a server costs as many.",
		settings.Validator(func(v any) error {
			if n := v.(int); n < 1000 || n > 999_999_999 {
				return errors.New("between 1000 and 999999999")
			}
			return nil
		}))
	DefaultGroupMembers = settings.StringList("SYSTEMUSERS_DEFAULT_GROUP_MEMBERS", []string{"www-data"},
		"Users added to every system user's group (the web server reads its files).")
)

// nameRe is what useradd takes, less a leading digit (a name that could
// be read as a uid).
var nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// hashRe is a SHA-512 crypt hash as crypt(3) writes it: the backend pipes
// "user:hash" lines into chpasswd -e, where a newline in a hash would set
// another user's password and a colon would shift the fields of
// /etc/shadow.
var hashRe = regexp.MustCompile(`^\$6\$(rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$`)

// passwdPathProblem is what /etc/passwd refuses in a home that paths
// accepts: useradd refuses a colon, its field separator.
func passwdPathProblem(ctx context.Context, p string) string {
	if strings.Contains(p, ":") {
		return i18n.T(ctx, "A home cannot contain a colon (:), the field separator of /etc/passwd.")
	}
	return ""
}

// HashPassword returns the SHA-512 crypt hash ($6$) useradd and chpasswd -e
// take: the server never sees the clear text.
func HashPassword(pw string) (string, error) {
	h, err := shacrypt.New(shacrypt.WithVariant(shacrypt.VariantSHA512), shacrypt.WithIterations(CryptRounds.Get()))
	if err != nil {
		return "", err
	}
	d, err := h.Hash(pw)
	if err != nil {
		return "", err
	}
	return d.Encode(), nil
}

func init() {
	store.RegisterHook("SystemUser", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.SystemUserFunc(func(ctx context.Context, m *ent.SystemUserMutation) (ent.Value, error) {
			if err := Validate(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("SystemUser", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.SystemUserFunc(func(ctx context.Context, m *ent.SystemUserMutation) (ent.Value, error) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			// in the viewer's scope: another account's main user must answer
			// as a missing one does (404), not tell that it exists
			main, err := m.Client().SystemUser.Query().Where(systemuser.IDIn(ids...), systemuser.IsMain(true)).Exist(ctx)
			if err != nil {
				return nil, err
			}
			if main {
				return nil, &validate.Conflict{Field: "id", Message: i18n.T(ctx,
					"The main system user goes with its account: delete the account instead.")}
			}
			if err := checkHomeInUse(ctx, m.Client(), ids); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	// an account gets its main system user, named as the account
	store.RegisterHook("Account", ent.OpCreate, func(next ent.Mutator) ent.Mutator {
		return hook.AccountFunc(func(ctx context.Context, m *ent.AccountMutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			a := v.(*ent.Account)
			if slices.Contains(Reserved.Get(), a.Username) {
				return v, nil // staff named like a server account (root) get no UNIX user
			}
			c := m.Client().SystemUser.Create().SetUsername(a.Username).SetAccountID(a.ID).SetIsMain(true).
				SetShell(DefaultShell.Get())
			if pw, ok := accounts.ClearPassword(ctx); ok && pw != "" {
				hash, err := HashPassword(pw)
				if err != nil {
					return nil, err
				}
				c.SetPassword(hash)
			}
			if err := c.Exec(viewer.System(ctx, viewer.ChannelSystem)); err != nil {
				var errs validate.Errors
				if errors.As(err, &errs) {
					// the account's name is not a valid system user name
					return nil, fieldErr("username", errs[0].Message)
				}
				var conflict *validate.Conflict
				if errors.As(err, &conflict) {
					return nil, &validate.Conflict{Field: "username", Message: conflict.Message}
				}
				return nil, err
			}
			return v, nil
		})
	})
}

func fieldErr(field, msg string) error {
	var errs validate.Errors
	errs.Add(field, msg)
	return errs.Err()
}

// Validate applies the system user rules to m.
func Validate(ctx context.Context, m *ent.SystemUserMutation) error {
	// paths are kept as typed: a stray newline is refused, not trimmed away
	validate.TrimFields(m, "username", "shell")
	if m.Op().Is(ent.OpCreate) {
		if s, _ := m.Shell(); s == "" {
			m.SetShell(DefaultShell.Get())
		}
	}
	var errs validate.Errors
	errs.Check(ctx, m, "username", func(s string) string {
		switch {
		case s == "":
			return i18n.T(ctx, "This field is required.")
		case len(s) > 32:
			return i18n.T(ctx, "A system user name has at most 32 characters.")
		case !nameRe.MatchString(s):
			return i18n.T(ctx, "Enter a valid name: letters, digits, . - and _, starting with a letter or _.")
		case slices.Contains(Reserved.Get(), s):
			return i18n.T(ctx, "%s is reserved for the servers' own use.", s)
		}
		return ""
	})
	errs.Check(ctx, m, "shell", func(s string) string {
		if !slices.Contains(Shells.Get(), s) {
			return i18n.T(ctx, "Select a valid choice: %q is not one of %s.", s, strings.Join(Shells.Get(), ", "))
		}
		return ""
	})
	errs.Check(ctx, m, "password", func(s string) string {
		if s != "" && !hashRe.MatchString(s) {
			return i18n.T(ctx, "The password is stored as a SHA-512 crypt hash.")
		}
		return ""
	})
	errs.Check(ctx, m, "home", func(s string) string {
		if s == "" {
			return ""
		}
		if msg := paths.AbsProblem(ctx, s); msg != "" {
			return msg
		}
		return passwdPathProblem(ctx, s)
	})
	errs.Check(ctx, m, "directory", func(s string) string {
		if s == "" {
			return ""
		}
		if msg := paths.RelProblem(ctx, s); msg != "" {
			return msg
		}
		if msg := passwdPathProblem(ctx, s); msg != "" {
			return msg
		}
		for _, g := range ForbiddenPaths.Get() {
			if ok, _ := path.Match(g, s); ok {
				return i18n.T(ctx, "%s is a forbidden path.", s)
			}
		}
		return ""
	})
	if err := errs.Err(); err != nil {
		return err
	}
	shell, _ := validate.String(ctx, m, "shell")
	home, _ := validate.String(ctx, m, "home")
	dir, _ := validate.String(ctx, m, "directory")
	main := false
	if v, ok := validate.Value(ctx, m, "is_main"); ok {
		main, _ = v.(bool)
	}
	if (shell == ShellBash || main) && (home != "" || dir != "") {
		errs.Add("home", i18n.T(ctx, "A main or shell user lives in its own home: leave home and directory empty."))
	}
	if err := checkPlaces(ctx, m, home, &errs); err != nil {
		return err
	}
	if name, ok := m.Username(); ok && m.Op().Is(ent.OpUpdateOne) {
		if old, err := m.OldUsername(ctx); err == nil && old != name {
			errs.Add("username", i18n.T(ctx, "A system user cannot be renamed: add a new one."))
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if name, ok := m.Username(); ok && m.Op().Is(ent.OpCreate) {
		taken, err := m.Client().SystemUser.Query().Where(systemuser.Username(name)).Exist(viewer.System(ctx, viewer.ChannelSystem))
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "username", Message: i18n.T(ctx, "A system user named %s exists.", name)}
		}
	}
	return nil
}

// PasswordProblem checks a clear password for a system user.
func PasswordProblem(ctx context.Context, pw, username string) string {
	if msg := auth.PasswordProblem(pw, username); msg != "" {
		return i18n.T(ctx, "The password %s.", i18n.T(ctx, msg))
	}
	return ""
}

// baseHome is a user's own home.
func baseHome(username string) string { return fmt.Sprintf(Home.Get(), username) }
