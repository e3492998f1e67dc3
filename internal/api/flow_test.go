package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestNewcomer is README's promise: staff logs in, creates an account with a
// contact and a token, and that token reads only its own account's data.
func TestNewcomer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.login("admin", adminPassword)
		alice := admin.do("POST", "/accounts", map[string]any{
			"username": "alice", "full_name": "Alice Liddell", "email": "alice@example.com", "password": "Wonder-land-42",
		}).want(http.StatusCreated)
		aliceID := alice.id()
		if loc := alice.header.Get("Location"); loc == "" {
			t.Error("create returned no Location")
		}
		admin.do("POST", "/contacts", map[string]any{
			"account": aliceID, "short_name": "Alice", "email": "alice@example.com", "phone": "+34 931 234 567",
			"address": "Carrer Major 1", "city": "Barcelona", "zipcode": "08001", "country": "ES",
		}).want(http.StatusCreated)
		bob := e.makeAccount("bob", "Bob-password-1", false)
		admin.do("POST", "/contacts", map[string]any{"account": bob.ID, "short_name": "Bob", "email": "bob@example.com"}).
			want(http.StatusCreated)

		tok := e.tokenFor(admin, aliceID)
		accs := tok.do("GET", "/accounts", nil).want(http.StatusOK).json()
		if accs["count"].(float64) != 1 {
			t.Fatalf("alice sees %v accounts, want only her own: %v", accs["count"], accs)
		}
		contacts := tok.do("GET", "/contacts", nil).want(http.StatusOK).json()
		res := contacts["results"].([]any)
		if len(res) != 1 || res[0].(map[string]any)["short_name"] != "Alice" {
			t.Fatalf("alice's contacts: %v", contacts)
		}
		tok.do("GET", fmt.Sprintf("/accounts/%d", bob.ID), nil).want(http.StatusNotFound)
		tok.do("GET", "/settings", nil).want(http.StatusForbidden)
		me := tok.do("GET", "/auth/me", nil).want(http.StatusOK).json()
		if me["username"] != "alice" {
			t.Fatalf("me = %v", me)
		}
		// The new account can log in with its own password too.
		e.login("alice", "Wonder-land-42")
	})
}

// TestUpdateVersions covers optimistic concurrency on both If-Match and body.
func TestUpdateVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.login("admin", adminPassword)
		c := admin.do("POST", "/contacts", map[string]any{"account": 1, "short_name": "C", "email": "c@example.com"}).
			want(http.StatusCreated)
		path := fmt.Sprintf("/contacts/%d", c.id())
		etag := admin.do("GET", path, nil).want(http.StatusOK).header.Get("ETag")
		if etag != `"1"` {
			t.Fatalf("ETag = %q", etag)
		}
		admin.do("PATCH", path, map[string]any{"city": "Girona"}).want(http.StatusPreconditionRequired)
		admin.header.Set("If-Match", etag)
		got := admin.do("PATCH", path, map[string]any{"city": "Girona"}).want(http.StatusOK)
		if got.header.Get("ETag") != `"2"` || got.json()["city"] != "Girona" {
			t.Fatalf("after update: %s %s", got.header.Get("ETag"), got.body)
		}
		// A second editor still holding version 1 is refused, not silently applied.
		admin.do("PATCH", path, map[string]any{"city": "Lleida"}).want(http.StatusPreconditionFailed)
		admin.header.Del("If-Match")
		admin.do("PATCH", path, map[string]any{"city": "Lleida", "version": 1}).want(http.StatusPreconditionFailed)
		admin.do("PATCH", path, map[string]any{"city": "Lleida", "version": 2}).want(http.StatusOK)
		if city := admin.do("GET", path, nil).json()["city"]; city != "Lleida" {
			t.Fatalf("city = %v", city)
		}
		// The same through accounts.
		admin.do("PATCH", "/accounts/1", map[string]any{"full_name": "Root", "version": 1}).want(http.StatusOK)
		admin.do("PATCH", "/accounts/1", map[string]any{"full_name": "Root 2", "version": 1}).want(http.StatusPreconditionFailed)
		admin.do("PATCH", "/accounts/999", map[string]any{"full_name": "Nobody", "version": 1}).want(http.StatusNotFound)
	})
}
