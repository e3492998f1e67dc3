package orchestration

import (
	"context"
	"slices"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// A route is checked when it is saved: its backend must exist, its async
// actions must be actions of that backend, and its match must compile
// against the backend's model, the compiler's message naming what is wrong.
func init() {
	store.RegisterHook("Route", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.RouteFunc(func(ctx context.Context, m *ent.RouteMutation) (ent.Value, error) {
			if err := validateRoute(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

func validateRoute(ctx context.Context, m *ent.RouteMutation) error {
	validate.TrimFields(m, "backend", "match")
	name, ok := m.Backend()
	if !ok && m.Op().Is(ent.OpUpdate) {
		// A bulk update cannot check a match against each route's backend.
		_, matchSet := m.Match()
		_, actsSet := m.AsyncActions()
		if matchSet || actsSet {
			var errs validate.Errors
			errs.Add("match", i18n.T(ctx, "Change the match and async actions one route at a time."))
			return errs.Err()
		}
		return nil
	}
	if !ok {
		old, err := m.OldBackend(ctx)
		if err != nil {
			return err
		}
		name = old
	}
	var errs validate.Errors
	b, known := Lookup(name)
	if !known {
		errs.Add("backend", i18n.T(ctx, "Unknown backend %q.", name))
		return errs.Err()
	}
	match, ok := m.Match()
	if !ok && m.Op().Is(ent.OpUpdateOne) {
		match, _ = m.OldMatch(ctx)
	}
	if match == "" {
		match = "true"
		m.SetMatch(match)
	}
	if _, err := CompileMatch(name, match); err != nil {
		errs.Add("match", err.Error())
	}
	if acts, ok := m.AsyncActions(); ok {
		for _, a := range acts {
			if !slices.Contains(b.actions(), a) {
				errs.Add("async_actions", i18n.T(ctx, "Backend %s has no action %q.", name, a))
				break
			}
		}
	}
	return errs.Err()
}
