package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Mailbox is where mail is kept and read (IMAP): a virtual user of the mail
// server, not a UNIX account.
type Mailbox struct{ ent.Schema }

// Mixin of Mailbox.
func (Mailbox) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Mailbox.
func (Mailbox) Fields() []ent.Field {
	return []ent.Field{
		// name is the login.
		field.String("name").MaxRuneLen(32).Unique(),
		// password is a SHA512-CRYPT hash, as Dovecot's passwd-file takes it.
		field.String("password").MaxRuneLen(256).Default("").Sensitive(),
		field.Int("account_id"),
		// quota in MiB; nil takes MAILBOXES_DEFAULT_QUOTA, 0 is none.
		field.Int("quota").Optional().Nillable(),
		// filtering is a preset of MAILBOXES_FILTERINGS, or CUSTOM.
		field.String("filtering").MaxRuneLen(16).Default(""),
		field.Text("custom_filtering").Default(""),
		field.Bool("is_active").Default(true),
	}
}

// Edges of Mailbox: its own, so that the account needs no edit.
func (Mailbox) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.From("addresses", MailAddress.Type).Ref("mailboxes"),
	}
}

// Indexes of Mailbox.
func (Mailbox) Indexes() []ent.Index { return []ent.Index{index.Fields("account_id")} }

// Annotations of Mailbox.
func (Mailbox) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}}
}

// MailAddress is an e-mail address at one of the account's domains: it
// delivers into mailboxes and forwards elsewhere. An empty name catches
// every local part the domain has no address for.
type MailAddress struct{ ent.Schema }

// Mixin of MailAddress.
func (MailAddress) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of MailAddress.
func (MailAddress) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(64).Default(""),
		field.Int("domain_id"),
		field.Int("account_id"),
		// forward lists addresses elsewhere, or mailbox names of other accounts.
		field.Strings("forward").Optional(),
	}
}

// Edges of MailAddress.
func (MailAddress) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("mailboxes", Mailbox.Type).
			StorageKey(edge.Table("mail_address_mailboxes"), edge.Columns("mail_address_id", "mailbox_id")),
	}
}

// Indexes of MailAddress.
func (MailAddress) Indexes() []ent.Index {
	return []ent.Index{index.Fields("name", "domain_id").Unique(), index.Fields("account_id")}
}

// Annotations of MailAddress.
func (MailAddress) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}}
}

// Autoresponse answers mail to an address while it is active (Sieve
// vacation), at most once per sender per interval.
type Autoresponse struct{ ent.Schema }

// Mixin of Autoresponse.
func (Autoresponse) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Autoresponse.
func (Autoresponse) Fields() []ent.Field {
	return []ent.Field{
		field.Int("address_id").Unique(),
		field.Int("account_id"),
		field.String("subject").MaxRuneLen(256),
		field.Text("message"),
		field.Time("starts_at").Optional().Nillable(),
		field.Time("ends_at").Optional().Nillable(),
		// interval_days between two answers to the same sender.
		field.Int("interval_days").Default(1),
		field.Bool("is_active").Default(true),
	}
}

// Edges of Autoresponse.
func (Autoresponse) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("address", MailAddress.Type).Field("address_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("account", Account.Type).Field("account_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of Autoresponse.
func (Autoresponse) Indexes() []ent.Index { return []ent.Index{index.Fields("account_id")} }

// Annotations of Autoresponse.
func (Autoresponse) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "subject"}}
}
