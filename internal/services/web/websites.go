package web

import (
	"context"
	"path"
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
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/webapp"
	"github.com/orchestra-panel/orchestra/internal/store/ent/website"
	"github.com/orchestra-panel/orchestra/internal/store/ent/websitecontent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/websitedirective"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// The rules of websites and their contents, for every write path:
//   - a website's name is unique per account and never changes; its
//     protocol is one of WEBSITES_PROTOCOLS;
//   - its domains are domains of its account, at least one of them not a
//     wildcard; two active websites share a domain only on ports that do
//     not overlap (http: 80, https: 443, http/https and https-only: both),
//     the original's validate_domain_protocol; an inactive website is not
//     served and takes no port, so a new site can be prepared beside the
//     one it replaces;
//   - a deleted domain leaves the websites that served it;
//   - a content mounts a web app of the website's account at a URL path,
//     normalised (a leading /, no trailing / but the root's; empty is /),
//     unique per website and not a location a redirect or proxy takes.

func init() {
	store.RegisterHook("Website", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.WebsiteFunc(func(ctx context.Context, m *ent.WebsiteMutation) (ent.Value, error) {
			if err := checkWebsite(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("WebsiteContent", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.WebsiteContentFunc(func(ctx context.Context, m *ent.WebsiteContentMutation) (ent.Value, error) {
			if err := checkContent(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("Domain", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.DomainFunc(func(ctx context.Context, m *ent.DomainMutation) (ent.Value, error) {
			if err := forgetDomains(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

// ports are those a protocol listens on.
func ports(protocol string) []int {
	switch protocol {
	case HTTP:
		return []int{80}
	case HTTPS:
		return []int{443}
	}
	return []int{80, 443}
}

// servingAny is the predicate of websites serving one of ids.
func servingAny(ids []int) predicate.Website {
	var preds []predicate.Website
	for _, id := range ids {
		preds = append(preds, func(s *sql.Selector) { s.Where(sqljson.ValueContains(website.FieldDomains, id)) })
	}
	return website.Or(preds...)
}

func checkWebsite(ctx context.Context, m *ent.WebsiteMutation) error {
	if err := oneAtATime(ctx, m, "websites"); err != nil || m.Op().Is(ent.OpUpdate) {
		return err
	}
	validate.TrimFields(m, "name", "protocol")
	var errs validate.Errors
	errs.Check(ctx, m, "name", nameRule(ctx))
	kept(ctx, m, &errs, "name", "name", i18n.T(ctx, "A website keeps its name. Add a new one instead."))
	kept(ctx, m, &errs, "account_id", "account", i18n.T(ctx, "A website cannot move to another account."))
	if p, _ := m.Protocol(); p == "" && m.Op().Is(ent.OpCreate) {
		m.SetProtocol(DefaultProtocol.Get())
	}
	errs.Check(ctx, m, "protocol", func(s string) string {
		if !slices.Contains(OfferedProtocols.Get(), s) {
			return i18n.T(ctx, "Select a valid choice: %q is not one of %s.", s, strings.Join(OfferedProtocols.Get(), ", "))
		}
		return ""
	})
	protocol, _ := validate.String(ctx, m, "protocol")
	var self int
	acc, accSet := m.AccountID()
	if m.Op().Is(ent.OpUpdateOne) {
		self, _ = m.ID()
		var err error
		if acc, err = m.OldAccountID(ctx); err != nil {
			return err
		}
		accSet = true
	}
	_, domainsSent := m.Domains()
	v, _ := validate.Value(ctx, m, "domains")
	ids, _ := v.([]int)
	var clean []int
	for _, id := range ids {
		if !slices.Contains(clean, id) {
			clean = append(clean, id)
		}
	}
	if domainsSent && !slices.Equal(clean, ids) {
		m.SetDomains(clean)
	}
	var doms []*ent.Domain
	if forgot, _ := ctx.Value(forgetting{}).(bool); forgot {
		return nil // domains taken off: nothing can clash that did not
	}
	if domainsSent || m.Op().Is(ent.OpCreate) {
		// the viewer's (a customer's own) domains: another's looks missing
		found, err := m.Client().Domain.Query().Where(domain.IDIn(clean...)).All(ctx)
		if err != nil {
			return err
		}
		for _, id := range clean {
			i := slices.IndexFunc(found, func(d *ent.Domain) bool { return d.ID == id })
			switch {
			case i < 0:
				errs.Add("domains", i18n.T(ctx, "No domain with id %d.", id))
			case !accSet || acc == 0:
				acc, accSet = found[i].AccountID, true
				m.SetAccountID(acc)
				doms = append(doms, found[i])
			case found[i].AccountID != acc:
				errs.Add("domains", i18n.T(ctx, "No domain with id %d.", id))
			default:
				doms = append(doms, found[i])
			}
			if errs.Has("domains") {
				break
			}
		}
		for _, d := range doms {
			if !errs.Has("domains") && !HostName(d.Name) {
				errs.Add("domains", i18n.T(ctx, "%s is no host name a website may serve (a label starts with _: it is there for mail or DNS).", d.Name))
			}
		}
		if !errs.Has("domains") && !slices.ContainsFunc(doms, func(d *ent.Domain) bool { return !strings.HasPrefix(d.Name, "*.") }) {
			errs.Add("domains", i18n.T(ctx, "Choose at least one domain that is not a wildcard (*.example.com): it names the site."))
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	// the clash of domains and protocols of active websites, when one of
	// them changes
	active := true
	if v, ok := validate.Value(ctx, m, "is_active"); ok {
		active, _ = v.(bool)
	}
	_, protoSent := m.Protocol()
	_, activeSent := m.IsActive()
	if (domainsSent || protoSent || activeSent || m.Op().Is(ent.OpCreate)) && active && len(clean) > 0 {
		others, err := m.Client().Website.Query().Where(servingAny(clean), website.IDNEQ(self), website.IsActive(true)).All(sys(ctx))
		if err != nil {
			return err
		}
		for _, o := range others {
			if !slices.ContainsFunc(ports(o.Protocol), func(p int) bool { return slices.Contains(ports(protocol), p) }) {
				continue
			}
			for _, id := range clean {
				if slices.Contains(o.Domains, id) {
					name := domainName(ctx, m.Client(), doms, id)
					errs.Add("domains", i18n.T(ctx, "The website %s serves %s over %s already: choose another protocol or domain.", o.Name, name, o.Protocol))
					break
				}
			}
			if errs.Has("domains") {
				break
			}
		}
		if err := errs.Err(); err != nil {
			return err
		}
	}
	if m.Op().Is(ent.OpCreate) {
		name, _ := m.Name()
		taken, err := m.Client().Website.Query().Where(website.Name(name), website.AccountID(acc)).Exist(sys(ctx))
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "name", Message: i18n.T(ctx, "The account has a website named %s already.", name)}
		}
	}
	return nil
}

// HostName says whether a domain's name may name a website: no label of
// it starts with _ (_dmarc, a DKIM key's selector._domainkey).
func HostName(name string) bool {
	return !strings.HasPrefix(name, "_") && !strings.Contains(name, "._")
}

func domainName(ctx context.Context, client *ent.Client, doms []*ent.Domain, id int) string {
	for _, d := range doms {
		if d.ID == id {
			return d.Name
		}
	}
	if d, err := client.Domain.Get(sys(ctx), id); err == nil {
		return d.Name
	}
	return ""
}

// forgetting marks the writes of forgetDomains.
type forgetting struct{}

// forgetDomains takes deleted domains (and the subdomains that go with
// them) off the websites that serve them, as the original's many-to-many
// did: the websites are applied again without them. A website left with
// no name is kept, and is served nowhere until it gets a domain again.
func forgetDomains(ctx context.Context, m *ent.DomainMutation) error {
	ids, err := m.IDs(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	// the viewer's own: another account's domain answers as a missing one
	if ids, err = m.Client().Domain.Query().Where(domain.IDIn(ids...)).IDs(ctx); err != nil || len(ids) == 0 {
		return err
	}
	subs, err := m.Client().Domain.Query().Where(domain.TopIDIn(ids...)).IDs(sys(ctx))
	if err != nil {
		return err
	}
	gone := append(ids, subs...)
	sites, err := m.Client().Website.Query().Where(servingAny(gone)).All(sys(ctx))
	if err != nil {
		return err
	}
	for _, s := range sites {
		left := slices.DeleteFunc(slices.Clone(s.Domains), func(id int) bool { return slices.Contains(gone, id) })
		if err := m.Client().Website.UpdateOne(s).SetDomains(left).Exec(context.WithValue(ctx, forgetting{}, true)); err != nil {
			return err
		}
	}
	return nil
}

// urlPathRe is the original's validate_url_path.
var urlPathRe = regexp.MustCompile(`^/[/.a-zA-Z0-9_-]*$`)

// normalPath is a URL path as contents and directives keep it: a leading
// /, no trailing / but the root's, empty is /.
func normalPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	return p
}

// pathProblem says what is wrong with a normalised URL path, or "".
func pathProblem(ctx context.Context, p string) string {
	if len(p) > 256 {
		return i18n.T(ctx, "Ensure this value has at most %d characters.", 256)
	}
	if !urlPathRe.MatchString(p) || path.Clean(p) != p {
		return i18n.T(ctx, "Enter a URL path such as /blog: letters, digits and . _ - between slashes, without . or .. parts.")
	}
	return ""
}

// siteOf checks the website of a new content or directive: one the viewer
// sees (a customer's own), of the account given if one is; the object takes
// its account. An object never moves to another website.
func siteOf(ctx context.Context, m interface {
	ent.Mutation
	Client() *ent.Client
	WebsiteID() (int, bool)
	AccountID() (int, bool)
	SetAccountID(int)
}, errs *validate.Errors) (*ent.Website, error) {
	id, set := m.WebsiteID()
	if !m.Op().Is(ent.OpCreate) {
		kept(ctx, m, errs, "website_id", "website", i18n.T(ctx, "It cannot move to another website."))
		v, err := m.OldField(ctx, "website_id")
		if err != nil {
			return nil, err
		}
		id = v.(int)
	} else if !set {
		return nil, nil
	}
	s, err := m.Client().Website.Get(ctx, id)
	if acc, given := m.AccountID(); ent.IsNotFound(err) || err == nil && given && acc != s.AccountID && m.Op().Is(ent.OpCreate) {
		errs.Add("website", i18n.T(ctx, "No website with id %d.", id))
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if m.Op().Is(ent.OpCreate) {
		m.SetAccountID(s.AccountID)
	}
	return s, nil
}

func checkContent(ctx context.Context, m *ent.WebsiteContentMutation) error {
	if err := oneAtATime(ctx, m, "contents"); err != nil || m.Op().Is(ent.OpUpdate) {
		return err
	}
	var errs validate.Errors
	site, err := siteOf(ctx, m, &errs)
	if err != nil {
		return err
	}
	if p, ok := m.Path(); ok || m.Op().Is(ent.OpCreate) {
		m.SetPath(normalPath(p))
	}
	errs.Check(ctx, m, "path", func(s string) string { return pathProblem(ctx, s) })
	if app, ok := m.WebappID(); ok && site != nil {
		n, err := m.Client().WebApp.Query().Where(webapp.ID(app), webapp.AccountID(site.AccountID)).Count(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			errs.Add("webapp", i18n.T(ctx, "No web app with id %d.", app))
		}
	}
	if err := errs.Err(); err != nil || site == nil {
		return err
	}
	p, _ := validate.String(ctx, m, "path")
	self, _ := m.ID()
	if _, ok := m.Path(); ok {
		if taker, err := locationTaken(ctx, m.Client(), site.ID, p, 0); err != nil {
			return err
		} else if taker != "" {
			return validate.Fail("path", i18n.T(ctx, "A %s directive of this website takes %s already.", taker, p))
		}
		taken, err := m.Client().WebsiteContent.Query().Where(websitecontent.WebsiteID(site.ID), websitecontent.Path(p),
			websitecontent.IDNEQ(self)).Exist(sys(ctx))
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "path", Message: i18n.T(ctx, "The website has a web app at %s already.", p)}
		}
	}
	return nil
}

// locationTaken is the type of a directive of site, other than except,
// that takes location (a redirect's or a proxy's), or "".
func locationTaken(ctx context.Context, client *ent.Client, site int, location string, except int) (string, error) {
	ds, err := client.WebsiteDirective.Query().Where(websitedirective.WebsiteID(site), websitedirective.IDNEQ(except),
		websitedirective.TypeIn(locationKinds...)).All(sys(ctx))
	if err != nil {
		return "", err
	}
	for _, d := range ds {
		if l, _ := d.Settings["location"].(string); l == location {
			return d.Type, nil
		}
	}
	return "", nil
}

// DomainNames are the names of the domains site s serves, in its order
// (the first is the server name): what the site backends read, so that
// they need not know how a site keeps its domains.
func DomainNames(ctx context.Context, client *ent.Client, s *ent.Website) ([]string, error) {
	names, err := DomainNamesOf(ctx, client, []*ent.Website{s})
	return names[s.ID], err
}

// DomainNamesOf is DomainNames of many sites in one query, by site id.
func DomainNamesOf(ctx context.Context, client *ent.Client, sites []*ent.Website) (map[int][]string, error) {
	var ids []int
	for _, s := range sites {
		ids = append(ids, s.Domains...)
	}
	doms, err := client.Domain.Query().Where(domain.IDIn(ids...)).Select(domain.FieldName).All(sys(ctx))
	if err != nil {
		return nil, err
	}
	byID := make(map[int]string, len(doms))
	for _, d := range doms {
		byID[d.ID] = d.Name
	}
	out := make(map[int][]string, len(sites))
	for _, s := range sites {
		names := make([]string, 0, len(s.Domains))
		for _, id := range s.Domains {
			if n := byID[id]; n != "" {
				names = append(names, n)
			}
		}
		out[s.ID] = names
	}
	return out, nil
}
