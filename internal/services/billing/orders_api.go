package billing

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/api/models"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/service"
)

// OrdersUpdate is what bringing a service's orders up to date did, or
// would do.
type OrdersUpdate struct {
	Committed bool     `json:"committed" doc:"False: a preview; nothing was changed."`
	Created   []string `json:"created" doc:"The orders opened, by description."`
	Cancelled []string `json:"cancelled" doc:"The orders cancelled, by description."`
	Updated   int      `json:"updated" doc:"How many open orders were brought up to date (metric, description)."`
}

type updateOrdersIn struct {
	api.IDPath
	Body struct {
		Commit bool `json:"commit,omitempty" doc:"Change the orders; without it, only say what would change."`
	}
}

func init() {
	models.DeclareOrder(models.OrderModel{Name: "order", Plural: "orders", Tag: "Billing",
		List: "List orders", Get: "Get an order", Update: "Ignore an order, or change its description (staff)",
		Delete:        "Remove an order: it is billed no more and no trace of it is kept (staff)",
		UpdateExample: map[string]any{"ignore": true, "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "registered_on", "cancelled_on", "billed_until", "account_id", "service_id"}, Search: []string{"description", "object_repr"}, Default: "-registered_on,id"},
		Presentation: api.Presentation{Name: "order", Label: "Orders", Singular: "Order", Group: "accounts", Type: "Order",
			Title: "description", Columns: []string{"service", "registered_on", "cancelled_on", "billed_until", "ignore", "account"},
			Fieldsets: []api.Fieldset{api.Set("", "description", "ignore")},
			// what object an order bills is staff's to follow; its
			// description says in words what it is for
			StaffFields: []string{"model", "object_id", "service"},
			Previewed:   []api.Previewed{{Verb: "bill", Label: i18n.M("bill"), Path: "/orders/bill", Field: "orders"}}},
	})
	api.Operations(orderOperations)
	// orders are the panel's record of what it bills: the consumer keeps
	// them, staff only ignore one or reword it
	store.RegisterHook("Order", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.OrderFunc(func(ctx context.Context, m *ent.OrderMutation) (ent.Value, error) {
			if err := authz.RequireStaff(ctx); err != nil {
				return nil, &authz.Forbidden{Message: i18n.M("Orders follow the services an account has; staff may ignore one.")}
			}
			return next.Mutate(ctx, m)
		})
	})
	// every night, orders whose services' matches and metrics change by
	// themselves (periodic_update, or a metric: usage measured meanwhile)
	// are brought up to date
	jobs.RegisterPeriodic(jobs.Periodic{Name: "billing.update-orders", Every: 24 * time.Hour, Run: func(ctx context.Context, st *store.Store) error {
		return UpdatePeriodic(ctx, st)
	}})
}

// UpdatePeriodic brings up to date the orders of every active service with
// periodic_update or a metric, a transaction per service.
func UpdatePeriodic(ctx context.Context, st *store.Store) error {
	svcs, err := st.Service.Query().Where(service.IsActive(true), service.Or(service.PeriodicUpdate(true), service.MetricNEQ(""))).All(ctx)
	if err != nil {
		return err
	}
	for _, s := range svcs {
		if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			_, err := UpdateOrders(ctx, tx, s)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

func orderOperations(s *api.Server) {
	a, st := s.API(), s.Store()
	up := api.Example(api.Labelled(api.Op("update-orders", http.MethodPost, "/services/{id}/update-orders",
		"Bring the service's orders up to date with its objects (staff)", "Billing"), "Update orders"), map[string]any{"commit": false})
	up.DefaultStatus = http.StatusOK
	up.Description = "Opens an order for every object the service matches and has none, cancels those of objects it no longer matches, and refreshes the rest. Without commit, it only says what it would do. Orders follow objects by themselves; this is for objects changed outside the panel and for services' matches that change by themselves."
	huma.Register(a, up, func(ctx context.Context, in *updateOrdersIn) (*struct{ Body OrdersUpdate }, error) {
		if err := authz.RequireStaff(ctx); err != nil {
			return nil, api.Fail(ctx, err)
		}
		svc, err := st.Service.Get(ctx, in.ID)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		out := OrdersUpdate{Committed: in.Body.Commit, Created: []string{}, Cancelled: []string{}}
		run := func(ctx context.Context, tx *ent.Tx) error {
			done, err := UpdateOrders(ctx, tx, svc)
			for _, c := range done {
				switch c.Action {
				case Created:
					out.Created = append(out.Created, c.Order.Description)
				case Cancelled:
					out.Cancelled = append(out.Cancelled, c.Order.Description)
				default:
					out.Updated++
				}
			}
			return err
		}
		if in.Body.Commit {
			err = st.Tx(ctx, run)
		} else {
			err = Preview(ctx, st, run)
		}
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct{ Body OrdersUpdate }{out}, nil
	})
}
