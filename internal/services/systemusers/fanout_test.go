package systemusers_test

import (
	"context"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestAccountFanOut: an account's activation re-applies its system users;
// a change of its other fields does not concern them.
func TestAccountFanOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		var acc *ent.Account
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
			acc, err = tx.Account.Create().SetUsername("fan").SetPassword("!").SetFullName("Fan").SetEmail("f@example.com").Save(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		p := orchestration.NewPlanner(st)
		saves := func(update func(*ent.AccountUpdateOne)) int {
			t.Helper()
			if _, err := p.Plan(ctx); err != nil {
				t.Fatal(err)
			}
			before := st.Operation.Query().Where(operation.Backend(systemusers.Backend)).CountX(ctx)
			err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				u := tx.Account.UpdateOneID(acc.ID)
				update(u)
				return u.Exec(ctx)
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Plan(ctx); err != nil {
				t.Fatal(err)
			}
			return st.Operation.Query().Where(operation.Backend(systemusers.Backend)).CountX(ctx) - before
		}
		if n := saves(func(u *ent.AccountUpdateOne) { u.SetFullName("Renamed") }); n != 0 {
			t.Errorf("a new full name re-applied %d system users", n)
		}
		if n := saves(func(u *ent.AccountUpdateOne) { u.SetIsActive(false) }); n != 1 {
			t.Errorf("disabling the account re-applied %d system users, want its main one", n)
		}
	})
}
