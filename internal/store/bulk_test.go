package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/billline"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

func init() {
	// a model with a hook of its own and one something follows
	store.RegisterHook("BillSubline", ent.OpCreate, func(next ent.Mutator) ent.Mutator { return next })
	store.RegisterFollower(func(model string) bool { return model == "MetricStorage" })
}

// InsertRows writes rows as ent reads them back, on both stores: values
// byte for byte, NULLs, ids in order and never one given before (past
// SQLite's variables in one statement); it refuses models watched row by
// row, and the database's constraints still hold.
func TestInsertRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelSystem)
		day := time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)
		cols := []string{billline.FieldBillID, billline.FieldAccountID, billline.FieldDescription, billline.FieldRate,
			billline.FieldSubtotal, billline.FieldStartOn, billline.FieldEndOn, billline.FieldCreatedOn}
		var bill *ent.Bill
		var first []int
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			a := tx.Account.Create().SetUsername("ann").SetFullName("Ann").SetEmail("ann@example.com").SetType("INDIVIDUAL").SetLanguage("EN").SaveX(ctx)
			bill = tx.Bill.Create().SetAccountID(a.ID).SetType("INVOICE").SetNumber("OI20260001").SetTotal(decimal.Zero).SaveX(ctx)
			const n = 3000 // 27,000 values
			rows := make([][]any, n)
			for i := range rows {
				rows[i] = []any{bill.ID, a.ID, fmt.Sprintf("línea %d 'quoted' \"%%s\"", i), decimal.RequireFromString("1234567890.05"),
					decimal.RequireFromString("-0.01"), day, nil, day.AddDate(0, 0, i%3)}
			}
			rows[1][6] = day.AddDate(0, 1, 0)
			var err error
			first, err = store.InsertRows(ctx, tx, "BillLine", cols, rows)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ls := st.BillLine.Query().Order(ent.Asc(billline.FieldID)).AllX(ctx)
		if len(ls) != 3000 || len(first) != 3000 {
			t.Fatalf("%d lines read, %d ids given", len(ls), len(first))
		}
		for i, l := range ls {
			if l.ID != first[i] {
				t.Fatalf("line %d has id %d, given %d", i, l.ID, first[i])
			}
		}
		l0, l1 := ls[0], ls[1]
		if l0.Description != `línea 0 'quoted' "%s"` || l0.Rate == nil || l0.Rate.String() != "1234567890.05" || l0.Subtotal.String() != "-0.01" ||
			!l0.StartOn.Equal(day) || l0.EndOn != nil || l1.EndOn == nil || !l1.EndOn.Equal(day.AddDate(0, 1, 0)) ||
			!ls[2].CreatedOn.Equal(day.AddDate(0, 0, 2)) || l0.Version != 1 || l0.VerboseQuantity != "" {
			t.Errorf("read back: %+v, %+v", l0, l1)
		}
		// the highest line deleted: its id is not given again
		st.BillLine.DeleteOneID(first[len(first)-1]).ExecX(ctx)
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			ids, err := store.InsertRows(ctx, tx, "BillLine", cols, [][]any{{bill.ID, bill.AccountID, "again", nil, decimal.Zero, day, nil, day}})
			if err == nil && ids[0] <= first[len(first)-1] {
				t.Errorf("id %d given again after %d", ids[0], first[len(first)-1])
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			model string
			cols  []string
			row   []any
			want  string
		}{
			{"Account", []string{"username"}, []any{"x"}, "cannot be written in bulk"},
			{"BillSubline", []string{"description"}, []any{"x"}, "cannot be written in bulk"},
			{"MetricStorage", []string{"value"}, []any{"1"}, "cannot be written in bulk"},
			{"BillLine", cols, []any{bill.ID}, "1 values for 8 columns"},
			{"BillLine", cols, []any{bill.ID + 1000, bill.AccountID, "no bill", nil, decimal.Zero, day, nil, day}, ""},
		} {
			err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				_, err := store.InsertRows(ctx, tx, c.model, c.cols, [][]any{c.row})
				return err
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s %v: %v, want an error with %q", c.model, c.row, err, c.want)
			}
		}
		if n := st.BillLine.Query().CountX(ctx); n != 3000 {
			t.Errorf("%d lines after the refusals, want 3000", n)
		}
	})
}
