// Package accounts holds the rules of accounts: their settings and the
// validation every create and update passes, whatever path it comes from.
package accounts

import (
	"context"
	"slices"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Settings of accounts.
var (
	Types = settings.StringList("ACCOUNTS_TYPES",
		[]string{"INDIVIDUAL", "ASSOCIATION", "CUSTOMER", "COMPANY", "PUBLICBODY", "STAFF", "FRIEND"},
		"Account types staff can choose from.", settings.Validator(nonEmptyList))
	DefaultType = settings.String("ACCOUNTS_DEFAULT_TYPE", "INDIVIDUAL",
		"Type given to new accounts that do not name one; one of ACCOUNTS_TYPES.", settings.Validator(oneOf(&Types)))
	Languages = settings.StringList("ACCOUNTS_LANGUAGES", []string{"EN", "ES", "CA"},
		"Languages (ISO 639-1, upper case) accounts can choose for the panel and e-mails.", settings.Validator(nonEmptyList))
	DefaultLanguage = settings.String("ACCOUNTS_DEFAULT_LANGUAGE", "EN",
		"Language given to new accounts that do not name one; one of ACCOUNTS_LANGUAGES.", settings.Validator(oneOf(&Languages)))
	MainAccountID = settings.Int("ACCOUNTS_MAIN_PK", 1,
		"ID of the main account, owner of shared resources; it can never be deleted.")
)

// oneOf checks a default against the list setting it must belong to.
func oneOf(list *settings.Handle[[]string]) func(any) error {
	return func(v any) error {
		if s, _ := v.(string); !slices.Contains(list.Get(), s) {
			return constErr("must be one of " + strings.Join(list.Get(), ", "))
		}
		return nil
	}
}

func nonEmptyList(v any) error {
	if l, ok := v.([]string); ok && len(l) == 0 {
		return errEmptyList
	}
	return nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errEmptyList = constErr("must list at least one value")

func init() {
	store.RegisterHook("Account", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.AccountFunc(func(ctx context.Context, m *ent.AccountMutation) (ent.Value, error) {
			if err := Validate(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

// Validate applies the account rules to m, filling defaults on create.
func Validate(ctx context.Context, m *ent.AccountMutation) error {
	validate.TrimFields(m, "short_name", "full_name", "email", "username")
	if m.Op().Is(ent.OpCreate) {
		if t, _ := m.GetType(); t == "" {
			m.SetType(DefaultType.Get())
		}
		if l, _ := m.Language(); l == "" {
			m.SetLanguage(DefaultLanguage.Get())
		}
	}
	var errs validate.Errors
	required := func(s string) string { return validate.Required(ctx, s) }
	length := func(n int) func(string) string {
		return func(s string) string { return validate.Length(ctx, s, n) }
	}
	errs.Check(ctx, m, "username", required, length(32), func(s string) string {
		if validate.Username(s) != nil {
			return i18n.T(ctx, "Enter a valid username: letters, digits and . - _ only.")
		}
		// it names the account's system user and its home: no "..", no option
		if c := s[0]; c == '.' || c == '-' {
			return i18n.T(ctx, "A username starts with a letter, a digit or _.")
		}
		return ""
	})
	errs.Check(ctx, m, "full_name", required, length(256))
	errs.Check(ctx, m, "short_name", length(64))
	errs.Check(ctx, m, "email", required, length(254), func(s string) string {
		if validate.Email(s) != nil {
			return i18n.T(ctx, "Enter a valid e-mail address.")
		}
		return ""
	})
	errs.Check(ctx, m, "type", func(s string) string {
		if !slices.Contains(Types.Get(), s) {
			return i18n.T(ctx, "Select a valid choice: %q is not one of the available account types.", s)
		}
		return ""
	})
	errs.Check(ctx, m, "comments")
	errs.Check(ctx, m, "password")
	errs.Check(ctx, m, "language", func(s string) string {
		if !slices.Contains(Languages.Get(), s) {
			return i18n.T(ctx, "Select a valid choice: %q is not one of the available languages.", s)
		}
		return ""
	})
	if err := errs.Err(); err != nil {
		return err
	}
	if name, ok := m.Username(); ok {
		q := m.Client().Account.Query().Where(account.UsernameEQ(name))
		if id, ok := m.ID(); ok {
			q = q.Where(account.IDNEQ(id))
		}
		// Uniqueness is global: look past the viewer's scope.
		taken, err := q.Exist(viewer.System(ctx, viewer.ChannelSystem))
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "username", Message: i18n.T(ctx, "An account with this username already exists.")}
		}
	}
	return nil
}

// clearKey carries an account's clear password from the API to the rules
// that hash it for the account's main system user, never further.
type clearKey struct{}

// WithClearPassword returns ctx carrying pw for the account being written.
func WithClearPassword(ctx context.Context, pw string) context.Context {
	return context.WithValue(ctx, clearKey{}, pw)
}

// ClearPassword is the clear password ctx carries, if any.
func ClearPassword(ctx context.Context) (string, bool) {
	pw, ok := ctx.Value(clearKey{}).(string)
	return pw, ok
}
