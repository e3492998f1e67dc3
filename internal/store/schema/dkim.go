package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// DKIMKey is a key a mail domain's outgoing mail is signed with (DKIM,
// RFC 6376), published as the TXT record SELECTOR._domainkey.DOMAIN. The
// mail service makes one for a domain with its first address; a rotation
// retires it (it no longer signs) and makes the next, and the retired key
// and its record go some days later.
type DKIMKey struct{ ent.Schema }

// Mixin of DKIMKey.
func (DKIMKey) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of DKIMKey.
func (DKIMKey) Fields() []ent.Field {
	return []ent.Field{
		field.Int("domain_id"),
		// account_id is the domain's, kept by the rules.
		field.Int("account_id"),
		field.String("selector").MaxRuneLen(63),
		// name is its record's: SELECTOR._domainkey.DOMAIN (a domain is never
		// renamed, and a deleted key's backend still needs its domain).
		field.String("name").MaxRuneLen(253),
		// private_key is the PEM key, sealed (internal/sealed).
		field.Text("private_key").Sensitive(),
		// public_key is the record's p=: the public key's DER, base64.
		field.Text("public_key"),
		// record_id is its TXT record, while it has one.
		field.Int("record_id").Optional().Nillable(),
		// retired_at is when it stopped signing; nil while it signs.
		field.Time("retired_at").Optional().Nillable(),
	}
}

// Edges of DKIMKey: its own, so that neither the domain nor the record
// needs an edit.
func (DKIMKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("record", Record.Type).Field("record_id").Unique().
			Annotations(entsql.OnDelete(entsql.SetNull)),
	}
}

// Indexes of DKIMKey.
func (DKIMKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("domain_id", "selector").Unique(), index.Fields("account_id"), index.Fields("record_id")}
}

// Annotations of DKIMKey.
func (DKIMKey) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}}
}
