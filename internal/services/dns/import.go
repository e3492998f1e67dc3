package dns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// Import reads a zone file (an operator moving from another panel) and
// creates its domain, a subdomain for each other name in it, and their
// records, in tx. The SOA's timers become the domain's; its serial carries
// on. Types Orchestra does not manage, and names outside the zone, are
// refused with the line they are on (field "zone").
func Import(ctx context.Context, tx *ent.Tx, origin string, account int, text string) (*ent.Domain, error) {
	origin = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(origin), "."))
	bad := func(format string, args ...any) error {
		var errs validate.Errors
		errs.Add("zone", i18n.T(ctx, format, args...))
		return errs.Err()
	}
	if _, ok := mdns.IsDomainName(origin + "."); origin == "" || !ok {
		var errs validate.Errors
		errs.Add("name", i18n.T(ctx, "Enter the zone's domain name."))
		return nil, errs.Err()
	}
	zp := mdns.NewZoneParser(strings.NewReader(text), origin+".", "")
	zp.SetIncludeAllowed(false)
	type rec struct{ typ, value, ttl string }
	byName := map[string][]rec{}
	var names []string
	var soa *mdns.SOA
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		name := strings.ToLower(strings.TrimSuffix(h.Name, "."))
		if !under(name, origin) {
			return nil, bad("%s is not in the zone %s.", name, origin)
		}
		ttl := strconv.FormatUint(uint64(h.Ttl), 10)
		var r rec
		switch v := rr.(type) {
		case *mdns.SOA:
			if name != origin {
				return nil, bad("The SOA record belongs to %s, not %s.", origin, name)
			}
			soa = v
			continue
		case *mdns.A:
			r = rec{"A", v.A.String(), ttl}
		case *mdns.AAAA:
			r = rec{"AAAA", v.AAAA.String(), ttl}
		case *mdns.CNAME:
			r = rec{"CNAME", v.Target, ttl}
		case *mdns.NS:
			r = rec{"NS", v.Ns, ttl}
		case *mdns.MX:
			r = rec{"MX", fmt.Sprintf("%d %s", v.Preference, v.Mx), ttl}
		case *mdns.SRV:
			r = rec{"SRV", fmt.Sprintf("%d %d %d %s", v.Priority, v.Weight, v.Port, v.Target), ttl}
		case *mdns.TXT:
			var text strings.Builder
			for _, part := range v.Txt {
				text.WriteString(unescape(part))
			}
			r = rec{"TXT", text.String(), ttl}
		case *mdns.CAA:
			r = rec{"CAA", fmt.Sprintf("%d %s %q", v.Flag, v.Tag, v.Value), ttl}
		default:
			return nil, bad("%s: records of type %s are not managed here.", name, mdns.TypeToString[h.Rrtype])
		}
		if _, ok := byName[name]; !ok {
			names = append(names, name)
		}
		byName[name] = append(byName[name], r)
	}
	if err := zp.Err(); err != nil {
		return nil, bad("The zone file cannot be read: %s", err.Error())
	}
	if !slices.Contains(names, origin) {
		names = append(names, origin)
	}
	// parents before children, so each subdomain finds its top
	slices.SortFunc(names, func(a, b string) int { return strings.Count(a, ".") - strings.Count(b, ".") })
	var top *ent.Domain
	for _, name := range names {
		c := tx.Domain.Create().SetName(name)
		if account != 0 {
			c.SetAccountID(account)
		}
		if name == origin && soa != nil {
			c.SetRefresh(strconv.FormatUint(uint64(soa.Refresh), 10)).SetRetry(strconv.FormatUint(uint64(soa.Retry), 10)).
				SetExpire(strconv.FormatUint(uint64(soa.Expire), 10)).SetMinTTL(strconv.FormatUint(uint64(soa.Minttl), 10))
		}
		d, err := c.Save(ctx)
		if err != nil {
			return nil, err
		}
		if name == origin {
			top = d
			if soa != nil && int64(soa.Serial) >= d.Serial {
				// the servers already have that serial: carry on above it
				if err := tx.Domain.UpdateOne(d).SetSerial(int64(soa.Serial)).Exec(internalCtx(ctx)); err != nil {
					return nil, err
				}
			}
			account = d.AccountID
		}
		for _, r := range byName[name] {
			if err := tx.Record.Create().SetDomainID(d.ID).SetType(r.typ).SetValue(r.value).SetTTL(r.ttl).Exec(ctx); err != nil {
				var errs validate.Errors
				if errors.As(err, &errs) && len(errs) > 0 {
					return nil, bad("%s %s %s: %s", name, r.typ, r.value, errs[0].Message)
				}
				return nil, err
			}
		}
	}
	return top, nil
}

// unescape turns a character string in presentation form (as miekg/dns
// keeps TXT strings: \" \\ \DDD) back into its bytes.
func unescape(s string) string {
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && digit(s[i+1]) && digit(s[i+2]) && digit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n < 256 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}
