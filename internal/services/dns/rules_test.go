package dns_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/services/dns"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/record"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// staff acts as the panel's operator.
var staff = viewer.System(context.Background(), viewer.ChannelCLI)

// customer acts as account id's user through the API.
func customer(id int) context.Context {
	return viewer.With(context.Background(), viewer.Viewer{AccountID: id, Username: "x", Channel: viewer.ChannelAPI})
}

// rulesEnv gives settings environment values for the test.
func rulesEnv(t *testing.T, env map[string]string) {
	t.Helper()
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if err := settings.LoadEnv(lookup(env)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settings.LoadEnv(lookup(nil)) })
}

// zoneBed writes domains and records through the store's transactions.
type zoneBed struct {
	t  *testing.T
	st *store.Store
}

func (b zoneBed) account(name string) int {
	b.t.Helper()
	var a *ent.Account
	err := b.st.Tx(staff, func(ctx context.Context, tx *ent.Tx) (err error) {
		a, err = tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName(name).SetEmail(name + "@example.com").Save(ctx)
		return err
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return a.ID
}

// addDomain creates name for account acc (0: none given) as ctx's viewer.
func (b zoneBed) addDomain(ctx context.Context, name string, acc int) (*ent.Domain, error) {
	var d *ent.Domain
	err := b.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
		c := tx.Domain.Create().SetName(name)
		if acc != 0 {
			c.SetAccountID(acc)
		}
		d, err = c.Save(ctx)
		return err
	})
	return d, err
}

func (b zoneBed) mustDomain(ctx context.Context, name string, acc int) *ent.Domain {
	b.t.Helper()
	d, err := b.addDomain(ctx, name, acc)
	if err != nil {
		b.t.Fatalf("domain %s: %v", name, err)
	}
	return d
}

func (b zoneBed) addRecord(ctx context.Context, dom int, typ, value, ttl string) (*ent.Record, error) {
	var r *ent.Record
	err := b.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
		r, err = tx.Record.Create().SetDomainID(dom).SetType(typ).SetValue(value).SetTTL(ttl).Save(ctx)
		return err
	})
	return r, err
}

func (b zoneBed) mustRecord(ctx context.Context, dom int, typ, value string) *ent.Record {
	b.t.Helper()
	r, err := b.addRecord(ctx, dom, typ, value, "")
	if err != nil {
		b.t.Fatalf("record %s %s: %v", typ, value, err)
	}
	return r
}

// tx runs fn as staff and fails the test on an error.
func (b zoneBed) tx(fn func(ctx context.Context, tx *ent.Tx) error) {
	b.t.Helper()
	if err := b.st.Tx(staff, fn); err != nil {
		b.t.Fatal(err)
	}
}

// byName returns the domain called name, or nil.
func (b zoneBed) byName(name string) *ent.Domain {
	b.t.Helper()
	d, err := b.st.Domain.Query().Where(domain.Name(name)).Only(staff)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		b.t.Fatal(err)
	}
	return d
}

func (b zoneBed) get(id int) *ent.Domain {
	b.t.Helper()
	d, err := b.st.Domain.Get(staff, id)
	if err != nil {
		b.t.Fatal(err)
	}
	return d
}

func (b zoneBed) records(dom int) []*ent.Record {
	b.t.Helper()
	rs, err := b.st.Record.Query().Where(record.DomainID(dom)).All(staff)
	if err != nil {
		b.t.Fatal(err)
	}
	return rs
}

func (b zoneBed) changes() int {
	b.t.Helper()
	n, err := b.st.Change.Query().Count(staff)
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// fieldErr checks that err is a validate.Errors naming field, with a
// message containing says (when given).
func fieldErr(t *testing.T, err error, field, says string) {
	t.Helper()
	var errs validate.Errors
	if !errors.As(err, &errs) {
		t.Errorf("error %v (%T), want validation errors on %s", err, err, field)
		return
	}
	for _, e := range errs {
		if e.Field == field && strings.Contains(e.Message, says) {
			return
		}
	}
	t.Errorf("errors %v, want one on %s saying %q", errs, field, says)
}

func topID(d *ent.Domain) int {
	if d.TopID == nil {
		return 0
	}
	return *d.TopID
}

func TestDomainNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		alice, bob := b.account("alice"), b.account("bob")
		today, _ := time.Parse("20060102", time.Now().UTC().Format("20060102"))
		d := b.mustDomain(staff, " Example.COM. ", alice)
		if d.Name != "example.com" || d.TopID != nil || d.AccountID != alice {
			t.Errorf("created %+v", d)
		}
		if got := b.get(d.ID); got.Serial < dns.NextSerial(0, today) {
			t.Errorf("serial of a new zone: %d", got.Serial)
		}

		for name, says := range map[string]string{
			"exa mple.org":                          "letters, digits",
			"a..example.org":                        "empty labels",
			".example.org":                          "empty labels",
			"example.org..":                         "empty labels",
			strings.Repeat("a", 64) + ".org":        "63 characters",
			"bücher.de":                             "punycode",
			"xn--bcher-kva.de ü":                    "",
			"com":                                   "full domain name",
			"*.example.org":                         "wildcard is a subdomain",
			"_dmarc.example.org":                    "underscores",
			"ex_ample.org":                          "underscores",
			"-a.example.org":                        "hyphen",
			"a.*.example.org":                       "letters, digits",
			"":                                      "",
			"a.example.org/x":                       "letters, digits",
			strings.Repeat("abcdefgh.", 30) + "org": "253",
		} {
			_, err := b.addDomain(staff, name, alice)
			fieldErr(t, err, "name", says)
			if n, _ := st.Domain.Query().Count(staff); n != 1 {
				t.Fatalf("%q: %d domains", name, n)
			}
		}
		// international names in their punycode form are fine
		b.mustDomain(staff, "xn--bcher-kva.de", alice)

		// taken, whatever the case or final dot, whoever asks
		for _, c := range []struct {
			ctx  context.Context
			name string
		}{{staff, "example.com"}, {staff, "EXAMPLE.com."}, {customer(bob), "example.com"}, {customer(alice), "Example.Com"}} {
			_, err := b.addDomain(c.ctx, c.name, 0)
			var conflict *validate.Conflict
			if !errors.As(err, &conflict) || conflict.Field != "name" {
				t.Errorf("%s again: %v (%T), want a conflict on name", c.name, err, err)
			}
		}

		// a top domain needs an account
		_, err := b.addDomain(staff, "nobody.org", 0)
		fieldErr(t, err, "account", "")

		// wildcards and service names are subdomains
		for _, name := range []string{"*.example.com", "_dmarc.example.com", "_sip._tcp.example.com", "*.www.example.com"} {
			if s := b.mustDomain(staff, name, 0); topID(s) != d.ID || s.AccountID != alice {
				t.Errorf("%s: top %d, account %d", name, topID(s), s.AccountID)
			}
		}

		// names and accounts stay; timers are intervals
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.UpdateOneID(d.ID).SetName("example.net").Exec(ctx)
		})
		fieldErr(t, err, "name", "")
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.Update().Where(domain.ID(d.ID)).SetName("example.net").Exec(ctx)
		})
		fieldErr(t, err, "name", "")
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.UpdateOneID(d.ID).SetAccountID(bob).Exec(ctx)
		})
		fieldErr(t, err, "account", "")
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.UpdateOneID(d.ID).SetRefresh("1x").Exec(ctx)
		})
		fieldErr(t, err, "refresh", "")
		for _, f := range []func(*ent.DomainUpdateOne){
			func(u *ent.DomainUpdateOne) { u.SetRetry("1.5h") },
			func(u *ent.DomainUpdateOne) { u.SetExpire("-1") },
			func(u *ent.DomainUpdateOne) { u.SetMinTTL("9999999999") },
		} {
			err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
				u := tx.Domain.UpdateOneID(d.ID)
				f(u)
				return u.Exec(ctx)
			})
			var errs validate.Errors
			if !errors.As(err, &errs) {
				t.Errorf("bad timer: %v", err)
			}
		}
		b.tx(func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.UpdateOneID(d.ID).SetRefresh(" 2d ").SetRetry("7200").SetExpire("").SetMinTTL("5m").Exec(ctx)
		})
		if got := b.get(d.ID); got.Refresh != "2d" || got.Retry != "7200" || got.Expire != "" || got.MinTTL != "5m" || got.Name != "example.com" || got.AccountID != alice {
			t.Errorf("after the update: %+v", got)
		}
		// the top and the serial are the panel's
		sub := b.mustDomain(staff, "www.example.com", 0)
		for field, f := range map[string]func(*ent.DomainUpdateOne){
			"top":    func(u *ent.DomainUpdateOne) { u.SetTopID(d.ID) },
			"serial": func(u *ent.DomainUpdateOne) { u.SetSerial(1) },
		} {
			for _, id := range []int{d.ID, sub.ID} {
				err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
					u := tx.Domain.UpdateOneID(id)
					f(u)
					return u.Exec(ctx)
				})
				fieldErr(t, err, field, "kept by the panel")
			}
		}
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.UpdateOneID(sub.ID).ClearTopID().Exec(ctx)
		})
		fieldErr(t, err, "top", "kept by the panel")
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.Update().Where(domain.ID(sub.ID)).SetTopID(sub.ID).Exec(ctx)
		})
		fieldErr(t, err, "top", "kept by the panel")
		if got := b.get(sub.ID); topID(got) != d.ID || got.Serial != 0 {
			t.Errorf("www.example.com after the refusals: top %d serial %d", topID(got), got.Serial)
		}
		// a subdomain's serial is not its own: its top's counts
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.Create().SetName("ftp.example.com").SetSerial(2099010100).Exec(ctx)
		})
		if got := b.byName("ftp.example.com"); err != nil || got == nil || got.Serial != 0 {
			t.Errorf("subdomain created with a serial: %+v %v", got, err)
		}
	})
}

func TestTopLinkage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		alice, bob := b.account("alice"), b.account("bob")

		// a subdomain registered first is a zone of its own, until its parent comes
		a := b.mustDomain(staff, "a.example.com", alice)
		if a.TopID != nil {
			t.Errorf("a.example.com: top %d", *a.TopID)
		}
		top := b.mustDomain(staff, "example.com", alice)
		if top.TopID != nil {
			t.Errorf("example.com: top %d", *top.TopID)
		}
		if got := b.get(a.ID); topID(got) != top.ID {
			t.Errorf("a.example.com not taken over: top %d, want %d", topID(got), top.ID)
		}
		// the top is the registered parent closest to the root, and the account is its
		ba := b.mustDomain(staff, "b.a.example.com", 0)
		if topID(ba) != top.ID || ba.AccountID != alice {
			t.Errorf("b.a.example.com: top %d account %d, want %d and %d", topID(ba), ba.AccountID, top.ID, alice)
		}

		// deeper: x.y first, then the top, then y in between
		xy := b.mustDomain(staff, "x.y.example.info", alice)
		info := b.mustDomain(staff, "example.info", alice)
		y := b.mustDomain(staff, "y.example.info", 0)
		if topID(b.get(xy.ID)) != info.ID || topID(y) != info.ID {
			t.Errorf("example.info's zone: x.y top %d, y top %d, want %d", topID(b.get(xy.ID)), topID(y), info.ID)
		}

		// nobody registers a name under another account's
		_, err := b.addDomain(staff, "c.example.com", bob)
		fieldErr(t, err, "name", "example.com belongs to another account")
		_, err = b.addDomain(customer(bob), "c.example.com", 0)
		fieldErr(t, err, "name", "example.com belongs to another account")
		_, err = b.addDomain(customer(bob), "*.example.com", 0)
		fieldErr(t, err, "name", "another account")
		if b.byName("c.example.com") != nil || b.byName("*.example.com") != nil {
			t.Error("bob's subdomain of alice's domain exists")
		}
		// a customer names only their own account
		_, err = b.addDomain(customer(bob), "c.example.com", alice)
		var forbidden *authz.Forbidden
		if !errors.As(err, &forbidden) {
			t.Errorf("bob registering for alice: %v (%T)", err, err)
		}
		// the owner may
		c := b.mustDomain(customer(alice), "c.example.com", 0)
		if c.AccountID != alice || topID(c) != top.ID {
			t.Errorf("alice's c.example.com: account %d top %d", c.AccountID, topID(c))
		}

		// nor a name above another account's
		below := b.mustDomain(staff, "a.example.net", alice)
		_, err = b.addDomain(customer(bob), "example.net", 0)
		fieldErr(t, err, "name", "a.example.net, below this name, belongs to another account")
		_, err = b.addDomain(staff, "example.net", bob)
		fieldErr(t, err, "name", "a.example.net")
		if b.byName("example.net") != nil || topID(b.get(below.ID)) != 0 {
			t.Error("bob's example.net took alice's a.example.net over")
		}
		net := b.mustDomain(customer(alice), "example.net", 0)
		if topID(b.get(below.ID)) != net.ID {
			t.Error("alice's example.net did not take a.example.net over")
		}
		// a name merely ending the same way is not below
		b.mustDomain(customer(bob), "anexample.net", 0)

		// a customer's own zone works the same way
		bobs := b.mustDomain(customer(bob), "bob.example", 0)
		www := b.mustDomain(customer(bob), "www.bob.example", 0)
		if bobs.AccountID != bob || www.AccountID != bob || topID(www) != bobs.ID {
			t.Errorf("bob's zone: %+v %+v", bobs, www)
		}
		_, err = b.addDomain(customer(alice), "x.bob.example", 0)
		fieldErr(t, err, "name", "")
	})
}

func TestForbiddenDomains(t *testing.T) {
	rulesEnv(t, map[string]string{"ORCHESTRA_DOMAINS_FORBIDDEN": "panel.lan, Forbidden.ORG."})
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		alice := b.account("alice")
		for _, name := range []string{"panel.lan", "www.panel.lan", "a.b.panel.lan", "forbidden.org", "x.forbidden.org", "PANEL.LAN."} {
			_, err := b.addDomain(customer(alice), name, 0)
			fieldErr(t, err, "name", "cannot be registered here")
		}
		b.mustDomain(customer(alice), "notpanel.lan", 0)
		b.mustDomain(customer(alice), "panel.lan.example.com", 0)
		// staff may
		b.mustDomain(staff, "panel.lan", alice)
		super := viewer.With(context.Background(), viewer.Viewer{AccountID: alice, Username: "root", Superuser: true, Channel: viewer.ChannelWeb})
		b.mustDomain(super, "forbidden.org", alice)
		// even when the customer owns the parent
		_, err := b.addDomain(customer(alice), "www.panel.lan", 0)
		fieldErr(t, err, "name", "cannot be registered here")
		b.mustDomain(staff, "www.panel.lan", 0)
	})
}

func TestRecordRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		alice, bob := b.account("alice"), b.account("bob")
		top := b.mustDomain(staff, "example.com", alice)
		www := b.mustDomain(staff, "www.example.com", 0)
		bobs := b.mustDomain(staff, "example.org", bob)

		// type upper-cased, value normalized, account the domain's
		r, err := b.addRecord(staff, top.ID, " a ", " 192.0.2.1 ", " 1h ")
		if err != nil {
			t.Fatal(err)
		}
		if r.Type != "A" || r.Value != "192.0.2.1" || r.TTL != "1h" || r.AccountID != alice || r.DomainID != top.ID {
			t.Errorf("A record: %+v", r)
		}
		for _, c := range [][3]string{
			{"mx", "10 Mail.Example.COM", "10 mail.example.com."},
			{"Txt", "  Spaced \"Text\"  ", "  Spaced \"Text\"  "},
			{"CAA", `0 ISSUE letsencrypt.org`, `0 issue "letsencrypt.org"`},
			{"aaaa", "2001:DB8::0:1", "2001:db8::1"},
		} {
			if r := b.mustRecord(staff, top.ID, c[0], c[1]); r.Value != c[2] || r.Type != strings.ToUpper(c[0]) {
				t.Errorf("%s %q: stored %s %q, want %q", c[0], c[1], r.Type, r.Value, c[2])
			}
		}
		srv := b.mustDomain(staff, "_sip._tcp.example.com", 0)
		if r := b.mustRecord(staff, srv.ID, "SRV", "10 5 5060 Sip.Example.com"); r.Value != "10 5 5060 sip.example.com." {
			t.Errorf("SRV: %q", r.Value)
		}

		// refused values name the field
		n := len(b.records(top.ID))
		for _, c := range []struct{ typ, value, ttl, field string }{
			{"A", "2001:db8::1", "", "value"},
			{"A", "192.0.2.300", "", "value"},
			{"AAAA", "192.0.2.1", "", "value"},
			{"MX", "10 192.0.2.25", "", "value"},
			{"MX", "mail.example.com", "", "value"},
			{"NS", "192.0.2.53", "", "value"},
			{"CNAME", "-x.example.com", "", "value"},
			{"CAA", `256 issue "x"`, "", "value"},
			{"TXT", "", "", "value"},
			{"TXT", strings.Repeat("x", 4001), "", "value"},
			{"SRV", "1 2 3", "", "value"},
			{"SOA", "ns1.example.com. hostmaster.example.com. 1 1d 2h 4w", "", "value"},
			{"FOO", "x", "", "type"},
			{"SPF", "v=spf1 -all", "", "type"},
			{"", "192.0.2.1", "", "type"},
			{"A", "192.0.2.9", "1x", "ttl"},
			{"A", "192.0.2.9", "-5", "ttl"},
			{"A", "192.0.2.9", "3000000000", "ttl"},
		} {
			_, err := b.addRecord(staff, top.ID, c.typ, c.value, c.ttl)
			fieldErr(t, err, c.field, "")
		}
		if got := len(b.records(top.ID)); got != n {
			t.Errorf("%d records after refusals, want %d", got, n)
		}

		// a CNAME is alone at its name
		w1 := b.mustDomain(staff, "w1.example.com", 0)
		b.mustRecord(staff, w1.ID, "A", "192.0.2.11")
		_, err = b.addRecord(staff, w1.ID, "CNAME", "example.com", "")
		fieldErr(t, err, "type", "CNAME")
		w2 := b.mustDomain(staff, "w2.example.com", 0)
		cname := b.mustRecord(staff, w2.ID, "CNAME", "Example.com")
		if cname.Value != "example.com." {
			t.Errorf("CNAME value %q", cname.Value)
		}
		for _, c := range [][2]string{{"A", "192.0.2.12"}, {"TXT", "x"}, {"MX", "10 mx.example.org"}, {"CNAME", "other.example.org"}} {
			_, err = b.addRecord(staff, w2.ID, c[0], c[1], "")
			fieldErr(t, err, "type", "CNAME")
		}
		// in one transaction too
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			d, err := tx.Domain.Create().SetName("w3.example.com").Save(ctx)
			if err != nil {
				return err
			}
			if err := tx.Record.Create().SetDomainID(d.ID).SetType("TXT").SetValue("x").Exec(ctx); err != nil {
				return err
			}
			return tx.Record.Create().SetDomainID(d.ID).SetType("CNAME").SetValue("example.com").Exec(ctx)
		})
		fieldErr(t, err, "type", "CNAME")
		if b.byName("w3.example.com") != nil {
			t.Error("w3.example.com exists after its refused transaction")
		}
		_, err = b.addRecord(staff, top.ID, "CNAME", "example.org", "")
		fieldErr(t, err, "type", "top domain")
		if got := len(b.records(w2.ID)); got != 1 {
			t.Errorf("w2 has %d records", got)
		}

		// SOA: on the top only, once
		_, err = b.addRecord(staff, www.ID, "SOA", "ns1.example.net. hostmaster.example.net. 1 1d 2h 4w 1h", "")
		fieldErr(t, err, "type", "SOA")
		soa := b.mustRecord(staff, top.ID, "SOA", "NS1.example.net. hostmaster.example.net. 1 1d 2h 4w 1h")
		if soa.Value != "ns1.example.net. hostmaster.example.net. 1 1d 2h 4w 1h" {
			t.Errorf("SOA value %q", soa.Value)
		}
		_, err = b.addRecord(staff, top.ID, "SOA", "ns2.example.net. hostmaster.example.net. 1 1d 2h 4w 1h", "")
		fieldErr(t, err, "type", "one SOA")

		// a customer writes only on their own domains
		_, err = b.addRecord(customer(bob), top.ID, "A", "192.0.2.66", "")
		fieldErr(t, err, "domain", "")
		_, err = b.addRecord(customer(bob), www.ID, "TXT", "pwned", "")
		fieldErr(t, err, "domain", "")
		err = st.Tx(customer(bob), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.Create().SetDomainID(top.ID).SetAccountID(alice).SetType("A").SetValue("192.0.2.66").Exec(ctx)
		})
		var forbidden *authz.Forbidden
		if !errors.As(err, &forbidden) {
			t.Errorf("bob writing as alice: %v (%T)", err, err)
		}
		_, err = b.addRecord(customer(bob), 1<<30, "A", "192.0.2.66", "")
		fieldErr(t, err, "domain", "")
		mine, err := b.addRecord(customer(alice), www.ID, "A", "192.0.2.80", "")
		if err != nil || mine.AccountID != alice {
			t.Fatalf("alice's record: %+v, %v", mine, err)
		}
		b.mustRecord(customer(bob), bobs.ID, "A", "192.0.2.90")
		// nor does staff give a record another account than its domain's
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.Create().SetDomainID(top.ID).SetAccountID(bob).SetType("A").SetValue("192.0.2.67").Exec(ctx)
		})
		fieldErr(t, err, "domain", "")
		// nor changes another account's records
		err = st.Tx(customer(bob), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.UpdateOneID(mine.ID).SetValue("192.0.2.66").Exec(ctx)
		})
		if err == nil {
			t.Error("bob changed alice's record")
		}
		err = st.Tx(customer(bob), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.DeleteOneID(mine.ID).Exec(ctx)
		})
		if err == nil {
			t.Error("bob deleted alice's record")
		}
		if got, err := st.Record.Get(staff, mine.ID); err != nil || got.Value != "192.0.2.80" {
			t.Errorf("alice's record after bob: %+v %v", got, err)
		}

		// a record stays on its domain; its value is checked again on update
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.UpdateOneID(mine.ID).SetDomainID(top.ID).Exec(ctx)
		})
		fieldErr(t, err, "domain", "cannot move")
		err = st.Tx(customer(alice), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.UpdateOneID(mine.ID).SetDomainID(bobs.ID).Exec(ctx)
		})
		fieldErr(t, err, "domain", "")
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.UpdateOneID(mine.ID).SetValue("not an address").Exec(ctx)
		})
		fieldErr(t, err, "value", "")
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.UpdateOneID(mine.ID).SetType("CNAME").SetValue("example.com").Exec(ctx)
		})
		if err != nil {
			t.Errorf("A to CNAME on a name with nothing else: %v", err)
		}
		err = st.Tx(customer(alice), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.UpdateOneID(mine.ID).SetType("A").SetValue(" 192.0.2.81 ").Exec(ctx)
		})
		if got, _ := st.Record.Get(staff, mine.ID); err != nil || got.Value != "192.0.2.81" || got.DomainID != www.ID {
			t.Errorf("after alice's update: %+v %v", got, err)
		}
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.Update().Where(record.DomainID(top.ID)).SetTTL("2h").Exec(ctx)
		})
		fieldErr(t, err, "value", "one at a time")
	})
}

// TestSerial: each committed change of a zone bumps its top domain's serial
// once, and never its version.
func TestSerial(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		alice := b.account("alice")
		top := b.mustDomain(staff, "example.com", alice)
		other := b.mustDomain(staff, "example.org", alice)
		top, other = b.get(top.ID), b.get(other.ID)
		version, otherSerial := top.Version, other.Serial

		serial := top.Serial
		step := func(what string, bumps int, fn func(ctx context.Context, tx *ent.Tx) error) {
			t.Helper()
			if err := st.Tx(staff, fn); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			got := b.get(top.ID)
			want := serial
			for range bumps {
				want = dns.NextSerial(want, time.Now())
			}
			// a change a moment before midnight UTC is numbered on its own day
			if got.Serial != want && !(bumps == 1 && got.Serial == serial+1) {
				t.Errorf("%s: serial %d → %d, want %d", what, serial, got.Serial, want)
			}
			if got.Version != version {
				t.Errorf("%s: version %d → %d", what, version, got.Version)
			}
			serial = got.Serial
		}
		var r1, r2 *ent.Record
		var sub *ent.Domain
		step("a record", 1, func(ctx context.Context, tx *ent.Tx) (err error) {
			r1, err = tx.Record.Create().SetDomainID(top.ID).SetType("A").SetValue("192.0.2.1").Save(ctx)
			return err
		})
		step("three records in one transaction", 1, func(ctx context.Context, tx *ent.Tx) (err error) {
			for _, v := range []string{"v=spf1 -all", "google-site-verification=x"} {
				if err := tx.Record.Create().SetDomainID(top.ID).SetType("TXT").SetValue(v).Exec(ctx); err != nil {
					return err
				}
			}
			r2, err = tx.Record.Create().SetDomainID(top.ID).SetType("MX").SetValue("10 mx.example.org").Save(ctx)
			return err
		})
		step("a record's update", 1, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.UpdateOne(r1).SetValue("192.0.2.2").Exec(ctx)
		})
		step("two updates and a delete", 1, func(ctx context.Context, tx *ent.Tx) error {
			if err := tx.Record.UpdateOneID(r1.ID).SetTTL("5m").Exec(ctx); err != nil {
				return err
			}
			if err := tx.Record.UpdateOneID(r1.ID).SetTTL("10m").Exec(ctx); err != nil {
				return err
			}
			return tx.Record.DeleteOneID(r2.ID).Exec(ctx)
		})
		step("a record's delete", 1, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.DeleteOneID(r1.ID).Exec(ctx)
		})
		step("a subdomain", 1, func(ctx context.Context, tx *ent.Tx) (err error) {
			sub, err = tx.Domain.Create().SetName("www.example.com").Save(ctx)
			return err
		})
		step("a subdomain's record", 1, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.Create().SetDomainID(sub.ID).SetType("AAAA").SetValue("2001:db8::1").Exec(ctx)
		})
		step("a subdomain with records and a top's record together", 1, func(ctx context.Context, tx *ent.Tx) error {
			d, err := tx.Domain.Create().SetName("mail.example.com").Save(ctx)
			if err != nil {
				return err
			}
			if err := tx.Record.Create().SetDomainID(d.ID).SetType("A").SetValue("192.0.2.25").Exec(ctx); err != nil {
				return err
			}
			return tx.Record.Create().SetDomainID(top.ID).SetType("MX").SetValue("5 mail.example.com").Exec(ctx)
		})
		step("a subdomain's delete", 1, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.DeleteOneID(sub.ID).Exec(ctx)
		})
		step("nothing of this zone", 0, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.Create().SetDomainID(other.ID).SetType("A").SetValue("192.0.2.3").Exec(ctx)
		})
		if got := b.get(other.ID).Serial; got == otherSerial {
			t.Error("example.org's record did not bump its serial")
		}
		otherSerial = b.get(other.ID).Serial

		// a customer's change counts the same
		err := st.Tx(customer(alice), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.Create().SetDomainID(top.ID).SetType("TXT").SetValue("by alice").Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := b.get(top.ID); got.Serial <= serial || got.Version != version {
			t.Errorf("alice's record: serial %d → %d, version %d → %d", serial, got.Serial, version, got.Version)
		}
		serial = b.get(top.ID).Serial

		// a refused transaction changes nothing
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			if err := tx.Record.Create().SetDomainID(top.ID).SetType("A").SetValue("192.0.2.4").Exec(ctx); err != nil {
				return err
			}
			return tx.Record.Create().SetDomainID(top.ID).SetType("A").SetValue("bogus").Exec(ctx)
		})
		fieldErr(t, err, "value", "")
		if got := b.get(top.ID); got.Serial != serial || got.Version != version {
			t.Errorf("after a refused transaction: serial %d → %d, version %d → %d", serial, got.Serial, version, got.Version)
		}

		// the user's own change of the domain bumps both, once
		step2 := b.get(top.ID)
		b.tx(func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.UpdateOneID(top.ID).SetRefresh("2d").Exec(ctx)
		})
		if got := b.get(top.ID); got.Serial <= step2.Serial || got.Version != step2.Version+1 {
			t.Errorf("refresh changed: serial %d → %d, version %d → %d", step2.Serial, got.Serial, step2.Version, got.Version)
		}
		// a new top domain taking subdomains over bumps its own zone
		b.mustDomain(staff, "x.example.net", alice)
		net := b.mustDomain(staff, "example.net", alice)
		if got := b.get(net.ID); got.Serial < net.Serial || got.Version != net.Version {
			t.Errorf("example.net: %+v, created %+v", got, net)
		}
		if got := b.get(other.ID).Serial; got != otherSerial {
			t.Errorf("example.org's serial moved with other zones: %d → %d", otherSerial, got)
		}
	})
}

// TestZoneMustLoad: a change that makes the zone fail named-checkzone is
// refused at commit, and nothing of it stays.
func TestZoneMustLoad(t *testing.T) {
	if _, err := exec.LookPath("named-checkzone"); err != nil {
		t.Skip("named-checkzone not installed")
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		alice := b.account("alice")
		top := b.mustDomain(staff, "example.com", alice)
		top = b.get(top.ID)
		changes := b.changes()

		// an in-zone name server without an address
		for _, ctx := range []context.Context{staff, customer(alice)} {
			_, err := b.addRecord(ctx, top.ID, "NS", "ns1.example.com", "")
			fieldErr(t, err, "value", "would not load")
			fieldErr(t, err, "value", "ns1.example.com")
		}
		// a name server whose name is not a host name
		_, err := b.addRecord(staff, top.ID, "NS", "ns_1.example.org", "")
		fieldErr(t, err, "value", "would not load")
		if rs := b.records(top.ID); len(rs) != 0 {
			t.Errorf("records after the refusals: %v", rs)
		}
		if got := b.changes(); got != changes {
			t.Errorf("%d changes after the refusals, %d before", got, changes)
		}
		if got := b.get(top.ID); got.Serial != top.Serial || got.Version != top.Version {
			t.Errorf("after the refusals: %+v, before %+v", got, top)
		}

		// the zone is judged as a whole: the name server with its address loads
		b.tx(func(ctx context.Context, tx *ent.Tx) error {
			ns, err := tx.Domain.Create().SetName("ns1.example.com").Save(ctx)
			if err != nil {
				return err
			}
			if err := tx.Record.Create().SetDomainID(top.ID).SetType("NS").SetValue("ns1.example.com").Exec(ctx); err != nil {
				return err
			}
			return tx.Record.Create().SetDomainID(ns.ID).SetType("A").SetValue("192.0.2.53").Exec(ctx)
		})
		ns := b.byName("ns1.example.com")
		changes = b.changes()
		before := b.get(top.ID)
		// taking the name server's name away again is refused
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.DeleteOneID(ns.ID).Exec(ctx)
		})
		fieldErr(t, err, "value", "would not load")
		if b.byName("ns1.example.com") == nil || len(b.records(ns.ID)) != 1 {
			t.Error("ns1.example.com or its address gone after the refusal")
		}
		if got := b.changes(); got != changes {
			t.Errorf("%d changes after the refusal, %d before", got, changes)
		}
		if got := b.get(top.ID); got.Serial != before.Serial {
			t.Errorf("serial %d after the refusal, %d before", got.Serial, before.Serial)
		}
		// taking its address away is not: a host without address gets the default one
		b.tx(func(ctx context.Context, tx *ent.Tx) error {
			_, err := tx.Record.Delete().Where(record.DomainID(ns.ID)).Exec(ctx)
			return err
		})
		// a name server that is a CNAME does not load either
		_, err = b.addRecord(staff, ns.ID, "CNAME", "example.com", "")
		fieldErr(t, err, "value", "would not load")
		if len(b.records(ns.ID)) != 0 {
			t.Error("the refused CNAME stayed")
		}
	})
}

// TestNoWriteOutsideTx: the rules judge a zone at commit, so the store
// takes no write outside a transaction.
func TestNoWriteOutsideTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		alice := b.account("alice")
		top := b.mustDomain(staff, "example.com", alice)
		if _, err := st.Record.Create().SetDomainID(top.ID).SetType("A").SetValue("192.0.2.1").Save(staff); err == nil {
			t.Error("a record written outside a transaction")
		}
		if _, err := st.Domain.Create().SetName("example.org").SetAccountID(alice).Save(staff); err == nil {
			t.Error("a domain written outside a transaction")
		}
		if len(b.records(top.ID)) != 0 || b.byName("example.org") != nil {
			t.Error("a write outside a transaction stayed")
		}
	})
}

func TestDeleteCascade(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		alice, bob := b.account("alice"), b.account("bob")
		mk := func(ctx context.Context, acc int, names ...string) []*ent.Domain {
			var ds []*ent.Domain
			for i, n := range names {
				a := 0
				if i == 0 {
					a = acc
				}
				d := b.mustDomain(ctx, n, a)
				b.mustRecord(ctx, d.ID, "TXT", "on "+n)
				ds = append(ds, d)
			}
			return ds
		}
		ex := mk(staff, alice, "example.com", "www.example.com", "a.www.example.com", "*.example.com", "_dmarc.example.com")
		org := mk(customer(bob), bob, "example.org", "www.example.org")

		// a subdomain takes its records with it, and only its
		b.tx(func(ctx context.Context, tx *ent.Tx) error { return tx.Domain.DeleteOneID(ex[2].ID).Exec(ctx) })
		if b.byName("a.www.example.com") != nil || len(b.records(ex[2].ID)) != 0 {
			t.Error("a.www.example.com or its records left")
		}
		if len(b.records(ex[1].ID)) != 1 || len(b.records(ex[0].ID)) != 1 {
			t.Error("the rest of the zone went with a.www.example.com")
		}

		// a top domain takes its zone with it
		b.tx(func(ctx context.Context, tx *ent.Tx) error { return tx.Domain.DeleteOneID(ex[0].ID).Exec(ctx) })
		for _, d := range ex {
			if left := b.byName(d.Name); left != nil || len(b.records(d.ID)) != 0 {
				t.Errorf("%s or its records left after its top's delete (left: %+v)", d.Name, left)
			}
		}
		// a customer deleting their own
		err := st.Tx(customer(alice), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.DeleteOneID(org[0].ID).Exec(ctx)
		})
		if err == nil {
			t.Error("alice deleted bob's domain")
		}
		if err := st.Tx(customer(bob), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.DeleteOneID(org[0].ID).Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Domain.Query().Count(staff); n != 0 {
			t.Errorf("%d domains left", n)
		}
		if n, _ := st.Record.Query().Count(staff); n != 0 {
			t.Errorf("%d records left", n)
		}
	})
}

// TestRecordAlone: the rules BIND applies to a record on its own are
// checked without the rest of the zone, and those that involve other
// records (the zone's own name servers) with the few rows they concern.
func TestRecordAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		alice := b.account("alice")
		top := b.mustDomain(staff, "example.com", alice)
		dmarc := b.mustDomain(staff, "_dmarc.example.com", 0)
		sip := b.mustDomain(staff, "_sip._tcp.example.com", 0)

		// check-names: records of hosts on host names, host names in the data
		for _, c := range []struct {
			dom       int
			typ, val  string
			refused   bool
			mentioned string
		}{
			{dmarc.ID, "A", "192.0.2.1", true, "_dmarc.example.com"},
			{sip.ID, "AAAA", "2001:db8::1", true, "_sip._tcp.example.com"},
			{dmarc.ID, "MX", "10 mx.example.org", true, "_dmarc.example.com"},
			{top.ID, "NS", "ns_1.example.org", true, "ns_1.example.org"},
			{top.ID, "MX", "10 x_y.example.org", true, "x_y.example.org"},
			{sip.ID, "SRV", "1 2 3 sip_1.example.org", true, "sip_1.example.org"},
			{top.ID, "SOA", "ns_x.example.org. h.example.org. 1 1d 2h 4w 1h", true, "ns_x.example.org"},
			{top.ID, "SOA", "ns.example.org. h.x_y.example.org. 1 1d 2h 4w 1h", true, "x_y.example.org"},
			{top.ID, "SOA", `ns.example.org. first_last.example.org. 1 1d 2h 4w 1h`, false, ""},
			{dmarc.ID, "TXT", "v=DMARC1; p=none", false, ""},
			{sip.ID, "SRV", "1 2 3 sip.example.org", false, ""},
			{top.ID, "MX", "0 .", false, ""},
			{b.mustDomain(staff, "alias.example.com", 0).ID, "CNAME", "_sip._tcp.example.com", false, ""},
		} {
			_, err := b.addRecord(staff, c.dom, c.typ, c.val, "")
			if !c.refused {
				if err != nil {
					t.Errorf("%s %s: %v", c.typ, c.val, err)
				}
				continue
			}
			fieldErr(t, err, "value", "The zone example.com would not load")
			fieldErr(t, err, "value", c.mentioned)
		}

		// at most 100 records of one type on a name: BIND loads no more
		many := b.mustDomain(staff, "_many.example.com", 0)
		b.tx(func(ctx context.Context, tx *ent.Tx) error {
			for i := range 100 {
				if err := tx.Record.Create().SetDomainID(many.ID).SetType("TXT").SetValue(fmt.Sprint("t", i)).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		_, err := b.addRecord(staff, many.ID, "TXT", "one too many", "")
		fieldErr(t, err, "type", "at most 100 records of one type")
		b.mustRecord(staff, many.ID, "CAA", `0 issue "letsencrypt.org"`)

		// the zone's own name servers in it: an address of their own, the
		// default one of a host, or a wildcard's
		wild := b.mustDomain(staff, "*.example.com", 0)
		wildA := b.mustRecord(staff, wild.ID, "A", "192.0.2.9")
		ns := b.mustRecord(staff, top.ID, "NS", "ns1.example.com")
		text := b.mustDomain(staff, "text.example.com", 0)
		b.mustRecord(staff, text.ID, "TXT", "not a host")
		_, err = b.addRecord(staff, top.ID, "NS", "text.example.com", "")
		fieldErr(t, err, "value", "the name server text.example.com has no address")
		// a wildcard with text only is no host: ns1 has no address then
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			if err := tx.Record.DeleteOneID(wildA.ID).Exec(ctx); err != nil {
				return err
			}
			return tx.Record.Create().SetDomainID(wild.ID).SetType("TXT").SetValue("wild").Exec(ctx)
		})
		fieldErr(t, err, "value", fmt.Sprintf("because of record %d of example.com: the name server ns1.example.com has no address", ns.ID))
		// its own name, with nothing else, is a host: it gets the default address
		b.mustDomain(staff, "ns1.example.com", 0)
		b.tx(func(ctx context.Context, tx *ent.Tx) error { return tx.Record.DeleteOneID(wildA.ID).Exec(ctx) })
		// and an alias is no name server
		_, err = b.addRecord(staff, b.byName("ns1.example.com").ID, "CNAME", "text.example.com", "")
		fieldErr(t, err, "value", "the name server ns1.example.com is an alias")
		// unless the default address is none
		rulesEnv(t, map[string]string{"ORCHESTRA_DOMAINS_DEFAULT_A": ""})
		_, err = b.addRecord(staff, dmarc.ID, "TXT", "any change of the zone", "")
		fieldErr(t, err, "value", "the name server ns1.example.com has no address")

		// default name servers in the zone count as its own
		rulesEnv(t, map[string]string{"ORCHESTRA_DOMAINS_DEFAULT_NS": "ns1.example.net., ns2.other.org."})
		_, err = b.addDomain(staff, "example.net", alice)
		fieldErr(t, err, "value", "The zone example.net would not load: the name server ns1.example.net has no address")
		b.tx(func(ctx context.Context, tx *ent.Tx) error {
			d, err := tx.Domain.Create().SetName("example.net").SetAccountID(alice).Save(ctx)
			if err != nil {
				return err
			}
			ns, err := tx.Domain.Create().SetName("ns1.example.net").Save(ctx)
			if err != nil {
				return err
			}
			if err := tx.Record.Create().SetDomainID(ns.ID).SetType("AAAA").SetValue("2001:db8::53").Exec(ctx); err != nil {
				return err
			}
			return tx.Record.Create().SetDomainID(d.ID).SetType("TXT").SetValue("served").Exec(ctx)
		})
	})
}

// TestSerialPerWrite: writes to one zone that commit side by side each bump
// its serial: none reads a serial another is about to replace.
func TestSerialPerWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := zoneBed{t, st}
		top := b.mustDomain(staff, "serials.example", b.account("alice"))
		before, err := st.Domain.Get(staff, top.ID)
		if err != nil {
			t.Fatal(err)
		}
		const writers = 12
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := b.addRecord(staff, top.ID, "TXT", fmt.Sprintf("writer %d", i), "")
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		after, err := st.Domain.Get(staff, top.ID)
		if err != nil {
			t.Fatal(err)
		}
		// within a day a serial goes up by one a write
		if want := max(dns.NextSerial(before.Serial, time.Now())+writers-1, before.Serial+writers); after.Serial != want {
			t.Errorf("serial %d after %d writes from %d, want %d", after.Serial, writers, before.Serial, want)
		}
	})
}
