package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	_ "github.com/orchestra-panel/orchestra/internal/orchestration/testbackend" // route validation knows e2e-sleepy
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestSIGKILLRecovery kills `orchestra serve` with SIGKILL in the middle of
// a batch and starts it again: every pending unit still runs, the one that
// was running is ABORTED and run again.
func TestSIGKILLRecovery(t *testing.T) {
	bed := sshtest.Load(t)
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
			ctx := viewer.System(context.Background(), viewer.ChannelCLI)
			st, err := store.Open(dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := migrate(ctx, st); err != nil {
				t.Fatal(err)
			}
			srv0 := bed.Servers[0]
			root := fmt.Sprintf("/tmp/orchestra-recovery-%d", time.Now().UnixNano())
			t.Cleanup(func() { os.RemoveAll(root) }) // the test bed shares this machine's disk
			err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				s, err := tx.Server.Create().SetName("s1").SetAddress(srv0.Address).SetSSHPort(srv0.Port).
					SetSSHUser("root").SetHostKey(srv0.HostKey).SetSettings(map[string]string{"TEST_ROOT": root}).Save(ctx)
				if err != nil {
					return err
				}
				return tx.Route.Create().SetBackend("e2e-sleepy").SetServerID(s.ID).Exec(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
			// writes from this process queue their planning job as the
			// panel's own would
			q, err := jobs.New(st, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Stop(context.Background())

			serve := func() (*exec.Cmd, *bytes.Buffer) {
				cmd := exec.Command(bin, "serve", "--listen", freePort(t), "--no-superuser")
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				cmd.Env = append(os.Environ(), "ORCHESTRA_DATABASE_URL="+dbURL, "ORCHESTRA_SSH_KEY="+bed.KeyPath,
					"ORCHESTRA_SECRET_KEY="+filepath.Join(dir, "secret.key"), "ORCHESTRA_ORCHESTRATION_LANE_LEASE=2s")
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return cmd, &out
			}
			logs := func() []*ent.ExecutionLog {
				ls, err := st.ExecutionLog.Query().Order(ent.Asc(executionlog.FieldID)).All(viewer.System(ctx, viewer.ChannelSystem))
				if err != nil {
					t.Fatal(err)
				}
				return ls
			}
			unplanned := func() bool {
				u, err := st.Change.Query().Where(change.PlannedAtIsNil()).Exist(viewer.System(ctx, viewer.ChannelSystem))
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			// one account per planning pass, so that units queue up behind
			// each other; the process is killed once some unit has succeeded
			// while another runs (while accounts are still being written, or
			// after: the later ones then wait in the lane), and the rest are
			// written while it is down
			first, out1 := serve()
			killed := false
			// kill kills the first process if a unit has succeeded while
			// another runs
			kill := func() {
				done, running := 0, false
				for _, l := range logs() {
					if l.State == orchestration.StateSuccess {
						done++
					}
					running = running || l.State == orchestration.StateStarted
				}
				if done >= 1 && running {
					if err := first.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					first.Wait()
					killed = true
				}
			}
			const n = 12
			for i := range n {
				name := fmt.Sprintf("user%02d", i)
				err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
					return tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName("Name " + name).
						SetEmail(name + "@example.com").Exec(ctx)
				})
				if err != nil {
					t.Fatal(err)
				}
				for deadline := time.Now().Add(20 * time.Second); !killed; time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						first.Process.Kill()
						first.Wait()
						t.Fatalf("account %s not planned in 20 s:\n%s", name, out1)
					}
					if kill(); !killed && !unplanned() {
						break
					}
				}
			}
			// every account written before a unit succeeded: the last ones
			// wait behind the first unit, a second or more each
			for deadline := time.Now().Add(time.Minute); !killed; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					first.Process.Kill()
					first.Wait()
					t.Fatalf("never saw a unit running after another succeeded:\n%s", out1)
				}
				kill()
			}
			var interrupted []int
			for _, l := range logs() {
				if l.State == orchestration.StateStarted {
					interrupted = append(interrupted, l.ID)
				}
			}
			if len(interrupted) != 1 {
				t.Fatalf("after SIGKILL: %d units STARTED, want 1", len(interrupted))
			}

			second, out2 := serve()
			defer func() { second.Process.Signal(syscall.SIGTERM); second.Wait() }()
			deadline := time.Now().Add(90 * time.Second)
			for {
				// unplanned changes first: logs read after include theirs
				pending := unplanned()
				final := true
				for _, l := range logs() {
					final = final && orchestration.Final(l.State)
				}
				if final && !pending {
					break
				}
				if time.Now().After(deadline) {
					second.Process.Kill()
					second.Wait()
					t.Fatalf("not done 90 s after the restart:\n%s", out2)
				}
				time.Sleep(20 * time.Millisecond)
			}
			var rerun bool
			for _, l := range logs() {
				switch {
				case l.ID == interrupted[0]:
					if l.State != orchestration.StateAborted {
						t.Errorf("the interrupted unit %d is %s, want ABORTED", l.ID, l.State)
					}
				case l.RetryOf != nil && *l.RetryOf == interrupted[0]:
					rerun = l.State == orchestration.StateSuccess
				case l.State != orchestration.StateSuccess:
					t.Errorf("log %d: %s %s %s", l.ID, l.State, l.Error, l.Stderr)
				}
			}
			if !rerun {
				t.Errorf("the interrupted unit was not run again successfully")
			}
			// every account reached the server
			pool, err := sshpool.New(sshpool.Config{Signer: bed.Signer})
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			var stdout bytes.Buffer
			if _, err := pool.Run(context.Background(), sshpool.Target{Address: srv0.Address, Port: srv0.Port, HostKey: srv0.HostKey},
				[]byte("cd "+orchestration.Quote(root)+" && ls user* | wc -l"), &stdout, nil); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(stdout.String()); got != fmt.Sprint(n) {
				t.Errorf("%s accounts on the server, want %d", got, n)
			}
		})
	}
}
