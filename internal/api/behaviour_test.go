package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

func contactCount(t *testing.T, c *client) float64 {
	t.Helper()
	return c.Do("GET", "/contacts", nil).Want(http.StatusOK).JSON()["count"].(float64)
}

func TestIdempotencyKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		body := map[string]any{"account": 1, "short_name": "Once", "email": "once@example.com"}
		admin.Header.Set("Idempotency-Key", "k-1")
		first := admin.Do("POST", "/contacts", body).Want(http.StatusCreated)
		again := admin.Do("POST", "/contacts", body).Want(http.StatusCreated)
		if again.Header.Get("Idempotent-Replayed") != "true" || again.ID() != first.ID() {
			t.Fatalf("retry was not a replay: %s %s", again.Header, again.Body)
		}
		if n := contactCount(t, admin); n != 1 {
			t.Fatalf("%v contacts after a retried create, want 1", n)
		}
		// The same key for a different request is a client error.
		body["short_name"] = "Other"
		admin.Do("POST", "/contacts", body).Want(http.StatusUnprocessableEntity)
		// Keys belong to their account: another account's identical key is its own.
		e.MakeAccount("carol", "Carol-pass-1", false)
		carol := e.Login("carol", "Carol-pass-1")
		carol.Header.Set("Idempotency-Key", "k-1")
		carol.Do("POST", "/contacts", map[string]any{"short_name": "Carol", "email": "c@example.com"}).Want(http.StatusCreated)
		// A refused request is remembered too, and retrying it stays refused.
		admin.Header.Set("Idempotency-Key", "k-2")
		admin.Do("POST", "/contacts", map[string]any{"account": 1, "short_name": "", "email": "x@example.com"}).Want(http.StatusUnprocessableEntity)
		admin.Do("POST", "/contacts", map[string]any{"account": 1, "short_name": "", "email": "x@example.com"}).Want(http.StatusUnprocessableEntity)

		// Concurrent retries of one key create exactly one object.
		admin.Header.Set("Idempotency-Key", "k-3")
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = admin.Do("POST", "/contacts", map[string]any{"account": 1, "short_name": "Race", "email": "r@example.com"}).Status
			}()
		}
		wg.Wait()
		admin.Header.Del("Idempotency-Key")
		race := admin.Do("GET", "/contacts?search=Race", nil).Want(http.StatusOK).JSON()["count"].(float64)
		if race != 1 {
			t.Fatalf("%v objects from concurrent retries (statuses %v), want 1", race, statuses)
		}
		for _, s := range statuses {
			if s != http.StatusCreated && s != http.StatusConflict {
				t.Fatalf("concurrent retry status %d (all: %v)", s, statuses)
			}
		}
	})
}

func TestLoginThrottleAndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.MakeAccount("dave", "Dave-pass-12", false)
		anon := e.Anon()
		for i := 0; i < 5; i++ {
			anon.Do("POST", "/auth/login", map[string]any{"username": "dave", "password": "wrong"}).Want(http.StatusUnauthorized)
		}
		r := anon.Do("POST", "/auth/login", map[string]any{"username": "dave", "password": "Dave-pass-12"}).
			Want(http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		// Other users are not locked out by dave's attacker (per-user limit)...
		e.MakeAccount("erin", "Erin-pass-12", false)
		erin := e.Login("erin", "Erin-pass-12")
		erin.Do("GET", "/auth/me", nil).Want(http.StatusOK)
		admin := e.Login("admin", adminPassword)
		// ...but one address guessing across many users is (per-address limit).
		for i := 0; i < 20; i++ {
			anon.Do("POST", "/auth/login", map[string]any{"username": fmt.Sprintf("u%d", i), "password": "x"})
		}
		anon.Do("POST", "/auth/login", map[string]any{"username": "erin", "password": "Erin-pass-12"}).
			Want(http.StatusTooManyRequests)

		// Logout ends the session; password change needs the current password.
		erin.Do("POST", "/auth/password", map[string]any{"current_password": "nope", "password": "Erin-new-pass-3"}).
			Want(http.StatusUnprocessableEntity)
		erin.Do("POST", "/auth/password", map[string]any{"current_password": "Erin-pass-12", "password": "Erin-new-pass-3"}).
			Want(http.StatusOK)
		erin.Do("POST", "/auth/logout", nil).Want(http.StatusNoContent)
		erin.Do("GET", "/auth/me", nil).Want(http.StatusUnauthorized)

		// A revoked token stops working; a disabled account's token too.
		tok := admin.Do("POST", "/tokens", map[string]any{"name": "t", "account": 1}).Want(http.StatusCreated)
		c := e.Anon()
		c.Bearer = tok.JSON()["token"].(string)
		c.Do("GET", "/auth/me", nil).Want(http.StatusOK)
		admin.Do("DELETE", fmt.Sprintf("/tokens/%d", tok.ID()), nil).Want(http.StatusNoContent)
		c.Do("GET", "/auth/me", nil).Want(http.StatusUnauthorized)
		frank := e.MakeAccount("frank", "Frank-pass-1", false)
		ftok := e.TokenFor(admin, frank.ID)
		ftok.Do("GET", "/auth/me", nil).Want(http.StatusOK)
		admin.Do("PATCH", fmt.Sprintf("/accounts/%d", frank.ID), map[string]any{"is_active": false, "version": 1}).Want(http.StatusOK)
		ftok.Do("GET", "/auth/me", nil).Want(http.StatusUnauthorized)
	})
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	admin := e.Login("admin", adminPassword)
	admin.Header.Set("Sec-Fetch-Site", "cross-site")
	admin.Do("POST", "/contacts", map[string]any{"account": 1, "short_name": "CSRF", "email": "c@example.com"}).
		Want(http.StatusForbidden)
	admin.Header.Del("Sec-Fetch-Site")
	if n := contactCount(t, admin); n != 0 {
		t.Fatalf("cross-site POST created %v contacts", n)
	}
}

func TestHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		acc := admin.Do("POST", "/accounts", map[string]any{"username": "gina", "full_name": "Gina", "email": "g@example.com",
			"password": "Gina-pass-123"}).Want(http.StatusCreated)
		id := acc.ID()
		admin.Do("PATCH", fmt.Sprintf("/accounts/%d", id), map[string]any{"email": "gina@example.com", "version": 1}).Want(http.StatusOK)
		admin.Do("POST", fmt.Sprintf("/accounts/%d/password", id), map[string]any{"password": "Gina-new-pass-4"}).Want(http.StatusOK)

		h := admin.Do("GET", fmt.Sprintf("/history?object_type=Account&object_id=%d&ordering=id", id), nil).Want(http.StatusOK).JSON()
		entries := h["results"].([]any)
		if len(entries) != 3 {
			t.Fatalf("want create, update, password entries; got %s", h)
		}
		create, update, pw := entries[0].(map[string]any), entries[1].(map[string]any), entries[2].(map[string]any)
		if create["action"] != "create" || create["actor"] != "admin" || create["channel"] != "api" || create["object_repr"] != "gina" {
			t.Errorf("create entry: %v", create)
		}
		ch := update["changes"].(map[string]any)["email"].(map[string]any)
		if ch["old"] != "g@example.com" || ch["new"] != "gina@example.com" {
			t.Errorf("update entry changes: %v", update["changes"])
		}
		if pc := pw["changes"].(map[string]any)["password"]; fmt.Sprint(pc) != "map[secret:true]" {
			t.Errorf("password change recorded as %v", pc)
		}
		raw := admin.Do("GET", "/history?object_type=Account", nil).Body
		if strings.Contains(string(raw), "argon2") || strings.Contains(string(raw), "Gina-pass") {
			t.Fatalf("history leaks a secret: %s", raw)
		}
		// Filter by actor; the account itself sees its own entries only.
		byActor := admin.Do("GET", "/history?actor=admin", nil).Want(http.StatusOK).JSON()["count"].(float64)
		if byActor < 3 {
			t.Errorf("history by actor admin: %v entries", byActor)
		}
		gina := e.Login("gina", "Gina-new-pass-4")
		own := gina.Do("GET", "/history", nil).Want(http.StatusOK).JSON()
		for _, x := range own["results"].([]any) {
			if x.(map[string]any)["account"] != float64(id) {
				t.Errorf("gina sees another account's history: %v", x)
			}
		}
		// Deleting records the deletion, and the entry survives the account.
		admin.Do("DELETE", fmt.Sprintf("/accounts/%d", id), nil).Want(http.StatusNoContent)
		del := admin.Do("GET", fmt.Sprintf("/history?object_type=Account&object_id=%d&action=delete", id), nil).Want(http.StatusOK).JSON()
		if del["count"].(float64) != 1 || del["results"].([]any)[0].(map[string]any)["object_repr"] != "gina" {
			t.Errorf("deletion entry: %v", del)
		}
	})
}

func TestSettingsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		info := admin.Do("GET", "/settings/ACCOUNTS_DEFAULT_TYPE", nil).Want(http.StatusOK).JSON()
		if info["value"] != "INDIVIDUAL" || info["source"] != "default" {
			t.Fatalf("setting: %v", info)
		}
		admin.Do("PUT", "/settings/ACCOUNTS_DEFAULT_TYPE", map[string]any{"value": 3}).Want(http.StatusUnprocessableEntity)
		admin.Do("PUT", "/settings/NO_SUCH_SETTING", map[string]any{"value": "x"}).Want(http.StatusNotFound)
		admin.Do("PUT", "/settings/CONTACTS_DEFAULT_COUNTRY", map[string]any{"value": "ZZ"}).Want(http.StatusUnprocessableEntity)
		got := admin.Do("PUT", "/settings/ACCOUNTS_DEFAULT_TYPE", map[string]any{"value": "COMPANY"}).Want(http.StatusOK).JSON()
		if got["value"] != "COMPANY" || got["source"] != "database" {
			t.Fatalf("after set: %v", got)
		}
		t.Cleanup(func() { admin.Do("DELETE", "/settings/ACCOUNTS_DEFAULT_TYPE", nil) })
		// The stored value is in effect: a new account gets it.
		a := admin.Do("POST", "/accounts", map[string]any{"username": "hank", "full_name": "H", "email": "h@example.com"}).
			Want(http.StatusCreated).JSON()
		if a["type"] != "COMPANY" {
			t.Fatalf("new account type %v, want the stored default COMPANY", a["type"])
		}
		// Changing a setting is audited.
		if n := admin.Do("GET", "/history?object_type=Setting", nil).JSON()["count"].(float64); n != 1 {
			t.Errorf("%v history entries for settings, want 1", n)
		}
		admin.Do("DELETE", "/settings/ACCOUNTS_DEFAULT_TYPE", nil).Want(http.StatusNoContent)
		if v := admin.Do("GET", "/settings/ACCOUNTS_DEFAULT_TYPE", nil).JSON()["value"]; v != "INDIVIDUAL" {
			t.Fatalf("after reset: %v", v)
		}
		// A secret setting's value is recorded as changed, never as itself.
		admin.Do("PUT", "/settings/API_TEST_SECRET", map[string]any{"value": "smtp-pass-1"}).Want(http.StatusOK)
		admin.Do("PUT", "/settings/API_TEST_SECRET", map[string]any{"value": "smtp-pass-2"}).Want(http.StatusOK)
		t.Cleanup(func() { admin.Do("DELETE", "/settings/API_TEST_SECRET", nil) })
		if testSecret.Get() != "smtp-pass-2" {
			t.Errorf("the secret setting is not in effect")
		}
		h := admin.Do("GET", "/history?object_type=Setting", nil).Want(http.StatusOK)
		recorded := 0
		for _, r := range h.JSON()["results"].([]any) {
			e := r.(map[string]any)
			if e["object_repr"] != "API_TEST_SECRET" {
				continue
			}
			if v, _ := e["changes"].(map[string]any)["value"].(map[string]any); v["secret"] == true {
				recorded++
			}
		}
		if strings.Contains(string(h.Body), "smtp-pass") || recorded != 2 {
			t.Errorf("the secret setting's history: %s", h.Body)
		}
	})
}

// testSecret is a secret setting, as MAIL_SMTP_PASSWORD is.
var testSecret = settings.String("API_TEST_SECRET", "", "A secret for tests.", settings.Secret())

func TestDocsServed(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	c := e.Anon()
	spec := c.Do("GET", "/openapi.json", nil).Want(http.StatusOK).JSON()
	if spec["openapi"] != "3.1.0" {
		t.Fatalf("openapi version %v", spec["openapi"])
	}
	page := c.Do("GET", "/docs", nil).Want(http.StatusOK)
	for _, want := range []string{"/api/v1/accounts", "/api/v1/contacts", "/api/v1/tokens"} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("docs page lacks %s", want)
		}
	}
	c.Do("GET", "/nowhere", nil).Want(http.StatusNotFound)
}
