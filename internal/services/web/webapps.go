package web

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/kinds"
	"github.com/orchestra-panel/orchestra/internal/paths"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/webapp"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// The rules of web apps, for every write path:
//   - a name is the original's validate_name (lower-case letters, digits,
//     . _ -), starting with a letter or a digit: it is a folder's name; it
//     is unique per account and never changes, nor does the type;
//   - the settings are the type's (AppTypes), checked whole and stored
//     whole, defaults filled in; an update's settings are laid over the
//     stored ones;
//   - a WordPress app makes its database and user (wordpress.go), and
//     nothing else sets them;
//   - a symbolic link's target lies in one of the account's homes (the
//     path mechanism, internal/paths) and is kept once the app is made.

func init() {
	store.RegisterHook("WebApp", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.WebAppFunc(func(ctx context.Context, m *ent.WebAppMutation) (ent.Value, error) {
			if err := checkWebApp(ctx, m); err != nil {
				return nil, err
			}
			if t, _ := m.GetType(); t == AppWordPress && m.Op().Is(ent.OpCreate) {
				if err := provisionDatabase(ctx, m); err != nil {
					return nil, err
				}
			}
			return next.Mutate(ctx, m)
		})
	})
}

func sys(ctx context.Context) context.Context { return viewer.System(ctx, viewer.ChannelSystem) }

// nameRe is the original's validate_name, less a leading . or -: names of
// web apps and websites become names of folders and files on servers.
var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// nameRule checks the name of a web app or website.
func nameRule(ctx context.Context) func(string) string {
	return func(s string) string {
		switch {
		case s == "":
			return i18n.T(ctx, "This field is required.")
		case len(s) > 128:
			return i18n.T(ctx, "Ensure this value has at most %d characters.", 128)
		case !nameRe.MatchString(s):
			return i18n.T(ctx, "Enter a name of lower-case letters, digits and . _ - only, starting with a letter or a digit.")
		}
		return ""
	}
}

// kept refuses a single-row update that changes field (its JSON name is
// name) with msg.
func kept(ctx context.Context, m ent.Mutation, errs *validate.Errors, field, name, msg string) {
	if !m.Op().Is(ent.OpUpdateOne) {
		return
	}
	if v, ok := m.Field(field); ok {
		if old, err := m.OldField(ctx, field); err == nil && old != v {
			errs.Add(name, msg)
		}
	}
}

// oneAtATime refuses a bulk update that sets fields: each row needs its
// own checks.
func oneAtATime(ctx context.Context, m ent.Mutation, what string) error {
	if !m.Op().Is(ent.OpUpdate) {
		return nil
	}
	var errs validate.Errors
	for _, f := range m.Fields() {
		if f != "updated_at" && f != "version" {
			errs.Add(strings.TrimSuffix(f, "_id"), i18n.T(ctx, "Change %s one at a time.", i18n.T(ctx, what)))
		}
	}
	return errs.Err()
}

func checkWebApp(ctx context.Context, m *ent.WebAppMutation) error {
	if err := oneAtATime(ctx, m, "web apps"); err != nil || m.Op().Is(ent.OpUpdate) {
		return err
	}
	validate.TrimFields(m, "name", "type")
	var errs validate.Errors
	errs.Check(ctx, m, "name", nameRule(ctx))
	kept(ctx, m, &errs, "name", "name", i18n.T(ctx, "A web app keeps its name: it is its folder. Add a new one instead."))
	kept(ctx, m, &errs, "type", "type", i18n.T(ctx, "A web app keeps its type. Add a new one instead."))
	kept(ctx, m, &errs, "account_id", "account", i18n.T(ctx, "A web app cannot move to another account."))
	for _, f := range []string{"database_id", "database_user_id", "database_password"} {
		if v, ok := m.Field(f); ok && v != "" { // "": the password's default
			errs.Add(strings.TrimSuffix(f, "_id"), i18n.T(ctx, "A WordPress app makes its own database and user."))
		}
	}
	typ, _ := validate.String(ctx, m, "type")
	var old map[string]any
	if m.Op().Is(ent.OpUpdateOne) {
		old, _ = m.OldSettings(ctx)
	}
	sent, sentOK := m.Settings()
	if typ == "" {
		errs.Add("type", i18n.T(ctx, "Choose one of: %s.", strings.Join(AppTypes.Enabled(), ", ")))
	} else if sentOK || m.Op().Is(ent.OpCreate) {
		raw := maps.Clone(old)
		if raw == nil {
			raw = map[string]any{}
		}
		maps.Copy(raw, sent)
		stored, v, err := decode(ctx, AppTypes, typ, raw, &errs)
		if err != nil {
			return err
		}
		if stored != nil {
			m.SetSettings(stored)
			if link, ok := v.(*LinkSettings); ok {
				if err := checkTarget(ctx, m, link.Target, old, &errs); err != nil {
					return err
				}
			}
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if m.Op().Is(ent.OpCreate) {
		name, _ := m.Name()
		acc, _ := m.AccountID()
		taken, err := m.Client().WebApp.Query().Where(webapp.Name(name), webapp.AccountID(acc)).Exist(sys(ctx))
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "name", Message: i18n.T(ctx, "The account has a web app named %s already.", name)}
		}
	}
	return nil
}

// checkTarget checks a symbolic link's target: in one of the account's
// homes, and kept once the app is made.
func checkTarget(ctx context.Context, m *ent.WebAppMutation, target string, old map[string]any, errs *validate.Errors) error {
	if old != nil {
		if was, _ := old["target"].(string); was != target {
			errs.Add("settings.target", i18n.T(ctx, "A link keeps its target. Add a new web app instead."))
		}
		return nil
	}
	acc, ok := m.AccountID()
	if !ok || acc == 0 {
		return nil // the owner's check names it
	}
	bases, err := paths.Owned(ctx, m.Client(), acc)
	if err != nil {
		return err
	}
	if _, in := paths.Within(bases, target); !in {
		var homes []string
		for _, b := range bases {
			homes = append(homes, b.Path)
		}
		errs.Add("settings.target", i18n.T(ctx, "Choose a folder inside one of the account's homes (%s).", strings.Join(homes, ", ")))
	}
	return nil
}

// Directory is the folder of app name of the account whose main system
// user is username (WEBAPPS_BASE_DIR).
func Directory(username, name string) string {
	home := fmt.Sprintf(systemusers.Home.Get(), username)
	return strings.NewReplacer("%(home)s", home, "%(app_name)s", name).Replace(BaseDir.Get())
}

// accountName is the username of account id, the name of its main system
// user.
func accountName(ctx context.Context, client *ent.Client, id int) (string, error) {
	return client.Account.Query().Where(account.ID(id)).Select(account.FieldUsername).String(sys(ctx))
}

// AppSettings returns the typed settings of a (S is the kind's settings).
func AppSettings[S any](a *ent.WebApp) (*S, error) {
	return kinds.Value[S](AppTypes, a.Type, a.Settings)
}
