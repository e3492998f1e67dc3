package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// On PostgreSQL what runs on the connection Raw gives is inside the store's
// transaction, and every transaction gives its connection back when it ends.
func TestRawIsInTheTransaction(t *testing.T) {
	st := storetest.Postgres(t)
	if st == nil {
		t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
	}
	ctx := viewer.System(context.Background(), viewer.ChannelSystem)
	count := func() (n int) {
		if err := st.DB.QueryRow("SELECT count(*) FROM settings").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	rolledBack := errors.New("rolled back")
	for i, commit := range []bool{false, true, false, true} {
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			if tx.SQLTx() == nil {
				t.Error("no database/sql transaction")
			}
			return store.Raw(tx, func(dc any) error {
				c := dc.(*stdlib.Conn).Conn()
				if _, err := c.Exec(ctx, "INSERT INTO settings (created_at, updated_at, name, value) VALUES (now(), now(), $1, '1')",
					"RAW_"+string(rune('A'+i))); err != nil {
					return err
				}
				if !commit {
					return rolledBack
				}
				return nil
			})
		})
		if commit && err != nil || !commit && !errors.Is(err, rolledBack) {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if n := count(); n != before+2 {
		t.Errorf("%d rows written, want the 2 committed", n-before)
	}
	if s := st.DB.Stats(); s.InUse != 0 {
		t.Errorf("%d connections still in use", s.InUse)
	}
}
