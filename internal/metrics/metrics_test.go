package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/metrics"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/shopspring/decimal"
)

func token(t *testing.T, v string) {
	t.Helper()
	set := func(v string) error {
		return settings.LoadEnv(func(name string) (string, bool) {
			return v, name == "ORCHESTRA_METRICS_TOKEN" || name == "METRICS_TOKEN"
		})
	}
	if err := set(v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set("") })
}

// TestMetrics: behind its token, /metrics gives each resource's totals,
// the units by backend and state and each server's lane length, as the
// store holds them.
func TestMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		now := time.Now()
		if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			acc := tx.Account.Create().SetUsername("metered").SetFullName("Metered").SetType("INDIVIDUAL").SetLanguage("EN").SetPassword("x").SetEmail("m@example.com").SaveX(ctx)
			srv := tx.Server.Create().SetName("web1").SetAddress("127.0.0.1").SaveX(ctx)
			tx.Server.Create().SetName("idle").SetAddress("127.0.0.2").SaveX(ctx)
			for _, state := range []string{"RECEIVED", "STARTED", "SUCCESS", "SUCCESS", "FAILURE"} {
				tx.ExecutionLog.Create().SetBackend("mysql").SetServerID(srv.ID).SetState(state).SetCreatedAt(now).SetUpdatedAt(now).SaveX(ctx)
			}
			r := tx.Resource.Create().SetName("disk").SetLabel("Disk").SetModel("Account").SetUnit("GB").SaveX(ctx)
			tx.Resource.Create().SetName("traffic").SetLabel("Traffic").SetModel("Account").SetUnit("GB").SaveX(ctx)
			for i, used := range []string{"1.5", "12.25"} {
				tx.ResourceData.Create().SetResourceID(r.ID).SetObjectID(acc.ID + i*1000).SetAccountID(acc.ID).
					SetUsed(decimal.RequireFromString(used)).SetAllocated(10).SetExceeded(i == 1).SaveX(ctx)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		h := metrics.Handler(st)
		get := func(auth string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/metrics", nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			h.ServeHTTP(rec, req)
			return rec
		}
		if rec := get("Bearer anything"); rec.Code != http.StatusNotFound {
			t.Errorf("without a token set: %d", rec.Code)
		}
		token(t, "s3cret-scrape")
		for _, auth := range []string{"", "Bearer wrong", "s3cret-scrape", "Basic s3cret-scrape"} {
			if rec := get(auth); rec.Code != http.StatusUnauthorized {
				t.Errorf("with %q: %d", auth, rec.Code)
			}
		}
		rec := get("Bearer s3cret-scrape")
		body := rec.Body.String()
		for _, want := range []string{
			`orchestra_resource_used{model="Account",resource="disk",unit="GB"} 13.75`,
			`orchestra_resource_allocated{model="Account",resource="disk",unit="GB"} 20`,
			`orchestra_resource_objects{model="Account",resource="disk"} 2`,
			`orchestra_resource_exceeded_objects{model="Account",resource="disk"} 1`,
			`orchestra_resource_objects{model="Account",resource="traffic"} 0`,
			`orchestra_units{backend="mysql",state="SUCCESS"} 2`,
			`orchestra_units{backend="mysql",state="FAILURE"} 1`,
			`orchestra_lane_queue_length{server="web1"} 2`,
			`orchestra_lane_queue_length{server="idle"} 0`,
			`orchestra_metrics_read_ok 1`,
		} {
			if !strings.Contains(body, want+"\n") {
				t.Errorf("the metrics lack %s:\n%s", want, body)
			}
		}
	})
}
