package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/route"
	"github.com/orchestra-panel/orchestra/internal/store/ent/server"
)

// Backend names, stored in routes and logs.
const (
	MasterBackend = "bind9-master"
	SlaveBackend  = "bind9-slave"
)

// Both backends write one file of zone statement per top domain into
// DOMAINS_CONF_DIR/zones/<name>.conf and keep DOMAINS_CONF_DIR/index.conf
// listing them, which DOMAINS_NAMED_CONF includes once: nothing edits a
// shared file in place, and a zone's statement is replaced whole. See
// script.go for what a unit runs.

// masterZone is what the master backend loads for a top domain.
type masterZone struct {
	text   string
	slaves []string
	dnssec bool
}

// slaveZone is what the slave backend loads for a top domain.
type slaveZone struct{ masters []string }

func init() {
	related := []orchestration.Related{
		{Model: "Record", Resolve: recordTop},
		{Model: "Domain", Resolve: domainTop},
	}
	orchestration.Register(&orchestration.Backend{
		Name: MasterBackend, Verbose: "BIND master zone", Model: "Domain", Related: related,
		IgnoreFields: []string{"serial"}, DefaultMatch: "true",
		Load:    loadMaster,
		Prepare: prepare(false),
		Apply:   applyMaster,
		Commit:  commit,
	})
	orchestration.Register(&orchestration.Backend{
		Name: SlaveBackend, Verbose: "BIND slave zone", Model: "Domain",
		Related:      []orchestration.Related{{Model: "Domain", Resolve: domainTop}},
		IgnoreFields: []string{"serial", "refresh", "retry", "expire", "min_ttl"}, DefaultMatch: "true",
		Load:    loadSlave,
		Prepare: prepare(true),
		Apply:   applySlave,
		Commit:  commit,
	})
}

// recordTop: a record's change re-applies its domain's zone.
func recordTop(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
	return topOf(ctx, tx, o.Int("domain_id"))
}

// domainTop: a subdomain's change re-applies its top's zone.
func domainTop(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
	if t := o.Int("top_id"); t != 0 {
		return []int{t}, nil
	}
	return nil, nil
}

func topOf(ctx context.Context, tx *ent.Tx, id int) ([]int, error) {
	d, err := tx.Domain.Query().Where(domain.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil // deleted with it: its own delete does the rest
	}
	if err != nil {
		return nil, err
	}
	if d.TopID != nil {
		return []int{*d.TopID}, nil
	}
	return []int{d.ID}, nil
}

func isTop(o orchestration.Object) bool { return o.Snapshot["top_id"] == nil }

func loadMaster(ctx context.Context, tx *ent.Tx, o *orchestration.Object) error {
	if !isTop(*o) {
		return nil
	}
	d, err := tx.Domain.Get(ctx, o.ID)
	if err != nil {
		return err
	}
	z, err := LoadZone(ctx, tx.Client(), d)
	if err != nil {
		return err
	}
	text, _ := z.Render()
	slaves := Slaves.Get()
	if len(slaves) == 0 {
		if slaves, err = routedAddresses(ctx, tx, SlaveBackend); err != nil {
			return err
		}
	}
	o.Extra = masterZone{text: text, slaves: slaves, dnssec: d.Dnssec}
	return nil
}

func loadSlave(ctx context.Context, tx *ent.Tx, o *orchestration.Object) error {
	masters := Masters.Get()
	if len(masters) == 0 {
		var err error
		if masters, err = routedAddresses(ctx, tx, MasterBackend); err != nil {
			return err
		}
	}
	if len(masters) == 0 {
		return fmt.Errorf("no master to transfer %s from: route %s to a server or set DOMAINS_MASTERS", o.Repr, MasterBackend)
	}
	o.Extra = slaveZone{masters: masters}
	return nil
}

// routedAddresses lists the IP addresses of the active servers an active
// route of backend goes to; host names are resolved.
func routedAddresses(ctx context.Context, tx *ent.Tx, backend string) ([]string, error) {
	servers, err := tx.Server.Query().Where(server.IsActive(true),
		server.HasRoutesWith(route.Backend(backend), route.IsActive(true))).Order(ent.Asc(server.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range servers {
		host := s.Address
		if host == "" {
			host = s.Name
		}
		addrs := []string{host}
		if _, err := netip.ParseAddr(host); err != nil {
			if addrs, err = net.DefaultResolver.LookupHost(ctx, host); err != nil {
				return nil, fmt.Errorf("server %s: %w", s.Name, err)
			}
		}
		for _, a := range addrs {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func acl(addrs []string) string {
	if len(addrs) == 0 {
		return "none;"
	}
	return strings.Join(addrs, "; ") + ";"
}
