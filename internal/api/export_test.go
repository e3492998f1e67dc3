package api

import (
	"net/http"
	"testing"
	"time"
)

// SetKeyHold makes each request that holds an Idempotency-Key call f before
// it is served, until the test ends.
func SetKeyHold(t testing.TB, f func(r *http.Request)) {
	heldHook.Store(&f)
	t.Cleanup(func() { heldHook.Store(nil) })
}

// SetKeyLease sets how long a held key's lease lasts and how often its
// request renews it, until the test ends. Call it before serving.
func SetKeyLease(t testing.TB, lease, renew time.Duration) {
	oldLease, oldRenew := idempotencyLease, idempotencyRenew
	idempotencyLease, idempotencyRenew = lease, renew
	t.Cleanup(func() { idempotencyLease, idempotencyRenew = oldLease, oldRenew })
}
