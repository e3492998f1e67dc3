package validate

import (
	"strings"
	"testing"
)

func TestZipcode(t *testing.T) {
	cases := []struct {
		country string
		ok, bad []string
	}{
		{"ES", []string{"08001", "28013", "52001", "01001"}, []string{"00001", "53001", "99999", "2801", "280133"}},
		{"FR", []string{"75001", "97400"}, []string{"7500", "750011", "7500A"}},
		{"DE", []string{"10115", "01067"}, []string{"1011", "101155"}},
		{"IT", []string{"00184"}, []string{"0018"}},
		{"PT", []string{"1000001", "4700123"}, []string{"1000", "0100001", "10000011"}},
		{"NL", []string{"1012AB"}, []string{"0123AB", "1012A", "1012ABC", "101200"}},
		{"BE", []string{"1000", "9999"}, []string{"0999", "10000"}},
		{"AT", []string{"1010"}, []string{"0100"}},
		{"CH", []string{"8001"}, []string{"800"}},
		{"DK", []string{"2100"}, []string{"21000"}},
		{"NO", []string{"0150"}, []string{"01500"}},
		{"HU", []string{"1011"}, []string{"0111"}},
		{"AU", []string{"0800", "2000"}, []string{"20000"}},
		{"ZA", []string{"0001"}, []string{"00001"}},
		{"GB", []string{"SW1A1AA", "M11AE", "B338TH", "CR26XH", "DN551PT", "EC1A1BB", "W1A0AX", "GIR0AA"}, []string{"QA11AA", "SW1A1AAA", "SW1A1CA", "1AA1AA", "M1", "AJ11AA"}},
		{"US", []string{"90210", "902101234"}, []string{"9021", "9021012", "ABCDE"}},
		{"CA", []string{"K1A0B1", "H0H0H0"}, []string{"D1A0B1", "K1A0B", "K1D0B1", "123456"}},
		{"SE", []string{"11455"}, []string{"01455", "1145"}},
		{"FI", []string{"00100"}, []string{"0010"}},
		{"GR", []string{"10431"}, []string{"90431", "1043"}},
		{"PL", []string{"00950"}, []string{"0095"}},
		{"CZ", []string{"11000"}, []string{"1100"}},
		{"SK", []string{"81101"}, []string{"8110"}},
		{"IE", []string{"A65F4E2", "D6WXY12", "T12XY34"}, []string{"B65F4E2", "A65B4E2", "A65F4E", "A65F4EB2", "D6XF4E2"}},
		{"BR", []string{"01310100"}, []string{"0131010", "013101000"}},
		{"MX", []string{"06600", "99999"}, []string{"00600", "0660"}},
		{"AR", []string{"1425", "C1425DKF"}, []string{"14255", "I1425DKF", "C1425DK"}},
		{"JP", []string{"1000001"}, []string{"100001"}},
		{"IN", []string{"110001"}, []string{"010001", "11000"}},
		{"RU", []string{"101000"}, []string{"10100"}},
		{"CN", []string{"100000"}, []string{"1000000"}},
		// No per-country rule: only the generic one applies.
		{"LU", []string{"L1234", "123", "ABCDEFGHIJ"}, []string{"12", "ABCDEFGHIJK", "l1234", "L-1234", "L 1234"}},
	}
	for _, c := range cases {
		for _, z := range c.ok {
			if err := Zipcode(z, c.country); err != nil {
				t.Errorf("Zipcode(%q, %q) = %v, want nil", z, c.country, err)
			}
		}
		for _, z := range c.bad {
			if Zipcode(z, c.country) == nil {
				t.Errorf("Zipcode(%q, %q) = nil, want error", z, c.country)
			}
		}
	}
}

func TestZipcodeErrors(t *testing.T) {
	// Generic rule runs first and its message names the allowed characters.
	if err := Zipcode("28-013", "ES"); err == nil || !strings.Contains(err.Error(), "upper-case letters") {
		t.Errorf("generic error = %v", err)
	}
	for _, country := range []string{"", "es", "XX", "ESP"} {
		if err := Zipcode("28013", country); err == nil || err.Error() != Country(country).Error() {
			t.Errorf("Zipcode with country %q = %v, want Country() error", country, err)
		}
	}
	if err := Zipcode("99999", "ES"); err == nil || !strings.Contains(err.Error(), "selected country") {
		t.Errorf("country rule error = %v", err)
	}
	for country := range zipcodeRules {
		if Country(country) != nil {
			t.Errorf("zipcode rule for unknown country %q", country)
		}
	}
}
