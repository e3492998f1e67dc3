package orchestration

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Change capture: every write of a model some backend serves (or relates
// to), or some consumer of the stream follows (stream.go), writes change
// rows in the same transaction, whatever path made it, so a committed
// write is never without its change and a rolled-back one never has one.
// Deletes snapshot the rows first, cascades included.

func init() {
	store.RegisterWriteHook(captureHook)
	store.RegisterFollower(captured)
}

type captureKey struct{}

// WithoutChanges marks ctx for writes that must not reach servers (the
// panel's own bookkeeping on a service model).
func WithoutChanges(ctx context.Context) context.Context {
	return context.WithValue(ctx, captureKey{}, true)
}

type pending struct {
	model    *model
	id       int
	action   string
	snapshot map[string]any
}

func captureHook(dialect string) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if ctx.Value(captureKey{}) != nil || !captures(m) {
				return next.Mutate(ctx, m)
			}
			mdl := modelOf(m.Type())
			tx := ent.TxFromContext(ctx)
			if tx == nil || mdl == nil {
				return nil, fmt.Errorf("store: %s %s outside a transaction (use store.Tx)", m.Op(), m.Type())
			}
			var ids []int
			var deleted []pending
			switch {
			case m.Op().Is(ent.OpUpdateOne):
				id, _ := m.(interface{ ID() (int, bool) }).ID()
				ids = []int{id}
			case m.Op().Is(ent.OpUpdate | ent.OpDelete | ent.OpDeleteOne):
				var err error
				if ids, err = m.(interface {
					IDs(context.Context) ([]int, error)
				}).IDs(ctx); err != nil {
					return nil, err
				}
				if m.Op().Is(ent.OpDelete | ent.OpDeleteOne) {
					if deleted, err = doomed(ctx, tx, dialect, mdl, ids); err != nil {
						return nil, err
					}
				}
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			var changes []pending
			if m.Op().Is(ent.OpDelete | ent.OpDeleteOne) {
				changes = deleted
			} else {
				if m.Op().Is(ent.OpCreate) {
					id, ok := m.(interface{ ID() (int, bool) }).ID()
					if !ok {
						return nil, fmt.Errorf("created %s has no id", m.Type())
					}
					ids = []int{id}
				}
				snaps, err := mdl.snapshots(ctx, tx, dialect, ids)
				if err != nil {
					return nil, err
				}
				for _, id := range ids {
					if s, ok := snaps[id]; ok {
						changes = append(changes, pending{model: mdl, id: id, action: ActionSave, snapshot: s})
					}
				}
			}
			var fields []string
			if m.Op().Is(ent.OpUpdate | ent.OpUpdateOne) {
				fields = append(m.Fields(), m.ClearedFields()...)
				// a many-to-many edge (a database's users) is part of the
				// object too: a save that changed only one is applied
				for _, edges := range [][]string{m.AddedEdges(), m.RemovedEdges(), m.ClearedEdges()} {
					for _, e := range edges {
						if !slices.Contains(fields, e) {
							fields = append(fields, e)
						}
					}
				}
			}
			if err := writeChanges(ctx, tx, changes, fields); err != nil {
				return nil, fmt.Errorf("change capture: %w", err)
			}
			return v, nil
		})
	}
}

// captures reports whether m may write changes: its model is captured, or
// it deletes rows whose deletion cascades into rows of a captured model
// (a model no one follows whose children someone does).
func captures(m ent.Mutation) bool {
	if captured(m.Type()) {
		return true
	}
	if !m.Op().Is(ent.OpDelete | ent.OpDeleteOne) {
		return false
	}
	mdl := modelOf(m.Type())
	return mdl != nil && cascadesIntoCaptured(mdl, map[string]bool{mdl.name: true})
}

func cascadesIntoCaptured(mdl *model, seen map[string]bool) bool {
	for _, c := range mdl.cascades() {
		if seen[c.child.name] {
			continue
		}
		seen[c.child.name] = true
		if captured(c.child.name) || cascadesIntoCaptured(c.child, seen) {
			return true
		}
	}
	return false
}

// doomed snapshots the rows a delete removes: the rows themselves and, while
// they still exist, every row a foreign key's ON DELETE CASCADE takes with
// them, children first.
func doomed(ctx context.Context, tx *ent.Tx, dialect string, mdl *model, ids []int) ([]pending, error) {
	if len(ids) == 0 {
		return nil, nil // also ends a self-referencing cascade (subdomains)
	}
	var out []pending
	for _, c := range mdl.cascades() {
		childIDs, err := referring(ctx, tx, dialect, c.child, c.column, ids)
		if err != nil {
			return nil, err
		}
		more, err := doomed(ctx, tx, dialect, c.child, childIDs)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	if !captured(mdl.name) {
		return out, nil
	}
	snaps, err := mdl.snapshots(ctx, tx, dialect, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if s, ok := snaps[id]; ok {
			out = append(out, pending{model: mdl, id: id, action: ActionDelete, snapshot: s})
		}
	}
	return out, nil
}

// referring returns the ids of child rows whose column refers to ids.
func referring(ctx context.Context, tx *ent.Tx, dialect string, child *model, column string, ids []int) ([]int, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	query, args := sqlSelectIDs(dialect, child.table.Name, column, ids)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func writeChanges(ctx context.Context, tx *ent.Tx, changes []pending, fields []string) error {
	if len(changes) == 0 {
		return nil
	}
	v, _ := viewer.From(ctx)
	channel := v.Channel
	if channel == "" {
		channel = viewer.ChannelSystem
	}
	now := time.Now().UTC()
	builders := make([]*ent.ChangeCreate, 0, len(changes))
	applied := map[string]bool{}
	for _, c := range changes {
		meta := ent.Meta[c.model.name]
		a, ok := applied[c.model.name]
		if !ok {
			a = appliesSaves(c.model.name)
			applied[c.model.name] = a
		}
		if c.action == ActionDelete || !a {
			c.snapshot = withoutSecrets(c.model.name, c.snapshot) // no script will need them
		}
		b := tx.Change.Create().SetCreatedAt(now).SetModel(c.model.name).SetObjectID(c.id).
			SetAction(c.action).SetSnapshot(c.snapshot).SetActor(v.Username).SetChannel(channel)
		if meta.Repr != "" {
			b.SetRepr(fmt.Sprint(c.snapshot[meta.Repr]))
		}
		if meta.Owner != "" {
			if owner, ok := c.snapshot[meta.Owner].(int); ok {
				b.SetAccountID(owner)
			}
		}
		if c.action == ActionSave && len(fields) > 0 {
			b.SetFields(fields)
		}
		builders = append(builders, b)
	}
	tracker := trackerFrom(ctx)
	var ids []int
	for i := 0; i < len(builders); i += 500 {
		bulk := tx.Change.CreateBulk(builders[i:min(i+500, len(builders))]...)
		if tracker == nil {
			if err := bulk.Exec(viewer.System(ctx, channel)); err != nil {
				return err
			}
			continue
		}
		saved, err := bulk.Save(viewer.System(ctx, channel))
		if err != nil {
			return err
		}
		for _, c := range saved {
			ids = append(ids, c.ID)
		}
	}
	return afterCommit(ctx, tx, tracker, ids)
}
