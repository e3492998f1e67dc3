package resources

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resource"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Usage is one object's allocation and usage of one resource, as the API
// shows it.
type Usage struct {
	ID         int        `json:"id"`
	Resource   int        `json:"resource"`
	Name       string     `json:"name" doc:"The resource's name: disk, traffic."`
	Label      string     `json:"label" doc:"The resource's label: Disk space."`
	Model      string     `json:"model" doc:"The measured object's model: Mailbox, Database, Account…"`
	Object     int        `json:"object" doc:"The measured object's id."`
	ObjectName string     `json:"object_name" doc:"The measured object's name."`
	Account    int        `json:"account"`
	Unit       string     `json:"unit"`
	Used       *string    `json:"used" doc:"In the unit, to three decimals; empty until measured."`
	Allocated  *int       `json:"allocated" doc:"In the unit; empty: no limit."`
	Exceeded   bool       `json:"exceeded" doc:"It uses more than it is allocated."`
	UpdatedAt  *time.Time `json:"updated_at" doc:"When its usage was last computed."`
	Version    int        `json:"version"`
}

type usagePatch struct {
	Allocated *int `json:"allocated,omitempty" minimum:"0" doc:"In the resource's unit. A model whose backends enforce it (a mailbox's quota) gets it at once."`
	Version   *int `json:"version,omitempty" doc:"The version read: a change made since is refused."`
}

type usageList struct {
	api.ListParams
	Account  int           `query:"account" minimum:"0"`
	Resource int           `query:"resource" minimum:"0"`
	Model    string        `query:"model" maxLength:"64" doc:"Objects of this model only."`
	Object   int           `query:"object" minimum:"0" doc:"This object only (with model)."`
	Exceeded api.BoolParam `query:"exceeded" enum:"true,false" doc:"Those over their allocation (true), or not."`
}

func (l usageList) Filters() []any {
	return []any{"account_id", l.Account, "resource_id", l.Resource, "object_id", l.Object}
}

func (l usageList) Where() []func(*sql.Selector) {
	var out []func(*sql.Selector)
	if l.Model != "" {
		out = append(out, resourcedata.HasResourceWith(resource.Model(l.Model)))
	}
	switch l.Exceeded {
	case "true":
		out = append(out, resourcedata.Exceeded(true))
	case "false":
		out = append(out, resourcedata.Exceeded(false))
	}
	return out
}

func usageOut(d *ent.ResourceData) Usage {
	u := Usage{ID: d.ID, Resource: d.ResourceID, Object: d.ObjectID, Account: d.AccountID, Allocated: d.Allocated,
		Exceeded: d.Exceeded, UpdatedAt: d.UpdatedAt, Version: d.Version}
	if r := d.Edges.Resource; r != nil {
		u.Name, u.Label, u.Model, u.Unit = r.Name, r.Label, r.Model, r.Unit
	} else {
		u.Name, u.Label, u.Model, u.Unit = joined(d, "name"), joined(d, "label"), joined(d, "model"), joined(d, "unit")
	}
	u.ObjectName = joined(d, "object")
	if d.Used != nil {
		s := d.Used.StringFixed(3)
		u.Used = &s
	}
	return u
}

// Usages are every object's allocation and usage of each resource: staff
// see and allocate all, customers see their objects'.
var Usages = api.Model[ent.ResourceData, *ent.ResourceDataQuery, Usage, struct{}, usagePatch, usageList]{
	Name: "usage", Plural: "usage", Tag: "Resources",
	List: "List objects' usage of resources", Get: "Get an object's usage of a resource",
	Update:        "Change an object's allocation of a resource (staff)",
	Delete:        "Forget an object's usage of a resource; the next measuring starts it again (staff)",
	UpdateExample: map[string]any{"allocated": 20, "version": 1},
	Listing:       api.Listing{Orderable: []string{"id", "object_id", "updated_at", "account_id", "resource_id"}, Default: "resource_id,object_id"},
	Presentation: api.Presentation{Name: "usage", Label: "Usage", Singular: "Usage", Group: "activity", Type: "ResourceData",
		Fieldsets: []api.Fieldset{api.Set("", "allocated")},
		Title:     "label", Columns: []string{"object_name", "model", "used", "allocated", "unit", "exceeded", "account"},
		// ids and the resource's code name mean something to staff only
		StaffFields: []string{"object", "resource", "name"}},
	Client: func(c *ent.Client) api.Client[ent.ResourceData, *ent.ResourceDataQuery] { return c.ResourceData },
	Load:   withResource,
	Out:    usageOut,
}

// withResource reads with each row its resource's names and unit: resources
// are staff's to read as objects, what a customer's usage is of is not.
func withResource(q *ent.ResourceDataQuery) *ent.ResourceDataQuery {
	return q.Modified(func(s *sql.Selector) {
		for _, c := range resourceColumns {
			s.AppendSelectExprAs(sql.Raw(fmt.Sprintf(`(SELECT "%s" FROM "resources" WHERE "resources"."id" = %s)`, c, s.C(resourcedata.FieldResourceID))), "resource_"+c)
		}
		s.AppendSelectExprAs(sql.Raw(objectName(s.C(resourcedata.FieldResourceID), s.C(resourcedata.FieldObjectID))), "resource_object")
	})
}

// objectName is the SQL reading the measured object's name: its model's
// name column, chosen by the resource's model (names and columns are the
// schema's, never input).
func objectName(resourceID, objectID string) string {
	return strings.NewReplacer("{resource}", resourceID, "{object}", objectID).Replace(objectNameSQL())
}

// objectNameSQL is objectName's CASE, with {resource} and {object} for the
// columns, built once every service has declared its measurable models.
var objectNameSQL = sync.OnceValue(func() string {
	var b strings.Builder
	b.WriteString(`CASE (SELECT "model" FROM "resources" WHERE "resources"."id" = {resource})`)
	n := 0
	for _, model := range Measurable() {
		meta, ok := ent.Meta[model]
		if !ok || meta.Repr == "" {
			continue
		}
		fmt.Fprintf(&b, ` WHEN '%s' THEN (SELECT CAST("%s" AS TEXT) FROM "%s" WHERE "%s"."id" = {object})`, model, meta.Repr, meta.Table, meta.Table)
		n++
	}
	if n == 0 {
		return "''"
	}
	b.WriteString(" END")
	return b.String()
})

var resourceColumns = []string{resource.FieldName, resource.FieldLabel, resource.FieldModel, resource.FieldUnit}

func joined(d *ent.ResourceData, column string) string {
	v, err := d.Value("resource_" + column)
	if err != nil {
		return ""
	}
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return fmt.Sprint(v)
}

func init() {
	api.Declare(Usages)
	api.Operations(usageOperations)
	// usage is the panel's record: customers read theirs, staff allocate and
	// forget it, never a row over its allocation (it holds the state its
	// enforcers go by)
	store.RegisterHook("ResourceData", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.ResourceDataFunc(func(ctx context.Context, m *ent.ResourceDataMutation) (ent.Value, error) {
			deleting := m.Op().Is(ent.OpDelete | ent.OpDeleteOne)
			if err := authz.RequireStaff(ctx); err != nil {
				if deleting {
					return nil, &authz.Forbidden{Message: i18n.M("Usage is measured by the panel; only staff may forget it.")}
				}
				return nil, &authz.Forbidden{Message: i18n.M("Usage is measured by the panel, and staff allocate it.")}
			}
			if v, _ := viewer.From(ctx); !deleting || v.System {
				return next.Mutate(ctx, m) // the panel forgetting deleted objects' usage
			}
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			if over, err := m.Client().ResourceData.Query().Where(resourcedata.IDIn(ids...), resourcedata.Exceeded(true)).Exist(ctx); err != nil || over {
				if err == nil {
					err = huma.Error409Conflict(i18n.T(ctx, "It is over its allocation: raise the allocation, or wait until it recovers, before forgetting its usage."))
				}
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	// an allocation changed by staff reaches the field its model's backends
	// enforce (a mailbox's quota), in the same transaction
	store.RegisterHook("ResourceData", ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.ResourceDataFunc(func(ctx context.Context, m *ent.ResourceDataMutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			if _, set := m.Allocated(); err != nil || !set && !m.AllocatedCleared() {
				return v, err
			}
			d := v.(*ent.ResourceData)
			tx, err := m.Tx()
			if err != nil {
				return nil, err
			}
			r, err := tx.Resource.Get(ctx, d.ResourceID)
			if err != nil {
				return nil, err
			}
			a, ok := allocationOf(r.Model)
			if !ok {
				return v, nil
			}
			var field *int
			if d.Allocated != nil {
				n, err := a.toField(r, *d.Allocated)
				if err != nil {
					return nil, err
				}
				field = &n
			}
			if cur, err := a.Get(ctx, tx, d.ObjectID); err != nil || equalInts(cur, field) {
				return v, err
			}
			return v, a.Set(ctx, tx, d.ObjectID, field)
		})
	})
}

func equalInts(a, b *int) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

type historyParams struct {
	api.IDPath
	Days int `query:"days" minimum:"1" maximum:"731" default:"31" doc:"How many days back from now."`
}

// usageOperations: an object's history of a resource, and its refresh.
func usageOperations(s *api.Server) {
	a, st := s.API(), s.Store()
	hist := api.DataOnly(api.Op("get-usage-history", http.MethodGet, "/usage/{id}/history", "An object's samples and usage of a resource over time", "Resources"))
	huma.Register(a, hist, func(ctx context.Context, in *historyParams) (*struct{ Body History }, error) {
		d, err := st.ResourceData.Get(ctx, in.ID) // another account's is missing
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		sys := viewer.System(ctx, viewer.ChannelSystem)
		r, err := st.Resource.Get(sys, d.ResourceID)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		to := time.Now().UTC()
		h, err := HistoryOf(sys, st, r, d.ObjectID, to.Add(-time.Duration(in.Days)*24*time.Hour), to)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct{ Body History }{h}, nil
	})
	refresh := api.Labelled(api.Op("refresh-usage", http.MethodPost, "/usage/{id}/refresh",
		"Measure the object's usage of the resource now", "Resources"), "Measure again")
	refresh.DefaultStatus = http.StatusOK
	refresh.Description = "Runs the resource's monitors for this object on its servers and waits for them (RESOURCES_MONITOR_WAIT). A measuring of the resource under way answers 409."
	huma.Register(a, refresh, func(ctx context.Context, in *struct{ api.IDPath }) (*struct{ Body Usage }, error) {
		d, err := st.ResourceData.Get(ctx, in.ID)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		ex, err := s.Executor(ctx)
		if err != nil {
			return nil, err
		}
		ran, err := Refresh(ctx, st, ex, d.ResourceID, d.ObjectID)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		if !ran {
			return nil, huma.Error409Conflict(i18n.T(ctx, "This resource is being measured: try again in a moment."))
		}
		if d, err = withResource(st.ResourceData.Query().Where(resourcedata.ID(in.ID))).Only(ctx); err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct{ Body Usage }{usageOut(d)}, nil
	})
	measureNow := api.Labelled(api.Op("measure-resource", http.MethodPost, "/resources/{id}/measure",
		"Measure every object's usage of the resource now (staff)", "Resources"), "Measure now")
	measureNow.DefaultStatus = http.StatusOK
	measureNow.Description = "Runs the resource's monitors on every server their routes pick, on demand or between its scheduled runs, and waits for them. A measuring under way answers 409."
	huma.Register(a, measureNow, func(ctx context.Context, in *struct{ api.IDPath }) (*struct{ Body Round }, error) {
		r, err := st.Resource.Get(ctx, in.ID)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		ex, err := s.Executor(ctx)
		if err != nil {
			return nil, err
		}
		var round Round
		ran, err := runWith(ctx, st, ex, r.ID, 0, time.Now().UTC().Truncate(time.Second), &round)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		if !ran {
			return nil, huma.Error409Conflict(i18n.T(ctx, "This resource is being measured: try again in a moment."))
		}
		if round.Failed == nil {
			round.Failed = []string{}
		}
		return &struct{ Body Round }{round}, nil
	})
}
