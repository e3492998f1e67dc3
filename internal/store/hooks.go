package store

import (
	"context"
	"sync"

	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

var (
	regMu      sync.Mutex
	registered []ent.Hook
)

// RegisterHook adds a hook (typically a model's validation) to every client
// opened afterwards. Model packages call it from init, so adding a model
// needs no edit here. Registered hooks run after authorization and before
// the audit history.
func RegisterHook(h ent.Hook) {
	regMu.Lock()
	defer regMu.Unlock()
	registered = append(registered, h)
}

// install wires the rules every write must pass, in order: authorization,
// model hooks, the version bump, then the history record.
func install(c *ent.Client, dialect string) {
	authz.Install(c)
	regMu.Lock()
	c.Use(registered...)
	regMu.Unlock()
	c.Use(bumpVersion, audit.Hook(dialect))
}

// bumpVersion increments the optimistic-concurrency version of every updated
// row that has one.
func bumpVersion(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if m.Op().Is(ent.OpUpdate | ent.OpUpdateOne) {
			if vm, ok := m.(interface{ AddVersion(int) }); ok {
				if _, set := m.Field("version"); !set {
					vm.AddVersion(1)
				}
			}
		}
		return next.Mutate(ctx, m)
	})
}
