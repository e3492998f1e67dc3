package phone

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// This file ports libphonenumber's Parse (parseHelper and the functions it
// calls, in github.com/nyaruka/phonenumbers' phonenumberutil.go) step by
// step, quirks included: the goal is the library's answers, not better ones.

const (
	minNationalLength = 2   // MIN_LENGTH_FOR_NSN
	maxNationalLength = 17  // MAX_LENGTH_FOR_NSN
	maxInputLength    = 250 // MAX_INPUT_STRING_LENGTH, in bytes
	plusChars         = "+\uFF0B"
)

// The library's patterns, spelled as it spells them.
const (
	digits     = `\p{Nd}`
	validAlpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	// Punctuation allowed between digits; x stands for carrier codes.
	validPunctuation = "-x\u2010-\u2015\u2212\u30FC\uFF0D-\uFF0F " +
		"\u00A0\u00AD\u200B\u2060\u3000()\uFF08\uFF09\uFF3B\uFF3D." +
		"\\[\\]/~\u2053\u223C\uFF5E"

	// Two digits alone, or at least three among punctuation and letters.
	validPhoneNumber = digits + "{2}|" +
		"[" + plusChars + "]*(?:[" + validPunctuation + "*]*" + digits + "){3,}[" +
		validPunctuation + "*" + validAlpha + digits + "]*"

	extSeparators      = "[ \u00A0\\t,]*"
	extAfterLabel      = "[:\\.\uFF0E]?[ \u00A0\\t,-]*"
	extSuffix          = "#?"
	extExplicitLabels  = "(?:e?xt(?:ensi(?:o\u0301?|\u00F3))?n?|\uFF45?\uFF58\uFF54\uFF4E?|\u0434\u043E\u0431|anexo)"
	extAmbiguousLabels = "(?:[x\uFF58#\uFF03~\uFF5E]|int|\uFF49\uFF4E\uFF54)"
	// Each alternative captures the extension digits in one group.
	extPatterns = ";ext=(" + digits + "{1,20})|" +
		extSeparators + extExplicitLabels + extAfterLabel + "(" + digits + "{1,20})" + extSuffix + "|" +
		extSeparators + extAmbiguousLabels + extAfterLabel + "(" + digits + "{1,9})" + extSuffix + "|" +
		"[- ]+(" + digits + "{1,6})#|" +
		"[ \u00A0\\t]*(?:,{2}|;)" + extAfterLabel + "(" + digits + "{1,15})" + extSuffix + "|" +
		"[ \u00A0\\t]*(?:,)+" + extAfterLabel + "(" + digits + "{1,9})" + extSuffix

	rfc3966PhoneDigit = "(" + digits + "|[\\-\\.\\(\\)]?)"
	alphanum          = validAlpha + digits
	rfc3966Label      = "[" + alphanum + "]+((\\-)*[" + alphanum + "])*"
	rfc3966TopLabel   = "[" + validAlpha + "]+((\\-)*[" + alphanum + "])*"
)

// shared holds the region-independent patterns, compiled on first use.
var shared struct {
	once sync.Once
	p    sharedPatterns
}

type sharedPatterns struct {
	unwantedEnd, secondNumber, alpha, viable, extension, globalDigits, domainName *regexp.Regexp
}

func globals() *sharedPatterns {
	shared.once.Do(func() {
		shared.p = sharedPatterns{
			// The library's Java pattern is [[\P{N}&&\P{L}]&&[^#]]+$ (trailing
			// non-alphanumerics), but RE2 has no class intersection: Go reads
			// it as a class, "&&", [^#] and a run of "]", which almost never
			// matches. Kept as the Go library has it, for the same answers.
			unwantedEnd:  regexp.MustCompile(`[[\P{N}&&\P{L}]&&[^#]]+$`),
			secondNumber: regexp.MustCompile(`[\\/] *x`),
			alpha:        regexp.MustCompile(`^(?:.*?[A-Za-z]){3}.*$`),
			viable:       regexp.MustCompile("(?i)^(" + validPhoneNumber + "(?:" + extPatterns + ")?)$"),
			extension:    regexp.MustCompile("(?i)(?:" + extPatterns + ")$"),
			globalDigits: regexp.MustCompile("^\\+" + rfc3966PhoneDigit + "*" + digits + rfc3966PhoneDigit + "*$"),
			domainName:   regexp.MustCompile("^(" + rfc3966Label + "\\.)*" + rfc3966TopLabel + "\\.?$"),
		}
	})
	return &shared.p
}

// parse is parseHelper: it returns the country code (0 when there is none)
// and the national number, still a string, or false when the library
// returns an error.
func parse(s, region string) (cc int, national string, ok bool) {
	if s == "" || len(s) > maxInputLength {
		return 0, "", false
	}
	number, ok := numberForParsing(s)
	if !ok || !viable(number) {
		return 0, "", false
	}
	def := byRegion(region)
	// Without a usable region, only an international number can be read;
	// the library looks for a plus anywhere, not only in front.
	if def == nil && !strings.ContainsAny(number, plusChars) {
		return 0, "", false
	}
	number = stripExtension(number)

	national, cc, err := extractCountryCode(number, def)
	if err == errInvalidCountryCode {
		// Retry after the first run of plus signs, wherever it is.
		i := strings.IndexAny(number, plusChars)
		if i < 0 {
			return 0, "", false
		}
		national, cc, err = extractCountryCode(strings.TrimLeft(number[i:], plusChars), def)
		if err == nil && cc == 0 {
			return 0, "", false
		}
	}
	if err != nil {
		return 0, "", false
	}

	meta := def
	if cc != 0 {
		// The metadata of the code's main region, or of the non-geographic
		// entity; left as is (possibly none) when region already names it.
		if main := &byCode(cc)[0]; main.id != region {
			meta = main
		}
	} else {
		national = normalize(number)
		if def != nil { // the library reads 0 from an unknown region's (nil) metadata
			cc = def.cc
		}
	}
	if len(national) < minNationalLength {
		return 0, "", false
	}
	if meta != nil {
		// Keep the national prefix unless what remains has a length the
		// region dials: the original could be a valid short number.
		stripped := stripNationalPrefix(national, meta)
		switch meta.checkLength(stripped) {
		case tooShort, possibleLocalOnly, invalidLength:
		default:
			national = stripped
		}
	}
	if len(national) < minNationalLength || len(national) > maxNationalLength {
		return 0, "", false
	}
	return cc, national, true
}

// numberForParsing is buildNationalNumberForParsing: the number part of an
// RFC 3966 "tel:" URI, with its phone-context prefix, or else the likely
// number found in free text.
func numberForParsing(s string) (string, bool) {
	const phoneContext, telPrefix, isdn = ";phone-context=", "tel:", ";isub="
	var number string
	at := strings.Index(s, phoneContext)
	if at >= 0 {
		context := s[at+len(phoneContext):]
		if end := strings.IndexByte(context, ';'); end >= 0 {
			context = context[:end]
		}
		g := globals()
		if context == "" || !g.globalDigits.MatchString(context) && !g.domainName.MatchString(context) {
			return "", false
		}
		if at > 0 { // the library ignores a context at index 0 once checked
			if context[0] == '+' {
				number = context
			}
			start := 0
			if i := strings.Index(s, telPrefix); i >= 0 && i < at {
				start = i + len(telPrefix)
			}
			number += s[start:at]
		}
	}
	if at <= 0 {
		number = extractPossibleNumber(s)
	}
	if i := strings.Index(number, isdn); i > 0 {
		number = number[:i]
	}
	return number, true
}

// extractPossibleNumber drops what precedes the first digit or plus sign,
// and a second number introduced by "/x" or "\x".
func extractPossibleNumber(s string) string {
	start := strings.IndexFunc(s, func(r rune) bool { return r == '+' || r == '\uFF0B' || unicode.IsDigit(r) })
	if start < 0 {
		return ""
	}
	s = s[start:]
	g := globals()
	if loc := g.unwantedEnd.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	if loc := g.secondNumber.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	return s
}

// viable is isViablePhoneNumber: two digits alone, or three or more with
// only punctuation, letters and an extension around them.
func viable(s string) bool {
	return len(s) >= minNationalLength && globals().viable.MatchString(s)
}

// stripExtension removes a trailing extension ("ext. 123", "x12", ";ext=1"...)
// when what precedes it is itself viable.
func stripExtension(s string) string {
	if loc := globals().extension.FindStringIndex(s); loc != nil && viable(s[:loc[0]]) {
		return s[:loc[0]] // every alternative of the pattern captures digits
	}
	return s
}

type parseError int

const (
	errInvalidCountryCode parseError = iota + 1
	errTooShortAfterIDD
)

func (e parseError) Error() string { return "phone: parse error " + strconv.Itoa(int(e)) }

// extractCountryCode is maybeExtractCountryCode: it reads the country code
// after a plus sign or the default region's IDD prefix, or recognises the
// default region's own code written without either. It returns cc 0 when
// the number is national.
func extractCountryCode(number string, def *territory) (national string, cc int, err error) {
	if number == "" {
		return "", 0, nil
	}
	full, international := stripInternationalPrefix(number, def)
	if international {
		if len(full) <= minNationalLength {
			return "", 0, errTooShortAfterIDD
		}
		if full[0] != '0' { // country codes do not start with 0
			for i := 1; i <= 3 && i <= len(full); i++ {
				code, _ := strconv.Atoi(full[:i])
				if len(byCode(code)) > 0 {
					return full[i:], code, nil
				}
			}
		}
		return "", 0, errInvalidCountryCode
	}
	if def != nil {
		code := strconv.Itoa(def.cc)
		if strings.HasPrefix(full, code) {
			// Take the leading digits for the region's code when the number
			// becomes valid (by the general pattern) without them, or was
			// too long with them.
			general := def.patterns().general
			rest := stripNationalPrefix(full[len(code):], def)
			if !general.MatchString(full) && general.MatchString(rest) || def.checkLength(full) == tooLong {
				return rest, def.cc, nil
			}
		}
	}
	return "", 0, nil
}

// stripInternationalPrefix is maybeStripInternationalPrefixAndNormalize:
// it normalises the number and removes a leading run of plus signs or the
// region's IDD prefix, reporting whether it did.
func stripInternationalPrefix(number string, def *territory) (string, bool) {
	if rest := strings.TrimLeft(number, plusChars); len(rest) < len(number) {
		return normalize(rest), true
	}
	number = normalize(number)
	if def == nil { // the library's stand-in pattern ("NonMatch") never matches digits
		return number, false
	}
	loc := def.patterns().idd.FindStringIndex(number)
	if loc == nil {
		return number, false
	}
	// Keep the prefix if a 0 follows it: country codes cannot start with 0.
	rest := number[loc[1]:]
	if i := strings.IndexFunc(rest, unicode.IsDigit); i >= 0 {
		if r, _ := utf8.DecodeRuneInString(rest[i:]); asciiDigit(r) == '0' {
			return number, false
		}
	}
	return rest, true
}

// stripNationalPrefix is maybeStripNationalPrefixAndCarrierCode without the
// carrier code: it removes the national prefix (or rewrites the number by the
// transform rule), unless that turns a number matching the general pattern
// into one that does not.
func stripNationalPrefix(number string, t *territory) string {
	if number == "" || t.nationalPrefix == "" {
		return number
	}
	p := t.patterns()
	loc := p.nationalPrefix.FindStringSubmatchIndex(number)
	if loc == nil {
		return number
	}
	wasViable := p.general.MatchString(number)
	last := len(loc)/2 - 1 // the last capturing group, or the whole match
	if t.transform == "" || loc[2*last] < 0 {
		if wasViable && !p.general.MatchString(number[loc[1]:]) {
			return number
		}
		return number[loc[1]:]
	}
	transformed := p.nationalPrefix.ReplaceAllString(number, t.transform)
	if wasViable && !p.general.MatchString(transformed) {
		return number
	}
	return transformed
}

// normalize turns a vanity number (three or more ASCII letters) into keypad
// digits, dropping everything else; otherwise it keeps only digits, with
// Arabic-Indic and full-width ones made ASCII and other scripts' digits
// left as they are (as the library does).
func normalize(s string) string {
	var b strings.Builder
	if globals().alpha.MatchString(s) {
		for _, r := range s {
			if d := keypad(unicode.ToUpper(r)); d != 0 {
				b.WriteRune(d)
			}
		}
		return b.String()
	}
	for _, r := range s {
		if unicode.IsDigit(r) {
			b.WriteRune(asciiDigit(r))
		}
	}
	return b.String()
}

// asciiDigit maps the digits the library converts (ASCII, Arabic-Indic,
// extended Arabic-Indic, full-width) to ASCII and returns others unchanged.
func asciiDigit(r rune) rune {
	switch {
	case r >= '\u0660' && r <= '\u0669':
		return '0' + r - '\u0660'
	case r >= '\u06F0' && r <= '\u06F9':
		return '0' + r - '\u06F0'
	case r >= '\uFF10' && r <= '\uFF19':
		return '0' + r - '\uFF10'
	}
	return r
}

// keypad maps ASCII digits and upper-case letters as on an E.161 keypad,
// and anything else to 0.
func keypad(r rune) rune {
	switch {
	case r >= '0' && r <= '9':
		return r
	case r >= 'A' && r <= 'Z':
		return rune("22233344455566677778889999"[r-'A'])
	}
	return 0
}
