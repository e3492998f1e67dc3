package jobs

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// txConn is the pgx connection of a transaction the store began through
// database/sql, as the pgx.Tx River inserts jobs with: its statements run in
// that transaction, which the store alone commits or rolls back.
type txConn struct{ c *pgx.Conn }

var errStoreTx = errors.New("job queue: the store's transaction is not River's to end or nest")

func (t txConn) Begin(context.Context) (pgx.Tx, error) { return nil, errStoreTx }
func (t txConn) Commit(context.Context) error          { return errStoreTx }
func (t txConn) Rollback(context.Context) error        { return errStoreTx }
func (t txConn) LargeObjects() pgx.LargeObjects        { return pgx.LargeObjects{} }
func (t txConn) Conn() *pgx.Conn                       { return t.c }

func (t txConn) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return t.c.CopyFrom(ctx, table, columns, src)
}

func (t txConn) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.c.SendBatch(ctx, b)
}

func (t txConn) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.c.Prepare(ctx, name, sql)
}

func (t txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.c.Exec(ctx, sql, args...)
}

func (t txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.c.Query(ctx, sql, args...)
}

func (t txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.c.QueryRow(ctx, sql, args...)
}
