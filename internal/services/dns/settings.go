// Package dns holds domains and their records: the rules every write
// passes, zone rendering, import of zone files, and the bind9 backends
// that serve the zones.
package dns

import (
	"context"
	"errors"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/settings"
)

// Settings of domains, as the original's.
var (
	DefaultNameServer = settings.String("DOMAINS_DEFAULT_NAME_SERVER", "ns.orchestra.lan",
		"Primary name server in the SOA of zones that declare none.", settings.Validator(hostSetting))
	DefaultHostmaster = settings.String("DOMAINS_DEFAULT_HOSTMASTER", "hostmaster@orchestra.lan",
		"Responsible person's e-mail in the SOA of zones that declare none.")
	DefaultTTL     = settings.String("DOMAINS_DEFAULT_TTL", "1h", "TTL of records that set none.", settings.Validator(intervalSetting))
	DefaultRefresh = settings.String("DOMAINS_DEFAULT_REFRESH", "1d", "SOA refresh of domains that set none.", settings.Validator(intervalSetting))
	DefaultRetry   = settings.String("DOMAINS_DEFAULT_RETRY", "2h", "SOA retry of domains that set none.", settings.Validator(intervalSetting))
	DefaultExpire  = settings.String("DOMAINS_DEFAULT_EXPIRE", "4w", "SOA expire of domains that set none.", settings.Validator(intervalSetting))
	DefaultMinTTL  = settings.String("DOMAINS_DEFAULT_MIN_TTL", "1h", "SOA minimum (negative caching) TTL of domains that set none.", settings.Validator(intervalSetting))
	DefaultA       = settings.String("DOMAINS_DEFAULT_A", "10.0.3.13",
		"A record given to hosts that declare neither A nor AAAA; empty for none.")
	DefaultAAAA = settings.String("DOMAINS_DEFAULT_AAAA", "",
		"AAAA record given to hosts that declare neither A nor AAAA; empty for none.")
	DefaultMX = settings.StringList("DOMAINS_DEFAULT_MX", []string{"10 mail.orchestra.lan.", "10 mail2.orchestra.lan."},
		"MX records given to hosts that declare none.")
	DefaultNS = settings.StringList("DOMAINS_DEFAULT_NS", []string{"ns1.orchestra.lan.", "ns2.orchestra.lan."},
		"NS records given to top domains that declare none.")
	Forbidden = settings.StringList("DOMAINS_FORBIDDEN", nil,
		"Names customers may not register, nor any name under them (e.g. the panel's own domains); staff may.")
	Masters = settings.StringList("DOMAINS_MASTERS", nil,
		"Addresses slaves transfer zones from; empty means the servers routed to bind9-master.")
	Slaves = settings.StringList("DOMAINS_SLAVES", nil,
		"Addresses a master lets transfer its zones and notifies; empty means the servers routed to bind9-slave.")
	ZonesDir = settings.String("DOMAINS_ZONES_DIR", "/etc/bind/orchestra/zones",
		"Directory of the master's zone files (one per top domain), on the name server.")
	ConfDir = settings.String("DOMAINS_CONF_DIR", "/etc/bind/orchestra",
		"Directory of the zone statements Orchestra writes, one file per zone plus the index named.conf includes.")
	NamedConf = settings.String("DOMAINS_NAMED_CONF", "/etc/bind/named.conf.local",
		"File that gets one include of Orchestra's zone index.")
	SlaveZonesDir = settings.String("DOMAINS_SLAVE_ZONES_DIR", "/var/cache/bind/orchestra",
		"Directory where a slave keeps the zones it transfers.")
	Rndc = settings.String("DOMAINS_RNDC", "rndc",
		"rndc, with its options (e.g. rndc -c /etc/bind/rndc.conf), with which the name server loads changed zones: rndc reload <zone> for each, rndc reconfig when zones come or go.")
	CheckConf = settings.String("DOMAINS_CHECKCONF", "named-checkconf",
		"named-checkconf on the master, which loads each changed zone (-z) before it is put in place.")
	CheckZone = settings.String("DOMAINS_CHECKZONE", "named-checkzone",
		"named-checkzone on the panel's host, which checks a new zone whole before it is saved; if missing there, the new zone is only parsed (the master loads every changed zone before it is put in place).")
)

func intervalSetting(v any) error {
	if _, err := ParseInterval(v.(string)); err != nil {
		return err
	}
	return nil
}

func hostSetting(v any) error {
	if msg := hostName(context.Background(), strings.TrimSuffix(v.(string), ".")); msg != "" {
		return errors.New(msg)
	}
	return nil
}
