package store

import (
	"context"
	"sync"

	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

var (
	regMu      sync.Mutex
	registered []ent.Hook
	factories  []func(dialect string) ent.Hook
)

// RegisterWriteHook adds a hook for every write of every model, made for the
// client's SQL dialect; it runs after the model hooks, before the version
// bump and the history (the change outbox uses it).
func RegisterWriteHook(f func(dialect string) ent.Hook) {
	regMu.Lock()
	defer regMu.Unlock()
	factories = append(factories, f)
}

// RegisterHook adds a hook (typically a model's validation) for the ops on
// model typ (an ent type name) to every client opened afterwards. Model packages call it from init, so adding a model
// needs no edit here. Registered hooks run after authorization and before
// the audit history.
func RegisterHook(typ string, ops ent.Op, h ent.Hook) {
	regMu.Lock()
	defer regMu.Unlock()
	registered = append(registered, hook.If(h, hook.And(isType(typ), hook.HasOp(ops))))
	hooked[typ] = true
}

// install wires the rules every write must pass, in order: authorization,
// model hooks, the owner's existence, the version bump, then the history
// record.
func install(c *ent.Client, dialect string) {
	authz.Install(c)
	regMu.Lock()
	// model hooks first: some derive the owner (a record takes its domain's)
	c.Use(registered...)
	c.Use(ownerExists, uniqueFree(dialect))
	for _, f := range factories {
		c.Use(f(dialect))
	}
	regMu.Unlock()
	c.Use(bumpVersion, audit.Hook(dialect))
}

type keepVersionKey struct{}

// KeepVersion marks ctx for the panel's bookkeeping on a row (a zone's
// serial), which must not make the version a user read stale.
func KeepVersion(ctx context.Context) context.Context {
	return context.WithValue(ctx, keepVersionKey{}, true)
}

type checkedKey struct{}

// Checked marks ctx for creates whose owners and unique values the caller
// has checked itself, in batch and in the same transaction (a billing
// run's bills): the per-row look-ups that turn them into field errors are
// skipped. The database's foreign keys and unique indexes still hold them.
func Checked(ctx context.Context) context.Context {
	return context.WithValue(ctx, checkedKey{}, true)
}

func checked(ctx context.Context) bool { return ctx.Value(checkedKey{}) != nil }

// bumpVersion increments the optimistic-concurrency version of every updated
// row that has one.
func bumpVersion(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) && ctx.Value(keepVersionKey{}) == nil {
			if vm, ok := m.(interface{ AddVersion(int) }); ok {
				if _, set := m.Field("version"); !set {
					vm.AddVersion(1)
				}
			}
		}
		return next.Mutate(ctx, m)
	})
}

func isType(typ string) hook.Condition {
	return func(_ context.Context, m ent.Mutation) bool { return m.Type() == typ }
}

// ownerExists checks the owning account of every new account-owned object,
// so a bad account id is a field error rather than a foreign-key failure.
func ownerExists(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		// History is skipped: its entries are records that outlive the account.
		if meta := ent.Meta[m.Type()]; m.Op().Is(ent.OpCreate) && meta.Owner == "account_id" && meta.Audit && !checked(ctx) {
			var errs validate.Errors
			if err := validate.Owner(ctx, m, &errs); err != nil {
				return nil, err
			}
			if err := errs.Err(); err != nil {
				return nil, err
			}
		}
		return next.Mutate(ctx, m)
	})
}
