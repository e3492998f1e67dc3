package billing_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestServicesPlansRates: staff define what is billed; every mistake of a
// service is named at once and changes nothing; its expressions are
// compiled against its model when saved; money is exact; a plan is
// contracted once unless it allows more; customers see their contracts and
// nothing else of billing.
func TestServicesPlansRates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		before := e.HistoryCount()
		bad := admin.Do("POST", "/services", map[string]any{"description": " ", "model": "Mailbox", "nominal_price": "-1",
			"billing_period": "WEEKLY", "on_cancel": "FORGET", "tax": 7, "match": "mailbox.colour == 'red'", "metric": "mailbox.name",
			"rate_algorithm": "CHEAPEST"}).Want(http.StatusUnprocessableEntity)
		got := bad.FieldErrors()
		for _, want := range []string{"body.description", "body.nominal_price", "body.billing_period", "body.on_cancel", "body.tax",
			"body.match", "body.metric", "body.rate_algorithm"} {
			if !slices.Contains(got, want) {
				t.Errorf("a bad service: no error for %s in %v", want, got)
			}
		}
		if e.HistoryCount() != before {
			t.Error("a refused service changed the history")
		}
		admin.Do("POST", "/services", map[string]any{"description": "Half cents", "model": "Mailbox", "nominal_price": "2.005"}).
			Want(http.StatusUnprocessableEntity)
		admin.Do("POST", "/services", map[string]any{"description": "Dancers", "model": "Dancer", "nominal_price": "1"}).
			Want(http.StatusUnprocessableEntity)

		svc := admin.Do("POST", "/services", map[string]any{"description": "Mailbox", "model": "Mailbox", "nominal_price": "2.50",
			"billing_period": "MONTHLY", "match": "mailbox.quota == nil || mailbox.quota > 0", "order_description": `"Mailbox " + mailbox.name`}).
			Want(http.StatusCreated).JSON()
		if svc["nominal_price"] != "2.5" || svc["billing_point"] != "ON_FIXED_DATE" || svc["on_cancel"] != "DISCOUNT" ||
			svc["payment_style"] != "PREPAY" || svc["ignore_period"] != "TEN_DAYS" || svc["pricing_period"] != "BILLING_PERIOD" ||
			svc["rate_algorithm"] != "STEP_PRICE" || svc["tax"] != float64(0) || svc["is_active"] != true || svc["ignore_superusers"] != true {
			t.Errorf("a service with the reference's defaults: %v", svc)
		}
		id := int(svc["id"].(float64))
		admin.Do("PATCH", fmt.Sprintf("/services/%d", id), map[string]any{"metric": "mailbox.nope", "version": 1}).Want(http.StatusUnprocessableEntity)
		admin.Do("PATCH", fmt.Sprintf("/services/%d", id), map[string]any{"nominal_price": "3.10", "tax": 21, "version": 1}).Want(http.StatusOK)

		basic := admin.Do("POST", "/plans", map[string]any{"name": "basic", "verbose_name": "Basic", "is_default": true}).Want(http.StatusCreated).ID()
		pro := admin.Do("POST", "/plans", map[string]any{"name": "pro", "verbose_name": "Professional"}).Want(http.StatusCreated).ID()
		admin.Do("POST", "/plans", map[string]any{"name": "Not a name!"}).Want(http.StatusUnprocessableEntity)
		admin.Do("POST", "/rates", map[string]any{"service": id, "plan": basic, "quantity": 0, "price": "2.00"}).Want(http.StatusCreated)
		admin.Do("POST", "/rates", map[string]any{"service": id, "plan": basic, "quantity": 0, "price": "1.00"}).Want(http.StatusConflict)
		if got := admin.Do("POST", "/rates", map[string]any{"service": id, "plan": basic, "quantity": -1, "price": "-1"}).
			Want(http.StatusUnprocessableEntity).FieldErrors(); len(got) != 2 {
			t.Errorf("a bad rate: %v", got)
		}

		cust := e.MakeAccount(apitest.Unique("bc"), "Cust-password-1", false)
		admin.Do("POST", "/contracted-plans", map[string]any{"plan": pro, "account": cust.ID}).Want(http.StatusCreated)
		admin.Do("POST", "/contracted-plans", map[string]any{"plan": pro, "account": cust.ID}).Want(http.StatusUnprocessableEntity)
		admin.Do("PATCH", fmt.Sprintf("/plans/%d", pro), map[string]any{"allow_multiple": true, "version": 1}).Want(http.StatusOK)
		admin.Do("POST", "/contracted-plans", map[string]any{"plan": pro, "account": cust.ID}).Want(http.StatusCreated)

		c := e.Login(cust.Username, "Cust-password-1")
		if n := c.Do("GET", "/contracted-plans", nil).Want(http.StatusOK).JSON()["count"]; n != float64(2) {
			t.Errorf("the customer's contracts: %v", n)
		}
		for _, path := range []string{"/services", "/plans", "/rates"} {
			c.Do("GET", path, nil).Want(http.StatusForbidden)
		}
		c.Do("POST", "/contracted-plans", map[string]any{"plan": basic}).Want(http.StatusForbidden)
	})
}
