package validate

import (
	"context"
	"strings"
	"testing"
)

type fnCase struct {
	in string
	ok bool
}

func runCases(t *testing.T, name string, fn func(string) error, cases []fnCase) {
	t.Helper()
	for _, c := range cases {
		if err := fn(c.in); (err == nil) != c.ok {
			t.Errorf("%s(%q) = %v, want ok=%v", name, c.in, err, c.ok)
		}
	}
}

func TestName(t *testing.T) {
	runCases(t, "Name", Name, []fnCase{
		{"web1", true}, {"my.site_db-2", true}, {"...", true},
		{"", false}, {"Web", false}, {"a b", false}, {"a/b", false}, {"é", false}, {"a\n", false},
	})
}

func TestUsername(t *testing.T) {
	runCases(t, "Username", Username, []fnCase{
		{"John_Doe", true}, {"j.doe-2", true}, {"_", true},
		{"", false}, {"john doe", false}, {"jöhn", false}, {"a@b", false}, {"a+b", false}, {"a\n", false},
	})
}

func TestHostname(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	long := strings.Repeat(label63+".", 4) // 256 chars
	runCases(t, "Hostname", Hostname, []fnCase{
		{"example.com", true}, {"EXAMPLE.com.", true}, {"localhost", true}, {"a-b.c-d", true},
		{"1.2.3.4", true}, {label63 + ".com", true}, {long[:255], true},
		{"", false}, {".", false}, {"example.com..", false}, {"a..b", false}, {".a", false},
		{"-a.com", false}, {"a-.com", false}, {label63 + "a.com", false}, {long, false},
		{"a_b.com", false}, {"ex ample.com", false}, {"exámple.com", false}, {"a.com\n", false},
	})
}

func TestURLPath(t *testing.T) {
	runCases(t, "URLPath", URLPath, []fnCase{
		{"/", true}, {"/static/css/app-1.2_min.css", true}, {"//a", true},
		{"", false}, {"static", false}, {"/a b", false}, {"/a?b=1", false}, {"/~user", false}, {"/a\n", false},
	})
}

func TestIP(t *testing.T) {
	cases := []struct {
		in         string
		v4, v6, ip bool
	}{
		{"192.168.1.1", true, false, true},
		{"0.0.0.0", true, false, true},
		{"::1", false, true, true},
		{"2001:db8::42", false, true, true},
		{"::ffff:10.0.0.1", false, true, true},
		{"fe80::1%eth0", false, false, false},
		{"010.0.0.1", false, false, false},
		{"256.0.0.1", false, false, false},
		{"1.2.3", false, false, false},
		{"example.com", false, false, false},
		{"", false, false, false},
		{" 1.2.3.4", false, false, false},
	}
	for _, c := range cases {
		if got := IPv4(c.in) == nil; got != c.v4 {
			t.Errorf("IPv4(%q) ok=%v, want %v", c.in, got, c.v4)
		}
		if got := IPv6(c.in) == nil; got != c.v6 {
			t.Errorf("IPv6(%q) ok=%v, want %v", c.in, got, c.v6)
		}
		if got := IP(c.in) == nil; got != c.ip {
			t.Errorf("IP(%q) ok=%v, want %v", c.in, got, c.ip)
		}
	}
}

func TestASCII(t *testing.T) {
	runCases(t, "ASCII", ASCII, []fnCase{
		{"", true}, {"plain text ~!", true}, {"\x00\x7f", true},
		{"café", false}, {"\x80", false}, {"日本", false},
	})
}

func TestEmail(t *testing.T) {
	local64 := strings.Repeat("a", 64)
	runCases(t, "Email", Email, []fnCase{
		{"user@example.com", true}, {"first.last+tag@mail.example.co.uk", true},
		{local64 + "@example.com", true}, {"a@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 60), true},
		{"", false}, {"user", false}, {"user@", false}, {"@example.com", false},
		{"user@localhost", false}, {"a@b@example.com", false}, {"user@-example.com", false},
		{"user@exa_mple.com", false}, {"a..b@example.com", false}, {".a@example.com", false},
		{"John <john@example.com>", false}, {"<john@example.com>", false}, {" john@example.com", false},
		{"john@example.com (work)", false}, {`"jo hn"@example.com`, false}, {"jöhn@example.com", false},
		{"user@[192.168.0.1]", false}, {"user@example.com.", false}, {local64 + "a@example.com", false},
		{"a@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 61), false},
	})
}

func TestMaxLen(t *testing.T) {
	cases := []struct {
		in string
		n  int
		ok bool
	}{
		{"", 0, true}, {"abc", 3, true}, {"ñññ", 3, true}, {"日本語", 3, true},
		{"abcd", 3, false}, {"a", 0, false}, {"ññññ", 3, false},
	}
	for _, c := range cases {
		if err := MaxLen(c.in, c.n); (err == nil) != c.ok {
			t.Errorf("MaxLen(%q, %d) = %v, want ok=%v", c.in, c.n, err, c.ok)
		}
	}
	if err := MaxLen("abcd", 3); err == nil || !strings.Contains(err.Error(), "3") {
		t.Errorf("MaxLen message should mention the limit: %v", err)
	}
}

func TestPhone(t *testing.T) {
	cases := []struct {
		in, country, e164 string // e164 == "" means invalid
	}{
		{"612 34 56 78", "ES", "+34612345678"},
		{"+34 612-345-678", "", "+34612345678"},
		{"+34 612 345 678", "US", "+34612345678"},
		{"(650) 253-0000", "US", "+16502530000"},
		{"+44 20 7031 3000", "ES", "+442070313000"},
		{"020 7031 3000", "GB", "+442070313000"},
		{"030 123456", "DE", "+4930123456"},
		{"612345678", "", ""},   // no region to resolve a national number
		{"612345678", "XX", ""}, // unknown region
		{"12", "ES", ""},
		{"not a number", "ES", ""},
		{"", "ES", ""},
		{"+34 12345", "", ""},
		{"(650) 253-0000", "ES", ""},
		{"+1 555 0100", "", ""},
	}
	for _, c := range cases {
		err := Phone(c.in, c.country)
		if (err == nil) != (c.e164 != "") {
			t.Errorf("Phone(%q, %q) = %v, want ok=%v", c.in, c.country, err, c.e164 != "")
		}
		got, err := NormalizePhone(c.in, c.country)
		if got != c.e164 || (err == nil) != (c.e164 != "") {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v, want %q", c.in, c.country, got, err, c.e164)
		}
	}
}

func TestBasicTextRules(t *testing.T) {
	ctx := context.Background()
	for s, want := range map[string]bool{"plain": true, "Núria 山田 🎉": true, "": true, "a\x00b": false, "\xff\xfe": false, "ok\xc3(": false} {
		if got := NoNull(ctx, s) == "" && ValidText(ctx, s) == ""; got != want {
			t.Errorf("%q: accepted %v, want %v", s, got, want)
		}
	}
}
