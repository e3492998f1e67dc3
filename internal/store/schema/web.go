package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// WebApp is an application's folder under its account's main home and how
// it runs (static files, PHP, Python, …): its type is a kind of the web
// services' app family and settings its typed settings (internal/kinds),
// stored whole, defaults filled in.
type WebApp struct{ ent.Schema }

// Mixin of WebApp.
func (WebApp) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of WebApp.
func (WebApp) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(128),
		field.Int("account_id"),
		field.String("type").MaxRuneLen(32),
		field.JSON("settings", map[string]any{}).Optional(),
		// database_id and database_user_id are what a WordPress app made
		// for itself when it was added, kept by the rules; database_password
		// is that user's password, sealed (decision 15), for wp-config.php.
		field.Int("database_id").Optional().Nillable(),
		field.Int("database_user_id").Optional().Nillable(),
		field.String("database_password").Default("").Sensitive(),
	}
}

// Edges of WebApp: its own, so that the account needs no edit.
func (WebApp) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("database", Database.Type).Field("database_id").Unique().
			Annotations(entsql.OnDelete(entsql.SetNull)),
		edge.To("database_user", DatabaseUser.Type).Field("database_user_id").Unique().
			Annotations(entsql.OnDelete(entsql.SetNull)),
		edge.From("contents", WebsiteContent.Type).Ref("webapp"),
	}
}

// Indexes of WebApp.
func (WebApp) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "name").Unique()}
}

// Annotations of WebApp.
func (WebApp) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}}
}

// Website is a site served for some of its account's domains, over the
// protocols it names, with web apps mounted at paths (contents) and
// directives.
type Website struct{ ent.Schema }

// Mixin of Website.
func (Website) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Website.
func (Website) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(128),
		field.Int("account_id"),
		// protocol: http, https, http/https or https-only.
		field.String("protocol").MaxRuneLen(16).Default(""),
		// domains are ids of the account's domains (DNS), kept in order; a
		// deleted domain leaves them through the rules, so that the site is
		// applied again.
		field.JSON("domains", []int{}).Optional(),
		field.Bool("is_active").Default(true),
	}
}

// Edges of Website.
func (Website) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.From("contents", WebsiteContent.Type).Ref("website"),
		edge.From("directives", WebsiteDirective.Type).Ref("website"),
	}
}

// Indexes of Website.
func (Website) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "name").Unique()}
}

// Annotations of Website.
func (Website) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}}
}

// WebsiteContent mounts a web app of the website's account at a URL path
// of the website.
type WebsiteContent struct{ ent.Schema }

// Mixin of WebsiteContent.
func (WebsiteContent) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of WebsiteContent.
func (WebsiteContent) Fields() []ent.Field {
	return []ent.Field{
		field.Int("website_id"),
		field.Int("webapp_id"),
		// account_id is the website's, kept by the rules: it scopes contents.
		field.Int("account_id"),
		// path is normalised: a leading /, no trailing / but for the root.
		field.String("path").MaxRuneLen(256).Default("/"),
	}
}

// Edges of WebsiteContent.
func (WebsiteContent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("website", Website.Type).Field("website_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("webapp", WebApp.Type).Field("webapp_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of WebsiteContent.
func (WebsiteContent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("website_id", "path").Unique(), index.Fields("webapp_id"), index.Fields("account_id")}
}

// Annotations of WebsiteContent.
func (WebsiteContent) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "path"}}
}

// WebsiteDirective is a website's redirect, proxy, error document,
// protected directory, headers or staff's include: its type is a kind of the
// web services' directive family and settings its typed settings.
type WebsiteDirective struct{ ent.Schema }

// Mixin of WebsiteDirective.
func (WebsiteDirective) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of WebsiteDirective.
func (WebsiteDirective) Fields() []ent.Field {
	return []ent.Field{
		field.Int("website_id"),
		// account_id is the website's, kept by the rules.
		field.Int("account_id"),
		field.String("type").MaxRuneLen(32),
		field.JSON("settings", map[string]any{}).Optional(),
		// password_hashes are a protection's users' hashes (bcrypt…), kept
		// out of its settings: secret, so in no answer, history entry or
		// snapshot that outlives its unit.
		field.JSON("password_hashes", map[string]string{}).Optional().Sensitive(),
	}
}

// Edges of WebsiteDirective.
func (WebsiteDirective) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("website", Website.Type).Field("website_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of WebsiteDirective.
func (WebsiteDirective) Indexes() []ent.Index {
	return []ent.Index{index.Fields("website_id"), index.Fields("account_id")}
}

// Annotations of WebsiteDirective.
func (WebsiteDirective) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "type"}}
}
