package dns

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// DSRecords asks the name server at addr (host or host:port) for zone's
// DNSKEY set and returns the DS records of its key-signing keys (SHA-256),
// in presentation form, for the registrar.
func DSRecords(ctx context.Context, addr, zone string) ([]string, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "53")
	}
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(zone), mdns.TypeDNSKEY)
	m.SetEdns0(4096, true)
	m.RecursionDesired = false
	c := &mdns.Client{Net: "tcp", Timeout: 5 * time.Second}
	r, _, err := c.ExchangeContext(ctx, m, addr)
	if err != nil {
		return nil, fmt.Errorf("asking %s for the DNSKEY of %s: %w", addr, zone, err)
	}
	if r.Rcode != mdns.RcodeSuccess {
		return nil, fmt.Errorf("%s answered %s for the DNSKEY of %s", addr, mdns.RcodeToString[r.Rcode], zone)
	}
	var out []string
	for _, rr := range r.Answer {
		k, ok := rr.(*mdns.DNSKEY)
		if !ok || k.Flags&mdns.SEP == 0 {
			continue
		}
		if ds := k.ToDS(mdns.SHA256); ds != nil {
			out = append(out, strings.Join(strings.Fields(ds.String()), " "))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no key-signing key for %s yet (signing starts after the zone is loaded)", addr, zone)
	}
	return out, nil
}
