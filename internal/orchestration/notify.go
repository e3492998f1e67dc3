package orchestration

import (
	"context"
	"sync"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

func sqlSelectIDs(dialect, table, column string, ids []int) (string, []any) {
	return entsql.Dialect(dialect).Select("id").From(entsql.Table(table)).Where(entsql.InInts(column, ids...)).Query()
}

// Wakers are told, after a transaction that wrote changes commits, that
// there is planning to do (the in-process fast path; the durable path is the
// changes table itself).
var (
	wakeMu sync.Mutex
	wakers []func()
)

// OnChanges registers f to run after each commit that wrote changes.
func OnChanges(f func()) {
	wakeMu.Lock()
	defer wakeMu.Unlock()
	wakers = append(wakers, f)
}

// afterCommit wakes the planner once per transaction, when it commits.
func afterCommit(tx *ent.Tx) {
	// One commit hook per transaction is enough.
	if _, loaded := hookedTxs.LoadOrStore(tx, true); loaded {
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			defer hookedTxs.Delete(tx)
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			wakeMu.Lock()
			ws := append([]func(){}, wakers...)
			wakeMu.Unlock()
			for _, w := range ws {
				w()
			}
			return nil
		})
	})
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			hookedTxs.Delete(tx)
			return next.Rollback(ctx, tx)
		})
	})
}

var hookedTxs sync.Map
