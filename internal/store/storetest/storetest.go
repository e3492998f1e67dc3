// Package storetest runs tests against every store: embedded SQLite always,
// and PostgreSQL when ORCHESTRA_TEST_POSTGRES_URL names a database (the
// README's test command sets it). Each test gets a fresh, migrated store.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/store"
)

// Runner is *testing.T or *testing.B.
type Runner[T any] interface {
	testing.TB
	Run(name string, f func(T)) bool
}

// Each runs fn once per available store, as subtests (or sub-benchmarks)
// named after the engine.
func Each[T Runner[T]](t T, fn func(t T, st *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t T) {
		st := Postgres(t)
		if st == nil {
			t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
		}
		fn(t, st)
	})
}

// SQLite returns a migrated store in a temporary file.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return open(t, "sqlite:"+filepath.Join(t.TempDir(), "orchestra.db"))
}

// Postgres returns a migrated store in a fresh schema of the test database,
// dropped at the end of the test; nil when no test database is configured.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	base := os.Getenv("ORCHESTRA_TEST_POSTGRES_URL")
	if base == "" {
		return nil
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return open(t, u.String())
}

// testKey gives the test process a secret key (internal/sealed), as the
// panel loads its key file at start: one random key for the process's
// stores, unless the test loaded its own.
var testKey sync.Once

func open(t testing.TB, dsn string) *store.Store {
	testKey.Do(func() {
		if sealed.Loaded() {
			return
		}
		raw := make([]byte, sealed.KeySize)
		rand.Read(raw)
		k, err := sealed.NewKey(raw)
		if err != nil {
			panic(err)
		}
		sealed.Use(k)
	})
	st, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}
