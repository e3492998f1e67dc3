package databases_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestEveryMistakeAtOnce: a refused password does not hide the other
// fields' mistakes, for a database user and for a database with a new user;
// nothing is saved.
func TestEveryMistakeAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		acc := admin.Do("POST", "/accounts", map[string]any{"username": "erin", "full_name": "Erin",
			"email": "erin@example.com"}).Want(http.StatusCreated).ID()
		as := e.TokenFor(admin, acc)
		before := e.HistoryCount()
		cases := []struct {
			path string
			body map[string]any
			want []string
		}{
			{"/database-users", map[string]any{"username": "9-Bad", "password": "weak", "type": "mysql"},
				[]string{"body.password", "body.username"}},
			{"/databases", map[string]any{"name": "Bad-Name", "type": "mysql",
				"user": map[string]any{"username": "9-Bad", "password": "weak"}},
				[]string{"body.name", "body.user.password", "body.user.username"}},
			{"/databases", map[string]any{"name": "Bad-Name", "type": "mysql"},
				[]string{"body.name", "body.users"}},
		}
		for _, c := range cases {
			r := as.Do("POST", c.path, c.body).Want(http.StatusUnprocessableEntity)
			got := r.FieldErrors()
			slices.Sort(got)
			if !slices.Equal(slices.Compact(got), c.want) {
				t.Errorf("POST %s %v: errors on %v, want %v: %s", c.path, c.body, got, c.want, r.Body)
			}
		}
		if n := e.HistoryCount(); n != before {
			t.Errorf("refused requests left %d history entries", n-before)
		}
	})
}
