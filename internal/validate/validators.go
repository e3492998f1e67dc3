package validate

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/orchestra-panel/orchestra/internal/validate/phone"
)

// Messages are constant English sentences because callers translate them
// by message ID; only MaxLen formats an argument in.

var (
	nameRe     = regexp.MustCompile(`^[._\-0-9a-z]+$`)
	usernameRe = regexp.MustCompile(`^[\w.-]+$`) // RE2's \w is ASCII-only: [0-9A-Za-z_]
	urlPathRe  = regexp.MustCompile(`^/[/.a-zA-Z0-9_-]*$`)
	// RE2 has no lookaround, so "no leading/trailing hyphen" is spelled out:
	// one alphanumeric, optionally followed by up to 61 more and a final alphanumeric.
	labelRe = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
)

// Name accepts spaceless lower-case identifiers (system names, DB names).
func Name(s string) error {
	if !nameRe.MatchString(s) {
		return errors.New("Enter a valid name (lower-case letters, digits and . _ - only).")
	}
	return nil
}

// Username accepts ASCII letters, digits and _ . -
func Username(s string) error {
	if !usernameRe.MatchString(s) {
		return errors.New("Enter a valid username (letters, digits and _ . - only).")
	}
	return nil
}

// Hostname accepts RFC 1123 host names, with an optional single trailing dot.
func Hostname(s string) error {
	bad := errors.New("Enter a valid hostname.")
	if s == "" || len(s) > 255 {
		return bad
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if !labelRe.MatchString(label) {
			return bad
		}
	}
	return nil
}

// URLPath accepts absolute URL paths made of a conservative character set.
func URLPath(s string) error {
	if !urlPathRe.MatchString(s) {
		return errors.New("Enter a valid URL path starting with /.")
	}
	return nil
}

// parseIP rejects zoned addresses: a zone is host-local and meaningless in
// stored configuration.
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Zone() == ""
}

// IPv4 accepts dotted-quad IPv4 addresses (no leading zeros).
func IPv4(s string) error {
	if a, ok := parseIP(s); !ok || !a.Is4() {
		return errors.New("Enter a valid IPv4 address.")
	}
	return nil
}

// IPv6 accepts IPv6 addresses, including IPv4-mapped ones.
func IPv6(s string) error {
	if a, ok := parseIP(s); !ok || !a.Is6() {
		return errors.New("Enter a valid IPv6 address.")
	}
	return nil
}

// IP accepts IPv4 or IPv6 addresses.
func IP(s string) error {
	if _, ok := parseIP(s); !ok {
		return errors.New("Enter a valid IPv4 or IPv6 address.")
	}
	return nil
}

// ASCII accepts strings made only of 7-bit ASCII.
func ASCII(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return errors.New("Only ASCII characters are allowed.")
		}
	}
	return nil
}

// Email accepts a bare ASCII address (no display name, comments or quoting)
// whose domain is a dotted host name. ASCII-only because addresses end up in
// mail server configuration, where SMTPUTF8 cannot be assumed.
func Email(s string) error {
	bad := errors.New("Enter a valid email address.")
	// 254 octets is the RFC 5321 path limit minus the angle brackets.
	if len(s) > 254 || strings.Count(s, "@") != 1 || ASCII(s) != nil {
		return bad
	}
	local, domain, _ := strings.Cut(s, "@")
	if len(local) > 64 || !strings.Contains(domain, ".") || Hostname(domain) != nil {
		return bad
	}
	// Address == s rules out "<a@b>", whitespace, comments and quoted local parts.
	if a, err := mail.ParseAddress(s); err != nil || a.Name != "" || a.Address != s {
		return bad
	}
	return nil
}

// MaxLen accepts strings of at most n runes (not bytes: limits are user-facing).
func MaxLen(s string, n int) error {
	if utf8.RuneCountInString(s) > n {
		return fmt.Errorf("Ensure this value has at most %d characters.", n)
	}
	return nil
}

// Phone accepts numbers that libphonenumber considers valid, parsed with
// defaultCountry (ISO alpha-2) as the region for numbers without a "+" prefix.
// The phone package ports the library's parsing and validation.
func Phone(s, defaultCountry string) error {
	_, err := NormalizePhone(s, defaultCountry)
	return err
}

// NormalizePhone validates like Phone and returns the number in E.164 form.
func NormalizePhone(s, defaultCountry string) (string, error) {
	n, err := phone.Parse(s, defaultCountry)
	if err != nil {
		return "", errors.New("Enter a valid phone number.")
	}
	return n.E164(), nil
}
