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
	return c.do("GET", "/contacts", nil).want(http.StatusOK).json()["count"].(float64)
}

func TestIdempotencyKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.login("admin", adminPassword)
		body := map[string]any{"account": 1, "short_name": "Once", "email": "once@example.com"}
		admin.header.Set("Idempotency-Key", "k-1")
		first := admin.do("POST", "/contacts", body).want(http.StatusCreated)
		again := admin.do("POST", "/contacts", body).want(http.StatusCreated)
		if again.header.Get("Idempotent-Replayed") != "true" || again.id() != first.id() {
			t.Fatalf("retry was not a replay: %s %s", again.header, again.body)
		}
		if n := contactCount(t, admin); n != 1 {
			t.Fatalf("%v contacts after a retried create, want 1", n)
		}
		// The same key for a different request is a client error.
		body["short_name"] = "Other"
		admin.do("POST", "/contacts", body).want(http.StatusUnprocessableEntity)
		// Keys belong to their account: another account's identical key is its own.
		e.makeAccount("carol", "Carol-pass-1", false)
		carol := e.login("carol", "Carol-pass-1")
		carol.header.Set("Idempotency-Key", "k-1")
		carol.do("POST", "/contacts", map[string]any{"short_name": "Carol", "email": "c@example.com"}).want(http.StatusCreated)
		// A refused request is remembered too, and retrying it stays refused.
		admin.header.Set("Idempotency-Key", "k-2")
		admin.do("POST", "/contacts", map[string]any{"account": 1, "short_name": "", "email": "x@example.com"}).want(http.StatusUnprocessableEntity)
		admin.do("POST", "/contacts", map[string]any{"account": 1, "short_name": "", "email": "x@example.com"}).want(http.StatusUnprocessableEntity)

		// Concurrent retries of one key create exactly one object.
		admin.header.Set("Idempotency-Key", "k-3")
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = admin.do("POST", "/contacts", map[string]any{"account": 1, "short_name": "Race", "email": "r@example.com"}).status
			}()
		}
		wg.Wait()
		admin.header.Del("Idempotency-Key")
		race := admin.do("GET", "/contacts?search=Race", nil).want(http.StatusOK).json()["count"].(float64)
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
		e.makeAccount("dave", "Dave-pass-12", false)
		anon := e.anon()
		for i := 0; i < 5; i++ {
			anon.do("POST", "/auth/login", map[string]any{"username": "dave", "password": "wrong"}).want(http.StatusUnauthorized)
		}
		r := anon.do("POST", "/auth/login", map[string]any{"username": "dave", "password": "Dave-pass-12"}).
			want(http.StatusTooManyRequests)
		if r.header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		// Other users are not locked out by dave's attacker (per-user limit)...
		e.makeAccount("erin", "Erin-pass-12", false)
		erin := e.login("erin", "Erin-pass-12")
		erin.do("GET", "/auth/me", nil).want(http.StatusOK)
		admin := e.login("admin", adminPassword)
		// ...but one address guessing across many users is (per-address limit).
		for i := 0; i < 20; i++ {
			anon.do("POST", "/auth/login", map[string]any{"username": fmt.Sprintf("u%d", i), "password": "x"})
		}
		anon.do("POST", "/auth/login", map[string]any{"username": "erin", "password": "Erin-pass-12"}).
			want(http.StatusTooManyRequests)

		// Logout ends the session; password change needs the current password.
		erin.do("POST", "/auth/password", map[string]any{"current_password": "nope", "password": "Erin-new-pass-3"}).
			want(http.StatusUnprocessableEntity)
		erin.do("POST", "/auth/password", map[string]any{"current_password": "Erin-pass-12", "password": "Erin-new-pass-3"}).
			want(http.StatusOK)
		erin.do("POST", "/auth/logout", nil).want(http.StatusNoContent)
		erin.do("GET", "/auth/me", nil).want(http.StatusUnauthorized)

		// A revoked token stops working; a disabled account's token too.
		tok := admin.do("POST", "/tokens", map[string]any{"name": "t", "account": 1}).want(http.StatusCreated)
		c := e.anon()
		c.bearer = tok.json()["token"].(string)
		c.do("GET", "/auth/me", nil).want(http.StatusOK)
		admin.do("DELETE", fmt.Sprintf("/tokens/%d", tok.id()), nil).want(http.StatusNoContent)
		c.do("GET", "/auth/me", nil).want(http.StatusUnauthorized)
		frank := e.makeAccount("frank", "Frank-pass-1", false)
		ftok := e.tokenFor(admin, frank.ID)
		ftok.do("GET", "/auth/me", nil).want(http.StatusOK)
		admin.do("PATCH", fmt.Sprintf("/accounts/%d", frank.ID), map[string]any{"is_active": false, "version": 1}).want(http.StatusOK)
		ftok.do("GET", "/auth/me", nil).want(http.StatusUnauthorized)
	})
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	admin := e.login("admin", adminPassword)
	admin.header.Set("Sec-Fetch-Site", "cross-site")
	admin.do("POST", "/contacts", map[string]any{"account": 1, "short_name": "CSRF", "email": "c@example.com"}).
		want(http.StatusForbidden)
	admin.header.Del("Sec-Fetch-Site")
	if n := contactCount(t, admin); n != 0 {
		t.Fatalf("cross-site POST created %v contacts", n)
	}
}

func TestHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.login("admin", adminPassword)
		acc := admin.do("POST", "/accounts", map[string]any{"username": "gina", "full_name": "Gina", "email": "g@example.com",
			"password": "Gina-pass-123"}).want(http.StatusCreated)
		id := acc.id()
		admin.do("PATCH", fmt.Sprintf("/accounts/%d", id), map[string]any{"email": "gina@example.com", "version": 1}).want(http.StatusOK)
		admin.do("POST", fmt.Sprintf("/accounts/%d/password", id), map[string]any{"password": "Gina-new-pass-4"}).want(http.StatusOK)

		h := admin.do("GET", fmt.Sprintf("/history?object_type=Account&object_id=%d&ordering=id", id), nil).want(http.StatusOK).json()
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
		raw := admin.do("GET", "/history?object_type=Account", nil).body
		if strings.Contains(string(raw), "argon2") || strings.Contains(string(raw), "Gina-pass") {
			t.Fatalf("history leaks a secret: %s", raw)
		}
		// Filter by actor; the account itself sees its own entries only.
		byActor := admin.do("GET", "/history?actor=admin", nil).want(http.StatusOK).json()["count"].(float64)
		if byActor < 3 {
			t.Errorf("history by actor admin: %v entries", byActor)
		}
		gina := e.login("gina", "Gina-new-pass-4")
		own := gina.do("GET", "/history", nil).want(http.StatusOK).json()
		for _, x := range own["results"].([]any) {
			if x.(map[string]any)["account"] != float64(id) {
				t.Errorf("gina sees another account's history: %v", x)
			}
		}
		// Deleting records the deletion, and the entry survives the account.
		admin.do("DELETE", fmt.Sprintf("/accounts/%d", id), nil).want(http.StatusNoContent)
		del := admin.do("GET", fmt.Sprintf("/history?object_type=Account&object_id=%d&action=delete", id), nil).want(http.StatusOK).json()
		if del["count"].(float64) != 1 || del["results"].([]any)[0].(map[string]any)["object_repr"] != "gina" {
			t.Errorf("deletion entry: %v", del)
		}
	})
}

func TestSettingsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.login("admin", adminPassword)
		info := admin.do("GET", "/settings/ACCOUNTS_DEFAULT_TYPE", nil).want(http.StatusOK).json()
		if info["value"] != "INDIVIDUAL" || info["source"] != "default" {
			t.Fatalf("setting: %v", info)
		}
		admin.do("PUT", "/settings/ACCOUNTS_DEFAULT_TYPE", map[string]any{"value": 3}).want(http.StatusUnprocessableEntity)
		admin.do("PUT", "/settings/NO_SUCH_SETTING", map[string]any{"value": "x"}).want(http.StatusNotFound)
		admin.do("PUT", "/settings/CONTACTS_DEFAULT_COUNTRY", map[string]any{"value": "ZZ"}).want(http.StatusUnprocessableEntity)
		got := admin.do("PUT", "/settings/ACCOUNTS_DEFAULT_TYPE", map[string]any{"value": "COMPANY"}).want(http.StatusOK).json()
		if got["value"] != "COMPANY" || got["source"] != "database" {
			t.Fatalf("after set: %v", got)
		}
		t.Cleanup(func() { admin.do("DELETE", "/settings/ACCOUNTS_DEFAULT_TYPE", nil) })
		// The stored value is in effect: a new account gets it.
		a := admin.do("POST", "/accounts", map[string]any{"username": "hank", "full_name": "H", "email": "h@example.com"}).
			want(http.StatusCreated).json()
		if a["type"] != "COMPANY" {
			t.Fatalf("new account type %v, want the stored default COMPANY", a["type"])
		}
		// Changing a setting is audited.
		if n := admin.do("GET", "/history?object_type=Setting", nil).json()["count"].(float64); n != 1 {
			t.Errorf("%v history entries for settings, want 1", n)
		}
		admin.do("DELETE", "/settings/ACCOUNTS_DEFAULT_TYPE", nil).want(http.StatusNoContent)
		if v := admin.do("GET", "/settings/ACCOUNTS_DEFAULT_TYPE", nil).json()["value"]; v != "INDIVIDUAL" {
			t.Fatalf("after reset: %v", v)
		}
		// A secret setting's value is recorded as changed, never as itself.
		admin.do("PUT", "/settings/API_TEST_SECRET", map[string]any{"value": "smtp-pass-1"}).want(http.StatusOK)
		admin.do("PUT", "/settings/API_TEST_SECRET", map[string]any{"value": "smtp-pass-2"}).want(http.StatusOK)
		t.Cleanup(func() { admin.do("DELETE", "/settings/API_TEST_SECRET", nil) })
		if testSecret.Get() != "smtp-pass-2" {
			t.Errorf("the secret setting is not in effect")
		}
		h := admin.do("GET", "/history?object_type=Setting", nil).want(http.StatusOK)
		recorded := 0
		for _, r := range h.json()["results"].([]any) {
			e := r.(map[string]any)
			if e["object_repr"] != "API_TEST_SECRET" {
				continue
			}
			if v, _ := e["changes"].(map[string]any)["value"].(map[string]any); v["secret"] == true {
				recorded++
			}
		}
		if strings.Contains(string(h.body), "smtp-pass") || recorded != 2 {
			t.Errorf("the secret setting's history: %s", h.body)
		}
	})
}

// testSecret is a secret setting, as MAIL_SMTP_PASSWORD is.
var testSecret = settings.String("API_TEST_SECRET", "", "A secret for tests.", settings.Secret())

func TestDocsServed(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	c := e.anon()
	spec := c.do("GET", "/openapi.json", nil).want(http.StatusOK).json()
	if spec["openapi"] != "3.1.0" {
		t.Fatalf("openapi version %v", spec["openapi"])
	}
	page := c.do("GET", "/docs", nil).want(http.StatusOK)
	for _, want := range []string{"/api/v1/accounts", "/api/v1/contacts", "/api/v1/tokens"} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("docs page lacks %s", want)
		}
	}
	c.do("GET", "/nowhere", nil).want(http.StatusNotFound)
}
