// Package auth holds panel credentials: password hashing, API tokens,
// sessions and login throttling.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (OWASP's 19 MiB / 2 passes / 1 lane): strong enough
// for panel logins while keeping a login's memory spike small.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

var b64 = base64.RawStdEncoding

// HashPassword returns the PHC-format argon2id hash of pw.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrBadHash is returned for a stored hash that is not argon2id.
var ErrBadHash = errors.New("unsupported password hash")

// CheckPassword reports whether pw matches hash; an empty hash (no usable
// password) never matches.
func CheckPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, ErrBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is checked against when a user does not exist, so unknown and
// known usernames take the same time. Made at the first use: hashing takes
// argon2's 19 MiB, which a start-up or a CLI command need not spend.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("orchestra-dummy-password")
	return h
})

// CheckDummy spends the time of one password check.
func CheckDummy(pw string) { CheckPassword(dummyHash(), pw) }

// PasswordProblem explains why pw is too weak for username, or returns "".
// It stands in for the original's cracklib check: long enough, not the
// username, and not a single repeated character or a trivial sequence.
func PasswordProblem(pw, username string) string {
	n := len([]rune(pw))
	switch {
	case n < 8:
		return i18n.M("must be at least 8 characters long")
	case n > 256:
		return i18n.M("must be at most 256 characters long")
	case strings.EqualFold(pw, username) || (username != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(username)) && n < len(username)+4):
		return i18n.M("is too similar to the username")
	}
	classes := 0
	var lower, upper, digit, other bool
	distinct := map[rune]bool{}
	for _, r := range pw {
		distinct[r] = true
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			classes++
		}
	}
	if len(distinct) < 4 {
		return i18n.M("has too few different characters")
	}
	if classes < 2 && n < 16 {
		return i18n.M("must mix letters with digits or symbols, or be at least 16 characters long")
	}
	for _, weak := range []string{"password", "12345678", "qwertyui", "abcdefgh", "letmein1", "iloveyou"} {
		if strings.Contains(strings.ToLower(pw), weak) {
			return i18n.M("is too common")
		}
	}
	return ""
}
