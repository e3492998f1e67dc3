package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent/idempotencykey"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// instanceEnv serves the API over st as a process of instance; another
// process over the same store when admin already exists.
func instanceEnv(t *testing.T, st *store.Store, instance string, makeAdmin bool) *env {
	t.Helper()
	s := api.New(st, api.Config{Version: "test", Executor: newExecutor(t, st, nil), Instance: instance})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e := &env{T: t, Store: st, Srv: srv, API: s}
	if makeAdmin {
		e.MakeAccount("admin", adminPassword, true)
	}
	return e
}

// holder blocks the first request of each key that reaches it until
// released, then kills it as its process's death would.
type holder struct {
	mu      sync.Mutex
	seen    map[string]bool
	held    chan string
	release map[string]chan struct{}
}

func holdRequests(t *testing.T) *holder {
	h := &holder{seen: map[string]bool{}, held: make(chan string, 8), release: map[string]chan struct{}{}}
	api.SetKeyHold(t, func(r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		h.mu.Lock()
		if h.seen[key] {
			h.mu.Unlock()
			return
		}
		h.seen[key] = true
		rel := make(chan struct{})
		h.release[key] = rel
		h.mu.Unlock()
		h.held <- key
		<-rel
		panic(http.ErrAbortHandler)
	})
	return h
}

// start sends a POST with key from c that the holder keeps in flight; the
// returned function kills it and waits for it to end.
func (h *holder) start(t *testing.T, c *client, key, path string, body any) (kill func()) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", c.Env().Srv.URL+api.Prefix+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := c.HTTP().Do(req); err == nil {
			res.Body.Close() // a killed request has no answer
		}
	}()
	select {
	case k := <-h.held:
		if k != key {
			t.Fatalf("held %q, want %q", k, key)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the request never reached its handler")
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			h.mu.Lock()
			close(h.release[key])
			h.mu.Unlock()
			<-done
		})
	}
	t.Cleanup(kill) // before the servers close, which wait for their requests
	return kill
}

func withKey(c *client, key string) *client {
	d := *c
	d.Header = c.Header.Clone()
	d.Header.Set("Idempotency-Key", key)
	return &d
}

// TestIdempotencyKeyOfADeadRequest: a key whose request died with its
// process is taken over by the retry at once, and the retry creates the one
// object; a key whose request still runs answers 409.
func TestIdempotencyKeyOfADeadRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		api.SetKeyLease(t, time.Minute, 20*time.Millisecond)
		h := holdRequests(t)
		a := instanceEnv(t, st, "host-a 127.0.0.1:8080", true)
		c := instanceEnv(t, st, "host-c 127.0.0.1:8080", false)
		adminA, adminC := a.Login("admin", adminPassword), c.Login("admin", adminPassword)
		sys := viewer.System(context.Background(), viewer.ChannelSystem)
		count := func(name string) float64 {
			return adminA.Do("GET", "/contacts?search="+name, nil).Want(http.StatusOK).JSON()["count"].(float64)
		}
		body := func(name string) map[string]any {
			return map[string]any{"account": 1, "short_name": name, "email": name + "@example.com"}
		}

		// Process A runs a create; while it does, the key is in progress
		// for A itself and for another live process, C, whose lease it
		// keeps renewing.
		killA := h.start(t, adminA, "crash-1", "/contacts", body("Crash1"))
		withKey(adminA, "crash-1").Do("POST", "/contacts", body("Crash1")).Want(http.StatusConflict)
		first, err := st.IdempotencyKey.Query().Where(idempotencykey.Key("crash-1")).Only(sys)
		if err != nil || first.HeldUntil == nil {
			t.Fatalf("held key %+v: %v", first, err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			k, err := st.IdempotencyKey.Query().Where(idempotencykey.Key("crash-1")).Only(sys)
			if err != nil {
				t.Fatal(err)
			}
			if k.HeldUntil != nil && k.HeldUntil.After(*first.HeldUntil) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the running request does not renew its key's lease")
			}
			time.Sleep(10 * time.Millisecond)
		}
		withKey(adminC, "crash-1").Do("POST", "/contacts", body("Crash1")).Want(http.StatusConflict)

		// A dies; A restarts as B, a new process of the same instance. The
		// retry through B takes the key over at once, well within A's lease.
		b := instanceEnv(t, st, "host-a 127.0.0.1:8080", false)
		adminB := withKey(b.Login("admin", adminPassword), "crash-1")
		created := adminB.Do("POST", "/contacts", body("Crash1")).Want(http.StatusCreated)
		if created.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("the retry of a dead request was a replay: %s", created.Header)
		}
		killA() // the dead request's end changes nothing of its key
		again := adminB.Do("POST", "/contacts", body("Crash1")).Want(http.StatusCreated)
		if again.Header.Get("Idempotent-Replayed") != "true" || again.ID() != created.ID() {
			t.Fatalf("the next retry was not a replay: %s %s", again.Header, again.Body)
		}
		if n := count("Crash1"); n != 1 {
			t.Fatalf("%v objects, want 1", n)
		}

		// Another process dies: its lease runs out (its renewals stop) and
		// the retry through a process of another instance takes the key over.
		killC := h.start(t, adminC, "crash-2", "/contacts", body("Crash2"))
		if _, err := st.IdempotencyKey.Update().Where(idempotencykey.Key("crash-2")).
			SetHolder("dead-process").SetHeldUntil(time.Now().Add(-time.Second)).Save(sys); err != nil {
			t.Fatal(err)
		}
		withKey(adminA, "crash-2").Do("POST", "/contacts", body("Crash2")).Want(http.StatusCreated)
		killC()
		if n := count("Crash2"); n != 1 {
			t.Fatalf("%v objects, want 1", n)
		}

		// A key left in progress before keys had holders is abandoned too.
		killC = h.start(t, adminC, "crash-3", "/contacts", body("Crash3"))
		if _, err := st.IdempotencyKey.Update().Where(idempotencykey.Key("crash-3")).
			SetHolder("").SetInstance("").ClearHeldUntil().Save(sys); err != nil {
			t.Fatal(err)
		}
		withKey(adminA, "crash-3").Do("POST", "/contacts", body("Crash3")).Want(http.StatusCreated)
		killC()
		if n := count("Crash3"); n != 1 {
			t.Fatalf("%v objects, want 1", n)
		}
	})
}

// stallingServer accepts SSH connections and says nothing until the test
// ends, so a unit for it runs (dials) as long as the write waits.
func stallingServer(t *testing.T) (port int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// TestIdempotentAnswerBeforeTheWait: a write's answer is recorded for its
// key when the handler gives it, before the wait for its units, so a
// process dying during that wait leaves a replay and not a second create.
func TestIdempotentAnswerBeforeTheWait(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := ssh.NewSignerFromKey(key)
		if err != nil {
			t.Fatal(err)
		}
		// the unit's dial lasts until the server goes away
		pool, err := sshpool.New(sshpool.Config{Signer: signer, DialTimeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close() })
		ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: 200 * time.Millisecond})
		ex.Start()
		t.Cleanup(ex.Close)
		e := newEnvWith(t, st, ex)
		admin := e.Login("admin", adminPassword)
		answered := make(chan struct{})
		ctx, hangUp := context.WithCancel(context.Background())
		t.Cleanup(func() { hangUp(); <-answered }) // the write stops waiting when its client leaves
		port := stallingServer(t)
		s := admin.Do("POST", "/servers", map[string]any{"name": "stalled", "address": "127.0.0.1", "ssh_port": port,
			"host_key": strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))}).Want(http.StatusCreated).ID()
		admin.Do("POST", "/routes", map[string]any{"backend": "api-test", "server": s}).Want(http.StatusCreated)

		body := map[string]any{"username": "stalled", "full_name": "Stalled", "email": "stalled@example.com", "password": "Secret-pass-stalled"}
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, "POST", e.Srv.URL+api.Prefix+"/accounts", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "stalled-1")
		req.Header.Set("Prefer", "wait=60") // the longest (ORCHESTRATION_MAX_WAIT)
		go func() {
			defer close(answered)
			if res, err := admin.HTTP().Do(req); err == nil {
				res.Body.Close()
			}
		}()

		sys := viewer.System(context.Background(), viewer.ChannelSystem)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			k, err := st.IdempotencyKey.Query().Where(idempotencykey.Key("stalled-1")).Only(sys)
			if err == nil && k.Status != 0 {
				if k.Status != http.StatusCreated {
					t.Fatalf("recorded answer %d", k.Status)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the answer was not recorded while the write waited for its unit")
			}
		}
		select {
		case <-answered:
			t.Fatal("the write answered before its unit ran")
		default:
		}
		replay := withKey(admin, "stalled-1").Do("POST", "/accounts", body).Want(http.StatusCreated)
		if replay.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("a retry during the wait: %v %s", replay.Header, replay.Body)
		}
	})
}
