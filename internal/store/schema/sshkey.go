package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SSHKey is a public key a system user logs in with (SSH, SFTP).
type SSHKey struct{ ent.Schema }

// Mixin of SSHKey.
func (SSHKey) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of SSHKey.
func (SSHKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(64),
		// key is one authorized_keys line: type, base64 and comment, no options.
		field.String("key").MaxRuneLen(16384),
		field.Int("account_id"),
		field.Int("system_user_id"),
	}
}

// Edges of SSHKey: its own, so that the account and the system user need
// no edit; both take their keys with them.
func (SSHKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("system_user", SystemUser.Type).Field("system_user_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of SSHKey.
func (SSHKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id"), index.Fields("system_user_id")}
}

// Annotations of SSHKey.
func (SSHKey) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}}
}
