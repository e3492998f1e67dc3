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
// DOMAINS_CONF_DIR/zones/ and keep DOMAINS_CONF_DIR/index.conf listing them,
// which DOMAINS_NAMED_CONF includes once: nothing edits a shared file in
// place, and a zone's statement is replaced whole. The name server reloads
// only when a file changed.

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

type paths struct{ zones, conf, named, slaveZones string }

func pathsOf(srv orchestration.Server) paths {
	return paths{
		zones:      srv.Setting("DOMAINS_ZONES_DIR", ZonesDir.Get()),
		conf:       srv.Setting("DOMAINS_CONF_DIR", ConfDir.Get()),
		named:      srv.Setting("DOMAINS_NAMED_CONF", NamedConf.Get()),
		slaveZones: srv.Setting("DOMAINS_SLAVE_ZONES_DIR", SlaveZonesDir.Get()),
	}
}

func prepare(slave bool) func(s *orchestration.Script, srv orchestration.Server) {
	return func(s *orchestration.Script, srv orchestration.Server) {
		p := pathsOf(srv)
		s.Var("conf", p.conf)
		s.Var("named_conf", p.named)
		dirs := []string{p.conf + "/zones"}
		if slave {
			s.Var("zones", p.slaveZones)
			dirs = append(dirs, p.slaveZones)
		} else {
			s.Var("zones", p.zones)
			dirs = append(dirs, p.zones)
		}
		s.Cmd(append([]string{"install", "-d", "-m", "0755", "--"}, dirs...)...)
		if !slave {
			s.Var("checkconf", srv.Setting("DOMAINS_CHECKCONF", CheckConf.Get()))
			s.Raw(checkStagedZones)
		}
	}
}

// checkStagedZones loads every zone file about to be put in place with one
// named-checkconf -z, as named will, before any of them is: a full resync of
// thousands of zones costs one process, not one per zone.
const checkStagedZones = `orchestra_before_flush() {
  local f conf="" out
  for f in "$@"; do
    [[ $f == "$zones"/* ]] || continue
    conf+="zone \"${f##*/}\" { type master; file \"$f.orchestra-new\"; };"$'\n'
  done
  [[ -n $conf ]] || return 0
  rm -f -- "$zones/.orchestra-check.conf"
  printf '%s' "$conf" >"$zones/.orchestra-check.conf"
  if ! out=$($checkconf -z "$zones/.orchestra-check.conf" 2>&1); then
    printf '%s\n' "$out" | grep -v 'loaded serial' >&2
    rm -f -- "$zones/.orchestra-check.conf"
    return 1
  fi
  rm -f -- "$zones/.orchestra-check.conf"
}`

// forget removes a zone's statement and files: a deleted domain, or one
// that became a subdomain of a new top domain.
func forget(s *orchestration.Script, name string) {
	s.Var("zone", name)
	s.Raw(`if [[ -e $conf/zones/$zone.conf || -e $zones/$zone ]]; then
  rm -f -- "$conf/zones/$zone.conf" "$zones/$zone" "$zones/$zone".jnl "$zones/$zone".signed "$zones/$zone".signed.jnl
  changed=1
fi`)
}

func applyMaster(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	name := o.String("name")
	if action == orchestration.ActionDelete || !isTop(o) {
		forget(s, name)
		return nil
	}
	z, ok := o.Extra.(masterZone)
	if !ok {
		return fmt.Errorf("domain %s: zone not loaded", name)
	}
	p := pathsOf(srv)
	file := p.zones + "/" + name
	s.WriteFile(file, []byte(z.text), "0644")
	// localhost (the master's own addresses) may transfer too: tools on the
	// master, and a slave sharing its host, whose requests leave from them
	slaves := ""
	for _, a := range z.slaves {
		slaves += a + "; "
	}
	stmt := fmt.Sprintf("// %s, written by Orchestra\nzone %q {\n\ttype master;\n\tfile %q;\n\tallow-transfer { %slocalhost; };\n\tnotify yes;\n",
		name, name, file, slaves)
	if slaves != "" {
		stmt += "\talso-notify { " + slaves + "};\n"
	}
	if z.dnssec {
		stmt += "\tdnssec-policy default;\n\tinline-signing yes;\n"
	}
	s.WriteFile(p.conf+"/zones/"+name+".conf", []byte(stmt+"};\n"), "0644")
	return nil
}

func applySlave(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	name := o.String("name")
	if action == orchestration.ActionDelete || !isTop(o) {
		forget(s, name)
		return nil
	}
	z, ok := o.Extra.(slaveZone)
	if !ok {
		return fmt.Errorf("domain %s: masters not loaded", name)
	}
	p := pathsOf(srv)
	stmt := fmt.Sprintf("// %s, written by Orchestra\nzone %q {\n\ttype slave;\n\tmasters { %s };\n\tallow-notify { %s };\n\tfile %q;\n};\n",
		name, name, acl(z.masters), acl(z.masters), p.slaveZones+"/"+name)
	s.WriteFile(p.conf+"/zones/"+name+".conf", []byte(stmt), "0644")
	return nil
}

// commit rebuilds the index of zone statements, includes it once, and
// reloads the name server if anything changed.
func commit(s *orchestration.Script, srv orchestration.Server) {
	s.Raw(`index=""
for f in "$conf"/zones/*.conf; do
  [[ -e $f ]] && index+="include \"$f\";"$'\n'
done
orchestra_write "$conf/index.conf" 0644 "$index"
orchestra_flush
line="include \"$conf/index.conf\";"
if ! grep -qxF -- "$line" "$named_conf" 2>/dev/null; then
  printf '%s\n' "$line" >>"$named_conf"
  changed=1
fi
if (( changed )); then`)
	s.Cmd(strings.Fields(srv.Setting("DOMAINS_RELOAD", Reload.Get()))...)
	s.Raw(`fi`)
}
