// Package authz is the one place that decides who may see and change what.
// It filters every query and guards every mutation of the ent client by the
// viewer in the context, using ent.Meta (generated from each schema's Scope
// annotation): superusers and the system see everything; an account's user
// sees and changes only rows owned by that account; staff-only models and
// fields are refused; anonymous contexts get nothing.
package authz

import (
	"context"
	"errors"
	"fmt"

	"entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/intercept"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// ErrAnonymous is returned when a context carries no viewer.
var ErrAnonymous = errors.New("authentication required")

// Forbidden is a refused action; Field names the offending field, if any.
type Forbidden struct {
	Field   string
	Message string
}

func (e *Forbidden) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Install adds the query filter and the mutation guard to c. It must be the
// first hook so nothing runs for a refused mutation.
func Install(c *ent.Client) {
	c.Intercept(intercept.TraverseFunc(filter))
	c.Use(guard)
}

func filter(ctx context.Context, q intercept.Query) error {
	v, ok := viewer.From(ctx)
	if !ok {
		return ErrAnonymous
	}
	if v.Unrestricted() {
		return nil
	}
	meta, ok := ent.Meta[q.Type()]
	if !ok || meta.Owner == "" {
		return &Forbidden{Message: i18n.M("only staff may see these objects")}
	}
	q.WhereP(sql.FieldEQ(meta.Owner, v.AccountID))
	return nil
}

type wherer interface{ WhereP(...func(*sql.Selector)) }

func guard(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		v, ok := viewer.From(ctx)
		if !ok {
			return nil, ErrAnonymous
		}
		if v.Unrestricted() {
			return next.Mutate(ctx, m)
		}
		meta, ok := ent.Meta[m.Type()]
		if !ok || meta.Owner == "" {
			return nil, &Forbidden{Message: i18n.M("only staff may change these objects")}
		}
		for _, f := range m.Fields() {
			if meta.StaffOnly[f] && !isDefault(m, meta, f) {
				return nil, &Forbidden{Field: f, Message: i18n.M("only staff may change this field")}
			}
		}
		for _, f := range m.ClearedFields() {
			if meta.StaffOnly[f] {
				return nil, &Forbidden{Field: f, Message: i18n.M("only staff may change this field")}
			}
		}
		w, ok := m.(wherer)
		if !ok {
			return nil, fmt.Errorf("authz: %s mutation cannot be filtered", m.Type())
		}
		if meta.Owner == "id" {
			// The account row itself: its user may edit it, never create or delete.
			if !m.Op().Is(ent.OpUpdate | ent.OpUpdateOne) {
				return nil, &Forbidden{Message: i18n.M("only staff may create or delete accounts")}
			}
			w.WhereP(sql.FieldEQ("id", v.AccountID))
			return next.Mutate(ctx, m)
		}
		if owner, set := m.Field(meta.Owner); set && owner != v.AccountID {
			return nil, &Forbidden{Field: "account", Message: i18n.M("objects can only belong to your own account")}
		}
		if m.Op().Is(ent.OpCreate) {
			if err := m.SetField(meta.Owner, v.AccountID); err != nil {
				return nil, err
			}
		} else {
			w.WhereP(sql.FieldEQ(meta.Owner, v.AccountID))
		}
		return next.Mutate(ctx, m)
	})
}

// isDefault tells whether a create sets staff-only field f to its schema
// default, which ent fills in before any hook runs: that is no one's choice,
// so it must not count as the customer setting the field.
func isDefault(m ent.Mutation, meta ent.TypeMeta, f string) bool {
	def, ok := meta.StaffDefaults[f]
	if !ok || !m.Op().Is(ent.OpCreate) {
		return false
	}
	v, _ := m.Field(f)
	return v == def
}

// RequireStaff refuses non-superusers, for staff data that is not a model
// row (such as the settings registry).
func RequireStaff(ctx context.Context) error {
	v, ok := viewer.From(ctx)
	if !ok {
		return ErrAnonymous
	}
	if !v.Unrestricted() {
		return &Forbidden{Message: i18n.M("only staff may see these objects")}
	}
	return nil
}
