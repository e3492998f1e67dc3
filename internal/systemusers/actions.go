package systemusers

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// CheckArgsSyntax checks a custom action's arguments on their own: the
// fields it needs, in their forms. CheckArgs also checks where the paths
// lead.
func CheckArgsSyntax(action string, args map[string]string) error {
	var errs validate.Errors
	need := func(k string) string {
		v := args[k]
		if v == "" {
			errs.Add(k, "This field is required.")
		} else if strings.ContainsRune(v, 0) || strings.Contains(v, "\n") && k != "paths" {
			errs.Add(k, "Enter one line, without NUL characters.")
		}
		return v
	}
	abs := func(k, v string) {
		if v != "" && (!path.IsAbs(v) || path.Clean(v) != v || v == "/") {
			errs.Add(k, "Enter an absolute, clean path (no .. or //).")
		}
	}
	switch action {
	case ActionSetPermission:
		abs("path", need("path"))
		if a := args["access"]; a != "r" && a != "w" && a != "rw" {
			errs.Add("access", "Choose r, w or rw.")
		}
		if m := args["mode"]; m != "grant" && m != "revoke" {
			errs.Add("mode", "Choose grant or revoke.")
		}
	case ActionCreateLink:
		abs("target", need("target"))
		n := need("name")
		if n != "" && (path.IsAbs(n) || path.Clean(n) != n || strings.HasPrefix(n, "..") || n == ".") {
			errs.Add("name", "Enter a name inside the home, without .. or a leading /.")
		}
	case ActionCheckPaths:
		lines := strings.Split(strings.TrimSpace(need("paths")), "\n")
		if len(lines) > 100 {
			errs.Add("paths", "Check at most 100 paths at a time.")
		}
		for _, l := range lines {
			abs("paths", strings.TrimSpace(l))
		}
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	return errs.Err()
}

// CheckArgs checks a custom action's arguments for user u: the syntax, and
// that every path lies in a home of one of u's account's system users, so
// that nobody grants or links what is not theirs.
func CheckArgs(ctx context.Context, client *ent.Client, u *ent.SystemUser, action string, args map[string]string) error {
	if err := CheckArgsSyntax(action, args); err != nil {
		return err
	}
	users, err := client.SystemUser.Query().Where(systemuser.AccountID(u.AccountID)).All(viewer.System(ctx, viewer.ChannelSystem))
	if err != nil {
		return err
	}
	inside := func(p string) bool {
		for _, x := range users {
			home := x.Home
			if home == "" {
				home = baseHome(x.Username)
			}
			if p == home || strings.HasPrefix(p, home+"/") {
				return true
			}
		}
		return false
	}
	var errs validate.Errors
	check := func(field, p string) {
		p = strings.TrimSpace(p)
		if p != "" && !inside(p) {
			errs.Add(field, i18n.T(ctx, "%s is outside the homes of the account's system users.", p))
		}
	}
	switch action {
	case ActionSetPermission:
		check("path", args["path"])
	case ActionCreateLink:
		check("target", args["target"])
	case ActionCheckPaths:
		for _, l := range strings.Split(args["paths"], "\n") {
			check("paths", l)
		}
	}
	return errs.Err()
}
