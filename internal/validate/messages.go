package validate

import (
	"context"
	"strings"
	"unicode/utf8"

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

// NoNull returns the translated message for a value containing a NUL
// character, or "". PostgreSQL cannot store NUL in text, and no field has a
// use for it, so every store refuses it alike.
func NoNull(ctx context.Context, s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		return i18n.T(ctx, "Null characters are not allowed.")
	}
	return ""
}

// ValidText returns the translated message for a value that is not valid
// UTF-8, or "". PostgreSQL refuses such text and SQLite would store bytes
// that change on their way to a server (JSON turns them into U+FFFD).
func ValidText(ctx context.Context, s string) string {
	if !utf8.ValidString(s) {
		return i18n.T(ctx, "Enter text in UTF-8; this value holds bytes that are not.")
	}
	return ""
}

// Check records the first failing rule for the final value of a string
// field of m; fields a bulk update leaves untouched are skipped. NoNull and
// ValidText are always checked first.
func (e *Errors) Check(ctx context.Context, m ent.Mutation, field string, rules ...func(string) string) {
	v, ok := String(ctx, m, field)
	if !ok {
		return
	}
	for _, basic := range []func(context.Context, string) string{NoNull, ValidText} {
		if msg := basic(ctx, v); msg != "" {
			e.Add(field, msg)
			return
		}
	}
	for _, r := range rules {
		if msg := r(v); msg != "" {
			e.Add(field, msg)
			return
		}
	}
}

// Is makes a validator of this package (Name, Hostname…) a rule of Check,
// its message translated.
func Is(ctx context.Context, valid func(string) error) func(string) string {
	return func(s string) string {
		if err := valid(s); err != nil {
			return i18n.T(ctx, err.Error())
		}
		return ""
	}
}

// OneLine is a rule of Check: a value that goes into a line of a file on
// the servers holds no line break.
func OneLine(ctx context.Context) func(string) string {
	return func(s string) string {
		if strings.ContainsAny(s, "\r\n") {
			return i18n.T(ctx, "Enter this on one line.")
		}
		return ""
	}
}
