package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// StreamCursor is how far one consumer of the change stream (billing's
// orders, notifications, …) has got: the planner follows changes by their
// planned_at, every other consumer by a cursor of its own, moved in the
// transaction that handles the changes (internal/orchestration/stream.go).
type StreamCursor struct{ ent.Schema }

// Fields of StreamCursor.
func (StreamCursor) Fields() []ent.Field {
	return []ent.Field{
		// name is the consumer's, as registered.
		field.String("name").MaxRuneLen(128).NotEmpty().Unique().Immutable(),
		// position is the change id up to which every change is handled,
		// of no concern to the consumer, or given up as never to commit.
		field.Int("position").Default(0),
		// handled are the ids above position already handled: changes that
		// committed while an older id, still missing, holds position back.
		field.Ints("handled").Optional(),
		// gap_fence and gap_xmax (PostgreSQL only) date the missing ids
		// below gap_fence: the transaction that took any of them, if it
		// had begun writing, has an id below gap_xmax, so once every
		// transaction below gap_xmax has ended such an id never commits.
		field.Int("gap_fence").Default(0),
		field.Int64("gap_xmax").Default(0),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

// Annotations of StreamCursor: internal, staff only.
func (StreamCursor) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }
