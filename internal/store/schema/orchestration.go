package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Server is a machine the panel runs backend scripts on, over SSH.
type Server struct{ ent.Schema }

// Mixin of Server.
func (Server) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Server.
func (Server) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxRuneLen(256).Unique(),
		// address is an IP or a host name; empty means the name is the address.
		field.String("address").MaxRuneLen(256).Default(""),
		field.Int("ssh_port").Default(22).Range(1, 65535),
		field.String("ssh_user").MaxRuneLen(32).Default("root"),
		// host_key is the pinned key in authorized_keys form; empty until
		// staff confirm the key the server presents.
		field.String("host_key").MaxRuneLen(4096).Default(""),
		field.Text("description").Default(""),
		field.String("os").MaxRuneLen(32).Default("LINUX"),
		// settings override setting values for this server (paths, daemon names).
		field.JSON("settings", map[string]string{}).Default(map[string]string{}),
		field.Bool("is_active").Default(true),
	}
}

// Edges of Server.
func (Server) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("routes", Route.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Annotations of Server: staff only, audited.
func (Server) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Audit: true, Repr: "name"}}
}

// Route sends a backend's operations to a server when its match holds.
type Route struct{ ent.Schema }

// Mixin of Route.
func (Route) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}, VersionMixin{}} }

// Fields of Route.
func (Route) Fields() []ent.Field {
	return []ent.Field{
		field.String("backend").MaxRuneLen(128),
		field.Int("server_id"),
		// match is an expr-lang expression over the object, e.g.
		// `database.type == "mysql"`; "true" matches everything.
		field.String("match").MaxRuneLen(1024).Default("true"),
		field.Bool("async").Default(false),
		field.Strings("async_actions").Default([]string{}),
		field.Bool("is_active").Default(true),
	}
}

// Edges of Route.
func (Route) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("server", Server.Type).Ref("routes").Field("server_id").Unique().Required(),
	}
}

// Indexes of Route.
func (Route) Indexes() []ent.Index {
	return []ent.Index{index.Fields("backend", "server_id").Unique()}
}

// Annotations of Route: staff only, audited.
func (Route) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Audit: true, Repr: "backend"}}
}

// Change is one saved or deleted service object, written in the same
// transaction as the write itself (a transactional outbox): the planner turns
// changes into operations, and a deleted object can still be applied from
// its snapshot.
type Change struct{ ent.Schema }

// Fields of Change.
func (Change) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Immutable(),
		field.String("model").Immutable(),
		field.Int("object_id").Immutable(),
		field.String("action").Immutable(),
		// fields names the fields an update set; empty for creates, deletes
		// and updates through paths that cannot tell.
		field.Strings("fields").Optional().Immutable(),
		field.JSON("snapshot", map[string]any{}).Immutable(),
		field.String("repr").Default("").Immutable(),
		field.Int("account_id").Optional().Nillable().Immutable(),
		field.String("actor").Default("").Immutable(),
		field.String("channel").Default("").Immutable(),
		// planned_at is set once the planner has turned the change into operations.
		field.Time("planned_at").Optional().Nillable(),
	}
}

// Indexes of Change.
func (Change) Indexes() []ent.Index {
	return []ent.Index{index.Fields("planned_at"), index.Fields("model", "object_id")}
}

// Annotations of Change: internal, staff only.
func (Change) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }

// ExecutionLog is one unit of work: the script of one backend on one
// server for a batch of operations, and how running it went.
type ExecutionLog struct{ ent.Schema }

// Fields of ExecutionLog.
func (ExecutionLog) Fields() []ent.Field {
	return []ent.Field{
		field.String("backend"),
		field.Int("server_id"),
		field.String("state").Default("RECEIVED"),
		field.Bool("async").Default(false),
		// script is what staff and alerts see: secret values masked.
		field.Text("script").Default(""),
		// secret_script is the script as it runs, secrets included, and
		// secrets the values masked in script and output; both only while
		// the unit may still run (see docs/secrets.md).
		field.Text("secret_script").Default("").Sensitive(),
		field.Strings("secrets").Optional().Sensitive(),
		field.Text("stdout").Default(""),
		field.Text("stderr").Default(""),
		field.Int("exit_code").Optional().Nillable(),
		// error explains a state that no exit code does (TIMEOUT, ERROR, ABORTED).
		field.Text("error").Default(""),
		field.Int("attempts").Default(0),
		// retry_of is the log this one runs again.
		field.Int("retry_of").Optional().Nillable(),
		field.Time("created_at").Immutable(),
		field.Time("updated_at"),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
		// next_attempt_at delays a retry after a transport failure.
		field.Time("next_attempt_at").Optional().Nillable(),
	}
}

// Edges of ExecutionLog.
func (ExecutionLog) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("operations", Operation.Type),
	}
}

// Indexes of ExecutionLog.
func (ExecutionLog) Indexes() []ent.Index {
	return []ent.Index{index.Fields("server_id", "state"), index.Fields("created_at"), index.Fields("state")}
}

// Annotations of ExecutionLog: internal, staff only.
func (ExecutionLog) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }

// Operation is what a change asks of one backend: one row per object and
// backend, in a log when a route sent it to a server, or SKIPPED when none did.
type Operation struct{ ent.Schema }

// Fields of Operation.
func (Operation) Fields() []ent.Field {
	return []ent.Field{
		field.Int("log_id").Optional().Nillable(),
		field.Int("change_id").Optional().Nillable(),
		field.Int("server_id").Optional().Nillable(),
		field.String("backend"),
		field.String("action"),
		field.String("model"),
		field.Int("object_id"),
		field.String("repr").Default(""),
		field.Int("account_id").Optional().Nillable(),
		field.JSON("snapshot", map[string]any{}),
		// args are a custom action's arguments (a path to grant, …).
		field.JSON("args", map[string]string{}).Optional(),
		// state is SKIPPED for an operation no route took, else that of its log.
		field.String("state").Default("RECEIVED"),
		field.Time("created_at").Immutable(),
	}
}

// Edges of Operation.
func (Operation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("log", ExecutionLog.Type).Ref("operations").Field("log_id").Unique(),
	}
}

// Indexes of Operation.
func (Operation) Indexes() []ent.Index {
	return []ent.Index{index.Fields("log_id"), index.Fields("model", "object_id"), index.Fields("change_id")}
}

// Annotations of Operation: an account sees the operations on its objects
// (to follow its own writes); only the system writes them.
func (Operation) Annotations() []schema.Annotation {
	return []schema.Annotation{Scope{Owner: "account_id", StaffFields: []string{
		"log_id", "change_id", "server_id", "backend", "action", "model", "object_id", "repr", "account_id",
		"snapshot", "state", "created_at"}}}
}

// Lane is the lease on one server's ordered lane of units: whoever holds an
// unexpired lease is the only process running units on that server.
type Lane struct{ ent.Schema }

// Fields of Lane.
func (Lane) Fields() []ent.Field {
	return []ent.Field{
		field.Int("id").Positive().Immutable(), // the server's id
		field.String("owner").Default(""),
		// expires is when the lease ends, in milliseconds since the epoch
		// of the database's clock: processes never compare their own clocks.
		field.Int64("expires").Optional().Nillable(),
		// generation grows whenever the lane changes hands; every result a
		// holder writes is checked against it (fencing).
		field.Int64("generation").Default(0),
	}
}

// Annotations of Lane: internal, staff only.
func (Lane) Annotations() []schema.Annotation { return []schema.Annotation{Scope{}} }
