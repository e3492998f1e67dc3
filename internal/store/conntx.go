package store

import (
	"context"
	"database/sql"
	"errors"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// connDriver begins each transaction on a connection of its own, so that
// code given the transaction can reach the driver's connection under it
// (Raw): the job queue inserts its jobs through pgx in the same transaction.
type connDriver struct{ *entsql.Driver }

func (d connDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

func (d connDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	conn, err := d.DB().Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := d.Conn // keeps the driver's dialect
	c.ExecQuerier = tx
	return &entsql.Tx{Conn: c, Tx: &connTx{Tx: tx, conn: conn}}, nil
}

// connTx is a transaction and the connection it holds until it ends.
type connTx struct {
	*sql.Tx
	conn *sql.Conn
}

func (t *connTx) Commit() error {
	defer t.conn.Close()
	return t.Tx.Commit()
}

func (t *connTx) Rollback() error {
	defer t.conn.Close()
	return t.Tx.Rollback()
}

// SQLTx is the database/sql transaction (ent.Tx.SQLTx).
func (t *connTx) SQLTx() *sql.Tx { return t.Tx }

// Raw runs fn with the database driver's connection under tx (on
// PostgreSQL a *stdlib.Conn of pgx), which is inside the transaction: what
// fn runs on it commits or rolls back with tx. fn must not keep it.
func Raw(tx *ent.Tx, fn func(driverConn any) error) error {
	t, ok := tx.DriverTx().(*connTx)
	if !ok {
		return errors.New("store: the transaction has no connection of its own")
	}
	return t.conn.Raw(fn)
}
