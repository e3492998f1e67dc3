// Package metrics serves the panel's state to Prometheus at /metrics:
// each resource's totals, the units recorded by backend and state, and the
// length of each server's lane. Every scrape reads the store, so each
// panel over one database answers the same. It writes Prometheus's text
// format itself: the client library's protobuf runtime would weigh
// megabytes of resident memory on every panel for a few gauges (decision
// 20).
package metrics

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"entgo.io/ent/dialect/sql"

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

// metric is a gauge: its name, help and samples.
type metric struct {
	name, help string
	samples    []sample
}

type sample struct {
	labels [][2]string // name, value; in name order
	value  float64
}

func (m *metric) add(v float64, labels ...string) {
	var ls [][2]string
	for i := 0; i+1 < len(labels); i += 2 {
		ls = append(ls, [2]string{labels[i], labels[i+1]})
	}
	m.samples = append(m.samples, sample{ls, v})
}

// write writes ms in Prometheus's text format (version 0.0.4).
func write(w io.Writer, ms []*metric) {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	for _, m := range ms {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", m.name, strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(m.help), m.name)
		for _, s := range m.samples {
			var b strings.Builder
			b.WriteString(m.name)
			if len(s.labels) > 0 {
				b.WriteByte('{')
				for i, l := range s.labels {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, `%s="%s"`, l[0], esc.Replace(l[1]))
				}
				b.WriteByte('}')
			}
			fmt.Fprintf(w, "%s %s\n", b.String(), strconv.FormatFloat(s.value, 'g', -1, 64))
		}
	}
}

type collector struct{ st *store.Store }

// collect reads every metric; orchestra_metrics_read_ok says whether all
// could be read.
func (c collector) collect(ctx context.Context) []*metric {
	used := &metric{name: "orchestra_resource_used", help: "The sum of every object's usage of a resource, in its unit."}
	allocated := &metric{name: "orchestra_resource_allocated", help: "The sum of every object's allocation of a resource, in its unit."}
	objects := &metric{name: "orchestra_resource_objects", help: "How many objects' usage of a resource is known."}
	exceeded := &metric{name: "orchestra_resource_exceeded_objects", help: "How many objects use more of a resource than they are allocated."}
	units := &metric{name: "orchestra_units", help: "The units of work recorded (kept for the log retention), by backend and state."}
	lanes := &metric{name: "orchestra_lane_queue_length", help: "The units waiting or running in a server's lane."}
	ok := 1.0
	for _, err := range []error{c.resources(ctx, used, allocated, objects, exceeded), c.units(ctx, units), c.lanes(ctx, lanes)} {
		if err != nil {
			slog.ErrorContext(ctx, "metrics: reading", "err", err)
			ok = 0
		}
	}
	up := &metric{name: "orchestra_metrics_read_ok", help: "1 when every metric was read from the database."}
	up.add(ok)
	return []*metric{used, allocated, objects, exceeded, units, lanes, up}
}

func (c collector) resources(ctx context.Context, used, allocated, objects, exceeded *metric) error {
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
	var over []struct {
		ResourceID int `json:"resource_id"`
		Count      int `json:"count"`
	}
	if err := c.st.ResourceData.Query().Where(resourcedata.Exceeded(true)).GroupBy(resourcedata.FieldResourceID).
		Aggregate(ent.Count()).Scan(ctx, &over); err != nil {
		return err
	}
	overBy := map[int]int{}
	for _, e := range over {
		overBy[e.ResourceID] = e.Count
	}
	rowBy := map[int]int{}
	for i, row := range rows {
		rowBy[row.ResourceID] = i
	}
	for _, r := range rs {
		i, measured := rowBy[r.ID]
		if !measured { // a resource nothing measured yet reads 0
			objects.add(0, "model", r.Model, "resource", r.Name)
			continue
		}
		row := rows[i]
		used.add(row.Used, "model", r.Model, "resource", r.Name, "unit", r.Unit)
		allocated.add(row.Allocated, "model", r.Model, "resource", r.Name, "unit", r.Unit)
		objects.add(float64(row.Count), "model", r.Model, "resource", r.Name)
		exceeded.add(float64(overBy[r.ID]), "model", r.Model, "resource", r.Name)
	}
	return nil
}

// sumAs sums column as name, 0 when every value is empty.
func sumAs(column, name string) ent.AggregateFunc {
	return func(s *sql.Selector) string {
		return "COALESCE(SUM(" + s.C(column) + "), 0) AS " + strconv.Quote(name)
	}
}

func (c collector) units(ctx context.Context, units *metric) error {
	var rows []struct {
		Backend string `json:"backend"`
		State   string `json:"state"`
		Count   int    `json:"count"`
	}
	if err := c.st.ExecutionLog.Query().GroupBy(executionlog.FieldBackend, executionlog.FieldState).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return err
	}
	for _, r := range rows {
		units.add(float64(r.Count), "backend", r.Backend, "state", r.State)
	}
	return nil
}

func (c collector) lanes(ctx context.Context, lane *metric) error {
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
		lane.add(float64(queued[s.ID]), "server", s.Name)
	}
	return nil
}

// Handler serves the metrics of st to whoever sends the token; without a
// token set it answers 404, with a wrong one 401.
func Handler(st *store.Store) http.Handler {
	c := collector{st}
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
		ms := c.collect(viewer.System(r.Context(), viewer.ChannelSystem))
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		write(w, ms)
	})
}
