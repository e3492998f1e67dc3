package certificates_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/mailer/mailertest"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/certificates"
	"github.com/orchestra-panel/orchestra/internal/services/dns"
	"github.com/orchestra-panel/orchestra/internal/services/dns/bindtest"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/services/web/webtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"

	_ "github.com/orchestra-panel/orchestra/internal/services/all"
)

// acmeBed is the API on the test beds with the web servers, the bind9
// master and slave and Pebble.
type acmeBed struct {
	*apitest.Bed
	web   *webtest.Bed
	bind  *bindtest.Bed
	roots *x509.CertPool // Pebble's, for this run of it
	sink  *mailertest.Sink
}

// newACMEBed starts it; with worker, the certificates worker runs too; more
// are other settings (ORCHESTRA_ names).
func newACMEBed(t testing.TB, st *store.Store, worker bool, more map[string]string) *acmeBed {
	dir, ca := os.Getenv("ORCHESTRA_TEST_PEBBLE_DIRECTORY"), os.Getenv("ORCHESTRA_TEST_PEBBLE_CA")
	if dir == "" {
		t.Skip("no Pebble test bed (ORCHESTRA_TEST_PEBBLE_DIRECTORY): run ./do test")
	}
	wb := webtest.Load(t)
	wb.Lock(t)
	bb := bindtest.Load(t)
	bed := apitest.OnTestBed(t, st, systemusers.Backend, web.NginxBackend, web.ApacheBackend, dns.MasterBackend)
	if bed.Server.Address != bb.Master {
		t.Skipf("the first SSH test-bed server (%s) is not the bind9 master (%s)", bed.Server.Address, bb.Master)
	}
	set := wb.ServerSettings()
	maps.Copy(set, bb.MasterSettings())
	bed.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", bed.ServerID), map[string]any{"version": 1, "settings": set}).Want(http.StatusOK)
	s := bed.SSH.Servers[1]
	slave := bed.Admin.Do("POST", "/servers", map[string]any{"name": "ns-slave", "address": s.Address, "ssh_port": s.Port,
		"host_key": s.HostKey, "settings": bb.SlaveSettings()}).Want(http.StatusCreated).ID()
	bed.Admin.Do("POST", "/routes", map[string]any{"backend": dns.SlaveBackend, "server": slave}).Want(http.StatusCreated)

	b := &acmeBed{Bed: bed, web: wb, bind: bb, sink: mailertest.Start(t)}
	env := map[string]string{"ORCHESTRA_CERTIFICATES_ACME_DIRECTORY": dir, "ORCHESTRA_CERTIFICATES_ACME_CA_FILE": ca}
	maps.Copy(env, more)
	b.sink.Use(t, "ops@example.com", env)
	b.roots = pebbleRoots(t, ca)

	if worker {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); certificates.Work(ctx, st, bed.Ex) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	return b
}

// pebbleRoots fetches the root Pebble issues under now.
func pebbleRoots(t testing.TB, ca string) *x509.CertPool {
	t.Helper()
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	r, err := c.Get(os.Getenv("ORCHESTRA_TEST_PEBBLE_MANAGEMENT") + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	root, _ := io.ReadAll(r.Body)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(root) {
		t.Fatalf("Pebble's root: %q", root)
	}
	return roots
}

// certificate waits until certificate id's state is one of states.
func (b *acmeBed) certificate(c *apitest.Client, id int, states ...string) map[string]any {
	b.T.Helper()
	var last map[string]any
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		last = c.Do("GET", fmt.Sprintf("/certificates/%d", id), nil).Want(http.StatusOK).JSON()
		if slices.Contains(states, last["state"].(string)) {
			return last
		}
	}
	b.T.Fatalf("certificate %d is still %v after 90 s: %v", id, last["state"], last["last_error"])
	return nil
}

// verified waits until the server at addr presents, for host, a
// certificate that chains to Pebble's root, and returns it.
func (b *acmeBed) verified(addr, host string) *x509.Certificate {
	b.T.Helper()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", net.JoinHostPort(addr, "443"),
			&tls.Config{ServerName: host, RootCAs: b.roots})
		if err == nil {
			leaf := c.ConnectionState().PeerCertificates[0]
			c.Close()
			return leaf
		}
		last = err
	}
	b.T.Fatalf("%s does not present a certificate of Pebble's for %s: %v", addr, host, last)
	return nil
}

// TestACMEOverAPI: a website whose SSL directive is automatic gets a
// certificate over HTTP-01 that nginx and Apache present; a wildcard
// certificate is issued over DNS-01, its challenge record served by the
// master and the slave during the order and gone after; a renewal Pebble
// refuses leaves the old certificate serving, says why, and mails staff;
// the private key is in no answer, history entry, stored script or alert.
func TestACMEOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newACMEBed(t, st, true, nil)
		user := apitest.Unique("ac")
		cust, _ := b.Customer(user)
		dom := user + ".example"
		domID := b.Applied(cust.Do("POST", "/domains", map[string]any{"name": dom}).Want(http.StatusCreated)).ID()
		host := "www." + dom
		hostID := b.Applied(cust.Do("POST", "/domains", map[string]any{"name": host}).Want(http.StatusCreated)).ID()
		rec := b.Applied(cust.Do("POST", "/records", map[string]any{"domain": hostID, "type": "A", "value": b.web.Nginx}).
			Want(http.StatusCreated)).JSON()
		site := b.Applied(cust.Do("POST", "/websites", map[string]any{"name": "www", "domains": []int{hostID}}).
			Want(http.StatusCreated)).ID()
		t.Cleanup(func() { b.Admin.Do("DELETE", fmt.Sprintf("/websites/%d", site), nil) })

		// HTTP-01: automatic
		start := time.Now()
		b.Applied(cust.Do("POST", "/website-directives", map[string]any{"website": site, "type": web.DirSSL,
			"settings": map[string]any{"certificate": 0}}).Want(http.StatusCreated))
		b.Applied(cust.Do("PATCH", fmt.Sprintf("/websites/%d", site), map[string]any{"protocol": "https-only", "version": 1}).
			Want(http.StatusOK))
		list := cust.Do("GET", fmt.Sprintf("/certificates?website=%d", site), nil).Want(http.StatusOK).JSON()["results"].([]any)
		if len(list) != 1 {
			t.Fatalf("%d automatic certificates, want 1", len(list))
		}
		auto := int(list[0].(map[string]any)["id"].(float64))
		c := b.certificate(cust, auto, "valid", "failed")
		if c["state"] != "valid" {
			t.Fatalf("HTTP-01 order failed: %v", c["last_error"])
		}
		leaf := b.verified(b.web.Nginx, host)
		t.Logf("HTTP-01: %s from the request to a served certificate", time.Since(start).Round(time.Millisecond))
		if apache := b.verified(b.web.Apache, host); apache.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
			t.Errorf("Apache presents serial %s, nginx %s", apache.SerialNumber, leaf.SerialNumber)
		}
		if fmt.Sprint(c["names"]) != "["+host+"]" || c["source"] != "http-01" || c["not_after"] == nil {
			t.Errorf("the automatic certificate: %v", c)
		}

		// renewal: a round at a time when it is within its renewal window
		// orders it again, and both servers present the new one
		notAfter, err := time.Parse(time.RFC3339, c["not_after"].(string))
		if err != nil {
			t.Fatal(err)
		}
		sys := viewer.System(context.Background(), viewer.ChannelSystem)
		round, err := certificates.RunOnce(sys, st, b.Ex, notAfter.Add(-certificates.RenewBefore.Get()/2))
		if err != nil || round.Issued != 1 || round.Failed != 0 {
			t.Fatalf("the renewal round: %+v %v", round, err)
		}
		renewed := b.certificate(cust, auto, "valid")
		if renewed["not_after"] == c["not_after"] && renewed["version"] == c["version"] {
			t.Errorf("the renewal changed nothing: %v", renewed)
		}
		for _, addr := range []string{b.web.Nginx, b.web.Apache} {
			var got *x509.Certificate
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if got = b.verified(addr, host); got.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
					break
				}
			}
			if got.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
				t.Errorf("%s still presents the certificate the renewal replaced", addr)
			}
		}
		leaf = b.verified(b.web.Nginx, host)

		// DNS-01: a wildcard; its record on the master and the slave meanwhile
		challenge := "_acme-challenge." + dom
		var mu sync.Mutex
		seen := map[string]bool{}
		watch, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, ns := range []string{b.bind.Master, b.bind.Slave} {
			wg.Go(func() {
				for watch.Err() == nil {
					if len(txt(ns, challenge)) > 0 {
						mu.Lock()
						seen[ns] = true
						mu.Unlock()
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
		start = time.Now()
		wildID := b.Applied(cust.Do("POST", "/domains", map[string]any{"name": "*." + dom}).Want(http.StatusCreated)).ID()
		wild := cust.Do("POST", "/certificates", map[string]any{"domains": []int{wildID, domID}, "source": "dns-01"}).
			Want(http.StatusCreated).ID()
		c = b.certificate(cust, wild, "valid", "failed")
		t.Logf("DNS-01: %s from the request to an issued certificate", time.Since(start).Round(time.Millisecond))
		stop()
		wg.Wait()
		if c["state"] != "valid" {
			t.Fatalf("DNS-01 order failed: %v", c["last_error"])
		}
		if !seen[b.bind.Master] || !seen[b.bind.Slave] {
			t.Errorf("the challenge record was served by: %v (want the master and the slave)", seen)
		}
		for _, ns := range []string{b.bind.Master, b.bind.Slave} {
			bindtest.Eventually(t, "the challenge record gone from "+ns, func() (string, bool) {
				got := txt(ns, challenge)
				return fmt.Sprint(got), len(got) == 0
			})
		}

		// a renewal Pebble refuses: nothing answers on the address now
		b.Applied(cust.Do("PATCH", fmt.Sprintf("/records/%v", rec["id"]), map[string]any{"value": "127.0.0.16",
			"version": rec["version"]}).Want(http.StatusOK))
		cust.Do("POST", fmt.Sprintf("/certificates/%d/renew", auto), nil).Want(http.StatusOK)
		c = b.certificate(cust, auto, "failed")
		if e, _ := c["last_error"].(string); !strings.Contains(e, "connection") {
			t.Errorf("the failure says %q", e)
		}
		if got := b.verified(b.web.Nginx, host); got.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
			t.Errorf("a failed renewal replaced the certificate that served")
		}
		var alerts []string
		for deadline := time.Now().Add(10 * time.Second); len(alerts) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			for _, m := range b.sink.Messages() {
				if strings.Contains(string(m), "order failed") {
					alerts = append(alerts, string(m))
				}
			}
		}
		if len(alerts) == 0 {
			t.Errorf("no alert mail of the failed renewal")
		}

		// the keys: in no answer, history entry, stored script or alert
		for _, id := range []int{auto, wild} {
			row, err := st.Certificate.Get(sys, id)
			if err != nil {
				t.Fatal(err)
			}
			key, err := sealed.Open(web.CertificateKeyPurpose, row.PrivateKey)
			if err != nil {
				t.Fatal(err)
			}
			line := strings.Split(strings.TrimSpace(string(key)), "\n")[1]
			for _, path := range []string{fmt.Sprintf("/certificates/%d", id), "/history?object_type=Certificate&page_size=100",
				"/logs?page_size=100"} {
				if strings.Contains(string(b.Admin.Do("GET", path, nil).Want(http.StatusOK).Body), line) {
					t.Errorf("GET %s shows a private key", path)
				}
			}
			logs, err := st.ExecutionLog.Query().All(sys)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range logs {
				if strings.Contains(l.Script+l.Stdout+l.Stderr, line) {
					t.Errorf("log %d (%s) holds a private key", l.ID, l.Backend)
				}
			}
			changes, err := st.Change.Query().All(sys)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range changes {
				if strings.Contains(fmt.Sprint(c.Snapshot), line) {
					t.Errorf("change %d's snapshot holds a private key", c.ID)
				}
			}
			ops, err := st.Operation.Query().All(sys)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range ops {
				if strings.Contains(fmt.Sprint(o.Snapshot), line) || strings.Contains(fmt.Sprint(o.Snapshot), row.PrivateKey) {
					t.Errorf("operation %d's snapshot holds a private key", o.ID)
				}
			}
			for _, m := range b.sink.Messages() {
				if strings.Contains(string(m), line) {
					t.Errorf("an alert holds a private key")
				}
			}
		}
	})
}

// txt is what the name server at addr serves as name's TXT records.
func txt(addr, name string) []string {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), mdns.TypeTXT)
	m.RecursionDesired = false
	in, _, err := (&mdns.Client{Timeout: 2 * time.Second}).Exchange(m, net.JoinHostPort(addr, "53"))
	if err != nil {
		return nil
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*mdns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out
}
