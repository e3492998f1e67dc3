package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Contact is a person an account wants reached for support, billing, etc.
type Contact struct{ ent.Schema }

// Mixin of Contact.
func (Contact) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Contact.
func (Contact) Fields() []ent.Field {
	return []ent.Field{
		field.Int("account_id"),
		field.String("short_name").MaxRuneLen(128),
		field.String("full_name").MaxRuneLen(256).Default(""),
		field.String("email").MaxRuneLen(254),
		field.Strings("email_usage"),
		field.String("phone").MaxRuneLen(32).Default(""),
		field.String("phone2").MaxRuneLen(32).Default(""),
		field.Text("address").Default(""),
		field.String("city").MaxRuneLen(128).Default(""),
		field.String("zipcode").MaxRuneLen(10).Default(""),
		field.String("country").MaxRuneLen(20).Default(""),
	}
}

// Edges of Contact.
func (Contact) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("contacts").Field("account_id").Unique().Required(),
	}
}

// Indexes of Contact.
func (Contact) Indexes() []ent.Index { return []ent.Index{index.Fields("account_id")} }

// Annotations of Contact.
func (Contact) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "short_name"}}
}
