package orchestration

import (
	"context"
	"time"

	"github.com/orchestra-panel/orchestra/internal/store"
)

// HoldPlanning takes st's planning turn, as a pass that has read the
// pending changes holds it, until the returned function is called.
func HoldPlanning(ctx context.Context, st *store.Store) (func(), error) {
	p := NewPlanner(st)
	unlock, err := p.lock(ctx, time.Time{})
	if err == nil {
		p.turn().reading()
	}
	return unlock, err
}
