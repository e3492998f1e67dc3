package mail_test

import (
	"context"
	"sync"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/dkimkey"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestFirstAddressesAtOnce: two writes that each give a domain its first
// address, in flight together, both commit, and the domain has one key.
// (SQLite runs write transactions one after the other: PostgreSQL only.)
func TestFirstAddressesAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		if st.Dialect != "postgres" {
			t.Skip("SQLite's writes are serial")
		}
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		var dom *ent.Domain
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			acc, err := tx.Account.Create().SetUsername("race").SetPassword("!").SetFullName("Race").SetEmail("race@example.com").Save(ctx)
			if err == nil {
				dom, err = tx.Domain.Create().SetName("race.example").SetAccountID(acc.ID).Save(ctx)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var started, wg sync.WaitGroup
		started.Add(2)
		errs := make([]error, 2)
		for i, name := range []string{"one", "two"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
					if _, err := tx.Account.Query().Count(ctx); err != nil { // the transaction has begun
						return err
					}
					started.Done()
					started.Wait() // both in flight, neither committed
					return tx.MailAddress.Create().SetName(name).SetDomainID(dom.ID).SetForward([]string{"x@elsewhere.example"}).Exec(ctx)
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("address %d: %v", i, err)
			}
		}
		if n, err := st.DKIMKey.Query().Where(dkimkey.DomainID(dom.ID)).Count(ctx); err != nil || n != 1 {
			t.Errorf("the domain has %d keys (%v), want 1", n, err)
		}
	})
}
