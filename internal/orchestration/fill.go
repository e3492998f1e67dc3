package orchestration

import (
	"context"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// Fill adds to the snapshots of one model's objects what their backends
// need beyond the row and cannot Load: a delete has no Load, its object is
// gone, and so may be the rows it named (a web app's folder lies in its
// account's home, named by the account's username). snaps maps ids to
// snapshots; Fill adds keys that are not columns of the model. It runs in
// the writing transaction whenever a snapshot is taken: for a delete before
// the rows go, cascades included (an account's deletion snapshots its web
// apps while the account is still there).
type Fill func(ctx context.Context, tx *ent.Tx, snaps map[int]map[string]any) error

var fills = map[string]Fill{} // guarded by regMu

// RegisterFill registers fill for model's snapshots; service packages call
// it from init, once per model.
func RegisterFill(model string, fill Fill) {
	if _, ok := ent.Meta[model]; !ok || fill == nil {
		panic("orchestration: bad snapshot fill for " + model)
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := fills[model]; dup {
		panic("orchestration: snapshot fill registered twice: " + model)
	}
	fills[model] = fill
}

// fill runs model's Fill, if any, on snaps.
func fill(ctx context.Context, tx *ent.Tx, model string, snaps map[int]map[string]any) error {
	regMu.RLock()
	f := fills[model]
	regMu.RUnlock()
	if f == nil || len(snaps) == 0 {
		return nil
	}
	return f(ctx, tx, snaps)
}
