package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// The database's clock is read in milliseconds and agrees with this
// machine's (the test databases run here).
func TestDatabaseClock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		before := time.Now().Truncate(time.Millisecond)
		now, err := st.Now(context.Background())
		after := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		if now.Before(before.Add(-time.Second)) || now.After(after.Add(time.Second)) {
			t.Fatalf("database clock %v, this machine's between %v and %v", now, before, after)
		}
		if now.Nanosecond()%int(time.Millisecond) != 0 {
			t.Fatalf("not whole milliseconds: %v", now)
		}
	})
}
