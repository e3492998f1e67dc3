package schema

import (
	"encoding/json"

	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// Setting is a value stored by staff that overrides a registered setting.
type Setting struct{ ent.Schema }

// Mixin of Setting.
func (Setting) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of Setting.
func (Setting) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(128).Unique().Immutable(),
		field.JSON("value", json.RawMessage{}),
	}
}

// Annotations of Setting: staff only.
func (Setting) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Audit: true, Repr: "name"}}
}
