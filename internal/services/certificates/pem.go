package certificates

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// chainInfo is what a PEM chain says of itself.
type chainInfo struct {
	leaf      *x509.Certificate
	notBefore time.Time
	notAfter  time.Time
	issuer    string
	keyType   string
	names     []string // the leaf's DNS names
}

// parseChain reads a PEM chain: the certificate first, then the ones that
// signed it, each signed by the next. Problems go to errs under field.
func parseChain(ctx context.Context, text, field string, errs *validate.Errors) *chainInfo {
	var certs []*x509.Certificate
	rest := []byte(text)
	for {
		var b *pem.Block
		if b, rest = nextBlock(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			errs.Add(field, i18n.T(ctx, "Give only certificates here (PEM CERTIFICATE blocks), not %s.", b.Type))
			return nil
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			errs.Add(field, i18n.T(ctx, "Certificate %d does not read: %s.", len(certs)+1, err.Error()))
			return nil
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 || strings.TrimSpace(string(rest)) != "" {
		errs.Add(field, i18n.T(ctx, "Give the certificate in PEM (-----BEGIN CERTIFICATE-----), followed by its intermediate certificates."))
		return nil
	}
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			errs.Add(field, i18n.T(ctx, "The certificates are not a chain: certificate %d is not signed by the next one.", i+1))
			return nil
		}
	}
	leaf := certs[0]
	return &chainInfo{leaf: leaf, notBefore: leaf.NotBefore, notAfter: leaf.NotAfter,
		issuer: leaf.Issuer.String(), keyType: keyTypeOf(leaf.PublicKey), names: leaf.DNSNames}
}

// checkDates says whether c is valid at now.
func (c *chainInfo) checkDates(ctx context.Context, now time.Time, field string, errs *validate.Errors) {
	switch {
	case now.After(c.notAfter):
		errs.Add(field, i18n.T(ctx, "This certificate expired on %s.", c.notAfter.UTC().Format(time.DateOnly)))
	case now.Before(c.notBefore):
		errs.Add(field, i18n.T(ctx, "This certificate is valid only from %s.", c.notBefore.UTC().Format(time.RFC3339)))
	}
}

// covers reports whether the certificate is for name: a wildcard name
// only by the same wildcard.
func (c *chainInfo) covers(name string) bool {
	if strings.HasPrefix(name, "*.") {
		return slices.ContainsFunc(c.names, func(n string) bool { return strings.EqualFold(n, name) })
	}
	return c.leaf.VerifyHostname(name) == nil
}

// nextBlock is the PEM block at the start of text (white space aside) and
// what follows it; nil when text holds anything else there: pem.Decode
// would skip it, and it would be stored and written as it was sent.
func nextBlock(text []byte) (*pem.Block, []byte) {
	if !bytes.HasPrefix(bytes.TrimLeft(text, " \t\r\n"), []byte("-----BEGIN ")) {
		return nil, text
	}
	return pem.Decode(text)
}

// errNoKey: the text is not one PEM private key the servers take.
var errNoKey = errors.New("no private key")

// decodeKey reads a PEM private key (PKCS #8, PKCS #1 or SEC 1),
// unencrypted, with nothing around it.
func decodeKey(text string) (crypto.Signer, error) {
	b, rest := nextBlock([]byte(text))
	if b == nil || strings.TrimSpace(string(rest)) != "" {
		return nil, errNoKey
	}
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		err = fmt.Errorf("a %s", b.Type)
	}
	signer, ok := key.(crypto.Signer)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: %v", errNoKey, err)
	}
	return signer, nil
}

// parseKey is decodeKey for a key sent: problems go to errs.
func parseKey(ctx context.Context, text string, errs *validate.Errors) crypto.Signer {
	b, rest := nextBlock([]byte(text))
	if b == nil || strings.TrimSpace(string(rest)) != "" {
		errs.Add("private_key", i18n.T(ctx, "Give one private key in PEM (-----BEGIN PRIVATE KEY-----), without a passphrase."))
		return nil
	}
	signer, err := decodeKey(text)
	if err != nil {
		errs.Add("private_key", i18n.T(ctx, "This is no private key the web and mail servers take (RSA, ECDSA or Ed25519, without a passphrase)."))
		return nil
	}
	return signer
}

// matches reports whether key is the certificate's.
func matches(leaf *x509.Certificate, key crypto.Signer) bool {
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(key.Public())
}

// keyTypeOf names a public key's type as ACME clients do: ec256, rsa2048…
func keyTypeOf(pub any) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return fmt.Sprintf("ec%d", k.Curve.Params().BitSize)
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa%d", k.N.BitLen())
	case ed25519.PublicKey:
		return "ed25519"
	}
	return "unknown"
}
