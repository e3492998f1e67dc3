package dns

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// Types are the record types a domain can have.
var Types = []string{"A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "CAA", "SOA"}

// maxTXT bounds a TXT value; it is split into strings of 255 bytes.
const maxTXT = 4000

// NormalizeValue checks a record value for its type and returns it in the
// form it is stored and rendered in (names absolute with a final dot, lower
// case, single spaces), or what is wrong with it.
func NormalizeValue(ctx context.Context, typ, value string) (string, string) {
	if typ == "TXT" {
		// the text is kept byte for byte, quotes included: the zone renders
		// it quoted and escaped (txtStrings), so resolvers answer it as typed
		if value == "" {
			return "", i18n.T(ctx, "Enter the text.")
		}
		if len(value) > maxTXT {
			return "", i18n.T(ctx, "A TXT value has at most %d bytes.", maxTXT)
		}
		if !utf8.ValidString(value) {
			return "", i18n.T(ctx, "Enter text in UTF-8.")
		}
		return value, ""
	}
	f := strings.Fields(strings.ToLower(value))
	want := map[string]int{"A": 1, "AAAA": 1, "CNAME": 1, "NS": 1, "MX": 2, "SRV": 4, "SOA": 7}
	if n, ok := want[typ]; ok && len(f) != n {
		return "", i18n.T(ctx, map[string]string{
			"A": i18n.M("Enter one IPv4 address."), "AAAA": i18n.M("Enter one IPv6 address."),
			"CNAME": i18n.M("Enter one host name."), "NS": i18n.M("Enter one name server's host name."),
			"MX":  i18n.M("Enter a preference and a mail server's host name, e.g. 10 mail.example.com."),
			"SRV": i18n.M("Enter priority, weight, port and target, e.g. 10 5 5060 sip.example.com."),
			"SOA": i18n.M("Enter primary name server, responsible mailbox, serial, refresh, retry, expire and minimum."),
		}[typ])
	}
	switch typ {
	case "A", "AAAA":
		ip, err := netip.ParseAddr(f[0])
		if err != nil || (typ == "A") != ip.Is4() || ip.Zone() != "" {
			return "", i18n.T(ctx, map[string]string{"A": i18n.M("Enter a valid IPv4 address."), "AAAA": i18n.M("Enter a valid IPv6 address.")}[typ])
		}
		return ip.String(), ""
	case "CNAME", "NS":
		return target(ctx, f[0])
	case "MX":
		pref, msg := number(ctx, f[0], 65535, i18n.M("The preference is a number from 0 to %d."))
		if msg != "" {
			return "", msg
		}
		if f[1] == "." {
			if pref != "0" {
				return "", i18n.T(ctx, "A null MX (RFC 7505: the domain takes no mail) is 0 .")
			}
			return "0 .", ""
		}
		t, msg := target(ctx, f[1])
		return pref + " " + t, msg
	case "SRV":
		var out []string
		for i, what := range []string{i18n.M("The priority is a number from 0 to %d."), i18n.M("The weight is a number from 0 to %d."), i18n.M("The port is a number from 0 to %d.")} {
			n, msg := number(ctx, f[i], 65535, what)
			if msg != "" {
				return "", msg
			}
			out = append(out, n)
		}
		t, msg := target(ctx, f[3])
		if f[3] == "." {
			t, msg = ".", "" // "service not available"
		}
		return strings.Join(append(out, t), " "), msg
	case "CAA":
		return caa(ctx, value)
	case "SOA":
		var out []string
		for i, n := range f[:2] {
			check := n
			if i == 1 { // the mailbox: dots of its local part are escaped
				check = strings.ReplaceAll(n, `\.`, "-")
			}
			if _, msg := target(ctx, check); msg != "" {
				return "", msg
			}
			out = append(out, strings.TrimSuffix(n, ".")+".")
		}
		if _, err := strconv.ParseUint(f[2], 10, 32); err != nil {
			return "", i18n.T(ctx, "The SOA serial is a number (it is replaced by the domain's).")
		}
		out = append(out, f[2])
		for _, iv := range f[3:] {
			if _, err := ParseInterval(iv); err != nil {
				return "", i18n.T(ctx, "A SOA timer is seconds, or a number followed by s, m, h, d or w (e.g. 3600 or 1h), up to 68 years: %s is not.", iv)
			}
			out = append(out, iv)
		}
		return strings.Join(out, " "), ""
	}
	return "", i18n.T(ctx, "Unknown record type %q; choose one of %s.", typ, strings.Join(Types, ", "))
}

// target checks a host name a record points to: a name, never an address.
func target(ctx context.Context, name string) (string, string) {
	if _, err := netip.ParseAddr(strings.TrimSuffix(name, ".")); err == nil {
		return "", i18n.T(ctx, "Enter a host name, not an address: add an A or AAAA record for the name instead.")
	}
	name = strings.TrimSuffix(name, ".")
	if msg := hostName(ctx, name); msg != "" {
		return "", msg
	}
	return name + ".", ""
}

// number checks a number from 0 to max; msg says so (a format with %d).
func number(ctx context.Context, s string, max int, msg string) (string, string) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return "", i18n.T(ctx, msg, max)
	}
	return strconv.Itoa(n), ""
}

// caa reads `flags tag value` (RFC 8659); the value may be quoted.
func caa(ctx context.Context, value string) (string, string) {
	value = strings.TrimSpace(value)
	flags, rest, _ := strings.Cut(value, " ")
	rest = strings.TrimSpace(rest)
	tag, v, _ := strings.Cut(rest, " ")
	v = strings.TrimSpace(v)
	f, msg := number(ctx, flags, 255, i18n.M("The flag is a number from 0 to %d."))
	if msg != "" {
		return "", i18n.T(ctx, "Enter flags, tag and value, e.g. 0 issue \"letsencrypt.org\": %s", msg)
	}
	tag = strings.ToLower(tag)
	if tag == "" || strings.TrimLeft(tag, "abcdefghijklmnopqrstuvwxyz0123456789") != "" || len(tag) > 15 {
		return "", i18n.T(ctx, "The CAA tag is letters and digits, e.g. issue, issuewild or iodef.")
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" && tag != "issue" && tag != "issuewild" {
		return "", i18n.T(ctx, "Enter the CAA value.")
	}
	for _, c := range v {
		if c < 0x21 && c != ' ' || c > 0x7e || c == '"' || c == '\\' {
			return "", i18n.T(ctx, "The CAA value is printable ASCII without quotes or backslashes.")
		}
	}
	return f + " " + tag + " \"" + v + "\"", ""
}

// txtStrings renders text as quoted character strings of at most 255
// bytes, escaping what the zone syntax would read.
func txtStrings(text string) string {
	var parts []string
	b := []byte(text)
	for len(b) > 0 {
		n := min(255, len(b))
		var q strings.Builder
		q.WriteByte('"')
		for _, c := range b[:n] {
			switch {
			case c == '"' || c == '\\':
				q.WriteByte('\\')
				q.WriteByte(c)
			case c < 0x20 || c >= 0x7f:
				fmt.Fprintf(&q, "\\%03d", c)
			default:
				q.WriteByte(c)
			}
		}
		q.WriteByte('"')
		parts = append(parts, q.String())
		b = b[n:]
	}
	return strings.Join(parts, " ")
}
