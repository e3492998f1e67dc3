package resources_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/shopspring/decimal"
)

// a monitor that measures without reading a disk: the panel's share of a
// run (planning, SSH, parsing, storing, usage) is what is left to time
func init() {
	resources.RegisterMonitor(resources.Monitor{Backend: &orchestration.Backend{Name: "test-bench-monitor", Model: "SystemUser", DefaultMatch: "true",
		Apply: func(s *orchestration.Script, _ orchestration.Server, _ string, o orchestration.Object) error {
			s.Var("id", strconv.Itoa(o.ID))
			s.Raw(`printf '%s %s\n' "$id" "$((id * 1000))"`)
			return nil
		}}})
}

// BenchmarkMeasureTenThousand measures one resource of 10,000 system
// users, half routed to each of the two test-bed servers, and reports the
// run's time, the time its units ran on the servers and the rest (the
// database and the panel), and the units.
//
//	go test -run '^$' -bench MeasureTenThousand -benchtime 3x ./internal/services/resources/
func BenchmarkMeasureTenThousand(b *testing.B) {
	const n = 10_000
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		bed := sshtest.Load(b)
		if len(bed.Servers) < 2 {
			b.Skip("two test-bed servers needed")
		}
		pool, err := sshpool.New(sshpool.Config{Signer: bed.Signer})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pool.Close() })
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		var r *ent.Resource
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			for i, s := range bed.Servers[:2] {
				srv, err := tx.Server.Create().SetName(fmt.Sprintf("bench%d", i)).SetAddress(s.Address).SetSSHPort(s.Port).SetHostKey(s.HostKey).Save(ctx)
				if err != nil {
					return err
				}
				if err := tx.Route.Create().SetBackend("test-bench-monitor").SetServerID(srv.ID).SetMatch(fmt.Sprintf("system_user.id %% 2 == %d", i)).Exec(ctx); err != nil {
					return err
				}
			}
			accs := make([]*ent.AccountCreate, 100)
			for i := range accs {
				accs[i] = tx.Account.Create().SetUsername(fmt.Sprintf("bench%03d", i)).SetPassword("!").SetFullName("Bench").SetEmail("bench@example.com")
			}
			list, err := tx.Account.CreateBulk(accs...).Save(ctx)
			if err != nil {
				return err
			}
			users := make([]*ent.SystemUserCreate, 0, n)
			for i := range n {
				users = append(users, tx.SystemUser.Create().SetUsername(fmt.Sprintf("benchu%05d", i)).SetAccountID(list[i%100].ID))
				if len(users) == 1000 || i == n-1 {
					if err := tx.SystemUser.CreateBulk(users...).Exec(ctx); err != nil {
						return err
					}
					users = users[:0]
				}
			}
			r, err = tx.Resource.Create().SetName("bench").SetLabel("Bench").SetModel("SystemUser").SetUnit("KB").SetScale("1000").
				SetAggregation("last").SetMonitors([]string{"test-bench-monitor"}).SetDefaultAllocation(5000).Save(ctx)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: time.Hour})
		ex.Start()
		b.Cleanup(ex.Close)
		b.ResetTimer()
		for i := range b.N {
			t0 := time.Now()
			round, err := resources.Measure(ctx, st, ex, r, time.Now().UTC().Add(time.Duration(i)*time.Hour), 10*time.Minute)
			total := time.Since(t0)
			if err != nil || round.Objects < n || len(round.Failed) > 0 { // and the accounts' main users
				b.Fatalf("%+v %v", round, err)
			}
			logs, err := st.ExecutionLog.Query().Where(executionlog.Backend("test-bench-monitor"), executionlog.CreatedAtGTE(t0)).All(ctx)
			if err != nil {
				b.Fatal(err)
			}
			perServer := map[int]time.Duration{}
			for _, l := range logs {
				if l.StartedAt != nil && l.FinishedAt != nil {
					perServer[l.ServerID] += l.FinishedAt.Sub(*l.StartedAt)
				}
			}
			var wall time.Duration // the servers run their lanes side by side
			for _, d := range perServer {
				wall = max(wall, d)
			}
			b.ReportMetric(total.Seconds(), "s/run")
			b.ReportMetric(wall.Seconds(), "s-on-servers/run")
			b.ReportMetric((total - wall).Seconds(), "s-panel-and-db/run")
			b.ReportMetric(float64(len(logs)), "units/run")
		}
	})
}

// BenchmarkAggregateYear computes every aggregation for 10,000 objects
// from a year of daily samples each (3.65 million samples).
//
//	go test -run '^$' -bench AggregateYear -benchtime 3x ./internal/services/resources/
func BenchmarkAggregateYear(b *testing.B) {
	const objects, days = 10_000, 365
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	perObject := make([][]resources.Sample, objects)
	for o := range perObject {
		s := make([]resources.Sample, days)
		for d := range s {
			s[d] = resources.Sample{Object: o, At: now.Add(-time.Duration(days-d) * 24 * time.Hour), Value: decimal.NewFromInt(int64(1_000_000 + d*o))}
		}
		perObject[o] = s
	}
	scale := decimal.NewFromInt(1_000_000)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		for _, name := range []string{"last", "monthly-sum", "monthly-avg", "last-10-days-avg"} {
			t1 := time.Now()
			for _, s := range perObject {
				if _, err := resources.Aggregate(name, s, now, scale); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(time.Since(t1).Seconds(), "s-"+name)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "s/all-four")
	}
}
