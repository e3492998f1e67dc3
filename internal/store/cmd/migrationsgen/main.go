// Command migrationsgen writes a goose migration per engine for whatever the
// ent schema has that the existing migrations do not. It diffs against a
// scratch database: in-memory SQLite, and a throwaway PostgreSQL database in
// the server at ORCHESTRA_DEV_POSTGRES_URL (default: local trust auth).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"time"

	"ariga.io/atlas/sql/sqltool"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/orchestra-panel/orchestra/internal/store/ent/migrate"
)

func main() {
	name := flag.String("name", "schema", "name of the migration, if one is needed")
	flag.Parse()
	ctx := context.Background()

	if err := diff(ctx, "migrations/sqlite", dialect.SQLite, "sqlite", "file:dev?mode=memory&_pragma=foreign_keys(1)", *name); err != nil {
		log.Fatalf("sqlite: %v", err)
	}
	pgURL := os.Getenv("ORCHESTRA_DEV_POSTGRES_URL")
	if pgURL == "" {
		pgURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	scratch, drop, err := scratchPostgres(ctx, pgURL)
	if err != nil {
		log.Fatalf("postgres: %v (set ORCHESTRA_DEV_POSTGRES_URL to a server where a database can be created)", err)
	}
	defer drop()
	if err := diff(ctx, "migrations/postgres", dialect.Postgres, "pgx", scratch, *name); err != nil {
		drop()
		log.Fatalf("postgres: %v", err)
	}
}

func diff(ctx context.Context, path, dia, driver, dsn, name string) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection keeps the in-memory SQLite database alive
	dir, err := sqltool.NewGooseDir(path)
	if err != nil {
		return err
	}
	m, err := schema.NewMigrate(entsql.OpenDB(dia, db),
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dia),
		schema.WithFormatter(sqltool.GooseFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
	)
	if err != nil {
		return err
	}
	return m.NamedDiff(ctx, name, migrate.Tables...)
}

func scratchPostgres(ctx context.Context, admin string) (string, func(), error) {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	dbname := fmt.Sprintf("orchestra_migrationsgen_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+dbname); err != nil {
		db.Close()
		return "", nil, err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + dbname
	return u.String(), func() {
		db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+dbname+" WITH (FORCE)")
		db.Close()
	}, nil
}
