// Package contacts holds the rules of contacts: their settings and the
// validation every create and update passes, whatever path it comes from.
package contacts

import (
	"context"
	"slices"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// EmailUsages are what a contact can be reached for.
var EmailUsages = []string{"SUPPORT", "ADMIN", "BILLING", "TECH", "ADDS", "EMERGENCY"}

// Settings of contacts.
var (
	DefaultEmailUsages = settings.StringList("CONTACTS_DEFAULT_EMAIL_USAGES", EmailUsages,
		"E-mail usages given to new contacts that do not name any.", settings.Choices(EmailUsages...))
	DefaultCountry = settings.String("CONTACTS_DEFAULT_COUNTRY", "ES",
		"Country (ISO 3166 code) of new contacts, and of phone numbers written without a country prefix.",
		settings.Validator(func(v any) error { return validate.Country(v.(string)) }))
)

func init() {
	store.RegisterHook("Contact", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.ContactFunc(func(ctx context.Context, m *ent.ContactMutation) (ent.Value, error) {
			if err := Validate(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

// Validate applies the contact rules to m, filling defaults on create.
func Validate(ctx context.Context, m *ent.ContactMutation) error {
	validate.TrimFields(m, "short_name", "full_name", "email", "phone", "phone2", "address", "city", "zipcode", "country")
	if m.Op().Is(ent.OpCreate) {
		if c, _ := m.Country(); c == "" {
			m.SetCountry(DefaultCountry.Get())
		}
		// Only an omitted list gets the defaults: an explicit [] is refused
		// below, as on update, rather than silently meaning "all of them".
		if u, _ := m.EmailUsage(); u == nil {
			m.SetEmailUsage(DefaultEmailUsages.Get())
		}
	}
	var errs validate.Errors
	required := func(s string) string { return validate.Required(ctx, s) }
	length := func(n int) func(string) string {
		return func(s string) string { return validate.Length(ctx, s, n) }
	}
	errs.Check(ctx, m, "short_name", required, length(128))
	errs.Check(ctx, m, "full_name", length(256))
	errs.Check(ctx, m, "email", required, length(254), func(s string) string {
		if validate.Email(s) != nil {
			return i18n.T(ctx, "Enter a valid e-mail address.")
		}
		return ""
	})
	phone := func(s string) string {
		if s != "" && validate.Phone(s, DefaultCountry.Get()) != nil {
			return i18n.T(ctx, "Enter a valid phone number, with its country prefix if it is not from %s.", DefaultCountry.Get())
		}
		return ""
	}
	errs.Check(ctx, m, "phone", length(32), phone)
	errs.Check(ctx, m, "phone2", length(32), phone)
	errs.Check(ctx, m, "address")
	errs.Check(ctx, m, "city", length(128))
	errs.Check(ctx, m, "country", required, func(s string) string {
		if validate.Country(s) != nil {
			return i18n.T(ctx, "Select a valid choice: %q is not a country code.", s)
		}
		return ""
	})
	if v, ok := validate.Value(ctx, m, "email_usage"); ok {
		usages, _ := v.([]string)
		if len(usages) == 0 {
			errs.Add("email_usage", i18n.T(ctx, "This field is required."))
		}
		seen := map[string]bool{}
		for _, u := range usages {
			if !slices.Contains(EmailUsages, u) {
				errs.Add("email_usage", i18n.T(ctx, "Select a valid choice: %q is not one of SUPPORT, ADMIN, BILLING, TECH, ADDS, EMERGENCY.", u))
				break
			}
			if seen[u] {
				errs.Add("email_usage", i18n.T(ctx, "%q is listed twice.", u))
				break
			}
			seen[u] = true
		}
	}
	// An address needs city, zipcode and country; a zipcode is checked
	// against its country's format.
	address, _ := validate.String(ctx, m, "address")
	city, _ := validate.String(ctx, m, "city")
	zip, _ := validate.String(ctx, m, "zipcode")
	country, _ := validate.String(ctx, m, "country")
	if address != "" {
		for _, f := range [][2]string{{"city", city}, {"zipcode", zip}} {
			if f[1] == "" && !errs.Has(f[0]) {
				errs.Add(f[0], i18n.T(ctx, "This field is required when an address is given."))
			}
		}
	}
	if zip != "" && !errs.Has("country") && !errs.Has("zipcode") {
		if err := validate.Zipcode(zip, country); err != nil {
			errs.Add("zipcode", i18n.T(ctx, "Enter a valid postal code for %s.", country))
		}
	}
	return errs.Err()
}
