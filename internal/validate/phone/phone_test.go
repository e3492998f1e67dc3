package phone

import (
	"flag"
	"fmt"
	"math/rand"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// The port is checked against the library it ports: both must accept and
// reject the same inputs, and agree on the E.164 form and the region.

type input struct{ s, region string }

// library answers as the original validation did: Parse, IsValidNumber,
// Format(E164).
func library(in input) (e164, region string, ok bool) {
	n, err := phonenumbers.Parse(in.s, in.region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", "", false
	}
	return phonenumbers.Format(n, phonenumbers.E164), phonenumbers.GetRegionCodeForNumber(n), true
}

// check compares Parse with the library on one input and reports whether the
// library found it valid.
func check(in input) (valid bool, err error) {
	want, wantRegion, wantOK := library(in)
	n, perr := Parse(in.s, in.region)
	switch {
	case (perr == nil) != wantOK:
		return wantOK, fmt.Errorf("Parse(%q, %q): err=%v; library: valid=%v %s", in.s, in.region, perr, wantOK, want)
	case wantOK && (n.E164() != want || n.Region() != wantRegion):
		return wantOK, fmt.Errorf("Parse(%q, %q) = %s in %s; library: %s in %s", in.s, in.region, n.E164(), n.Region(), want, wantRegion)
	}
	return wantOK, nil
}

func compare(t *testing.T, inputs []input) (valid int) {
	t.Helper()
	failed := 0
	for _, in := range inputs {
		ok, err := check(in)
		if err != nil {
			if failed++; failed <= 25 {
				t.Error(err)
			}
		}
		if ok {
			valid++
		}
	}
	if failed > 25 {
		t.Errorf("... %d disagreements in all", failed)
	}
	return valid
}

// TestSharedPatternsAreTheLibrarys catches a typo in the patterns copied from
// the library before the corpus has to.
func TestSharedPatternsAreTheLibrarys(t *testing.T) {
	g := globals()
	for _, c := range []struct {
		ours   *regexp.Regexp
		theirs *regexp.Regexp
	}{
		{g.unwantedEnd, phonenumbers.UNWANTED_END_CHAR_PATTERN},
		{g.secondNumber, phonenumbers.SECOND_NUMBER_START_PATTERN},
		{g.alpha, phonenumbers.VALID_ALPHA_PHONE_PATTERN},
		{g.viable, phonenumbers.VALID_PHONE_NUMBER_PATTERN},
		{g.extension, phonenumbers.EXTN_PATTERN},
		{g.globalDigits, phonenumbers.RFC3966_GLOBAL_NUMBER_DIGITS_PATTERN},
		{g.domainName, phonenumbers.RFC3966_DOMAINNAME_PATTERN},
	} {
		if c.ours.String() != c.theirs.String() {
			t.Errorf("pattern\n%q\nis the library's\n%q", c.ours, c.theirs)
		}
	}
}

// otherRegions are tried on every example besides its own region: the
// usual ones, regions with unusual prefixes (AR, MX, BR, RU, IN, IT), and
// unknown or missing ones.
var otherRegions = []string{"US", "GB", "DE", "ES", "IT", "BR", "AR", "MX", "RU", "IN", "ZZ", ""}

var numberTypes = []phonenumbers.PhoneNumberType{
	phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE,
	phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER,
	phonenumbers.UAN, phonenumbers.VOICEMAIL,
}

type example struct {
	n      *phonenumbers.PhoneNumber
	region string // the region it was parsed for ("001": non-geographic)
}

func examples(t *testing.T) []example {
	var regions []string
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	var out []example
	for _, r := range regions {
		for _, typ := range numberTypes {
			if n := phonenumbers.GetExampleNumberForType(r, typ); n != nil {
				out = append(out, example{n, r})
			}
		}
		if n := invalidExample(r); n != nil {
			out = append(out, example{n, r})
		}
	}
	// Non-geographic entities (+800, +808...): every type with an example,
	// and the library's pick.
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range coll.GetMetadata() {
		if m.GetId() != "001" {
			continue
		}
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetMobile(), m.GetTollFree(), m.GetSharedCost(), m.GetVoip(), m.GetVoicemail(), m.GetUan(), m.GetPremiumRate(), m.GetPersonalNumber()} {
			if ex := d.GetExampleNumber(); ex != "" {
				if n, err := phonenumbers.Parse("+"+strconv.Itoa(int(m.GetCountryCode()))+ex, "ZZ"); err == nil {
					out = append(out, example{n, "001"})
				}
			}
		}
	}
	var codes []int
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		codes = append(codes, cc)
	}
	slices.Sort(codes)
	for _, cc := range codes {
		if n := phonenumbers.GetExampleNumberForNonGeoEntity(cc); n != nil {
			out = append(out, example{n, "001"})
		}
	}
	return out
}

// invalidExample is libphonenumber's getInvalidExampleNumber, which the Go
// library lacks: the longest prefix of the fixed-line example that parses
// but is not valid.
func invalidExample(region string) *phonenumbers.PhoneNumber {
	ex := phonenumbers.GetExampleNumberForType(region, phonenumbers.FIXED_LINE)
	if ex == nil {
		return nil
	}
	nsn := phonenumbers.GetNationalSignificantNumber(ex)
	for l := len(nsn) - 1; l >= 2; l-- {
		if n, err := phonenumbers.Parse(nsn[:l], region); err == nil && !phonenumbers.IsValidNumber(n) {
			return n
		}
	}
	return nil
}

// renderings writes n in the library's formats and in ways people type.
func renderings(n *phonenumbers.PhoneNumber) []string {
	cc := strconv.Itoa(int(n.GetCountryCode()))
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	national := phonenumbers.Format(n, phonenumbers.NATIONAL)
	intl := phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
	out := []string{
		phonenumbers.Format(n, phonenumbers.E164),
		intl,
		national,
		phonenumbers.Format(n, phonenumbers.RFC3966),
		nsn,
		cc + nsn,             // the country code without "+"
		cc + " " + national,  // and with the national prefix
		digitsOnly(national), // punctuation removed
		"(" + nsn[:min(3, len(nsn))] + ") " + dashed(nsn[min(3, len(nsn)):]),
		"+" + cc + " " + strings.ReplaceAll(dashed(nsn), "-", "."),
		"+" + cc + " (0) " + nsn,
		"tel:" + nsn + ";phone-context=+" + cc,
		"tel:" + national + ";phone-context=example.com",
		"Tel: " + intl + " ext. 123",
		intl + " x 45",
		national + ";ext=7",
		intl + "/x 2",
		strings.Map(fullWidth, "+"+cc+nsn),
		strings.Map(arabicIndic, national),
	}
	return out
}

func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '+' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func dashed(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%2 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func fullWidth(r rune) rune {
	if r >= '0' && r <= '9' {
		return '\uFF10' + r - '0'
	}
	if r == '+' {
		return '\uFF0B'
	}
	return r
}

func arabicIndic(r rune) rune {
	if r >= '0' && r <= '9' {
		return '\u0660' + r - '0'
	}
	return r
}

// iddPrefix is a region's international prefix as one dials it ("00",
// "011", "810" for 8~10), or "" when it has several.
func iddPrefix(region string) string {
	coll, _ := phonenumbers.MetadataCollection()
	for _, m := range coll.GetMetadata() {
		if m.GetId() == region {
			p := m.GetPreferredInternationalPrefix()
			if p == "" {
				p = m.GetInternationalPrefix()
			}
			p = strings.ReplaceAll(p, "~", "")
			if strings.Trim(p, "0123456789") != "" {
				return ""
			}
			return p
		}
	}
	return ""
}

// mutants are nearby numbers, mostly invalid: one digit fewer, one more,
// the first digit changed.
func mutants(n *phonenumbers.PhoneNumber) []*phonenumbers.PhoneNumber {
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	variants := []string{nsn[:len(nsn)-1], nsn + "0", nsn + "7"}
	for d := byte('0'); d <= '9'; d++ {
		if d != nsn[0] && (*exhaustive || d == '0'+(nsn[0]-'0'+1+byte(len(nsn)%9))%10) {
			variants = append(variants, string(d)+nsn[1:])
		}
	}
	var out []*phonenumbers.PhoneNumber
	for _, v := range variants {
		m, err := phonenumbers.Parse("+"+strconv.Itoa(int(n.GetCountryCode()))+v, "ZZ")
		if err == nil {
			out = append(out, m)
		}
	}
	return out
}

var exhaustive = flag.Bool("phone.exhaustive", false,
	"parse every rendering of every example and mutant in every region of otherRegions (about 700,000 inputs and 30 seconds)")

// corpus renders every example and its mutants, and parses them in their own
// region and in others. By default, each rendering is tried in one other
// region and each mutant in a few renderings, in rotation, which keeps the
// variety of the exhaustive cross product at a few percent of its size.
func corpus(t *testing.T) []input {
	idd := map[string]string{}
	iddOf := func(region string) string {
		if p, ok := idd[region]; ok {
			return p
		}
		idd[region] = iddPrefix(region)
		return idd[region]
	}
	seen := map[input]bool{}
	var out []input
	add := func(s, region string) {
		if in := (input{s, region}); !seen[in] {
			seen[in] = true
			out = append(out, in)
		}
	}
	k := 0 // rotates through the choices
	pick := func(choices []string) []string {
		if *exhaustive {
			return choices
		}
		k++
		return choices[k%len(choices) : k%len(choices)+1]
	}
	for _, ex := range sampled(examples(t)) {
		for i, n := range append([]*phonenumbers.PhoneNumber{ex.n}, mutants(ex.n)...) {
			all := renderings(n)
			if i > 0 && !*exhaustive {
				all = all[:7] // E164, international, national, RFC 3966, bare, after the country code
			}
			for _, s := range all {
				add(s, ex.region)
				if i == 0 {
					for _, r := range pick(otherRegions) {
						add(s, r)
					}
				}
			}
			cc := strconv.Itoa(int(n.GetCountryCode()))
			for _, r := range append([]string{ex.region}, pick(otherRegions)...) {
				if p := iddOf(r); p != "" {
					add(p+cc+phonenumbers.GetNationalSignificantNumber(n), r)
				}
			}
		}
	}
	return out
}

// stride makes the tests check 1 in stride examples, and 1 in stride of
// their inputs; the race detector, which slows regular expressions
// twentyfold, sets it (race_test.go) so that they still take seconds.
var stride = 1

func sampled[T any](all []T) []T {
	if *exhaustive || stride == 1 {
		return all
	}
	var out []T
	for i := 0; i < len(all); i += stride {
		out = append(out, all[i])
	}
	return out
}

func TestMatchesLibraryOnExamples(t *testing.T) {
	inputs := sampled(corpus(t))
	valid := compare(t, inputs)
	t.Logf("%d inputs, %d valid", len(inputs), valid)
	if valid < len(inputs)/10 {
		t.Errorf("only %d of %d inputs valid: the corpus is not exercising validation", valid, len(inputs))
	}
}

// hostile inputs, all parsed in every region of otherRegions.
var hostile = []string{
	"", " ", "+", "++", "+0", "+00", "+1", "+12", "+123", "00", "000", "0", "1", "12", "123",
	"abc", "not a number", "phone", "tel:", "tel:+", ";phone-context=", "tel:123;phone-context=",
	"tel:+1-650-253-0000", "tel:253-0000;phone-context=+1-650", "tel:253-0000;phone-context=www.google.com",
	"tel:2530000;isub=12345;phone-context=+1-650", "tel:+1-650-253-0000;ext=1234", ";phone-context=+1650;a=b",
	"tel:253-0000;phone-context=+1-650;tel:x", ";phone-context=example.com;+16502530000", "2530000;phone-context=+1 650", "tel:253;phone-context=a..b",
	"1-800-FLOWERS", "1-800-flowers", "0800 FLOWERS", "+1 800 FLOWERS", "800 MICROSOFT", "1-800-GOT-JUNK",
	"+44 20 7031 3000 ext. 123", "(650) 253-0000 x302/x2303", "650 253 0000 #123", "650-253-0000 - 503#",
	"650 253 0000,,55", "650 253 0000;55", "650 253 0000 extension 12", "650 253 0000 доб 12", "650 253 0000 anexo 3",
	"\uff0b\uff14\uff14\u3000\uff12\uff10\u3000\uff17\uff10\uff13\uff11\u3000\uff13\uff10\uff10\uff10",
	"\u0666\u0665\u0660\u0662\u0665\u0663\u0660\u0660\u0660\u0660", "\u06f6\u06f5\u06f0\u06f2\u06f5\u06f3\u06f0\u06f0\u06f0\u06f0",
	"\u0966\u096f\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e", "+91 \u096f\u096e\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e",
	"+1\x00650\x002530000", "650\n2530000", "650\t253\t0000", "+1 650 253 0000\r\n", "\x7f650 253 0000",
	"\xff\xfe650 253 0000", "650 253 0000\xff", "+\xc3\x28 650", "1ſſſ2530000", "650 ıKK 0000",
	strings.Repeat("1", 17), strings.Repeat("1", 18), strings.Repeat("9", 250), strings.Repeat("9", 251),
	"+" + strings.Repeat("4", 30), strings.Repeat("-", 300) + "6502530000", strings.Repeat("0", 20),
	"011 44 20 7031 3000", "00 44 20 7031 3000", "0044 0 20 7031 3000", "+44 (0) 20 7031 3000", "++44 20 7031 3000",
	"00 0 44 20", "8 10 44 20 7031 3000", "810 44 20 7031 3000", "+7 8 495 123 45 67", "8 495 123 45 67",
	"+39 06 1234 5678", "06 1234 5678", "+39 0 6", "+39 000 000 0000", "+3900", "0000000000",
	"+54 9 11 1234 5678", "011 15 1234 5678", "15 1234 5678", "0343 15 555 1212", "+52 1 55 1234 5678",
	"044 55 1234 5678", "0 21 11 1234 5678", "(0xx21) 1234-5678", "+55 21 91234 5678", "+800 1234 5678",
	"+808 1234 5678", "+870 7 7312 3456", "+882 2345 6789", "+979 1 2345 6789", "001 800 1234 5678",
	"Call me at +1 650 253 0000 please", "x+16502530000", "+1 650 253 0000 / +1 650 253 0001",
	"+1-650-253-0000+", "650.253.0000.", "[650] 253~0000", "650–253–0000", "+1 (650) 253-0000 ext",
	"1 650 253 0000", "16502530000", "4930123456", "34612345678", "3434612345678", "7 495 123 45 67",
}

func TestMatchesLibraryOnHostileInputs(t *testing.T) {
	var inputs []input
	for _, s := range hostile {
		regions := append(otherRegions, "CA", "GG", "VA", "CH", "001", "es", "XX", "FR", "AU", "NZ", "JP", "CN")
		if stride > 1 {
			regions = otherRegions
		}
		for _, r := range regions {
			inputs = append(inputs, input{s, r})
		}
	}
	compare(t, inputs)
}

// TestMatchesLibraryOnRandomInput feeds random strings to random regions:
// digits after usual prefixes, which reach national prefix and country code
// rules the examples do not, and every fourth one a jumble of the characters
// the parser treats specially.
func TestMatchesLibraryOnRandomInput(t *testing.T) {
	var regions []string
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	rnd := rand.New(rand.NewSource(1))
	prefixes := []string{"", "", "", "0", "00", "+", "1", "8", "011", "+0", "9"}
	pieces := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", " ", "-", "(", ")", ".", "/", "x", "#", ";",
		",", "*", "~", "ext", "tel:", ";phone-context=", ";isub=", ";ext=", "A", "Z", "o", "\uff11", "\u0661", "\u0967", "\u00a0"}
	count := 20000 / (stride * stride)
	if *exhaustive {
		count = 500000
	}
	var inputs []input
	for i := range count {
		var b strings.Builder
		if i%4 == 3 {
			for range 1 + rnd.Intn(20) {
				b.WriteString(pieces[rnd.Intn(len(pieces))])
			}
		} else {
			b.WriteString(prefixes[rnd.Intn(len(prefixes))])
			for range 3 + rnd.Intn(13) {
				b.WriteByte(byte('0' + rnd.Intn(10)))
			}
		}
		inputs = append(inputs, input{b.String(), regions[rnd.Intn(len(regions))]})
	}
	valid := compare(t, inputs)
	t.Logf("%d inputs, %d valid", len(inputs), valid)
}

// FuzzMatchesLibrary compares with the library on arbitrary input.
func FuzzMatchesLibrary(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, "US")
	}
	f.Add("612 34 56 78", "ES")
	f.Add("020 7031 3000", "GB")
	f.Fuzz(func(t *testing.T, s, region string) {
		if _, err := check(input{s, region}); err != nil {
			t.Fatal(err)
		}
	})
}
