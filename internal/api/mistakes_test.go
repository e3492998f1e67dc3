package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestSchemaAndRulesAtOnce: a body that breaks its schema (a required field
// absent, a value too long) is answered with the rules' mistakes too, each
// on its field, in one answer; nothing is saved.
func TestSchemaAndRulesAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		dom := admin.Do("POST", "/domains", map[string]any{"name": "mistakes.example", "account": 1}).Want(http.StatusCreated).ID()
		before := e.HistoryCount()
		long := strings.Repeat("x", 300)
		cases := []struct {
			method, path string
			body         map[string]any
			want         []string
		}{
			{"POST", "/accounts", map[string]any{"username": "9 bad", "email": "nope", "password": "x", "type": "NOPE"},
				[]string{"body.email", "body.full_name", "body.password", "body.type", "body.username"}},
			{"POST", "/records", map[string]any{"domain": dom, "type": "A", "ttl": "zz"},
				[]string{"body.ttl", "body.value"}},
			{"POST", "/contacts", map[string]any{"account": 1, "short_name": long, "email": "nope"},
				[]string{"body.email", "body.short_name"}},
			{"PATCH", "/accounts/1", map[string]any{"email": "nope", "full_name": long, "version": 1},
				[]string{"body.email", "body.full_name"}},
		}
		for _, c := range cases {
			r := admin.Do(c.method, c.path, c.body).Want(http.StatusUnprocessableEntity)
			got := r.FieldErrors()
			slices.Sort(got)
			if c.path == "/contacts" && !strings.Contains(string(r.Body), `"Enter at most 128 characters."`) {
				t.Errorf("the schema's message in plain words: %s", r.Body)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s %s: errors on %v, want %v: %s", c.method, c.path, got, c.want, r.Body)
			}
		}
		if n := e.HistoryCount(); n != before {
			t.Errorf("refused requests left %d history entries", n-before)
		}
	})
}
