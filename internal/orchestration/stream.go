package orchestration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/streamcursor"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// The change stream's other consumers. The planner follows the changes
// table by each row's planned_at; every other consumer (billing's orders,
// notifications, …) follows it with a cursor of its own, a StreamCursor
// row, and handles each batch of changes in the transaction that moves its
// cursor: a crash before that commit handles the batch again, one after it
// never does, and a consumer that was down resumes where it stopped.
//
// Ids and commits. Change ids grow in the order changes are written, not
// in the order their transactions commit: on PostgreSQL the id comes from
// a sequence when the row is inserted (an identity column without a
// per-session cache: ids are handed out in increasing order), so a
// transaction that took id 10 may commit after one that took 11, or never
// (a rollback burns its ids).
// A cursor "every id up to N" that moved past 11 would skip 10 forever.
// So the cursor is three things:
//
//   - position: every id up to it is settled (handled, of no concern to
//     the consumer, or given up as never to commit);
//   - handled: the ids above position handled already, changes that
//     committed while a missing id below them held position back; a batch
//     is the consumer's oldest changes above position that are not in it,
//     so a change is handled once, whenever it commits;
//   - the dating of gaps (PostgreSQL): when Consume first finds missing
//     ids below some present one, it notes the highest id then (gap_fence
//     is one above it) and the first transaction id not yet assigned
//     (gap_xmax, from pg_current_snapshot()). A transaction that took a
//     missing id took it before the writer of a committed later id took
//     that one, so before the note, and it had begun writing (the write of
//     the object comes before its change rows): its transaction id is
//     below gap_xmax. Once the oldest transaction still running is at or
//     above gap_xmax (pg_snapshot_xmin), every such transaction has ended,
//     and an id still missing will never commit.
//
// A missing id stops holding position back once both hold: the change
// after it is older than ORCHESTRATION_STREAM_GAP_WAIT (judged by that
// change's created_at, from its writer's clock: panels' clocks must agree
// to well within the wait), and, on PostgreSQL, every transaction that may
// have taken it has ended. The wait covers what the dating cannot see (a
// transaction whose first write is its change rows takes its ids a
// moment before its transaction id); the dating covers what a wait cannot
// (a long bulk write that took its first ids minutes before it commits is
// waited for, however long). On SQLite writers take
// turns on the database, ids are assigned and committed in order and a
// rollback returns its ids, so the only gaps are rows deleted by hand.
// A gap never delays the changes after it, only position: what a gap
// holds back is the pruning of handled and the cleanup of old changes
// (CleanupChanges keeps every change above the lowest position).

// StreamGapWait is how long a missing change id holds a consumer's cursor.
var StreamGapWait = settings.Duration("ORCHESTRATION_STREAM_GAP_WAIT", time.Minute,
	"How long a missing change id (a transaction that may still commit, or a rolled-back one) holds back the cursor of a change stream consumer, judged by the time of the change after it. On PostgreSQL the cursor also waits for every transaction that may have taken the id to end.")

const (
	// streamBatch is a consumer's default batch.
	streamBatch = 200
	// streamScan is how many change ids one query reads while moving a
	// cursor's position.
	streamScan = 1000
	// streamPoll is how often the stream worker looks for changes other
	// processes committed (this process's own commits wake it at once).
	streamPoll = time.Second
	// streamBackoffMax bounds the pause after a consumer's failures.
	streamBackoffMax = time.Minute
)

// Consumer is a reader of the change stream with a cursor of its own.
type Consumer struct {
	// Name identifies the cursor: it never changes once released.
	Name string
	// Models are the ent type names whose changes the consumer handles.
	// Their writes are captured even if no backend serves them (and so
	// must run in a transaction, store.Tx, as every captured write), and
	// so are deletes of other models that cascade into them.
	Models []string
	// Handle handles a batch of changes, in id order, within tx, the
	// transaction that then moves the cursor past them: what Handle
	// writes through tx commits with the cursor or not at all, so a batch
	// is handled again only after a rollback. Handle should write nothing
	// outside tx (or only what may be repeated). An error rolls back and
	// the batch comes again. The changes of one object come in order;
	// a change whose transaction committed late comes in a later batch,
	// after changes with higher ids. Snapshots may lack secret fields.
	Handle func(ctx context.Context, tx *ent.Tx, changes []*ent.Change) error
	// Batch is the most changes per Handle (0: 200).
	Batch int
}

func (c *Consumer) batch() int {
	if c.Batch > 0 {
		return c.Batch
	}
	return streamBatch
}

// consumers are the registered consumers, under regMu.
var consumers = map[string]*Consumer{}

// RegisterConsumer adds a consumer of the change stream; services call it
// from init. The worker of every `orchestra serve` (jobs) consumes it.
func RegisterConsumer(c Consumer) {
	if c.Name == "" || len(c.Models) == 0 || c.Handle == nil {
		panic("orchestration: a consumer needs a name, models and Handle")
	}
	for _, m := range c.Models {
		if m == "Change" || modelOf(m) == nil {
			panic("orchestration: consumer " + c.Name + ": bad model " + m)
		}
	}
	c.Models = slices.Clone(c.Models)
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := consumers[c.Name]; dup {
		panic("orchestration: consumer registered twice: " + c.Name)
	}
	consumers[c.Name] = &c
}

// UnregisterConsumer removes a consumer (tests register their own).
func UnregisterConsumer(name string) {
	regMu.Lock()
	defer regMu.Unlock()
	delete(consumers, name)
}

func consumerNamed(name string) (*Consumer, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	c, ok := consumers[name]
	return c, ok
}

// registeredConsumers returns the consumers by name.
func registeredConsumers() []*Consumer {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]*Consumer, 0, len(consumers))
	for _, name := range slices.Sorted(maps.Keys(consumers)) {
		out = append(out, consumers[name])
	}
	return out
}

// consumed reports whether a consumer handles changes of model; regMu is held.
func consumed(model string) bool {
	for _, c := range consumers {
		if slices.Contains(c.Models, model) {
			return true
		}
	}
	return false
}

// Consume handles one batch of the named consumer: its oldest changes not
// handled yet, at most its Batch, in one transaction with the move of its
// cursor. It returns how many changes it handled. Consumers of two
// processes take turns: the cursor row is locked (SELECT … FOR UPDATE on
// PostgreSQL; SQLite's write transactions are serial anyway).
func Consume(ctx context.Context, st *store.Store, name string) (int, error) {
	c, ok := consumerNamed(name)
	if !ok {
		return 0, fmt.Errorf("orchestration: no consumer %q", name)
	}
	if ent.TxFromContext(ctx) != nil {
		return 0, errors.New("orchestration: Consume runs a transaction of its own")
	}
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	if idle, err := streamIdle(ctx, st, name); err != nil || idle {
		return 0, err
	}
	n := 0
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		n = 0
		cur, err := lockCursor(ctx, tx, st.Dialect, name)
		if err != nil {
			return err
		}
		done := make(map[int]bool, len(cur.Handled))
		for _, id := range cur.Handled {
			done[id] = true
		}
		// the oldest changes above position not handled: at most
		// len(handled) of the first batch+len(handled) ids are
		ids, err := tx.Change.Query().Where(change.IDGT(cur.Position), change.ModelIn(c.Models...)).
			Order(ent.Asc(change.FieldID)).Limit(c.batch() + len(done)).IDs(ctx)
		if err != nil {
			return err
		}
		var pick []int
		for _, id := range ids {
			if !done[id] && len(pick) < c.batch() {
				pick = append(pick, id)
			}
		}
		if len(pick) > 0 {
			changes, err := tx.Change.Query().Where(change.IDIn(pick...)).Order(ent.Asc(change.FieldID)).All(ctx)
			if err != nil {
				return err
			}
			if err := c.Handle(ctx, tx, changes); err != nil {
				return fmt.Errorf("consumer %s: %w", name, err)
			}
			for _, ch := range changes {
				done[ch.ID] = true
			}
			n = len(changes)
		}
		mine := func(model string) bool { return slices.Contains(c.Models, model) }
		next, held, err := settle(ctx, tx, st.Dialect, cur, done, mine, StreamGapWait.Get())
		if err != nil {
			return err
		}
		warnHeld(ctx, name, next.Position, held)
		var handled []int
		for id := range done {
			if id > next.Position {
				handled = append(handled, id)
			}
		}
		slices.Sort(handled)
		if next.Position == cur.Position && next.GapFence == cur.GapFence && next.GapXmax == cur.GapXmax &&
			slices.Equal(handled, cur.Handled) {
			return nil
		}
		upd := tx.StreamCursor.UpdateOneID(cur.ID).SetPosition(next.Position).
			SetGapFence(next.GapFence).SetGapXmax(next.GapXmax)
		if len(handled) == 0 {
			upd.ClearHandled()
		} else {
			upd.SetHandled(handled)
		}
		return upd.Exec(ctx)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// streamIdle reports, without a write transaction, that the named
// consumer has nothing to do: no change above its cursor's position.
func streamIdle(ctx context.Context, st *store.Store, name string) (bool, error) {
	pos := 0
	cur, err := st.StreamCursor.Query().Where(streamcursor.Name(name)).Only(ctx)
	switch {
	case err == nil:
		pos = cur.Position
	case !ent.IsNotFound(err):
		return false, err
	}
	more, err := st.Change.Query().Where(change.IDGT(pos)).Exist(ctx)
	return !more, err
}

// lockCursor returns the named cursor, made if missing, locked until tx
// ends.
func lockCursor(ctx context.Context, tx *ent.Tx, dialectName, name string) (*ent.StreamCursor, error) {
	for range 2 {
		q := tx.StreamCursor.Query().Where(streamcursor.Name(name))
		if dialectName == dialect.Postgres {
			q = q.ForUpdate()
		}
		cur, err := q.Only(ctx)
		if !ent.IsNotFound(err) {
			return cur, err
		}
		// a concurrent first Consume inserts it too: the later waits for
		// the earlier's commit, then does nothing and locks the row above
		err = tx.StreamCursor.Create().SetName(name).OnConflictColumns(streamcursor.FieldName).DoNothing().Exec(ctx)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("orchestration: stream cursor %q vanished", name)
}

// settle returns cur with position moved up past every change id that is
// settled (handled, that is in done, or not mine) and every missing id
// given up, up to the first that is not; and with the gap dating renewed
// when a missing id below that had none. held is how long a missing id
// has held position back (the age of the change after it), 0 if none does.
func settle(ctx context.Context, tx *ent.Tx, dialectName string, cur *ent.StreamCursor, done map[int]bool,
	mine func(string) bool, wait time.Duration) (next *ent.StreamCursor, held time.Duration, err error) {
	c := *cur
	next = &c
	now := time.Now()
	var xmin *int64 // PostgreSQL's oldest running transaction, read once
	for {
		rows, err := tx.Change.Query().Where(change.IDGT(next.Position)).Order(ent.Asc(change.FieldID)).
			Limit(streamScan).Select(change.FieldID, change.FieldModel, change.FieldCreatedAt).All(ctx)
		if err != nil {
			return nil, 0, err
		}
		for _, r := range rows {
			if r.ID > next.Position+1 { // the ids between are missing
				age := max(now.Sub(r.CreatedAt), time.Nanosecond)
				if dialectName == dialect.Postgres {
					if r.ID > next.GapFence { // some are not dated yet
						next.GapFence, next.GapXmax, err = dateGaps(ctx, tx)
						return next, age, err // our own transaction runs: judged next time
					}
					if xmin == nil {
						x, err := oldestRunning(ctx, tx)
						if err != nil {
							return nil, 0, err
						}
						xmin = &x
					}
					if *xmin < next.GapXmax {
						return next, age, nil // a transaction that may have taken them runs
					}
				}
				if age < wait {
					return next, age, nil
				}
			}
			if mine(r.Model) && !done[r.ID] {
				return next, 0, nil
			}
			next.Position = r.ID
		}
		if len(rows) < streamScan {
			return next, 0, nil
		}
	}
}

// warnHeld logs, at most every 10 minutes per consumer, a missing change id
// that has held a cursor back for 10 times the gap wait (at least 10
// minutes): on PostgreSQL, a transaction open that long (idle in
// transaction?) holds every gap, and with them the cleanup of changes.
func warnHeld(ctx context.Context, name string, position int, held time.Duration) {
	if held < max(10*StreamGapWait.Get(), 10*time.Minute) {
		return
	}
	heldMu.Lock()
	last, ok := heldWarned[name]
	now := time.Now()
	if !ok || now.Sub(last) >= 10*time.Minute {
		heldWarned[name] = now
	}
	heldMu.Unlock()
	if !ok || now.Sub(last) >= 10*time.Minute {
		slog.WarnContext(ctx, "orchestration: a missing change id holds a stream cursor back (a long transaction?)",
			"consumer", name, "position", position, "held", held.Round(time.Second))
	}
}

var (
	heldMu     sync.Mutex
	heldWarned = map[string]time.Time{}
)

// dateGaps returns one above the highest change id and the first
// transaction id not yet assigned, read in one snapshot: a transaction
// that took a change id below the fence that is not committed yet began
// writing before the snapshot, so its transaction id is below xmax.
func dateGaps(ctx context.Context, tx *ent.Tx) (fence int, xmax int64, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT COALESCE(MAX("id"), 0) + 1, pg_snapshot_xmax(pg_current_snapshot())::text::bigint FROM "changes"`)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, 0, errors.Join(rows.Err(), errors.New("orchestration: no snapshot"))
	}
	if err := rows.Scan(&fence, &xmax); err != nil {
		return 0, 0, err
	}
	return fence, xmax, rows.Close()
}

// oldestRunning returns the id of the oldest transaction still running
// (or the next to be assigned, when none runs).
func oldestRunning(ctx context.Context, tx *ent.Tx) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var x int64
	if !rows.Next() {
		return 0, errors.Join(rows.Err(), errors.New("orchestration: no snapshot"))
	}
	if err := rows.Scan(&x); err != nil {
		return 0, err
	}
	return x, rows.Close()
}

// streamFloor is the lowest position of the registered consumers' cursors
// (0 while one has none yet: it will start from the first change); ok is
// false when no consumer is registered.
func streamFloor(ctx context.Context, st *store.Store) (floor int, ok bool, err error) {
	var names []string
	for _, c := range registeredConsumers() {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return 0, false, nil
	}
	curs, err := st.StreamCursor.Query().Where(streamcursor.NameIn(names...)).All(ctx)
	if err != nil || len(curs) < len(names) {
		return 0, true, err
	}
	floor = curs[0].Position
	for _, c := range curs[1:] {
		floor = min(floor, c.Position)
	}
	return floor, true, nil
}

// The stream worker is woken after each local commit that wrote changes.
var (
	streamWakeMu sync.Mutex
	streamWakeCh = make(chan struct{})
)

func init() {
	OnChanges(func() {
		streamWakeMu.Lock()
		defer streamWakeMu.Unlock()
		close(streamWakeCh)
		streamWakeCh = make(chan struct{})
	})
}

func streamWoken() <-chan struct{} {
	streamWakeMu.Lock()
	defer streamWakeMu.Unlock()
	return streamWakeCh
}

// RunConsumers consumes every registered consumer until ctx ends: after
// each commit of this process that wrote changes, and every second for
// those of other processes. A consumer whose Handle fails is tried again
// after a pause that doubles up to a minute. Other processes may run it
// too (Consume takes turns).
func RunConsumers(ctx context.Context, st *store.Store) {
	if len(registeredConsumers()) == 0 {
		return
	}
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	type failing struct {
		times int
		until time.Time
	}
	fails := map[string]*failing{}
	for {
		woken := streamWoken() // before consuming: a commit meanwhile wakes the next round
		busy := false          // a consumer had a full batch: go round again at once
		for _, c := range registeredConsumers() {
			if f := fails[c.Name]; f != nil && time.Now().Before(f.until) {
				continue
			}
			n, err := Consume(ctx, st, c.Name)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				f := fails[c.Name]
				if f == nil {
					f = &failing{}
					fails[c.Name] = f
				}
				f.times++
				pause := min(streamPoll<<min(f.times, 10), streamBackoffMax)
				f.until = time.Now().Add(pause)
				slog.WarnContext(ctx, "orchestration: change stream consumer failed", "consumer", c.Name,
					"err", err, "failures", f.times, "again_in", pause)
				continue
			}
			delete(fails, c.Name)
			busy = busy || n >= c.batch()
		}
		if busy {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-woken:
		case <-time.After(streamPoll):
		}
	}
}
