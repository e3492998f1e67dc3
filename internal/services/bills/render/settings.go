package render

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/settings"
)

// Settings of the bills' rendering, after the original's BILLS_* (its
// seller e-mail and website defaulted to the panel's base domain, which
// this one has not: they are empty until an operator sets them).
var (
	Currency = settings.String("BILLS_CURRENCY", "EUR",
		"The currency of bills, as an ISO 4217 code (EUR, USD, GBP…): amounts show with its symbol (€, $, £) or, for others, the code.",
		settings.Validator(func(v any) error {
			if !currencyRE.MatchString(v.(string)) {
				return errors.New("three capital letters, an ISO 4217 code such as EUR")
			}
			return nil
		}))
	SellerPhone = settings.String("BILLS_SELLER_PHONE", "111-112-11-222",
		"The seller's phone number, under its address on every bill.")
	SellerEmail = settings.String("BILLS_SELLER_EMAIL", "",
		"The seller's e-mail address, under its address on every bill and where it invites questions; empty: none.",
		settings.Validator(func(v any) error {
			if s := v.(string); s != "" && (strings.Count(s, "@") != 1 || strings.ContainsAny(s, " \t\r\n<>")) {
				return errors.New("an e-mail address")
			}
			return nil
		}))
	SellerWebsite = settings.String("BILLS_SELLER_WEBSITE", "",
		"The seller's website, under its address on every bill; empty: none.")
	SellerBankAccount = settings.String("BILLS_SELLER_BANK_ACCOUNT", "0000 0000 00 00000000 (Orchestra Bank)",
		"The bank account a bill asks to be paid into by transfer, when its payment method says nothing else.")
	TemplateDir = settings.String("BILLS_TEMPLATE_DIR", "",
		"A folder of templates (Go html/template) that replace the built-in ones: invoice.html (invoices, amendments), fee.html, proforma.html; a file it lacks is the built-in one. Empty: the built-in templates.",
		settings.Validator(func(v any) error {
			if s := v.(string); s != "" && !filepath.IsAbs(s) {
				return errors.New("an absolute path")
			}
			return nil
		}))
	Chromium = settings.String("BILLS_CHROMIUM", "chromium",
		"The Chromium (or Chrome) that prints bills to PDF: a command found in PATH, or an absolute path. One runs headless while the panel prints, started on the first bill.")
)

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
