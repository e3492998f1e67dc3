package validate

import (
	"context"

	"entgo.io/ent"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// Required returns the translated message for a missing value, or "".
func Required(ctx context.Context, s string) string {
	if s == "" {
		return i18n.T(ctx, "This field is required.")
	}
	return ""
}

// Length returns the translated message for a value longer than n runes, or "".
func Length(ctx context.Context, s string, n int) string {
	if MaxLen(s, n) != nil {
		return i18n.T(ctx, "Ensure this value has at most %d characters.", n)
	}
	return ""
}

// Check records the first failing rule for the final value of a string
// field of m; fields a bulk update leaves untouched are skipped.
func (e *Errors) Check(ctx context.Context, m ent.Mutation, field string, rules ...func(string) string) {
	v, ok := String(ctx, m, field)
	if !ok {
		return
	}
	for _, r := range rules {
		if msg := r(v); msg != "" {
			e.Add(field, msg)
			return
		}
	}
}
