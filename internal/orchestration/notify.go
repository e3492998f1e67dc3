package orchestration

import (
	"context"
	"fmt"
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

// txJob, when set, is called once in each transaction that writes changes:
// it queues the durable planning job in that same transaction.
var txJob func(ctx context.Context, tx *ent.Tx) error

// SetTxJob sets the function that queues planning in a transaction that
// wrote changes (the job queue's insert), or clears it with nil.
func SetTxJob(f func(ctx context.Context, tx *ent.Tx) error) {
	wakeMu.Lock()
	defer wakeMu.Unlock()
	txJob = f
}

// afterCommit queues planning in the transaction and wakes the planner
// when it commits, once per transaction; the ids of changes a tracked
// request wrote reach its tracker only if the transaction commits.
func afterCommit(ctx context.Context, tx *ent.Tx, tracker *Tracker, ids []int) error {
	st := &txState{}
	if v, loaded := hookedTxs.LoadOrStore(tx, st); loaded {
		v.(*txState).add(tracker, ids)
		return nil
	}
	st.add(tracker, ids)
	wakeMu.Lock()
	job := txJob
	wakeMu.Unlock()
	if job != nil {
		if err := job(ctx, tx); err != nil {
			hookedTxs.Delete(tx)
			return fmt.Errorf("queueing planning: %w", err)
		}
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			defer hookedTxs.Delete(tx)
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			st.deliver()
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
	return nil
}

// hookedTxs maps a transaction that wrote changes to its txState.
var hookedTxs sync.Map

// txState holds the tracked change ids of one transaction until it commits.
type txState struct {
	mu      sync.Mutex
	tracker *Tracker
	ids     []int
}

func (s *txState) add(t *Tracker, ids []int) {
	if t == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracker = t
	s.ids = append(s.ids, ids...)
}

func (s *txState) deliver() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tracker != nil {
		s.tracker.add(s.ids)
	}
}
