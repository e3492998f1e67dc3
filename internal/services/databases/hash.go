package databases

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The engines' own password hashes: a DatabaseUser stores the one its
// engine takes, so the clear text is never stored nor sent to a server.

// MySQLNativeHash is the mysql_native_password hash of pw, as MySQL's
// PASSWORD() computed it: "*" and the upper-case hex of SHA1(SHA1(pw)).
func MySQLNativeHash(pw string) string {
	h1 := sha1.Sum([]byte(pw))
	h2 := sha1.Sum(h1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(h2[:]))
}

// SCRAMIterations is the PBKDF2 iteration count of new verifiers, as
// PostgreSQL's default scram_iterations.
const SCRAMIterations = 4096

const scramSaltLen = 16

// SCRAMVerifier returns a PostgreSQL SCRAM-SHA-256 verifier of pw with a
// random salt (RFC 5802, RFC 7677):
//
//	SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
func SCRAMVerifier(pw string) (string, error) {
	salt := make([]byte, scramSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return scramVerifier(pw, salt, SCRAMIterations)
}

// scramVerifier computes the verifier of pw for salt and iterations.
// PostgreSQL SASLprep-normalises the password first; for printable ASCII,
// the only passwords this package lets through for PostgreSQL, that is the
// identity (see passwordProblem).
func scramVerifier(pw string, salt []byte, iterations int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, pw, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// HashPassword returns the hash of pw that engine typ stores.
func HashPassword(typ, pw string) (string, error) {
	switch typ {
	case MySQL:
		return MySQLNativeHash(pw), nil
	case PostgreSQL:
		return SCRAMVerifier(pw)
	}
	return "", fmt.Errorf("databases: no password hash for type %q", typ)
}

var (
	mysqlHashRe = regexp.MustCompile(`^\*[0-9A-F]{40}$`)
	scramRe     = regexp.MustCompile(`^SCRAM-SHA-256\$([1-9][0-9]{0,7}):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$`)
)

// ValidHash reports whether s is exactly a hash of engine typ's format.
// Scripts put the hash into SQL as a string literal: this format check,
// not escaping, is what keeps it data. It is also strict because
// PostgreSQL silently takes a malformed verifier for a clear-text password.
func ValidHash(typ, s string) bool {
	switch typ {
	case MySQL:
		return mysqlHashRe.MatchString(s)
	case PostgreSQL:
		m := scramRe.FindStringSubmatch(s)
		if m == nil {
			return false
		}
		if n, err := strconv.Atoi(m[1]); err != nil || n < 1000 {
			return false
		}
		salt, err := strictBase64(m[2])
		if err != nil || len(salt) == 0 {
			return false
		}
		for _, k := range m[3:] {
			if b, err := strictBase64(k); err != nil || len(b) != sha256.Size {
				return false
			}
		}
		return true
	}
	return false
}

// strictBase64 decodes canonical padded base64 only.
func strictBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if base64.StdEncoding.EncodeToString(b) != s {
		return nil, fmt.Errorf("not canonical base64")
	}
	return b, nil
}
