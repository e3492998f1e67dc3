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

// money is how prices are kept: exact to the cent (numeric(12,2)), text on
// SQLite.
var money = map[string]string{dialect.Postgres: "numeric(12,2)", dialect.SQLite: "text"}

// Service is what the panel bills for a model's objects: which objects
// (match), how much of each (metric), how often and at what price. Its field
// names, defaults and choices are django-orchestra's.
type Service struct{ ent.Schema }

// Mixin of Service.
func (Service) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Service.
func (Service) Fields() []ent.Field {
	return []ent.Field{
		field.String("description").MaxRuneLen(256).Comment("Its name, and what its bill lines start with: Mailbox, Extra disk space."),
		field.String("model").MaxRuneLen(64).Immutable().Comment("The model of the objects it bills: Mailbox, Database, Website, Account…"),
		field.String("match").MaxRuneLen(256).Default("").Comment("Which of them it bills, as an expression over the object (mailbox.quota > 1024); empty: all."),
		field.Bool("periodic_update").Default(false).Comment("Its orders are brought up to date every night (for matches and metrics that change by themselves)."),
		field.Bool("is_active").Default(true).Comment("Only an active service opens orders."),
		field.Bool("ignore_superusers").Default(true).Comment("Orders of superusers' and of staff and friends' accounts are ignored."),
		field.String("billing_period").MaxRuneLen(16).Default("ANUAL").Comment("How often it is billed: MONTHLY, ANUAL, or empty for once."),
		field.String("billing_point").MaxRuneLen(16).Default("ON_FIXED_DATE").Comment("What renewals are aligned to: ON_REGISTER (the day it was registered) or ON_FIXED_DATE (the 1st)."),
		field.Bool("is_fee").Default(false).Comment("A fee: its lines go to fee bills, not invoices."),
		field.String("order_description").MaxRuneLen(256).Default("").Comment("An expression for its orders' description; empty: the service's description and the object's name."),
		field.String("ignore_period").MaxRuneLen(16).Default("TEN_DAYS").Comment("A trial: an order cancelled within it is ignored (ONE_DAY, TWO_DAYS, TEN_DAYS, ONE_MONTH, or empty for none)."),
		field.String("metric").MaxRuneLen(256).Default("").Comment("How much of each object it bills, as an expression (mailbox.resources.disk.allocated); empty: the number of orders."),
		field.Other("nominal_price", decimal.Decimal{}).SchemaType(money).Comment("The price per unit of the metric per billing period."),
		field.Int("tax").Default(0).Comment("Its tax in percent, one of SERVICES_SERVICE_TAXES."),
		field.String("pricing_period").MaxRuneLen(16).Default("BILLING_PERIOD").Comment("The time the metric that picks the rate is read over: BILLING_PERIOD, MONTHLY, ANUAL, or empty for its value now."),
		field.String("rate_algorithm").MaxRuneLen(16).Default("STEP_PRICE").Comment("How the plans' rates price the metric: STEP_PRICE, MATCH_PRICE or BEST_PRICE."),
		field.String("on_cancel").MaxRuneLen(16).Default("DISCOUNT").Comment("What a cancelled order does to what was paid: NOTHING, DISCOUNT, COMPENSATE or REFUND."),
		field.String("payment_style").MaxRuneLen(16).Default("PREPAY").Comment("PREPAY bills the period ahead, POSTPAY the one behind."),
	}
}

// Indexes of Service: a description once.
func (Service) Indexes() []ent.Index { return []ent.Index{index.Fields("description").Unique()} }

// Annotations of Service: staff's.
func (Service) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Audit: true, Repr: "description"}, API{}}
}

// Plan is a set of rates an account is on: a default one for everybody,
// others contracted.
type Plan struct{ ent.Schema }

// Mixin of Plan.
func (Plan) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Plan.
func (Plan) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(32).Comment("Short name: basic, professional."),
		field.String("verbose_name").MaxRuneLen(128).Default("").Comment("What customers read."),
		field.Bool("is_active").Default(true).Comment("An inactive plan can no longer be contracted; its rates no longer apply."),
		field.Bool("is_default").Default(false).Comment("Every account is on it without contracting it."),
		field.Bool("is_combinable").Default(true).Comment("Its rates combine with other combinable plans' (step price)."),
		field.Bool("allow_multiple").Default(false).Comment("An account may contract it more than once."),
	}
}

// Indexes of Plan: a name once.
func (Plan) Indexes() []ent.Index { return []ent.Index{index.Fields("name").Unique()} }

// Annotations of Plan: staff's.
func (Plan) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Audit: true, Repr: "name"}, API{}}
}

// ContractedPlan is an account's contract of a plan.
type ContractedPlan struct{ ent.Schema }

// Mixin of ContractedPlan.
func (ContractedPlan) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of ContractedPlan.
func (ContractedPlan) Fields() []ent.Field {
	return []ent.Field{
		field.Int("plan_id").Immutable().Comment("The plan contracted."),
		field.Int("account_id"),
	}
}

// Edges of ContractedPlan.
func (ContractedPlan) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("plan", Plan.Type).Field("plan_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Restrict)),
		edge.To("account", Account.Type).Field("account_id").Unique().Required().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of ContractedPlan.
func (ContractedPlan) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id"), index.Fields("plan_id")}
}

// Annotations of ContractedPlan: customers see theirs; staff contract them
// until customers may choose.
func (ContractedPlan) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, StaffFields: []string{"plan_id", "account_id"}}, API{}}
}

// Rate is a price of a service from a quantity on, in a plan.
type Rate struct{ ent.Schema }

// Mixin of Rate.
func (Rate) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Rate.
func (Rate) Fields() []ent.Field {
	return []ent.Field{
		field.Int("service_id").Immutable().Comment("The service it prices."),
		field.Int("plan_id").Comment("The plan it belongs to."),
		field.Int("quantity").Default(0).Comment("From this unit of the metric on (0: from the first)."),
		field.Other("price", decimal.Decimal{}).SchemaType(money).Comment("The price per unit from there on."),
	}
}

// Edges of Rate.
func (Rate) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("service", Service.Type).Field("service_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("plan", Plan.Type).Field("plan_id").Unique().Required().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of Rate: one price per service, plan and quantity.
func (Rate) Indexes() []ent.Index {
	return []ent.Index{index.Fields("service_id", "plan_id", "quantity").Unique()}
}

// Annotations of Rate: staff's.
func (Rate) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Audit: true}, API{}}
}

// metricValue is how a metric sample is kept: numeric(16,2), text on SQLite.
var metricValue = map[string]string{dialect.Postgres: "numeric(16,2)", dialect.SQLite: "text"}

// Order is one service billing one object: opened when the object starts
// to match the service, cancelled when it stops or is deleted. Orders are
// kept by the billing service's change-stream consumer, never by hand;
// staff may only ignore one or change its description. The dates are
// calendar days (midnight UTC).
type Order struct{ ent.Schema }

// Mixin of Order.
func (Order) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Order.
func (Order) Fields() []ent.Field {
	return []ent.Field{
		field.Int("account_id").Immutable(),
		field.Int("service_id").Immutable().Comment("The service that bills it."),
		field.String("model").MaxRuneLen(64).Immutable().Comment("The model of the object it bills."),
		field.Int("object_id").Immutable().Comment("The object it bills; it may since have been deleted."),
		field.Time("registered_on").Immutable().Comment("The day it was opened."),
		field.Time("cancelled_on").Optional().Nillable().Comment("The day it was cancelled: the object was deleted or stopped matching."),
		field.Time("billed_on").Optional().Nillable().Comment("The day of the last billing run that charged it."),
		field.Time("billed_until").Optional().Nillable().Comment("What has been charged: up to this day (not included)."),
		field.Other("billed_metric", decimal.Decimal{}).SchemaType(metricValue).Optional().Nillable().Comment("The metric the last billing charged."),
		field.Bool("ignore").Default(false).Comment("Ignored orders are left out of billing: a trial cancelled within its period, an ignored account."),
		field.String("description").MaxRuneLen(256).Default("").Comment("What its bill lines say."),
		field.String("object_repr").MaxRuneLen(256).Default("").Comment("The object's name, kept after it is deleted."),
	}
}

// Edges of Order.
func (Order) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("service", Service.Type).Field("service_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of Order: an object's orders, an account's orders of a service.
func (Order) Indexes() []ent.Index {
	return []ent.Index{index.Fields("model", "object_id"), index.Fields("account_id", "service_id"), index.Fields("registered_on")}
}

// Annotations of Order: customers read theirs, named by their description
// (only staff write orders at all: the orders hook). Not audited: the
// consumer writes every order of a bulk change, and a run every order it
// bills.
func (Order) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Repr: "description", StaffFields: []string{"ignore"}},
		API{Derived: []string{"account_id", "service_id", "model", "object_id", "registered_on", "cancelled_on", "billed_on", "billed_until", "billed_metric", "object_repr"}}}
}

// MetricStorage is an order's metric as it changed: one row a day at most,
// a new one only when the value moved by more than ORDERS_METRIC_ERROR.
type MetricStorage struct{ ent.Schema }

// Fields of MetricStorage.
func (MetricStorage) Fields() []ent.Field {
	return []ent.Field{
		field.Int("order_id").Immutable(),
		field.Other("value", decimal.Decimal{}).SchemaType(metricValue),
		field.Time("created_on").Immutable().Comment("The day the value was first read."),
		field.Time("updated_on").Comment("When it was last read."),
	}
}

// Edges of MetricStorage.
func (MetricStorage) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("order", Order.Type).Field("order_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of MetricStorage.
func (MetricStorage) Indexes() []ent.Index { return []ent.Index{index.Fields("order_id")} }

// Annotations of MetricStorage: the panel's, read with its order.
func (MetricStorage) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }
