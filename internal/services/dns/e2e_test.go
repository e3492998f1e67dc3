package dns_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/dns"
	"github.com/orchestra-panel/orchestra/internal/services/dns/bindtest"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

var sys = viewer.System(context.Background(), viewer.ChannelSystem)

// bindBed has the BIND test bed's master and slave as servers with routes
// for the bind9 backends, and an executor.
type bindBed struct {
	*bindtest.Bed
	st                  *store.Store
	ex                  *orchestration.Executor
	masterSrv, slaveSrv *ent.Server
	token               string
}

func newBindBed(t testing.TB, st *store.Store) *bindBed {
	t.Helper()
	bed := bindtest.Load(t)
	b := &bindBed{Bed: bed, st: st, token: bed.Token()}
	pool, err := sshpool.New(sshpool.Config{Signer: bed.SSH.Signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	err = st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
		s := bed.SSH.Servers[0]
		if b.masterSrv, err = tx.Server.Create().SetName("ns-master").SetAddress(s.Address).SetSSHPort(s.Port).
			SetHostKey(s.HostKey).SetSettings(bed.MasterSettings()).Save(ctx); err != nil {
			return err
		}
		s = bed.SSH.Servers[1]
		if b.slaveSrv, err = tx.Server.Create().SetName("ns-slave").SetAddress(s.Address).SetSSHPort(s.Port).
			SetHostKey(s.HostKey).SetSettings(bed.SlaveSettings()).Save(ctx); err != nil {
			return err
		}
		if err := tx.Route.Create().SetBackend(dns.MasterBackend).SetServerID(b.masterSrv.ID).Exec(ctx); err != nil {
			return err
		}
		return tx.Route.Create().SetBackend(dns.SlaveBackend).SetServerID(b.slaveSrv.ID).Exec(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	b.ex = orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: 100 * time.Millisecond})
	b.ex.Start()
	t.Cleanup(b.ex.Close)
	return b
}

// settle waits until every change is planned and every log final, and
// fails on a log that did not succeed.
func (b *bindBed) settle(t testing.TB) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		unplanned, err := b.st.Change.Query().Where(change.PlannedAtIsNil()).Exist(sys)
		if err != nil {
			t.Fatal(err)
		}
		logs, err := b.st.ExecutionLog.Query().All(sys)
		if err != nil {
			t.Fatal(err)
		}
		pending := unplanned
		for _, l := range logs {
			pending = pending || !orchestration.Final(l.State)
		}
		if !pending {
			for _, l := range logs {
				if l.State != orchestration.StateSuccess && l.State != orchestration.StateNothing {
					t.Fatalf("log %d (%s on %d) %s: %s\n%s\n%s", l.ID, l.Backend, l.ServerID, l.State, l.Error, l.Stderr, l.Script)
				}
			}
			// the next settle judges only newer logs
			if _, err := b.st.ExecutionLog.Delete().Where(executionlog.StateIn(orchestration.StateSuccess, orchestration.StateNothing)).Exec(sys); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("units not final after 60 s")
		}
	}
}

var (
	dig        = bindtest.Dig
	eventually = bindtest.Eventually
)

func (b *bindBed) account(t testing.TB, name string) int {
	t.Helper()
	var a *ent.Account
	err := b.st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
		a, err = tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName(name).SetEmail(name + "@example.com").Save(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func (b *bindBed) domain(t testing.TB, account int, name string, recs ...[2]string) *ent.Domain {
	t.Helper()
	var d *ent.Domain
	err := b.st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
		if d, err = tx.Domain.Create().SetName(name).SetAccountID(account).Save(ctx); err != nil {
			return err
		}
		for _, r := range recs {
			if err := tx.Record.Create().SetDomainID(d.ID).SetType(r[0]).SetValue(r[1]).Exec(ctx); err != nil {
				return fmt.Errorf("%s %s: %w", r[0], r[1], err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func serial(t *testing.T, server, zone string) string {
	f := strings.Fields(dig(t, server, zone, "SOA"))
	if len(f) < 3 {
		return ""
	}
	return f[2]
}

// TestBindMasterSlave drives real bind9: a domain with A, AAAA, MX, CNAME,
// TXT, SRV and CAA records is served by the master and, after transfer, by
// the slave; a change bumps the serial and dig sees it; a subdomain's
// records appear in its parent's zone; DNSSEC signs the zone; deleting the
// domain makes both servers stop answering for it.
func TestBindMasterSlave(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newBindBed(t, st)
		acc := b.account(t, "dnsowner")
		zone := b.token + ".example.org"
		long := strings.Repeat("v=spf1 include:_spf.example.net ", 12) // over 255 bytes: split
		d := b.domain(t, acc, zone,
			[2]string{"A", "192.0.2.10"}, [2]string{"AAAA", "2001:db8::10"}, [2]string{"MX", "10 mx1." + zone},
			[2]string{"TXT", `hello "world" \ ok`}, [2]string{"TXT", long}, [2]string{"CAA", `0 issue "letsencrypt.org"`})
		b.domain(t, acc, "www."+zone, [2]string{"CNAME", zone})
		b.domain(t, acc, "_sip._tcp."+zone, [2]string{"SRV", "10 5 5060 sip." + zone})
		b.domain(t, acc, "ns1."+zone, [2]string{"A", "192.0.2.53"})
		// an in-zone name server needs its address first (named-checkzone refuses it otherwise)
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.Create().SetDomainID(d.ID).SetType("NS").SetValue("ns1." + zone).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		b.settle(t)

		for _, c := range []struct{ name, typ, want string }{
			{zone, "A", "192.0.2.10"}, {zone, "AAAA", "2001:db8::10"}, {zone, "MX", "10 mx1." + zone + "."},
			{"www." + zone, "CNAME", zone + "."}, {"_sip._tcp." + zone, "SRV", "10 5 5060 sip." + zone + "."},
			{zone, "CAA", `0 issue "letsencrypt.org"`}, {"ns1." + zone, "A", "192.0.2.53"},
		} {
			if got := dig(t, b.Master, c.name, c.typ); got != c.want {
				t.Errorf("master %s %s: %q, want %q", c.name, c.typ, got, c.want)
			}
			eventually(t, "slave "+c.name+" "+c.typ, func() (string, bool) {
				got := dig(t, b.Slave, c.name, c.typ)
				return got, got == c.want
			})
		}
		txt := dig(t, b.Master, zone, "TXT")
		if !strings.Contains(txt, `"hello \"world\" \\ ok"`) || strings.Count(txt, `" "`) < 1 {
			t.Errorf("TXT records: %s", txt)
		}

		// TXT values arrive byte for byte: quotes typed (even wrapping the
		// whole value), escapes, control characters, non-ASCII and strings
		// split at 255 bytes through an escape are what a resolver answers
		hostile := []string{`"; touch /tmp/pwned; echo "`, `"v=spf1 -all"`, `back\slash \065 $(id) ` + "`id`",
			"tab\there new\nline\r", "ünïcödé 🎉", "  padded  ", strings.Repeat(`"\`, 200), `"`, "a\x01b\x7f"}
		var recs [][2]string
		for _, v := range hostile {
			recs = append(recs, [2]string{"TXT", v})
		}
		b.domain(t, acc, "txt."+zone, recs...)
		b.settle(t)
		want := slices.Clone(hostile)
		slices.Sort(want)
		if got := bindtest.TXT(t, b.Master, "txt."+zone); !slices.Equal(got, want) {
			t.Errorf("master TXT:\n got %q\nwant %q", got, want)
		}
		eventually(t, "slave TXT", func() (string, bool) {
			got := bindtest.TXT(t, b.Slave, "txt."+zone)
			return fmt.Sprintf("%q", got), slices.Equal(got, want)
		})

		// a change bumps the serial, and both servers see the new answer
		before := serial(t, b.Master, zone)
		err = st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Record.Create().SetDomainID(d.ID).SetType("A").SetValue("192.0.2.11").Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		b.settle(t)
		if got := dig(t, b.Master, zone, "A"); got != "192.0.2.10\n192.0.2.11" {
			t.Errorf("after adding an A record the master answers %q", got)
		}
		if after := serial(t, b.Master, zone); after <= before {
			t.Errorf("serial %s after %s", after, before)
		}
		eventually(t, "slave after the change", func() (string, bool) {
			got := dig(t, b.Slave, zone, "A")
			return got, got == "192.0.2.10\n192.0.2.11"
		})

		// DNSSEC: the master signs the zone
		err = st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.UpdateOneID(d.ID).SetDnssec(true).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		b.settle(t)
		eventually(t, "RRSIG from the master", func() (string, bool) {
			got := dig(t, b.Master, zone, "A", "+dnssec")
			return got, strings.Contains(got, "A 13 ")
		})

		// a new top domain takes over a zone that was its own: the
		// subdomain's zone is dropped and its records served in the parent's
		parent := "p" + b.token + ".example.org"
		b.domain(t, acc, "sub."+parent, [2]string{"A", "192.0.2.77"})
		b.settle(t)
		if got := dig(t, b.Master, "sub."+parent, "SOA"); !strings.HasPrefix(got, "ns.orchestra.lan. ") {
			t.Fatalf("sub.%s before its parent: SOA %q", parent, got)
		}
		b.domain(t, acc, parent, [2]string{"A", "192.0.2.76"})
		b.settle(t)
		if got := dig(t, b.Master, "sub."+parent, "SOA"); got != "" {
			t.Errorf("sub.%s still has its own zone: SOA %q", parent, got)
		}
		if got := dig(t, b.Master, "sub."+parent, "A"); got != "192.0.2.77" {
			t.Errorf("sub.%s in its parent's zone: A %q", parent, got)
		}
		if got := dig(t, b.Master, parent, "A"); got != "192.0.2.76" {
			t.Errorf("%s: A %q", parent, got)
		}

		// deleting the domain: neither server answers for it any more
		err = st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error { return tx.Domain.DeleteOneID(d.ID).Exec(ctx) })
		if err != nil {
			t.Fatal(err)
		}
		b.settle(t)
		for _, srv := range []string{b.Master, b.Slave} {
			eventually(t, "no answer from "+srv, func() (string, bool) {
				s := bindtest.Status(t, srv, zone)
				return s, s == "REFUSED"
			})
		}
	})
}

// TestDefaultLayout drives the real master and slave with the defaults'
// layout under the test bed's directory: zone files in the statements'
// directory (DOMAINS_ZONES_DIR is DOMAINS_CONF_DIR/zones). New zones load,
// including one named like another's statement file, and the directory
// holds each zone's statement and file, nothing taken for the other.
func TestDefaultLayout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newBindBed(t, st)
		set := b.MasterSettings()
		conf, zones := set["DOMAINS_CONF_DIR"], set["DOMAINS_ZONES_DIR"]
		if zones != conf+"/zones" || dns.ZonesDir.Get() != dns.ConfDir.Get()+"/zones" {
			t.Fatalf("the test bed's layout (%s, %s) is not the defaults' (%s, %s)", conf, zones, dns.ConfDir.Get(), dns.ZonesDir.Get())
		}
		acc := b.account(t, "layout")
		zone := b.token + ".example.org"
		b.domain(t, acc, zone, [2]string{"A", "192.0.2.30"})
		b.domain(t, acc, zone+".conf", [2]string{"A", "192.0.2.31"})
		b.settle(t)
		for name, want := range map[string]string{zone: "192.0.2.30", zone + ".conf": "192.0.2.31"} {
			if got := dig(t, b.Master, name, "A"); got != want {
				t.Errorf("master %s A: %q, want %q", name, got, want)
			}
			eventually(t, "slave "+name, func() (string, bool) {
				got := dig(t, b.Slave, name, "A")
				return got, got == want
			})
		}
		entries, err := os.ReadDir(zones)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, e := range entries {
			files = append(files, e.Name())
		}
		want := []string{zone + ".conf", zone + ".conf.conf", zone + ".conf.zone", zone + ".zone"}
		slices.Sort(want)
		if !slices.Equal(files, want) {
			t.Errorf("%s holds %q, want %q", zones, files, want)
		}
		index, _ := os.ReadFile(conf + "/index.conf")
		if strings.Count(string(index), "include") != 2 || strings.Contains(string(index), ".zone") {
			t.Errorf("index:\n%s", index)
		}

		// a record's change reaches both; deleting one zone leaves the other
		d := b.domain(t, acc, "www."+zone, [2]string{"TXT", "changed"})
		b.settle(t)
		eventually(t, "slave www."+zone, func() (string, bool) {
			got := dig(t, b.Slave, "www."+zone, "TXT")
			return got, got == `"changed"`
		})
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error { return tx.Domain.DeleteOneID(*d.TopID).Exec(ctx) }); err != nil {
			t.Fatal(err)
		}
		b.settle(t)
		for _, srv := range []string{b.Master, b.Slave} {
			eventually(t, zone+" gone from "+srv, func() (string, bool) {
				s := bindtest.Status(t, srv, zone)
				return s, s == "REFUSED"
			})
			if got := dig(t, srv, zone+".conf", "A"); got != "192.0.2.31" {
				t.Errorf("%s: %s.conf A %q after %s went", srv, zone, got, zone)
			}
		}
		if _, err := os.Stat(zones + "/" + zone + ".zone"); err == nil {
			t.Errorf("the deleted zone's file is left")
		}
	})
}
