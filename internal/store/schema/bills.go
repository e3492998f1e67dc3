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

// quantityValue is a line's quantity, numeric(12,2) as the original.
var quantityValue = map[string]string{dialect.Postgres: "numeric(12,2)", dialect.SQLite: "text"}

// Bill is an invoice, an amendment of one, a fee, an amendment of one or a
// pro forma. A bill is made open by a billing run and takes lines while it
// is; closing freezes its number, lines and rendering.
type Bill struct{ ent.Schema }

// Mixin of Bill.
func (Bill) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Bill.
func (Bill) Fields() []ent.Field {
	return []ent.Field{
		field.String("number").MaxRuneLen(16).Comment("I20260001; an open bill's starts with O."),
		field.Int("account_id").Immutable(),
		field.Int("amend_of_id").Optional().Nillable().Immutable().Comment("The bill an amendment amends."),
		field.String("type").MaxRuneLen(16).Immutable().Comment("INVOICE, AMENDMENTINVOICE, FEE, AMENDMENTFEE or PROFORMA."),
		field.Time("closed_on").Optional().Nillable().Comment("When it was closed: its number and lines are final."),
		field.Bool("is_open").Default(true).Comment("An open bill takes lines; a closed one is final."),
		field.Bool("is_sent").Default(false).Comment("It was mailed to the account's billing contacts."),
		field.Time("due_on").Optional().Nillable().Comment("When it is to be paid."),
		field.Other("total", decimal.Decimal{}).SchemaType(money).Comment("Its lines with their discounts and taxes, rounded once."),
		field.Text("comments").Default("").Comment("Printed on the bill."),
		field.Text("html").Default("").Comment("Its rendering, frozen when closed."),
	}
}

// Edges of Bill.
func (Bill) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Restrict)),
		edge.To("amend_of", Bill.Type).Field("amend_of_id").Unique().Immutable().Annotations(entsql.OnDelete(entsql.Restrict)),
	}
}

// Indexes of Bill: a number once; an account's open bills.
func (Bill) Indexes() []ent.Index {
	return []ent.Index{index.Fields("number").Unique(), index.Fields("account_id", "type", "is_open"), index.Fields("closed_on")}
}

// Annotations of Bill: customers read theirs; staff make them by billing
// runs and change comments and due dates.
func (Bill) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "number", StaffFields: []string{"comments", "due_on"}},
		API{Derived: []string{"number", "account_id", "amend_of_id", "type", "closed_on", "is_open", "is_sent", "total"}, Internal: []string{"html"}}}
}

// BillLine is a line of a bill: what one order was charged for a stretch,
// at the nominal price, with its discounts as sub-lines.
type BillLine struct{ ent.Schema }

// Mixin of BillLine.
func (BillLine) Mixin() []ent.Mixin { return []ent.Mixin{VersionMixin{}} }

// Fields of BillLine.
func (BillLine) Fields() []ent.Field {
	return []ent.Field{
		field.Int("bill_id").Immutable(),
		field.Int("account_id").Immutable().Comment("The bill's account."),
		field.String("description").MaxRuneLen(256),
		field.Other("rate", decimal.Decimal{}).SchemaType(money).Optional().Nillable().Comment("The service's nominal price."),
		field.Other("quantity", decimal.Decimal{}).SchemaType(quantityValue).Optional().Nillable().Comment("Metric × size."),
		field.String("verbose_quantity").MaxRuneLen(16).Default("").Comment("The quantity as printed: 0.57, 10×2."),
		field.Other("subtotal", decimal.Decimal{}).SchemaType(money).Comment("At the nominal price."),
		field.Int("tax").Default(0).Comment("In percent."),
		field.Time("start_on"),
		field.Time("end_on").Optional().Nillable().Comment("Empty for one-time services."),
		field.Int("order_id").Optional().Nillable().Comment("The order it charges."),
		field.Time("order_billed_on").Optional().Nillable().Comment("The order's billed on before this line: undoing the line restores it."),
		field.Time("order_billed_until").Optional().Nillable().Comment("The order's billed until before this line: undoing the line restores it."),
		field.Other("order_billed_metric", decimal.Decimal{}).SchemaType(metricValue).Optional().Nillable().Comment("The order's billed metric before this line."),
		field.Int("amended_line_id").Optional().Nillable().Comment("The line an amendment reverses."),
		field.Time("created_on").Immutable(),
	}
}

// Edges of BillLine.
func (BillLine) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("bill", Bill.Type).Field("bill_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("order", Order.Type).Field("order_id").Unique().Annotations(entsql.OnDelete(entsql.SetNull)),
		edge.To("sublines", BillSubline.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of BillLine.
func (BillLine) Indexes() []ent.Index {
	return []ent.Index{index.Fields("bill_id"), index.Fields("order_id"), index.Fields("account_id")}
}

// Annotations of BillLine: read with its bill.
func (BillLine) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id"}}
}

// BillSubline is a discount of a line: PLAN, COMPENSATION, PREPAY or
// OTHER.
type BillSubline struct{ ent.Schema }

// Fields of BillSubline.
func (BillSubline) Fields() []ent.Field {
	return []ent.Field{
		field.Int("bill_line_id").Immutable(),
		field.Int("account_id").Immutable().Comment("The bill's account."),
		field.String("description").MaxRuneLen(256),
		field.Other("total", decimal.Decimal{}).SchemaType(money),
		field.String("type").MaxRuneLen(16).Default("OTHER"),
	}
}

// Edges of BillSubline.
func (BillSubline) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("line", BillLine.Type).Ref("sublines").Field("bill_line_id").Unique().Required().Immutable().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of BillSubline.
func (BillSubline) Indexes() []ent.Index {
	return []ent.Index{index.Fields("bill_line_id"), index.Fields("account_id")}
}

// Annotations of BillSubline: read with its line.
func (BillSubline) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id"}}
}

// BillContact is who an account's bills are made out to: the buyer's, and
// the main account's for the seller.
type BillContact struct{ ent.Schema }

// Mixin of BillContact.
func (BillContact) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of BillContact.
func (BillContact) Fields() []ent.Field {
	return []ent.Field{
		field.Int("account_id"),
		field.String("name").MaxRuneLen(256).Default("").Comment("Empty: the account's full name."),
		field.Text("address").Comment("Street and number."),
		field.String("city").MaxRuneLen(128).Default("Barcelona"),
		field.String("zipcode").MaxRuneLen(10).Comment("3 to 10 capital letters and digits."),
		field.String("country").MaxRuneLen(2).Default("ES").Comment("ISO 3166 code: ES, FR, DE…"),
		field.String("vat").MaxRuneLen(64).Comment("The tax identification number bills carry."),
	}
}

// Edges of BillContact.
func (BillContact) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("account", Account.Type).Field("account_id").Unique().Required().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of BillContact: one per account.
func (BillContact) Indexes() []ent.Index { return []ent.Index{index.Fields("account_id").Unique()} }

// Annotations of BillContact: the account's own to keep.
func (BillContact) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", Audit: true, Repr: "name"}, API{}}
}
