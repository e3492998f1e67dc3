package mail

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/dkimkey"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailaddress"
	"github.com/orchestra-panel/orchestra/internal/store/ent/record"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// DKIM, SPF and DMARC, for every write path:
//   - a mail domain gets a DKIM key (RSA 2048, its private half sealed)
//     with its first address, in the same transaction, and the key's TXT
//     record SELECTOR._domainkey.DOMAIN in the domain's zone through the
//     DNS service; with its first key ever, the SPF and DMARC records of
//     the settings, unless it has its own;
//   - a rotation retires the active key (it no longer signs) and makes
//     the next; a retired key and its record are deleted
//     MAILBOXES_DKIM_RETIRED_DAYS later by a periodic job;
//   - keys are the panel's: customers see theirs, only staff rotate or
//     delete one; a deleted key takes its record along.

// Settings of DKIM, SPF and DMARC.
var (
	SPFRecord = settings.String("MAILBOXES_SPF_RECORD", "v=spf1 mx ~all",
		"SPF record (TXT) a mail domain gets with its first address, unless it has one (v=spf1) already; empty for none.",
		settings.Validator(policyCheck("v=spf1")))
	DMARCRecord = settings.String("MAILBOXES_DMARC_RECORD", "v=DMARC1; p=none",
		"DMARC record (TXT at _dmarc.DOMAIN) a mail domain gets with its first address, unless it or a parent domain has a _dmarc name already; empty for none.",
		settings.Validator(policyCheck("v=DMARC1")))
	DKIMRetiredDays = settings.Int("MAILBOXES_DKIM_RETIRED_DAYS", 7,
		"Days a rotated DKIM key's record stays published after the key stops signing, for mail still on its way; then the key and its record are deleted.",
		settings.Validator(func(v any) error {
			if n := v.(int); n < 0 || n > 3650 {
				return errors.New("must be from 0 to 3650")
			}
			return nil
		}))
)

// policyCheck accepts empty, or a TXT text starting with prefix.
func policyCheck(prefix string) func(any) error {
	return func(v any) error {
		s := strings.TrimSpace(v.(string))
		switch {
		case s == "":
			return nil
		case !hasTag(s, prefix):
			return fmt.Errorf("must start with %s (or be empty for none)", prefix)
		case len(s) > 4000 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			return errors.New("must be one line of at most 4000 bytes")
		}
		return nil
	}
}

// hasTag tells whether a TXT text starts with tag (v=spf1, v=DMARC1), as
// a whole word and in any case.
func hasTag(text, tag string) bool {
	text = strings.TrimSpace(text)
	if len(text) < len(tag) || !strings.EqualFold(text[:len(tag)], tag) {
		return false
	}
	rest := text[len(tag):]
	return rest == "" || rest[0] == ' ' || rest[0] == ';' || rest[0] == '\t'
}

// dkimPurpose is what a DKIM key's private half is sealed for.
const dkimPurpose = "DKIMKey.private_key"

// mailHost is a domain name DKIM keys and policies are made for: host
// names only (no wildcard, no service name with _), so that a key's file
// name is DOMAIN.SELECTOR.key and never a path.
var mailHost = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)

// selectorName is a selector the panel makes: o and the date, then -N.
var selectorName = regexp.MustCompile(`^o[0-9]{8}(-[0-9]{1,3})?$`)

// maxSelector is the longest selector with ._domainkey.: a domain longer
// than 253 less this gets no key (its record's name would be too long).
const maxSelector = len("o20060102-999._domainkey.")

func init() {
	store.RegisterHook("MailAddress", ent.OpCreate, func(next ent.Mutator) ent.Mutator {
		return hook.MailAddressFunc(func(ctx context.Context, m *ent.MailAddressMutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			return v, domainKey(ctx, m.Client(), v.(*ent.MailAddress).DomainID)
		})
	})
	// keys are the panel's: made with a domain's first address (as the
	// system), rotated and deleted by staff
	store.RegisterHook("DKIMKey", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if v, _ := viewer.From(ctx); !v.Unrestricted() {
				return nil, &authz.Forbidden{Message: i18n.M("DKIM keys are made by the panel; only staff may rotate or delete one.")}
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("DKIMKey", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.DKIMKeyFunc(func(ctx context.Context, m *ent.DKIMKeyMutation) (ent.Value, error) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			keys, err := m.Client().DKIMKey.Query().Where(dkimkey.IDIn(ids...)).All(sys(ctx))
			if err != nil {
				return nil, err
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			return v, unpublish(ctx, m.Client(), keys)
		})
	})
	// a deleted domain's keys go first, so that their records go too
	// (a subdomain's key's record is in its top's zone, which stays)
	store.RegisterHook("Domain", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.DomainFunc(func(ctx context.Context, m *ent.DomainMutation) (ent.Value, error) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			if len(ids) > 0 {
				if _, err := m.Client().DKIMKey.Delete().Where(dkimkey.DomainIDIn(ids...)).Exec(sys(ctx)); err != nil {
					return nil, err
				}
			}
			return next.Mutate(ctx, m)
		})
	})
	jobs.RegisterPeriodic(jobs.Periodic{Name: "mail.dkim-retired", Every: time.Hour,
		Run: func(ctx context.Context, st *store.Store) error {
			_, err := DeleteRetiredKeys(ctx, st, time.Now())
			return err
		}})
}

// keyedTxs maps a transaction to the domains it gave a key already (or
// found one): ten thousand addresses of a domain in one write look once.
var keyedTxs sync.Map // *ent.Tx → *keyedDomains

type keyedDomains struct {
	mu  sync.Mutex
	ids map[int]bool
}

// keyedIn is the set of ctx's transaction (nil outside one).
func keyedIn(ctx context.Context) *keyedDomains {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		return nil
	}
	k, loaded := keyedTxs.LoadOrStore(tx, &keyedDomains{ids: map[int]bool{}})
	if !loaded {
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(c context.Context, tx *ent.Tx) error {
				keyedTxs.Delete(tx)
				return next.Commit(c, tx)
			})
		})
		tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
			return ent.RollbackFunc(func(c context.Context, tx *ent.Tx) error {
				keyedTxs.Delete(tx)
				return next.Rollback(c, tx)
			})
		})
	}
	return k.(*keyedDomains)
}

// domainKey gives domain id a DKIM key when it has no active one, and,
// when it never had one, the SPF and DMARC records of the settings.
func domainKey(ctx context.Context, client *ent.Client, id int) error {
	if k := keyedIn(ctx); k != nil {
		k.mu.Lock()
		done := k.ids[id]
		k.ids[id] = true
		k.mu.Unlock()
		if done {
			return nil
		}
	}
	// a write in flight beside this one may be making the domain's key
	if err := store.Serialize(ctx, client, "mail.dkim", id); err != nil {
		return err
	}
	d, err := client.Domain.Get(sys(ctx), id)
	if err != nil {
		return err
	}
	if !mailHost.MatchString(d.Name) || len(d.Name) > 253-maxSelector {
		return nil // no key can be named for it
	}
	keys, err := client.DKIMKey.Query().Where(dkimkey.DomainID(id)).All(sys(ctx))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.RetiredAt == nil {
			return nil
		}
	}
	if len(keys) == 0 {
		if err := publishPolicies(ctx, client, d); err != nil {
			return err
		}
	}
	_, err = newKey(sys(ctx), client, d, time.Now())
	return err
}

// RotateKey makes domain id a new DKIM key that signs from now on and
// retires the one that did, whose record stays published until it is
// deleted. ctx's viewer is the one who asked (staff).
func RotateKey(ctx context.Context, client *ent.Client, id int) (*ent.DKIMKey, error) {
	d, err := client.Domain.Get(sys(ctx), id)
	if err != nil {
		return nil, err
	}
	if !mailHost.MatchString(d.Name) || len(d.Name) > 253-maxSelector {
		return nil, fmt.Errorf("mail: %s cannot have a DKIM key", d.Name) // none was ever made
	}
	now := time.Now()
	if err := client.DKIMKey.Update().Where(dkimkey.DomainID(id), dkimkey.RetiredAtIsNil()).SetRetiredAt(now).Exec(ctx); err != nil {
		return nil, err
	}
	return newKey(ctx, client, d, now)
}

// newKey makes and publishes a key for d.
func newKey(ctx context.Context, client *ent.Client, d *ent.Domain, now time.Time) (*ent.DKIMKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	pub := base64.StdEncoding.EncodeToString(der)
	seal, err := sealed.Seal(dkimPurpose, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}))
	if err != nil {
		return nil, err
	}
	selector, err := freeSelector(ctx, client, d, now)
	if err != nil {
		return nil, err
	}
	name := selector + "._domainkey." + d.Name
	sub, err := client.Domain.Create().SetName(name).SetAccountID(d.AccountID).Save(sys(ctx))
	if err != nil {
		return nil, err
	}
	rec, err := client.Record.Create().SetDomainID(sub.ID).SetAccountID(d.AccountID).SetType("TXT").
		SetValue(DKIMRecord(pub)).Save(sys(ctx))
	if err != nil {
		return nil, err
	}
	return client.DKIMKey.Create().SetDomainID(d.ID).SetAccountID(d.AccountID).SetSelector(selector).SetName(name).
		SetPrivateKey(seal).SetPublicKey(pub).SetRecordID(rec.ID).Save(ctx)
}

// DKIMRecord is the text of a key's TXT record.
func DKIMRecord(publicKey string) string { return "v=DKIM1; k=rsa; p=" + publicKey }

// freeSelector is the first of oYYYYMMDD, oYYYYMMDD-2… that neither a key
// of d nor a domain (a record's name) has.
func freeSelector(ctx context.Context, client *ent.Client, d *ent.Domain, now time.Time) (string, error) {
	base := "o" + now.UTC().Format("20060102")
	taken, err := client.DKIMKey.Query().Where(dkimkey.DomainID(d.ID), dkimkey.SelectorHasPrefix(base)).
		Select(dkimkey.FieldSelector).Strings(sys(ctx))
	if err != nil {
		return "", err
	}
	names, err := client.Domain.Query().Where(domain.NameHasPrefix(base), domain.NameHasSuffix("._domainkey."+d.Name)).
		Select(domain.FieldName).Strings(sys(ctx))
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, s := range taken {
		used[s] = true
	}
	for _, n := range names {
		used[strings.TrimSuffix(n, "._domainkey."+d.Name)] = true
	}
	for i := 1; i <= 999; i++ {
		s := base
		if i > 1 {
			s += "-" + strconv.Itoa(i)
		}
		if !used[s] {
			return s, nil
		}
	}
	return "", errors.New("mail: no free DKIM selector today")
}

// publishPolicies adds d's SPF and DMARC records from the settings, where
// d has none of its own: no SPF record (v=spf1) at its name, no _dmarc
// name at it or a parent domain (whose policy a subdomain's mail follows).
func publishPolicies(ctx context.Context, client *ent.Client, d *ent.Domain) error {
	if spf := strings.TrimSpace(SPFRecord.Get()); spf != "" {
		recs, err := client.Record.Query().Where(record.DomainID(d.ID), record.TypeIn("TXT", "CNAME")).All(sys(ctx))
		if err != nil {
			return err
		}
		has := false
		for _, r := range recs {
			has = has || r.Type == "CNAME" || hasTag(r.Value, "v=spf1")
		}
		if !has {
			err := client.Record.Create().SetDomainID(d.ID).SetAccountID(d.AccountID).SetType("TXT").SetValue(spf).Exec(sys(ctx))
			if err != nil {
				return err
			}
		}
	}
	dmarc := strings.TrimSpace(DMARCRecord.Get())
	if dmarc == "" || len(d.Name) > 253-len("_dmarc.") {
		return nil
	}
	var names []string
	for n := d.Name; strings.Contains(n, "."); _, n, _ = strings.Cut(n, ".") {
		names = append(names, "_dmarc."+n)
	}
	has, err := client.Domain.Query().Where(domain.NameIn(names...)).Exist(sys(ctx))
	if err != nil || has {
		return err
	}
	sub, err := client.Domain.Create().SetName("_dmarc." + d.Name).SetAccountID(d.AccountID).Save(sys(ctx))
	if err != nil {
		return err
	}
	return client.Record.Create().SetDomainID(sub.ID).SetAccountID(d.AccountID).SetType("TXT").SetValue(dmarc).Exec(sys(ctx))
}

// unpublish deletes the records of deleted keys, and their names when
// nothing else is there.
func unpublish(ctx context.Context, client *ent.Client, keys []*ent.DKIMKey) error {
	for _, k := range keys {
		if k.RecordID != nil {
			if err := client.Record.DeleteOneID(*k.RecordID).Exec(sys(ctx)); err != nil && !ent.IsNotFound(err) {
				return err
			}
		}
		sub, err := client.Domain.Query().Where(domain.Name(k.Name)).Only(sys(ctx))
		if ent.IsNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		used, err := client.Record.Query().Where(record.DomainID(sub.ID)).Exist(sys(ctx))
		if err != nil {
			return err
		}
		if !used {
			used, err = client.MailAddress.Query().Where(mailaddress.DomainID(sub.ID)).Exist(sys(ctx))
			if err != nil {
				return err
			}
		}
		if !used {
			if err := client.Domain.DeleteOneID(sub.ID).Exec(sys(ctx)); err != nil && !ent.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// DeleteRetiredKeys deletes the keys retired MAILBOXES_DKIM_RETIRED_DAYS
// or more before now, and their records; it returns how many.
func DeleteRetiredKeys(ctx context.Context, st *store.Store, now time.Time) (int, error) {
	cutoff := now.Add(-time.Duration(DKIMRetiredDays.Get()) * 24 * time.Hour)
	var n int
	err := st.Tx(sys(ctx), func(ctx context.Context, tx *ent.Tx) (err error) {
		n, err = tx.DKIMKey.Delete().Where(dkimkey.RetiredAtNotNil(), dkimkey.RetiredAtLTE(cutoff)).Exec(ctx)
		return err
	})
	return n, err
}

// openKey is a key's private half, PEM.
func openKey(sealedKey string) (string, error) {
	b, err := sealed.Open(dkimPurpose, sealedKey)
	return string(b), err
}
