package mail

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/autoresponse"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailaddress"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailbox"
)

// An autoresponse is a Sieve vacation in the script of a mailbox its
// address delivers into: the first of them (by id), so that a sender gets
// one answer however many mailboxes the address fills. Its dates are
// compared with the server's clock in UTC, and the interval is vacation's
// :days (the server remembers whom it answered).
type vacation struct {
	address        string // name@domain
	subject, text  string
	starts, ends   *time.Time
	days           int
	autoresponseID int
}

// vacationsRelated re-save the mailboxes whose script an autoresponse is in:
// any of its account's, since an address may have left one.
var vacationsRelated = []orchestration.Related{
	{Model: "Autoresponse", Resolve: func(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
		return tx.Mailbox.Query().Where(mailbox.AccountID(o.Int("account_id"))).IDs(ctx)
	}},
	// an address with an autoresponse that changed its name or mailboxes
	{Model: "MailAddress", Fields: []string{"name", "domain_id", "mailboxes"},
		Resolve: func(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
			has, err := tx.Autoresponse.Query().Where(autoresponse.AddressID(o.ID)).Exist(ctx)
			if err != nil || !has {
				return nil, err
			}
			return tx.Mailbox.Query().Where(mailbox.AccountID(o.Int("account_id"))).IDs(ctx)
		}},
}

// loadVacations reads the active autoresponses mailbox b answers for.
func loadVacations(ctx context.Context, tx *ent.Tx, b *ent.Mailbox) ([]vacation, error) {
	ars, err := tx.Autoresponse.Query().Where(autoresponse.AccountID(b.AccountID), autoresponse.IsActive(true),
		autoresponse.HasAddressWith(mailaddress.HasMailboxesWith(mailbox.ID(b.ID)))).
		WithAddress(func(q *ent.MailAddressQuery) {
			q.WithDomain().WithMailboxes(func(q *ent.MailboxQuery) { q.Select(mailbox.FieldID) })
		}).All(ctx)
	if err != nil || len(ars) == 0 {
		return nil, err
	}
	var out []vacation
	for _, ar := range ars {
		a := ar.Edges.Address
		first := b.ID
		for _, m := range a.Edges.Mailboxes {
			first = min(first, m.ID)
		}
		if first != b.ID || a.Name == "" {
			continue // another mailbox answers; a catch-all has no autoresponse
		}
		out = append(out, vacation{address: a.Name + "@" + a.Edges.Domain.Name, subject: ar.Subject, text: ar.Message,
			starts: ar.StartsAt, ends: ar.EndsAt, days: ar.IntervalDays, autoresponseID: ar.ID})
	}
	slices.SortFunc(out, func(x, y vacation) int { return strings.Compare(x.address, y.address) })
	return out, nil
}

// vacationSieve is the part of a mailbox's script that answers: at most
// one vacation runs per message (Sieve allows one), the one of the address
// the message was written to.
func vacationSieve(vs []vacation) (require []string, body string) {
	if len(vs) == 0 {
		return nil, ""
	}
	require = []string{"vacation"}
	var b strings.Builder
	const stamp = "2006-01-02T15:04:05" // a prefix of currentdate's iso8601: compared as text
	for i, v := range vs {
		if i > 0 {
			b.WriteString("els")
		}
		tests := []string{`address :all :is ["to", "cc"] ` + sieveString(v.address)}
		if v.starts != nil {
			tests = append(tests, `currentdate :zone "+0000" :value "ge" "iso8601" `+sieveString(v.starts.UTC().Format(stamp)))
		}
		if v.ends != nil {
			tests = append(tests, `currentdate :zone "+0000" :value "lt" "iso8601" `+sieveString(v.ends.UTC().Format(stamp)))
		}
		if v.starts != nil || v.ends != nil {
			require = append(require, "date", "relational")
		}
		b.WriteString("if allof (" + strings.Join(tests, ",\n          ") + ") {\n")
		b.WriteString("  vacation :days " + strconv.Itoa(max(v.days, 1)) + " :handle " + sieveString("autoresponse-"+strconv.Itoa(v.autoresponseID)) +
			"\n    :from " + sieveString(v.address) + " :addresses [" + sieveString(v.address) + "]" +
			"\n    :subject " + sieveString(v.subject) + "\n    " + sieveString(v.text) + ";\n}\n")
	}
	return require, b.String()
}
