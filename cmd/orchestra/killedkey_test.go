package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer is a process's output, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestKilledRequestKeyRetried kills `orchestra serve` with SIGKILL while a
// create with an Idempotency-Key is in flight, starts it again on the same
// address, and retries: the retry runs at once (no 409) and creates the one
// contact.
func TestKilledRequestKeyRetried(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "orchestra")
	if out, err := exec.Command("go", "build", "-tags", "testbackend", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			dbURL := "sqlite:" + filepath.Join(dir, "orchestra.db")
			if engine == "postgres" {
				if dbURL = pgSchemaURL(t); dbURL == "" {
					t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
				}
			}
			addr := freePort(t)
			serve := func(env ...string) (*exec.Cmd, *lockedBuffer) {
				cmd := exec.Command(bin, "serve", "--listen", addr)
				out := &lockedBuffer{}
				cmd.Stdout, cmd.Stderr = out, out
				cmd.Env = append(append(os.Environ(), "ORCHESTRA_DATABASE_URL="+dbURL,
					"ORCHESTRA_SSH_KEY="+filepath.Join(dir, "id_ed25519"), "ORCHESTRA_SECRET_KEY="+filepath.Join(dir, "secret.key")), env...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
				return cmd, out
			}
			waitFor := func(what string, out *lockedBuffer, ok func() bool) {
				t.Helper()
				for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: not within 60 s:\n%s", what, out)
					}
				}
			}
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar}
			base := "http://" + addr + "/api/v1"
			post := func(path, key string, body any) (*http.Response, error) {
				b, _ := json.Marshal(body)
				req, err := http.NewRequest("POST", base+path, bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if key != "" {
					req.Header.Set("Idempotency-Key", key)
				}
				return client.Do(req)
			}

			first, out1 := serve("ORCHESTRA_TEST_HOLD=1")
			pwRe := regexp.MustCompile(`password: (\S+)`)
			waitFor("the first superuser's password", out1, func() bool { return pwRe.MatchString(out1.String()) })
			pw := pwRe.FindStringSubmatch(out1.String())[1]
			waitFor("login", out1, func() bool {
				res, err := post("/auth/login", "", map[string]any{"username": "admin", "password": pw})
				if err != nil {
					return false
				}
				res.Body.Close()
				return res.StatusCode == http.StatusOK
			})
			hold := map[string]any{"account": 1, "short_name": "HOLD", "email": "hold@example.com"}
			go func() {
				if res, err := post("/contacts", "killed-1", hold); err == nil {
					res.Body.Close() // the process dies before answering
				}
			}()
			waitFor("the create in flight", out1, func() bool { return strings.Contains(out1.String(), "holding the create") })
			if err := first.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			first.Wait()

			_, out2 := serve("ORCHESTRA_NO_FIRST_SUPERUSER=1")
			waitFor("the restart", out2, func() bool { return strings.Contains(out2.String(), "msg=serving") })
			res, err := post("/contacts", "killed-1", hold)
			if err != nil {
				t.Fatal(err)
			}
			body := new(bytes.Buffer)
			body.ReadFrom(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("retry after the restart: %d %s\n%s", res.StatusCode, body, out2)
			}
			req, _ := http.NewRequest("GET", base+"/contacts?search=HOLD", nil)
			res, err = client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var list struct{ Count int }
			json.NewDecoder(res.Body).Decode(&list)
			res.Body.Close()
			if list.Count != 1 {
				t.Fatalf("%d contacts HOLD, want 1", list.Count)
			}
		})
	}
}
