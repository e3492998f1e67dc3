package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SystemUser is a UNIX user on a server (SSH, SFTP, FTP logins; web apps
// run as one). Every account has a main one, named as the account.
type SystemUser struct{ ent.Schema }

// Mixin of SystemUser.
func (SystemUser) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of SystemUser.
func (SystemUser) Fields() []ent.Field {
	return []ent.Field{
		field.String("username").MaxRuneLen(32).Unique(),
		// password is a SHA-512 crypt hash ($6$…), as chpasswd -e takes it;
		// empty means no password login.
		field.String("password").MaxRuneLen(256).Default("").Sensitive(),
		field.Int("account_id"),
		// home is empty for the user's own base home; directory is a path
		// below home.
		field.String("home").MaxRuneLen(256).Default(""),
		field.String("directory").MaxRuneLen(256).Default(""),
		field.String("shell").MaxRuneLen(64).Default("/dev/null"),
		// is_main marks the account's main system user, kept by the rules.
		field.Bool("is_main").Default(false),
		field.Bool("is_active").Default(true),
	}
}

// Edges of SystemUser.
func (SystemUser) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("system_users").Field("account_id").Unique().Required(),
		// groups are the other system users whose group this one is in
		edge.To("groups", SystemUser.Type),
	}
}

// Indexes of SystemUser.
func (SystemUser) Indexes() []ent.Index { return []ent.Index{index.Fields("account_id")} }

// Annotations of SystemUser.
func (SystemUser) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "username", StaffFields: []string{"is_main"}}}
}
