package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestDeepPages: pages far into a list (read by id after walking the
// offset on ids) hold exactly the viewer's objects, in order.
func TestDeepPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		a := e.MakeAccount("alice", "Alice-password-1", false)
		b := e.MakeAccount("bob", "Bob-password-1", false)
		// 800 contacts each, interleaved, so A's 600th is far past offset 600 overall.
		ctx := audit.Without(viewer.System(context.Background(), viewer.ChannelCLI))
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			var bulk []*ent.ContactCreate
			for i := range 1600 {
				owner := []*ent.Account{a, b}[i%2]
				bulk = append(bulk, tx.Contact.Create().SetAccountID(owner.ID).
					SetShortName(fmt.Sprintf("%s %04d", owner.Username, i/2)).SetEmail("c@example.com"))
			}
			return tx.Contact.CreateBulk(bulk...).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		alice := e.TokenFor(admin, a.ID)
		for _, c := range []struct {
			path  string
			first int // alice's contact number of the first result
			n     int
			desc  bool
		}{
			{"/contacts?page=13&page_size=50", 600, 50, false},
			{"/contacts?page=16&page_size=50", 750, 50, false},
			{"/contacts?page=3&page_size=300", 600, 200, false},
			{"/contacts?page=17&page_size=50", 0, 0, false},
			{"/contacts?page=13&page_size=50&ordering=-short_name", 199, 50, true},
			{"/contacts?page=13&page_size=50&search=alice", 600, 50, false},
			{"/contacts?page=13&page_size=50&search=bob", 0, 0, false},
		} {
			r := alice.Do("GET", c.path, nil).Want(http.StatusOK)
			body := r.JSON()
			if body["count"] == nil || body["count_exact"] != true {
				t.Errorf("%s: count %v, exact %v", c.path, body["count"], body["count_exact"])
			}
			results := body["results"].([]any)
			if len(results) != c.n {
				t.Errorf("%s: %d results, want %d", c.path, len(results), c.n)
				continue
			}
			for i, x := range results {
				want := c.first + i
				if c.desc {
					want = c.first - i
				}
				name := x.(map[string]any)["short_name"]
				if name != fmt.Sprintf("alice %04d", want) {
					t.Errorf("%s: result %d is %v, want alice %04d", c.path, i, name, want)
					break
				}
			}
		}
	})
}

// TestCountCap: a list counts at most 10,000 matches and says so.
func TestCountCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		seedAccounts(t, st, 10_000) // + admin = 10,001
		body := admin.Do("GET", "/accounts?page_size=1", nil).Want(http.StatusOK).JSON()
		if body["count"] != 10_000.0 || body["count_exact"] != false {
			t.Errorf("10,001 accounts: count %v, exact %v; want 10000, false", body["count"], body["count_exact"])
		}
		body = admin.Do("GET", "/accounts?page_size=1&search=user00999", nil).Want(http.StatusOK).JSON()
		if body["count"] != 10.0 || body["count_exact"] != true {
			t.Errorf("search: count %v, exact %v; want 10, true", body["count"], body["count_exact"])
		}
		// The last page is still reachable past the counted 10,000.
		body = admin.Do("GET", "/accounts?page=201&page_size=50", nil).Want(http.StatusOK).JSON()
		if n := len(body["results"].([]any)); n != 1 {
			t.Errorf("page 201 of 50: %d results, want 1", n)
		}
	})
}
