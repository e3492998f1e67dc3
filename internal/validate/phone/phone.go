// Package phone parses and validates telephone numbers exactly as
// libphonenumber does (github.com/nyaruka/phonenumbers: Parse, then
// IsValidNumber, then Format in E.164), which is how the original system
// validated contact numbers.
//
// It ports only that path of the library and carries only the metadata it
// reads (metadata_gen.go, written by ./gen from the library), as plain Go
// literals: the library decodes protobuf metadata for every region at
// start-up, which costs megabytes of binary and of resident memory. Here a
// region's patterns are compiled the first time a number needs them.
package phone

//go:generate go run ./gen

import (
	"errors"
	"math/bits"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrInvalid is returned for anything libphonenumber would not parse or
// would not consider a valid number.
var ErrInvalid = errors.New("phone: not a valid phone number")

// Number is a valid phone number.
type Number struct {
	cc     int
	nsn    string // national significant number, Italian leading zeros included
	region string // ISO 3166-1 alpha-2, or "001" for non-geographic entities (+800...)
}

// CountryCode returns the country calling code, e.g. 44.
func (n Number) CountryCode() int { return n.cc }

// National returns the national significant number: the digits after the
// country code, without national prefix.
func (n Number) National() string { return n.nsn }

// Region returns the region the number belongs to (e.g. "GG" for +44 1481...),
// or "001" for non-geographic entities such as +800.
func (n Number) Region() string { return n.region }

// E164 returns the number as "+", country code, national number; the zero
// Number gives "".
func (n Number) E164() string {
	if n.cc == 0 {
		return ""
	}
	return "+" + strconv.Itoa(n.cc) + n.nsn
}

// Parse accepts s when libphonenumber's Parse(s, defaultRegion) succeeds and
// IsValidNumber holds for the result. defaultRegion (ISO 3166-1 alpha-2,
// upper case) resolves numbers written without an international prefix; it
// may be empty or unknown when s starts with one.
func Parse(s, defaultRegion string) (Number, error) {
	cc, national, ok := parse(s, defaultRegion)
	if !ok {
		return Number{}, ErrInvalid
	}
	n := Number{cc: cc, nsn: significant(national)}
	t := regionOf(n.cc, n.nsn)
	if t == nil || !t.valid(n.nsn) {
		return Number{}, ErrInvalid
	}
	n.region = t.id
	return n, nil
}

// significant rebuilds the national significant number the way
// libphonenumber stores it: as an integer plus a count of leading zeros
// (the whole number being zeros, the last one is not counted). Digits the
// integer cannot hold (non-ASCII ones normalisation kept) make it 0.
func significant(national string) string {
	v, _ := strconv.ParseUint(national, 10, 64)
	zeros := 0
	if len(national) >= 2 && national[0] == '0' {
		zeros = 1
		for zeros < len(national)-1 && national[zeros] == '0' {
			zeros++
		}
	}
	return strings.Repeat("0", zeros) + strconv.FormatUint(v, 10)
}

// territory is the metadata of a region, or of a non-geographic entity
// (id "001"), for one country calling code.
type territory struct {
	id             string
	cc             int
	idd            string // international (IDD) prefix pattern, e.g. 00
	nationalPrefix string // national prefix for parsing, a pattern
	transform      string // national prefix transform rule ($1...), if any
	leading        string // leading digits pattern telling apart regions that share a code
	general        desc   // any number of the territory
	localOnly      uint32 // lengths only diallable locally, a bit set
	types          []desc // a valid number matches one of them

	compiled struct { // the patterns, compiled on first use
		once sync.Once
		p    *patterns
	}
}

// desc is a number pattern with its possible lengths as a bit set (bit n:
// length n); no bits means the lengths are not restricted.
type desc struct {
	pattern string
	lengths uint32
}

func hasLength(set uint32, n int) bool { return n < 32 && set&(1<<n) != 0 }

type patterns struct {
	idd, nationalPrefix, leading, general *regexp.Regexp
	types                                 []*regexp.Regexp
}

func (t *territory) patterns() *patterns {
	c := &t.compiled
	c.once.Do(func() {
		p := &patterns{
			idd:            compile(t.idd, ""),
			nationalPrefix: compile(t.nationalPrefix, ""),
			leading:        compile(t.leading, ""),
			general:        compile(t.general.pattern, "$"),
		}
		for _, d := range t.types {
			p.types = append(p.types, compile(d.pattern, "$"))
		}
		c.p = p
	})
	return c.p
}

// compile anchors pattern at the start, and at the end if end is "$", as
// libphonenumber does. (It searches the IDD pattern unanchored but only
// accepts a match at 0, which is the same.)
func compile(pattern, end string) *regexp.Regexp {
	if pattern == "" {
		return nil
	}
	return regexp.MustCompile("^(?:" + pattern + ")" + end)
}

// byCode returns the territories of a country calling code, main region first.
func byCode(cc int) []territory {
	i := sort.Search(len(territories), func(i int) bool { return territories[i].cc >= cc })
	j := i
	for j < len(territories) && territories[j].cc == cc {
		j++
	}
	return territories[i:j]
}

// byRegion returns a supported region's metadata, or nil ("001" is not a
// region one can parse from).
func byRegion(id string) *territory {
	if id == "" || id == "001" {
		return nil
	}
	for i := range territories {
		if territories[i].id == id {
			return &territories[i]
		}
	}
	return nil
}

// regionOf picks the territory a number belongs to (GetRegionCodeForNumber):
// the only one for its code, or else the first whose leading digits match
// or, lacking those, whose patterns accept it.
func regionOf(cc int, nsn string) *territory {
	ts := byCode(cc)
	if len(ts) == 1 {
		return &ts[0]
	}
	for i := range ts {
		t := &ts[i]
		if t.leading != "" {
			if t.patterns().leading.MatchString(nsn) {
				return t
			}
		} else if t.valid(nsn) {
			return t
		}
	}
	return nil
}

// valid reports whether nsn has a known type in t (getNumberTypeHelper is
// not UNKNOWN).
func (t *territory) valid(nsn string) bool {
	p := t.patterns()
	if !matches(nsn, t.general, p.general) {
		return false
	}
	for i, d := range t.types {
		if matches(nsn, d, p.types[i]) {
			return true
		}
	}
	return false
}

func matches(nsn string, d desc, re *regexp.Regexp) bool {
	if d.lengths != 0 && !hasLength(d.lengths, len(nsn)) {
		return false
	}
	return re.MatchString(nsn)
}

// lengthCheck is libphonenumber's ValidationResult, as testNumberLength
// returns it for the general description.
type lengthCheck int

const (
	possible lengthCheck = iota
	possibleLocalOnly
	tooShort
	tooLong
	invalidLength
)

func (t *territory) checkLength(number string) lengthCheck {
	n := len(number)
	set := t.general.lengths
	lo, hi := bits.TrailingZeros32(set), 31-bits.LeadingZeros32(set)
	switch {
	case hasLength(t.localOnly, n):
		return possibleLocalOnly
	case n == lo:
		return possible
	case n < lo:
		return tooShort
	case n > hi:
		return tooLong
	case hasLength(set, n):
		return possible
	}
	return invalidLength
}
