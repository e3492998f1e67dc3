// Package schema holds the ent schema: one file per model.
package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
)

// Scope is read by the code generator (see ../entc.go) to build ent.Meta, the
// one table that authorization and the audit history consult. New models get
// scoping and auditing by declaring it here, not by editing those packages.
// Secret fields are declared on the field itself, with Sensitive(): they
// become TypeMeta.Secret (see docs/secrets.md).
type Scope struct {
	// Owner is the column naming the owning account: "account_id" for
	// account-owned objects, "id" for the Account itself, "" for staff-only.
	Owner string
	// Audit records every create, update and delete in the history.
	Audit bool
	// Repr is the column shown as the object's name in the history.
	Repr string
	// StaffFields are columns only superusers may set.
	StaffFields []string
}

// Name implements schema.Annotation.
func (Scope) Name() string { return "Scope" }

// TimeMixin adds creation and modification times.
type TimeMixin struct{ mixin.Schema }

// Fields of the mixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

// VersionMixin adds the optimistic-concurrency version, bumped on every
// update by the store so two editors cannot silently overwrite each other.
type VersionMixin struct{ mixin.Schema }

// Fields of the mixin.
func (VersionMixin) Fields() []ent.Field {
	return []ent.Field{field.Int("version").Default(1).Positive()}
}

// API asks for the model's API shapes to be generated into
// internal/api/models (see ../entc.go): what the API shows (every field but
// secrets, a reference named without its _id), the create body (fields with
// a default optional), the patch body (all but Immutable fields, the owner
// and the version's bookkeeping) and the list with a filter per reference.
// Sizes become maxLength and comments the fields' docs.
type API struct {
	// Derived fields are set by the rules alone: in no body.
	Derived []string
	// Internal fields are the panel's bookkeeping: not shown either.
	Internal []string
}

// Name implements schema.Annotation.
func (API) Name() string { return "API" }
