package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	_ "github.com/orchestra-panel/orchestra/internal/orchestration/testbackend" // route validation knows the e2e backends
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/lane"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

var testbackendBin struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// buildTestbackend compiles the binary with the e2e test backends, once.
func buildTestbackend(t *testing.T) string {
	testbackendBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "orchestra-e2e-")
		if err != nil {
			testbackendBin.err = err
			return
		}
		testbackendBin.path = filepath.Join(dir, "orchestra")
		testbackendBin.out, testbackendBin.err = exec.Command("go", "build", "-tags", "testbackend",
			"-o", testbackendBin.path, ".").CombinedOutput()
	})
	if testbackendBin.err != nil {
		t.Fatalf("build: %v\n%s", testbackendBin.err, testbackendBin.out)
	}
	return testbackendBin.path
}

// laneBed is a database with one test-bed server routed to one e2e backend,
// and `orchestra serve` processes on it.
type laneBed struct {
	t         *testing.T
	bin       string
	dbURL     string
	secretKey string // the panels' ORCHESTRA_SECRET_KEY
	st        *store.Store
	bed       *sshtest.Bed
	root      string // TEST_ROOT on the server; e2e-files waits for root/gate
	ctx       context.Context
	pool      *sshpool.Pool
}

func newLaneBed(t *testing.T, engine, backend string) *laneBed {
	bed := sshtest.Load(t)
	b := &laneBed{t: t, bin: buildTestbackend(t), bed: bed, ctx: viewer.System(context.Background(), viewer.ChannelCLI)}
	b.dbURL = "sqlite:" + filepath.Join(t.TempDir(), "orchestra.db")
	b.secretKey = filepath.Join(t.TempDir(), "secret.key")
	if engine == "postgres" {
		if b.dbURL = pgSchemaURL(t); b.dbURL == "" {
			t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
		}
	}
	st, err := store.Open(b.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b.st = st
	if err := migrate(b.ctx, st); err != nil {
		t.Fatal(err)
	}
	b.root = fmt.Sprintf("/tmp/orchestra-lanes-%d", time.Now().UnixNano())
	t.Cleanup(func() { os.RemoveAll(b.root) }) // the test bed shares this machine's disk
	s0 := bed.Servers[0]
	err = st.Tx(b.ctx, func(ctx context.Context, tx *ent.Tx) error {
		s, err := tx.Server.Create().SetName("s1").SetAddress(s0.Address).SetSSHPort(s0.Port).
			SetSSHUser("root").SetHostKey(s0.HostKey).SetSettings(map[string]string{"TEST_ROOT": b.root, "TEST_GATE": b.root + "/gate"}).Save(ctx)
		if err != nil {
			return err
		}
		return tx.Route.Create().SetBackend(backend).SetServerID(s.ID).Exec(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.pool, err = sshpool.New(sshpool.Config{Signer: bed.Signer}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.pool.Close() })
	return b
}

// serve starts `orchestra serve` on the bed's database; name tells the
// processes apart (as PostgreSQL's application_name too).
func (b *laneBed) serve(name string, env ...string) *exec.Cmd {
	dbURL := b.dbURL
	if strings.HasPrefix(dbURL, "postgres") {
		dbURL += "&application_name=" + name
	}
	cmd := exec.Command(b.bin, "serve", "--listen", freePort(b.t), "--no-superuser")
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), append([]string{"ORCHESTRA_DATABASE_URL=" + dbURL, "ORCHESTRA_SSH_KEY=" + b.bed.KeyPath,
		"ORCHESTRA_SECRET_KEY=" + b.secretKey, "ORCHESTRA_ORCHESTRATION_LANE_LEASE=2s"}, env...)...)
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if b.t.Failed() {
			b.t.Logf("%s:\n%s", name, out)
		}
	})
	return cmd
}

func (b *laneBed) logs() []*ent.ExecutionLog {
	ls, err := b.st.ExecutionLog.Query().Order(ent.Asc(executionlog.FieldID)).All(viewer.System(b.ctx, viewer.ChannelSystem))
	if err != nil {
		b.t.Fatal(err)
	}
	return ls
}

// until polls cond until it holds, failing after d (a bound for a stuck
// run, far above what a loaded machine needs).
func (b *laneBed) until(what string, d time.Duration, cond func() bool) {
	b.t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			var states []string
			for _, l := range b.logs() {
				states = append(states, fmt.Sprintf("%d %s %q %q", l.ID, l.State, l.Error, l.Stdout+l.Stderr))
			}
			b.t.Fatalf("%s: not within %s; lane held by %q; logs:\n%s", what, d, b.laneOwner(), strings.Join(states, "\n"))
		}
	}
}

// settled reports whether every change is planned and every unit final.
func (b *laneBed) settled() bool {
	sys := viewer.System(b.ctx, viewer.ChannelSystem)
	pending, err := b.st.Change.Query().Where(change.PlannedAtIsNil()).Exist(sys)
	if err != nil {
		b.t.Fatal(err)
	}
	if pending {
		return false
	}
	for _, l := range b.logs() {
		if !orchestration.Final(l.State) {
			return false
		}
	}
	return true
}

// laneOwner is the owner of server s1's lane lease.
func (b *laneBed) laneOwner() string {
	l, err := b.st.Lane.Query().Where(lane.OwnerNEQ("")).First(viewer.System(b.ctx, viewer.ChannelSystem))
	if ent.IsNotFound(err) {
		return ""
	}
	if err != nil {
		b.t.Fatal(err)
	}
	return l.Owner
}

func (b *laneBed) sh(script string) string {
	b.t.Helper()
	s0 := b.bed.Servers[0]
	var out, errb bytes.Buffer
	code, err := b.pool.Run(context.Background(), sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey},
		[]byte(script), &out, &errb)
	if err != nil || code != 0 {
		b.t.Fatalf("%s: %v %d %s", script, err, code, errb.String())
	}
	return out.String()
}

func (b *laneBed) accounts(names []string, fullName func(string) string) {
	b.t.Helper()
	err := b.st.Tx(b.ctx, func(ctx context.Context, tx *ent.Tx) error {
		rows := make([]*ent.AccountCreate, len(names))
		for i, n := range names {
			rows[i] = tx.Account.Create().SetUsername(n).SetPassword("!").SetFullName(fullName(n)).SetEmail(n + "@example.com")
		}
		for i := 0; i < len(rows); i += 1000 {
			if err := tx.Account.CreateBulk(rows[i:min(i+1000, len(rows))]...).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// holdsTransaction reports whether the process named name is inside a
// database transaction (then pausing it would also pause every writer).
func (b *laneBed) holdsTransaction(name string) bool {
	if strings.HasPrefix(b.dbURL, "postgres") {
		var n int
		err := b.st.DB.QueryRowContext(b.ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND xact_start IS NOT NULL`, name).Scan(&n)
		if err != nil {
			b.t.Fatal(err)
		}
		return n > 0
	}
	// SQLite: try to take the write lock without waiting
	db, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(b.dbURL, "sqlite:")+"?_pragma=busy_timeout(0)")
	if err != nil {
		b.t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(b.ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(b.ctx, "BEGIN IMMEDIATE"); err != nil {
		return true
	}
	conn.ExecContext(b.ctx, "ROLLBACK")
	return false
}

// TestPausedProcessNeverRunsBeside: two `orchestra serve` on one database.
// The one running a long unit is paused (SIGSTOP) past its lease; the other
// takes the lane over and runs the unit again, but only once the paused
// one's script has ended on the server; the paused one, resumed, finds its
// results refused. Nothing runs twice at once, nothing is lost.
func TestPausedProcessNeverRunsBeside(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			b := newLaneBed(t, engine, "e2e-sleepy")
			a := b.serve("orch-a")
			// twelve accounts, one unit of twelve seconds (e2e-sleepy sleeps 1 s
			// each): the other process takes over well before it ends
			var first []string
			for i := range 12 {
				first = append(first, fmt.Sprintf("p%02d", i))
			}
			b.accounts(first, func(n string) string { return "Name " + n })
			var running *ent.ExecutionLog
			b.until("the unit runs its first operation", 60*time.Second, func() bool {
				for _, l := range b.logs() {
					if l.State == orchestration.StateStarted && strings.Contains(l.Stdout, "applied ") {
						running = l
						return true
					}
				}
				return false
			})
			ownerA := b.laneOwner()
			if !strings.Contains(ownerA, fmt.Sprintf("/%d/", a.Process.Pid)) {
				t.Fatalf("the lane is held by %q, not by process %d", ownerA, a.Process.Pid)
			}
			// pause it outside any transaction: a paused transaction would
			// stop every writer, which is not what is tested here
			b.until("pausing outside a transaction", 30*time.Second, func() bool {
				a.Process.Signal(syscall.SIGSTOP)
				if !b.holdsTransaction("orch-a") {
					return true
				}
				a.Process.Signal(syscall.SIGCONT)
				return false
			})
			bProc := b.serve("orch-b")
			b.until("the other process takes the lane over", 60*time.Second, func() bool {
				o := b.laneOwner()
				return strings.Contains(o, fmt.Sprintf("/%d/", bProc.Process.Pid))
			})
			// more work while the first one is still paused
			var second []string
			for i := range 3 {
				second = append(second, fmt.Sprintf("q%02d", i))
			}
			b.accounts(second, func(n string) string { return "Name " + n })
			// the copy queued in its place runs once the paused process's
			// script has ended on the server (which goes on without it)
			b.until("the interrupted unit runs again", 90*time.Second, func() bool {
				for _, l := range b.logs() {
					if l.RetryOf != nil && *l.RetryOf == running.ID && strings.Contains(l.Stdout, "applied ") {
						return true
					}
				}
				return false
			})
			a.Process.Signal(syscall.SIGCONT)
			b.until("everything applied", 120*time.Second, b.settled)

			// the server ran one script at a time: once a script starts,
			// none before it writes again (a script cut off in the middle
			// of an operation, by its connection dropped while its process
			// was paused, ends with a start)
			log := strings.TrimSpace(b.sh("cat " + orchestration.Quote(b.root+"/log")))
			var gone []string
			cur := ""
			for _, l := range strings.Split(log, "\n") {
				f := strings.Fields(l)
				if len(f) != 3 {
					t.Fatalf("log line %q", l)
				}
				if pid := f[2]; pid != cur {
					if slices.Contains(gone, pid) {
						t.Fatalf("two scripts ran at once on the server:\n%s", log)
					}
					if cur != "" {
						gone = append(gone, cur)
					}
					cur = pid
				}
			}
			if len(gone) == 0 {
				t.Errorf("one script did all the work: the unit was not run again")
			}
			for _, n := range append(first, second...) {
				if got := b.sh("cat " + orchestration.Quote(b.root+"/"+n)); got != "Name "+n {
					t.Errorf("%s on the server: %q", n, got)
				}
			}
			for _, l := range b.logs() {
				switch {
				case l.ID == running.ID:
					if l.State != orchestration.StateAborted {
						t.Errorf("the paused process's unit %d is %s, want ABORTED", l.ID, l.State)
					}
				case l.State != orchestration.StateSuccess:
					t.Errorf("log %d: %s %s %s", l.ID, l.State, l.Error, l.Stderr)
				}
			}
		})
	}
}

// TestTenThousandOperationUnitRecovers: a unit of 10,000 operations is
// interrupted by SIGKILL; the next process queues it again (in chunks:
// SQLite refuses one statement with all its operations) and it completes.
func TestTenThousandOperationUnitRecovers(t *testing.T) {
	const n = 10_000
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			b := newLaneBed(t, engine, "e2e-files")
			// one unit whatever the size cap
			big := []string{"ORCHESTRA_ORCHESTRATION_UNIT_MAX_OPERATIONS=20000",
				"ORCHESTRA_ORCHESTRATION_UNIT_MAX_SCRIPT_BYTES=67108864"}
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("u%05d", i)
			}
			b.accounts(names, func(n string) string { return "Name " + n })
			first := b.serve("orch-a", big...)
			var running *ent.ExecutionLog
			b.until("the unit starts", 120*time.Second, func() bool {
				for _, l := range b.logs() {
					if l.State == orchestration.StateStarted && strings.Contains(l.Stdout, "waiting") {
						running = l
						return true
					}
				}
				return false
			})
			if err := first.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			first.Wait()
			// the killed process's script goes on on the server: the next
			// unit waits for it there
			b.sh("touch " + orchestration.Quote(b.root+"/gate"))
			ops, err := b.st.Operation.Query().Where().Count(viewer.System(b.ctx, viewer.ChannelSystem))
			if err != nil {
				t.Fatal(err)
			}
			if ops < n {
				t.Fatalf("%d operations planned, want %d", ops, n)
			}
			b.serve("orch-b", big...)
			b.until("everything applied", 300*time.Second, b.settled)
			var rerun bool
			for _, l := range b.logs() {
				switch {
				case l.ID == running.ID:
					if l.State != orchestration.StateAborted {
						t.Errorf("the interrupted unit %d is %s, want ABORTED", l.ID, l.State)
					}
				case l.RetryOf != nil && *l.RetryOf == running.ID:
					rerun = l.State == orchestration.StateSuccess
				case l.State != orchestration.StateSuccess:
					t.Errorf("log %d: %s %s %s", l.ID, l.State, l.Error, l.Stderr)
				}
			}
			if !rerun {
				for _, l := range b.logs() {
					t.Logf("log %d (retry of %v): %s %s %.300s", l.ID, l.RetryOf, l.State, l.Error, l.Stderr)
				}
				t.Errorf("the interrupted unit was not run again successfully")
			}
			if got := strings.TrimSpace(b.sh("ls " + orchestration.Quote(b.root+"/files") + " | wc -l")); got != fmt.Sprint(n) {
				t.Errorf("%s files on the server, want %d", got, n)
			}
			if got := b.sh("cat " + orchestration.Quote(b.root+"/files/u09999")); got != "Name u09999" {
				t.Errorf("the last account on the server: %q", got)
			}
		})
	}
}
