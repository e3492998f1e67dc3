package certificates

import (
	"context"
	"slices"
	"time"

	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/certificate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/websitedirective"
)

// automatic keeps the certificates the panel obtains for the websites
// whose SSL directive says "automatic" (certificate 0): one per site, for
// the site's domains (over DNS-01 when one is a wildcard, else HTTP-01),
// ordered again when they change, and gone when the site picks another
// certificate or drops the directive. A deleted site takes its own along
// (the database's cascade).
func automatic() {
	store.RegisterHook("WebsiteDirective", ent.OpCreate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.WebsiteDirectiveFunc(func(ctx context.Context, m *ent.WebsiteDirectiveMutation) (ent.Value, error) {
			var sites []int
			if m.Op().Is(ent.OpDelete | ent.OpDeleteOne) {
				ids, err := m.IDs(ctx)
				if err != nil {
					return nil, err
				}
				if sites, err = m.Client().WebsiteDirective.Query().Where(websitedirective.IDIn(ids...),
					websitedirective.Type(web.DirSSL)).Select(websitedirective.FieldWebsiteID).Ints(sys(ctx)); err != nil {
					return nil, err
				}
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			if d, ok := v.(*ent.WebsiteDirective); ok && d.Type == web.DirSSL {
				sites = append(sites, d.WebsiteID)
			}
			for _, id := range slices.Compact(slices.Sorted(slices.Values(sites))) {
				if err := syncSite(ctx, m.Client(), id); err != nil {
					return nil, err
				}
			}
			return v, nil
		})
	})
	store.RegisterHook("Website", ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.WebsiteFunc(func(ctx context.Context, m *ent.WebsiteMutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			if _, ok := m.Domains(); ok {
				err = syncSite(ctx, m.Client(), v.(*ent.Website).ID)
			}
			return v, err
		})
	})
}

// syncSite makes site id's automatic certificate what its SSL directive and
// domains ask for.
func syncSite(ctx context.Context, client *ent.Client, id int) error {
	ctx = issued(ctx)
	site, err := client.Website.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	auto := false
	dirs, err := client.WebsiteDirective.Query().Where(websitedirective.WebsiteID(id), websitedirective.Type(web.DirSSL)).All(ctx)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		cert, ok := web.SSLPick(d)
		auto = auto || ok && cert == 0
	}
	own, err := client.Certificate.Query().Where(certificate.WebsiteID(id)).First(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return err
	}
	var names []string
	if auto {
		all, err := web.DomainNamesOf(ctx, client, []*ent.Website{site})
		if err != nil {
			return err
		}
		names = cleanNames(all[id])
	}
	if len(names) == 0 {
		if own != nil {
			return client.Certificate.DeleteOne(own).Exec(ctx)
		}
		return nil
	}
	source := HTTP01
	if slices.ContainsFunc(names, isWildcard) {
		source = DNS01
	}
	now := time.Now()
	if own == nil {
		return client.Certificate.Create().SetAccountID(site.AccountID).SetWebsiteID(id).SetName(names[0]).SetDomains(site.Domains).
			SetNames(names).SetSource(source).SetKeyType(KeyType.Get()).SetState(Pending).SetNextAttemptAt(now).
			Exec(ctx)
	}
	if slices.Equal(own.Names, names) && own.Source == source {
		return nil
	}
	state := Pending
	if own.Certificate != "" {
		state = Renewing
	}
	return client.Certificate.UpdateOne(own).SetName(names[0]).SetNames(names).SetDomains(site.Domains).SetSource(source).
		SetState(state).SetFailures(0).SetNextAttemptAt(now).Exec(ctx)
}
