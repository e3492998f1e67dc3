// Package apitest runs an API server over a store for tests: a service's
// tests drive its API over HTTP as staff, customers and strangers do.
package apitest

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

	_ "github.com/orchestra-panel/orchestra/internal/accounts" // accounts' rules
	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/auth"
	_ "github.com/orchestra-panel/orchestra/internal/contacts" // contacts' rules
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// AdminPassword is the password of the superuser "admin" every Env has.
const AdminPassword = "Adm1n-password!"

// Env is a running API server over one store.
type Env struct {
	T     testing.TB
	Store *store.Store
	Srv   *httptest.Server
	API   *api.Server
	Ex    *orchestration.Executor // what applies its writes
}

// New serves the API over st with an executor of its own (a fresh SSH
// key), and makes the superuser admin.
func New(t testing.TB, st *store.Store) *Env {
	t.Helper()
	return NewWith(t, st, NewExecutor(t, st, nil))
}

// NewExecutor runs an executor over a pool with signer (a fresh key when nil).
func NewExecutor(t testing.TB, st *store.Store, signer ssh.Signer) *orchestration.Executor {
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

// NewWith serves the API over st with executor ex, and makes admin.
func NewWith(t testing.TB, st *store.Store, ex *orchestration.Executor) *Env {
	t.Helper()
	s := api.New(st, api.Config{Version: "test", Executor: ex})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e := &Env{T: t, Store: st, Srv: srv, API: s, Ex: ex}
	e.MakeAccount("admin", AdminPassword, true)
	return e
}

// MakeAccount creates an account directly in the store.
func (e *Env) MakeAccount(username, password string, superuser bool) *ent.Account {
	e.T.Helper()
	hash, err := auth.HashPassword(password)
	if err != nil {
		e.T.Fatal(err)
	}
	var a *ent.Account
	err = e.Store.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) error {
		a, err = tx.Account.Create().SetUsername(username).SetPassword(hash).SetFullName(username + " full").
			SetEmail(username + "@example.com").SetIsSuperuser(superuser).Save(ctx)
		return err
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return a
}

// Client is an HTTP client with a cookie jar and optional bearer token.
type Client struct {
	e      *Env
	http   *http.Client
	Bearer string
	Header http.Header // sent with every request
}

// Anon is a client that is not logged in.
func (e *Env) Anon() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{e: e, http: &http.Client{Jar: jar}, Header: http.Header{}}
}

// Login returns a client with a session for username.
func (e *Env) Login(username, password string) *Client {
	e.T.Helper()
	c := e.Anon()
	c.Do("POST", "/auth/login", map[string]any{"username": username, "password": password}).Want(http.StatusOK)
	return c
}

// Admin is the superuser's session.
func (e *Env) Admin() *Client { return e.Login("admin", AdminPassword) }

// TokenFor returns a client using a fresh API token of account id, created by staff.
func (e *Env) TokenFor(admin *Client, id int) *Client {
	e.T.Helper()
	r := admin.Do("POST", "/tokens", map[string]any{"name": "test", "account": id}).Want(http.StatusCreated)
	c := e.Anon()
	c.Bearer = r.JSON()["token"].(string)
	return c
}

// Resp is an answer.
type Resp struct {
	t      testing.TB
	Status int
	Header http.Header
	Body   []byte
	Method string // of the request answered
	Path   string
}

// Do sends body (JSON-encoded unless it is []byte or string) to the API
// path, under api.Prefix.
func (c *Client) Do(method, path string, body any) *Resp {
	c.e.T.Helper()
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
			c.e.T.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.e.Srv.URL+api.Prefix+path, rd)
	if err != nil {
		c.e.T.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if c.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.Bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &Resp{t: c.e.T, Status: res.StatusCode, Header: res.Header, Body: b, Method: method, Path: path}
}

// Want fails the test unless the answer has status.
func (r *Resp) Want(status int) *Resp {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("%s %s: status %d, want %d: %s", r.Method, r.Path, r.Status, status, r.Body)
	}
	return r
}

// JSON is the answer's JSON object.
func (r *Resp) JSON() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		r.t.Fatalf("%s %s: body is not a JSON object: %s", r.Method, r.Path, r.Body)
	}
	return m
}

// ID is the id of the object answered.
func (r *Resp) ID() int { return int(r.JSON()["id"].(float64)) }

// FieldErrors returns the locations of the error details.
func (r *Resp) FieldErrors() []string {
	var out []string
	if errs, ok := r.JSON()["errors"].([]any); ok {
		for _, e := range errs {
			out = append(out, e.(map[string]any)["location"].(string))
		}
	}
	return out
}

// HistoryCount counts history entries, to prove a refused request changed nothing.
func (e *Env) HistoryCount() int {
	e.T.Helper()
	n, err := e.Store.History.Query().Count(viewer.System(context.Background(), viewer.ChannelSystem))
	if err != nil {
		e.T.Fatal(err)
	}
	return n
}

// Env is the environment the client talks to.
func (c *Client) Env() *Env { return c.e }

// HTTP is the client's HTTP client, with its cookie jar.
func (c *Client) HTTP() *http.Client { return c.http }
