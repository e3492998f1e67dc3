package mail_test

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/services/dns"
	"github.com/orchestra-panel/orchestra/internal/services/dns/bindtest"
	"github.com/orchestra-panel/orchestra/internal/services/mail"
	"github.com/orchestra-panel/orchestra/internal/services/mail/mailtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// errNoRecord is a lookup's answer for a name without TXT records.
var errNoRecord = errors.New("no TXT record")

// lookupTXT asks the name server at addr (host) for name's TXT records,
// each its strings joined: what a verifier reads from the DNS.
func lookupTXT(addr string) func(name string) ([]string, error) {
	return func(name string) ([]string, error) {
		m := new(mdns.Msg)
		m.SetQuestion(mdns.Fqdn(name), mdns.TypeTXT)
		m.RecursionDesired = false
		c := &mdns.Client{Timeout: 2 * time.Second}
		in, _, err := c.Exchange(m, net.JoinHostPort(addr, "53"))
		if err != nil {
			return nil, err
		}
		if in.Rcode != mdns.RcodeSuccess {
			return nil, fmt.Errorf("%s: %s: %w", name, mdns.RcodeToString[in.Rcode], errNoRecord)
		}
		var out []string
		for _, rr := range in.Answer {
			if t, ok := rr.(*mdns.TXT); ok {
				out = append(out, strings.Join(t.Txt, ""))
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: %w", name, errNoRecord)
		}
		slices.Sort(out)
		return out, nil
	}
}

// until waits, up to 30 seconds, for check to hold; what it last said is
// the failure's message.
func until(t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var ok bool
		if ok, last = check(); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after 30 s", what, last)
		}
	}
}

// TestDKIMOverAPI: a customer's first address gives the domain a DKIM key
// whose record, with the SPF and DMARC records, the master name server of
// the bind9 test bed serves; what a mailbox sends through submission is
// signed by the mail test bed's rspamd with that key and verifies against
// the served record. A rotation signs with the new key at once and keeps
// the old record until the retired key's days are over.
func TestDKIMOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		mb := mailtest.LoadExclusive(t) // the backends write the bed's maps and selectors whole
		mb.NeedRspamd(t)
		bb := bindtest.Load(t)
		bed := apitest.OnTestBed(t, st, mail.MailboxBackend, mail.AddressBackend, mail.DKIMBackend, dns.MasterBackend)
		if bed.Server.Address != bb.Master {
			t.Skipf("the first SSH test-bed server (%s) is not the bind9 master (%s)", bed.Server.Address, bb.Master)
		}
		conf := map[string]string{"MAILBOXES_POSTFIX_DIR": mb.PostfixDir(), "MAILBOXES_MAPS_DIR": mb.Dir + "/maps",
			"MAILBOXES_PASSWD_PATH": mb.UsersFile(), "MAILBOXES_VMAIL_DIR": mb.Dir + "/vmail", "MAILBOXES_DOVECOT_CONF": mb.DovecotConf(),
			"MAILBOXES_DKIM_DIR": mb.DKIMDir(), "MAILBOXES_DKIM_GROUP": mailtest.RspamdGroup}
		maps.Copy(conf, bb.MasterSettings())
		bed.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", bed.ServerID), map[string]any{"version": 1, "settings": conf}).Want(http.StatusOK)
		applied := bed.Applied
		lookup := lookupTXT(bb.Master)
		served := func(name string, want ...string) {
			t.Helper()
			until(t, "bind9 serving "+name, func() (bool, string) {
				got, err := lookup(name)
				if len(want) == 0 {
					return errors.Is(err, errNoRecord), fmt.Sprint(got, err)
				}
				return err == nil && slices.Equal(got, want), fmt.Sprint(got, err)
			})
		}

		user := apitest.Unique("dk")
		cust, _ := bed.Customer(user)
		dom := user + ".example"
		domID := applied(cust.Do("POST", "/domains", map[string]any{"name": dom}).Want(http.StatusCreated)).ID()
		ann, bea := user+"ann", user+"bea"
		annID := applied(cust.Do("POST", "/mailboxes", map[string]any{"name": ann, "password": "Ann-mailbox-41"}).Want(http.StatusCreated)).ID()
		beaID := applied(cust.Do("POST", "/mailboxes", map[string]any{"name": bea, "password": "Bea-mailbox-42"}).Want(http.StatusCreated)).ID()
		applied(cust.Do("POST", "/mail-addresses", map[string]any{"name": "info", "domain": domID, "mailboxes": []int{annID}}).Want(http.StatusCreated))
		applied(cust.Do("POST", "/mail-addresses", map[string]any{"name": "bea", "domain": domID, "mailboxes": []int{beaID}}).Want(http.StatusCreated))

		// the key, and its record, the SPF and the DMARC records served
		keys := results(cust, "/dkim-keys")
		if len(keys) != 1 {
			t.Fatalf("%d keys, want 1", len(keys))
		}
		k1 := keys[0]
		sel1 := k1["selector"].(string)
		served(sel1+"._domainkey."+dom, k1["value"].(string))
		served(dom, "v=spf1 mx ~all")
		served("_dmarc."+dom, "v=DMARC1; p=none")

		// what ann sends as info@ is signed with it, and verifies against
		// what bind9 serves
		cb, err := mb.Login(t, bea, "Bea-mailbox-42")
		if err != nil {
			t.Fatal(err)
		}
		signedBy := func(subject, selector string) {
			t.Helper()
			msg := mailtest.Message("info@"+dom, "bea@"+dom, subject, "Signed by the panel's key.")
			if err := mb.SendAuth(t, ann, "Ann-mailbox-41", "info@"+dom, "bea@"+dom, msg); err != nil {
				t.Fatalf("submission: %v", err)
			}
			r, err := cb.WaitForSubject("INBOX", subject, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			sigs := r.Header("DKIM-Signature")
			if len(sigs) != 1 {
				t.Fatalf("%d DKIM-Signature headers, want 1 (%s)\n%s", len(sigs), mb.Log("rspamd.log"), r.Body)
			}
			if d, s := mailtest.DKIMTag(sigs[0], "d"), mailtest.DKIMTag(sigs[0], "s"); d != dom || s != selector {
				t.Errorf("signed d=%s s=%s, want d=%s s=%s", d, s, dom, selector)
			}
			vs, err := mailtest.VerifyDKIM(r.Body, lookup)
			if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != dom {
				t.Errorf("the signature does not verify against the served record: %v", err)
				for _, v := range vs {
					t.Logf("d=%s: %v", v.Domain, v.Err)
				}
			}
		}
		signedBy("signed "+user, sel1)

		// rotated: the new key signs at once, the old record is still served
		k2 := applied(bed.Admin.Do("POST", fmt.Sprintf("/dkim-keys/%v/rotate", k1["id"]), nil).Want(http.StatusCreated)).JSON()
		sel2 := k2["selector"].(string)
		served(sel2+"._domainkey."+dom, k2["value"].(string))
		signedBy("rotated "+user, sel2)
		served(sel1+"._domainkey."+dom, k1["value"].(string))
		if b, _ := os.ReadFile(mb.DKIMSelectors()); string(b) != dom+" "+sel2+"\n" {
			t.Errorf("the selectors file: %q", b)
		}

		// the retired key's days over: it and its record are gone, from the
		// name server and the mail server; the new one stays
		if n, err := mail.DeleteRetiredKeys(t.Context(), st, time.Now().Add(time.Duration(mail.DKIMRetiredDays.Get())*24*time.Hour+time.Minute)); err != nil || n != 1 {
			t.Fatalf("deleted %d retired keys: %v", n, err)
		}
		served(sel1 + "._domainkey." + dom)
		until(t, "the retired key's file removed", func() (bool, string) {
			_, err := os.Lstat(mb.DKIMKeyFile(dom, sel1))
			return os.IsNotExist(err), fmt.Sprint(err)
		})
		served(sel2+"._domainkey."+dom, k2["value"].(string))
		signedBy("after "+user, sel2)
	})
}
