package hostiletest

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/dns"
	"github.com/orchestra-panel/orchestra/internal/services/dns/bindtest"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// dnsSuite drives both bind9 backends: the master serves what was saved,
// the slave transfers it. Values are checked as a resolver reads them from
// the name servers. The rules' documented forms: names are stored lower
// case without a final dot (DNS names ignore case), timers, TTLs and
// record types without surrounding space, records other than TXT as
// NormalizeValue writes them (absolute names, single spaces); a TXT value
// is kept byte for byte.
var dnsSuite = suite{
	name:     "dns",
	backends: []string{dns.MasterBackend, dns.SlaveBackend},
	fields: map[string][]string{
		"Domain": {"name", "refresh", "retry", "expire", "min_ttl"},
		"Record": {"type", "value", "ttl"},
	},
	run: runDNS,
}

// dnsAnswer is what the name servers must answer for an accepted value.
type dnsAnswer struct {
	key, name string
	typ       string // a record type; "SOA" compares the four timers, "TTL" a TXT record's TTL
	want      string // a line of dig +short, the timers or the TTL in seconds
	slave     bool   // a top domain's zone: the slave serves it too
}

func seconds(t *testing.T, v, def string) string {
	t.Helper()
	if v == "" {
		v = def
	}
	n, err := dns.ParseInterval(v)
	if err != nil {
		t.Fatalf("interval %q: %v", v, err)
	}
	return strconv.FormatInt(n, 10)
}

func runDNS(t *testing.T, st *store.Store, r *recorder) {
	bed := bindtest.Load(t)
	pool := sharedPool(t, bed.SSH.Signer)
	tag := bed.Token()
	zone := tag + ".example.org"
	canary := "/tmp/orchestra-canary-" + tag
	var targets []sshpool.Target
	err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
		for i, settings := range []map[string]string{bed.MasterSettings(), bed.SlaveSettings()} {
			s := bed.SSH.Servers[i]
			srv, err := tx.Server.Create().SetName(fmt.Sprintf("ns%d", i)).SetAddress(s.Address).SetSSHPort(s.Port).
				SetHostKey(s.HostKey).SetSettings(settings).Save(ctx)
			if err != nil {
				return err
			}
			backend := []string{dns.MasterBackend, dns.SlaveBackend}[i]
			if err := tx.Route.Create().SetBackend(backend).SetServerID(srv.ID).Exec(ctx); err != nil {
				return err
			}
			targets = append(targets, sshpool.Target{Address: s.Address, Port: s.Port, HostKey: s.HostKey})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		run(t, pool, tg, "rm -f -- "+orchestration.Quote(canary))
	}
	acc, cust := account(t, st, "dns"+tag)
	ss := seeds(canary)

	create := func(ctx context.Context, tx *ent.Tx, name string) (*ent.Domain, error) {
		return tx.Domain.Create().SetName(name).SetAccountID(acc).Save(ctx)
	}
	owners := map[string]*ent.Domain{}
	err = st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
		for _, n := range []string{"", "txt", "caa", "mx", "a", "_s._tcp", "ty"} {
			name := strings.TrimPrefix(n+"."+zone, ".")
			if owners[n], err = create(ctx, tx, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	top := owners[""]
	defaults := []string{seconds(t, "", dns.DefaultRefresh.Get()), seconds(t, "", dns.DefaultRetry.Get()),
		seconds(t, "", dns.DefaultExpire.Get()), seconds(t, "", dns.DefaultMinTTL.Get())}
	var answers []dnsAnswer
	var txt []string // TXT values of txt.<zone>, as typed

	// Domain.name: a subdomain (with a TXT record naming it, so that the
	// name is in the zone) and a top domain, the seed inside a label
	for i, s := range ss {
		for j, w := range []string{s + "." + zone, fmt.Sprintf("x%s-%d%s.example.org", s, i, tag)} {
			var d *ent.Domain
			if !r.one(cust, "Domain.name", w, func(ctx context.Context, tx *ent.Tx) (err error) {
				if d, err = create(ctx, tx, w); err != nil || j == 1 {
					return err
				}
				return tx.Record.Create().SetDomainID(d.ID).SetType("TXT").SetValue(d.Name).Exec(ctx)
			}) {
				continue
			}
			if want := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(w), ".")); d.Name != want {
				t.Errorf("Domain.name %q stored as %q, want %q", w, d.Name, want)
			}
			if j == 1 {
				answers = append(answers, dnsAnswer{key: "Domain.name", name: d.Name, typ: "SOA", want: strings.Join(defaults, " "), slave: true})
			} else {
				answers = append(answers, dnsAnswer{key: "Domain.name", name: d.Name, typ: "TXT", want: `"` + d.Name + `"`})
			}
		}
	}

	// the SOA timers, all four in one write of a top domain; the fields a
	// refusal names are dropped and the others tried again
	timers := []string{"refresh", "retry", "expire", "min_ttl"}
	for i, s := range append(slices.Clone(ss), "1h", " 7200 ") {
		pending := slices.Clone(timers)
		name := fmt.Sprintf("tm%d-%s.example.org", i, tag)
		var d *ent.Domain
		for len(pending) > 0 {
			named := r.write(cust, "Domain."+strings.Join(pending, "/"), s, pending, func(ctx context.Context, tx *ent.Tx) error {
				c := tx.Domain.Create().SetName(name).SetAccountID(acc)
				for _, f := range pending {
					if err := c.Mutation().SetField(f, s); err != nil {
						return err
					}
				}
				var err error
				d, err = c.Save(ctx)
				return err
			})
			if named == nil || slices.Contains(named, "?") {
				break
			}
			pending = slices.DeleteFunc(pending, func(f string) bool { return slices.Contains(named, f) })
		}
		if len(pending) == 0 || d == nil {
			continue
		}
		got := []string{d.Refresh, d.Retry, d.Expire, d.MinTTL}
		want := slices.Clone(defaults)
		for k, f := range timers {
			if !slices.Contains(pending, f) {
				continue
			}
			if got[k] != strings.TrimSpace(s) {
				t.Errorf("Domain.%s %q stored as %q", f, s, got[k])
			}
			want[k] = seconds(t, got[k], []string{dns.DefaultRefresh.Get(), dns.DefaultRetry.Get(), dns.DefaultExpire.Get(), dns.DefaultMinTTL.Get()}[k])
		}
		for _, f := range pending {
			answers = append(answers, dnsAnswer{key: "Domain." + f, name: d.Name, typ: "SOA", want: strings.Join(want, " "), slave: true})
		}
	}

	// Record.type, with a TXT value of its own
	for i, s := range append(slices.Clone(ss), "TXT", " txt\n") {
		v := fmt.Sprintf("type-%d", i)
		var rec *ent.Record
		if r.one(cust, "Record.type", s, func(ctx context.Context, tx *ent.Tx) (err error) {
			rec, err = tx.Record.Create().SetDomainID(owners["ty"].ID).SetType(s).SetValue(v).Save(ctx)
			return err
		}) {
			if rec.Type != strings.ToUpper(strings.TrimSpace(s)) {
				t.Errorf("Record.type %q stored as %q", s, rec.Type)
			}
			answers = append(answers, dnsAnswer{key: "Record.type", name: owners["ty"].Name, typ: rec.Type, want: `"` + v + `"`})
		}
	}

	// Record.ttl, each on a name of its own: a name's records share one TTL
	for i, s := range append(slices.Clone(ss), "1h", " 90 ") {
		name := fmt.Sprintf("ttl%d.%s", i, zone)
		var rec *ent.Record
		if r.one(cust, "Record.ttl", s, func(ctx context.Context, tx *ent.Tx) error {
			d, err := create(ctx, tx, name)
			if err != nil {
				return err
			}
			rec, err = tx.Record.Create().SetDomainID(d.ID).SetType("TXT").SetValue(name).SetTTL(s).Save(ctx)
			return err
		}) {
			if rec.TTL != strings.TrimSpace(s) {
				t.Errorf("Record.ttl %q stored as %q", s, rec.TTL)
			}
			answers = append(answers, dnsAnswer{key: "Record.ttl", name: name, typ: "TTL", want: seconds(t, rec.TTL, dns.DefaultTTL.Get())})
		}
	}

	// Record.value: as typed for text and names, inside the type's shape
	// where a value has several parts; a CNAME has a name of its own
	id := func(s string) string { return s }
	n := 0
	for _, c := range []struct {
		typ   string
		owner *ent.Domain // nil: a new name per value
		wrap  func(string) string
	}{
		{"TXT", owners["txt"], id}, {"A", owners["a"], id}, {"NS", top, id}, {"CNAME", nil, id},
		{"CAA", owners["caa"], func(s string) string { return `0 issue "` + s + `"` }},
		{"MX", owners["mx"], func(s string) string { return "10 " + s }},
		{"SRV", owners["_s._tcp"], func(s string) string { return "1 2 3 " + s }},
	} {
		for _, s := range ss {
			v := c.wrap(s)
			owner := c.owner
			var rec *ent.Record
			if !r.one(cust, "Record.value", v, func(ctx context.Context, tx *ent.Tx) (err error) {
				if c.owner == nil {
					n++
					if owner, err = create(ctx, tx, fmt.Sprintf("cn%d.%s", n, zone)); err != nil {
						return err
					}
				}
				rec, err = tx.Record.Create().SetDomainID(owner.ID).SetType(c.typ).SetValue(v).Save(ctx)
				return err
			}) {
				continue
			}
			if c.typ == "TXT" {
				if rec.Value != v {
					t.Errorf("TXT %q stored as %q", v, rec.Value)
				}
				txt = append(txt, v)
				continue
			}
			if want, _ := dns.NormalizeValue(context.Background(), c.typ, strings.TrimSpace(v)); rec.Value != want {
				t.Errorf("%s %q stored as %q, want %q", c.typ, v, rec.Value, want)
			}
			answers = append(answers, dnsAnswer{key: "Record.value", name: owner.Name, typ: c.typ, want: rec.Value})
		}
	}

	r.phase("writes done")
	startExecutor(t, st, pool)
	settle(t, st, 0)
	r.phase("units done")

	for _, a := range answers {
		if got, ok := answer(t, bed.Master, a); ok {
			r.arrived(a.key)
		} else {
			t.Errorf("%s: the master answers %s %s with %q, want %q", a.key, a.name, a.typ, got, a.want)
		}
		if a.slave {
			bindtest.Eventually(t, "slave "+a.name+" "+a.typ, func() (string, bool) { return answer(t, bed.Slave, a) })
		}
	}
	slices.Sort(txt)
	if got := bindtest.TXT(t, bed.Master, owners["txt"].Name); !slices.Equal(got, txt) {
		t.Errorf("master TXT of %s:\n got %q\nwant %q", owners["txt"].Name, got, txt)
	} else {
		for range txt {
			r.arrived("Record.value")
		}
	}
	bindtest.Eventually(t, "slave TXT", func() (string, bool) {
		got := bindtest.TXT(t, bed.Slave, owners["txt"].Name)
		return fmt.Sprintf("%q", got), slices.Equal(got, txt)
	})
	for _, tg := range targets {
		noCanary(t, pool, tg, canary)
	}
}

// answer asks server for a.name and compares with a.want.
func answer(t *testing.T, server string, a dnsAnswer) (string, bool) {
	t.Helper()
	switch a.typ {
	case "SOA":
		f := strings.Fields(bindtest.Dig(t, server, a.name, "SOA"))
		if len(f) != 7 {
			return strings.Join(f, " "), false
		}
		got := strings.Join(f[3:], " ")
		return got, got == a.want
	case "TTL":
		out, err := exec.Command("dig", "+noall", "+answer", "+norec", "+time=2", "+tries=1", "@"+server, a.name, "TXT").CombinedOutput()
		if err != nil {
			t.Fatalf("dig: %v\n%s", err, out)
		}
		f := strings.Fields(string(out))
		if len(f) < 2 {
			return string(out), false
		}
		return f[1], f[1] == a.want
	}
	got := bindtest.Dig(t, server, a.name, a.typ)
	return got, slices.Contains(strings.Split(got, "\n"), a.want)
}
