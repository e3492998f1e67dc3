package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Database is a MariaDB/MySQL or PostgreSQL database of an account.
type Database struct{ ent.Schema }

// Mixin of Database.
func (Database) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Database.
func (Database) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(64),
		// type is the engine: mysql or postgresql.
		field.String("type").MaxRuneLen(16),
		field.Int("account_id"),
	}
}

// Edges of Database.
func (Database) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("databases").Field("account_id").Unique().Required(),
		// users are granted all privileges on the database; the first one
		// (lowest id) owns it
		edge.To("users", DatabaseUser.Type).
			StorageKey(edge.Table("database_grants"), edge.Columns("database_id", "database_user_id")),
	}
}

// Indexes of Database.
func (Database) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "type").Unique(), index.Fields("account_id")}
}

// Annotations of Database.
func (Database) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}}
}

// DatabaseUser is a login of a database engine.
type DatabaseUser struct{ ent.Schema }

// Mixin of DatabaseUser.
func (DatabaseUser) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of DatabaseUser.
func (DatabaseUser) Fields() []ent.Field {
	return []ent.Field{
		field.String("username").MaxRuneLen(63),
		// password is the engine's own hash: MySQL native (*HEX) or
		// PostgreSQL SCRAM-SHA-256; clear text is never stored.
		field.String("password").MaxRuneLen(512).Default("").Sensitive(),
		field.String("type").MaxRuneLen(16),
		field.Int("account_id"),
	}
}

// Edges of DatabaseUser.
func (DatabaseUser) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("database_users").Field("account_id").Unique().Required(),
		edge.From("databases", Database.Type).Ref("users"),
	}
}

// Indexes of DatabaseUser.
func (DatabaseUser) Indexes() []ent.Index {
	return []ent.Index{index.Fields("username", "type").Unique(), index.Fields("account_id")}
}

// Annotations of DatabaseUser.
func (DatabaseUser) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "username"}}
}
