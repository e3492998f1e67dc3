package billing_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/billing"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/metricstorage"
	"github.com/orchestra-panel/orchestra/internal/store/ent/order"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

var sys = viewer.System(context.Background(), viewer.ChannelSystem)

// consumeAll runs the orders consumer until it has nothing left.
func consumeAll(t *testing.T, st *store.Store) {
	t.Helper()
	for {
		n, err := orchestration.Consume(sys, st, billing.ConsumerName)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// ordersOf are the service's orders by object name.
func ordersOf(t *testing.T, st *store.Store, svc int) map[string][]*ent.Order {
	t.Helper()
	all, err := st.Order.Query().Where(order.ServiceID(svc)).Order(ent.Asc(order.FieldID)).All(sys)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*ent.Order{}
	for _, o := range all {
		out[o.ObjectRepr] = append(out[o.ObjectRepr], o)
	}
	return out
}

// TestOrdersFollowObjects: an order opens when an object starts to match
// an active service (objects from before the service included), is kept
// up to date while it matches, and is cancelled when it stops matching or
// is deleted, within the trial ignored; orders of ignored account types
// are ignored from the start; customers read theirs and change nothing;
// "Update orders" previews what it would do and changes nothing until
// committed.
func TestOrdersFollowObjects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		e.MakeAccount("cust", "Cust-password-1", false)
		friend := e.MakeAccount("pal", "Pal-password-1", false)
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Account.UpdateOne(friend).SetType("FRIEND").Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		cust := e.Login("cust", "Cust-password-1")
		pal := e.Login("pal", "Pal-password-1")
		cust.Do("POST", "/domains", map[string]any{"name": "old.example"}).Want(http.StatusCreated)
		consumeAll(t, st)

		svc := admin.Do("POST", "/services", map[string]any{"description": "Domain", "model": "Domain", "nominal_price": "10",
			"billing_period": "ANUAL", "match": `domain.name endsWith ".example"`, "metric": "len(domain.name)",
			"order_description": `"Domain " + domain.name`}).Want(http.StatusCreated).ID()
		consumeAll(t, st)
		got := ordersOf(t, st, svc)
		if o := got["old.example"]; len(o) != 1 || o[0].CancelledOn != nil || o[0].Description != "Domain old.example" || o[0].Ignore {
			t.Fatalf("an object older than its service gets no order: %v", got)
		}

		one := cust.Do("POST", "/domains", map[string]any{"name": "one.example"}).Want(http.StatusCreated).ID()
		cust.Do("POST", "/domains", map[string]any{"name": "two.org"}).Want(http.StatusCreated)
		pal.Do("POST", "/domains", map[string]any{"name": "pal.example"}).Want(http.StatusCreated)
		consumeAll(t, st)
		got = ordersOf(t, st, svc)
		today := time.Now().UTC().Format(time.DateOnly)
		if o := got["one.example"]; len(o) != 1 || o[0].RegisteredOn.UTC().Format(time.DateOnly) != today || o[0].Ignore {
			t.Errorf("a new matching object: %v", o)
		}
		if len(got["two.org"]) != 0 {
			t.Errorf("an object the match leaves out has an order: %v", got["two.org"])
		}
		if o := got["pal.example"]; len(o) != 1 || !o[0].Ignore {
			t.Errorf("a friend's order is not ignored: %v", o)
		}
		m, err := st.MetricStorage.Query().Where(metricstorage.OrderID(got["one.example"][0].ID)).All(sys)
		if err != nil || len(m) != 1 || m[0].Value.StringFixed(2) != "11.00" {
			t.Errorf("the metric of one.example (11 letters): %v %v", m, err)
		}

		// what customers see and may do
		list := cust.Do("GET", "/orders", nil).Want(http.StatusOK).JSON()
		if n := len(list["results"].([]any)); n != 2 {
			t.Errorf("the customer lists %d orders, want their 2", n)
		}
		oneOrder := got["one.example"][0].ID
		cust.Do("PATCH", fmt.Sprintf("/orders/%d", oneOrder), map[string]any{"ignore": true, "version": 1}).Want(http.StatusForbidden)
		cust.Do("GET", fmt.Sprintf("/orders/%d", got["pal.example"][0].ID), nil).Want(http.StatusNotFound)

		// deleting cancels, within the trial ignored
		cust.Do("DELETE", fmt.Sprintf("/domains/%d", one), nil).Want(http.StatusNoContent)
		consumeAll(t, st)
		o := ordersOf(t, st, svc)["one.example"]
		if len(o) != 1 || o[0].CancelledOn == nil || o[0].CancelledOn.UTC().Format(time.DateOnly) != today || !o[0].Ignore {
			t.Errorf("a deleted object's order, cancelled within its trial: %v", o)
		}

		// a changed match cancels and opens
		admin.Do("PATCH", fmt.Sprintf("/services/%d", svc), map[string]any{"match": `domain.name endsWith ".org"`, "version": 1}).Want(http.StatusOK)
		consumeAll(t, st)
		got = ordersOf(t, st, svc)
		if o := got["old.example"]; len(o) != 1 || o[0].CancelledOn == nil {
			t.Errorf("an object the new match leaves out keeps its order open: %v", o)
		}
		if o := got["two.org"]; len(o) != 1 || o[0].CancelledOn != nil {
			t.Errorf("an object the new match takes has no order: %v", o)
		}

		// an order lost outside the panel: the preview says so and changes nothing
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Order.DeleteOneID(got["two.org"][0].ID).Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		before := len(ordersOf(t, st, svc)["two.org"])
		preview := admin.Do("POST", fmt.Sprintf("/services/%d/update-orders", svc), map[string]any{}).Want(http.StatusOK).JSON()
		if preview["committed"] != false || fmt.Sprint(preview["created"]) != "[Domain two.org]" {
			t.Errorf("the preview: %v", preview)
		}
		if len(ordersOf(t, st, svc)["two.org"]) != before {
			t.Error("a preview changed the orders")
		}
		cust.Do("POST", fmt.Sprintf("/services/%d/update-orders", svc), map[string]any{"commit": true}).Want(http.StatusForbidden)
		admin.Do("POST", fmt.Sprintf("/services/%d/update-orders", svc), map[string]any{"commit": true}).Want(http.StatusOK)
		if o := ordersOf(t, st, svc)["two.org"]; len(o) != 1 || o[0].CancelledOn != nil {
			t.Errorf("update orders did not open the lost order: %v", o)
		}
		v := admin.Do("GET", fmt.Sprintf("/orders/%d", oneOrder), nil).Want(http.StatusOK).JSON()["version"]
		if got := admin.Do("PATCH", fmt.Sprintf("/orders/%d", oneOrder), map[string]any{"ignore": false, "version": v}).Want(http.StatusOK).JSON(); got["ignore"] != false {
			t.Errorf("staff un-ignore an order: %v", got)
		}
	})
}

// TestStoreMetric: one row a day, the day's last value winning; a new row
// only for a move beyond ORDERS_METRIC_ERROR or a fall to zero.
func TestStoreMetric(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		a := e.MakeAccount("cust", "Cust-password-1", false)
		var rows []*ent.MetricStorage
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			s := tx.Service.Create().SetDescription("Disk").SetModel("Account").SetNominalPrice(decimal.NewFromInt(1)).SaveX(ctx)
			o := tx.Order.Create().SetAccountID(a.ID).SetServiceID(s.ID).SetModel("Account").SetObjectID(a.ID).
				SetRegisteredOn(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)).SaveX(ctx)
			day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
			for _, s := range []struct {
				at    time.Time
				value string
			}{
				{day(1, 9), "10"},     // the first: a row
				{day(1, 18), "12"},    // the same day: the day's last value wins
				{day(2, 9), "12.05"},  // within 0.05: the last read again
				{day(3, 9), "12.10"},  // 0.10 from 12: a new row
				{day(4, 9), "0"},      // a fall to zero: a new row
				{day(5, 9), "0.04"},   // within 0.05 of 0
				{day(6, 9), "100.00"}, // a new row
			} {
				if err := billing.StoreMetric(ctx, tx, o.ID, decimal.RequireFromString(s.value), s.at); err != nil {
					return err
				}
			}
			rows = tx.MetricStorage.Query().Where(metricstorage.OrderID(o.ID)).Order(ent.Asc(metricstorage.FieldID)).AllX(ctx)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprintf("%s %s %s", r.CreatedOn.UTC().Format("01-02"), r.Value.StringFixed(2), r.UpdatedOn.UTC().Format("01-02T15")))
		}
		want := []string{"03-01 12.00 03-02T09", "03-03 12.10 03-03T09", "03-04 0.00 03-05T09", "03-06 100.00 03-06T09"}
		if !slices.Equal(got, want) {
			t.Errorf("metric rows:\n got %q\nwant %q", got, want)
		}
	})
}

// TestOrdersReadResources: a service's match and metric read the object's
// resources by name (domain.resources.records.allocated); the nightly
// update stores the metric measured meanwhile.
func TestOrdersReadResources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		custID := e.MakeAccount("cust", "Cust-password-1", false).ID
		cust := e.Login("cust", "Cust-password-1")
		small := cust.Do("POST", "/domains", map[string]any{"name": "small.example"}).Want(http.StatusCreated).ID()
		big := cust.Do("POST", "/domains", map[string]any{"name": "big.example"}).Want(http.StatusCreated).ID()
		var usage map[int]int
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			r := tx.Resource.Create().SetName("records").SetLabel("Records").SetModel("Domain").SetUnit("records").
				SetMonitors([]string{}).SaveX(ctx)
			usage = map[int]int{}
			for id, n := range map[int]int{small: 1, big: 40} {
				a := n * 2
				d := tx.ResourceData.Create().SetResourceID(r.ID).SetObjectID(id).SetAccountID(custID).
					SetUsed(decimal.NewFromInt(int64(n))).SetAllocated(a).SaveX(ctx)
				usage[id] = d.ID
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		svc := e.Admin().Do("POST", "/services", map[string]any{"description": "Zone records", "model": "Domain", "nominal_price": "0.10",
			"match": "domain.resources.records.used > 1", "metric": "domain.resources.records.allocated"}).Want(http.StatusCreated).ID()
		consumeAll(t, st)
		got := ordersOf(t, st, svc)
		if len(got["small.example"]) != 0 || len(got["big.example"]) != 1 {
			t.Fatalf("orders by resources used: %v", got)
		}
		metric := func() string {
			m, err := st.MetricStorage.Query().Where(metricstorage.OrderID(got["big.example"][0].ID)).Order(ent.Desc(metricstorage.FieldID)).First(sys)
			if err != nil {
				t.Fatal(err)
			}
			return m.Value.StringFixed(2)
		}
		if m := metric(); m != "80.00" {
			t.Errorf("the metric of the allocation: %s, want 80.00", m)
		}
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.ResourceData.UpdateOneID(usage[big]).SetAllocated(100).Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		if err := billing.UpdatePeriodic(sys, st); err != nil {
			t.Fatal(err)
		}
		if m := metric(); m != "100.00" {
			t.Errorf("the nightly update left the metric at %s, want 100.00", m)
		}
	})
}
