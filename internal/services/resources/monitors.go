package resources

import (
	"context"
	"slices"
	"sync"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
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
