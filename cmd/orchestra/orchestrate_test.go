package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestOrchestrateCommand: the orchestrate command selects by model, filter
// and server, prints scripts on --dry-run without running them, and
// otherwise runs the units over SSH while streaming their output; a bad
// filter is refused with the compiler's message.
func TestOrchestrateCommand(t *testing.T) {
	bed := sshtest.Load(t)
	bin := filepath.Join(t.TempDir(), "orchestra")
	if out, err := exec.Command("go", "build", "-tags", "testbackend", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dbURL := "sqlite:" + filepath.Join(t.TempDir(), "orchestra.db")
			secretKey := filepath.Join(t.TempDir(), "secret.key")
			if engine == "postgres" {
				if dbURL = pgSchemaURL(t); dbURL == "" {
					t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
				}
			}
			ctx := viewer.System(context.Background(), viewer.ChannelCLI)
			st, err := store.Open(dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := migrate(ctx, st); err != nil {
				t.Fatal(err)
			}
			root := fmt.Sprintf("/tmp/orchestra-orchestrate-%d", time.Now().UnixNano())
			t.Cleanup(func() { os.RemoveAll(root) }) // the test bed shares this machine's disk
			err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				for i, s := range bed.Servers[:2] {
					srv, err := tx.Server.Create().SetName(fmt.Sprintf("s%d", i+1)).SetAddress(s.Address).SetSSHPort(s.Port).
						SetHostKey(s.HostKey).SetSettings(map[string]string{"TEST_ROOT": fmt.Sprintf("%s/s%d", root, i+1)}).Save(ctx)
					if err != nil {
						return err
					}
					if err := tx.Route.Create().SetBackend("e2e-sleepy").SetServerID(srv.ID).Exec(ctx); err != nil {
						return err
					}
				}
				for _, name := range []string{"ann", "ben"} {
					err := tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName("Name of " + name).
						SetEmail(name + "@example.com").Exec(orchestration.WithoutChanges(ctx))
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			run := func(args ...string) (string, error) {
				cmd := exec.Command(bin, append([]string{"orchestrate"}, args...)...)
				cmd.Env = append(os.Environ(), "ORCHESTRA_DATABASE_URL="+dbURL, "ORCHESTRA_SSH_KEY="+bed.KeyPath, "ORCHESTRA_SECRET_KEY="+secretKey)
				out, err := cmd.CombinedOutput()
				return string(out), err
			}

			out, err := run("--dry-run", "--server", "s2", "--model", "Account", "--filter", `account.username == "ben"`)
			if err != nil || !strings.Contains(out, "# server s2, backend e2e-sleepy, 1 operation(s)") ||
				!strings.Contains(out, "/s2/ben") || strings.Contains(out, "/ann") || strings.Contains(out, "/s1/") {
				t.Fatalf("dry run: %v\n%s", err, out)
			}
			if n, _ := st.ExecutionLog.Query().Count(viewer.System(ctx, viewer.ChannelSystem)); n != 0 {
				t.Fatalf("a dry run recorded %d log(s)", n)
			}
			if _, err := os.Stat(root); err == nil {
				t.Fatal("a dry run wrote to the server")
			}

			out, err = run("--server", "s1")
			if err != nil {
				t.Fatalf("orchestrate: %v\n%s", err, out)
			}
			// the backend's own output, streamed with its unit's prefix, then the outcome
			if !strings.Contains(out, "[s1 e2e-sleepy] applied ann\n[s1 e2e-sleepy] applied ben\n[s1 e2e-sleepy] SUCCESS (log ") {
				t.Errorf("output:\n%s", out)
			}
			for _, name := range []string{"ann", "ben"} {
				b, err := os.ReadFile(filepath.Join(root, "s1", name))
				if err != nil || string(b) != "Name of "+name {
					t.Errorf("s1/%s: %q, %v", name, b, err)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "s2")); err == nil {
				t.Error("--server s1 reached s2")
			}
			logs, err := st.ExecutionLog.Query().Order(ent.Asc(executionlog.FieldID)).All(viewer.System(ctx, viewer.ChannelSystem))
			if err != nil || len(logs) != 1 || logs[0].State != orchestration.StateSuccess {
				t.Errorf("logs: %v %v", logs, err)
			}

			out, err = run("--model", "Account", "--filter", "account.nope")
			if err == nil || !strings.Contains(out, "filter") || !strings.Contains(out, "nope") {
				t.Errorf("bad filter: %v\n%s", err, out)
			}
			out, err = run("--server", "nowhere")
			if err == nil || !strings.Contains(out, `no server "nowhere"`) {
				t.Errorf("unknown server: %v\n%s", err, out)
			}
		})
	}
}
