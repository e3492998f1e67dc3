package mailtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// SpamScore is the score rspamd wrote in the message's X-Spam-Score
// header; an error when there is none, more than one, or not a number.
func (r *Received) SpamScore() (float64, error) {
	v := r.Header(SpamScoreHeader)
	if len(v) != 1 {
		return 0, fmt.Errorf("%d %s headers, want 1: %q", len(v), SpamScoreHeader, v)
	}
	score, err := strconv.ParseFloat(v[0], 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", SpamScoreHeader, v[0])
	}
	return score, nil
}

// DKIMKey is a signing key the test bed's rspamd uses for Domain (written
// by Bed.DKIM).
type DKIMKey struct {
	Domain   string
	Selector string
	Key      *rsa.PrivateKey
}

// NewDKIMKey makes a 2048-bit RSA key, as the panel does.
func NewDKIMKey(domain, selector string) (*DKIMKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &DKIMKey{Domain: domain, Selector: selector, Key: key}, nil
}

// PEM is the private key as the key file holds it (PKCS#1, "RSA PRIVATE
// KEY").
func (k *DKIMKey) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.Key)})
}

// Name is the DNS name of the key's record: SELECTOR._domainkey.DOMAIN.
func (k *DKIMKey) Name() string { return k.Selector + "._domainkey." + k.Domain }

// TXT is the key's DNS record: "v=DKIM1; k=rsa; p=...".
func (k *DKIMKey) TXT() string {
	der, err := x509.MarshalPKIXPublicKey(&k.Key.PublicKey)
	if err != nil {
		panic(err) // an RSA public key always marshals
	}
	return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
}

// LookupTXT answers TXT for Name and nothing else: VerifyDKIM's lookup
// when no DNS publishes the key.
func (k *DKIMKey) LookupTXT(name string) ([]string, error) {
	if strings.EqualFold(strings.TrimSuffix(name, "."), k.Name()) {
		return []string{k.TXT()}, nil
	}
	return nil, fmt.Errorf("no TXT record for %s", name)
}

// VerifyDKIM checks the DKIM signatures of raw (a whole message), looking
// the keys up with lookupTXT (a DKIMKey's LookupTXT, say): one
// verification per signature, its Err nil when it holds.
func VerifyDKIM(raw string, lookupTXT func(name string) ([]string, error)) ([]*dkim.Verification, error) {
	return dkim.VerifyWithOptions(strings.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookupTXT})
}

// DKIMTag is the value of tag (d, s, a, c...) in a DKIM-Signature header
// value, "" if it has none.
func DKIMTag(signature, tag string) string {
	for _, part := range strings.Split(signature, ";") {
		name, value, ok := strings.Cut(part, "=")
		if ok && strings.TrimSpace(name) == tag {
			return strings.Join(strings.Fields(value), "")
		}
	}
	return ""
}

// DKIM makes a key for selector of domain and writes it as the panel does:
// DIR/dkim/DOMAIN.SELECTOR.key (0640 root:RspamdGroup) and the line
// "DOMAIN SELECTOR" in DIR/dkim/selectors, replacing the domain's line.
// rspamd signs with it from the next message on, without a reload. Both
// are removed after the test.
func (b *Bed) DKIM(tb testing.TB, domain, selector string) *DKIMKey {
	tb.Helper()
	b.NeedRspamd(tb)
	k, err := NewDKIMKey(domain, selector)
	if err != nil {
		tb.Fatal(err)
	}
	b.SetDKIM(tb, k)
	return k
}

// SetDKIM writes k's key file and selectors line (see DKIM); removed after
// the test.
func (b *Bed) SetDKIM(tb testing.TB, k *DKIMKey) {
	tb.Helper()
	keyFile := b.DKIMKeyFile(k.Domain, k.Selector)
	line := k.Domain + " " + k.Selector
	tb.Cleanup(func() {
		unlock := b.lock(tb)
		defer unlock()
		os.Remove(keyFile)
		err := b.rewrite(b.DKIMSelectors(), func(lines []string) []string {
			return withoutLine(line)(lines)
		})
		if err != nil {
			tb.Error(err)
		}
	})
	g, err := user.LookupGroup(RspamdGroup)
	if err != nil {
		tb.Fatal(err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		tb.Fatal(err)
	}
	unlock := b.lock(tb)
	defer unlock()
	if err := writeFile(keyFile, k.PEM(), 0o640, 0, gid); err != nil {
		tb.Fatal(err)
	}
	if err := b.rewrite(b.DKIMSelectors(), replaceKey(k.Domain, " ", line)); err != nil {
		tb.Fatal(err)
	}
}

func withoutLine(line string) func([]string) []string {
	return func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if strings.Join(strings.Fields(l), " ") != line {
				out = append(out, l)
			}
		}
		return out
	}
}

// writeFile writes data to path through a file renamed over it, owned
// uid:gid with mode; when it replaces a file, its mtime is later than that
// file's in whole seconds (rspamd reloads a key only then).
func writeFile(path string, data []byte, mode os.FileMode, uid, gid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return err
	}
	if err := os.Chown(tmp.Name(), uid, gid); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil {
		if now := time.Now(); now.Unix() <= st.ModTime().Unix() {
			later := time.Unix(st.ModTime().Unix()+1, 0)
			if err := os.Chtimes(tmp.Name(), later, later); err != nil {
				return err
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
