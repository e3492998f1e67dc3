package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// followers say whether something follows a model's writes (the change
// stream): InsertRows refuses those models.
var followers []func(model string) bool

// RegisterFollower adds f, which reports whether writes of a model are
// followed row by row.
func RegisterFollower(f func(model string) bool) {
	regMu.Lock()
	defer regMu.Unlock()
	followers = append(followers, f)
}

// hooked are the models with hooks of their own (RegisterHook).
var hooked = map[string]bool{}

// InsertRows writes rows (values in the order of cols) into model's table
// in bulk, outside ent's mutations, and returns their new ids in order:
// COPY on PostgreSQL, multi-row INSERTs on SQLite. It is for the many rows
// a run makes of a model nothing else watches, where a mutation's own cost
// per row is most of the write (a billing run's lines). It refuses a model
// whose writes are recorded in the history, checked by hooks of its own or
// followed by the change stream, as those need their mutations. The caller
// has authorized the write; the database's constraints still hold.
func InsertRows(ctx context.Context, tx *ent.Tx, model string, cols []string, rows [][]any) ([]int, error) {
	meta, ok := ent.Meta[model]
	if !ok {
		return nil, fmt.Errorf("store: no model %s", model)
	}
	regMu.Lock()
	refused := meta.Audit || hooked[model]
	for _, f := range followers {
		refused = refused || f(model)
	}
	regMu.Unlock()
	if refused {
		return nil, fmt.Errorf("store: %s is watched row by row and cannot be written in bulk", model)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids, err := newIDs(ctx, tx, meta.Table, len(rows))
	if err != nil {
		return nil, err
	}
	cols = append([]string{"id"}, cols...)
	full := make([][]any, len(rows))
	for i, r := range rows {
		if len(r) != len(cols)-1 {
			return nil, fmt.Errorf("store: a row of %d values for %d columns", len(r), len(cols)-1)
		}
		full[i] = append([]any{ids[i]}, r...)
	}
	if tx.Dialect() == "postgres" {
		for _, r := range full {
			for i, v := range r {
				if d, ok := v.(decimal.Decimal); ok { // as numeric, not through its text
					r[i] = pgtype.Numeric{Int: d.Coefficient(), Exp: d.Exponent(), Valid: true}
				}
			}
		}
		err = Raw(tx, func(dc any) error {
			_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{meta.Table}, cols, pgx.CopyFromRows(full))
			return err
		})
		return ids, err
	}
	// SQLite binds at most 32,766 values a statement
	per := 32766 / len(cols)
	head := fmt.Sprintf(`INSERT INTO "%s" ("%s") VALUES `, meta.Table, strings.Join(cols, `", "`))
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	for start := 0; start < len(full); start += per {
		part := full[start:min(start+per, len(full))]
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, len(part)*len(cols))
		for i, r := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// newIDs takes n ids of table's sequence: from the identity column's
// sequence on PostgreSQL, after the highest ever given on SQLite (whose
// writers are serialized, so none is taken meanwhile).
func newIDs(ctx context.Context, tx *ent.Tx, table string, n int) ([]int, error) {
	ids := make([]int, 0, n)
	if tx.Dialect() == "postgres" {
		rows, err := tx.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, table, n)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}
	var last sql.NullInt64
	row, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT max(m) FROM (SELECT max(id) AS m FROM "%s" UNION ALL SELECT seq FROM sqlite_sequence WHERE name = ?)`, table), table)
	if err != nil {
		return nil, err
	}
	defer row.Close()
	if row.Next() {
		if err := row.Scan(&last); err != nil {
			return nil, err
		}
	}
	if err := row.Err(); err != nil {
		return nil, err
	}
	for i := range n {
		ids = append(ids, int(last.Int64)+1+i)
	}
	return ids, nil
}
