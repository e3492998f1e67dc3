package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Session is a panel login session (the scs session store). Rows are keyed
// by the SHA-256 of the session token, so reading the table does not yield a
// cookie that logs in.
type Session struct{ ent.Schema }

// Fields of Session.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").MaxLen(64).Unique().Immutable().StorageKey("token_hash"),
		field.Bytes("data"),
		field.Time("expiry"),
		// account_id is the logged-in account, so a password change can end
		// that account's other sessions; empty before login.
		field.Int("account_id").Optional().Nillable(),
	}
}

// Indexes of Session.
func (Session) Indexes() []ent.Index {
	return []ent.Index{index.Fields("expiry"), index.Fields("account_id")}
}

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
		// withheld names the response fields marked secret that were not
		// kept: a replay says they were shown once instead of repeating them.
		field.String("withheld").Default(""),
		field.Time("created_at"),
		// While status is 0 the request runs in the process holder (a random
		// id per process start) of instance (host and listen address), which
		// renews held_until while it runs. A retry takes over a key whose
		// holder stopped renewing, or that an earlier life of its own
		// instance left behind: that request died with its process.
		field.String("holder").MaxLen(64).Default(""),
		field.String("instance").MaxLen(255).Default(""),
		field.Time("held_until").Optional().Nillable(),
	}
}

// Indexes of IdempotencyKey.
func (IdempotencyKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("scope", "key").Unique(), index.Fields("created_at")}
}

// Annotations of IdempotencyKey: internal, staff only.
func (IdempotencyKey) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }

// Throttle counts failures (logins, current-password checks) per kind and
// key in a fixed window, in the database so every panel process shares it.
type Throttle struct{ ent.Schema }

// Fields of Throttle.
func (Throttle) Fields() []ent.Field {
	return []ent.Field{
		// kind is what is counted (login by username, login by address,
		// password check by account); key is the username, address or id.
		field.String("kind").MaxLen(32),
		field.String("key").MaxLen(255),
		field.Int("count").Default(0),
		field.Time("window_start"),
	}
}

// Indexes of Throttle.
func (Throttle) Indexes() []ent.Index {
	return []ent.Index{index.Fields("kind", "key").Unique(), index.Fields("window_start")}
}

// Annotations of Throttle: internal, staff only.
func (Throttle) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }
