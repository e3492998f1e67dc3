package validate

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// foldName drops the few diacritics used in Countries so sort order can be
// checked without a collation library.
var foldName = strings.NewReplacer("Å", "A", "ô", "o", "ç", "c", "é", "e", "ü", "u").Replace

func TestCountriesTable(t *testing.T) {
	if len(Countries) != 249 {
		t.Fatalf("len(Countries) = %d, want 249", len(Countries))
	}
	codeRe := regexp.MustCompile(`^[A-Z]{2}$`)
	seen := map[string]bool{}
	for i, c := range Countries {
		if !codeRe.MatchString(c.Code) || seen[c.Code] {
			t.Errorf("bad or duplicate code %q", c.Code)
		}
		seen[c.Code] = true
		key := strings.ToLower(foldName(c.Name))
		if c.Name == "" || ASCII(key) != nil || !utf8.ValidString(c.Name) {
			t.Errorf("name %q of %s is empty or has diacritics the sort check can't fold", c.Name, c.Code)
		}
		if i > 0 && strings.ToLower(foldName(Countries[i-1].Name)) >= key {
			t.Errorf("Countries not sorted: %q before %q", Countries[i-1].Name, c.Name)
		}
	}
}

func TestCountry(t *testing.T) {
	for code, name := range map[string]string{"ES": "Spain", "GB": "United Kingdom", "US": "United States", "AX": "Åland Islands", "XK": "", "UK": "", "es": "", "": "", "ESP": ""} {
		got, ok := CountryName(code)
		if got != name || ok != (name != "") {
			t.Errorf("CountryName(%q) = %q, %v, want %q", code, got, ok, name)
		}
		if err := Country(code); (err == nil) != (name != "") {
			t.Errorf("Country(%q) = %v, want ok=%v", code, err, name != "")
		}
	}
}
