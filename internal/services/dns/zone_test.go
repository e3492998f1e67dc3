package dns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/orchestra-panel/orchestra/internal/settings"
)

// withEnv gives settings environment values (ORCHESTRA_<NAME>) for the
// test, and takes them away again at its end.
func withEnv(t *testing.T, env map[string]string) {
	t.Helper()
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if err := settings.LoadEnv(lookup(env)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settings.LoadEnv(lookup(nil)) })
}

func TestParseInterval(t *testing.T) {
	valid := map[string]int64{
		"0": 0, "00": 0, "3600": 3600, "1h": 3600, "2d": 172800, "4w": 2419200, "30m": 1800, "10s": 10,
		"0w": 0, "2147483647": maxTTL, "2147483647s": maxTTL, "3550w": 3550 * 604800,
	}
	for in, want := range valid {
		got, err := ParseInterval(in)
		if err != nil || got != want {
			t.Errorf("ParseInterval(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "h", "s", "1x", "-1", "+1", "1.5h", "99999999999", "1h30m", "2147483648", "9999999999", "3551w",
		"24856d", " 1h", "1h ", "1H", "1 h", "0x10", "1e3", "١", "h1",
	} {
		if got, err := ParseInterval(in); err == nil {
			t.Errorf("ParseInterval(%q) = %d, want an error", in, got)
		}
	}
}

func TestNormalizeValue(t *testing.T) {
	long := strings.Repeat("a", 64)
	ok := []struct{ typ, in, want string }{
		{"A", "192.0.2.1", "192.0.2.1"},
		{"A", "  192.0.2.1\t", "192.0.2.1"},
		{"A", "0.0.0.0", "0.0.0.0"},
		{"AAAA", "2001:DB8:0:0::1", "2001:db8::1"},
		{"AAAA", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
		{"AAAA", "::1", "::1"},
		// an IPv4-mapped address is an IPv6 address: kept in its canonical form
		{"AAAA", "::ffff:1.2.3.4", "::ffff:1.2.3.4"},
		{"AAAA", "::FFFF:102:304", "::ffff:1.2.3.4"},
		{"CNAME", "WWW.Example.COM", "www.example.com."},
		{"CNAME", "www.example.com.", "www.example.com."},
		{"CNAME", "localhost", "localhost."},
		{"CNAME", "_sip._tcp.example.com", "_sip._tcp.example.com."},
		{"CNAME", long[:63] + ".example.com", long[:63] + ".example.com."},
		{"NS", "NS1.example.com", "ns1.example.com."},
		{"NS", " ns1.example.com. ", "ns1.example.com."},
		{"MX", "10 mail.example.com", "10 mail.example.com."},
		{"MX", "010   Mail.Example.com.", "10 mail.example.com."},
		{"MX", "0 mx", "0 mx."},
		{"MX", "65535 mx.example.com", "65535 mx.example.com."},
		{"SRV", "10 5 5060 sip.example.com", "10 5 5060 sip.example.com."},
		{"SRV", "010 05 05060 SIP.example.com.", "10 5 5060 sip.example.com."},
		{"SRV", "0 0 0 .", "0 0 0 ."},
		{"SRV", "65535 65535 65535 x.example.com", "65535 65535 65535 x.example.com."},
		{"CAA", `0 issue "letsencrypt.org"`, `0 issue "letsencrypt.org"`},
		{"CAA", `0 issue letsencrypt.org`, `0 issue "letsencrypt.org"`},
		{"CAA", `  128   ISSUEWILD   "ca.example.net; account=1"  `, `128 issuewild "ca.example.net; account=1"`},
		{"CAA", `0 iodef "mailto:security@example.com"`, `0 iodef "mailto:security@example.com"`},
		{"CAA", `255 tbs "Mixed Case Kept"`, `255 tbs "Mixed Case Kept"`},
		{"CAA", `0 issue ""`, `0 issue ""`},
		{"CAA", `0 issue ";"`, `0 issue ";"`},
		{"TXT", "v=spf1 -all", "v=spf1 -all"},
		{"TXT", "  Kept As Is  ", "  Kept As Is  "},
		{"TXT", `"quoted" \ back`, `"quoted" \ back`},
		{"TXT", `"v=spf1 -all"`, `"v=spf1 -all"`},
		{"TXT", `"; touch /tmp/pwned; echo "`, `"; touch /tmp/pwned; echo "`},
		{"TXT", "\"a\" \"b\"", "\"a\" \"b\""},
		{"TXT", "ünïcödé ✓", "ünïcödé ✓"},
		{"TXT", strings.Repeat("x", maxTXT), strings.Repeat("x", maxTXT)},
		{"SOA", "NS1.example.com hostmaster.example.com. 2024010100 1d 2h 4w 1h",
			"ns1.example.com. hostmaster.example.com. 2024010100 1d 2h 4w 1h"},
		{"SOA", "ns1.example.com. hostmaster.example.com. 0 3600 600 86400 300",
			"ns1.example.com. hostmaster.example.com. 0 3600 600 86400 300"},
	}
	for _, c := range ok {
		got, msg := NormalizeValue(context.Background(), c.typ, c.in)
		if msg != "" || got != c.want {
			t.Errorf("NormalizeValue(%s, %q) = %q, %q; want %q", c.typ, c.in, got, msg, c.want)
		}
	}
	bad := []struct{ typ, in, why string }{
		{"A", "", "Enter one IPv4"},
		{"A", "2001:db8::1", "valid IPv4"},
		{"A", "::ffff:1.2.3.4", "valid IPv4"},
		{"A", "192.0.2", "valid IPv4"},
		{"A", "192.0.2.256", "valid IPv4"},
		{"A", "192.000.2.1", "valid IPv4"},
		{"A", "192.0.2.1 192.0.2.2", "Enter one IPv4"},
		{"A", "example.com", "valid IPv4"},
		{"AAAA", "192.0.2.1", "valid IPv6"},
		{"AAAA", "fe80::1%eth0", "valid IPv6"},
		{"AAAA", "2001:db8::g", "valid IPv6"},
		{"CNAME", "192.0.2.1", "not an address"},
		{"CNAME", "192.0.2.1.", "not an address"},
		{"CNAME", "2001:db8::1", "not an address"},
		{"CNAME", "-bad.example.com", "hyphen"},
		{"CNAME", "bad-.example.com", "hyphen"},
		{"CNAME", "a..example.com", "empty labels"},
		{"CNAME", ".", "Enter a domain name"},
		{"CNAME", long + ".example.com", "63 characters"},
		{"CNAME", strings.Repeat("abcdefghi.", 26) + "com", "253 characters"},
		{"CNAME", "*.example.com", "letters, digits"},
		{"CNAME", "bücher.de", "punycode"},
		{"CNAME", "a b", "Enter one host name"},
		{"CNAME", "", "Enter one host name"},
		{"NS", "192.0.2.53", "not an address"},
		{"NS", "ns1 ns2", "Enter one name server"},
		{"NS", "ns_1..example.com", "empty labels"},
		{"MX", "mail.example.com", "preference"},
		{"MX", "10 mail.example.com extra", "preference"},
		{"MX", "65536 mail.example.com", "0 to 65535"},
		{"MX", "-1 mail.example.com", "0 to 65535"},
		{"MX", "ten mail.example.com", "0 to 65535"},
		{"MX", "10 192.0.2.25", "not an address"},
		{"MX", "10 -mail.example.com", "hyphen"},
		{"SRV", "10 5 sip.example.com", "priority, weight, port"},
		{"SRV", "10 5 5060 sip.example.com 1", "priority, weight, port"},
		{"SRV", "65536 5 5060 sip.example.com", "priority"},
		{"SRV", "10 65536 5060 sip.example.com", "weight"},
		{"SRV", "10 5 65536 sip.example.com", "port"},
		{"SRV", "10 5 -1 sip.example.com", "port"},
		{"SRV", "10 5 5060 192.0.2.1", "not an address"},
		{"CAA", `256 issue "letsencrypt.org"`, "flag"},
		{"CAA", `-1 issue "letsencrypt.org"`, "flag"},
		{"CAA", `issue "letsencrypt.org"`, "flag"},
		{"CAA", `0`, "CAA tag"},
		{"CAA", `0 is-sue "x"`, "CAA tag"},
		{"CAA", `0 issue_ "x"`, "CAA tag"},
		{"CAA", `0 abcdefghijklmnop "x"`, "CAA tag"},
		{"CAA", `0 iodef ""`, "Enter the CAA value"},
		{"CAA", `0 iodef`, "Enter the CAA value"},
		{"CAA", `0 issue "a"b"`, "printable ASCII"},
		{"CAA", `0 issue "a\b"`, "printable ASCII"},
		{"CAA", `0 issue "létsencrypt.org"`, "printable ASCII"},
		{"CAA", "0 issue \"a\tb\"", "printable ASCII"},
		{"CAA", `0 issue "`, "printable ASCII"},
		{"TXT", "", "Enter the text"},
		{"TXT", strings.Repeat("x", maxTXT+1), "4000 bytes"},
		{"TXT", strings.Repeat("é", maxTXT/2) + "x", "4000 bytes"},
		{"TXT", "bad \xff utf-8", "UTF-8"},
		{"TXT", "\xc3", "UTF-8"},
		{"SOA", "ns1.example.com. hostmaster.example.com. 1 1d 2h 4w", "primary name server"},
		{"SOA", "ns1.example.com. hostmaster.example.com. 1 1d 2h 4w 1h 1h", "primary name server"},
		{"SOA", "192.0.2.53 hostmaster.example.com. 1 1d 2h 4w 1h", "not an address"},
		{"SOA", "ns1.example.com. host..master.example.com. 1 1d 2h 4w 1h", "empty labels"},
		{"SOA", "ns1.example.com. hostmaster.example.com. x 1d 2h 4w 1h", "serial"},
		{"SOA", "ns1.example.com. hostmaster.example.com. 4294967296 1d 2h 4w 1h", "serial"},
		{"SOA", "ns1.example.com. hostmaster.example.com. -1 1d 2h 4w 1h", "serial"},
		{"SOA", "ns1.example.com. hostmaster.example.com. 1 1x 2h 4w 1h", "SOA timer"},
		{"SOA", "ns1.example.com. hostmaster.example.com. 1 1d 2h 4w 99999999999", "SOA timer"},
		{"SPF", "v=spf1 -all", "Unknown record type"},
		{"PTR", "host.example.com", "Unknown record type"},
		{"a", "192.0.2.1", "Unknown record type"},
		{"", "x", "Unknown record type"},
	}
	for _, c := range bad {
		got, msg := NormalizeValue(context.Background(), c.typ, c.in)
		if msg == "" {
			t.Errorf("NormalizeValue(%s, %q) = %q, want an error", c.typ, c.in, got)
		} else if !strings.Contains(msg, c.why) {
			t.Errorf("NormalizeValue(%s, %q): %q, want it to say %q", c.typ, c.in, msg, c.why)
		}
	}
}

// TestNormalizedValuesParse: every normalized value loads as a record of
// its type, and loading it again gives the same value.
func TestNormalizedValuesParse(t *testing.T) {
	for _, c := range [][2]string{
		{"A", "192.0.2.1"}, {"AAAA", "2001:DB8::1"}, {"AAAA", "::ffff:1.2.3.4"}, {"CNAME", "Target.Example.com"},
		{"NS", "ns1.example.net"}, {"MX", "10 mail.example.com"}, {"SRV", "10 5 5060 sip.example.com"},
		{"SRV", "0 0 0 ."}, {"CAA", `0 issue "letsencrypt.org"`}, {"CAA", `0 issue ""`}, {"CAA", `0 iodef "a b"`},
		{"SOA", "ns1.example.com hostmaster.example.com 5 1d 2h 4w 1h"},
	} {
		v, msg := NormalizeValue(context.Background(), c[0], c[1])
		if msg != "" {
			t.Errorf("%s %q: %s", c[0], c[1], msg)
			continue
		}
		if c[0] == "SOA" {
			v = strings.Join(strings.Fields(v)[:3], " ") + " 86400 7200 2419200 3600"
		}
		rr, err := mdns.NewRR("x.example.com. 3600 IN " + c[0] + " " + v)
		if err != nil || rr == nil {
			t.Errorf("%s %q: normalized %q does not load: %v", c[0], c[1], v, err)
			continue
		}
		if got := strings.TrimPrefix(rr.String(), rr.Header().String()); c[0] != "SOA" && got != v {
			t.Errorf("%s %q: normalized %q, loads as %q", c[0], c[1], v, got)
		}
	}
}

func TestMailbox(t *testing.T) {
	for in, want := range map[string]string{
		"hostmaster@orchestra.lan":     "hostmaster.orchestra.lan.",
		"first.last@example.com":       `first\.last.example.com.`,
		"a.b.c@example.com.":           `a\.b\.c.example.com.`,
		"hostmaster.example.com":       "hostmaster.example.com.",
		"hostmaster.example.com.":      "hostmaster.example.com.",
		"first.last@sub.example.co.uk": `first\.last.sub.example.co.uk.`,
	} {
		if got := mailbox(in); got != want {
			t.Errorf("mailbox(%q) = %q, want %q", in, got, want)
		}
	}
}

// txtWire loads a TXT record whose rdata is rendered and returns its
// character strings as they go on the wire. miekg/dns keeps the presentation
// form (escapes and all) in TXT.Txt, so the bytes are read from the packed
// record instead.
func txtWire(t testing.TB, rendered string) [][]byte {
	t.Helper()
	const owner = "x.example."
	rr, err := mdns.NewRR(owner + " 3600 IN TXT " + rendered)
	if err != nil {
		t.Fatalf("TXT %s does not load: %v", rendered, err)
	}
	if rr == nil {
		t.Fatalf("TXT %s loads as nothing", rendered)
	}
	if _, ok := rr.(*mdns.TXT); !ok {
		t.Fatalf("TXT %s loads as %T", rendered, rr)
	}
	return packedTXT(t, rr)
}

func packedTXT(t testing.TB, rr mdns.RR) [][]byte {
	t.Helper()
	buf := make([]byte, 1<<17)
	end, err := mdns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		t.Fatalf("pack %v: %v", rr, err)
	}
	nameLen, err := mdns.PackDomainName(rr.Header().Name, make([]byte, 256), 0, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	rd := buf[nameLen+10 : end] // type, class, ttl, rdlength
	var out [][]byte
	for len(rd) > 0 {
		n := int(rd[0])
		if 1+n > len(rd) {
			t.Fatalf("bad TXT rdata % x", rd)
		}
		out = append(out, rd[1:1+n])
		rd = rd[1+n:]
	}
	return out
}

func TestTXTStrings(t *testing.T) {
	for in, want := range map[string]string{
		"hello":             `"hello"`,
		`say "hi"`:          `"say \"hi\""`,
		`back\slash`:        `"back\\slash"`,
		"tab\there\nnl":     `"tab\009here\010nl"`,
		"\x00\x1f\x7f\xff":  `"\000\031\127\255"`,
		"é":                 `"\195\169"`,
		"; not a comment (": `"; not a comment ("`,
		`\065`:              `"\\065"`,
		"":                  ``,
	} {
		if got := txtStrings(in); got != want {
			t.Errorf("txtStrings(%q) = %s, want %s", in, got, want)
		}
	}
	for _, c := range []struct {
		n    int
		want []int
	}{
		{1, []int{1}}, {255, []int{255}}, {256, []int{255, 1}}, {510, []int{255, 255}},
		{600, []int{255, 255, 90}}, {maxTXT, []int{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 175}},
	} {
		in := strings.Repeat("a", c.n)
		r := txtStrings(in)
		if got := strings.Count(r, `" "`) + 1; got != len(c.want) {
			t.Errorf("%d bytes: %d strings, want %d", c.n, got, len(c.want))
		}
		parts := txtWire(t, r)
		var lens []int
		for _, p := range parts {
			lens = append(lens, len(p))
		}
		if !slices.Equal(lens, c.want) {
			t.Errorf("%d bytes: strings of %v bytes, want %v", c.n, lens, c.want)
		}
		if got := string(bytes.Join(parts, nil)); got != in {
			t.Errorf("%d bytes: loads back as %d bytes", c.n, len(got))
		}
	}
	// a 600-byte value of escaped bytes is split at 255 bytes of value, not
	// of rendered text
	in := strings.Repeat(`"\`, 300)
	parts := txtWire(t, txtStrings(in))
	if len(parts) != 3 || len(parts[0]) != 255 || len(parts[1]) != 255 || len(parts[2]) != 90 {
		t.Errorf("600 escaped bytes: %d strings", len(parts))
	}
	if string(bytes.Join(parts, nil)) != in {
		t.Error("600 escaped bytes do not load back")
	}
}

// FuzzTXTRoundTrip: any text rendered as TXT strings loads back, with
// miekg/dns, as the same bytes, in strings of at most 255 bytes.
func FuzzTXTRoundTrip(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all", `"`, `\`, `\"`, `\\\"`, `"\`, "\x00", "\n", "\r\n", ";comment", "(", ")", "( multi\nline )",
		"$ORIGIN evil.", "$INCLUDE /etc/passwd", "@", " ", "\t", "\xff\xfe", "é✓", "\\065", `\#`, `\# 3 616263`,
		strings.Repeat("a", 254) + `"`, strings.Repeat("a", 254) + `\`, strings.Repeat("a", 255) + "\x00",
		strings.Repeat(`\`, 300), strings.Repeat("\x00", 600), strings.Repeat("\"\\;()\n", 700),
		"\" IN A 192.0.2.1\nevil.example. 3600 IN A 192.0.2.1 ;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" || len(s) > maxTXT {
			return // refused by NormalizeValue
		}
		r := txtStrings(s)
		if strings.ContainsAny(r, "\n\r\x00") {
			t.Fatalf("rendered %q has a raw line break or NUL", r)
		}
		parts := txtWire(t, r)
		if want := (len(s) + 254) / 255; len(parts) != want {
			t.Errorf("%d bytes in %d strings, want %d", len(s), len(parts), want)
		}
		for _, p := range parts {
			if len(p) == 0 || len(p) > 255 {
				t.Errorf("a string of %d bytes", len(p))
			}
		}
		if got := string(bytes.Join(parts, nil)); got != s {
			t.Errorf("%q loads back as %q", s, got)
		}
	})
}

// zoneRRs parses text as a zone and returns its records in order.
func zoneRRs(t *testing.T, origin, text string) []mdns.RR {
	t.Helper()
	zp := mdns.NewZoneParser(strings.NewReader(text), origin+".", "")
	var out []mdns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		out = append(out, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone does not parse: %v\n%s", err, text)
	}
	return out
}

func sampleZone() Zone {
	return Zone{
		Origin: "example.com", Serial: 2024030501,
		Names: []Name{
			{Name: "b.example.com", Records: []Rec{{ID: 20, Type: "A", Value: "192.0.2.20"}}},
			{Name: "*.example.com", Records: []Rec{{ID: 30, Type: "A", Value: "192.0.2.30"}}},
			{Name: "example.com", Records: []Rec{
				{ID: 1, Type: "TXT", Value: "v=spf1 mx -all"},
				{ID: 2, Type: "A", Value: "192.0.2.2"},
				{ID: 3, Type: "A", Value: "192.0.2.1", TTL: "5m"},
				{ID: 4, Type: "MX", Value: "20 mx2.example.com."},
				{ID: 5, Type: "MX", Value: "10 mx1.example.com."},
				{ID: 6, Type: "CAA", Value: `0 issue "letsencrypt.org"`},
				{ID: 7, Type: "AAAA", Value: "2001:db8::1", TTL: "bogus"},
			}},
			{Name: "*.a.b.example.com"},
			{Name: "a.example.com", Records: []Rec{{ID: 10, Type: "CNAME", Value: "b.example.com."}}},
			{Name: "_sip._tcp.example.com", Records: []Rec{{ID: 40, Type: "SRV", Value: "10 5 5060 sip.example.com."}}},
			{Name: "*.b.example.com", Records: []Rec{{ID: 31, Type: "TXT", Value: `wild "card"`}}},
			{Name: "mx1.example.com", Records: []Rec{{ID: 50, Type: "AAAA", Value: "2001:db8::25"}}},
			{Name: "mx2.example.com"},
			{Name: "_dmarc.example.com", Records: []Rec{{ID: 41, Type: "TXT", Value: "v=DMARC1; p=none"}}},
			{Name: "_empty._tcp.example.com"},
			{Name: "txt.example.com", Records: []Rec{{ID: 60, Type: "TXT", Value: "only text"}}},
		},
	}
}

func TestRenderDeterministic(t *testing.T) {
	z := sampleZone()
	text, lines := z.Render()
	for i := range 20 {
		y := sampleZone()
		// reverse the names and rotate each one's records
		slices.Reverse(y.Names)
		for j := range y.Names {
			if n := len(y.Names[j].Records); n > 0 {
				k := (i + j) % n
				y.Names[j].Records = append(y.Names[j].Records[k:], y.Names[j].Records[:k]...)
			}
		}
		got, gotLines := y.Render()
		if got != text {
			t.Fatalf("renders differ:\n%s\n---\n%s", text, got)
		}
		if !slices.Equal(gotLines, lines) {
			t.Fatalf("lines differ: %v, %v", lines, gotLines)
		}
	}
	if !strings.HasPrefix(text, ";;") {
		t.Errorf("no banner: %q", text[:40])
	}
	if n := strings.Count(text, "\n"); n != len(lines) || !strings.HasSuffix(text, "\n") {
		t.Errorf("%d lines of text, %d entries in lines", n, len(lines))
	}
}

func TestRenderOrder(t *testing.T) {
	z := sampleZone()
	text, lines := z.Render()
	var names []string
	for _, l := range lines[1:] {
		if len(names) == 0 || names[len(names)-1] != l.Name {
			names = append(names, l.Name)
		}
	}
	want := []string{
		"example.com", "_dmarc.example.com", "_sip._tcp.example.com", "a.example.com", "b.example.com",
		"mx1.example.com", "mx2.example.com", "txt.example.com",
		"*.a.b.example.com", "*.b.example.com", "*.example.com",
	}
	if !slices.Equal(names, want) {
		t.Errorf("names in the order %v, want %v\n%s", names, want, text)
	}
	// each line is the name padded to 37, the TTL in 7, IN, the type padded to 7
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n")[1:] {
		name := lines[i+1].Name + "."
		if !strings.HasPrefix(l, name) || len(l) < 58 || l[37] != ' ' || l[45:49] != " IN " || l[56] != ' ' {
			t.Errorf("line %d not in columns: %q", i+2, l)
		}
	}
	// the origin's records: SOA, default NS, declared MX (by value), A, AAAA, TXT, CAA
	var types []string
	for _, rr := range zoneRRs(t, z.Origin, text) {
		if rr.Header().Name == "example.com." {
			types = append(types, mdns.TypeToString[rr.Header().Rrtype]+" "+strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	wantTypes := []string{
		"SOA ns.orchestra.lan. hostmaster.orchestra.lan. 2024030501 86400 7200 2419200 3600",
		"NS ns1.orchestra.lan.", "NS ns2.orchestra.lan.",
		"MX 10 mx1.example.com.", "MX 20 mx2.example.com.",
		"A 192.0.2.1", "A 192.0.2.2", "AAAA 2001:db8::1", `TXT "v=spf1 mx -all"`, `CAA 0 issue "letsencrypt.org"`,
	}
	if !slices.Equal(types, wantTypes) {
		t.Errorf("origin records\n%s\nwant\n%s", strings.Join(types, "\n"), strings.Join(wantTypes, "\n"))
	}
}

// TestRenderLines: the output parses, one record a line, and lines says
// which record each line came from.
func TestRenderLines(t *testing.T) {
	z := sampleZone()
	text, lines := z.Render()
	rrs := zoneRRs(t, z.Origin, text)
	if len(rrs) != len(lines)-1 {
		t.Fatalf("%d records for %d lines", len(rrs), len(lines))
	}
	if lines[0] != (Line{}) {
		t.Errorf("banner line: %+v", lines[0])
	}
	byID := map[int]Rec{}
	for _, n := range z.Names {
		for _, r := range n.Records {
			byID[r.ID] = r
		}
	}
	seen := map[int]bool{}
	for i, rr := range rrs {
		l := lines[i+1]
		if rr.Header().Name != l.Name+"." {
			t.Errorf("line %d is %s, lines says %s", i+2, rr.Header().Name, l.Name)
		}
		if l.RecordID == 0 {
			continue
		}
		seen[l.RecordID] = true
		r := byID[l.RecordID]
		if typ := mdns.TypeToString[rr.Header().Rrtype]; typ != r.Type {
			t.Errorf("line %d is %s, record %d is %s", i+2, typ, r.ID, r.Type)
		}
		want := r.Value
		if r.Type == "TXT" {
			want = txtStrings(r.Value)
		}
		if got := strings.TrimPrefix(rr.String(), rr.Header().String()); got != want {
			t.Errorf("line %d: %q, record %d is %q", i+2, got, r.ID, want)
		}
		ttl := map[int]uint32{3: 300}[r.ID] // 5m; others (and "bogus") take the default 1h
		if ttl == 0 {
			ttl = 3600
		}
		if rr.Header().Ttl != ttl {
			t.Errorf("record %d: TTL %d, want %d", r.ID, rr.Header().Ttl, ttl)
		}
	}
	for id := range byID {
		if !seen[id] {
			t.Errorf("record %d on no line", id)
		}
	}
}

// defaults returns, per name, the implicit records Render added.
func defaults(t *testing.T, z Zone) map[string][]string {
	t.Helper()
	text, lines := z.Render()
	out := map[string][]string{}
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if i == 0 || lines[i].RecordID != 0 {
			continue
		}
		f := strings.Fields(l)
		out[lines[i].Name] = append(out[lines[i].Name], f[3]+" "+strings.Join(f[4:], " "))
	}
	zoneRRs(t, z.Origin, text)
	return out
}

func TestRenderDefaults(t *testing.T) {
	text, _ := sampleZone().Render()
	soa := fmt.Sprintf("%-37s %7d IN %-7s %s\n", "example.com.", 3600, "SOA",
		"ns.orchestra.lan. hostmaster.orchestra.lan. 2024030501 86400 7200 2419200 3600")
	if !strings.Contains(text, "\n"+soa) {
		t.Errorf("no default SOA line %q in\n%s", soa, text)
	}
	got := defaults(t, sampleZone())
	mx := []string{"MX 10 mail.orchestra.lan.", "MX 10 mail2.orchestra.lan."}
	want := map[string][]string{
		// the origin declares MX, A and AAAA: only SOA and NS are implicit
		"example.com": {"SOA ns.orchestra.lan. hostmaster.orchestra.lan. 2024030501 86400 7200 2419200 3600",
			"NS ns1.orchestra.lan.", "NS ns2.orchestra.lan."},
		"b.example.com":      mx,                                // a host with an A: MX only
		"mx1.example.com":    mx,                                // AAAA is an address too
		"mx2.example.com":    append(mx, "A 10.0.3.13"),         // no records: a host
		"*.a.b.example.com":  append(mx, "A 10.0.3.13"),         // so is an empty wildcard
		"*.example.com":      mx,                                // a wildcard with an A
		"a.example.com":      nil,                               // CNAME: nothing beside it
		"*.b.example.com":    nil,                               // records but no address: not a host
		"txt.example.com":    nil,                               // likewise
		"_dmarc.example.com": nil, "_sip._tcp.example.com": nil, // service names are never hosts
		"_empty._tcp.example.com": nil, // not even without records
	}
	for name, w := range want {
		if !slices.Equal(got[name], w) {
			t.Errorf("%s: implicit %q, want %q", name, got[name], w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected implicit %q", name, got[name])
		}
	}

	// a bare top domain is a host
	got = defaults(t, Zone{Origin: "bare.example", Serial: 7, Names: []Name{{Name: "bare.example"}}})
	if w := append([]string{"SOA ns.orchestra.lan. hostmaster.orchestra.lan. 7 86400 7200 2419200 3600",
		"NS ns1.orchestra.lan.", "NS ns2.orchestra.lan."}, append(mx, "A 10.0.3.13")...); !slices.Equal(got["bare.example"], w) {
		t.Errorf("bare top: %q, want %q", got["bare.example"], w)
	}
	// a top with only TXT is still a host (it is the top)
	got = defaults(t, Zone{Origin: "t.example", Names: []Name{{Name: "t.example", Records: []Rec{{ID: 1, Type: "TXT", Value: "x"}}}}})
	if n := len(got["t.example"]); n != 6 {
		t.Errorf("top with TXT: %q", got["t.example"])
	}
	// a declared NS replaces the default ones; a delegation's NS stays on its name
	z := Zone{Origin: "example.net", Names: []Name{
		{Name: "example.net", Records: []Rec{{ID: 1, Type: "NS", Value: "ns.other.org."}, {ID: 2, Type: "A", Value: "192.0.2.1"}}},
		{Name: "sub.example.net", Records: []Rec{{ID: 3, Type: "NS", Value: "ns.other.org."}}},
	}}
	got = defaults(t, z)
	if slices.ContainsFunc(got["example.net"], func(s string) bool { return strings.HasPrefix(s, "NS") }) {
		t.Errorf("default NS beside a declared one: %q", got["example.net"])
	}
	if len(got["sub.example.net"]) != 0 {
		t.Errorf("delegated subdomain got %q", got["sub.example.net"])
	}
	text, lines := z.Render()
	if !strings.Contains(text, fmt.Sprintf("\n%-37s %7d IN %-7s %s\n", "sub.example.net.", 3600, "NS", "ns.other.org.")) {
		t.Errorf("no delegation in\n%s", text)
	}
	if lines[2] != (Line{Name: "example.net", RecordID: 1}) {
		t.Errorf("line 3: %+v, want the declared NS", lines[2])
	}
}

func TestRenderSOA(t *testing.T) {
	withEnv(t, map[string]string{
		"ORCHESTRA_DOMAINS_DEFAULT_HOSTMASTER":  "first.last@example.com",
		"ORCHESTRA_DOMAINS_DEFAULT_NAME_SERVER": "ns0.example.net.",
		"ORCHESTRA_DOMAINS_DEFAULT_TTL":         "2h",
		"ORCHESTRA_DOMAINS_DEFAULT_REFRESH":     "3h",
		"ORCHESTRA_DOMAINS_DEFAULT_RETRY":       "30m",
		"ORCHESTRA_DOMAINS_DEFAULT_EXPIRE":      "2w",
		"ORCHESTRA_DOMAINS_DEFAULT_MIN_TTL":     "300",
		"ORCHESTRA_DOMAINS_DEFAULT_A":           "",
		"ORCHESTRA_DOMAINS_DEFAULT_AAAA":        "2001:db8::53",
		"ORCHESTRA_DOMAINS_DEFAULT_MX":          "5 mx.example.net.",
		"ORCHESTRA_DOMAINS_DEFAULT_NS":          "a.ns.example.net., b.ns.example.net.",
	})
	z := Zone{Origin: "example.com", Serial: 2024030502, Names: []Name{{Name: "example.com"}}}
	text, _ := z.Render()
	rrs := zoneRRs(t, "example.com", text)
	soa, ok := rrs[0].(*mdns.SOA)
	if !ok {
		t.Fatalf("first record %v", rrs[0])
	}
	if soa.Ns != "ns0.example.net." || soa.Mbox != `first\.last.example.com.` || soa.Serial != 2024030502 ||
		soa.Refresh != 10800 || soa.Retry != 1800 || soa.Expire != 1209600 || soa.Minttl != 300 || soa.Hdr.Ttl != 7200 {
		t.Errorf("default SOA: %v", soa)
	}
	var rest []string
	for _, rr := range rrs[1:] {
		rest = append(rest, strings.TrimPrefix(rr.String(), rr.Header().Name))
	}
	want := []string{"\t7200\tIN\tNS\ta.ns.example.net.", "\t7200\tIN\tNS\tb.ns.example.net.",
		"\t7200\tIN\tMX\t5 mx.example.net.", "\t7200\tIN\tAAAA\t2001:db8::53"}
	if !slices.Equal(rest, want) {
		t.Errorf("defaults %q, want %q", rest, want)
	}

	// the zone's own timers win over the settings; a bad one takes the setting
	z.Refresh, z.Retry, z.Expire, z.MinTTL = "1d", "7200", "bogus", "10m"
	text, _ = z.Render()
	soa = zoneRRs(t, "example.com", text)[0].(*mdns.SOA)
	if soa.Refresh != 86400 || soa.Retry != 7200 || soa.Expire != 1209600 || soa.Minttl != 600 {
		t.Errorf("SOA with the zone's timers: %v", soa)
	}

	// a declared SOA keeps its fields, timers in seconds, with the zone's serial
	z.Names[0].Records = []Rec{{ID: 9, Type: "SOA", Value: "ns1.example.com. admin.example.com. 1 1d 2h 4w 5m"}}
	text, lines := z.Render()
	soa = zoneRRs(t, "example.com", text)[0].(*mdns.SOA)
	if soa.Ns != "ns1.example.com." || soa.Mbox != "admin.example.com." || soa.Serial != 2024030502 ||
		soa.Refresh != 86400 || soa.Retry != 7200 || soa.Expire != 2419200 || soa.Minttl != 300 {
		t.Errorf("declared SOA: %v", soa)
	}
	if strings.Count(text, " SOA ") != 1 {
		t.Errorf("SOA twice:\n%s", text)
	}
	if !strings.Contains(text, " SOA     ns1.example.com. admin.example.com. 2024030502 86400 7200 2419200 300\n") {
		t.Errorf("declared SOA line in\n%s", text)
	}
	if lines[1].Name != "example.com" {
		t.Errorf("SOA line: %+v", lines[1])
	}
}

func TestNextSerial(t *testing.T) {
	day := time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		old  int64
		now  time.Time
		want int64
	}{
		{0, day, 2024030500},
		{2024030500, day, 2024030501},
		{2024030503, day, 2024030504},
		{2024030498, day, 2024030500}, // a new day starts again at 00
		{2024020117, day, 2024030500},
		{1, day, 2024030500},
		{2024030599, day, 2024030600}, // more than 100 changes go on counting
		{2030010100, day, 2030010101}, // a serial in the future keeps counting up
		{4294967294, day, 4294967295},
		// the day is UTC's, whatever the clock's zone
		{0, time.Date(2024, 3, 5, 23, 30, 0, 0, time.UTC).In(time.FixedZone("+14", 14*3600)), 2024030500},
		{0, time.Date(2024, 3, 6, 0, 30, 0, 0, time.FixedZone("+14", 14*3600)), 2024030500},
		{2024030509, time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC), 2024030600},
		{2024030509, time.Date(2024, 3, 5, 23, 59, 59, 0, time.UTC), 2024030510},
	} {
		if got := NextSerial(c.old, c.now); got != c.want {
			t.Errorf("NextSerial(%d, %s) = %d, want %d", c.old, c.now, got, c.want)
		}
	}
	// strictly increasing over many changes and days
	s := int64(0)
	for i := range 500 {
		n := NextSerial(s, day.Add(time.Duration(i)*time.Hour))
		if n <= s {
			t.Fatalf("serial %d after %d", n, s)
		}
		s = n
	}
}

func haveCheckZone(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(strings.Fields(CheckZone.Get())[0]); err != nil {
		t.Skip("named-checkzone not installed")
	}
}

func zoneError(t *testing.T, err error) *ZoneError {
	t.Helper()
	var ze *ZoneError
	if !errors.As(err, &ze) {
		t.Fatalf("error %v (%T), want a *ZoneError", err, err)
	}
	return ze
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	check := func(z Zone) error {
		text, lines := z.Render()
		return Check(ctx, z.Origin, text, lines)
	}
	if err := check(sampleZone()); err != nil {
		t.Errorf("sample zone: %v", err)
	}

	// a value that does not parse: miekg/dns names the line
	bad := Zone{Origin: "example.com", Serial: 1, Names: []Name{
		{Name: "example.com", Records: []Rec{{ID: 1, Type: "A", Value: "192.0.2.1"}, {ID: 2, Type: "A", Value: "bogus"}}},
	}}
	ze := zoneError(t, check(bad))
	if ze.Line != (Line{Name: "example.com", RecordID: 2}) {
		t.Errorf("unparsable A: line %+v (%s), want record 2", ze.Line, ze.Message)
	}
	// the same with many lines before it: the line, never the column, counts
	for i := range 100 {
		bad.Names = append(bad.Names, Name{Name: "h" + strconv.Itoa(i) + ".example.com", Records: []Rec{{ID: 100 + i, Type: "A", Value: "192.0.2.9"}}})
	}
	bad.Names = append(bad.Names, Name{Name: "zz.example.com", Records: []Rec{{ID: 3, Type: "AAAA", Value: "not-v6"}}})
	bad.Names[0].Records = bad.Names[0].Records[:1]
	ze = zoneError(t, check(bad))
	if ze.Line != (Line{Name: "zz.example.com", RecordID: 3}) {
		t.Errorf("unparsable AAAA on a late line: line %+v (%s), want record 3", ze.Line, ze.Message)
	}

	t.Run("named-checkzone", func(t *testing.T) {
		haveCheckZone(t)
		// a CNAME beside other data
		z := Zone{Origin: "example.com", Serial: 1, Names: []Name{
			{Name: "example.com"},
			{Name: "www.example.com", Records: []Rec{{ID: 5, Type: "A", Value: "192.0.2.5"}, {ID: 6, Type: "CNAME", Value: "example.com."}}},
		}}
		ze := zoneError(t, check(z))
		if ze.Line != (Line{Name: "www.example.com", RecordID: 6}) || !strings.Contains(ze.Message, "CNAME and other data") {
			t.Errorf("CNAME beside A: %+v %q", ze.Line, ze.Message)
		}
		// an in-zone name server without an address
		z = Zone{Origin: "example.com", Serial: 1, Names: []Name{
			{Name: "example.com", Records: []Rec{{ID: 7, Type: "NS", Value: "ns1.example.com."}}},
		}}
		ze = zoneError(t, check(z))
		if !strings.Contains(ze.Message, "ns1.example.com") || !strings.Contains(ze.Message, "no address") {
			t.Errorf("NS without address: %q", ze.Message)
		}
		// named-checkzone says no line for it; Check cannot name the record
		if ze.Line.RecordID != 0 && ze.Line.RecordID != 7 {
			t.Errorf("NS without address: pinned to %+v", ze.Line)
		}
		// with its address, or out of zone, it loads
		z.Names = append(z.Names, Name{Name: "ns1.example.com", Records: []Rec{{ID: 8, Type: "A", Value: "192.0.2.53"}}})
		if err := check(z); err != nil {
			t.Errorf("NS with its address: %v", err)
		}
		z.Names[0].Records[0].Value = "ns.example.org."
		if err := check(z); err != nil {
			t.Errorf("out-of-zone NS: %v", err)
		}
	})

	t.Run("parse only", func(t *testing.T) {
		// without named-checkzone only the syntax is checked
		z := Zone{Origin: "example.com", Serial: 1, Names: []Name{
			{Name: "example.com"},
			{Name: "www.example.com", Records: []Rec{{ID: 5, Type: "A", Value: "192.0.2.5"}, {ID: 6, Type: "CNAME", Value: "example.com."}}},
		}}
		for _, bin := range []string{"", "/nonexistent/named-checkzone"} {
			withEnv(t, map[string]string{"ORCHESTRA_DOMAINS_CHECKZONE": bin})
			if err := check(z); err != nil {
				t.Errorf("DOMAINS_CHECKZONE=%q: %v", bin, err)
			}
			ze := zoneError(t, check(bad))
			if ze.Line.RecordID != 3 {
				t.Errorf("DOMAINS_CHECKZONE=%q: unparsable record: %+v", bin, ze.Line)
			}
		}
	})
}

// TestRenderHostileTXT: TXT values that look like zone syntax stay text.
func TestRenderHostileTXT(t *testing.T) {
	values := []string{
		"a\nevil.example.com. 3600 IN A 192.0.2.66", `" ; `, `\`, "$ORIGIN evil.", "( x", strings.Repeat(`\"`, 400),
	}
	z := Zone{Origin: "example.com", Serial: 1, Names: []Name{{Name: "example.com"}}}
	for i, v := range values {
		z.Names[0].Records = append(z.Names[0].Records, Rec{ID: i + 1, Type: "TXT", Value: v})
	}
	text, lines := z.Render()
	if err := Check(context.Background(), z.Origin, text, lines); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	var got []string
	for _, rr := range zoneRRs(t, z.Origin, text) {
		if rr.Header().Name != "example.com." {
			t.Errorf("a record for %s", rr.Header().Name)
		}
		if _, ok := rr.(*mdns.TXT); ok {
			got = append(got, string(bytes.Join(packedTXT(t, rr), nil)))
		}
	}
	slices.Sort(got)
	slices.Sort(values)
	if !slices.Equal(got, values) {
		t.Errorf("TXT values %q, want %q", got, values)
	}
}
