package hostiletest

import (
	"slices"
	"strings"
	"testing"

	// every service the panel serves, so that every backend it ships is
	// registered: a new one without a suite below fails TestEveryBackendCovered
	_ "github.com/orchestra-panel/orchestra/internal/accounts" // core rules
	_ "github.com/orchestra-panel/orchestra/internal/contacts"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// suite is one test bed and the backends it drives: run writes hostile
// values into each field of fields (model → fields) through the store and
// reads what reached the servers.
type suite struct {
	name     string
	backends []string
	fields   map[string][]string
	run      func(t *testing.T, st *store.Store, r *recorder)
}

var suites = []suite{dnsSuite, systemUsersSuite, databasesSuite}

// skipped are string fields ("Model.field") no suite writes, and why.
var skipped = map[string]string{}

// TestEveryBackendCovered: every registered backend (but the tests' own,
// named test-*) has a suite, and every string field of its model, and of
// the related models whose changes it applies, is written by that suite or
// skipped for a stated reason.
func TestEveryBackendCovered(t *testing.T) {
	n := 0
	for _, b := range orchestration.Backends() {
		if strings.HasPrefix(b.Name, "test-") {
			continue
		}
		n++
		var mine []suite
		for _, s := range suites {
			if slices.Contains(s.backends, b.Name) {
				mine = append(mine, s)
			}
		}
		if len(mine) == 0 {
			t.Errorf("backend %s (model %s) has no hostile-input suite in this package", b.Name, b.Model)
			continue
		}
		models := map[string][]string{b.Model: stringFields(b.Model)}
		for _, rel := range b.Related {
			fs := stringFields(rel.Model)
			if rel.Fields != nil { // only updates of these fields reach the backend
				fs = slices.DeleteFunc(fs, func(f string) bool { return !slices.Contains(rel.Fields, f) })
			}
			models[rel.Model] = append(models[rel.Model], fs...)
		}
		for model, fs := range models {
			for _, f := range fs {
				if _, ok := skipped[model+"."+f]; ok {
					continue
				}
				if !slices.ContainsFunc(mine, func(s suite) bool { return slices.Contains(s.fields[model], f) }) {
					t.Errorf("backend %s: no suite writes hostile values into %s.%s", b.Name, model, f)
				}
			}
		}
	}
	if n < 6 {
		t.Errorf("%d backends registered: the services are not imported", n)
	}
}

// TestHostileBackends runs every suite on every store, each in a store of
// its own: another suite's routes would apply its objects too.
func TestHostileBackends(t *testing.T) {
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				r := newRecorder(t, st)
				s.run(t, st, r)
				if !t.Failed() {
					r.check(s.fields)
				}
			})
		})
	}
}
