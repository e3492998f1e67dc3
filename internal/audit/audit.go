// Package audit records every create, update and delete of an audited model
// (ent.Meta[...].Audit) in the history, inside the same transaction as the
// change, whichever path made it: API, web, CLI or jobs.
package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Actions recorded in the history.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

type skipKey struct{}

// Without marks ctx for bookkeeping writes that are no one's change (a
// token's last use, for instance): they are not recorded.
func Without(ctx context.Context) context.Context { return context.WithValue(ctx, skipKey{}, true) }

type secretsKey struct{}

// WithSecrets marks fields as secret for the writes made with ctx, beside
// those the schema declares: for a value that is secret by what it holds,
// not by its column (a secret setting's value).
func WithSecrets(ctx context.Context, fields ...string) context.Context {
	return context.WithValue(ctx, secretsKey{}, append(secretFields(ctx), fields...))
}

func secretFields(ctx context.Context) []string {
	f, _ := ctx.Value(secretsKey{}).([]string)
	return slices.Clip(f)
}

type batchKey struct{}

// batch holds the records of a transaction's writes until flushed.
type batch struct {
	tx      *ent.Tx
	records []*ent.HistoryCreate
}

// Batch gathers the history records of the writes made with the returned
// context in tx, so that flush writes them in bulk, rather than one INSERT
// per write: for a run that makes thousands of rows. The caller flushes
// before the transaction ends; a record never outlives its change's
// transaction either way, and a commit with records left unflushed is
// refused, so that no change commits without its record.
func Batch(ctx context.Context, tx *ent.Tx) (context.Context, func() error) {
	b := &batch{tx: tx}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if len(b.records) > 0 {
				return errors.New("audit: a batch's history records were not flushed")
			}
			return next.Commit(ctx, tx)
		})
	})
	flush := func() error {
		v, _ := viewer.From(ctx)
		channel := cmp.Or(v.Channel, viewer.ChannelSystem)
		for part := range slices.Chunk(b.records, 1000) {
			if err := tx.History.CreateBulk(part...).Exec(viewer.System(ctx, channel)); err != nil {
				return err
			}
		}
		b.records = nil
		return nil
	}
	return context.WithValue(ctx, batchKey{}, b), flush
}

// Hook returns the history hook for a client of the given SQL dialect.
func Hook(dialect string) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			meta, ok := ent.Meta[m.Type()]
			if !ok || !meta.Audit || ctx.Value(skipKey{}) != nil {
				return next.Mutate(ctx, m)
			}
			tx := ent.TxFromContext(ctx)
			if tx == nil {
				// Refusing is what guarantees a change never commits without its record.
				return nil, fmt.Errorf("store: %s %s outside a transaction (use store.Tx)", m.Op(), m.Type())
			}
			r := recorder{ctx: ctx, m: m, meta: meta, dialect: dialect, tx: tx}
			if err := r.before(); err != nil {
				return nil, err
			}
			val, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			if err := r.after(); err != nil {
				return nil, fmt.Errorf("history: %w", err)
			}
			return val, nil
		})
	}
}

type object struct {
	id    int
	owner *int
	repr  string
	old   map[string]any
}

type recorder struct {
	ctx     context.Context
	m       ent.Mutation
	meta    ent.TypeMeta
	dialect string
	tx      *ent.Tx
	objects []object
}

type idsQuerier interface {
	IDs(context.Context) ([]int, error)
}

// before captures what is gone after the mutation: old values of an update
// and the identity of deleted rows.
func (r *recorder) before() error {
	m := r.m
	switch {
	case m.Op().Is(ent.OpUpdateOne):
		id, _ := m.(interface{ ID() (int, bool) }).ID()
		o := object{id: id, old: map[string]any{}}
		for _, f := range m.Fields() {
			if old, err := m.OldField(r.ctx, f); err == nil {
				o.old[f] = old
			} else {
				return err
			}
		}
		r.objects = []object{o}
		return r.identify()
	case m.Op().Is(ent.OpUpdate | ent.OpDelete | ent.OpDeleteOne):
		ids, err := m.(idsQuerier).IDs(r.ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			r.objects = append(r.objects, object{id: id})
		}
		return r.identify()
	}
	return nil
}

// identify loads owner and name of the captured rows with one query.
func (r *recorder) identify() error {
	if len(r.objects) == 0 {
		return nil
	}
	cols := []string{"id"}
	if r.meta.Owner != "" {
		cols = append(cols, r.meta.Owner)
	}
	if r.meta.Repr != "" {
		cols = append(cols, r.meta.Repr)
	}
	ids := make([]int, len(r.objects))
	for i, o := range r.objects {
		ids[i] = o.id
	}
	query, args := entsql.Dialect(r.dialect).Select(cols...).From(entsql.Table(r.meta.Table)).
		Where(entsql.InInts("id", ids...)).Query()
	rows, err := r.tx.QueryContext(r.ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	byID := map[int]*object{}
	for i := range r.objects {
		byID[r.objects[i].id] = &r.objects[i]
	}
	for rows.Next() {
		var (
			id    int
			owner *int
			repr  any
		)
		dest := []any{&id}
		if r.meta.Owner != "" {
			dest = append(dest, &owner)
		}
		if r.meta.Repr != "" {
			dest = append(dest, &repr)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if o := byID[id]; o != nil {
			o.owner, o.repr = owner, reprString(repr)
		}
	}
	return rows.Err()
}

func reprString(v any) string {
	switch s := v.(type) {
	case nil:
		return ""
	case []byte:
		return string(s)
	default:
		return fmt.Sprint(s)
	}
}

func (r *recorder) after() error {
	m := r.m
	v, _ := viewer.From(r.ctx)
	action := ActionUpdate
	switch {
	case m.Op().Is(ent.OpCreate):
		action = ActionCreate
		id, ok := m.(interface{ ID() (int, bool) }).ID()
		if !ok {
			return fmt.Errorf("created %s has no id", m.Type())
		}
		o := object{id: id}
		if r.meta.Owner == "id" {
			o.owner = &id
		} else if r.meta.Owner != "" {
			if val, ok := m.Field(r.meta.Owner); ok {
				if n, ok := val.(int); ok {
					o.owner = &n
				}
			}
		}
		r.objects = []object{o}
	case m.Op().Is(ent.OpDelete | ent.OpDeleteOne):
		action = ActionDelete
	}
	if len(r.objects) == 0 {
		return nil
	}
	now := time.Now()
	var actorID *int
	if !v.System && v.AccountID != 0 {
		id := v.AccountID
		actorID = &id
	}
	channel := v.Channel
	if channel == "" {
		channel = viewer.ChannelSystem
	}
	builders := make([]*ent.HistoryCreate, 0, len(r.objects))
	for _, o := range r.objects {
		repr := o.repr
		if r.meta.Repr != "" && action != ActionDelete {
			if val, ok := m.Field(r.meta.Repr); ok {
				repr = fmt.Sprint(val)
			}
		}
		builders = append(builders, r.tx.History.Create().
			SetTime(now).SetNillableActorID(actorID).SetActor(v.Username).SetChannel(channel).
			SetAction(action).SetObjectType(m.Type()).SetObjectID(o.id).SetObjectRepr(repr).
			SetNillableAccountID(o.owner).SetChanges(r.changes(o, action)))
	}
	if b, _ := r.ctx.Value(batchKey{}).(*batch); b != nil && b.tx == r.tx {
		b.records = append(b.records, builders...)
		return nil
	}
	// The record is the system's own write: the actor may not write history.
	// in chunks: one INSERT of a large bulk update's rows would pass the
	// databases' limits on bound parameters
	ctx := viewer.System(r.ctx, channel)
	for i := 0; i < len(builders); i += 500 {
		if err := r.tx.History.CreateBulk(builders[i:min(i+500, len(builders))]...).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// changes lists the fields set by the mutation with old and new values;
// secrets are named but their values never recorded.
func (r *recorder) changes(o object, action string) map[string]any {
	out := map[string]any{}
	if action == ActionDelete {
		return out
	}
	for _, f := range r.m.Fields() {
		if f == "version" || f == "updated_at" || f == "created_at" {
			continue
		}
		if r.meta.Secret[f] || slices.Contains(secretFields(r.ctx), f) {
			out[f] = map[string]any{"secret": true}
			continue
		}
		nv, _ := r.m.Field(f)
		c := map[string]any{"new": nv}
		if old, ok := o.old[f]; ok {
			if fmt.Sprint(old) == fmt.Sprint(nv) {
				continue
			}
			c["old"] = old
		}
		out[f] = c
	}
	return out
}
