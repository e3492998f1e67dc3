package validate

import (
	"regexp"
	"strings"
	"testing"
)

// hostnameOracle restates Hostname's rule with plain loops, independent of the
// regexp, so the fuzzer compares two implementations.
func hostnameOracle(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if len(l) < 1 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func FuzzHostname(f *testing.F) {
	for _, s := range []string{"example.com", "example.com.", "-a.b", "a..b", ".", "", strings.Repeat("a.", 128)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Hostname(s) == nil, hostnameOracle(s); got != want {
			t.Fatalf("Hostname(%q) ok=%v, oracle says %v", s, got, want)
		}
	})
}

func FuzzZipcode(f *testing.F) {
	generic := regexp.MustCompile(`^[0-9A-Z]{3,10}$`)
	// Digit-only formats, by length, as an independent check of the country rules.
	digitsOnly := map[string]int{"FR": 5, "DE": 5, "IT": 5, "ES": 5, "PL": 5, "JP": 7, "RU": 6, "CN": 6, "IN": 6, "BR": 8, "PT": 7, "BE": 4, "NO": 4, "AU": 4}
	for _, s := range [][2]string{{"08001", "ES"}, {"SW1A1AA", "GB"}, {"K1A0B1", "CA"}, {"1012AB", "NL"}, {"C1425DKF", "AR"}, {"L1234", "LU"}, {"123", "xx"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, code, country string) {
		if Zipcode(code, country) != nil {
			return
		}
		if !generic.MatchString(code) || Country(country) != nil {
			t.Fatalf("Zipcode(%q, %q) accepted outside the generic rule or for an unknown country", code, country)
		}
		if n, ok := digitsOnly[country]; ok && (len(code) != n || strings.Trim(code, "0123456789") != "") {
			t.Fatalf("Zipcode(%q, %q) accepted, want %d digits", code, country, n)
		}
	})
}

func FuzzPhone(f *testing.F) {
	e164 := regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	for _, s := range [][2]string{{"612 34 56 78", "ES"}, {"+1 650-253-0000", ""}, {"(650) 253-0000", "US"}, {"020 7031 3000", "GB"}, {"+39 06 1234 5678", "IT"}, {"12", "XX"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, country string) {
		ok := Phone(s, country) == nil
		n, err := NormalizePhone(s, country)
		if ok != (err == nil) {
			t.Fatalf("Phone and NormalizePhone disagree on (%q, %q): %v", s, country, err)
		}
		if !ok {
			return
		}
		if !e164.MatchString(n) {
			t.Fatalf("NormalizePhone(%q, %q) = %q, not E.164", s, country, n)
		}
		// The stored form must validate again on its own and be stable.
		if again, err := NormalizePhone(n, ""); err != nil || again != n {
			t.Fatalf("NormalizePhone(%q) = %q, %v; not idempotent (from %q, %q)", n, again, err, s, country)
		}
	})
}
