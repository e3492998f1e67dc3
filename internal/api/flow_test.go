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
		admin := e.Login("admin", adminPassword)
		alice := admin.Do("POST", "/accounts", map[string]any{
			"username": "alice", "full_name": "Alice Liddell", "email": "alice@example.com", "password": "Wonder-land-42",
		}).Want(http.StatusCreated)
		aliceID := alice.ID()
		if loc := alice.Header.Get("Location"); loc == "" {
			t.Error("create returned no Location")
		}
		admin.Do("POST", "/contacts", map[string]any{
			"account": aliceID, "short_name": "Alice", "email": "alice@example.com", "phone": "+34 931 234 567",
			"address": "Carrer Major 1", "city": "Barcelona", "zipcode": "08001", "country": "ES",
		}).Want(http.StatusCreated)
		bob := e.MakeAccount("bob", "Bob-password-1", false)
		admin.Do("POST", "/contacts", map[string]any{"account": bob.ID, "short_name": "Bob", "email": "bob@example.com"}).
			Want(http.StatusCreated)

		tok := e.TokenFor(admin, aliceID)
		accs := tok.Do("GET", "/accounts", nil).Want(http.StatusOK).JSON()
		if accs["count"].(float64) != 1 {
			t.Fatalf("alice sees %v accounts, want only her own: %v", accs["count"], accs)
		}
		contacts := tok.Do("GET", "/contacts", nil).Want(http.StatusOK).JSON()
		res := contacts["results"].([]any)
		if len(res) != 1 || res[0].(map[string]any)["short_name"] != "Alice" {
			t.Fatalf("alice's contacts: %v", contacts)
		}
		tok.Do("GET", fmt.Sprintf("/accounts/%d", bob.ID), nil).Want(http.StatusNotFound)
		tok.Do("GET", "/settings", nil).Want(http.StatusForbidden)
		me := tok.Do("GET", "/auth/me", nil).Want(http.StatusOK).JSON()
		if me["username"] != "alice" {
			t.Fatalf("me = %v", me)
		}
		// The new account can log in with its own password too.
		e.Login("alice", "Wonder-land-42")
	})
}

// TestUpdateVersions covers optimistic concurrency on both If-Match and body.
func TestUpdateVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		c := admin.Do("POST", "/contacts", map[string]any{"account": 1, "short_name": "C", "email": "c@example.com"}).
			Want(http.StatusCreated)
		path := fmt.Sprintf("/contacts/%d", c.ID())
		etag := admin.Do("GET", path, nil).Want(http.StatusOK).Header.Get("ETag")
		if etag != `"1"` {
			t.Fatalf("ETag = %q", etag)
		}
		admin.Do("PATCH", path, map[string]any{"city": "Girona"}).Want(http.StatusPreconditionRequired)
		admin.Header.Set("If-Match", etag)
		got := admin.Do("PATCH", path, map[string]any{"city": "Girona"}).Want(http.StatusOK)
		if got.Header.Get("ETag") != `"2"` || got.JSON()["city"] != "Girona" {
			t.Fatalf("after update: %s %s", got.Header.Get("ETag"), got.Body)
		}
		// A second editor still holding version 1 is refused, not silently applied.
		admin.Do("PATCH", path, map[string]any{"city": "Lleida"}).Want(http.StatusPreconditionFailed)
		admin.Header.Del("If-Match")
		admin.Do("PATCH", path, map[string]any{"city": "Lleida", "version": 1}).Want(http.StatusPreconditionFailed)
		admin.Do("PATCH", path, map[string]any{"city": "Lleida", "version": 2}).Want(http.StatusOK)
		if city := admin.Do("GET", path, nil).JSON()["city"]; city != "Lleida" {
			t.Fatalf("city = %v", city)
		}
		// The same through accounts.
		admin.Do("PATCH", "/accounts/1", map[string]any{"full_name": "Root", "version": 1}).Want(http.StatusOK)
		admin.Do("PATCH", "/accounts/1", map[string]any{"full_name": "Root 2", "version": 1}).Want(http.StatusPreconditionFailed)
		admin.Do("PATCH", "/accounts/999", map[string]any{"full_name": "Nobody", "version": 1}).Want(http.StatusNotFound)
	})
}
