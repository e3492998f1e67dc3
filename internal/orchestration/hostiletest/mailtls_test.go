package hostiletest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/certificates"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// mailTLSSuite drives the mail servers' certificate backend, its files in
// a folder of the test's (no daemon reloads: none runs there). Uploads
// whose chain, key or source are the seeds (alone, or around a valid
// chain or key), and whose certificates name the seeds, are refused
// naming the field; of the valid ones for the mail host's name, the one
// that expires last is in the files byte for byte (Postfix's key and
// chain, Dovecot's chain and key), through a link planted at the key's
// name, whose target stays as it was; one that expires later but does not
// cover the name is not.
var mailTLSSuite = suite{
	name:     "mail-tls",
	backends: []string{certificates.MailTLSBackend},
	fields:   map[string][]string{"Certificate": mailTLSFields},
	run:      runMailTLS,
}

// mailTLSFields are what a customer sends that reaches mail-tls's files.
var mailTLSFields = []string{"certificate", "private_key", "source", "names"}

func init() {
	suites = append(suites, mailTLSSuite)
	for _, f := range []string{"name", "state", "last_error", "issuer", "key_type"} {
		skipped["Certificate."+f] = "the panel's record of a certificate (set by the rules and the ACME worker): mail-tls ignores its changes and writes only the chain and key, chosen by the names (the mail-tls suite)"
	}
	skipped["Certificate.domains"] = "ids of the account's domains, looked up by the rules; the names they give are the names field"
}

// tlsIssuer signs the suite's certificates.
type tlsIssuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue is a certificate for names, signed by is (or by itself, a root,
// when is is nil), valid for life: its PEM and its key's (PKCS #8).
func (is *tlsIssuer) issue(t *testing.T, names []string, life time.Duration, ca bool) (*tlsIssuer, string, string, error) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "hostile mail-tls"}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(life), BasicConstraintsValid: true, IsCA: ca}
	parent, parentKey := tmpl, key
	if is != nil {
		parent, parentKey = is.cert, is.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, "", "", err // a name x509 cannot hold
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &tlsIssuer{c, key}, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), nil
}

func runMailTLS(t *testing.T, st *store.Store, r *recorder) {
	bed := sshtest.Load(t)
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary := "/tmp/orchestra-canary-" + tag
	t.Cleanup(func() { run(t, pool, target, "rm -f "+canary) })
	tmp := t.TempDir() // root's, 0700: the server is this machine
	dir := filepath.Join(tmp, "tls")
	parent := "ht" + tag + ".example"
	host := "mail." + parent
	chainFile, certFile, keyFile := dir+"/mail.pem", dir+"/cert.pem", dir+"/key.pem"
	addServer(t, st, "mailtls1", s0, map[string]string{"MAILBOXES_TLS_HOSTNAME": host, "MAILBOXES_TLS_CHAIN": chainFile,
		"MAILBOXES_TLS_CERT": certFile, "MAILBOXES_TLS_KEY": keyFile,
		// no daemons there: nothing is reloaded
		"MAILBOXES_POSTFIX_DIR": tmp + "/no-postfix", "MAILBOXES_DOVECOT_CONF": tmp + "/no-dovecot.conf"},
		certificates.MailTLSBackend)
	_, cust := account(t, st, "ht"+tag)
	for _, name := range []string{parent, host, "other." + parent} {
		if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.Create().SetName(name).Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
	}

	root, _, _, _ := (*tlsIssuer)(nil).issue(t, nil, 365*24*time.Hour, true)
	cert := func(life time.Duration, names ...string) (chain, key string) {
		_, chain, key, err := root.issue(t, names, life, false)
		if err != nil {
			t.Fatal(err)
		}
		return chain, key
	}
	upload := func(key, value, source, chain, privateKey string, blame ...string) *ent.Certificate {
		var c *ent.Certificate
		if r.write(cust, key, value, blame, func(ctx context.Context, tx *ent.Tx) (err error) {
			c, err = tx.Certificate.Create().SetSource(source).SetCertificate(chain).SetPrivateKey(privateKey).Save(ctx)
			return err
		}) == nil {
			return c
		}
		return nil
	}
	chainA, keyA := cert(30*24*time.Hour, host)
	spare := upload("Certificate.certificate", chainA, certificates.Upload, chainA, keyA, "certificate")
	if spare == nil {
		t.Fatal("a valid chain was refused")
	}
	for _, s := range seeds(canary) {
		// names as such, beside the mail host's: data for the backend,
		// which also asks the certificate itself
		r.write(cust, "Certificate.names", s, []string{"names", "domains"}, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Certificate.UpdateOneID(spare.ID).SetNames([]string{s, host}).Exec(ctx)
		})
		upload("Certificate.certificate", s, certificates.Upload, s, keyA, "certificate", "private_key", "domains")
		upload("Certificate.certificate", s, certificates.Upload, chainA+s, keyA, "certificate")
		upload("Certificate.certificate", s, certificates.Upload, s+chainA, keyA, "certificate")
		upload("Certificate.private_key", s, certificates.Upload, chainA, s, "private_key")
		upload("Certificate.private_key", s, certificates.Upload, chainA, keyA+s, "private_key")
		upload("Certificate.private_key", s, certificates.Upload, chainA, s+keyA, "private_key")
		upload("Certificate.source", s, s, chainA, keyA, "source")
		// a name the certificate holds: x509 holds ASCII only
		if _, chain, key, err := root.issue(t, []string{s}, 30*24*time.Hour, false); err == nil {
			if named := r.write(cust, "Certificate.names", s, []string{"certificate", "domains"}, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Certificate.Create().SetSource(certificates.Upload).SetCertificate(chain).SetPrivateKey(key).Exec(ctx)
			}); named != nil {
				r.get("Certificate.names").refused++ // the rules check the names as the account's domains
			}
		}
	}
	r.queued = r.changes()

	// the files' names: a link at the key's, to a file outside
	run(t, pool, target, "install -d -m 0755 "+orchestration.Quote(dir))
	outside := filepath.Join(tmp, "outside")
	if err := os.WriteFile(outside, []byte("outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, keyFile); err != nil {
		t.Fatal(err)
	}
	// the valid ones: the name itself, then a wildcard of it that expires
	// later (it wins), and another name that expires later still (it does
	// not cover the host: left alone)
	chainB, keyB := cert(60*24*time.Hour, host)
	if upload("Certificate.certificate", chainB, certificates.Upload, chainB, keyB, "certificate") == nil {
		t.Fatal("a valid chain was refused")
	}
	chainC, keyC := cert(90*24*time.Hour, "*."+parent)
	wild := upload("Certificate.certificate", chainC, certificates.Upload, chainC, keyC, "certificate")
	if wild == nil {
		t.Fatal("a valid wildcard chain was refused")
	}
	chainD, keyD := cert(120*24*time.Hour, "other."+parent)
	if upload("Certificate.certificate", chainD, certificates.Upload, chainD, keyD, "certificate") == nil {
		t.Fatal("a valid chain for another name was refused")
	}
	r.phase("writes done")
	startExecutor(t, st, pool)
	settle(t, st, 0)
	r.phase("units done")

	read := func(path string) string {
		got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(run(t, pool, target,
			"[[ -f "+orchestration.Quote(path)+" && ! -L "+orchestration.Quote(path)+" ]] && base64 -w0 "+orchestration.Quote(path))))
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	stored, err := st.Certificate.Get(sys, wild.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(stored.Names) != "[*."+parent+"]" {
		t.Fatalf("the wildcard certificate's names: %v", stored.Names)
	}
	ok := true
	for _, f := range []struct{ path, want string }{{chainFile, keyC + stored.Certificate}, {certFile, stored.Certificate}, {keyFile, keyC},
		{dir + "/.orchestra-mail-tls", fmt.Sprintf("%d %d\n", wild.ID, stored.NotAfter.Unix())}} {
		if got := read(f.path); got != f.want {
			t.Errorf("%s holds %q, want %q", f.path, got, f.want)
			ok = false
		}
	}
	if ok {
		for _, f := range mailTLSFields {
			r.arrived("Certificate." + f)
		}
	}
	if got, _ := os.ReadFile(outside); string(got) != "outside\n" {
		t.Errorf("the planted link's target was written: %q", got)
	}
	noCanary(t, pool, target, canary)
}
