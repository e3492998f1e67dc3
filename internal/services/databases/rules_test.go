package databases_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/services/databases"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

var staff = viewer.System(context.Background(), viewer.ChannelCLI)

func customer(id int) context.Context {
	return viewer.With(context.Background(), viewer.Viewer{AccountID: id, Username: "x", Channel: viewer.ChannelAPI})
}

type bed struct {
	t  *testing.T
	st *store.Store
}

func (b bed) account(name string) int {
	b.t.Helper()
	var a *ent.Account
	err := b.st.Tx(staff, func(ctx context.Context, tx *ent.Tx) (err error) {
		a, err = tx.Account.Create().SetUsername(name).SetPassword("!").SetFullName(name).SetEmail(name + "@example.com").Save(ctx)
		return err
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return a.ID
}

// user creates a database user with the hash of a good password; acc 0
// leaves the account to the viewer.
func (b bed) user(ctx context.Context, typ, name string, acc int) (*ent.DatabaseUser, error) {
	var u *ent.DatabaseUser
	err := b.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		hash, err := databases.Password(ctx, typ, name, "Str0ng-pass-phrase")
		if err != nil {
			return err
		}
		c := tx.DatabaseUser.Create().SetUsername(name).SetType(typ).SetPassword(hash)
		if acc != 0 {
			c.SetAccountID(acc)
		}
		u, err = c.Save(ctx)
		return err
	})
	return u, err
}

func (b bed) mustUser(ctx context.Context, typ, name string, acc int) *ent.DatabaseUser {
	b.t.Helper()
	u, err := b.user(ctx, typ, name, acc)
	if err != nil {
		b.t.Fatalf("user %s %s: %v", typ, name, err)
	}
	return u
}

func (b bed) database(ctx context.Context, typ, name string, acc int, users ...int) (*ent.Database, error) {
	var d *ent.Database
	err := b.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
		c := tx.Database.Create().SetName(name).SetType(typ).AddUserIDs(users...)
		if acc != 0 {
			c.SetAccountID(acc)
		}
		d, err = c.Save(ctx)
		return err
	})
	return d, err
}

// field returns the field the error names: a validation error's first
// field, a conflict's field prefixed with "conflict:".
func field(err error) string {
	var verrs validate.Errors
	var c *validate.Conflict
	switch {
	case err == nil:
		return ""
	case errors.As(err, &c):
		return "conflict:" + c.Field
	case errors.As(err, &verrs):
		return verrs[0].Field
	}
	return "other: " + err.Error()
}

func TestNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := bed{t, st}
		acc := b.account("alice")
		ctx := customer(acc)
		hostile := []string{"", "Shop", "1shop", "_shop", "shop-db", "shop db", "shop.db", "sh\u00f6p", "shop;", "x`; DROP DATABASE mysql; --",
			`x"; DROP ROLE postgres; --`, "x'||'", "$(id)", "x\ny", "nul\x00", "bad\xff", "x\\_y", "%", "shop%"}
		for _, typ := range databases.Engines {
			for _, name := range append(hostile, "root", "postgres", "mysql", "mariadb", "public", "orchestra", databases.RegistryName) {
				if _, err := b.user(ctx, typ, name, 0); field(err) != "username" {
					t.Errorf("%s user %q: %v, want a username error", typ, name, err)
				}
			}
			for _, name := range append(hostile, "mysql", "information_schema", "performance_schema", "sys", "postgres",
				"template0", "template1", "orchestra", databases.RegistryName) {
				if _, err := b.database(ctx, typ, name, 0); field(err) != "name" {
					t.Errorf("%s database %q: %v, want a name error", typ, name, err)
				}
			}
		}
		if _, err := b.user(ctx, databases.PostgreSQL, "pg_monitor2", 0); field(err) != "username" {
			t.Errorf("pg_ role: %v", err)
		}
		// lengths per engine
		for _, c := range []struct {
			typ, kind string
			n         int
			ok        bool
		}{
			{"mysql", "user", 32, true}, {"mysql", "user", 33, false},
			{"postgresql", "user", 63, true}, {"postgresql", "user", 64, false},
			{"mysql", "database", 64, true}, {"mysql", "database", 65, false},
			{"postgresql", "database", 63, true}, {"postgresql", "database", 64, false},
		} {
			name := "n" + strings.Repeat("x", c.n-1)
			var err error
			if c.kind == "user" {
				_, err = b.user(ctx, c.typ, name, 0)
			} else {
				_, err = b.database(ctx, c.typ, name, 0)
			}
			if (err == nil) != c.ok {
				t.Errorf("%s %s of %d characters: %v", c.typ, c.kind, c.n, err)
			}
		}
		// a MariaDB grant names the database with each _ escaped, within its 64
		for _, c := range []struct {
			name string
			ok   bool
		}{{"s" + strings.Repeat("_x", 16) + strings.Repeat("x", 15), true}, {"s" + strings.Repeat("_x", 16) + strings.Repeat("x", 16), false}, {"s" + strings.Repeat("_", 32), false}} {
			if _, err := b.database(ctx, "mysql", c.name, 0); (err == nil) != c.ok || err != nil && field(err) != "name" {
				t.Errorf("mysql database %q (%d characters, %d _): %v", c.name, len(c.name), strings.Count(c.name, "_"), err)
			}
		}
		if _, err := b.database(ctx, "oracle", "shop", 0); field(err) != "type" {
			t.Errorf("type oracle: %v", err)
		}
		if _, err := databases.Password(ctx, "oracle", "x", "Str0ng-pass-phrase"); field(err) != "type" {
			t.Errorf("password of type oracle: %v", err)
		}
	})
}

func TestUniquePerEngine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := bed{t, st}
		alice, bob := b.account("alice"), b.account("bob")
		b.mustUser(customer(alice), "mysql", "shop", 0)
		b.mustUser(customer(alice), "postgresql", "shop", 0) // another engine
		// another account's name, which alice cannot see, is taken all the same
		if _, err := b.user(customer(bob), "mysql", "shop", 0); field(err) != "conflict:username" {
			t.Errorf("duplicate user: %v", err)
		}
		if _, err := b.database(customer(alice), "mysql", "shop", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := b.database(customer(alice), "postgresql", "shop", 0); err != nil {
			t.Errorf("same name on PostgreSQL: %v", err)
		}
		if _, err := b.database(customer(bob), "mysql", "shop", 0); field(err) != "conflict:name" {
			t.Errorf("duplicate database: %v", err)
		}
		// the default engine
		d, err := b.database(customer(bob), "", "bobs", 0)
		if err != nil || d.Type != databases.DefaultType.Get() || d.AccountID != bob {
			t.Errorf("default type: %v %v", d, err)
		}
	})
}

func TestGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := bed{t, st}
		alice, bob := b.account("alice"), b.account("bob")
		my := b.mustUser(customer(alice), "mysql", "alice_my", 0)
		pg := b.mustUser(customer(alice), "postgresql", "alice_pg", 0)
		bobs := b.mustUser(customer(bob), "mysql", "bob_my", 0)
		if _, err := b.database(customer(alice), "mysql", "shop", 0, pg.ID); field(err) != "users" {
			t.Errorf("a postgresql user on a mysql database: %v", err)
		}
		if _, err := b.database(customer(alice), "mysql", "shop", 0, bobs.ID); field(err) != "users" {
			t.Errorf("another account's user, as alice: %v", err)
		}
		if _, err := b.database(staff, "mysql", "shop", alice, bobs.ID); field(err) != "users" {
			t.Errorf("another account's user, as staff: %v", err)
		}
		if _, err := b.database(customer(alice), "mysql", "shop", 0, 999999); field(err) != "users" {
			t.Errorf("no such user: %v", err)
		}
		// staff naming no account: the users'
		d, err := b.database(staff, "mysql", "shop", 0, my.ID)
		if err != nil || d.AccountID != alice {
			t.Fatalf("staff database: %v %v", d, err)
		}
		// nothing changes afterwards but the users
		err = st.Tx(customer(alice), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Database.UpdateOneID(d.ID).SetName("other").Exec(ctx)
		})
		if field(err) != "name" {
			t.Errorf("rename: %v", err)
		}
		err = st.Tx(staff, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Database.UpdateOneID(d.ID).SetType("postgresql").Exec(ctx)
		})
		if field(err) != "type" {
			t.Errorf("type change: %v", err)
		}
		err = st.Tx(customer(alice), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Database.UpdateOneID(d.ID).AddUserIDs(pg.ID).Exec(ctx)
		})
		if field(err) != "users" {
			t.Errorf("adding a user of another engine: %v", err)
		}
		// users are granted through databases only
		err = st.Tx(customer(alice), func(ctx context.Context, tx *ent.Tx) error {
			return tx.DatabaseUser.UpdateOneID(my.ID).AddDatabaseIDs(d.ID).Exec(ctx)
		})
		if field(err) != "databases" {
			t.Errorf("granting through the user: %v", err)
		}
		err = st.Tx(customer(alice), func(ctx context.Context, tx *ent.Tx) error {
			return tx.DatabaseUser.UpdateOneID(my.ID).SetUsername("renamed").Exec(ctx)
		})
		if field(err) != "username" {
			t.Errorf("renaming a user: %v", err)
		}
	})
}

func TestPasswords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := bed{t, st}
		ctx := customer(b.account("alice"))
		for _, c := range []struct {
			typ, pw string
			ok      bool
		}{
			{"mysql", "Str0ng-pass-phrase", true},
			{"mysql", "Núria-Pérez-2024", true},
			{"postgresql", "Núria-Pérez-2024", false}, // SASLprep: printable ASCII only
			{"postgresql", `it's "quoted" $1 \ ok`, true},
			{"mysql", "", false}, {"mysql", "short1!", false}, {"mysql", "password123", false},
			{"mysql", "alice_db_x", false}, {"mysql", "aaaaaaaaaaaaaaaaaaaaaa", false},
			{"mysql", "nul\x00Str0ng-pass", false}, {"mysql", "bad\xffStr0ng-pass", false},
			{"mysql", "tab\tStr0ng-pass", false}, {"mysql", "new\nStr0ng-pass", false},
		} {
			hash, err := databases.Password(ctx, c.typ, "alice_db", c.pw)
			if (err == nil) != c.ok || (err != nil && field(err) != "password") {
				t.Errorf("%s password %q: %v", c.typ, c.pw, err)
				continue
			}
			if err == nil && (!databases.ValidHash(c.typ, hash) || strings.Contains(hash, c.pw)) {
				t.Errorf("%s password %q: hash %q", c.typ, c.pw, hash)
			}
		}
		// the model takes nothing but a hash of its engine
		for _, pw := range []string{"Str0ng-pass-phrase", databases.MySQLNativeHash("x") + "'; DROP USER root; --", ""} {
			err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return tx.DatabaseUser.Create().SetUsername("clear").SetType("mysql").SetPassword(pw).Exec(ctx)
			})
			if field(err) != "password" {
				t.Errorf("stored password %q: %v", pw, err)
			}
		}
		pgHash, _ := databases.SCRAMVerifier("Str0ng-pass-phrase")
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.DatabaseUser.Create().SetUsername("wrong").SetType("mysql").SetPassword(pgHash).Exec(ctx)
		})
		if field(err) != "password" {
			t.Errorf("a SCRAM verifier for a mysql user: %v", err)
		}
	})
}

// TestGrantChanges: changing only the users of a database is a change the
// backends apply, and deleting a user takes it off its databases first.
func TestGrantChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := bed{t, st}
		ctx := customer(b.account("alice"))
		u1 := b.mustUser(ctx, "mysql", "one", 0)
		u2 := b.mustUser(ctx, "mysql", "two", 0)
		d, err := b.database(ctx, "mysql", "shop", 0, u1.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := func() *ent.Change {
			c, err := st.Change.Query().Order(ent.Desc(change.FieldID)).First(staff)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Database.UpdateOneID(d.ID).AddUserIDs(u2.ID).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		if c := last(); c.Model != "Database" || c.ObjectID != d.ID || !slices.Contains(c.Fields, "users") {
			t.Errorf("adding a user: change %+v", c)
		}
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.DatabaseUser.DeleteOneID(u1.ID).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := st.Change.Query().Order(ent.Desc(change.FieldID)).Limit(2).All(staff)
		if err != nil {
			t.Fatal(err)
		}
		if cs[0].Model != "DatabaseUser" || cs[0].Action != "delete" || cs[1].Model != "Database" || cs[1].ObjectID != d.ID {
			t.Errorf("deleting the owner: changes %+v, %+v", cs[0], cs[1])
		}
		got, err := st.Database.Query().WithUsers().Only(staff)
		if err != nil || len(got.Edges.Users) != 1 || got.Edges.Users[0].ID != u2.ID {
			t.Errorf("after the owner's delete: %v %v", got, err)
		}
	})
}
