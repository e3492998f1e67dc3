package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// BenchmarkWritesWhilePlanning measures API writes while the planner works
// through one transaction's 10,000 changes: 4 clients PATCH an account each
// (Prefer: respond-async, as the web pages do), from the bulk commit until
// its last change is planned; the writes' p50, p99 and max latency, and how
// many there were. The units run on the test-bed server meanwhile.
//
//	go test -run '^$' -bench WritesWhilePlanning -benchtime 1x ./internal/api/
func BenchmarkWritesWhilePlanning(b *testing.B) {
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		bed := sshtest.Load(b)
		e := newEnvWith(b, st, newExecutor(b, st, bed.Signer))
		admin := e.TokenFor(e.Login("admin", adminPassword), 1)
		s0 := bed.Servers[0]
		root := fmt.Sprintf("/tmp/orchestra-api-planning-%d", time.Now().UnixNano())
		b.Cleanup(func() { os.RemoveAll(root) }) // the test bed shares this machine's disk
		srv := admin.Do("POST", "/servers", map[string]any{"name": "bench", "address": s0.Address, "ssh_port": s0.Port,
			"host_key": s0.HostKey, "settings": map[string]string{"TEST_ROOT": root}}).Want(http.StatusCreated).ID()
		admin.Do("POST", "/routes", map[string]any{"backend": "api-test", "server": srv}).Want(http.StatusCreated)

		const bulk, clients = 10_000, 4
		sys := viewer.System(context.Background(), viewer.ChannelCLI)
		err := st.Tx(orchestration.WithoutChanges(sys), func(ctx context.Context, tx *ent.Tx) error {
			for i := 0; i < bulk; i += 1000 {
				rows := make([]*ent.AccountCreate, 0, 1000)
				for j := i; j < i+1000; j++ {
					name := fmt.Sprintf("bulk%05d", j)
					rows = append(rows, tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName(name).
						SetEmail(name+"@example.com"))
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
		type writer struct {
			c       *client
			id      int
			version float64
		}
		writers := make([]*writer, clients)
		for i := range writers {
			r := admin.Do("POST", "/accounts", map[string]any{"username": fmt.Sprintf("writer%d", i), "full_name": "w",
				"email": fmt.Sprintf("w%d@example.com", i)}).Want(http.StatusCreated)
			c := e.TokenFor(admin, 1)
			c.Header.Set("Prefer", "respond-async")
			writers[i] = &writer{c: c, id: r.ID(), version: r.JSON()["version"].(float64)}
		}

		var mu sync.Mutex
		var durations []time.Duration
		b.ResetTimer()
		for n := range b.N {
			err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
				for k := range bulk / 1000 {
					err := tx.Account.Update().Where(account.UsernameHasPrefix(fmt.Sprintf("bulk%02d", k))).
						SetFullName(fmt.Sprintf("bulk %d", n)).Exec(ctx)
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			last, err := st.Change.Query().Aggregate(ent.Max(change.FieldID)).Int(sys)
			if err != nil {
				b.Fatal(err)
			}
			planning := func() bool {
				pending, err := st.Change.Query().Where(change.IDLTE(last), change.PlannedAtIsNil()).Exist(sys)
				return err == nil && pending
			}
			var wg sync.WaitGroup
			for _, w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 1000 && planning(); i++ {
						t0 := time.Now()
						r := w.c.Do("PATCH", fmt.Sprintf("/accounts/%d", w.id), map[string]any{
							"full_name": fmt.Sprintf("w %d %d", n, i), "version": w.version})
						d := time.Since(t0)
						if r.Status != http.StatusOK {
							b.Errorf("write: %d %s", r.Status, r.Body)
							return
						}
						w.version = r.JSON()["version"].(float64)
						mu.Lock()
						durations = append(durations, d)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
		}
		b.StopTimer()
		if len(durations) == 0 {
			b.Fatal("no write while planning")
		}
		slices.Sort(durations)
		pct := func(p float64) float64 {
			i := int(float64(len(durations))*p+0.999999) - 1 // nearest rank
			return float64(durations[max(0, min(i, len(durations)-1))]) / float64(time.Millisecond)
		}
		b.ReportMetric(pct(0.50), "ms-p50")
		b.ReportMetric(pct(0.99), "ms-p99")
		b.ReportMetric(float64(durations[len(durations)-1])/float64(time.Millisecond), "ms-max")
		b.ReportMetric(float64(len(durations))/float64(b.N), "writes/op")
	})
}
