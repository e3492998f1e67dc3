package resources_test

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

// TestResourcesOverAPI: staff define resources; every mistake of a
// definition is refused at once, each naming its field (a scale that is
// no expression of numbers, a schedule cron would not read, a model no
// backend applies, an allocation for an on-demand resource); a name once
// per model; customers neither see nor add them (staff's, like servers).
func TestResourcesOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		bad := admin.Do("POST", "/resources", map[string]any{"name": "Disk Space", "label": "two\nlines", "model": "Nothing",
			"aggregation": "average", "scale": "__import__('os')", "schedule": "61 * * * *", "on_exceed": "explode", "monitors": []string{"du"},
			"on_demand": true, "default_allocation": 5})
		want := []string{"body.aggregation", "body.default_allocation", "body.label", "body.model", "body.monitors", "body.name",
			"body.on_exceed", "body.scale", "body.schedule"}
		if got := bad.FieldErrors(); bad.Status != http.StatusUnprocessableEntity || !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("a resource of mistakes: %d %v, want %v: %s", bad.Status, got, want, bad.Body)
		}
		r := admin.Do("POST", "/resources", map[string]any{"name": "disk", "label": "Disk space", "model": "SystemUser", "unit": "GB",
			"scale": "10**9", "aggregation": "last", "default_allocation": 10, "schedule": "0 * * * *", "on_exceed": "alert"}).Want(http.StatusCreated)
		if j := r.JSON(); j["scale"] != "10**9" || j["default_allocation"] != float64(10) || j["is_active"] != true || j["on_demand"] != false {
			t.Errorf("created: %s", r.Body)
		}
		admin.Do("POST", "/resources", map[string]any{"name": "disk", "label": "Disk", "model": "SystemUser"}).Want(http.StatusConflict)
		admin.Do("POST", "/resources", map[string]any{"name": "disk", "label": "Disk space", "model": "Account"}).Want(http.StatusCreated)
		// a change is judged with what it keeps: on demand, the allocation it has is refused
		u := fmt.Sprintf("/resources/%d", r.ID())
		if c := admin.Do("PATCH", u, map[string]any{"on_demand": true, "version": 1}); fmt.Sprint(c.FieldErrors()) != "[body.default_allocation]" {
			t.Errorf("on demand with an allocation: %d %s", c.Status, c.Body)
		}
		admin.Do("PATCH", u, map[string]any{"scale": "1024 * 1024 * 1024", "version": 1}).Want(http.StatusOK)

		admin.Do("POST", "/accounts", map[string]any{"username": "carol", "full_name": "Carol", "email": "carol@example.com",
			"password": "Carol-secret-42"}).Want(http.StatusCreated)
		carol := e.Login("carol", "Carol-secret-42")
		carol.Do("GET", u, nil).Want(http.StatusForbidden)
		carol.Do("GET", "/resources", nil).Want(http.StatusForbidden)
		carol.Do("POST", "/resources", map[string]any{"name": "x", "label": "X", "model": "SystemUser"}).Want(http.StatusForbidden)
	})
}
