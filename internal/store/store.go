// Package store opens the database (embedded SQLite or PostgreSQL), applies
// the embedded migrations and returns the ent client with authorization,
// auditing and versioning installed, so no caller can write around them.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // SQLite driver "sqlite"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Store is an open database.
type Store struct {
	*ent.Client
	DB      *sql.DB
	Dialect string
	URL     string // as given to Open
	// writer is SQLite's one write transaction at a time in this process:
	// writers queue here and start the moment it ends, where waiting on
	// the database's lock would poll with sleeps of up to 100 ms.
	writer chan struct{}
}

// Open connects to url: "postgres://…" (or "postgresql://…") selects
// PostgreSQL; "sqlite:<path>" or a bare path selects embedded SQLite, whose
// directory is created if missing.
func Open(url string) (*Store, error) {
	var (
		db  *sql.DB
		dia string
		err error
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		dia = dialect.Postgres
		db, err = sql.Open("pgx", url)
		if err == nil {
			db.SetMaxOpenConns(20)
			db.SetMaxIdleConns(10)
		}
	default:
		dia = dialect.SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
		if path == "" {
			return nil, errors.New("database url: empty SQLite path")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("database directory: %w", err)
			}
		}
		// WAL lets readers run beside the writer; immediate transactions take the
		// write lock up front so concurrent writers wait (busy_timeout) instead
		// of failing with SQLITE_BUSY half-way through. Times are written in UTC
		// in SQLite's own format, so they read back whatever their zone and
		// compare correctly as text.
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)"+
			"&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"+
			"&_time_format=sqlite&_timezone=UTC")
	}
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	// Each idle SQLite connection keeps its page cache and each PostgreSQL
	// one a backend process: they close after a while idle. Under load
	// enough stay open for every concurrent request, planner and lane: a
	// PostgreSQL connection opened anew costs a process and an
	// authentication, several milliseconds per write when they churn.
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(15 * time.Second)
	var drv dialect.Driver = entsql.OpenDB(dia, db)
	if dia == dialect.Postgres {
		drv = connDriver{entsql.OpenDB(dia, db)}
	}
	client := ent.NewClient(ent.Driver(drv))
	install(client, dia)
	st := &Store{Client: client, DB: db, Dialect: dia, URL: url}
	if dia == dialect.SQLite {
		st.writer = make(chan struct{}, 1)
	}
	return st, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.Client.Close() }

// Migrate applies every pending migration and returns how many ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	p, err := s.migrator()
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	return len(res), err
}

// Pending returns the number of migrations not yet applied.
func (s *Store) Pending(ctx context.Context) (int, error) {
	p, err := s.migrator()
	if err != nil {
		return 0, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range st {
		if m.State == goose.StatePending {
			n++
		}
	}
	return n, nil
}

func (s *Store) migrator() (*goose.Provider, error) {
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if s.Dialect == dialect.Postgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(gd, s.DB, sub)
}

// Tx runs fn in a transaction; the audit history and every hook run on the
// same transaction, so a change and its record commit or vanish together.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context, tx *ent.Tx) error) error {
	if tx := ent.TxFromContext(ctx); tx != nil {
		return fn(ctx, tx) // already inside one: join it
	}
	if s.writer != nil {
		// as long as SQLite's busy timeout, then the database's own wait
		t := time.NewTimer(writerWait)
		select {
		case s.writer <- struct{}{}:
			defer func() { <-s.writer }()
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
	tx, err := s.Client.Tx(ctx)
	if err != nil {
		return err
	}
	ctx = context.WithValue(ent.NewTxContext(ctx, tx), dialectKey{}, s.Dialect)
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback() // a commit hook refused: nothing was committed
		return err
	}
	return nil
}

type dialectKey struct{}

// Serialize makes the write transactions of ctx (within Tx) that name the
// same key (a name and an id) go one after the other from here until they
// end, so that two writes which would each make what only one may (a
// domain's first DKIM key) see each other's: on PostgreSQL a lock for the
// rest of the transaction; SQLite's write transactions are serial anyway.
func Serialize(ctx context.Context, client *ent.Client, name string, id int) error {
	if ctx.Value(dialectKey{}) != dialect.Postgres {
		return nil
	}
	_, err := client.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1), $2)", name, id)
	return err
}

// writerWait is how long a write transaction on SQLite waits for this
// process's other one before it waits on the database's lock instead.
const writerWait = 10 * time.Second

// ReadTx runs fn in a read-only transaction: one consistent snapshot of
// the database that takes no write lock (SQLite: a deferred transaction
// under WAL, whereas Tx's are immediate; PostgreSQL: READ ONLY,
// REPEATABLE READ), so long reads do not hold writers up. fn must not
// write; the transaction is rolled back.
func (s *Store) ReadTx(ctx context.Context, fn func(ctx context.Context, tx *ent.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.Dialect == dialect.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.Client.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(ent.NewTxContext(ctx, tx), tx)
}
