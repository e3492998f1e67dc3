package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"

	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// database is a fresh benchmark database and how to get rid of it.
type database struct {
	URL  string // ORCHESTRA_DATABASE_URL of the server
	Desc string // where it is, for -keep
	drop func() error
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newDatabase creates an empty database of kind "sqlite" (a file in tmp) or
// "postgres" (CREATE DATABASE through the admin URL).
func newDatabase(ctx context.Context, kind, tmp, pgAdmin string) (*database, error) {
	switch kind {
	case "sqlite":
		dir, err := os.MkdirTemp(tmp, "sqlite-")
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "orchestra.db")
		return &database{URL: "sqlite:" + path, Desc: path, drop: func() error { return os.RemoveAll(dir) }}, nil
	case "postgres":
		admin, err := sql.Open("pgx", pgAdmin)
		if err != nil {
			return nil, err
		}
		if err := admin.PingContext(ctx); err != nil {
			admin.Close()
			return nil, fmt.Errorf("postgres admin %s: %w", maskURL(pgAdmin), err)
		}
		name := "orchestra_bench_" + randomHex(6)
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			admin.Close()
			return nil, fmt.Errorf("create database: %w", err)
		}
		u, err := url.Parse(pgAdmin)
		if err != nil {
			admin.Close()
			return nil, err
		}
		u.Path = "/" + name
		return &database{URL: u.String(), Desc: maskURL(u.String()), drop: func() error {
			defer admin.Close()
			_, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			return err
		}}, nil
	}
	return nil, fmt.Errorf("unknown store %q (want sqlite or postgres)", kind)
}

// seedResult is what the load needs to know about the seeded data.
type seedResult struct {
	Token     string // bearer token of the superuser
	MiddleID  int    // an account id in the middle of the table
	Total     int    // accounts in the table, superuser included
	Took      time.Duration
	Superuser int
}

const (
	seedBatch    = 1000
	batchesPerTx = 10
)

// seed migrates the database and fills it with one superuser (with an API
// token) and n ordinary accounts. Writes bypass the account validation hook
// (package accounts is not linked in) and the history (audit.Without): the
// rows are valid by construction and history for them is no one's change.
func seed(ctx context.Context, dsn string, n int, logf func(string, ...any)) (*seedResult, error) {
	start := time.Now()
	st, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	ctx = audit.Without(viewer.System(ctx, viewer.ChannelCLI))

	// One argon2id hash for every row: hashing 100,000 passwords would take
	// minutes, and the benchmark never logs in with them.
	hash, err := auth.HashPassword("bench-" + randomHex(8))
	if err != nil {
		return nil, err
	}
	res := &seedResult{}
	secret, prefix, tokHash, err := auth.NewToken()
	if err != nil {
		return nil, err
	}
	err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		su, err := tx.Account.Create().SetUsername("benchadmin").SetEmail("benchadmin@example.com").
			SetFullName("Bench Administrator").SetPassword(hash).SetIsSuperuser(true).
			SetType("STAFF").SetLanguage("EN").Save(ctx)
		if err != nil {
			return fmt.Errorf("superuser: %w", err)
		}
		res.Superuser = su.ID
		return tx.Token.Create().SetName("bench").SetPrefix(prefix).SetHash(tokHash).
			SetCreatedAt(time.Now()).SetAccountID(su.ID).Exec(ctx)
	})
	if err != nil {
		return nil, err
	}
	res.Token = secret

	joined := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	types := []string{"INDIVIDUAL", "ASSOCIATION", "CUSTOMER", "COMPANY"}
	lastLog := time.Now()
	for done := 0; done < n; {
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			for b := 0; b < batchesPerTx && done < n; b++ {
				size := min(seedBatch, n-done)
				builders := make([]*ent.AccountCreate, size)
				for i := range builders {
					k := done + i + 1
					builders[i] = tx.Account.Create().
						SetUsername(fmt.Sprintf("user%07d", k)).
						SetPassword(hash).
						SetFullName(fmt.Sprintf("Bench User %d", k)).
						SetShortName(fmt.Sprintf("U%d", k)).
						SetEmail(fmt.Sprintf("user%07d@example.com", k)).
						SetType(types[k%len(types)]).
						SetLanguage("EN").
						SetDateJoined(joined.Add(time.Duration(k) * time.Minute))
				}
				if err := tx.Account.CreateBulk(builders...).Exec(ctx); err != nil {
					return err
				}
				done += size
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("seed accounts: %w", err)
		}
		if time.Since(lastLog) > 5*time.Second {
			logf("  seeded %d/%d accounts", done, n)
			lastLog = time.Now()
		}
	}

	// A production table of this size has been vacuumed and analyzed by
	// autovacuum; do it now so it does not kick in during the measurement
	// (and plans use real statistics). SQLite has no autovacuum/ANALYZE
	// equivalent that the panel runs, so it is left as inserted.
	if st.Dialect == "postgres" {
		if _, err := st.DB.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			return nil, fmt.Errorf("vacuum analyze: %w", err)
		}
	} else {
		// Fold the WAL into the database file so the server starts clean.
		if _, err := st.DB.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
	}
	total, err := st.Account.Query().Count(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := st.Account.Query().Order(ent.Asc("id")).Offset(total / 2).Limit(1).IDs(ctx)
	if err != nil || len(ids) == 0 {
		return nil, fmt.Errorf("middle account: %v", err)
	}
	res.Total, res.MiddleID, res.Took = total, ids[0], time.Since(start)
	return res, nil
}

// maskURL hides the password of a database URL.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
