package render

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// symbols are the currencies whose sign is known; others show their code.
var symbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF"}

// symbol is what amounts in code are followed by.
func symbol(code string) string {
	if s, ok := symbols[code]; ok {
		return s
	}
	return code
}

// commaLanguages write a decimal comma (the others a point), as Django
// localized the original's amounts.
var commaLanguages = map[string]bool{"ca": true, "es": true, "fr": true, "de": true, "it": true, "pt": true,
	"nl": true, "eu": true, "gl": true, "da": true, "sv": true, "nb": true, "fi": true, "pl": true, "ru": true}

// localized writes a number's decimal point as lang does, without
// grouping, as the original did (USE_THOUSAND_SEPARATOR off): "1234.50",
// "1234,50".
func localized(lang, s string) string {
	base, _, _ := strings.Cut(lang, "-")
	if commaLanguages[base] {
		return strings.Replace(s, ".", ",", 1)
	}
	return s
}

// money writes an amount in cents with the currency's sign after it, as
// the original's templates did: "12.10 €".
func money(lang, currency string, d decimal.Decimal) string {
	return localized(lang, d.StringFixed(2)) + " " + symbol(currency)
}

// Money writes an amount as bills do, in ctx's language and the bills'
// currency: "12.10 €", "12,10 €".
func Money(ctx context.Context, d decimal.Decimal) string {
	return money(i18n.Language(ctx), Currency.Get(), d)
}

// percent writes a tax rate: "21%", "10.5%".
func percent(lang string, rate decimal.Decimal) string {
	return localized(lang, rate.String()) + "%"
}

// month is a month's short name in the context's language.
func month(ctx context.Context, m time.Month) string {
	switch m {
	case time.January:
		return i18n.T(ctx, "Jan")
	case time.February:
		return i18n.T(ctx, "Feb")
	case time.March:
		return i18n.T(ctx, "Mar")
	case time.April:
		return i18n.T(ctx, "Apr")
	case time.May:
		return i18n.T(ctx, "May")
	case time.June:
		return i18n.T(ctx, "Jun")
	case time.July:
		return i18n.T(ctx, "Jul")
	case time.August:
		return i18n.T(ctx, "Aug")
	case time.September:
		return i18n.T(ctx, "Sep")
	case time.October:
		return i18n.T(ctx, "Oct")
	case time.November:
		return i18n.T(ctx, "Nov")
	}
	return i18n.T(ctx, "Dec")
}

// fill replaces a date pattern's {month}, {day}, {year} (four digits) and
// {yy} (two): the translations order them as their language does, which
// format verbs in a fixed order could not.
func fill(ctx context.Context, pattern string, t time.Time) string {
	s := strings.NewReplacer(
		"{month}", month(ctx, t.Month()),
		"{day}", strconv.Itoa(t.Day()),
		"{year}", strconv.Itoa(t.Year()),
		"{yy}", t.Format("06"),
	).Replace(pattern)
	// the original capitalized its dates: a lower-case month starts one
	if r, n := utf8.DecodeRuneInString(s); n > 0 {
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	return s
}

// longDate is a bill's date written out: "May 15, 2016"; empty for none.
func longDate(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fill(ctx, i18n.T(ctx, "{month} {day}, {year}"), t)
}

// Period is a line's period as the original wrote it (get_verbose_period):
// "May '16" for a month, "May '16 / Jul '16" for whole months (an end on
// the 1st is exclusive, so shown as the day before's month), "May 15, '16
// / Jun 1, '16" when either end is not on the 1st, and only the start for
// a one-time line (end zero).
func Period(ctx context.Context, ini, end time.Time) string {
	byMonth := i18n.T(ctx, "{month} '{yy}")
	byDay := i18n.T(ctx, "{month} {day}, '{yy}")
	pattern := byMonth
	if ini.Day() != 1 || !end.IsZero() && end.Day() != 1 {
		pattern = byDay
	} else if !end.IsZero() {
		end = end.AddDate(0, 0, -1)
	}
	from := fill(ctx, pattern, ini)
	if end.IsZero() {
		return from
	}
	to := fill(ctx, pattern, end)
	if from == to {
		return from
	}
	return from + " / " + to
}
