package dns

import (
	"context"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/record"
)

// A write is judged without rendering its zone, so that its cost does not
// grow with the zone: each record on its own (its line must parse, and
// BIND's check-names rules hold), the rules that involve other records by
// queries of the few rows they concern (a name's own records, the zone's
// name servers), and a new zone whole, once, when it is created. BIND's
// own load of each changed zone on the master, before it is put in place,
// catches whatever is left (see bind.go).

// maxPerType is how many records of one type a name may have: BIND 9.18
// (max-records-per-type) refuses to load a zone with more.
const maxPerType = 100

// recordProblem says, in the words of ctx's language, why the record of
// type typ and (normalized) value on name would keep its zone from
// loading, or "".
func recordProblem(ctx context.Context, name, typ, value string) string {
	if typ == "SOA" {
		value = soaValue(value, 1)
	}
	if _, err := mdns.NewRR(recordLine(name, "", typ, value)); err != nil {
		return err.Error()
	}
	// BIND's check-names, which a master zone fails on: records of hosts
	// sit on host names, and the names these records point to are hosts
	if (typ == "A" || typ == "AAAA" || typ == "MX") && strings.Contains(name, "_") {
		return i18n.T(ctx, "%s is not a host name (it has an underscore), so it cannot have %s records.", name, typ)
	}
	f := strings.Fields(value)
	var hosts []string
	switch typ {
	case "NS":
		hosts = f[:1]
	case "MX":
		hosts = f[1:]
	case "SRV":
		hosts = f[3:]
	case "SOA":
		// the mailbox's first label is its local part: anything goes there
		hosts = []string{f[0], mailboxDomain(f[1])}
	}
	for _, h := range hosts {
		if h != "." && strings.Contains(h, "_") {
			return i18n.T(ctx, "%s is not a host name (it has an underscore).", strings.TrimSuffix(h, "."))
		}
	}
	return ""
}

// mailboxDomain is an SOA mailbox without its local part (the first label,
// where \. is a dot of the address).
func mailboxDomain(mbox string) string {
	for i := 0; i < len(mbox); i++ {
		switch mbox[i] {
		case '\\':
			i++
		case '.':
			return mbox[i+1:]
		}
	}
	return ""
}

// nameServers are the zone's own name servers, as rendered: the top's NS
// records, or DOMAINS_DEFAULT_NS when it has none (record id 0).
func nameServers(ctx context.Context, client *ent.Client, top *ent.Domain) ([]Rec, error) {
	rs, err := client.Record.Query().Where(record.DomainID(top.ID), record.Type("NS")).All(sys(ctx))
	if err != nil {
		return nil, err
	}
	var out []Rec
	for _, r := range rs {
		out = append(out, Rec{ID: r.ID, Type: r.Type, Value: r.Value})
	}
	if len(out) == 0 {
		for _, ns := range DefaultNS.Get() {
			out = append(out, Rec{Type: "NS", Value: ns})
		}
	}
	return out, nil
}

// nameServerProblem says why the name server host, in the zone of top,
// keeps the zone from loading (BIND requires the zone's own name servers
// in it to have an address and not to be aliases), or "". Only the rows of
// host (or of the wildcard that answers for it) are read.
func nameServerProblem(ctx context.Context, client *ent.Client, top *ent.Domain, host string) (string, error) {
	var names []string // host, then each parent in the zone and its wildcard
	names = append(names, host)
	for _, p := range parents(host) {
		if !under(p, top.Name) {
			break
		}
		names = append(names, "*."+p, p)
	}
	ds, err := client.Domain.Query().Where(domain.NameIn(names...)).All(sys(ctx))
	if err != nil {
		return "", err
	}
	byName := map[string]*ent.Domain{}
	for _, d := range ds {
		byName[d.Name] = d
	}
	// the name itself, else the wildcard of its closest parent that exists
	var d *ent.Domain
	for _, n := range names {
		if d = byName[n]; d != nil {
			break
		}
	}
	if d == nil || !strings.HasPrefix(d.Name, "*.") && d.Name != host {
		return i18n.T(ctx, "the name server %s has no address (A or AAAA record).", host), nil
	}
	types, err := client.Record.Query().Where(record.DomainID(d.ID)).Select(record.FieldType).Strings(sys(ctx))
	if err != nil {
		return "", err
	}
	has := map[string]bool{}
	for _, t := range types {
		has[t] = true
	}
	switch {
	case has["CNAME"]:
		return i18n.T(ctx, "the name server %s is an alias (CNAME), which a name server may not be.", host), nil
	case !hasAddress(d.Name, d.ID == top.ID, len(types), has):
		return i18n.T(ctx, "the name server %s has no address (A or AAAA record).", host), nil
	}
	return "", nil
}

// checkNameServers checks the zone of top's own name servers that are in
// the zone; an error names the NS record at fault, in the words of the
// user's own record when it is one of records.
func checkNameServers(ctx context.Context, client *ent.Client, top *ent.Domain, records []int) error {
	nss, err := nameServers(ctx, client, top)
	if err != nil {
		return err
	}
	for _, ns := range nss {
		host := strings.ToLower(strings.TrimSuffix(ns.Value, "."))
		if !under(host, top.Name) {
			continue // another zone's: not this one's to load
		}
		msg, err := nameServerProblem(ctx, client, top, host)
		if err != nil || msg == "" {
			if err != nil {
				return err
			}
			continue
		}
		if ns.ID != 0 && !slices.Contains(records, ns.ID) {
			msg = i18n.T(ctx, "The zone %s would not load because of record %d of %s: %s", top.Name, ns.ID, top.Name, msg)
		} else {
			msg = i18n.T(ctx, "The zone %s would not load: %s", top.Name, msg)
		}
		return fieldErr("value", msg)
	}
	return nil
}
