package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// GitRepository is a bare Git repository in a system user's home.
type GitRepository struct{ ent.Schema }

// Mixin of GitRepository.
func (GitRepository) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of GitRepository.
func (GitRepository) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(64).Immutable().Comment("Its folder is ~/git/NAME.git: lower-case letters, digits and . _ -."),
		field.String("description").MaxRuneLen(256).Default("").Comment("One line that Git's web viewers show."),
		field.Int("account_id"),
		field.Int("system_user_id").Immutable().Comment("The system user that owns it and pushes to it over SSH."),
		field.String("owner").Default("").Comment("The system user's name (set by the rules)."),
	}
}

// Edges of GitRepository: its own; the account and the system user take their repositories.
func (GitRepository) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("system_user", SystemUser.Type).Field("system_user_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of GitRepository: a name once per user.
func (GitRepository) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id"), index.Fields("system_user_id", "name").Unique()}
}

// Annotations of GitRepository.
func (GitRepository) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}, API{Derived: []string{"account_id", "owner"}}}
}
