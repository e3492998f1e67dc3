package systemusers

import (
	"context"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// UserOwned is the mutation of an object that belongs to one system user
// (an SSH key, a cron job): ent generates these methods for a model with
// account_id and system_user_id fields.
type UserOwned interface {
	Op() ent.Op
	Client() *ent.Client
	SystemUserID() (int, bool)
	AccountID() (int, bool)
	SetAccountID(int)
}

// Adopt checks the system user of m: a new object's must be one the viewer
// sees (a customer's own) and of the account given, if one is, and the
// object takes that account; an object never moves to another user. It
// returns the new object's user.
func Adopt(ctx context.Context, m UserOwned) (*ent.SystemUser, error) {
	id, set := m.SystemUserID()
	if !m.Op().Is(ent.OpCreate) {
		if set {
			return nil, validate.Fail("system_user", i18n.T(ctx, "It cannot move to another system user."))
		}
		return nil, nil
	}
	u, err := m.Client().SystemUser.Query().Where(systemuser.ID(id)).Only(ctx)
	if acc, given := m.AccountID(); ent.IsNotFound(err) || err == nil && given && acc != u.AccountID {
		return nil, validate.Fail("system_user", i18n.T(ctx, "No system user with id %d.", id))
	} else if err != nil {
		return nil, err
	}
	m.SetAccountID(u.AccountID)
	return u, nil
}
