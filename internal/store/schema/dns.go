package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Domain is a DNS name an account manages: a top domain has its own zone;
// a subdomain's records live in the zone of its top domain.
type Domain struct{ ent.Schema }

// Mixin of Domain.
func (Domain) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Domain.
func (Domain) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(253).Unique(),
		field.Int("account_id"),
		// top is the registered parent closest to the root; nil for a top
		// domain. Kept by the rules, never set by users.
		field.Int("top_id").Optional().Nillable(),
		// serial is the zone's SOA serial, YYYYMMDDnn, bumped on every change
		// of the zone.
		field.Int64("serial").Default(0),
		// SOA timers as intervals ("1d", "7200"); empty takes the defaults.
		field.String("refresh").MaxRuneLen(16).Default(""),
		field.String("retry").MaxRuneLen(16).Default(""),
		field.String("expire").MaxRuneLen(16).Default(""),
		field.String("min_ttl").MaxRuneLen(16).Default(""),
		// dnssec makes the master sign the zone.
		field.Bool("dnssec").Default(false),
	}
}

// Edges of Domain.
func (Domain) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("domains").Field("account_id").Unique().Required(),
		// the annotation must come before From: it belongs to the edge that
		// makes the foreign key
		edge.To("subdomains", Domain.Type).Annotations(entsql.OnDelete(entsql.Cascade)).
			From("top").Field("top_id").Unique(),
		edge.To("records", Record.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of Domain.
func (Domain) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id"), index.Fields("top_id")}
}

// Annotations of Domain.
func (Domain) Annotations() []schema.Annotation {
	// top_id and serial are kept by the rules (internal/services/dns), whoever writes
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}}
}

// Record is one resource record of a domain's name.
type Record struct{ ent.Schema }

// Mixin of Record.
func (Record) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Record.
func (Record) Fields() []ent.Field {
	return []ent.Field{
		field.Int("domain_id"),
		// account_id is the domain's, kept by the rules: it scopes records.
		field.Int("account_id"),
		field.String("type").MaxRuneLen(8),
		field.String("value").MaxRuneLen(4096),
		// ttl is an interval ("1h", "3600"); empty takes the default.
		field.String("ttl").MaxRuneLen(16).Default(""),
	}
}

// Edges of Record.
func (Record) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("domain", Domain.Type).Ref("records").Field("domain_id").Unique().Required(),
	}
}

// Indexes of Record.
func (Record) Indexes() []ent.Index {
	return []ent.Index{index.Fields("domain_id"), index.Fields("account_id")}
}

// Annotations of Record.
func (Record) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "value"}}
}
