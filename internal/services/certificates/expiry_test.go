package certificates_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/mailer/mailertest"
	"github.com/orchestra-panel/orchestra/internal/services/certificates"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// selfSigned is a certificate for name valid until notAfter, and its key.
func selfSigned(t *testing.T, name string, notAfter time.Time) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// TestExpiryAlerts: staff hear, once a day, of a certificate within
// CERTIFICATES_ALERT_BEFORE of its expiry, and a certificate past its date
// becomes expired; the alert holds no key.
func TestExpiryAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		sink := mailertest.Start(t)
		sink.Use(t, "ops@example.com", nil)
		e.MakeAccount("exp", "Exp-password-42", false)
		cust := e.Login("exp", "Exp-password-42")
		cust.Do("POST", "/domains", map[string]any{"name": "soon.example"}).Want(http.StatusCreated)
		now := time.Now()
		chain, key := selfSigned(t, "soon.example", now.Add(10*24*time.Hour))
		id := cust.Do("POST", "/certificates", map[string]any{"source": "upload", "certificate": chain, "private_key": key}).
			Want(http.StatusCreated).ID()
		alerts := func() []string {
			var out []string
			for _, m := range sink.Messages() {
				if strings.Contains(string(m), "certificates expire within") {
					out = append(out, string(m))
				}
			}
			return out
		}
		sys := viewer.System(context.Background(), viewer.ChannelSystem)
		round := func(at time.Time) certificates.Round {
			t.Helper()
			r, err := certificates.RunOnce(sys, st, nil, at)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		round(now)
		if a := alerts(); len(a) != 1 || !strings.Contains(a[0], "soon.example") || strings.Contains(a[0], strings.Split(key, "\n")[1]) {
			t.Fatalf("alerts after a round: %q", a)
		}
		round(now.Add(time.Hour))
		if n := len(alerts()); n != 1 {
			t.Errorf("%d alerts within the day, want 1", n)
		}
		round(now.Add(25 * time.Hour))
		if n := len(alerts()); n != 2 {
			t.Errorf("%d alerts the next day, want 2", n)
		}
		if r := round(now.Add(11 * 24 * time.Hour)); r.Expired != 1 {
			t.Errorf("the round past its date: %+v", r)
		}
		if c := cust.Do("GET", fmt.Sprintf("/certificates/%d", id), nil).Want(http.StatusOK).JSON(); c["state"] != "expired" {
			t.Errorf("past its date: %v", c["state"])
		}
	})
}
