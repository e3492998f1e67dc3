package certificates_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/services/certificates"
	"github.com/orchestra-panel/orchestra/internal/services/mail/mailtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// mailCA is a root and an intermediate of the test's own, which sign the
// certificates it uploads.
type mailCA struct {
	roots     *x509.CertPool
	inter     *x509.Certificate
	interKey  *ecdsa.PrivateKey
	interPEM  string
	serialMax *big.Int
}

func newMailCA(t *testing.T) *mailCA {
	t.Helper()
	ca := &mailCA{roots: x509.NewCertPool(), serialMax: new(big.Int).Lsh(big.NewInt(1), 120)}
	rootKey, root, _ := ca.sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Mail test root"}, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}, nil, nil, 365*24*time.Hour)
	ca.roots.AddCert(root)
	ca.interKey, ca.inter, ca.interPEM = ca.sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Mail test intermediate"},
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}, root, rootKey, 365*24*time.Hour)
	return ca
}

// sign makes tmpl's certificate with a new P-256 key, signed by parent
// (itself when nil), valid for life from an hour ago.
func (ca *mailCA) sign(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, life time.Duration) (*ecdsa.PrivateKey, *x509.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, ca.serialMax); err != nil {
		t.Fatal(err)
	}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(life).Truncate(time.Second)
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
	return key, c, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// mailCert is a certificate for a mail host: its chain (the certificate
// and the intermediate) and its key, in PEM.
type mailCert struct {
	leaf       *x509.Certificate
	chain, key string
}

func (ca *mailCA) issue(t *testing.T, host string, life time.Duration) *mailCert {
	t.Helper()
	key, leaf, leafPEM := ca.sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		ca.inter, ca.interKey, life)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &mailCert{leaf: leaf, chain: leafPEM + ca.interPEM, key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}
}

// smtpPresents is the certificate the SMTP server at addr presents after
// STARTTLS, verified for host against roots.
func smtpPresents(addr, host string, roots *x509.CertPool) (*x509.Certificate, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return nil, err
	}
	defer c.Close()
	if err := c.Hello("client.orchestra.test"); err != nil {
		return nil, err
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return nil, errors.New("no STARTTLS offered")
	}
	if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: roots}); err != nil {
		return nil, err
	}
	state, _ := c.TLSConnectionState()
	c.Quit()
	return state.PeerCertificates[0], nil
}

// imapPresents is the certificate the IMAP server at addr presents after
// "a STARTTLS", verified for host against roots.
func imapPresents(addr, host string, roots *x509.CertPool) (*x509.Certificate, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	greeting, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(greeting, "* OK") {
		return nil, fmt.Errorf("greeting %q", greeting)
	}
	if _, err := conn.Write([]byte("a STARTTLS\r\n")); err != nil {
		return nil, err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(line, "a ") {
			if !strings.HasPrefix(line, "a OK") {
				return nil, fmt.Errorf("STARTTLS: %q", line)
			}
			break
		}
	}
	if r.Buffered() > 0 {
		return nil, errors.New("the server sent more before the handshake")
	}
	tc := tls.Client(conn, &tls.Config{ServerName: host, RootCAs: roots})
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	tc.Write([]byte("b LOGOUT\r\n"))
	return tc.ConnectionState().PeerCertificates[0], nil
}

// mailTLSBed is the API with mail-tls routed to the SSH test bed's first
// server, which writes the mail test bed's TLS files.
type mailTLSBed struct {
	*apitest.Bed
	mail                   *mailtest.Bed
	host                   string
	chain, cert, key, mark string
	roots                  *x509.CertPool
}

// keepTLS puts the mail test bed's TLS files back as they were (and the
// marker away) after the test, and reloads Postfix and Dovecot.
func keepTLS(t *testing.T, mb *mailtest.Bed) {
	t.Helper()
	dir := filepath.Join(mb.Dir, "tls")
	saved := map[string][]byte{}
	for _, f := range []string{"mail.pem", "cert.pem", "key.pem"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Skipf("the mail test bed has no %s (./do ensure_mail_testbed brings a bed with TLS): %v", f, err)
		}
		saved[f] = b
	}
	os.Remove(filepath.Join(dir, ".orchestra-mail-tls"))
	t.Cleanup(func() {
		for f, b := range saved {
			mode := os.FileMode(0o600)
			if f == "cert.pem" {
				mode = 0o644
			}
			tmp := filepath.Join(dir, "."+f+".restore")
			os.Remove(tmp)
			if err := os.WriteFile(tmp, b, mode); err != nil {
				t.Error(err)
				continue
			}
			if err := os.Rename(tmp, filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
		os.Remove(filepath.Join(dir, ".orchestra-mail-tls"))
		if err := mb.Reload(); err != nil {
			t.Error(err)
		}
	})
}

func newMailTLSBed(t *testing.T, st *store.Store) *mailTLSBed {
	mb := mailtest.LoadExclusive(t) // the bed's certificate is the server's one
	keepTLS(t, mb)
	bed := apitest.OnTestBed(t, st, certificates.MailTLSBackend)
	dir := filepath.Join(mb.Dir, "tls")
	b := &mailTLSBed{Bed: bed, mail: mb, host: "mail." + apitest.Unique("mt") + ".example",
		chain: filepath.Join(dir, "mail.pem"), cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"),
		mark: filepath.Join(dir, ".orchestra-mail-tls")}
	set := mb.ServerSettings()
	set["MAILBOXES_TLS_HOSTNAME"] = b.host
	set["MAILBOXES_TLS_CHAIN"], set["MAILBOXES_TLS_CERT"], set["MAILBOXES_TLS_KEY"] = b.chain, b.cert, b.key
	bed.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", bed.ServerID), map[string]any{"version": 1, "settings": set}).Want(http.StatusOK)
	return b
}

// presents waits until SMTP (both ports) and IMAP present want.
func (b *mailTLSBed) presents(want *mailCert) {
	b.T.Helper()
	for _, s := range []struct {
		name, addr string
		get        func(addr, host string, roots *x509.CertPool) (*x509.Certificate, error)
	}{{"SMTP", b.mail.SMTP, smtpPresents}, {"submission", b.mail.Submission, smtpPresents}, {"IMAP", b.mail.IMAP, imapPresents}} {
		var last string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			got, err := s.get(s.addr, b.host, b.roots)
			if err == nil && got.SerialNumber.Cmp(want.leaf.SerialNumber) == 0 {
				break
			}
			if err != nil {
				last = err.Error()
			} else {
				last = "serial " + got.SerialNumber.String()
			}
			if time.Now().After(deadline) {
				b.T.Fatalf("%s (%s) does not present the certificate of serial %s for %s: %s", s.name, s.addr, want.leaf.SerialNumber, b.host, last)
			}
		}
	}
}

// files checks that the bed's files hold c, as the backend writes it, and
// that certificate id is the installed one.
func (b *mailTLSBed) files(c *mailCert, id int) {
	b.T.Helper()
	for _, f := range []struct {
		path, want string
		mode       os.FileMode
	}{{b.chain, c.key + c.chain, 0o600}, {b.cert, c.chain, 0o644}, {b.key, c.key, 0o600},
		{b.mark, fmt.Sprintf("%d %d\n", id, c.leaf.NotAfter.Unix()), 0o600}} {
		fi, err := os.Lstat(f.path)
		if err != nil {
			b.T.Fatal(err)
		}
		got, _ := os.ReadFile(f.path)
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != f.mode || string(got) != f.want {
			b.T.Errorf("%s: %s, want a file of mode %v holding %q; it holds %q", f.path, fi.Mode(), f.mode, f.want, got)
		}
	}
}

// TestMailTLSOverAPI: a certificate uploaded for the mail host's name is
// presented by Postfix (both ports) and Dovecot (IMAP) over STARTTLS, with
// its intermediate; one that expires later replaces it, through a link
// planted at the key's name (replaced, its target untouched); saving the
// first again (its renewal flag, its own chain again, a resync of all)
// does not bring it back; deleting the one presented leaves its files and
// says so, and the first then replaces it. No key is in any log.
func TestMailTLSOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newMailTLSBed(t, st)
		ca := newMailCA(t)
		b.roots = ca.roots
		user := apitest.Unique("mt")
		cust, _ := b.Customer(user)
		cust.Do("POST", "/domains", map[string]any{"name": b.host}).Want(http.StatusCreated)

		first := ca.issue(t, b.host, 30*24*time.Hour)
		id1 := b.Applied(cust.Do("POST", "/certificates", map[string]any{"source": "upload", "certificate": first.chain,
			"private_key": first.key}).Want(http.StatusCreated)).ID()
		b.presents(first)
		b.files(first, id1)

		// a link planted at the key's name: the write replaces it
		outside := filepath.Join(t.TempDir(), "outside")
		if err := os.WriteFile(outside, []byte("outside\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(b.key); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, b.key); err != nil {
			t.Fatal(err)
		}
		second := ca.issue(t, b.host, 60*24*time.Hour)
		id2 := b.Applied(cust.Do("POST", "/certificates", map[string]any{"source": "upload", "certificate": second.chain,
			"private_key": second.key}).Want(http.StatusCreated)).ID()
		b.presents(second)
		b.files(second, id2)
		if got, _ := os.ReadFile(outside); string(got) != "outside\n" {
			t.Errorf("the link's target was written: %q", got)
		}

		// the first saved again: its flag (no unit), its chain again (a
		// unit that leaves it out), all of them again (a resync)
		c1 := cust.Do("GET", fmt.Sprintf("/certificates/%d", id1), nil).Want(http.StatusOK).JSON()
		c1 = cust.Do("PATCH", fmt.Sprintf("/certificates/%d", id1), map[string]any{"auto_renew": true, "version": c1["version"]}).
			Want(http.StatusOK).JSON()
		r := b.Applied(cust.Do("PATCH", fmt.Sprintf("/certificates/%d", id1), map[string]any{"certificate": first.chain,
			"private_key": first.key, "version": c1["version"]}).Want(http.StatusOK))
		if l := b.lastLog(r); !strings.Contains(l["stdout"].(string), "left out") {
			t.Errorf("re-uploading the first: the unit says %q", l["stdout"])
		}
		b.resync()
		b.presents(second)
		b.files(second, id2)

		// the one presented deleted: its files stay, the unit says so; the
		// first, saved again, then replaces it
		r = b.Applied(cust.Do("DELETE", fmt.Sprintf("/certificates/%d", id2), nil).Want(http.StatusNoContent))
		if l := b.lastLog(r); !strings.Contains(l["stderr"].(string), fmt.Sprintf("certificate %d, which the mail servers present for %s, was deleted", id2, b.host)) {
			t.Errorf("deleting the certificate presented: the unit says %q", l["stderr"])
		}
		b.presents(second)
		c1 = cust.Do("GET", fmt.Sprintf("/certificates/%d", id1), nil).Want(http.StatusOK).JSON()
		b.Applied(cust.Do("PATCH", fmt.Sprintf("/certificates/%d", id1), map[string]any{"certificate": first.chain,
			"private_key": first.key, "version": c1["version"]}).Want(http.StatusOK))
		b.presents(first)
		b.files(first, id1)

		// the keys: in no stored script, output or error
		sys := viewer.System(context.Background(), viewer.ChannelSystem)
		logs, err := st.ExecutionLog.Query().All(sys)
		if err != nil {
			t.Fatal(err)
		}
		units := 0
		for _, l := range logs {
			if l.Backend == certificates.MailTLSBackend {
				units++
			}
			for _, k := range []string{first.key, second.key} {
				line := strings.Split(k, "\n")[1]
				if strings.Contains(l.Script+l.Stdout+l.Stderr, line) {
					t.Errorf("log %d (%s) holds a private key", l.ID, l.Backend)
				}
			}
		}
		if units < 5 {
			t.Errorf("%d mail-tls units", units)
		}
	})
}

// lastLog is the execution log of r's mail-tls unit.
func (b *mailTLSBed) lastLog(r *apitest.Resp) map[string]any {
	b.T.Helper()
	for _, o := range b.Admin.Do("GET", "/operations?page_size=100&ids="+r.Header.Get("Orchestra-Operations"), nil).
		Want(http.StatusOK).JSON()["results"].([]any) {
		op := o.(map[string]any)
		if id, ok := op["log"].(float64); ok {
			l := b.Admin.Do("GET", "/logs/"+strconv.Itoa(int(id)), nil).Want(http.StatusOK).JSON()
			if l["backend"] == certificates.MailTLSBackend {
				return l
			}
		}
	}
	b.T.Fatalf("%s %s: no mail-tls unit", r.Method, r.Path)
	return nil
}

// resync applies every certificate to the server again and waits for it.
func (b *mailTLSBed) resync() {
	b.T.Helper()
	var units []map[string]any
	r := b.Admin.Do("POST", fmt.Sprintf("/servers/%d/resync", b.ServerID), map[string]any{"backend": certificates.MailTLSBackend}).
		Want(http.StatusAccepted)
	if err := jsonList(r.Body, &units); err != nil || len(units) == 0 {
		b.T.Fatalf("resync: %s %v", r.Body, err)
	}
	for _, u := range units {
		id := int(u["log"].(float64))
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			l := b.Admin.Do("GET", "/logs/"+strconv.Itoa(id), nil).Want(http.StatusOK).JSON()
			if l["state"] == "SUCCESS" {
				if !strings.Contains(l["stdout"].(string), "left out") {
					b.T.Errorf("the resync did not leave the first out: %q", l["stdout"])
				}
				break
			}
			if s := l["state"]; s != "RECEIVED" && s != "STARTED" || time.Now().After(deadline) {
				b.T.Fatalf("resync unit %d: %v: %v", id, s, l["stderr"])
			}
		}
	}
}

func jsonList(b []byte, v *[]map[string]any) error { return json.Unmarshal(b, v) }
