// Package mail is the mail service: mailboxes (virtual users of the mail
// server, not UNIX accounts), the addresses at an account's domains that
// deliver into them and forward elsewhere, autoresponses, and spam
// filtering, applied to Postfix and Dovecot over SSH.
package mail

import (
	"errors"
	"slices"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/settings"
)

// Filtering presets, as the original named them: REDIRECT files spam into
// a Spam folder, REJECT discards it, at a score of 8 (5 for the variants);
// CUSTOM runs the mailbox's own Sieve script.
const (
	FilterNone      = "DISABLE"
	FilterRedirect  = "REDIRECT"
	FilterRedirect5 = "REDIRECT5"
	FilterReject    = "REJECT"
	FilterReject5   = "REJECT5"
	FilterCustom    = "CUSTOM"
)

// What mail to a disabled mailbox meets (MAILBOXES_DISABLED_MAIL).
const (
	DisabledDefer  = "defer"
	DisabledBounce = "bounce"
)

// Filterings are every preset, in the order forms offer them.
var Filterings = []string{FilterNone, FilterRedirect, FilterRedirect5, FilterReject, FilterReject5, FilterCustom}

// filteringWords say the presets in words (the pages' choices).
var filteringWords = map[string]string{
	FilterNone:      i18n.M("No spam filtering"),
	FilterRedirect:  i18n.M("Move likely spam (score 8 or more) to the Spam folder"),
	FilterRedirect5: i18n.M("Move possible spam (score 5 or more) to the Spam folder"),
	FilterReject:    i18n.M("Discard likely spam (score 8 or more)"),
	FilterReject5:   i18n.M("Discard possible spam (score 5 or more)"),
	FilterCustom:    i18n.M("My own Sieve filter"),
}

// Settings of mail, after the original's.
var (
	NameMaxLength = settings.Int("MAILBOXES_NAME_MAX_LENGTH", 32,
		"Longest mailbox name (the login), at most 32.", settings.Validator(func(v any) error {
			if n := v.(int); n < 1 || n > 32 {
				return errors.New("must be from 1 to 32")
			}
			return nil
		}))
	LocalDomain = settings.String("MAILBOXES_LOCAL_DOMAIN", "",
		"A domain every new mailbox gets an address at (name@domain), when the domain exists; empty for none.")
	DefaultQuota = settings.Int("MAILBOXES_DEFAULT_QUOTA", 1024,
		"Quota in MiB of mailboxes that set none; 0 for none.", settings.Validator(func(v any) error {
			if v.(int) < 0 {
				return errors.New("must not be negative")
			}
			return nil
		}))
	OfferedFilterings = settings.StringList("MAILBOXES_FILTERINGS", Filterings,
		"Spam filtering presets mailboxes can choose from.", settings.Choices(Filterings...))
	DefaultFiltering = settings.String("MAILBOXES_DEFAULT_FILTERING", FilterRedirect,
		"Filtering of new mailboxes that choose none; one of MAILBOXES_FILTERINGS.",
		settings.Choices(Filterings...), settings.Validator(func(v any) error {
			if !slices.Contains(OfferedFilterings.Get(), v.(string)) {
				return errors.New("must be one of MAILBOXES_FILTERINGS")
			}
			return nil
		}))
	DisabledMail = settings.String("MAILBOXES_DISABLED_MAIL", DisabledDefer,
		"Mail to a disabled mailbox (or one of a disabled account): defer keeps it queued on the server and delivers it once the mailbox is enabled (within the server's queue lifetime); bounce returns it to its sender at once.",
		settings.Choices(DisabledDefer, DisabledBounce))
	SpamScoreHeader = settings.String("MAILBOXES_SPAM_SCORE_HEADER", "X-Spam-Score",
		"Header in which the mail server's spam scorer writes a message's score.")
)
