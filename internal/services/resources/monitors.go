package resources

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/monitorsample"
)

// ActionMonitor is a monitor backend's action: its script prints one
// "<object id> <value>" line per object of its model it measured.
const ActionMonitor = "monitor"

// Monitor is a backend that measures objects of its model on the servers
// its routes pick. A counter (traffic) prints the sum over the window
// since its previous run; a gauge (disk) the value then.
type Monitor struct {
	Backend *orchestration.Backend
	Counter bool
}

var (
	monitorsMu sync.Mutex
	monitors   = map[string]Monitor{}
)

// RegisterMonitor registers m's backend, whose Apply writes the monitor
// action's commands; services call it from init.
func RegisterMonitor(m Monitor) {
	b := m.Backend
	b.Actions = []string{ActionMonitor}
	if m.Counter {
		if b.Load != nil || b.LoadMany != nil {
			panic("resources: counter monitor " + b.Name + " has its own Load")
		}
		apply := b.Apply
		b.LoadMany = func(ctx context.Context, tx *ent.Tx, objs []*orchestration.Object) ([]error, error) {
			return nil, lastSamples(ctx, tx, b.Name, objs)
		}
		b.Apply = func(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
			if since, ok := o.Extra.(window); ok { // this object's own window
				o.Args = maps.Clone(o.Args)
				o.Args["since"] = strconv.FormatInt(time.Time(since).Unix(), 10)
			}
			return apply(s, srv, action, o)
		}
	}
	if b.Check == nil {
		b.Check = func(context.Context, *ent.Tx, string, orchestration.Object) error { return nil } // no arguments
	}
	orchestration.Register(b)
	monitorsMu.Lock()
	defer monitorsMu.Unlock()
	monitors[b.Name] = m
}

// Monitors are the registered monitors' names, sorted.
func Monitors() []string {
	monitorsMu.Lock()
	defer monitorsMu.Unlock()
	var out []string
	for n := range monitors {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func monitorOf(name string) (Monitor, bool) {
	monitorsMu.Lock()
	defer monitorsMu.Unlock()
	m, ok := monitors[name]
	return m, ok
}

// window is when a counter's object was last sampled: its next window
// starts there, whether the previous run measured every object or only it
// (a refresh from its page).
type window time.Time

// lastSamples sets each object's window from its last sample, if any (the
// selection's since otherwise).
func lastSamples(ctx context.Context, tx *ent.Tx, monitor string, objs []*orchestration.Object) error {
	ids := make([]int, 0, len(objs))
	for _, o := range objs {
		ids = append(ids, o.ID)
	}
	var rows []struct {
		ObjectID int `json:"object_id"`
		Max      any `json:"max"`
	}
	if err := tx.MonitorSample.Query().Where(monitorsample.Monitor(monitor), monitorsample.ObjectIDIn(ids...)).
		GroupBy(monitorsample.FieldObjectID).Aggregate(ent.Max(monitorsample.FieldCreatedAt)).Scan(ctx, &rows); err != nil {
		return err
	}
	last := map[int]time.Time{}
	for _, r := range rows {
		t, err := scanTime(r.Max)
		if err != nil {
			return err
		}
		last[r.ObjectID] = t
	}
	for _, o := range objs {
		if t, ok := last[o.ID]; ok {
			o.Extra = window(t)
		}
	}
	return nil
}

// scanTime reads an aggregate of a time column: PostgreSQL gives a time,
// SQLite its text.
func scanTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v, nil
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, nil
			}
		}
	case []byte:
		return scanTime(string(v))
	}
	return time.Time{}, fmt.Errorf("resources: a sample's time %v", v)
}
