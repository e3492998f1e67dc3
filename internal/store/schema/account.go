package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Account is a customer (or staff member); it is also the panel's user.
type Account struct{ ent.Schema }

// Mixin of Account.
func (Account) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Account.
func (Account) Fields() []ent.Field {
	return []ent.Field{
		field.String("username").MaxRuneLen(32).Unique(),
		field.String("password").Sensitive().Default(""),
		field.String("short_name").MaxRuneLen(64).Default(""),
		field.String("full_name").MaxRuneLen(256),
		field.String("email").MaxRuneLen(254),
		field.String("type").MaxRuneLen(32),
		field.String("language").MaxRuneLen(2),
		field.Text("comments").Default(""),
		field.Bool("is_superuser").Default(false),
		field.Bool("is_active").Default(true),
		field.Time("date_joined").Default(time.Now),
	}
}

// Edges of Account.
func (Account) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("contacts", Contact.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("tokens", Token.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("domains", Domain.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("system_users", SystemUser.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("databases", Database.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("database_users", DatabaseUser.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Annotations of Account.
func (Account) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{
		Owner: "id", Audit: true, Repr: "username",
		StaffFields: []string{"username", "is_superuser", "is_active", "type", "comments", "date_joined"},
	}}
}
