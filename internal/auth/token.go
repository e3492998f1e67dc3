package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// TokenPrefix marks Orchestra API tokens so secret scanners can find them.
const TokenPrefix = "orch_"

// NewToken returns a fresh API token, the short prefix shown in listings and
// the hash that is stored; the token itself is never stored.
func NewToken() (token, display string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err = rand.Read(b); err != nil {
		return
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, token[:len(TokenPrefix)+6], HashToken(token), nil
}

// HashToken returns the stored form of token. Tokens carry 256 random bits,
// so a plain SHA-256 is enough (no salt or stretching needed).
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return h[:]
}
