package validate

import (
	"errors"
	"regexp"
)

// zipcodeRe is the rule every postal code must pass. It forbids spaces and
// hyphens, so the per-country rules below describe the compact form of each
// format (e.g. GB "SW1A1AA", PT "1000001", US ZIP+4 "123456789"). The original's
// class also let a comma through, a slip its intent does not need.
var zipcodeRe = regexp.MustCompile(`^[0-9A-Z]{3,10}$`)

var (
	digits4   = regexp.MustCompile(`^[0-9]{4}$`)
	digits4NZ = regexp.MustCompile(`^[1-9][0-9]{3}$`) // no codes below 1000
	digits5   = regexp.MustCompile(`^[0-9]{5}$`)
	digits6   = regexp.MustCompile(`^[0-9]{6}$`)
)

// zipcodeRules are per-country formats, modelled on django-localflavor.
var zipcodeRules = map[string]*regexp.Regexp{
	"AR": regexp.MustCompile(`^(?:[0-9]{4}|[A-HJ-NP-Z][0-9]{4}[A-Z]{3})$`), // old 4-digit or CPA
	"AT": digits4NZ,
	"AU": digits4, // NT codes start with 0
	"BE": digits4NZ,
	"BR": regexp.MustCompile(`^[0-9]{8}$`),
	// First letter never D F I O Q U W Z; later letters never D F I O Q U.
	"CA": regexp.MustCompile(`^[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z][0-9][ABCEGHJ-NPRSTV-Z][0-9]$`),
	"CH": digits4NZ,
	"CN": digits6,
	"CZ": digits5,
	"DE": digits5,
	"DK": digits4,
	"ES": regexp.MustCompile(`^(?:0[1-9]|[1-4][0-9]|5[0-2])[0-9]{3}$`), // first two digits are the province, 01-52
	"FI": digits5,
	"FR": digits5,
	// Outward code + inward code without the space, as in localflavor's GBPostcodeField.
	"GB": regexp.MustCompile(`^(?:GIR0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9](?:[0-9]|[ABEHMNPRVWXY])?|[0-9][A-HJKSTUW])[0-9][ABD-HJLNP-UW-Z]{2})$`),
	"GR": regexp.MustCompile(`^[1-8][0-9]{4}$`),
	"HU": digits4NZ,
	"IE": regexp.MustCompile(`^(?:[AC-FHKNPRTV-Y][0-9]{2}|D6W)[0-9AC-FHKNPRTV-Y]{4}$`), // Eircode
	"IN": regexp.MustCompile(`^[1-9][0-9]{5}$`),
	"IT": digits5,
	"JP": regexp.MustCompile(`^[0-9]{7}$`),
	"MX": regexp.MustCompile(`^(?:0[1-9]|[1-9][0-9])[0-9]{3}$`),
	"NL": regexp.MustCompile(`^[1-9][0-9]{3}[A-Z]{2}$`),
	"NO": digits4, // Oslo codes start with 0
	"PL": digits5,
	// Official form is NNNN-NNN; the generic rule forbids "-", so only the
	// 7-digit compact form is accepted. The bare 4-digit form predates 1998
	// and is no longer deliverable-precise, so it is rejected.
	"PT": regexp.MustCompile(`^[1-9][0-9]{6}$`),
	"RU": digits6,
	"SE": regexp.MustCompile(`^[1-9][0-9]{4}$`),
	"SK": digits5,
	"US": regexp.MustCompile(`^[0-9]{5}(?:[0-9]{4})?$`),
	"ZA": digits4, // Pretoria codes start with 0
}

// Zipcode checks code against the generic rule and, where one exists, the
// postal code format of country (an upper-case ISO alpha-2 code).
func Zipcode(code, country string) error {
	if !zipcodeRe.MatchString(code) {
		return errors.New("Enter a valid zipcode: 3 to 10 characters, digits and upper-case letters only.")
	}
	if err := Country(country); err != nil {
		return err
	}
	if re, ok := zipcodeRules[country]; ok && !re.MatchString(code) {
		return errors.New("Enter a valid zipcode for the selected country.")
	}
	return nil
}
