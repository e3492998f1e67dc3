package orchestration_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// benchBed is execBed's setup for any testing.TB: the test bed's first two
// servers, test-exec routes (usernames starting with "a" to the first
// server, the rest to the second) and a running executor.
type benchBed struct {
	st      *store.Store
	bed     *sshtest.Bed
	pool    *sshpool.Pool
	ex      *orchestration.Executor
	servers []*ent.Server
	roots   []string
}

func newBenchBed(tb testing.TB, st *store.Store) *benchBed {
	tb.Helper()
	b := &benchBed{st: st, bed: sshtest.Load(tb)}
	pool, err := sshpool.New(sshpool.Config{Signer: b.bed.Signer})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pool.Close() })
	b.pool = pool
	token := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	tb.Cleanup(func() {
		for i := range b.roots {
			b.sh(tb, i, "rm -rf -- "+orchestration.Quote("/tmp/orchestra-exec-"+token))
		}
	})
	matches := []string{`account.username startsWith "a"`, `not (account.username startsWith "a")`}
	for i, s := range b.bed.Servers[:2] {
		root := fmt.Sprintf("/tmp/orchestra-exec-%s/s%d", token, i+1)
		var srv *ent.Server
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
			srv, err = tx.Server.Create().SetName(fmt.Sprintf("s%d", i+1)).SetAddress(s.Address).
				SetSSHPort(s.Port).SetSSHUser("root").SetHostKey(s.HostKey).
				SetSettings(map[string]string{"TEST_ROOT": root}).Save(ctx)
			if err != nil {
				return err
			}
			return tx.Route.Create().SetBackend("test-exec").SetServerID(srv.ID).SetMatch(matches[i]).Exec(ctx)
		})
		if err != nil {
			tb.Fatal(err)
		}
		b.servers = append(b.servers, srv)
		b.roots = append(b.roots, root)
	}
	b.ex = orchestration.NewExecutor(st, orchestration.ExecutorConfig{
		Pool: pool, LeaseTTL: 2 * time.Second, Sweep: 100 * time.Millisecond,
	})
	b.ex.Start()
	tb.Cleanup(b.ex.Close)
	return b
}

// sh runs a command on server i and returns its stdout.
func (b *benchBed) sh(tb testing.TB, i int, script string) string {
	tb.Helper()
	s := b.bed.Servers[i]
	var out, errOut bytes.Buffer
	code, err := b.pool.Run(context.Background(), sshpool.Target{Address: s.Address, Port: s.Port, HostKey: s.HostKey},
		[]byte(script), &out, &errOut)
	if err != nil || code != 0 {
		tb.Fatalf("%s: exit %d, %v: %s", script, code, err, errOut.String())
	}
	return out.String()
}

// lastLogID is the highest execution log id so far (0 without logs).
func (b *benchBed) lastLogID(tb testing.TB) int {
	tb.Helper()
	l, err := b.st.ExecutionLog.Query().Order(ent.Desc(executionlog.FieldID)).
		Select(executionlog.FieldID).First(sys)
	if ent.IsNotFound(err) {
		return 0
	}
	if err != nil {
		tb.Fatal(err)
	}
	return l.ID
}

// settle waits until no change is unplanned and every log is final, polling
// every poll with light queries (no script or output is read), and then
// fails unless every log after since is SUCCESS; it returns those logs' ids.
func (b *benchBed) settle(tb testing.TB, since int, poll, timeout time.Duration) []int {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		// unplanned first: once no change is unplanned, the logs of every
		// change committed so far exist, so the second query sees them
		unplanned, err := b.st.Change.Query().Where(change.PlannedAtIsNil()).Exist(sys)
		if err != nil {
			tb.Fatal(err)
		}
		pending := false
		if !unplanned {
			pending, err = b.st.ExecutionLog.Query().
				Where(executionlog.StateIn(orchestration.StateReceived, orchestration.StateStarted)).Exist(sys)
			if err != nil {
				tb.Fatal(err)
			}
		}
		if !unplanned && !pending {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("not settled after %s (unplanned changes %v, pending logs %v)", timeout, unplanned, pending)
		}
		time.Sleep(poll)
	}
	logs, err := b.st.ExecutionLog.Query().Where(executionlog.IDGT(since)).Order(ent.Asc(executionlog.FieldID)).
		Select(executionlog.FieldID, executionlog.FieldState, executionlog.FieldError).All(sys)
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]int, len(logs))
	for i, l := range logs {
		ids[i] = l.ID
		if l.State != orchestration.StateSuccess {
			full, _ := b.st.ExecutionLog.Get(sys, l.ID)
			stderr := ""
			if full != nil {
				stderr = full.Stderr[:min(len(full.Stderr), 2000)]
			}
			tb.Fatalf("log %d: %s %s\nstderr %s", l.ID, l.State, l.Error, stderr)
		}
	}
	return ids
}

const benchChanges = 10_000

// BenchmarkTenThousandChanges commits one transaction updating 10,000
// accounts that route to one server and waits until their units are done.
func BenchmarkTenThousandChanges(b *testing.B) {
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		bb := newBenchBed(b, st)

		// the accounts, without changes of their own: only the updates
		// below reach the server
		start := time.Now()
		err := st.Tx(orchestration.WithoutChanges(sys), func(ctx context.Context, tx *ent.Tx) error {
			for i := 0; i < benchChanges; i += 1000 {
				rows := make([]*ent.AccountCreate, 0, 1000)
				for j := i; j < min(i+1000, benchChanges); j++ {
					name := fmt.Sprintf("abench%05d", j)
					rows = append(rows, tx.Account.Create().SetUsername(name).SetPassword("!").
						SetFullName(name+" full").SetEmail(name+"@example.com"))
				}
				if err := tx.Account.CreateBulk(rows...).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%d accounts created in %s", benchChanges, time.Since(start).Round(time.Millisecond))
		bb.settle(b, 0, 10*time.Millisecond, time.Minute)

		var units int
		var commit, plan, queue, run, record time.Duration
		var scriptBytes int
		b.ResetTimer()
		for i := range b.N {
			since := bb.lastLogID(b)
			t0 := time.Now()
			// One transaction, ten statements of 1,000 rows: a single
			// 10,000-row Update fails in the audit hook, whose one history
			// INSERT exceeds the databases' bind-parameter limits.
			err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
				total := 0
				for k := range benchChanges / 1000 {
					n, err := tx.Account.Update().Where(account.UsernameHasPrefix(fmt.Sprintf("abench%02d", k))).
						SetFullName(fmt.Sprintf("bulk %d", i)).Save(ctx)
					if err != nil {
						return err
					}
					total += n
				}
				if total != benchChanges {
					return fmt.Errorf("updated %d accounts, want %d", total, benchChanges)
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			committed := time.Now()
			commit += committed.Sub(t0)
			ids := bb.settle(b, since, 10*time.Millisecond, 10*time.Minute)
			settled := time.Now()
			units += len(ids)

			// where the time went, from the logs' timestamps
			b.StopTimer()
			logs, err := st.ExecutionLog.Query().Where(executionlog.IDIn(ids...)).All(sys)
			if err != nil {
				b.Fatal(err)
			}
			var first, last time.Time
			for _, l := range logs {
				scriptBytes += len(l.Script)
				if first.IsZero() || l.CreatedAt.Before(first) {
					first = l.CreatedAt
				}
				if l.FinishedAt != nil && l.FinishedAt.After(last) {
					last = *l.FinishedAt
				}
				if l.StartedAt != nil && l.FinishedAt != nil {
					queue += l.StartedAt.Sub(l.CreatedAt)
					run += l.FinishedAt.Sub(*l.StartedAt)
				}
			}
			plan += first.Sub(committed)
			record += settled.Sub(last)
			b.StartTimer()
		}
		b.StopTimer()
		elapsed := b.Elapsed()
		b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/10k-changes")
		b.ReportMetric(commit.Seconds()/float64(b.N), "s-commit/op")
		b.ReportMetric(float64(units)/float64(b.N), "units/op")
		// commit → first log created, its creation → STARTED, STARTED →
		// final state, final state → seen settled (summed over units)
		b.ReportMetric(plan.Seconds()/float64(b.N), "s-plan/op")
		b.ReportMetric(queue.Seconds()/float64(b.N), "s-queue/op")
		b.ReportMetric(run.Seconds()/float64(b.N), "s-run/op")
		b.ReportMetric(record.Seconds()/float64(b.N), "s-settle/op")
		b.ReportMetric(float64(scriptBytes)/float64(b.N)/1e6, "MB-script/op")

		// the server saw every change of the last iteration
		last := fmt.Sprintf("bulk %d", b.N-1)
		if got := bb.sh(b, 0, "cat "+bb.roots[0]+"/abench09999"); got != last {
			b.Errorf("abench09999's file: %q, want %q", got, last)
		}
		lines := strings.TrimSpace(bb.sh(b, 0, "wc -l <"+bb.roots[0]+"/order"))
		if n, _ := strconv.Atoi(lines); n != benchChanges*b.N {
			b.Errorf("order has %s lines, want %d", lines, benchChanges*b.N)
		}
	})
}

// BenchmarkOneChangeLatency measures, with the executor running and its SSH
// connection warm, the time from the commit of one change to its log's
// SUCCESS.
func BenchmarkOneChangeLatency(b *testing.B) {
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		bb := newBenchBed(b, st)
		var acc *ent.Account
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
			acc, err = tx.Account.Create().SetUsername("alatency").SetPassword("!").
				SetFullName("latency").SetEmail("alatency@example.com").Save(ctx)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		bb.settle(b, 0, time.Millisecond, time.Minute) // the connection is warm now

		ctx, cancel := context.WithTimeout(sys, 10*time.Minute)
		defer cancel()
		durations := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			since := bb.lastLogID(b)
			err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Account.UpdateOneID(acc.ID).SetFullName(fmt.Sprintf("latency %d", i)).Exec(ctx)
			})
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			var id int
			for deadline := t0.Add(time.Minute); ; time.Sleep(time.Millisecond) {
				l, err := st.ExecutionLog.Query().Where(executionlog.IDGT(since)).
					Order(ent.Asc(executionlog.FieldID)).Select(executionlog.FieldID).First(sys)
				if err == nil {
					id = l.ID
					break
				}
				if !ent.IsNotFound(err) {
					b.Fatal(err)
				}
				if time.Now().After(deadline) {
					b.Fatal("no log for the change after 1 minute")
				}
			}
			logs, err := bb.ex.Await(ctx, []int{id})
			d := time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			if len(logs) != 1 || logs[0].State != orchestration.StateSuccess || logs[0].ServerID != bb.servers[0].ID {
				b.Fatalf("log %d: %s", id, states(logs))
			}
			durations = append(durations, d)
		}
		b.StopTimer()
		slices.Sort(durations)
		pct := func(p float64) float64 {
			// nearest rank
			i := int(float64(len(durations))*p+0.999999) - 1
			return float64(durations[max(0, min(i, len(durations)-1))]) / float64(time.Millisecond)
		}
		b.ReportMetric(pct(0.50), "ms-p50")
		b.ReportMetric(pct(0.95), "ms-p95")
		b.ReportMetric(float64(durations[len(durations)-1])/float64(time.Millisecond), "ms-max")
	})
}
