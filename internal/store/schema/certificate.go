package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Certificate is a TLS certificate of an account's names: uploaded, or
// obtained and renewed by the panel over ACME (HTTP-01 or DNS-01). The web
// servers of the sites whose SSL directive picks it, and the mail servers
// whose host name it covers, present it.
type Certificate struct{ ent.Schema }

// Mixin of Certificate.
func (Certificate) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Certificate.
func (Certificate) Fields() []ent.Field {
	return []ent.Field{
		field.Int("account_id"),
		// name is the first of names: what lists and the history show.
		field.String("name").MaxRuneLen(253).Default(""),
		// domains are the account's domains it is for (a wildcard domain
		// *.NAME covers one label); names are their names, kept by the rules.
		field.Ints("domains").Optional(),
		field.Strings("names"),
		// source is how it is had: http-01, dns-01 (ACME) or upload.
		field.String("source").MaxRuneLen(16),
		// state: pending, valid, renewing, failed or expired.
		field.String("state").MaxRuneLen(16).Default("pending"),
		field.Text("last_error").Default(""),
		field.Time("not_before").Optional().Nillable(),
		field.Time("not_after").Optional().Nillable(),
		field.String("issuer").MaxRuneLen(512).Default(""),
		// key_type: ec256, ec384, rsa2048, rsa3072 or rsa4096.
		field.String("key_type").MaxRuneLen(16).Default(""),
		field.Bool("auto_renew").Default(true),
		// certificate is the PEM chain: the certificate, then its intermediates.
		field.Text("certificate").Default(""),
		// private_key is the PEM key, sealed (internal/sealed).
		field.Text("private_key").Default("").Sensitive(),
		// website_id is the website whose SSL directive asked for it
		// ("automatic"): its names follow the site's domains.
		field.Int("website_id").Optional().Nillable(),
		// next_attempt_at is when the panel next orders it (a new or due
		// certificate, or one waiting out its backoff); nil: not due.
		field.Time("next_attempt_at").Optional().Nillable(),
		// failures is the number of orders that failed in a row.
		field.Int("failures").Default(0),
		// claimed_until: a panel is ordering it until then (one at a time,
		// whatever the number of panels).
		field.Time("claimed_until").Optional().Nillable(),
		// alerted_at is when staff were last told it is about to expire.
		field.Time("alerted_at").Optional().Nillable(),
	}
}

// Edges of Certificate: its own, so that neither the account nor the
// website needs an edit.
func (Certificate) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("website", Website.Type).Field("website_id").Unique().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of Certificate.
func (Certificate) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id"), index.Fields("website_id"), index.Fields("next_attempt_at"),
		index.Fields("not_after")}
}

// Annotations of Certificate. What the panel keeps (the state and dates,
// the obtained chain and key) the service's rules set, also on a
// customer's write: the API takes none of it.
func (Certificate) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name", StaffFields: []string{"website_id"}}}
}

// ACMEAccount is the panel's account at an ACME directory: one per
// directory URL, made the first time a certificate is ordered there.
type ACMEAccount struct{ ent.Schema }

// Mixin of ACMEAccount.
func (ACMEAccount) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Fields of ACMEAccount.
func (ACMEAccount) Fields() []ent.Field {
	return []ent.Field{
		field.String("directory").MaxRuneLen(2048).Unique(),
		field.String("email").MaxRuneLen(254).Default(""),
		// location is the account's URL at the directory (its key id).
		field.String("location").MaxRuneLen(2048).Default(""),
		// private_key is the account's PEM key, sealed.
		field.Text("private_key").Sensitive(),
	}
}

// Annotations of ACMEAccount: internal, staff only.
func (ACMEAccount) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }
