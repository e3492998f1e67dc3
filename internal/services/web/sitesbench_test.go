package web_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/services/web/webtest"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/website"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// BenchmarkThousandSites adds 1,000 websites, each with a web app of its
// own (static or PHP, half each) mounted at /, in one write, and waits
// from the commit until nginx and Apache both serve every one of them
// (each app's index.html, which PHP sites serve too); it reports the
// write, the commit to success, the units each backend ran and the reloads
// the servers logged per unit (target: 1).
//
//	go test -run '^$' -bench ThousandSites -benchtime 1x ./internal/services/web/
func BenchmarkThousandSites(b *testing.B) {
	const n = 1000
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		wb := webtest.Load(b)
		wb.Lock(b)
		bed := sshtest.Load(b)
		pool, err := sshpool.New(sshpool.Config{Signer: bed.Signer})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pool.Close() })
		s0 := bed.Servers[0]
		target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
		root := func(script string) string {
			var out, errOut strings.Builder
			if code, err := pool.Run(context.Background(), target, []byte(script), &out, &errOut); err != nil || code != 0 {
				b.Fatalf("%s: %d %v %s", script, code, err, errOut.String())
			}
			return out.String()
		}
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		tag := webtest.Token()
		set := wb.ServerSettings()
		var acc *ent.Account
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
			srv, err := tx.Server.Create().SetName("bench").SetAddress(s0.Address).SetSSHPort(s0.Port).SetHostKey(s0.HostKey).
				SetSettings(set).Save(ctx)
			if err != nil {
				return err
			}
			for _, be := range []string{systemusers.Backend, web.NginxBackend, web.ApacheBackend} {
				if err := tx.Route.Create().SetBackend(be).SetServerID(srv.ID).Exec(ctx); err != nil {
					return err
				}
			}
			if acc, err = tx.Account.Create().SetUsername(tag).SetPassword("!").SetFullName("Bench").SetEmail("bench@example.com").Save(ctx); err != nil {
				return err
			}
			_, err = tx.Domain.Create().SetName(tag + ".example").SetAccountID(acc.ID).Save(ctx)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: 200 * time.Millisecond})
		ex.Start()
		b.Cleanup(ex.Close)
		settle := func(what string, changes []int) {
			out, err := ex.Follow(ctx, changes, 10*time.Minute, false)
			if err != nil || out.State != orchestration.StateSuccess {
				b.Fatalf("%s: outcome %s, %v", what, out.State, err)
			}
		}
		// the account's user first, and each app's index.html as it
		ids, err := st.Change.Query().IDs(ctx)
		if err != nil {
			b.Fatal(err)
		}
		settle("the account", ids)
		b.Cleanup(func() {
			root(fmt.Sprintf("pkill -KILL -u %[1]s; userdel -r %[1]s; groupdel %[1]s; true", tag))
		})
		home := "/home/" + tag
		root(fmt.Sprintf(`set -e
for i in $(seq -w 0 %d); do
  runuser -u %[2]s -- mkdir -p %[3]s/webapps/a$i
  printf 'site %%s' "$i" | runuser -u %[2]s -- tee %[3]s/webapps/a$i/index.html >/dev/null
done`, n-1, tag, home))
		count := func(log, what string) int {
			data, err := os.ReadFile(wb.Log(log))
			if err != nil {
				b.Fatal(err)
			}
			return strings.Count(string(data), what)
		}
		const nginxReload, apacheReload = "reconfiguring", "Doing graceful restart"
		var lastLog int
		if l, err := st.ExecutionLog.Query().Order(ent.Desc(executionlog.FieldID)).First(ctx); err == nil {
			lastLog = l.ID
		}
		b.Cleanup(func() {
			tctx, tracker := orchestration.Track(ctx)
			if err := st.Tx(tctx, func(ctx context.Context, tx *ent.Tx) error {
				_, err := tx.Website.Delete().Where(website.AccountID(acc.ID)).Exec(ctx)
				return err
			}); err != nil {
				b.Error(err)
				return
			}
			settle("deleting the sites", tracker.Changes())
		})
		b.ResetTimer()
		for range b.N {
			reloads := count("nginx/error.log", nginxReload) + count("apache/error.log", apacheReload)
			t0 := time.Now()
			tctx, tracker := orchestration.Track(ctx)
			err := st.Tx(tctx, func(ctx context.Context, tx *ent.Tx) error {
				doms := make([]*ent.DomainCreate, n)
				apps := make([]*ent.WebAppCreate, n)
				for i := range n {
					doms[i] = tx.Domain.Create().SetName(fmt.Sprintf("s%03d.%s.example", i, tag)).SetAccountID(acc.ID)
					typ, settings := web.AppStatic, map[string]any{}
					if i%2 == 1 {
						typ = web.AppPHP
					}
					apps[i] = tx.WebApp.Create().SetName(fmt.Sprintf("a%03d", i)).SetType(typ).SetSettings(settings).SetAccountID(acc.ID)
				}
				var ds []*ent.Domain
				var as []*ent.WebApp
				for c := range slices.Chunk(doms, 500) {
					made, err := tx.Domain.CreateBulk(c...).Save(ctx)
					if err != nil {
						return err
					}
					ds = append(ds, made...)
				}
				for c := range slices.Chunk(apps, 500) {
					made, err := tx.WebApp.CreateBulk(c...).Save(ctx)
					if err != nil {
						return err
					}
					as = append(as, made...)
				}
				sites := make([]*ent.WebsiteCreate, n)
				for i := range n {
					sites[i] = tx.Website.Create().SetName(fmt.Sprintf("s%03d", i)).SetAccountID(acc.ID).SetDomains([]int{ds[i].ID})
				}
				var ws []*ent.Website
				for c := range slices.Chunk(sites, 500) {
					made, err := tx.Website.CreateBulk(c...).Save(ctx)
					if err != nil {
						return err
					}
					ws = append(ws, made...)
				}
				contents := make([]*ent.WebsiteContentCreate, n)
				for i := range n {
					contents[i] = tx.WebsiteContent.Create().SetWebsiteID(ws[i].ID).SetWebappID(as[i].ID).SetPath("/")
				}
				for c := range slices.Chunk(contents, 500) {
					if err := tx.WebsiteContent.CreateBulk(c...).Exec(ctx); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			committed := time.Now()
			settle("1,000 sites", tracker.Changes())
			done := time.Since(committed)
			b.StopTimer()
			for i := range n {
				host := fmt.Sprintf("s%03d.%s.example", i, tag)
				for _, addr := range []string{wb.Nginx, wb.Apache} {
					r, err := wb.Fetch(addr, "http", host, "/")
					if err != nil || r.Status != 200 || r.Body != fmt.Sprintf("site %03d", i) {
						b.Fatalf("%s on %s: %v %+v", host, addr, err, r)
					}
				}
			}
			logs, err := st.ExecutionLog.Query().Where(executionlog.IDGT(lastLog),
				executionlog.BackendIn(web.NginxBackend, web.ApacheBackend)).All(ctx)
			if err != nil {
				b.Fatal(err)
			}
			units := len(logs)
			for _, l := range logs {
				ops, _ := l.QueryOperations().Count(ctx)
				var took time.Duration
				if l.StartedAt != nil && l.FinishedAt != nil {
					took = l.FinishedAt.Sub(*l.StartedAt)
				}
				b.Logf("unit %d: %s, %d websites, %s, %v", l.ID, l.Backend, ops, l.State, took.Round(time.Millisecond))
			}
			b.ReportMetric(committed.Sub(t0).Seconds(), "s-write")
			b.ReportMetric(done.Seconds(), "s-commit-to-success")
			b.ReportMetric(float64(units), "units")
			b.ReportMetric(float64(count("nginx/error.log", nginxReload)+count("apache/error.log", apacheReload)-reloads)/float64(max(units, 1)), "reloads/unit")
			b.StartTimer()
		}
	})
}
