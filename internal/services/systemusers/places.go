package systemusers

import (
	"context"
	"slices"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/paths"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

func init() { paths.Register("systemusers", homes) }

// homes are the base homes of an account's system users, each owned by its
// user: what the account's homes, grants and links may point at.
func homes(ctx context.Context, client *ent.Client, account int) ([]paths.Base, error) {
	names, err := client.SystemUser.Query().Where(systemuser.AccountID(account)).
		Select(systemuser.FieldUsername).Strings(viewer.System(ctx, viewer.ChannelSystem))
	if err != nil {
		return nil, err
	}
	out := make([]paths.Base, len(names))
	for i, n := range names {
		out[i] = paths.Base{Path: baseHome(n), Owner: n}
	}
	return out, nil
}

// checkPlaces checks what a user points at in its account, whoever writes
// it: its home is empty or the base home of one of the account's users (the
// user then lives in that user's tree, in its directory), and its groups
// are those of other users of the account. Another account's user and a
// missing one get the same answer.
func checkPlaces(ctx context.Context, m *ent.SystemUserMutation, home string, errs *validate.Errors) error {
	_, homeSet := m.Home()
	groups := m.GroupsIDs()
	if (!homeSet || home == "") && len(groups) == 0 {
		return nil
	}
	if m.Op().Is(ent.OpUpdate) {
		// rows of several accounts: each needs its own answer
		if homeSet && home != "" {
			errs.Add("home", i18n.T(ctx, "Change the home of one system user at a time."))
		}
		if len(groups) > 0 {
			errs.Add("groups", i18n.T(ctx, "Change the groups of one system user at a time."))
		}
		return nil
	}
	v, ok := validate.Value(ctx, m, "account_id")
	account, _ := v.(int)
	if !ok || account == 0 {
		return nil // the account's own check names it
	}
	sys := viewer.System(ctx, viewer.ChannelSystem)
	if homeSet && home != "" {
		name, _ := validate.String(ctx, m, "username")
		bases, err := homes(ctx, m.Client(), account)
		if err != nil {
			return err
		}
		if home != baseHome(name) && !slices.ContainsFunc(bases, func(b paths.Base) bool { return b.Path == home }) {
			errs.Add("home", i18n.T(ctx,
				"Choose the home of one of the account's system users (such as %s), or leave it empty for the user's own.",
				baseHome(name)))
		}
	}
	if len(groups) > 0 {
		self, _ := m.ID()
		ids := slices.Compact(slices.Sorted(slices.Values(groups)))
		n, err := m.Client().SystemUser.Query().Where(systemuser.IDIn(ids...), systemuser.AccountID(account),
			systemuser.IDNEQ(self)).Count(sys)
		if err != nil {
			return err
		}
		if n != len(ids) {
			errs.Add("groups", i18n.T(ctx, "A system user joins the groups of other system users of its own account."))
		}
	}
	return nil
}

// checkHomeInUse refuses to delete users whose base home other users live
// in (their home would point at nothing), unless those go too.
func checkHomeInUse(ctx context.Context, client *ent.Client, ids []int) error {
	// the viewer's own users only: another account's is not found later
	doomed, err := client.SystemUser.Query().Where(systemuser.IDIn(ids...)).All(ctx)
	if err != nil {
		return err
	}
	var bases []string
	for _, u := range doomed {
		bases = append(bases, baseHome(u.Username))
	}
	if len(bases) == 0 {
		return nil
	}
	tenants, err := client.SystemUser.Query().Where(systemuser.HomeIn(bases...), systemuser.IDNotIn(ids...)).
		Select(systemuser.FieldUsername).Strings(viewer.System(ctx, viewer.ChannelSystem))
	if err != nil || len(tenants) == 0 {
		return err
	}
	return &validate.Conflict{Field: "id", Message: i18n.T(ctx,
		"Other system users live in this user's home (%s): change their home first.", strings.Join(tenants, ", "))}
}
