package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// The in-process benchmarks time one request through the whole stack (HTTP,
// bearer token, authorization, store) without a load tool, for profiling:
//
//	go test -run=^$ -bench=API -cpuprofile=cpu.out ./internal/api/
//
// cmd/orchestra-bench measures the real binary under load.
func BenchmarkAPI(b *testing.B) {
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		e := newEnv(b, st)
		admin := e.Login("admin", adminPassword)
		seedAccounts(b, st, 2000)
		c := e.TokenFor(admin, 1)
		for _, path := range []string{"/accounts/1000", "/accounts?page=1&page_size=50", "/accounts?page=30&page_size=50"} {
			b.Run(path, func(b *testing.B) {
				req, _ := http.NewRequest("GET", e.Srv.URL+api.Prefix+path, nil)
				req.Header.Set("Authorization", "Bearer "+c.Bearer)
				for b.Loop() {
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Fatalf("status %d", res.StatusCode)
					}
				}
			})
		}
	})
}

func seedAccounts(b testing.TB, st *store.Store, n int) {
	// seeds for list tests: no history, nothing for servers
	ctx := orchestration.WithoutChanges(audit.Without(viewer.System(context.Background(), viewer.ChannelCLI)))
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		for i := 0; i < n; i += 500 {
			bulk := make([]*ent.AccountCreate, 0, 500)
			for j := i; j < min(i+500, n); j++ {
				bulk = append(bulk, tx.Account.Create().SetUsername(fmt.Sprintf("user%06d", j)).
					SetFullName(fmt.Sprintf("User %d", j)).SetEmail(fmt.Sprintf("u%d@example.com", j)).SetPassword("!"))
			}
			if err := tx.Account.CreateBulk(bulk...).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
