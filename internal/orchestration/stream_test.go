package orchestration_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/server"
	"github.com/orchestra-panel/orchestra/internal/store/ent/streamcursor"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// streamRec is a test consumer: the changes of the batches whose
// transaction committed, and a hook to make Handle fail or misbehave.
type streamRec struct {
	name  string
	mu    sync.Mutex
	got   []*ent.Change
	calls int // Handle calls, committed or not
	hook  func(ctx context.Context, tx *ent.Tx, cs []*ent.Change) error
}

// streamConsumer registers a consumer of models for the test. Domain has no
// backend in this package's tests: a consumer alone makes it captured.
func streamConsumer(t *testing.T, name string, batch int, models ...string) *streamRec {
	t.Helper()
	r := &streamRec{name: name}
	orchestration.RegisterConsumer(orchestration.Consumer{Name: name, Models: models, Batch: batch,
		Handle: func(ctx context.Context, tx *ent.Tx, cs []*ent.Change) error {
			if ent.TxFromContext(ctx) != tx {
				return errors.New("ctx is not in tx")
			}
			r.mu.Lock()
			r.calls++
			hook := r.hook
			r.mu.Unlock()
			if hook != nil {
				if err := hook(ctx, tx, cs); err != nil {
					return err
				}
			}
			tx.OnCommit(func(next ent.Committer) ent.Committer {
				return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
					if err := next.Commit(ctx, tx); err != nil {
						return err
					}
					r.mu.Lock()
					r.got = append(r.got, cs...)
					r.mu.Unlock()
					return nil
				})
			})
			return nil
		}})
	t.Cleanup(func() { orchestration.UnregisterConsumer(name) })
	return r
}

func (r *streamRec) setHook(h func(ctx context.Context, tx *ent.Tx, cs []*ent.Change) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = h
}

func (r *streamRec) ids() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int, len(r.got))
	for i, c := range r.got {
		out[i] = c.ID
	}
	return out
}

// drain consumes until a call handles nothing and returns the calls that
// handled something.
func (r *streamRec) drain(t *testing.T, st *store.Store) int {
	t.Helper()
	calls := 0
	for {
		n, err := orchestration.Consume(sys, st, r.name)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return calls
		}
		calls++
	}
}

func (r *streamRec) consume(t *testing.T, st *store.Store) int {
	t.Helper()
	n, err := orchestration.Consume(sys, st, r.name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func cursorOf(t *testing.T, st *store.Store, name string) *ent.StreamCursor {
	t.Helper()
	c, err := st.StreamCursor.Query().Where(streamcursor.Name(name)).Only(sys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func changeIDs(t *testing.T, st *store.Store, models ...string) []int {
	t.Helper()
	ids, err := st.Change.Query().Where(change.ModelIn(models...)).Order(ent.Asc(change.FieldID)).IDs(sys)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func lastChangeID(t *testing.T, st *store.Store) int {
	t.Helper()
	c, err := st.Change.Query().Order(ent.Desc(change.FieldID)).First(sys)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func newDomain(t *testing.T, st *store.Store, accountID int, name string) *ent.Domain {
	t.Helper()
	var d *ent.Domain
	mustTx(t, st, func(ctx context.Context, tx *ent.Tx) (err error) {
		d, err = tx.Domain.Create().SetAccountID(accountID).SetName(name).Save(ctx)
		return err
	})
	return d
}

// domainChange is the id of the latest change of the named domain.
func domainChange(t *testing.T, st *store.Store, name string) int {
	t.Helper()
	c, err := st.Change.Query().Where(change.Model("Domain"), change.Repr(name)).Order(ent.Desc(change.FieldID)).First(sys)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// Creates, updates, bulk updates, deletes and cascades reach Handle once
// each, in id order, batch after batch; a failing Handle or a crash before
// the commit leaves the cursor where it was and the batch comes again.
func TestStreamConsume(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := streamConsumer(t, "test-stream", 3, "Domain", "Contact")
		cli := viewer.System(context.Background(), viewer.ChannelCLI)
		acc := createAccount(t, st, cli, "alice", false)
		d1 := newDomain(t, st, acc.ID, "one.example")
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			for _, n := range []string{"two.example", "three.example", "four.example"} {
				if err := tx.Domain.Create().SetAccountID(acc.ID).SetName(n).Exec(ctx); err != nil {
					return err
				}
			}
			return tx.Contact.Create().SetAccountID(acc.ID).SetShortName("Alice").SetEmail("a@example.com").
				SetEmailUsage([]string{"BILLING"}).Exec(ctx)
		})
		if got := changeIDs(t, st, "Domain"); len(got) != 4 {
			t.Fatalf("domain writes made %d changes, want 4: a consumer's model is captured", len(got))
		}
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.UpdateOneID(d1.ID).SetRefresh("2h").Exec(ctx)
		})
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error { // bulk
			return tx.Domain.Update().Where(domain.NameNEQ("one.example")).SetDnssec(true).Exec(ctx)
		})
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			_, err := tx.Domain.Delete().Where(domain.Name("three.example")).Exec(ctx)
			return err
		})
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error { // cascades to domains and contacts
			return tx.Account.DeleteOneID(acc.ID).Exec(ctx)
		})

		want := changeIDs(t, st, "Domain", "Contact")
		if len(want) != 4+1+1+3+1+4 {
			t.Fatalf("%d changes of domains and contacts, want 14", len(want))
		}
		calls := r.drain(t, st)
		if got := r.ids(); !slices.Equal(got, want) {
			t.Fatalf("handled %v, want %v", got, want)
		}
		if calls != 5 {
			t.Errorf("%d batches handled changes, want 5 of at most 3", calls)
		}
		last := r.got[len(r.got)-1]
		if last.Action != orchestration.ActionDelete || len(last.Snapshot) == 0 {
			t.Errorf("last change handled: %+v", last)
		}
		for _, c := range r.got {
			if c.Model != "Domain" && c.Model != "Contact" {
				t.Errorf("handled a change of %s", c.Model)
			}
		}
		cur := cursorOf(t, st, r.name)
		if cur.Position != lastChangeID(t, st) || len(cur.Handled) != 0 {
			t.Errorf("cursor at %d, handled %v; want %d, none", cur.Position, cur.Handled, lastChangeID(t, st))
		}
		if n := r.consume(t, st); n != 0 || len(r.ids()) != len(want) {
			t.Fatalf("consumed again: %d", n)
		}

		// A failing Handle: nothing moves, the same changes come again.
		acc2 := createAccount(t, st, cli, "bob", false)
		newDomain(t, st, acc2.ID, "five.example")
		newDomain(t, st, acc2.ID, "six.example")
		fresh := []int{domainChange(t, st, "five.example"), domainChange(t, st, "six.example")}
		before := cursorOf(t, st, r.name)
		r.setHook(func(ctx context.Context, tx *ent.Tx, cs []*ent.Change) error { return errors.New("billing is down") })
		for range 2 {
			if n, err := orchestration.Consume(sys, st, r.name); err == nil || n != 0 {
				t.Fatalf("failing Handle: %d %v", n, err)
			}
		}
		if c := cursorOf(t, st, r.name); c.Position != before.Position || len(c.Handled) != 0 {
			t.Fatalf("a failed batch moved the cursor to %d %v", c.Position, c.Handled)
		}

		// A crash after Handle, before the commit: what Handle wrote and
		// the cursor's move roll back together.
		crashes := []struct {
			name string
			hook func(cancel func()) func(ctx context.Context, tx *ent.Tx, cs []*ent.Change) error
		}{
			{"context ends", func(cancel func()) func(ctx context.Context, tx *ent.Tx, cs []*ent.Change) error {
				return func(ctx context.Context, tx *ent.Tx, cs []*ent.Change) error {
					if err := tx.Server.Create().SetName("written-by-handle").Exec(ctx); err != nil {
						return err
					}
					cancel()
					return nil
				}
			}},
			{"commit fails", func(func()) func(ctx context.Context, tx *ent.Tx, cs []*ent.Change) error {
				return func(ctx context.Context, tx *ent.Tx, cs []*ent.Change) error {
					tx.OnCommit(func(ent.Committer) ent.Committer {
						return ent.CommitFunc(func(context.Context, *ent.Tx) error { return errors.New("power cut") })
					})
					return tx.Server.Create().SetName("written-by-handle").Exec(ctx)
				}
			}},
		}
		for _, crash := range crashes {
			ctx, cancel := context.WithCancel(sys)
			r.setHook(crash.hook(cancel))
			n, err := orchestration.Consume(ctx, st, r.name)
			cancel()
			if err == nil {
				t.Fatalf("%s: Consume = %d, no error", crash.name, n)
			}
			if c := cursorOf(t, st, r.name); c.Position != before.Position || len(c.Handled) != 0 {
				t.Fatalf("%s: the cursor moved to %d %v", crash.name, c.Position, c.Handled)
			}
			if st.Server.Query().Where(server.Name("written-by-handle")).ExistX(sys) {
				t.Fatalf("%s: Handle's write committed", crash.name)
			}
		}
		if got := r.ids(); len(got) != len(want) {
			t.Fatalf("a failed batch was recorded: %v", got[len(want):])
		}

		r.setHook(nil)
		r.drain(t, st)
		if got := r.ids(); !slices.Equal(got[len(want):], fresh) {
			t.Fatalf("after the failures handled %v, want %v", got[len(want):], fresh)
		}
		if c := cursorOf(t, st, r.name); c.Position != lastChangeID(t, st) {
			t.Fatalf("cursor at %d, want %d", c.Position, lastChangeID(t, st))
		}
	})
}

// A missing change id holds the cursor's position back until it is older
// than the gap wait, but never the changes after it; on SQLite (where ids
// commit in order) a change row deleted by hand makes one.
func TestStreamGapWait(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := streamConsumer(t, "test-stream-gap", 0, "Domain")
		acc := createAccount(t, st, viewer.System(context.Background(), viewer.ChannelCLI), "carol", false)
		newDomain(t, st, acc.ID, "a.example")
		r.drain(t, st)
		newDomain(t, st, acc.ID, "gone.example")
		newDomain(t, st, acc.ID, "b.example")
		gone, b := domainChange(t, st, "gone.example"), domainChange(t, st, "b.example")
		if err := st.Change.DeleteOneID(gone).Exec(sys); err != nil {
			t.Fatal(err)
		}
		setEnv(t, map[string]string{"ORCHESTRA_ORCHESTRATION_STREAM_GAP_WAIT": "1h"})
		r.drain(t, st)
		r.consume(t, st)
		if got := r.ids(); got[len(got)-1] != b {
			t.Fatalf("the change after the gap is not handled: %v", got)
		}
		if c := cursorOf(t, st, r.name); c.Position != gone-1 || !slices.Equal(c.Handled, []int{b}) {
			t.Fatalf("cursor %d %v, want %d [%d]", c.Position, c.Handled, gone-1, b)
		}
		setEnv(t, map[string]string{"ORCHESTRA_ORCHESTRATION_STREAM_GAP_WAIT": "0s"})
		waitPosition(t, st, r, b)
		if got := r.ids(); len(got) != 2 || got[1] != b {
			t.Fatalf("handled %v", got)
		}
	})
}

// waitPosition consumes until the cursor's position reaches at least pos
// (on PostgreSQL a gap is given up once every transaction that may have
// taken it has ended, whatever the database runs beside the test).
func waitPosition(t *testing.T, st *store.Store, r *streamRec, pos int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.consume(t, st)
		c := cursorOf(t, st, r.name)
		if c.Position >= pos {
			if len(c.Handled) != 0 {
				t.Fatalf("cursor at %d still has handled %v", c.Position, c.Handled)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cursor stuck at %d %v, want %d", c.Position, c.Handled, pos)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// On PostgreSQL a transaction that took a change id may commit after one
// that took a later id: the later change is handled first, the earlier when
// it commits, and a rolled-back transaction's id stops holding the cursor
// once older than the gap wait. An open transaction holds it however long.
func TestStreamOutOfOrderCommits(t *testing.T) {
	st := storetest.Postgres(t)
	if st == nil {
		t.Skip("ORCHESTRA_TEST_POSTGRES_URL not set")
	}
	r := streamConsumer(t, "test-stream-order", 0, "Domain")
	acc := createAccount(t, st, viewer.System(context.Background(), viewer.ChannelCLI), "dave", false)
	newDomain(t, st, acc.ID, "first.example")
	r.drain(t, st)

	// A writes and waits; B writes and commits.
	wrote, release, committed := make(chan int), make(chan struct{}), make(chan error, 1)
	commitA := sync.OnceFunc(func() { close(release) })
	t.Cleanup(commitA) // a failed test lets go of A before dropping its schema
	go func() {
		committed <- st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) error {
			if err := tx.Domain.Create().SetAccountID(acc.ID).SetName("a.example").Exec(ctx); err != nil {
				close(wrote)
				return err
			}
			id, err := tx.Change.Query().Where(change.Repr("a.example")).OnlyID(ctx)
			if err != nil {
				close(wrote)
				return err
			}
			wrote <- id
			<-release
			return nil
		})
	}()
	a, ok := <-wrote
	if !ok {
		t.Fatal(<-committed)
	}
	newDomain(t, st, acc.ID, "b.example")
	b := domainChange(t, st, "b.example")
	if b < a {
		t.Fatalf("B's change %d before A's %d", b, a)
	}
	// no wait at all: still the open transaction holds the cursor
	setEnv(t, map[string]string{"ORCHESTRA_ORCHESTRATION_STREAM_GAP_WAIT": "0s"})
	n := len(r.ids())
	for range 3 {
		r.consume(t, st)
		time.Sleep(20 * time.Millisecond)
	}
	if got := r.ids()[n:]; !slices.Equal(got, []int{b}) {
		t.Fatalf("with A open handled %v, want B's %d", got, b)
	}
	if c := cursorOf(t, st, r.name); c.Position >= a || !slices.Equal(c.Handled, []int{b}) {
		t.Fatalf("with A open the cursor is at %d %v, want below %d, [%d]", c.Position, c.Handled, a, b)
	}
	commitA()
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	r.drain(t, st)
	if got := r.ids()[n:]; !slices.Equal(got, []int{b, a}) {
		t.Fatalf("after A's commit handled %v, want %d then %d", got, b, a)
	}
	if c := cursorOf(t, st, r.name); c.Position < b || len(c.Handled) != 0 {
		t.Fatalf("cursor %d %v after A's commit, want %d", c.Position, c.Handled, b)
	}

	// C rolls back, burning its ids; D commits after it.
	setEnv(t, map[string]string{"ORCHESTRA_ORCHESTRATION_STREAM_GAP_WAIT": "1h"})
	err := st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) error {
		if err := tx.Domain.Create().SetAccountID(acc.ID).SetName("c.example").Exec(ctx); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	if err == nil {
		t.Fatal("C committed")
	}
	newDomain(t, st, acc.ID, "d.example")
	d := domainChange(t, st, "d.example")
	n = len(r.ids())
	for range 3 {
		r.consume(t, st)
	}
	if got := r.ids()[n:]; !slices.Equal(got, []int{d}) {
		t.Fatalf("handled %v, want D's %d", got, d)
	}
	if c := cursorOf(t, st, r.name); c.Position >= d || !slices.Equal(c.Handled, []int{d}) {
		t.Fatalf("a fresh burned id: cursor %d %v, want below %d, [%d]", c.Position, c.Handled, d, d)
	}
	setEnv(t, map[string]string{"ORCHESTRA_ORCHESTRATION_STREAM_GAP_WAIT": "200ms"})
	time.Sleep(250 * time.Millisecond)
	waitPosition(t, st, r, d)
	if got := r.ids()[n:]; !slices.Equal(got, []int{d}) {
		t.Fatalf("handled %v, want D's %d once", got, d)
	}
}

// Consumers in two panels over one database take turns: each change is
// handled once.
func TestStreamConcurrentConsumers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := streamConsumer(t, "test-stream-turns", 4, "Domain")
		r.setHook(func(context.Context, *ent.Tx, []*ent.Change) error {
			time.Sleep(2 * time.Millisecond) // widen the window
			return nil
		})
		other, err := store.Open(st.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		acc := createAccount(t, st, viewer.System(context.Background(), viewer.ChannelCLI), "erin", false)
		const domains = 60
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			for i := range domains / 2 {
				if err := tx.Domain.Create().SetAccountID(acc.ID).SetName(string(rune('a'+i%26)) + "-" + string(rune('a'+i/26)) + ".example").Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		done := make(chan struct{})
		for i := range 4 {
			s := st
			if i%2 == 1 {
				s = other
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					if _, err := orchestration.Consume(sys, s, r.name); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		// more changes while they consume
		for i := range domains / 2 {
			newDomain(t, st, acc.ID, "late-"+string(rune('a'+i%26))+string(rune('a'+i/26))+".example")
		}
		want := changeIDs(t, st, "Domain")
		deadline := time.Now().Add(60 * time.Second)
		for len(r.ids()) < len(want) && time.Now().Before(deadline) && len(errs) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		close(done)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got := r.ids()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("handled %d changes (%v), want each of %d once", len(got), got, len(want))
		}
		if c := cursorOf(t, st, r.name); c.Position != lastChangeID(t, st) || len(c.Handled) != 0 {
			t.Fatalf("cursor %d %v", c.Position, c.Handled)
		}
	})
}

// The cleanup of old changes keeps every change a consumer has not got
// past, and all of them while a consumer has not started.
func TestStreamCleanupKeepsUnhandled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := streamConsumer(t, "test-stream-cleanup", 2, "Domain")
		acc := createAccount(t, st, viewer.System(context.Background(), viewer.ChannelCLI), "frank", false)
		for _, n := range []string{"a.example", "b.example", "c.example", "d.example", "e.example"} {
			newDomain(t, st, acc.ID, n)
		}
		if _, err := orchestration.NewPlanner(st).Plan(sys); err != nil {
			t.Fatal(err)
		}
		if n := st.Change.Query().Where(change.PlannedAtIsNil()).CountX(sys); n != 0 {
			t.Fatalf("%d changes not planned", n)
		}
		all := changeIDs(t, st, "Account", "Domain", "Contact")
		cleanup := func() {
			t.Helper()
			if _, err := orchestration.CleanupChanges(sys, st, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		left := func() []int {
			ids, err := st.Change.Query().Order(ent.Asc(change.FieldID)).IDs(sys)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		cleanup()
		if got := left(); !slices.Equal(got, all) {
			t.Fatalf("before the consumer started, cleanup left %v of %v", got, all)
		}
		r.consume(t, st) // two domains
		pos := cursorOf(t, st, r.name).Position
		if pos != r.ids()[1] {
			t.Fatalf("cursor at %d, want %d", pos, r.ids()[1])
		}
		cleanup()
		for _, id := range left() {
			if id <= pos {
				t.Errorf("change %d at or below the cursor (%d) kept", id, pos)
			}
		}
		if got := changeIDs(t, st, "Domain"); len(got) != 3 || got[0] <= pos {
			t.Fatalf("unhandled changes left %v, want the last three domains", got)
		}
		r.drain(t, st)
		if got := r.ids(); len(got) != 5 {
			t.Fatalf("handled %v, want all five", got)
		}
		cleanup()
		if got := left(); len(got) != 0 {
			t.Fatalf("left %v", got)
		}
		newDomain(t, st, acc.ID, "f.example")
		r.drain(t, st)
		if got := r.ids(); len(got) != 6 || got[5] <= got[4] {
			t.Fatalf("after cleanup handled %v", got)
		}
	})
}

// The stream worker consumes what commits, until its context ends.
func TestStreamWorker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := streamConsumer(t, "test-stream-worker", 0, "Domain")
		acc := createAccount(t, st, viewer.System(context.Background(), viewer.ChannelCLI), "gina", false)
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			orchestration.RunConsumers(ctx, st)
			close(stopped)
		}()
		newDomain(t, st, acc.ID, "w.example")
		want := domainChange(t, st, "w.example")
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Contains(r.ids(), want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-stopped
		if got := r.ids(); !slices.Equal(got, []int{want}) {
			t.Fatalf("the worker handled %v, want [%d]", got, want)
		}
	})
}

// A delete of a model no one follows that cascades into one a consumer
// follows is captured too: the rows it takes with it are changes.
func TestStreamCascadeFromAModelNoOneFollows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := streamConsumer(t, "test-stream-cascade", 0, "Record")
		acc := createAccount(t, st, viewer.System(context.Background(), viewer.ChannelCLI), "hank", false)
		d := newDomain(t, st, acc.ID, "zone.example")
		var rec *ent.Record
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) (err error) {
			rec, err = tx.Record.Create().SetDomainID(d.ID).SetAccountID(acc.ID).SetType("A").SetValue("192.0.2.1").Save(ctx)
			return err
		})
		if got := changeIDs(t, st, "Domain"); len(got) != 0 {
			t.Fatalf("domains are followed by no one here, yet have changes %v", got)
		}
		mustTx(t, st, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.DeleteOneID(d.ID).Exec(ctx)
		})
		r.drain(t, st)
		got := r.got
		if len(got) != 2 || got[0].Action != orchestration.ActionSave || got[1].Action != orchestration.ActionDelete ||
			got[1].ObjectID != rec.ID || got[1].Snapshot["value"] != "192.0.2.1" {
			t.Fatalf("handled %+v, want the record's save and its delete by cascade", got)
		}
		if got := changeIDs(t, st, "Domain"); len(got) != 0 {
			t.Fatalf("the domain's own delete has a change: %v", got)
		}
	})
}
