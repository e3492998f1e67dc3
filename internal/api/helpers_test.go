package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/auth"
	_ "github.com/orchestra-panel/orchestra/internal/contacts"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	_ "github.com/orchestra-panel/orchestra/internal/services/all" // every service's API
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

const adminPassword = "Adm1n-password!"

// env is a running API server over one store.
type env struct {
	t   testing.TB
	st  *store.Store
	srv *httptest.Server
	api *api.Server
}

func newEnv(t testing.TB, st *store.Store) *env {
	t.Helper()
	return newEnvWith(t, st, newExecutor(t, st, nil))
}

// newExecutor runs an executor over a pool with signer (a fresh key when nil).
func newExecutor(t testing.TB, st *store.Store, signer ssh.Signer) *orchestration.Executor {
	t.Helper()
	if signer == nil {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if signer, err = ssh.NewSignerFromKey(key); err != nil {
			t.Fatal(err)
		}
	}
	pool, err := sshpool.New(sshpool.Config{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: 200 * time.Millisecond})
	ex.Start()
	t.Cleanup(ex.Close)
	return ex
}

func newEnvWith(t testing.TB, st *store.Store, ex *orchestration.Executor) *env {
	t.Helper()
	s := api.New(st, api.Config{Version: "test", Executor: ex})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, srv: srv, api: s}
	e.makeAccount("admin", adminPassword, true)
	return e
}

// makeAccount creates an account directly in the store.
func (e *env) makeAccount(username, password string, superuser bool) *ent.Account {
	e.t.Helper()
	hash, err := auth.HashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	var a *ent.Account
	err = e.st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) error {
		a, err = tx.Account.Create().SetUsername(username).SetPassword(hash).SetFullName(username + " full").
			SetEmail(username + "@example.com").SetIsSuperuser(superuser).Save(ctx)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// client is an HTTP client with a cookie jar and optional bearer token.
type client struct {
	e      *env
	http   *http.Client
	bearer string
	header http.Header
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar}, header: http.Header{}}
}

// login returns a client with a session for username.
func (e *env) login(username, password string) *client {
	e.t.Helper()
	c := e.anon()
	r := c.do("POST", "/auth/login", map[string]any{"username": username, "password": password})
	r.want(http.StatusOK)
	return c
}

// tokenFor returns a client using a fresh API token of account id, created by staff.
func (e *env) tokenFor(admin *client, id int) *client {
	e.t.Helper()
	r := admin.do("POST", "/tokens", map[string]any{"name": "test", "account": id})
	r.want(http.StatusCreated)
	c := e.anon()
	c.bearer = r.json()["token"].(string)
	return c
}

type resp struct {
	t      testing.TB
	status int
	header http.Header
	body   []byte
	method string
	path   string
}

// do sends body (JSON-encoded unless it is []byte or string) to the API path.
func (c *client) do(method, path string, body any) *resp {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+api.Prefix+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{t: c.e.t, status: res.StatusCode, header: res.Header, body: b, method: method, path: path}
}

func (r *resp) want(status int) *resp {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, r.status, status, r.body)
	}
	return r
}

func (r *resp) json() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		r.t.Fatalf("%s %s: body is not a JSON object: %s", r.method, r.path, r.body)
	}
	return m
}

func (r *resp) id() int { return int(r.json()["id"].(float64)) }

// fieldErrors returns the locations of the error details.
func (r *resp) fieldErrors() []string {
	var out []string
	if errs, ok := r.json()["errors"].([]any); ok {
		for _, e := range errs {
			out = append(out, e.(map[string]any)["location"].(string))
		}
	}
	return out
}

// historyCount counts history entries, to prove a refused request changed nothing.
func (e *env) historyCount() int {
	e.t.Helper()
	n, err := e.st.History.Query().Count(viewer.System(context.Background(), viewer.ChannelSystem))
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}
