package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/shopspring/decimal"
)

// amount is how used values and samples are kept: exact decimals (a
// sample of bytes, a scaled usage to three places), text on SQLite.
var amount = map[string]string{dialect.Postgres: "numeric(30,6)", dialect.SQLite: "text"}

// Resource is "a metric X of model Y": what monitors measure of a model's
// objects (disk, traffic, counts), aggregated into their usage, held
// against what each object is allocated. Staff define resources.
type Resource struct{ ent.Schema }

// Mixin of Resource.
func (Resource) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Resource.
func (Resource) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(32).Comment("Short name, as backends and billing name it: disk, traffic."),
		field.String("label").MaxRuneLen(256).Comment("What people read: Disk space."),
		field.String("model").MaxRuneLen(64).Immutable().Comment("What it measures: a service model (SystemUser, Mailbox, Database, Website…) or Account."),
		field.String("aggregation").MaxRuneLen(16).Default("last-10-days-avg").
			Comment("How samples become usage: last, monthly-sum, monthly-avg or last-10-days-avg."),
		field.String("unit").MaxRuneLen(16).Default("").Comment("The unit usage and allocations are in: GB, MB, messages."),
		field.String("scale").MaxRuneLen(64).Default("1").Comment("What samples are divided by to be in the unit, as an expression: 10**9 turns bytes into GB."),
		field.Bool("on_demand").Default(false).Comment("Measured only when someone asks, not on a schedule; it has no allocation."),
		field.Int("default_allocation").Optional().Nillable().Comment("What each object is allocated unless changed."),
		field.Strings("monitors").Optional().Comment("The monitor backends that measure it."),
		field.String("schedule").MaxRuneLen(64).Default("").Comment("When it is measured, as five crontab fields (0 * * * *: hourly); empty: never on its own."),
		field.String("on_exceed").MaxRuneLen(16).Default("nothing").Comment("What happens when an object uses more than it is allocated: nothing, alert or disable."),
		field.Bool("is_active").Default(true).Comment("An inactive resource is not measured."),
		field.Time("measured_at").Optional().Nillable().Comment("When it was last measured."),
		// claimed_until: a panel is measuring it until then (one run at a
		// time, whatever the number of panels and who asked).
		field.Time("claimed_until").Optional().Nillable(),
	}
}

// Indexes of Resource: a name and a label once per model.
func (Resource) Indexes() []ent.Index {
	return []ent.Index{index.Fields("model", "name").Unique(), index.Fields("model", "label").Unique()}
}

// Annotations of Resource: staff's.
func (Resource) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Audit: true, Repr: "name"}, API{Derived: []string{"measured_at"}, Internal: []string{"claimed_until"}}}
}

// ResourceData is one object's allocation and usage of one resource.
type ResourceData struct{ ent.Schema }

// Mixin of ResourceData.
func (ResourceData) Mixin() []ent.Mixin { return []ent.Mixin{VersionMixin{}} }

// Fields of ResourceData.
func (ResourceData) Fields() []ent.Field {
	return []ent.Field{
		field.Int("resource_id").Immutable(),
		field.Int("object_id").Immutable(),
		// account_id is the object's account (the account's own id for an
		// Account resource): customers see their objects' usage.
		field.Int("account_id").Immutable(),
		field.Other("used", decimal.Decimal{}).SchemaType(amount).Optional().Nillable(),
		field.Int("allocated").Optional().Nillable(),
		// updated_at is when used was last computed; nil: never measured.
		field.Time("updated_at").Optional().Nillable(),
		// exceeded remembers the state, so that exceeded and recovery fire
		// once each time usage crosses the allocation.
		field.Bool("exceeded").Default(false),
	}
}

// Edges of ResourceData.
func (ResourceData) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("resource", Resource.Type).Field("resource_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("account", Account.Type).Field("account_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of ResourceData: one per resource and object.
func (ResourceData) Indexes() []ent.Index {
	return []ent.Index{index.Fields("resource_id", "object_id").Unique(), index.Fields("account_id")}
}

// Annotations of ResourceData: the object's account reads it; only the
// panel and staff write it (a hook of the resources service): allocations
// are staff's until plans say what customers may choose. Not audited: each
// measuring updates every object's usage (an exceeded limit and its
// recovery are recorded in the object's own history).
func (ResourceData) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id"}}
}

// MonitorSample is one value a monitor printed for one of its objects.
type MonitorSample struct{ ent.Schema }

// Fields of MonitorSample.
func (MonitorSample) Fields() []ent.Field {
	return []ent.Field{
		field.String("monitor").MaxRuneLen(64).Immutable(),
		field.Int("object_id").Immutable(),
		field.Time("created_at").Immutable(),
		field.Other("value", decimal.Decimal{}).SchemaType(amount).Immutable(),
		// state is what a monitor that diffs counters keeps between runs.
		field.Other("state", decimal.Decimal{}).SchemaType(amount).Optional().Nillable(),
	}
}

// Indexes of MonitorSample: an object's samples in time order.
func (MonitorSample) Indexes() []ent.Index {
	return []ent.Index{index.Fields("monitor", "object_id", "created_at")}
}

// Annotations of MonitorSample: the panel's own record.
func (MonitorSample) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{}}
}
