package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// History is one audited create, update or delete.
type History struct{ ent.Schema }

// Fields of History.
func (History) Fields() []ent.Field {
	return []ent.Field{
		field.Time("time").Immutable(),
		field.Int("actor_id").Optional().Nillable().Immutable(),
		field.String("actor").Immutable(),
		field.String("channel").Immutable(),
		field.String("action").Immutable(),
		field.String("object_type").Immutable(),
		field.Int("object_id").Immutable(),
		field.String("object_repr").Immutable(),
		// account_id owns the entry: the account the object belongs to.
		field.Int("account_id").Optional().Nillable().Immutable(),
		field.JSON("changes", map[string]any{}).Immutable(),
	}
}

// Indexes of History.
func (History) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("object_type", "object_id"),
		index.Fields("actor_id"),
		index.Fields("account_id"),
	}
}

// Annotations of History: owned, never audited itself.
func (History) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id"}}
}
