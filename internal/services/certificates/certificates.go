// Package certificates is the certificates service: TLS certificates of an
// account's names, uploaded or obtained and renewed by the panel over ACME
// (lego), proving names over HTTP-01 (through the web servers of the sites
// serving them) or DNS-01 (through the panel's own zones, wildcards
// included). The web servers of the sites whose SSL directive picks a
// certificate present it (package web's site backends), and so do the mail
// servers whose host name it covers (mailtls.go).
//
// A certificate's private key is sealed at rest (internal/sealed): never in
// an answer, the history, a snapshot, a stored script or an alert.
package certificates

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/certificate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/websitedirective"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Sources of a certificate.
const (
	HTTP01 = "http-01"
	DNS01  = "dns-01"
	Upload = "upload"
)

// States of a certificate.
const (
	Pending  = "pending"  // ordered, never issued yet
	Valid    = "valid"    // issued or uploaded, in its dates
	Renewing = "renewing" // a new one is being ordered; the current one serves
	Failed   = "failed"   // the last order failed (last_error); any current one serves
	Expired  = "expired"  // its date is past
)

// keyTypes are the keys ACME orders make.
var keyTypes = []string{"ec256", "ec384", "rsa2048", "rsa3072", "rsa4096"}

// Settings of the certificates service.
var (
	Directory = settings.String("CERTIFICATES_ACME_DIRECTORY", "https://acme-v02.api.letsencrypt.org/directory",
		"The ACME directory the panel orders certificates from (Let's Encrypt's by default); the panel has one account there.")
	Email = settings.String("CERTIFICATES_ACME_EMAIL", "",
		"The e-mail address of the panel's ACME account, where the CA writes about it; empty for none.")
	CAFile = settings.String("CERTIFICATES_ACME_CA_FILE", "",
		"A PEM file of the roots the ACME directory's own certificate is checked against (a private CA); empty: the system's.")
	KeyType = settings.String("CERTIFICATES_KEY_TYPE", "ec256",
		"The key of a certificate the panel orders, unless it says otherwise: ec256, ec384, rsa2048, rsa3072 or rsa4096.",
		settings.Choices(keyTypes...))
	RenewBefore = settings.Duration("CERTIFICATES_RENEW_BEFORE", 30*24*time.Hour,
		"How long before it expires an automatically renewed certificate is ordered again.")
	AlertBefore = settings.Duration("CERTIFICATES_ALERT_BEFORE", 14*24*time.Hour,
		"Staff (MAIL_ADMINS) are told, once a day, of every certificate that expires within this time.")
	Concurrency = settings.Int("CERTIFICATES_CONCURRENCY", 4,
		"How many ACME orders a panel runs at once.", settings.Validator(func(v any) error {
			if n := v.(int); n < 1 || n > 256 {
				return errors.New("must be from 1 to 256")
			}
			return nil
		}))
	PollInterval = settings.Duration("CERTIFICATES_POLL_INTERVAL", time.Minute,
		"How often a panel looks for certificates to order, renew or report, besides when one changes.")
	DNSTimeout = settings.Duration("CERTIFICATES_DNS_TIMEOUT", 2*time.Minute,
		"How long a DNS-01 order waits for every server of the zone to answer with its challenge record.")
	DNSPort = settings.Int("CERTIFICATES_DNS_PORT", 53,
		"The port the panel asks a zone's servers on (at each server's address) whether a DNS-01 record is live.")
)

func sys(ctx context.Context) context.Context { return viewer.System(ctx, viewer.ChannelSystem) }

// issuing marks the writes of the panel's own orders: they set the chain
// and the sealed key, which the rules for what a customer sends skip.
type issuing struct{}

func issued(ctx context.Context) context.Context { return context.WithValue(sys(ctx), issuing{}, true) }

func init() {
	store.RegisterHook("Certificate", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.CertificateFunc(func(ctx context.Context, m *ent.CertificateMutation) (ent.Value, error) {
			if ctx.Value(issuing{}) == nil {
				if err := check(ctx, m); err != nil {
					return nil, err
				}
			}
			v, err := next.Mutate(ctx, m)
			if err == nil {
				if at, ok := m.NextAttemptAt(); ok && !at.IsZero() {
					kickOnCommit(ctx)
				}
			}
			return v, err
		})
	})
	// a certificate a site presents stays until the site picks another
	store.RegisterHook("Certificate", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.CertificateFunc(func(ctx context.Context, m *ent.CertificateMutation) (ent.Value, error) {
			if ctx.Value(issuing{}) == nil {
				if err := inUse(ctx, m); err != nil {
					return nil, err
				}
			}
			return next.Mutate(ctx, m)
		})
	})
	automatic()
}

// check holds the rules of what a customer or staff send: names of the
// account's, a source that can prove them, and for an upload a chain and
// key that match those names and are in their dates.
func check(ctx context.Context, m *ent.CertificateMutation) error {
	if m.Op().Is(ent.OpUpdate) {
		for _, f := range m.Fields() {
			if f != "updated_at" && f != "version" && f != "next_attempt_at" {
				return validate.Fail(f, i18n.T(ctx, "Change certificates one at a time."))
			}
		}
		return nil
	}
	validate.TrimFields(m, "source", "key_type")
	var errs validate.Errors
	if _, ok := m.Names(); ok { // they follow the domains (or an upload's own)
		errs.Add("domains", i18n.T(ctx, "Give the certificate's domains; its names are theirs."))
		return errs.Err()
	}
	create := m.Op().Is(ent.OpCreate)
	if create {
		if err := validate.Owner(ctx, m, &errs); err != nil {
			return err
		}
	}
	source, _ := validate.String(ctx, m, "source")
	if s, ok := m.Source(); ok && !create {
		if old, _ := m.OldSource(ctx); old != s {
			errs.Add("source", i18n.T(ctx, "A certificate keeps its source. Add a new one instead."))
		}
	}
	if !slices.Contains([]string{HTTP01, DNS01, Upload}, source) {
		errs.Add("source", i18n.T(ctx, "Choose one of: %s.", strings.Join([]string{HTTP01, DNS01, Upload}, ", ")))
		return errs.Err()
	}
	acc, _ := validate.Value(ctx, m, "account_id")
	accID, _ := acc.(int)
	var names []string
	doms, namesSet := m.Domains()
	if namesSet {
		var err error
		if names, err = domainNames(ctx, m.Client(), accID, doms, &errs); err != nil {
			return err
		}
		m.SetNames(names)
	} else if !create {
		names, _ = m.OldNames(ctx)
	}
	if kt, ok := m.KeyType(); ok && kt == "" && create {
		m.SetKeyType(KeyType.Get())
	} else if ok && source != Upload && !slices.Contains(keyTypes, kt) {
		errs.Add("key_type", i18n.T(ctx, "Choose one of: %s.", strings.Join(keyTypes, ", ")))
	}
	chainText, chainSet := m.Certificate()
	keyText, keySet := m.PrivateKey()
	if source != Upload {
		if chainSet && chainText != "" {
			errs.Add("certificate", i18n.T(ctx, "The panel obtains this certificate itself: send none, or choose the source upload."))
		}
		if keySet && keyText != "" {
			errs.Add("private_key", i18n.T(ctx, "The panel obtains this certificate itself: send no key, or choose the source upload."))
		}
		if create {
			if _, ok := m.KeyType(); !ok {
				m.SetKeyType(KeyType.Get())
			}
		}
		if len(names) == 0 {
			errs.Add("domains", i18n.T(ctx, "Give the domains the certificate is for."))
		}
		if source == HTTP01 && slices.ContainsFunc(names, isWildcard) {
			errs.Add("domains", i18n.T(ctx, "Wildcard names are proven over DNS-01 only: choose the source dns-01."))
		}
	} else {
		uploadRules(ctx, m, &errs, &names, namesSet, create, chainText, chainSet, keyText, keySet)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if err := ownNames(ctx, m, accID, names, &errs); err != nil {
		return err
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if len(names) > 0 {
		m.SetName(names[0])
	}
	// what is ordered again: a new ACME certificate, or one whose names changed
	if source != Upload && (create || namesSet) {
		now := time.Now()
		m.SetNextAttemptAt(now)
		m.SetFailures(0)
		state := Pending
		if !create {
			if old, _ := m.OldCertificate(ctx); old != "" {
				state = Renewing
			}
		}
		m.SetState(state)
	}
	return nil
}

// uploadRules check an uploaded chain and key, seal the key and set what
// the chain says (dates, issuer, key type, names when none were given).
func uploadRules(ctx context.Context, m *ent.CertificateMutation, errs *validate.Errors, names *[]string, namesSet, create bool,
	chainText string, chainSet bool, keyText string, keySet bool) {
	if create && (!chainSet || strings.TrimSpace(chainText) == "") {
		errs.Add("certificate", i18n.T(ctx, "This field is required."))
	}
	if create && (!keySet || strings.TrimSpace(keyText) == "") {
		errs.Add("private_key", i18n.T(ctx, "This field is required."))
	}
	if !create && chainSet != keySet {
		errs.Add("certificate", i18n.T(ctx, "Send a new certificate together with its private key."))
	}
	var chain *chainInfo
	if chainSet && strings.TrimSpace(chainText) != "" {
		chain = parseChain(ctx, chainText, "certificate", errs)
	} else if !create {
		old, _ := m.OldCertificate(ctx)
		chain = parseChain(ctx, old, "certificate", errs)
	}
	if chain == nil {
		return
	}
	if chainSet {
		chain.checkDates(ctx, time.Now(), "certificate", errs)
	}
	if keySet && strings.TrimSpace(keyText) != "" {
		if key := parseKey(ctx, keyText, errs); key != nil {
			if !matches(chain.leaf, key) {
				errs.Add("private_key", i18n.T(ctx, "This key does not match the certificate."))
			} else if seal, err := sealed.Seal(web.CertificateKeyPurpose, []byte(keyText)); err != nil {
				errs.Add("private_key", err.Error())
			} else {
				m.SetPrivateKey(seal)
			}
		}
	}
	if create && len(*names) == 0 { // none given: the certificate's
		*names = cleanNames(chain.names)
		m.SetNames(*names)
	}
	if len(*names) == 0 {
		errs.Add("certificate", i18n.T(ctx, "The certificate names no domain (DNS names)."))
	}
	for _, n := range *names {
		if !chain.covers(n) {
			errs.Add("domains", i18n.T(ctx, "The certificate is not for %s.", n))
			break
		}
	}
	if chainSet {
		m.SetCertificate(strings.TrimSpace(chainText) + "\n")
		m.SetNotBefore(chain.notBefore)
		m.SetNotAfter(chain.notAfter)
		m.SetIssuer(chain.issuer)
		m.SetKeyType(chain.keyType)
		m.SetState(Valid)
		m.SetLastError("")
		m.SetAutoRenew(false)
	}
}

// hostName is a DNS name a certificate may be for: lower case, a wildcard
// only as its first label.
var hostName = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func isWildcard(n string) bool { return strings.HasPrefix(n, "*.") }

// cleanNames trims, lower-cases and drops repeats, keeping the order.
func cleanNames(in []string) []string {
	out := make([]string, 0, len(in))
	for _, n := range in {
		n = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// ownNames checks that every name is one of the account's domains, or a
// wildcard of one, and gives a certificate without domains (an upload
// naming its own) those with its names.
func ownNames(ctx context.Context, m *ent.CertificateMutation, acc int, names []string, errs *validate.Errors) error {
	if len(names) > 100 {
		errs.Add("domains", i18n.T(ctx, "A certificate is for at most 100 names."))
		return nil
	}
	var want []string
	for _, n := range names {
		if len(n) > 253 || !hostName.MatchString(n) {
			errs.Add("domains", i18n.T(ctx, "%q is not a host name (a wildcard *. only in front).", n))
			return nil
		}
		want = append(want, n, strings.TrimPrefix(n, "*."))
	}
	have, err := m.Client().Domain.Query().Where(domain.AccountID(acc), domain.NameIn(want...)).All(sys(ctx))
	if err != nil {
		return err
	}
	byName := map[string]int{}
	for _, d := range have {
		byName[d.Name] = d.ID
	}
	var ids []int
	for _, n := range names {
		id, ok := byName[n]
		if !ok {
			id, ok = byName[strings.TrimPrefix(n, "*.")]
		}
		if !ok {
			errs.Add("domains", i18n.T(ctx, "%s is not a domain of the account: add it to its domains first.", n))
			return nil
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if _, set := m.Domains(); !set {
		if old, _ := m.OldDomains(ctx); len(old) == 0 || m.Op().Is(ent.OpCreate) {
			m.SetDomains(ids)
		}
	}
	return nil
}

// domainNames are the names of domains ids, in their order: the
// account's own (another account's is missing).
func domainNames(ctx context.Context, client *ent.Client, acc int, ids []int, errs *validate.Errors) ([]string, error) {
	doms, err := client.Domain.Query().Where(domain.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int]*ent.Domain{}
	for _, d := range doms {
		byID[d.ID] = d
	}
	var names []string
	for _, id := range ids {
		d := byID[id]
		if d == nil || d.AccountID != acc {
			errs.Add("domains", i18n.T(ctx, "No domain %d of the account.", id))
			return nil, nil
		}
		names = append(names, d.Name)
	}
	return cleanNames(names), nil
}

// inUse refuses to delete a certificate a website's SSL directive picks.
func inUse(ctx context.Context, m *ent.CertificateMutation) error {
	ids, err := m.IDs(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	accs, err := m.Client().Certificate.Query().Where(certificate.IDIn(ids...)).Unique(true).
		Select(certificate.FieldAccountID).Ints(sys(ctx))
	if err != nil {
		return err
	}
	dirs, err := m.Client().WebsiteDirective.Query().Where(websitedirective.Type(web.DirSSL),
		websitedirective.AccountIDIn(accs...)).WithWebsite().All(sys(ctx))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if cert, _ := web.SSLPick(d); slices.Contains(ids, cert) && d.Edges.Website != nil {
			return &validate.Conflict{Field: "id", Message: i18n.T(ctx, "Website %s presents this certificate: pick another in its SSL directive first.", d.Edges.Website.Name)}
		}
	}
	return nil
}
