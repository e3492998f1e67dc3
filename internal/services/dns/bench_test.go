package dns

import (
	"context"
	"fmt"
	"testing"
	"time"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/dns/bindtest"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// BenchmarkResyncTenThousandZones is the full resync of 10,000 zones (each
// with SOA, NS, MX, A, AAAA, TXT and a www subdomain) to one bind9 master:
// render, ship over SSH, check, reload, until the last zone is answered.
// A second resync, with nothing changed, is reported beside it.
//
//	go test -run '^$' -bench ResyncTenThousandZones -benchtime 1x ./internal/services/dns/
func BenchmarkResyncTenThousandZones(b *testing.B) {
	const zones = 10_000
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		bed := bindtest.Load(b)
		pool, err := sshpool.New(sshpool.Config{Signer: bed.SSH.Signer})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pool.Close() })
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		var master *ent.Server
		seed := time.Now()
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
			s := bed.SSH.Servers[0]
			if master, err = tx.Server.Create().SetName("ns-bench").SetAddress(s.Address).SetSSHPort(s.Port).
				SetHostKey(s.HostKey).SetSettings(bed.MasterSettings()).Save(ctx); err != nil {
				return err
			}
			if err := tx.Route.Create().SetBackend(MasterBackend).SetServerID(master.ID).Exec(ctx); err != nil {
				return err
			}
			acc, err := tx.Account.Create().SetUsername("bench").SetPassword("!").SetFullName("Bench").
				SetEmail("bench@example.com").Save(ctx)
			if err != nil {
				return err
			}
			// seeded past the rules: checking 10,000 zones one by one is not what is measured
			quiet := orchestration.WithoutChanges(internalCtx(ctx))
			for i := 0; i < zones; i += 500 {
				var ds []*ent.DomainCreate
				for j := i; j < min(i+500, zones); j++ {
					ds = append(ds, tx.Domain.Create().SetName(fmt.Sprintf("z%05d-%s.example", j, bed.Token())).
						SetAccountID(acc.ID).SetSerial(2026010100))
				}
				tops, err := tx.Domain.CreateBulk(ds...).Save(quiet)
				if err != nil {
					return err
				}
				var subs []*ent.DomainCreate
				var rs []*ent.RecordCreate
				for k, d := range tops {
					subs = append(subs, tx.Domain.Create().SetName("www."+d.Name).SetAccountID(acc.ID).SetTopID(d.ID))
					for _, r := range [][2]string{{"A", fmt.Sprintf("192.0.2.%d", k%250+1)}, {"AAAA", "2001:db8::1"},
						{"MX", "10 mail.example.net."}, {"TXT", "v=spf1 mx -all"}} {
						rs = append(rs, tx.Record.Create().SetDomainID(d.ID).SetAccountID(acc.ID).SetType(r[0]).SetValue(r[1]))
					}
				}
				if err := tx.Domain.CreateBulk(subs...).Exec(quiet); err != nil {
					return err
				}
				if err := tx.Record.CreateBulk(rs...).Exec(quiet); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d zones in %v", zones, time.Since(seed).Round(time.Millisecond))
		ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: time.Hour})
		ex.Start()
		b.Cleanup(ex.Close)
		last := fmt.Sprintf("z%05d-%s.example", zones-1, bed.Token())

		resync := func() (plan, run, served time.Duration, log *ent.ExecutionLog) {
			t0 := time.Now()
			units, err := ex.Orchestrate(ctx, orchestration.Selection{ServerID: master.ID}, false)
			if err != nil || len(units) != 1 {
				b.Fatalf("resync: %v %+v", err, units)
			}
			plan = time.Since(t0)
			logs, err := ex.Await(ctx, []int{units[0].LogID})
			if err != nil {
				b.Fatal(err)
			}
			if logs[0].State != orchestration.StateSuccess {
				b.Fatalf("resync log %s: %s\n%s", logs[0].State, logs[0].Error, tail(logs[0].Stderr))
			}
			run = time.Since(t0) - plan
			for bindtest.Dig(b, bed.Master, last, "A") == "" {
				if time.Since(t0) > 5*time.Minute {
					b.Fatal("the last zone is not answered 5 minutes after the resync started")
				}
				time.Sleep(20 * time.Millisecond)
			}
			return plan, run, time.Since(t0), logs[0]
		}
		b.ResetTimer()
		for range b.N {
			plan, run, served, l := resync()
			b.ReportMetric(plan.Seconds(), "s-plan")
			b.ReportMetric(run.Seconds(), "s-run")
			b.ReportMetric(served.Seconds(), "s-served")
			b.ReportMetric(float64(len(l.Script))/1e6, "MB-script")
			b.StopTimer()
			_, _, again, _ := resync()
			b.ReportMetric(again.Seconds(), "s-unchanged-resync")
			if _, err := st.ExecutionLog.Delete().Where(executionlog.IDGT(0)).Exec(viewer.System(ctx, viewer.ChannelSystem)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// BenchmarkRecordSave is one record write as a customer makes it (a
// transaction creating a record, or deleting one), in zones of growing
// size: its cost does not grow with the zone.
//
//	go test -run '^$' -bench RecordSave ./internal/services/dns/
func BenchmarkRecordSave(b *testing.B) {
	for _, size := range []int{10, 1_000, 10_000} {
		b.Run(fmt.Sprintf("zone=%d", size), func(b *testing.B) {
			storetest.Each(b, func(b *testing.B, st *store.Store) {
				ctx := viewer.System(context.Background(), viewer.ChannelCLI)
				var acc *ent.Account
				var top *ent.Domain
				err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
					if acc, err = tx.Account.Create().SetUsername("owner").SetPassword("!").SetFullName("Owner").
						SetEmail("owner@example.com").Save(ctx); err != nil {
						return err
					}
					if top, err = tx.Domain.Create().SetName("big.example").SetAccountID(acc.ID).Save(ctx); err != nil {
						return err
					}
					// seeded past the rules: the seed is not what is measured
					quiet := orchestration.WithoutChanges(internalCtx(ctx))
					for i := 0; i < size; i += 500 {
						var subs []*ent.DomainCreate
						for j := i; j < min(i+500, size); j += 10 {
							subs = append(subs, tx.Domain.Create().SetName(fmt.Sprintf("h%05d.big.example", j)).
								SetAccountID(acc.ID).SetTopID(top.ID))
						}
						ds, err := tx.Domain.CreateBulk(subs...).Save(quiet)
						if err != nil {
							return err
						}
						var rs []*ent.RecordCreate
						for k, d := range ds {
							for r := range min(10, size-i-10*k) {
								rs = append(rs, tx.Record.Create().SetDomainID(d.ID).SetAccountID(acc.ID).SetType("TXT").
									SetValue(fmt.Sprintf("record %d", r)))
							}
						}
						if err := tx.Record.CreateBulk(rs...).Exec(quiet); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				cust := viewer.With(context.Background(), viewer.Viewer{AccountID: acc.ID, Username: "owner", Channel: viewer.ChannelAPI})
				var last int
				b.ResetTimer()
				for i := range b.N {
					err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) error {
						if i%2 == 1 {
							return tx.Record.DeleteOneID(last).Exec(ctx)
						}
						r, err := tx.Record.Create().SetDomainID(top.ID).SetType("A").SetValue("192.0.2.1").Save(ctx)
						if err == nil {
							last = r.ID
						}
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
