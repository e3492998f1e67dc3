package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// CronJob is a command a system user's crontab runs on a schedule.
type CronJob struct{ ent.Schema }

// Mixin of CronJob.
func (CronJob) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of CronJob.
func (CronJob) Fields() []ent.Field {
	return []ent.Field{
		field.String("schedule").MaxRuneLen(128),
		field.String("command").MaxRuneLen(4096),
		field.Bool("is_active").Default(true),
		field.Int("account_id"),
		field.Int("system_user_id"),
	}
}

// Edges of CronJob: its own; the account and the system user take their jobs.
func (CronJob) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("system_user", SystemUser.Type).Field("system_user_id").Unique().Required().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of CronJob.
func (CronJob) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id"), index.Fields("system_user_id")}
}

// Annotations of CronJob.
func (CronJob) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "command"}}
}
