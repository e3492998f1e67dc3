package mail

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailaddress"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailbox"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// The rules of mailboxes, addresses and autoresponses, for every write path:
//   - a mailbox's name is its login and its folder on the server: letters,
//     digits, . - _, unique, never renamed; its password is a SHA512-CRYPT
//     hash; its filtering is an offered preset, CUSTOM with a Sieve script
//     that reads;
//   - an address is at a domain of its account (its account is the
//     domain's), unique per domain (an empty name catches the rest), and
//     delivers somewhere: a mailbox of the same account, or a forward
//     elsewhere (an address, or another account's mailbox by name);
//   - an autoresponse answers for an address of its account.

func init() {
	register := func(typ string, ops ent.Op, check func(context.Context, ent.Mutation) error) {
		store.RegisterHook(typ, ops, func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				if err := check(ctx, m); err != nil {
					return nil, err
				}
				return next.Mutate(ctx, m)
			})
		})
	}
	writes := ent.OpCreate | ent.OpUpdate | ent.OpUpdateOne
	register("Mailbox", writes, func(ctx context.Context, m ent.Mutation) error { return checkMailbox(ctx, m.(*ent.MailboxMutation)) })
	register("MailAddress", writes, func(ctx context.Context, m ent.Mutation) error {
		return checkAddress(ctx, m.(*ent.MailAddressMutation))
	})
	register("Autoresponse", writes, func(ctx context.Context, m ent.Mutation) error {
		return checkAutoresponse(ctx, m.(*ent.AutoresponseMutation))
	})
	store.RegisterHook("Mailbox", ent.OpCreate, func(next ent.Mutator) ent.Mutator {
		return hook.MailboxFunc(func(ctx context.Context, m *ent.MailboxMutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			if err == nil {
				err = localAddress(ctx, m.Client(), v.(*ent.Mailbox))
			}
			return v, err
		})
	})
	store.RegisterHook("Mailbox", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.MailboxFunc(func(ctx context.Context, m *ent.MailboxMutation) (ent.Value, error) {
			if err := forgetMailboxes(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

func sys(ctx context.Context) context.Context { return viewer.System(ctx, viewer.ChannelSystem) }

// mailboxName is also a folder's name on the server: it starts with a
// letter or a digit, so that it is never . or .. nor hidden.
var mailboxName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// sha512Crypt is a SHA512-CRYPT hash and nothing else: it becomes a field of
// Dovecot's passwd-file.
var sha512Crypt = regexp.MustCompile(`^\$6\$(rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$`)

func checkMailbox(ctx context.Context, m *ent.MailboxMutation) error {
	var errs validate.Errors
	if name, ok := m.Name(); ok {
		m.SetName(strings.ToLower(strings.TrimSpace(name)))
	}
	if _, ok := m.Name(); ok && m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) {
		errs.Add("name", i18n.T(ctx, "A mailbox keeps its name: it is its login and its folder. Add a new one instead."))
	}
	errs.Check(ctx, m, "name", func(s string) string { return validate.Required(ctx, s) }, func(s string) string {
		switch n := NameMaxLength.Get(); {
		case len(s) > n:
			return i18n.T(ctx, "Ensure this value has at most %d characters.", n)
		case !mailboxName.MatchString(s):
			return i18n.T(ctx, "Enter a name of letters, digits and . - _ only, starting with a letter or a digit.")
		}
		return ""
	})
	errs.Check(ctx, m, "password", func(s string) string {
		if s != "" && !sha512Crypt.MatchString(s) {
			return i18n.T(ctx, "The password is stored as a SHA-512 crypt hash.")
		}
		return ""
	})
	if q, ok := m.Quota(); ok && (q < 0 || q > 1<<20) {
		errs.Add("quota", i18n.T(ctx, "Enter a number of MiB from 0 (none) to %d.", 1<<20))
	}
	if f, ok := m.Filtering(); ok && f == "" && m.Op().Is(ent.OpCreate) {
		m.SetFiltering(DefaultFiltering.Get())
	}
	errs.Check(ctx, m, "filtering", func(s string) string {
		if !slices.Contains(OfferedFilterings.Get(), s) {
			return i18n.T(ctx, "Select a valid choice: %q is not one of %s.", s, strings.Join(OfferedFilterings.Get(), ", "))
		}
		return ""
	})
	filtering, _ := validate.String(ctx, m, "filtering")
	custom, _ := validate.String(ctx, m, "custom_filtering")
	if filtering == FilterCustom && strings.TrimSpace(custom) == "" && !errs.Has("filtering") {
		errs.Add("custom_filtering", i18n.T(ctx, "Write the Sieve script the CUSTOM filtering runs."))
	}
	errs.Check(ctx, m, "custom_filtering", func(s string) string {
		folders, err := CheckSieve(s)
		if err != nil {
			return i18n.T(ctx, "Line %d: %s", err.Line, i18n.T(ctx, err.Msg, err.Args...))
		}
		for _, f := range folders {
			if msg := folderProblem(f); msg != "" {
				return i18n.T(ctx, "Folder %q: %s", f, i18n.T(ctx, msg))
			}
		}
		return ""
	})
	if err := errs.Err(); err != nil {
		return err
	}
	if name, ok := m.Name(); ok && m.Op().Is(ent.OpCreate) {
		taken, err := m.Client().Mailbox.Query().Where(mailbox.Name(name)).Exist(sys(ctx))
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "name", Message: i18n.T(ctx, "A mailbox named %s already exists.", name)}
		}
	}
	return nil
}

// checkAddress checks an address as it will be after the write.
func checkAddress(ctx context.Context, m *ent.MailAddressMutation) error {
	var errs validate.Errors
	client := m.Client()
	var old *ent.MailAddress
	if m.Op().Is(ent.OpUpdateOne) {
		id, _ := m.ID()
		var err error
		if old, err = client.MailAddress.Query().Where(mailaddress.ID(id)).WithMailboxes().Only(ctx); err != nil {
			return err // another account's looks missing
		}
	} else if m.Op().Is(ent.OpUpdate) {
		return validate.Fail("name", i18n.T(ctx, "Change addresses one at a time."))
	}
	if name, ok := m.Name(); ok {
		m.SetName(strings.ToLower(strings.TrimSpace(name)))
	}
	errs.Check(ctx, m, "name", func(s string) string {
		if s != "" && (strings.Contains(s, "@") || validate.Email(s+"@example.com") != nil) {
			return i18n.T(ctx, "Enter the part of the address before the @; leave it empty to catch every other address of the domain.")
		}
		return ""
	})
	// the domain: one the viewer sees (a customer, their own), fixed once made
	domID, given := m.DomainID()
	if old != nil {
		if given && domID != old.DomainID {
			errs.Add("domain", i18n.T(ctx, "An address cannot move to another domain; add a new one instead."))
		}
		domID = old.DomainID
	}
	d, err := client.Domain.Query().Where(domain.ID(domID)).Only(ctx)
	if ent.IsNotFound(err) {
		errs.Add("domain", i18n.T(ctx, "No domain with id %d.", domID))
	} else if err != nil {
		return err
	} else if acc, ok := m.AccountID(); ok && acc != d.AccountID && old == nil {
		errs.Add("domain", i18n.T(ctx, "No domain with id %d.", domID))
	} else if old == nil {
		m.SetAccountID(d.AccountID)
	}
	account, _ := m.AccountID()
	if old != nil {
		account = old.AccountID
	}
	// the mailboxes it delivers into, after the write
	boxes := map[int]bool{}
	if old != nil && !m.MailboxesCleared() {
		for _, b := range old.Edges.Mailboxes {
			boxes[b.ID] = true
		}
	}
	for _, id := range m.RemovedMailboxesIDs() {
		delete(boxes, id)
	}
	added := m.MailboxesIDs()
	for _, id := range added {
		boxes[id] = true
	}
	if len(added) > 0 {
		own, err := client.Mailbox.Query().Where(mailbox.IDIn(added...), mailbox.AccountID(account)).Count(ctx)
		if err != nil {
			return err
		}
		if own != len(slices.Compact(slices.Sorted(slices.Values(added)))) {
			errs.Add("mailboxes", i18n.T(ctx, "Choose mailboxes of the address's own account."))
		}
	}
	forward, _ := m.Forward()
	if _, set := m.Forward(); !set && old != nil {
		forward = old.Forward
	}
	if clean, msg, err := checkForward(ctx, client, forward, account, m, old, d); err != nil {
		return err
	} else if msg != "" {
		errs.Add("forward", msg)
	} else if !slices.Equal(clean, forward) {
		m.SetForward(clean)
		forward = clean
	}
	if len(boxes) == 0 && len(forward) == 0 && !errs.Has("forward") && !errs.Has("mailboxes") {
		errs.Add("mailboxes", i18n.T(ctx, "Choose a mailbox, or give a forward: an address delivers somewhere."))
	}
	if err := errs.Err(); err != nil {
		return err
	}
	name, _ := validate.String(ctx, m, "name")
	if _, nameSet := m.Name(); nameSet || old == nil {
		q := client.MailAddress.Query().Where(mailaddress.Name(name), mailaddress.DomainID(domID))
		if old != nil {
			q = q.Where(mailaddress.IDNEQ(old.ID))
		}
		taken, err := q.Exist(sys(ctx))
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "name", Message: i18n.T(ctx, "%s already exists.", display(name, d.Name))}
		}
	}
	return nil
}

// display is an address as people write it; a catch-all is @domain.
func display(name, dom string) string { return name + "@" + dom }

// checkForward cleans a forward list (trimmed, lower-case domains, no
// duplicates, a mailbox of the local domain by its name) and says what is
// wrong with it.
func checkForward(ctx context.Context, client *ent.Client, forward []string, account int, m *ent.MailAddressMutation, old *ent.MailAddress, d *ent.Domain) ([]string, string, error) {
	if len(forward) > 50 {
		return nil, i18n.T(ctx, "Give at most %d forwards.", 50), nil
	}
	name, _ := validate.String(ctx, m, "name")
	self := display(name, "")
	if d != nil {
		self = display(name, d.Name)
	}
	local := LocalDomain.Get()
	var out []string
	for _, f := range forward {
		for _, basic := range []func(context.Context, string) string{validate.NoNull, validate.ValidText} {
			if msg := basic(ctx, f); msg != "" {
				return nil, msg, nil // PostgreSQL would refuse it; no server could take it
			}
		}
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if at := strings.LastIndexByte(f, '@'); at >= 0 {
			f = f[:at] + "@" + strings.ToLower(f[at+1:])
			if local != "" && strings.EqualFold(f[at+1:], local) {
				f = f[:at] // name@local is the mailbox name
			}
		}
		if slices.Contains(out, f) {
			return nil, i18n.T(ctx, "%s is given twice.", f), nil
		}
		out = append(out, f)
		if strings.Contains(f, "@") {
			if validate.Email(f) != nil {
				return nil, i18n.T(ctx, "%s is not a valid e-mail address.", f), nil
			}
			if strings.EqualFold(f, self) {
				return nil, i18n.T(ctx, "An address cannot forward to itself."), nil
			}
			continue
		}
		b, err := client.Mailbox.Query().Where(mailbox.Name(strings.ToLower(f))).Only(sys(ctx))
		if ent.IsNotFound(err) {
			return nil, i18n.T(ctx, "%s is neither an e-mail address nor a mailbox.", f), nil
		} else if err != nil {
			return nil, "", err
		}
		if b.AccountID == account {
			return nil, i18n.T(ctx, "%s is one of your mailboxes: choose it in the mailboxes field.", f), nil
		}
		out[len(out)-1] = b.Name
	}
	return out, "", nil
}

func checkAutoresponse(ctx context.Context, m *ent.AutoresponseMutation) error {
	var errs validate.Errors
	client := m.Client()
	if m.Op().Is(ent.OpUpdate) {
		return validate.Fail("subject", i18n.T(ctx, "Change autoresponses one at a time."))
	}
	if id, ok := m.AddressID(); ok {
		if m.Op().Is(ent.OpUpdateOne) {
			errs.Add("address", i18n.T(ctx, "An autoresponse cannot move to another address."))
		} else if a, err := client.MailAddress.Query().Where(mailaddress.ID(id)).Only(ctx); ent.IsNotFound(err) {
			errs.Add("address", i18n.T(ctx, "No address with id %d.", id))
		} else if err != nil {
			return err
		} else if acc, given := m.AccountID(); given && acc != a.AccountID {
			errs.Add("address", i18n.T(ctx, "No address with id %d.", id))
		} else if a.Name == "" {
			// its answer would come from no address in particular
			errs.Add("address", i18n.T(ctx, "A catch-all has no autoresponse: choose a named address."))
		} else {
			m.SetAccountID(a.AccountID)
		}
	}
	errs.Check(ctx, m, "subject", func(s string) string { return validate.Required(ctx, s) }, func(s string) string { return validate.Length(ctx, s, 256) },
		func(s string) string {
			// it becomes the reply's Subject header: one line
			if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return i18n.T(ctx, "A subject is one line, without control characters.")
			}
			return ""
		})
	errs.Check(ctx, m, "message", func(s string) string { return validate.Required(ctx, s) })
	if d, ok := m.IntervalDays(); ok && (d < 1 || d > 365) {
		errs.Add("interval_days", i18n.T(ctx, "Enter a number of days from 1 to 365."))
	}
	start, end := m.StartsAt()
	if !end && m.Op().Is(ent.OpUpdateOne) {
		old, err := m.OldStartsAt(ctx)
		if err != nil {
			return err
		}
		if old != nil {
			start, end = *old, true
		}
	}
	finish, has := m.EndsAt()
	if !has && m.Op().Is(ent.OpUpdateOne) {
		old, err := m.OldEndsAt(ctx)
		if err != nil {
			return err
		}
		if old != nil {
			finish, has = *old, true
		}
	}
	if end && has && !finish.After(start) {
		errs.Add("ends_at", i18n.T(ctx, "The end comes after the start."))
	}
	return errs.Err()
}

// localAddress gives a new mailbox its address at the local domain, when
// that domain exists: into the mailbox when the domain is the mailbox's
// account's, else a forward to it (the original's behaviour).
func localAddress(ctx context.Context, client *ent.Client, b *ent.Mailbox) error {
	local := LocalDomain.Get()
	if local == "" {
		return nil
	}
	d, err := client.Domain.Query().Where(domain.Name(local)).Only(sys(ctx))
	if ent.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	exists, err := client.MailAddress.Query().Where(mailaddress.Name(b.Name), mailaddress.DomainID(d.ID)).Exist(sys(ctx))
	if err != nil || exists {
		return err
	}
	c := client.MailAddress.Create().SetName(b.Name).SetDomainID(d.ID).SetAccountID(d.AccountID)
	if d.AccountID == b.AccountID {
		c.AddMailboxIDs(b.ID)
	} else {
		c.SetForward([]string{b.Name})
	}
	return c.Exec(sys(ctx))
}

// forgetMailboxes takes deleted mailboxes out of every forward and deletes
// the addresses left delivering nowhere.
func forgetMailboxes(ctx context.Context, m *ent.MailboxMutation) error {
	ids, err := m.IDs(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	client := m.Client()
	names, err := client.Mailbox.Query().Where(mailbox.IDIn(ids...)).Select(mailbox.FieldName).Strings(sys(ctx))
	if err != nil {
		return err
	}
	// the addresses delivering into them or forwarding to them by name
	preds := []predicate.MailAddress{mailaddress.HasMailboxesWith(mailbox.IDIn(ids...))}
	for _, n := range names {
		preds = append(preds, func(s *sql.Selector) { s.Where(sqljson.ValueContains(mailaddress.FieldForward, n)) })
	}
	addrs, err := client.MailAddress.Query().Where(mailaddress.Or(preds...)).WithMailboxes().All(sys(ctx))
	if err != nil {
		return err
	}
	for _, a := range addrs {
		forward := slices.DeleteFunc(slices.Clone(a.Forward), func(f string) bool { return slices.Contains(names, f) })
		var left []int
		for _, b := range a.Edges.Mailboxes {
			if !slices.Contains(ids, b.ID) {
				left = append(left, b.ID)
			}
		}
		switch {
		case len(forward) == len(a.Forward) && len(left) == len(a.Edges.Mailboxes):
		case len(forward) == 0 && len(left) == 0:
			err = client.MailAddress.DeleteOneID(a.ID).Exec(sys(ctx))
		case len(forward) != len(a.Forward):
			err = client.MailAddress.UpdateOneID(a.ID).SetForward(forward).Exec(sys(ctx))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
