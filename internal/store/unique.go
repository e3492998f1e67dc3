package store

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// uniqueFree refuses a create or change of an audited model that would
// repeat another row's unique columns with a conflict naming the index's
// last column (a reference without its _id): the index would refuse it too,
// but naming no field. Rules that say more run before it.
func uniqueFree(dialect string) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			meta := ent.Meta[m.Type()]
			if !meta.Audit || len(meta.Unique) == 0 || !m.Op().Is(ent.OpCreate|ent.OpUpdateOne) || m.Op().Is(ent.OpCreate) && checked(ctx) {
				return next.Mutate(ctx, m)
			}
			for _, cols := range meta.Unique {
				if taken, err := repeats(ctx, dialect, m, meta.Table, cols); err != nil || taken {
					return nil, cmp.Or(err, error(&validate.Conflict{Field: strings.TrimSuffix(cols[len(cols)-1], "_id"),
						Message: i18n.T(ctx, "This value is taken already.")}))
				}
			}
			return next.Mutate(ctx, m)
		})
	}
}

// repeats reports whether another row of table has m's values in cols;
// not when m sets none of them, nor when one is unknown or null.
func repeats(ctx context.Context, dialect string, m ent.Mutation, table string, cols []string) (bool, error) {
	where, args, changed := make([]string, 0, len(cols)+1), make([]any, 0, len(cols)+1), false
	for _, col := range cols {
		v, set := m.Field(col)
		if !set && m.Op().Is(ent.OpUpdateOne) {
			old, err := m.OldField(ctx, col)
			if err != nil {
				return false, err
			}
			v, set = old, true
		} else if set {
			changed = true
		}
		if !set || v == nil {
			return false, nil
		}
		args = append(args, v)
		where = append(where, fmt.Sprintf(`"%s" = %s`, col, placeholder(dialect, len(args))))
	}
	if id, ok := m.(interface{ ID() (int, bool) }).ID(); ok {
		args = append(args, id)
		where = append(where, fmt.Sprintf("id <> %s", placeholder(dialect, len(args))))
	}
	if !changed {
		return false, nil
	}
	rows, err := m.(interface{ Client() *ent.Client }).Client().QueryContext(ctx,
		fmt.Sprintf(`SELECT 1 FROM "%s" WHERE %s LIMIT 1`, table, strings.Join(where, " AND ")), args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}

func placeholder(dialect string, n int) string {
	if dialect == "postgres" {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}
