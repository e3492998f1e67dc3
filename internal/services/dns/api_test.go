package dns_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"

	"github.com/orchestra-panel/orchestra/internal/services/dns/bindtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestDNSOverAPI: a customer's domain, written through the API, is served
// by the real master and slave; bad input is refused with the record and
// field named, and nothing reaches bind9; the zone can be viewed, signed
// (DS records for the registrar), imported from a zone file and deleted.
func TestDNSOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := bindtest.Load(t)
		e := apitest.NewWith(t, st, apitest.NewExecutor(t, st, bed.SSH.Signer))
		admin := e.Admin()
		for i, s := range bed.SSH.Servers[:2] {
			settings := []map[string]string{bed.MasterSettings(), bed.SlaveSettings()}[i]
			id := admin.Do("POST", "/servers", map[string]any{"name": fmt.Sprintf("ns%d", i+1), "address": s.Address,
				"ssh_port": s.Port, "host_key": s.HostKey, "settings": settings}).Want(http.StatusCreated).ID()
			admin.Do("POST", "/routes", map[string]any{"backend": []string{"bind9-master", "bind9-slave"}[i], "server": id}).
				Want(http.StatusCreated)
		}
		acc := admin.Do("POST", "/accounts", map[string]any{"username": "zoe", "full_name": "Zoe", "email": "zoe@example.com",
			"password": "Zoe-secret-42"}).Want(http.StatusCreated).ID()
		zoe := e.Login("zoe", "Zoe-secret-42")
		zoe.Header.Set("Prefer", "wait=30")
		zone := bed.Token() + ".example.net"
		logs := func() int {
			return int(admin.Do("GET", "/logs", nil).Want(http.StatusOK).JSON()["count"].(float64))
		}

		// bad input: 422 naming the record and field, nothing reaches bind9
		before := logs()
		for _, c := range []struct {
			name    string
			records []map[string]any
			want    string
		}{
			{"bad name." + zone, nil, "body.name"},
			{zone, []map[string]any{{"type": "A", "value": "999.1.1.1"}}, "body.records[0].value"},
			{zone, []map[string]any{{"type": "A", "value": "192.0.2.1"}, {"type": "AAAA", "value": "192.0.2.1"}}, "body.records[1].value"},
			{zone, []map[string]any{{"type": "A", "value": "192.0.2.1", "ttl": "1x"}}, "body.records[0].ttl"},
			{zone, []map[string]any{{"type": "MX", "value": "10 192.0.2.25"}}, "body.records[0].value"},
			{zone, []map[string]any{{"type": "CNAME", "value": "elsewhere.example.org"}}, "body.records[0].type"},
			{zone, []map[string]any{{"type": "TXT", "value": strings.Repeat("x", 5000)}}, "body.records[0].value"},
			{zone, []map[string]any{{"type": "NAPTR", "value": "x"}}, "body.records[0].type"},
			// named-checkzone: an in-zone name server without an address
			{zone, []map[string]any{{"type": "NS", "value": "ns9." + zone}}, "body.value"},
		} {
			r := zoe.Do("POST", "/domains", map[string]any{"name": c.name, "records": c.records})
			if got := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(got) == 0 || got[0] != c.want {
				t.Errorf("%s %v: status %d, errors %v, want %s: %s", c.name, c.records, r.Status, got, c.want, r.Body)
			}
		}
		if n := logs(); n != before {
			t.Errorf("refused writes made %d units", n-before)
		}
		if s := bindtest.Status(t, bed.Master, zone); s != "REFUSED" {
			t.Errorf("after refused writes the master answers %s for the zone", s)
		}

		// the domain, its records and subdomains, served by master and slave
		r := zoe.Do("POST", "/domains", map[string]any{"name": zone, "records": []map[string]any{
			{"type": "A", "value": "192.0.2.20"}, {"type": "AAAA", "value": "2001:db8::20"},
			{"type": "MX", "value": "10 mail." + zone}, {"type": "TXT", "value": "v=spf1 -all"},
			{"type": "CAA", "value": "0 issue letsencrypt.org"}}}).Want(http.StatusCreated)
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
			t.Fatalf("create: %v", r.Header)
		}
		dom := r.JSON()
		if dom["account"] != float64(acc) || dom["serial"].(float64) < 2026010100 {
			t.Errorf("domain: %v", dom)
		}
		for _, sub := range []map[string]any{
			{"name": "www." + zone, "records": []map[string]any{{"type": "CNAME", "value": zone}}},
			{"name": "_sip._tcp." + zone, "records": []map[string]any{{"type": "SRV", "value": "10 5 5060 sip." + zone}}},
		} {
			if r := zoe.Do("POST", "/domains", sub).Want(http.StatusCreated); r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
				t.Fatalf("%s: %v", sub["name"], r.Header)
			}
		}
		for _, c := range []struct{ name, typ, want string }{
			{zone, "A", "192.0.2.20"}, {zone, "AAAA", "2001:db8::20"}, {zone, "MX", "10 mail." + zone + "."},
			{zone, "TXT", `"v=spf1 -all"`}, {zone, "CAA", `0 issue "letsencrypt.org"`},
			{"www." + zone, "CNAME", zone + "."}, {"_sip._tcp." + zone, "SRV", "10 5 5060 sip." + zone + "."},
		} {
			if got := bindtest.Dig(t, bed.Master, c.name, c.typ); got != c.want {
				t.Errorf("master %s %s: %q, want %q", c.name, c.typ, got, c.want)
			}
			bindtest.Eventually(t, "slave "+c.name+" "+c.typ, func() (string, bool) {
				got := bindtest.Dig(t, bed.Slave, c.name, c.typ)
				return got, got == c.want
			})
		}
		id := int(dom["id"].(float64))
		view := zoe.Do("GET", fmt.Sprintf("/domains/%d/zone", id), nil).Want(http.StatusOK).JSON()
		if text := view["text"].(string); !strings.Contains(text, "www."+zone+".") || !strings.Contains(text, "_sip._tcp."+zone+".") {
			t.Errorf("zone view:\n%s", text)
		}

		// a change of a record: new serial, new answer
		serial := view["serial"].(float64)
		rec := int(zoe.Do("GET", fmt.Sprintf("/records?domain=%d&type=A", id), nil).JSON()["results"].([]any)[0].(map[string]any)["id"].(float64))
		zoe.Do("PATCH", fmt.Sprintf("/records/%d", rec), map[string]any{"value": "192.0.2.21", "version": 1}).Want(http.StatusOK)
		if got := bindtest.Dig(t, bed.Master, zone, "A"); got != "192.0.2.21" {
			t.Errorf("after the change the master answers %q", got)
		}
		if s := zoe.Do("GET", fmt.Sprintf("/domains/%d", id), nil).JSON()["serial"].(float64); s <= serial {
			t.Errorf("serial %v after %v", s, serial)
		}

		// DNSSEC: signed answers, and the DS records for the registrar
		zoe.Do("PATCH", fmt.Sprintf("/domains/%d", id), map[string]any{"dnssec": true, "version": dom["version"]}).Want(http.StatusOK)
		bindtest.Eventually(t, "RRSIG", func() (string, bool) {
			got := bindtest.Dig(t, bed.Master, zone, "A", "+dnssec")
			return got, strings.Contains(got, "A 13 ")
		})
		bindtest.Eventually(t, "DS records", func() (string, bool) {
			r := zoe.Do("GET", fmt.Sprintf("/domains/%d/ds", id), nil)
			ds := regexp.MustCompile(`"` + regexp.QuoteMeta(zone) + `\. \d+ IN DS \d+ 13 2 [0-9A-F]{64}"`)
			return string(r.Body), r.Status == http.StatusOK && ds.Match(r.Body)
		})

		// import from a zone file
		imported := "imp" + bed.Token() + ".example.net"
		r = zoe.Do("POST", "/domains/import", map[string]any{"name": imported, "zone": "$TTL 300\n" +
			"@ IN SOA ns.other. hostmaster.other. 2030010101 7200 900 1209600 600\n" +
			"@ IN A 192.0.2.30\nwww IN CNAME @\nmail IN A 192.0.2.31\n@ IN MX 5 mail\n"}).Want(http.StatusCreated)
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" || r.JSON()["serial"].(float64) <= 2030010101 {
			t.Errorf("import: %v %s", r.Header, r.Body)
		}
		for _, c := range []struct{ name, typ, want string }{
			{imported, "A", "192.0.2.30"}, {"www." + imported, "CNAME", imported + "."}, {imported, "MX", "5 mail." + imported + "."},
		} {
			if got := bindtest.Dig(t, bed.Master, c.name, c.typ); got != c.want {
				t.Errorf("imported %s %s: %q, want %q", c.name, c.typ, got, c.want)
			}
		}
		r = zoe.Do("POST", "/domains/import", map[string]any{"name": "x" + imported, "zone": "@ IN HINFO a b\n"})
		if got := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(got) != 1 || got[0] != "body.zone" {
			t.Errorf("import of an unmanaged type: %d %s", r.Status, r.Body)
		}

		// deleting: the servers no longer answer for the zone
		zoe.Do("DELETE", fmt.Sprintf("/domains/%d", id), nil).Want(http.StatusNoContent)
		for _, srv := range []string{bed.Master, bed.Slave} {
			bindtest.Eventually(t, "REFUSED from "+srv, func() (string, bool) {
				s := bindtest.Status(t, srv, zone)
				return s, s == "REFUSED"
			})
		}
	})
}
