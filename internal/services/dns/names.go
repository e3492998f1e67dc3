package dns

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// maxTTL is the largest TTL RFC 2181 allows.
const maxTTL = 1<<31 - 1

// ParseInterval reads a zone interval: seconds, or a number followed by
// s, m, h, d or w ("1d", "7200"), as the original accepted.
func ParseInterval(s string) (int64, error) {
	bad := errors.New("enter seconds or a number followed by s, m, h, d or w, e.g. 3600 or 1h")
	if s == "" {
		return 0, bad
	}
	unit := int64(1)
	switch s[len(s)-1] {
	case 's':
		s = s[:len(s)-1]
	case 'm':
		unit, s = 60, s[:len(s)-1]
	case 'h':
		unit, s = 3600, s[:len(s)-1]
	case 'd':
		unit, s = 86400, s[:len(s)-1]
	case 'w':
		unit, s = 604800, s[:len(s)-1]
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" || len(s) > 10 {
		return 0, bad
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n*unit > maxTTL {
		return 0, errors.New("the interval is longer than 68 years (2147483647 seconds)")
	}
	return n * unit, nil
}

// hostName checks a name of labels of letters, digits and hyphens (and
// underscores, which SRV and TXT owner names use), without the final dot,
// and returns what is wrong with it, or "".
func hostName(ctx context.Context, name string) string {
	if name == "" {
		return i18n.T(ctx, "Enter a domain name.")
	}
	if len(name) > 253 {
		return i18n.T(ctx, "A domain name has at most 253 characters.")
	}
	for _, label := range strings.Split(name, ".") {
		switch {
		case label == "":
			return i18n.T(ctx, "A domain name has no empty labels (two dots in a row, or a dot at the start).")
		case len(label) > 63:
			return i18n.T(ctx, "Each label of a domain name has at most 63 characters.")
		case label[0] == '-' || label[len(label)-1] == '-':
			return i18n.T(ctx, "A label of a domain name neither starts nor ends with a hyphen.")
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				if c > 127 {
					return i18n.T(ctx, "Write international names in their xn-- (punycode) form.")
				}
				return i18n.T(ctx, "A domain name has only letters, digits, hyphens and dots.")
			}
		}
	}
	return ""
}

// domainName checks the name of a domain: a host name, maybe with a
// leading "*." (a wildcard subdomain); a top domain has at least two labels
// and no underscores.
func domainName(ctx context.Context, name string) string {
	if msg := hostName(ctx, strings.TrimPrefix(name, "*.")); msg != "" {
		return msg
	}
	if strings.Contains(name[1:], "*") {
		return i18n.T(ctx, "Only the first label of a name can be a wildcard (*).")
	}
	return ""
}

// under reports whether name is parent itself or a name below it.
func under(name, parent string) bool {
	return name == parent || strings.HasSuffix(name, "."+parent)
}

// parents lists the names above name, closest first: a.b.c → b.c, c.
func parents(name string) []string {
	var out []string
	for i := strings.IndexByte(name, '.'); i >= 0; i = strings.IndexByte(name, '.') {
		name = name[i+1:]
		out = append(out, name)
	}
	return out
}
