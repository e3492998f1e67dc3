package resources

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/monitorsample"
	"github.com/shopspring/decimal"
)

// Point is a value at a time, in a resource's unit.
type Point struct {
	At    time.Time       `json:"at"`
	Value decimal.Decimal `json:"value"`
}

// History is one object's use of a resource over a time: what its
// monitors measured, and its usage as the aggregation gave it each day.
type History struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Samples []Point   `json:"samples" doc:"What the monitors measured, summed per run over the monitored objects, in the unit."`
	Usage   []Point   `json:"usage" doc:"The usage at the end of each day, as the aggregation computes it."`
}

// HistoryOf reads object's samples of r from from to to, and its usage at
// the end of each day between.
func HistoryOf(ctx context.Context, st *store.Store, r *ent.Resource, object int, from, to time.Time) (History, error) {
	h := History{From: from, To: to, Samples: []Point{}, Usage: []Point{}}
	scale, err := Scale(r.Scale)
	if err != nil {
		return h, err
	}
	agg := Aggregations[r.Aggregation]
	var samples []Sample
	for _, name := range r.Monitors {
		mon, ok := monitorOf(name)
		if !ok {
			continue
		}
		ids, err := monitored(ctx, st, r, mon.Backend.Model, object)
		if err != nil || len(ids) == 0 {
			if err != nil {
				return h, err
			}
			continue
		}
		// what the first day's aggregation reads, which may start before
		// from: a month back for the last value
		since := agg.Since(from)
		if since.IsZero() {
			since = from.AddDate(0, -1, 0)
		}
		rows, err := st.MonitorSample.Query().Where(monitorsample.Monitor(name), monitorsample.ObjectIDIn(ids...),
			monitorsample.CreatedAtGTE(since), monitorsample.CreatedAtLTE(to)).Order(ent.Asc(monitorsample.FieldCreatedAt)).All(ctx)
		if err != nil {
			return h, err
		}
		for _, s := range rows {
			samples = append(samples, Sample{Object: s.ObjectID, At: s.CreatedAt, Value: s.Value})
		}
	}
	slices.SortFunc(samples, func(a, b Sample) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Object, b.Object)) })
	// two resources sharing a monitor measured at once store its value twice
	samples = slices.CompactFunc(samples, func(a, b Sample) bool { return a.Object == b.Object && a.At.Equal(b.At) })
	for _, s := range samples {
		if s.At.Before(from) {
			continue
		}
		v := s.Value.DivRound(scale, 3)
		if n := len(h.Samples); n > 0 && h.Samples[n-1].At.Equal(s.At) {
			h.Samples[n-1].Value = h.Samples[n-1].Value.Add(v)
		} else {
			h.Samples = append(h.Samples, Point{At: s.At, Value: v})
		}
	}
	day := from.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	for i := 0; !day.After(to.Add(24 * time.Hour)); day = day.Add(24 * time.Hour) {
		at := day
		if to.Before(at) {
			at = to
		}
		for i < len(samples) && !samples[i].At.After(at) {
			i++
		}
		if i > 0 {
			h.Usage = append(h.Usage, Point{At: at, Value: agg.Usage(samples[:i], at).DivRound(scale, 3)})
		}
		if !at.Before(to) {
			break
		}
	}
	return h, nil
}
