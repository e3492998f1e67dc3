package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Session is a panel login session (the scs session store).
type Session struct{ ent.Schema }

// Fields of Session.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").MaxLen(64).Unique().Immutable().StorageKey("token"),
		field.Bytes("data"),
		field.Time("expiry"),
	}
}

// Indexes of Session.
func (Session) Indexes() []ent.Index { return []ent.Index{index.Fields("expiry")} }

// Annotations of Session: internal, staff only.
func (Session) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }

// IdempotencyKey remembers the response to a POST so a retry replays it.
type IdempotencyKey struct{ ent.Schema }

// Fields of IdempotencyKey.
func (IdempotencyKey) Fields() []ent.Field {
	return []ent.Field{
		// scope identifies the caller (account) so keys of callers never collide.
		field.String("scope").MaxLen(64),
		field.String("key").MaxLen(255),
		field.String("fingerprint").MaxLen(64),
		field.Int("status").Default(0),
		field.String("content_type").Default(""),
		field.String("location").Default(""),
		field.Bytes("body").Optional(),
		field.Time("created_at"),
	}
}

// Indexes of IdempotencyKey.
func (IdempotencyKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("scope", "key").Unique(), index.Fields("created_at")}
}

// Annotations of IdempotencyKey: internal, staff only.
func (IdempotencyKey) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }
