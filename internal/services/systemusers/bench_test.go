package systemusers_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// BenchmarkThousandSystemUsers creates 1,000 system users with passwords in
// one write and waits until they are all applied on one test-bed server; it
// reports the time and the SSH round trips (units run) it took, then the
// time deleting them in one write takes.
//
//	go test -run '^$' -bench ThousandSystemUsers -benchtime 1x ./internal/services/systemusers/
func BenchmarkThousandSystemUsers(b *testing.B) {
	const n = 1000
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		bed := sshtest.Load(b)
		pool, err := sshpool.New(sshpool.Config{Signer: bed.Signer})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pool.Close() })
		s0 := bed.Servers[0]
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		tag := "b" + strconv.FormatInt(time.Now().UnixNano()%1_000_000, 36)
		var acc *ent.Account
		setup, tracked := orchestration.Track(ctx)
		err = st.Tx(setup, func(ctx context.Context, tx *ent.Tx) (err error) {
			srv, err := tx.Server.Create().SetName("bench").SetAddress(s0.Address).SetSSHPort(s0.Port).
				SetHostKey(s0.HostKey).Save(ctx)
			if err != nil {
				return err
			}
			if err := tx.Route.Create().SetBackend(systemusers.Backend).SetServerID(srv.ID).Exec(ctx); err != nil {
				return err
			}
			acc, err = tx.Account.Create().SetUsername(tag).SetPassword("!").SetFullName("Bench").
				SetEmail("bench@example.com").Save(ctx)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			var out, errb bytes.Buffer
			pool.Run(context.Background(), sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey},
				[]byte(fmt.Sprintf(`for u in $(getent passwd | cut -d: -f1 | grep '^%[1]s'); do pkill -KILL -u "$u"; userdel -r "$u" 2>/dev/null; done
for g in $(getent group | cut -d: -f1 | grep '^%[1]s'); do groupdel "$g" 2>/dev/null; done; true`, tag)), &out, &errb)
		})
		hash, err := systemusers.HashPassword("Bench-secret-42")
		if err != nil {
			b.Fatal(err)
		}
		ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: time.Hour})
		ex.Start()
		b.Cleanup(ex.Close)
		// the account's main user is made before the clock starts
		if out, err := ex.Follow(ctx, tracked.Changes(), 10*time.Minute, false); err != nil || out.State != orchestration.StateSuccess {
			b.Fatalf("the account: outcome %s, %v", out.State, err)
		}
		// onServer sums the run times of the units made since t: the rest
		// of a write's time is the panel's (the write, planning, waiting)
		onServer := func(t time.Time) float64 {
			logs, err := st.ExecutionLog.Query().Where(executionlog.CreatedAtGTE(t)).All(viewer.System(ctx, viewer.ChannelSystem))
			if err != nil {
				b.Fatal(err)
			}
			var d time.Duration
			for _, l := range logs {
				if l.StartedAt != nil && l.FinishedAt != nil {
					d += l.FinishedAt.Sub(*l.StartedAt)
				}
			}
			return d.Seconds()
		}
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			tctx, tracker := orchestration.Track(ctx)
			err := st.Tx(tctx, func(ctx context.Context, tx *ent.Tx) error {
				users := make([]*ent.SystemUserCreate, n)
				for i := range users {
					users[i] = tx.SystemUser.Create().SetUsername(fmt.Sprintf("%s-%04d", tag, i)).SetAccountID(acc.ID).
						SetPassword(hash).SetShell(systemusers.ShellSFTP)
				}
				return tx.SystemUser.CreateBulk(users...).Exec(ctx)
			})
			if err != nil {
				b.Fatal(err)
			}
			out, err := ex.Follow(ctx, tracker.Changes(), 10*time.Minute, false)
			if err != nil || out.State != orchestration.StateSuccess {
				b.Fatalf("outcome %s, %v", out.State, err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "s/1000-users")
			b.ReportMetric(onServer(t0), "s-on-server/1000-users")
			logs, err := st.ExecutionLog.Query().Where(executionlog.Backend(systemusers.Backend), executionlog.CreatedAtGTE(t0)).
				All(viewer.System(ctx, viewer.ChannelSystem))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(logs)), "ssh-round-trips")

			t1 := time.Now()
			tctx, tracker = orchestration.Track(ctx)
			err = st.Tx(tctx, func(ctx context.Context, tx *ent.Tx) error {
				_, err := tx.SystemUser.Delete().Where(systemuser.UsernameHasPrefix(tag + "-")).Exec(ctx)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			if out, err = ex.Follow(ctx, tracker.Changes(), 10*time.Minute, false); err != nil || out.State != orchestration.StateSuccess {
				b.Fatalf("deletion: outcome %s, %v", out.State, err)
			}
			b.ReportMetric(time.Since(t1).Seconds(), "s/1000-deletes")
			b.ReportMetric(onServer(t1), "s-on-server/1000-deletes")
		}
	})
}
