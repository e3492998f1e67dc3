// Package metrics serves the panel's state to Prometheus at /metrics:
// each resource's totals, the units recorded by backend and state, and the
// length of each server's lane. Every scrape reads the store, so each
// panel over one database answers the same.
package metrics

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"entgo.io/ent/dialect/sql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Token guards /metrics: a scrape sends it as a bearer token. Empty: no
// metrics are served.
var Token = settings.String("METRICS_TOKEN", "", "The bearer token Prometheus sends to read /metrics; empty: /metrics is not served.", settings.Secret())

var (
	resourceUsed = prometheus.NewDesc("orchestra_resource_used", "The sum of every object's usage of a resource, in its unit.",
		[]string{"resource", "model", "unit"}, nil)
	resourceAllocated = prometheus.NewDesc("orchestra_resource_allocated", "The sum of every object's allocation of a resource, in its unit.",
		[]string{"resource", "model", "unit"}, nil)
	resourceObjects = prometheus.NewDesc("orchestra_resource_objects", "How many objects' usage of a resource is known.",
		[]string{"resource", "model"}, nil)
	resourceExceeded = prometheus.NewDesc("orchestra_resource_exceeded_objects", "How many objects use more of a resource than they are allocated.",
		[]string{"resource", "model"}, nil)
	units = prometheus.NewDesc("orchestra_units", "The units of work recorded (kept for the log retention), by backend and state.",
		[]string{"backend", "state"}, nil)
	lane = prometheus.NewDesc("orchestra_lane_queue_length", "The units waiting or running in a server's lane.",
		[]string{"server"}, nil)
	up = prometheus.NewDesc("orchestra_metrics_read_ok", "1 when every metric was read from the database.", nil, nil)
)

type collector struct{ st *store.Store }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{resourceUsed, resourceAllocated, resourceObjects, resourceExceeded, units, lane, up} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx := viewer.System(context.Background(), viewer.ChannelSystem)
	ok := 1.0
	for _, read := range []func(context.Context, chan<- prometheus.Metric) error{c.resources, c.units, c.lanes} {
		if err := read(ctx, ch); err != nil {
			slog.ErrorContext(ctx, "metrics: reading", "err", err)
			ok = 0
		}
	}
	ch <- prometheus.MustNewConstMetric(up, prometheus.GaugeValue, ok)
}

func (c collector) resources(ctx context.Context, ch chan<- prometheus.Metric) error {
	rs, err := c.st.Resource.Query().All(ctx)
	if err != nil {
		return err
	}
	var rows []struct {
		ResourceID int     `json:"resource_id"`
		Count      int     `json:"count"`
		Used       float64 `json:"used"`
		Allocated  float64 `json:"allocated"`
	}
	if err := c.st.ResourceData.Query().GroupBy(resourcedata.FieldResourceID).
		Aggregate(ent.Count(), sumAs(resourcedata.FieldUsed, "used"), sumAs(resourcedata.FieldAllocated, "allocated")).Scan(ctx, &rows); err != nil {
		return err
	}
	var exceeded []struct {
		ResourceID int `json:"resource_id"`
		Count      int `json:"count"`
	}
	if err := c.st.ResourceData.Query().Where(resourcedata.Exceeded(true)).GroupBy(resourcedata.FieldResourceID).
		Aggregate(ent.Count()).Scan(ctx, &exceeded); err != nil {
		return err
	}
	over := map[int]int{}
	for _, e := range exceeded {
		over[e.ResourceID] = e.Count
	}
	measured := map[int]bool{}
	for _, row := range rows {
		measured[row.ResourceID] = true
	}
	byID := map[int]*ent.Resource{}
	for _, r := range rs {
		byID[r.ID] = r
		if !measured[r.ID] { // a resource nothing measured yet reads 0
			ch <- prometheus.MustNewConstMetric(resourceObjects, prometheus.GaugeValue, 0, r.Name, r.Model)
		}
	}
	for _, row := range rows {
		r, ok := byID[row.ResourceID]
		if !ok {
			continue
		}
		ch <- prometheus.MustNewConstMetric(resourceUsed, prometheus.GaugeValue, row.Used, r.Name, r.Model, r.Unit)
		ch <- prometheus.MustNewConstMetric(resourceAllocated, prometheus.GaugeValue, row.Allocated, r.Name, r.Model, r.Unit)
		ch <- prometheus.MustNewConstMetric(resourceObjects, prometheus.GaugeValue, float64(row.Count), r.Name, r.Model)
		ch <- prometheus.MustNewConstMetric(resourceExceeded, prometheus.GaugeValue, float64(over[r.ID]), r.Name, r.Model)
	}
	return nil
}

// sumAs sums column as name, 0 when every value is empty.
func sumAs(column, name string) ent.AggregateFunc {
	return func(s *sql.Selector) string {
		return "COALESCE(SUM(" + s.C(column) + "), 0) AS " + strconv.Quote(name)
	}
}

func (c collector) units(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []struct {
		Backend string `json:"backend"`
		State   string `json:"state"`
		Count   int    `json:"count"`
	}
	if err := c.st.ExecutionLog.Query().GroupBy(executionlog.FieldBackend, executionlog.FieldState).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return err
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(units, prometheus.GaugeValue, float64(r.Count), r.Backend, r.State)
	}
	return nil
}

func (c collector) lanes(ctx context.Context, ch chan<- prometheus.Metric) error {
	servers, err := c.st.Server.Query().All(ctx)
	if err != nil {
		return err
	}
	var rows []struct {
		ServerID int `json:"server_id"`
		Count    int `json:"count"`
	}
	if err := c.st.ExecutionLog.Query().Where(executionlog.StateIn(orchestration.StateReceived, orchestration.StateStarted)).
		GroupBy(executionlog.FieldServerID).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return err
	}
	queued := map[int]int{}
	for _, r := range rows {
		queued[r.ServerID] = r.Count
	}
	for _, s := range servers {
		ch <- prometheus.MustNewConstMetric(lane, prometheus.GaugeValue, float64(queued[s.ID]), s.Name)
	}
	return nil
}

// Handler serves the metrics of st to whoever sends the token; without a
// token set it answers 404, with a wrong one 401.
func Handler(st *store.Store) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{st})
	inner := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := Token.Get()
		if want == "" {
			http.NotFound(w, r)
			return
		}
		got, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="orchestra metrics"`)
			http.Error(w, "a valid bearer token is needed", http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	})
}
