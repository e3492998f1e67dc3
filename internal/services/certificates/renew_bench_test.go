package certificates_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/services/certificates"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/certificate"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// BenchmarkRenewals: ORCHESTRA_BENCH_CERTS (1,000) certificates due for
// renewal, renewed by one round against Pebble (no sleeps) over HTTP-01,
// CERTIFICATES_CONCURRENCY (ORCHESTRA_BENCH_CONCURRENCY, 32) at once;
// reports orders per second.
//
//	./do test -run '^$' -bench Renewals -benchtime 1x ./internal/services/certificates/
func BenchmarkRenewals(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("ORCHESTRA_BENCH_CERTS"))
	if n <= 0 {
		n = 1000
	}
	conc := os.Getenv("ORCHESTRA_BENCH_CONCURRENCY")
	if conc == "" {
		conc = "32"
	}
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		bed := newACMEBed(b, st, false, map[string]string{"ORCHESTRA_CERTIFICATES_CONCURRENCY": conc})
		user := fmt.Sprintf("bn%d", time.Now().UnixNano()%1_000_000)
		cust, acc := bed.Customer(user)
		dom := user + ".example"
		bed.Applied(cust.Do("POST", "/domains", map[string]any{"name": dom}).Want(http.StatusCreated))
		hostID := bed.Applied(cust.Do("POST", "/domains", map[string]any{"name": "www." + dom}).Want(http.StatusCreated)).ID()
		bed.Applied(cust.Do("POST", "/records", map[string]any{"domain": hostID, "type": "A", "value": bed.web.Nginx}).
			Want(http.StatusCreated))
		site := bed.Applied(cust.Do("POST", "/websites", map[string]any{"name": "www", "domains": []int{hostID}}).
			Want(http.StatusCreated)).ID()
		b.Cleanup(func() { bed.Admin.Do("DELETE", fmt.Sprintf("/websites/%d", site), nil) })
		sys := viewer.System(context.Background(), viewer.ChannelSystem)
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			for i := 0; i < n; i++ {
				if err := tx.Certificate.Create().SetAccountID(acc).SetSource(certificates.HTTP01).
					SetDomains([]int{hostID}).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		var orders int
		var spent time.Duration
		for b.Loop() {
			b.StopTimer()
			// each is valid and within its renewal window
			err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
				ids, err := tx.Certificate.Query().Where(certificate.AccountID(acc)).IDs(ctx)
				for _, id := range ids {
					if err == nil {
						err = tx.Certificate.UpdateOneID(id).SetState(certificates.Valid).
							SetNotAfter(time.Now().Add(24 * time.Hour)).ClearNextAttemptAt().Exec(ctx)
					}
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			round, err := certificates.RunOnce(sys, st, bed.Ex, time.Now())
			spent += time.Since(start)
			if err != nil || round.Issued != n {
				b.Fatalf("a round renewed %d of %d (%d failed): %v", round.Issued, n, round.Failed, err)
			}
			orders += round.Issued
		}
		b.ReportMetric(float64(orders)/spent.Seconds(), "orders/s")
	})
}
