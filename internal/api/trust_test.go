package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// twin is a second panel process over the same store.
func twin(e *env, cfg api.Config) *env {
	e.T.Helper()
	cfg.Version = "test"
	s := api.New(e.Store, cfg)
	srv := httptest.NewServer(s)
	e.T.Cleanup(srv.Close)
	return &env{T: e.T, Store: e.Store, Srv: srv, API: s}
}

// TestIdempotentTokenNotKept: the clear token of a POST /tokens with an
// Idempotency-Key is not in the idempotency store, and a replay says it was
// shown once (409) with the created token's Location instead of repeating it.
func TestIdempotentTokenNotKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		admin.Header.Set("Idempotency-Key", "tok-1")
		first := admin.Do("POST", "/tokens", map[string]any{"name": "ci"}).Want(http.StatusCreated)
		secret, _ := first.JSON()["token"].(string)
		if !strings.HasPrefix(secret, "orch_") {
			t.Fatalf("no token in the first answer: %s", first.Body)
		}
		rows, err := st.IdempotencyKey.Query().All(viewer.System(context.Background(), viewer.ChannelSystem))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("%d idempotency rows, want 1", len(rows))
		}
		if r := rows[0]; bytes.Contains(r.Body, []byte(secret)) || strings.Contains(r.Location+r.Withheld, secret) {
			t.Fatalf("the idempotency store keeps the token: %s", r.Body)
		} else if r.Withheld != "token" {
			t.Errorf("withheld %q, want token", r.Withheld)
		}
		again := admin.Do("POST", "/tokens", map[string]any{"name": "ci"}).Want(http.StatusConflict)
		if again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Location") != first.Header.Get("Location") {
			t.Errorf("replay headers %v, want Idempotent-Replayed and Location %s", again.Header, first.Header.Get("Location"))
		}
		if d, _ := again.JSON()["detail"].(string); !strings.Contains(d, "token") || strings.Contains(string(again.Body), secret) {
			t.Errorf("replay: %s", again.Body)
		}
		// only one token was made, and it works
		admin.Header.Del("Idempotency-Key")
		if n := admin.Do("GET", "/tokens", nil).Want(http.StatusOK).JSON()["count"].(float64); n != 1 {
			t.Errorf("%v tokens, want 1", n)
		}
		c := e.Anon()
		c.Bearer = secret
		c.Do("GET", "/auth/me", nil).Want(http.StatusOK)
	})
}

// TestTokenCannotOutliveItsCreator: a request authenticated with a token
// that expires may create only tokens expiring no later than it does.
func TestTokenCannotOutliveItsCreator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		short := e.Anon()
		short.Bearer = admin.Do("POST", "/tokens", map[string]any{"name": "short", "expires_at": exp}).
			Want(http.StatusCreated).JSON()["token"].(string)
		for _, body := range []map[string]any{
			{"name": "forever"},
			{"name": "longer", "expires_at": exp.Add(time.Minute)},
			{"name": "longer", "account": e.MakeAccount("ivy", "Ivy-pass-123", false).ID, "expires_at": exp.Add(time.Minute)},
		} {
			r := short.Do("POST", "/tokens", body).Want(http.StatusUnprocessableEntity)
			if f := r.FieldErrors(); len(f) != 1 || f[0] != "body.expires_at" {
				t.Errorf("%v: errors at %v, want body.expires_at: %s", body, f, r.Body)
			}
		}
		short.Do("POST", "/tokens", map[string]any{"name": "same", "expires_at": exp}).Want(http.StatusCreated)
		short.Do("POST", "/tokens", map[string]any{"name": "shorter", "expires_at": exp.Add(-time.Minute)}).Want(http.StatusCreated)
		// a token without expiry, and a session, create any
		forever := e.TokenFor(admin, 1)
		forever.Do("POST", "/tokens", map[string]any{"name": "forever"}).Want(http.StatusCreated)
		admin.Do("POST", "/tokens", map[string]any{"name": "forever too"}).Want(http.StatusCreated)
	})
}

// TestPasswordChangeEndsOtherSessions: changing one's password keeps the
// session it is made in and ends the others, and says so; staff setting it
// ends them all; API tokens stay valid either way.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		erin := e.MakeAccount("erin", "Erin-pass-12", false)
		here, phone := e.Login("erin", "Erin-pass-12"), e.Login("erin", "Erin-pass-12")
		tok := e.TokenFor(admin, erin.ID)
		r := here.Do("POST", "/auth/password", map[string]any{"current_password": "Erin-pass-12", "password": "Erin-new-pass-3"}).
			Want(http.StatusOK).JSON()
		if r["sessions_ended"] != 1.0 || !strings.Contains(r["message"].(string), "logged out") {
			t.Errorf("answer %v, want 1 session ended and a message saying so", r)
		}
		here.Do("GET", "/auth/me", nil).Want(http.StatusOK)
		phone.Do("GET", "/auth/me", nil).Want(http.StatusUnauthorized)
		tok.Do("GET", "/auth/me", nil).Want(http.StatusOK)
		admin.Do("GET", "/auth/me", nil).Want(http.StatusOK)

		r = admin.Do("POST", fmt.Sprintf("/accounts/%d/password", erin.ID), map[string]any{"password": "Erin-reset-pass-4"}).
			Want(http.StatusOK).JSON()
		if r["sessions_ended"] != 1.0 {
			t.Errorf("staff reset: %v, want erin's session ended", r)
		}
		here.Do("GET", "/auth/me", nil).Want(http.StatusUnauthorized)
		tok.Do("GET", "/auth/me", nil).Want(http.StatusOK)
		admin.Do("GET", "/auth/me", nil).Want(http.StatusOK)
	})
}

// TestPasswordCheckThrottled: wrong current passwords in a password change
// are limited per account, in every panel process, as logins are.
func TestPasswordCheckThrottled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.MakeAccount("hal", "Hal-pass-1234", false)
		hal := e.Login("hal", "Hal-pass-1234")
		for range 5 {
			hal.Do("POST", "/auth/password", map[string]any{"current_password": "guess", "password": "Hal-new-pass-5"}).
				Want(http.StatusUnprocessableEntity)
		}
		r := hal.Do("POST", "/auth/password", map[string]any{"current_password": "Hal-pass-1234", "password": "Hal-new-pass-5"}).
			Want(http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		other := twin(e, api.Config{}).Login("hal", "Hal-pass-1234")
		other.Do("POST", "/auth/password", map[string]any{"current_password": "Hal-pass-1234", "password": "Hal-new-pass-5"}).
			Want(http.StatusTooManyRequests)
		e.Login("hal", "Hal-pass-1234") // the password is unchanged
	})
}

// TestLoginThrottleShared: failures counted by one panel process block the
// login in another; behind a trusted proxy an attacker who writes a new
// first X-Forwarded-For entry each time is still one address.
func TestLoginThrottleShared(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.MakeAccount("dave", "Dave-pass-12", false)
		for range 5 {
			e.Anon().Do("POST", "/auth/login", map[string]any{"username": "dave", "password": "wrong"}).Want(http.StatusUnauthorized)
		}
		twin(e, api.Config{}).Anon().Do("POST", "/auth/login", map[string]any{"username": "dave", "password": "Dave-pass-12"}).
			Want(http.StatusTooManyRequests)

		proxied := twin(e, api.Config{TrustProxy: true}) // the test client is on loopback: a trusted proxy
		for i := range 20 {
			c := proxied.Anon()
			c.Header.Set("X-Forwarded-For", fmt.Sprintf("10.1.2.%d, 203.0.113.7", i))
			c.Do("POST", "/auth/login", map[string]any{"username": fmt.Sprintf("u%d", i), "password": "x"}).Want(http.StatusUnauthorized)
		}
		c := proxied.Anon()
		c.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
		c.Do("POST", "/auth/login", map[string]any{"username": "admin", "password": adminPassword}).Want(http.StatusTooManyRequests)
		c.Header.Set("X-Forwarded-For", "203.0.113.8")
		c.Do("POST", "/auth/login", map[string]any{"username": "admin", "password": adminPassword}).Want(http.StatusOK)
	})
}

// TestClientAddr: the client is the right-most address that is not a
// trusted proxy; X-Forwarded-For counts only with TrustProxy and only from
// a trusted peer.
func TestClientAddr(t *testing.T) {
	st := storetest.SQLite(t)
	custom := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	for _, tc := range []struct {
		trust   bool
		proxies []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{false, nil, "127.0.0.1:5000", []string{"6.6.6.6"}, "127.0.0.1"},
		{true, nil, "127.0.0.1:5000", nil, "127.0.0.1"},
		{true, nil, "127.0.0.1:5000", []string{"6.6.6.6, 203.0.113.7"}, "203.0.113.7"},
		{true, nil, "10.0.0.1:5000", []string{"6.6.6.6, 203.0.113.7, 10.0.0.2"}, "203.0.113.7"},
		{true, nil, "10.0.0.1:5000", []string{"6.6.6.6", "203.0.113.7"}, "203.0.113.7"},
		{true, nil, "192.0.2.9:5000", []string{"6.6.6.6"}, "192.0.2.9"}, // not from a proxy
		{true, nil, "127.0.0.1:5000", []string{"10.0.0.5"}, "10.0.0.5"}, // every hop a proxy
		{true, nil, "[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{true, nil, "127.0.0.1:5000", []string{"203.0.113.7:4711"}, "203.0.113.7"},
		{true, nil, "127.0.0.1:5000", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{true, custom, "198.51.100.9:5000", []string{"6.6.6.6, 10.0.0.3"}, "10.0.0.3"},
		{true, custom, "127.0.0.1:5000", []string{"6.6.6.6"}, "127.0.0.1"},
	} {
		s := api.New(st, api.Config{TrustProxy: tc.trust, TrustedProxies: tc.proxies})
		r := httptest.NewRequest("POST", "/api/v1/auth/login", nil)
		r.RemoteAddr = tc.peer
		for _, h := range tc.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := s.ClientAddr(r); got != tc.want {
			t.Errorf("trust=%v proxies=%v peer %s X-Forwarded-For %q: %s, want %s", tc.trust, tc.proxies, tc.peer, tc.xff, got, tc.want)
		}
	}
}
