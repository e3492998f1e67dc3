package web_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"

	_ "github.com/orchestra-panel/orchestra/internal/services/certificates" // the certificate store
)

// servedCert is the certificate the server at addr presents for host.
func servedCert(t *testing.T, addr, host string) *x509.Certificate {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", net.JoinHostPort(addr, "443"),
		&tls.Config{ServerName: host, InsecureSkipVerify: true}) //nolint:gosec // the test compares what it gets
	if err != nil {
		t.Fatalf("TLS to %s for %s: %v", addr, host, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// TestSiteOwnCertificate: a website's SSL directive picks an uploaded
// certificate of its account, which both web servers present for its name
// (the server's default certificate no longer), with its key only in a
// root-only file; a certificate whose key does not match, or that expired,
// is refused naming the field; one a site presents cannot be deleted; the
// key is in no answer, history entry or stored script.
func TestSiteOwnCertificate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newSiteBed(t, st)
		app := b.app("tls", "static", nil, "", map[string]string{"index.html": "own certificate"})
		site, host := b.site("tls", "https-only")
		b.mount(site, app, "/")
		b.want("https", host, "/", 200, "own certificate") // the default certificate, for now
		own := b.web.Cert(t, host)
		other := b.web.Cert(t, host)

		// refused: a key that is not the certificate's, an expired one
		r := b.cust.Do("POST", "/certificates", map[string]any{"source": "upload", "certificate": string(own.CertPEM),
			"private_key": string(other.KeyPEM)}).Want(http.StatusUnprocessableEntity)
		if f := r.FieldErrors(); len(f) != 1 || !strings.Contains(f[0], "private_key") {
			t.Errorf("a key of another certificate: %v", f)
		}
		expired := expiredCert(t, host)
		r = b.cust.Do("POST", "/certificates", map[string]any{"source": "upload", "certificate": expired[0],
			"private_key": expired[1]}).Want(http.StatusUnprocessableEntity)
		if f := r.FieldErrors(); len(f) != 1 || !strings.Contains(f[0], "certificate") {
			t.Errorf("an expired certificate: %v", f)
		}
		r = b.cust.Do("POST", "/certificates", map[string]any{"source": "upload", "domains": []int{b.domID},
			"certificate": string(own.CertPEM), "private_key": string(own.KeyPEM)}).Want(http.StatusUnprocessableEntity)
		if f := r.FieldErrors(); len(f) == 0 || !strings.Contains(f[0], "domains") {
			t.Errorf("a domain the certificate is not for: %v", f)
		}

		cert := b.cust.Do("POST", "/certificates", map[string]any{"source": "upload", "certificate": string(own.CertPEM),
			"private_key": string(own.KeyPEM)}).Want(http.StatusCreated).JSON()
		if cert["state"] != "valid" || fmt.Sprint(cert["names"]) != "["+host+"]" || cert["key_type"] != "ec256" {
			t.Errorf("the uploaded certificate: %v", cert)
		}
		id := int(cert["id"].(float64))
		b.Applied(b.directive(b.cust, site, web.DirSSL, map[string]any{"certificate": id}))
		b.each(func(s server) {
			if got := servedCert(t, s.addr, host); got.SerialNumber.Cmp(own.Leaf.SerialNumber) != 0 {
				t.Errorf("%s presents %s (serial %s), not the site's own certificate", s.backend, got.Subject, got.SerialNumber)
			}
		})
		b.want("https", host, "/", 200, "own certificate")
		files := b.web.Dir + "/nginx/orchestra/certs"
		if out, code := b.Root("stat -c '%a %U' " + files + " " + files + "/" + web.SiteName(b.acc, "tls") + ".key"); code != 0 ||
			out != "700 root\n600 root\n" {
			t.Errorf("the certificates' folder and the site's key: %q", out)
		}

		// in use: not deleted
		b.cust.Do("DELETE", fmt.Sprintf("/certificates/%d", id), nil).Want(http.StatusConflict)

		// the key: in no answer, history entry or stored script
		keyLine := keyBody(own.KeyPEM)
		for _, path := range []string{fmt.Sprintf("/certificates/%d", id), "/certificates", "/history?object_type=Certificate",
			"/history?object_type=WebsiteDirective", "/logs?backend=nginx", "/logs?backend=apache"} {
			body := b.Admin.Do("GET", path, nil).Want(http.StatusOK).Body
			if strings.Contains(string(body), keyLine) || strings.Contains(string(body), "PRIVATE KEY") {
				t.Errorf("GET %s shows the private key", path)
			}
		}
		logs := b.Admin.Do("GET", "/logs?backend=nginx&page_size=100", nil).JSON()["results"].([]any)
		for _, l := range logs {
			full := b.Admin.Do("GET", fmt.Sprintf("/logs/%v", l.(map[string]any)["id"]), nil).Want(http.StatusOK).Body
			if strings.Contains(string(full), keyLine) {
				t.Errorf("log %v holds the private key", l.(map[string]any)["id"])
			}
		}

		// another certificate for the site: picked, presented
		b.Applied(b.cust.Do("PATCH", fmt.Sprintf("/certificates/%d", id), map[string]any{"certificate": string(other.CertPEM),
			"private_key": string(other.KeyPEM), "version": cert["version"]}).Want(http.StatusOK))
		b.each(func(s server) {
			if got := servedCert(t, s.addr, host); got.SerialNumber.Cmp(other.Leaf.SerialNumber) != 0 {
				t.Errorf("%s still presents serial %s after the upload of a new one", s.backend, got.SerialNumber)
			}
		})
	})
}

// keyBody is a line of a PEM key's base64: what would show it anywhere.
func keyBody(keyPEM []byte) string {
	lines := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")
	return lines[1]
}

// expiredCert is a self-signed certificate for host that expired
// yesterday, and its key, in PEM.
func expiredCert(t *testing.T, host string) [2]string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return [2]string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))}
}

// TestACMETokens: the challenges' lines are file names and words, nothing
// a path or a shell could read as more.
func TestACMETokens(t *testing.T) {
	got, err := web.ACMETokens("abc-_1 abc-_1.KEY_thumb-print\nold")
	if err != nil || len(got) != 2 || got["abc-_1"] != "abc-_1.KEY_thumb-print" || got["old"] != "" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "../etc/passwd x", "a/b x", "a x y", "a $(id)", "a\n", "a\n\nb", "a 'x'", ".. x", "a\tb", " a"} {
		if _, err := web.ACMETokens(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
