// Package orchestration turns writes into scripts run on servers: the change
// outbox (capture.go), the backend registry and script builder, route
// expressions (match.go) and the planner that groups operations into units
// of work per server and backend.
package orchestration

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// Built-in actions; backends may declare others (custom actions).
const (
	ActionSave   = "save"
	ActionDelete = "delete"
)

// Object is one object as a backend sees it: its model, id and a snapshot of
// its fields (column name → value) taken when it changed.
type Object struct {
	Model    string
	ID       int
	Repr     string
	Snapshot map[string]any
	// Extra is what the backend's Load read beside the row (e.g. a zone's
	// records), for saves; it is not stored with the operation.
	Extra any
	// Args are a custom action's arguments, checked by whoever asked for
	// the action; they are stored with the operation.
	Args map[string]string
}

// String returns the named field as text ("" when absent).
func (o Object) String(field string) string {
	switch v := o.Snapshot[field].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// Int returns the named field as an int (0 when absent).
func (o Object) Int(field string) int {
	switch v := o.Snapshot[field].(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	}
	return 0
}

// Bool returns the named field as a bool.
func (o Object) Bool(field string) bool {
	switch v := o.Snapshot[field].(type) {
	case bool:
		return v
	case int64:
		return v != 0
	case float64:
		return v != 0
	}
	return false
}

// Related makes changes of another model re-save objects of the backend's
// model: Resolve returns the ids of the main objects a changed object of
// Model concerns (e.g. a record's domain).
type Related struct {
	Model   string
	Resolve func(ctx context.Context, tx *ent.Tx, changed Object) ([]int, error)
	// Fields, when set, limits the fan-out to updates that set one of them
	// (an account's is_active locks its users; its name concerns none):
	// other changes of Model cost no Resolve.
	Fields []string
}

// Backend is a named way of applying a model's objects to a server. Its name
// is stored in routes and logs, so it never changes once released.
type Backend struct {
	Name         string
	Verbose      string
	Model        string   // ent type name of the main model
	Actions      []string // defaults to save and delete
	Related      []Related
	IgnoreFields []string // a save that set only these fields is not applied
	DefaultMatch string   // suggested route match
	// After names backends whose units, planned together with this one's,
	// run before it on a server (ssh-keys after unix-user: the user and its
	// home are made before its keys are written).
	After []string
	// UnitScale multiplies ORCHESTRATION_UNIT_MAX_OPERATIONS and
	// ORCHESTRATION_UNIT_MAX_SCRIPT_BYTES for this backend's units (0: 1):
	// for a backend whose unit's end (files assembled whole, a reload)
	// costs more than its operations.
	UnitScale int

	// Load, when set, reads what Apply needs beyond the object's own row
	// (a domain's records, the addresses of other servers) into obj.Extra,
	// in the planning transaction, for every operation but deletes. An
	// error ends the unit in ERROR with its message.
	Load func(ctx context.Context, tx *ent.Tx, obj *Object) error
	// LoadMany, when set, does Load's work for many objects at once (a
	// query per relation rather than per object, for big units): the
	// error of each object, in order, or one error for all.
	LoadMany func(ctx context.Context, tx *ent.Tx, objs []*Object) ([]error, error)

	// Check checks a custom action's arguments (obj.Args) for one object
	// before it is planned, whoever asks: the API, the CLI or a job get the
	// same answer. The viewer in ctx is the one who asked. A backend with
	// custom actions must have one.
	Check func(ctx context.Context, tx *ent.Tx, action string, obj Object) error

	// Prepare writes the start of a unit's script, Apply one operation's
	// commands and Commit the end (e.g. a reload when something changed).
	// A unit whose Apply calls wrote nothing is not run.
	Prepare func(s *Script, srv Server)
	Apply   func(s *Script, srv Server, action string, obj Object) error
	Commit  func(s *Script, srv Server)

	// Exec, for backends that talk to an HTTP API rather than a shell, runs
	// one operation in-process (no script, no SSH); what it writes to out is
	// the log's output, an error fails the unit. Such a backend has no Apply.
	Exec func(ctx context.Context, srv Server, action string, obj Object, out io.Writer) error
}

// Server is what a backend may know of the server a unit runs on.
type Server struct {
	ID       int
	Name     string
	Address  string
	Settings map[string]string // per-server setting overrides
}

// Setting returns the server's override of a setting, or def.
func (s Server) Setting(name, def string) string {
	if v, ok := s.Settings[name]; ok && v != "" {
		return v
	}
	return def
}

// SettingList returns the server's override of a list setting (comma
// separated), or def.
func (s Server) SettingList(name string, def []string) []string {
	v, ok := s.Settings[name]
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// Handles reports whether the backend implements action.
func (b *Backend) Handles(action string) bool { return slices.Contains(b.actions(), action) }

// ActionNames returns the actions the backend implements.
func (b *Backend) ActionNames() []string { return slices.Clone(b.actions()) }

func (b *Backend) actions() []string {
	if len(b.Actions) == 0 {
		return []string{ActionSave, ActionDelete}
	}
	return b.Actions
}

var (
	regMu    sync.RWMutex
	backends = map[string]*Backend{}
)

// Register adds a backend; service packages call it from init. A second
// backend with the same name is a programming error.
func Register(b *Backend) {
	if b.Name == "" || b.Model == "" || (b.Apply == nil) == (b.Exec == nil) {
		panic("orchestration: backend needs a name, a model and either Apply or Exec")
	}
	if _, ok := ent.Meta[b.Model]; !ok {
		panic("orchestration: backend " + b.Name + ": unknown model " + b.Model)
	}
	for _, a := range b.actions() {
		if a != ActionSave && a != ActionDelete && b.Check == nil {
			panic("orchestration: backend " + b.Name + ": custom action " + a + " without Check")
		}
	}
	for _, r := range b.Related {
		if _, ok := ent.Meta[r.Model]; !ok || r.Resolve == nil {
			panic("orchestration: backend " + b.Name + ": bad related model " + r.Model)
		}
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := backends[b.Name]; dup {
		panic("orchestration: backend registered twice: " + b.Name)
	}
	backends[b.Name] = b
}

// Unregister removes a backend (tests register their own).
func Unregister(name string) {
	regMu.Lock()
	defer regMu.Unlock()
	delete(backends, name)
}

// Lookup returns the backend called name.
func Lookup(name string) (*Backend, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	b, ok := backends[name]
	return b, ok
}

// rank is how many backends must run before b (the longest chain of
// After), 0 for most.
func rank(b *Backend, seen map[string]bool) int {
	n := 0
	for _, name := range b.After {
		if seen[name] {
			continue // a cycle orders nothing
		}
		if a, ok := Lookup(name); ok {
			seen[name] = true
			n = max(n, rank(a, seen)+1)
			delete(seen, name)
		}
	}
	return n
}

// Backends returns every registered backend, by name.
func Backends() []*Backend {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]*Backend, 0, len(backends))
	for _, b := range backends {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// captured reports whether changes of model concern any backend, as its
// main model or a related one, or any consumer of the change stream.
func captured(model string) bool {
	regMu.RLock()
	defer regMu.RUnlock()
	if consumed(model) {
		return true
	}
	for _, b := range backends {
		if b.Model == model {
			return true
		}
		for _, r := range b.Related {
			if r.Model == model {
				return true
			}
		}
	}
	return false
}

// unitLimits are the most operations and script bytes of one of b's units.
func unitLimits(b *Backend) (ops, bytes int) {
	scale := max(b.UnitScale, 1)
	return UnitMaxOperations.Get() * scale, UnitMaxScriptBytes.Get() * scale
}
