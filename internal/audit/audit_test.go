package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/audit"
	_ "github.com/orchestra-panel/orchestra/internal/contacts"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contact"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/ent/setting"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

func TestHistoryFromEveryPath(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.With(context.Background(), viewer.Viewer{Username: "ops", Channel: viewer.ChannelCLI, System: true})
		var acc *ent.Account
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			var err error
			acc, err = tx.Account.Create().SetUsername("ivy").SetFullName("Ivy").SetEmail("ivy@example.com").
				SetPassword("secret-hash").Save(ctx)
			if err != nil {
				return err
			}
			for _, n := range []string{"one", "two", "three"} {
				if err := tx.Contact.Create().SetAccountID(acc.ID).SetShortName(n).SetEmail(n + "@example.com").Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// A bulk update and a bulk delete record one entry per object.
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			if _, err := tx.Contact.Update().Where(contact.AccountID(acc.ID)).SetCity("Vic").Save(ctx); err != nil {
				return err
			}
			_, err := tx.Contact.Delete().Where(contact.ShortName("two")).Exec(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sys := viewer.System(context.Background(), viewer.ChannelSystem)
		all := st.History.Query().Order(history.ByID()).AllX(sys)
		var got []string
		for _, h := range all {
			got = append(got, h.Action+" "+h.ObjectType+" "+h.ObjectRepr+" "+h.Channel+" "+h.Actor)
			if h.ObjectType == "Account" {
				if c, _ := h.Changes["password"].(map[string]any); c["secret"] != true || strings.Contains(strings.Join(got, ""), "secret-hash") {
					t.Errorf("password recorded as %v", h.Changes["password"])
				}
			}
		}
		want := []string{
			"create Account ivy cli ops", "create Contact one cli ops", "create Contact two cli ops", "create Contact three cli ops",
			"update Contact one cli ops", "update Contact two cli ops", "update Contact three cli ops",
			"delete Contact two cli ops",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// A write outside a transaction could commit without its history entry, so
// the store refuses it.
func TestWriteOutsideTransactionRefused(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	err := st.Account.Create().SetUsername("jon").SetFullName("Jon").SetEmail("jon@example.com").Exec(ctx)
	if err == nil || !strings.Contains(err.Error(), "outside a transaction") {
		t.Fatalf("err = %v", err)
	}
	if n := st.Account.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d accounts written", n)
	}
}

// A failed change leaves no history behind (same transaction).
func TestRolledBackChangeLeavesNoHistory(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		if err := tx.Account.Create().SetUsername("kim").SetFullName("Kim").SetEmail("kim@example.com").Exec(ctx); err != nil {
			return err
		}
		return tx.Account.Create().SetUsername("kim").SetFullName("Kim").SetEmail("kim@example.com").Exec(ctx)
	})
	if err == nil {
		t.Fatal("duplicate username accepted")
	}
	if n := st.History.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d history entries survive a rolled back transaction", n)
	}
}

// A bulk update larger than the databases' limit on bound parameters in one
// statement still records one entry per object.
func TestLargeBulkUpdateHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		const n = 8000
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			for i := 0; i < n; i += 1000 {
				rows := make([]*ent.AccountCreate, 1000)
				for j := range rows {
					name := fmt.Sprintf("u%05d", i+j)
					rows[j] = tx.Account.Create().SetUsername(name).SetFullName(name).SetEmail(name + "@example.com").SetPassword("!")
				}
				if err := tx.Account.CreateBulk(rows...).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Account.Update().SetFullName("renamed").Exec(ctx)
		})
		if err != nil {
			t.Fatalf("bulk update of %d accounts: %v", n, err)
		}
		if got := st.History.Query().Where(history.Action("update")).CountX(ctx); got != n {
			t.Errorf("%d update entries, want %d", got, n)
		}
	})
}

// A value secret by what it holds (a secret setting) is recorded as changed,
// never as itself, when its write says so; the schema's secret fields are
// never recorded on any path.
func TestHistoryHoldsNoSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		err := st.Tx(audit.WithSecrets(ctx, "value"), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Setting.Create().SetName("MAIL_SMTP_PASSWORD").SetValue([]byte(`"smtp-secret"`)).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = st.Tx(audit.WithSecrets(ctx, "value"), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Setting.Update().Where(setting.Name("MAIL_SMTP_PASSWORD")).SetValue([]byte(`"smtp-secret-2"`)).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			a, err := tx.Account.Create().SetUsername("sam").SetFullName("Sam").SetEmail("sam@example.com").
				SetPassword("hash-1").Save(ctx)
			if err != nil {
				return err
			}
			if err := tx.Account.UpdateOne(a).SetPassword("hash-2").Exec(ctx); err != nil {
				return err
			}
			return tx.Account.Update().SetPassword("hash-3").Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		all := st.History.Query().Order(history.ByID()).AllX(ctx)
		if len(all) != 5 {
			t.Fatalf("%d history entries, want 5", len(all))
		}
		for _, h := range all {
			b, _ := json.Marshal(h.Changes)
			field := map[string]string{"Setting": "value", "Account": "password"}[h.ObjectType]
			if c, _ := h.Changes[field].(map[string]any); c["secret"] != true || strings.Contains(string(b), "secret-") ||
				strings.Contains(string(b), "hash-") {
				t.Errorf("%s %s recorded as %s", h.Action, h.ObjectType, b)
			}
		}
	})
}

// A batch's records are the records the writes would have had one by one,
// written when it is flushed, and none is kept when the transaction rolls
// back.
func TestBatchRecordsAtFlush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		create := func(tx *ent.Tx, prefix string, n int) []*ent.AccountCreate {
			rows := make([]*ent.AccountCreate, n)
			for i := range rows {
				name := fmt.Sprintf("%s%04d", prefix, i)
				rows[i] = tx.Account.Create().SetUsername(name).SetFullName(name).SetEmail(name + "@example.com").SetPassword("!")
			}
			return rows
		}
		const n = 1500 // past one bulk INSERT of records
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			tx.Account.CreateBulk(create(tx, "one", 3)...).ExecX(ctx)
			bctx, flush := audit.Batch(ctx, tx)
			tx.Account.CreateBulk(create(tx, "bat", n)...).ExecX(bctx)
			if got := tx.History.Query().CountX(ctx); got != 3 {
				t.Errorf("%d records before the flush, want the 3 written one by one", got)
			}
			return flush()
		})
		if err != nil {
			t.Fatal(err)
		}
		hs := st.History.Query().Where(history.Action("create")).Order(ent.Asc(history.FieldID)).AllX(ctx)
		if len(hs) != 3+n {
			t.Fatalf("%d create records, want %d", len(hs), 3+n)
		}
		byRepr := map[string]*ent.History{}
		for _, h := range hs {
			byRepr[h.ObjectRepr] = h
		}
		for _, name := range []string{"one0000", "one0002", "bat0000", fmt.Sprintf("bat%04d", n-1)} {
			if byRepr[name] == nil {
				t.Errorf("no record of %s", name)
			}
		}
		one, bat := byRepr["one0000"], byRepr["bat0000"]
		if one == nil || bat == nil {
			t.FailNow()
		}
		if bat.Channel != one.Channel || bat.ObjectType != "Account" || bat.AccountID == nil || *bat.AccountID != bat.ObjectID ||
			fmt.Sprint(bat.Changes["username"]) != fmt.Sprint(map[string]any{"new": "bat0000"}) {
			t.Errorf("a batched record differs from one written alone: %+v, %+v", bat, one)
		}
		rolledBack := fmt.Errorf("rolled back")
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			bctx, flush := audit.Batch(ctx, tx)
			tx.Account.CreateBulk(create(tx, "gone", 5)...).ExecX(bctx)
			if err := flush(); err != nil {
				return err
			}
			return rolledBack
		})
		if err != rolledBack {
			t.Fatal(err)
		}
		if got := st.History.Query().CountX(ctx); got != 3+n {
			t.Errorf("%d records after a rolled back batch, want %d", got, 3+n)
		}
		// a batch never flushed: the commit is refused, the change with it
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			bctx, _ := audit.Batch(ctx, tx)
			tx.Account.CreateBulk(create(tx, "lost", 2)...).ExecX(bctx)
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "not flushed") {
			t.Errorf("a commit with unflushed records: %v", err)
		}
		if n := st.Account.Query().Where(account.UsernameHasPrefix("lost")).CountX(ctx); n != 0 {
			t.Errorf("%d accounts committed without their records", n)
		}
	})
}
