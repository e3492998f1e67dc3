package validate

import (
	"context"
	"strings"

	"entgo.io/ent"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	storeent "github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Value returns a field's value as it will be after mutation m: the new
// value when m sets it, the stored one for a single-row update, so rules
// that span fields see the whole object.
func Value(ctx context.Context, m ent.Mutation, field string) (ent.Value, bool) {
	if v, ok := m.Field(field); ok {
		return v, true
	}
	if m.Op().Is(ent.OpUpdateOne) {
		if v, err := m.OldField(ctx, field); err == nil {
			return v, true
		}
	}
	return nil, false
}

// String is Value for string fields.
func String(ctx context.Context, m ent.Mutation, field string) (string, bool) {
	v, ok := Value(ctx, m, field)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// TrimFields strips surrounding white space from the listed string fields
// that m sets, as the original's clean() did.
func TrimFields(m ent.Mutation, fields ...string) {
	for _, f := range fields {
		if v, ok := m.Field(f); ok {
			if s, ok := v.(string); ok && s != strings.TrimSpace(s) {
				_ = m.SetField(f, strings.TrimSpace(s))
			}
		}
	}
}

// Owner checks the owning account of a new object: required, and existing
// (looked up past the viewer's scope, which authz has already applied).
func Owner(ctx context.Context, m ent.Mutation, errs *Errors) error {
	v, ok := m.Field("account_id")
	id, _ := v.(int)
	if !ok || id == 0 {
		errs.Add("account", i18n.T(ctx, "This field is required."))
		return nil
	}
	c, ok := m.(interface{ Client() *storeent.Client })
	if !ok {
		return nil
	}
	exists, err := c.Client().Account.Query().Where(account.ID(id)).Exist(viewer.System(ctx, viewer.ChannelSystem))
	if err != nil {
		return err
	}
	if !exists {
		errs.Add("account", i18n.T(ctx, "No account with id %d.", id))
	}
	return nil
}
