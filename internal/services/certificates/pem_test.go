package certificates

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/validate"
)

// issue makes a certificate for names signed by parent (self-signed when
// nil), and its key.
func issue(t *testing.T, cn string, names []string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool) (*x509.Certificate, *ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: ca, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestParseChain(t *testing.T) {
	ctx := context.Background()
	ca, caKey, caPEM := issue(t, "ca", nil, nil, nil, true)
	_, _, leafPEM := issue(t, "www.example.com", []string{"www.example.com", "*.example.com"}, ca, caKey, false)
	_, _, strayPEM := issue(t, "stray", nil, nil, nil, true)

	var errs validate.Errors
	c := parseChain(ctx, leafPEM+caPEM, "certificate", &errs)
	if c == nil || len(errs) != 0 {
		t.Fatalf("a chain: %v", errs)
	}
	if !c.covers("www.example.com") || !c.covers("*.example.com") || !c.covers("a.example.com") ||
		c.covers("example.com") || c.covers("*.other.com") {
		t.Errorf("covers: the names are %v", c.names)
	}
	if c.keyType != "ec256" || !strings.Contains(c.issuer, "ca") {
		t.Errorf("key type %s, issuer %s", c.keyType, c.issuer)
	}
	for name, text := range map[string]string{
		"not a chain": leafPEM + strayPEM,
		"a key":       leafPEM + "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n",
		"not PEM":     "hello",
		"trailing":    leafPEM + "garbage",
		"leading":     "$(touch x)\n" + leafPEM,
		"between":     leafPEM + "x\n" + caPEM,
	} {
		var errs validate.Errors
		if parseChain(ctx, text, "certificate", &errs) != nil || len(errs) != 1 || errs[0].Field != "certificate" {
			t.Errorf("%s: %v", name, errs)
		}
	}
}

func TestParseKey(t *testing.T) {
	ctx := context.Background()
	leaf, key, _ := issue(t, "a", []string{"a.example"}, nil, nil, false)
	_, other, _ := issue(t, "b", []string{"b.example"}, nil, nil, false)
	for _, k := range []*ecdsa.PrivateKey{key, other} {
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		var errs validate.Errors
		s := parseKey(ctx, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), &errs)
		if s == nil || len(errs) != 0 {
			t.Fatalf("a PKCS #8 key: %v", errs)
		}
		if matches(leaf, s) != (k == key) {
			t.Errorf("matches says %v for the key that is %v the certificate's", matches(leaf, s), k == key)
		}
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	var lead validate.Errors
	if parseKey(ctx, "junk\n"+string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), &lead) != nil || len(lead) != 1 {
		t.Errorf("a key after other text: %v", lead)
	}
	var errs validate.Errors
	if parseKey(ctx, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA==\n-----END ENCRYPTED PRIVATE KEY-----\n", &errs) != nil ||
		len(errs) != 1 || errs[0].Field != "private_key" {
		t.Errorf("an encrypted key: %v", errs)
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("after %d failures: %s, want %s", i+1, got, w)
		}
	}
	if got := backoff(30); got != maxBackoff {
		t.Errorf("after 30 failures: %s, want the day at most", got)
	}
}
