package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/throttle"
)

// What the throttle counts.
const (
	KindLoginUser = "login-user" // failed logins for a username
	KindLoginAddr = "login-addr" // failed logins from a client address
	KindPassword  = "password"   // wrong current passwords in a password change, per account
)

// Limit is one count the throttle keeps: at most Max failures of Kind for
// Key in a window.
type Limit struct {
	Kind, Key string
	Max       int
}

// Throttle limits failures (guessed passwords) per kind and key in a fixed
// window. Counts live in the database, so every panel process shares them
// and a restart does not reset them.
type Throttle struct {
	client *ent.Client
	window time.Duration
	now    func() time.Time
}

// NewThrottle counts failures in windows of the given length.
func NewThrottle(c *ent.Client, window time.Duration) *Throttle {
	return &Throttle{client: c, window: window, now: time.Now}
}

// Window is the length of the throttle's windows.
func (t *Throttle) Window() time.Duration { return t.window }

// SetClock replaces the clock (tests).
func (t *Throttle) SetClock(now func() time.Time) { t.now = now }

// clock is the time, in UTC so that SQLite compares stored times as text.
func (t *Throttle) clock() time.Time { return t.now().UTC() }

// throttleKey bounds the stored key: a username typed into the web form has
// no length limit.
func throttleKey(k string) string {
	if len(k) <= 128 {
		return k
	}
	h := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(h[:])
}

// Blocked reports how long until one more attempt is allowed under every
// limit; zero means now.
func (t *Throttle) Blocked(ctx context.Context, limits ...Limit) (time.Duration, error) {
	now := t.clock()
	var any []predicate.Throttle
	for _, l := range limits {
		any = append(any, throttle.And(throttle.Kind(l.Kind), throttle.Key(throttleKey(l.Key))))
	}
	rows, err := t.client.Throttle.Query().
		Where(throttle.Or(any...), throttle.WindowStartGT(now.Add(-t.window))).All(sys(ctx))
	if err != nil {
		return 0, err
	}
	var wait time.Duration
	for _, r := range rows {
		for _, l := range limits {
			if r.Kind == l.Kind && r.Key == throttleKey(l.Key) && r.Count >= l.Max {
				wait = max(wait, r.WindowStart.Add(t.window).Sub(now))
			}
		}
	}
	return wait, nil
}

// Fail counts a failure against every limit's key.
func (t *Throttle) Fail(ctx context.Context, limits ...Limit) error {
	now := t.clock()
	ctx = sys(ctx)
	for _, l := range limits {
		key := throttleKey(l.Key)
		// an expired window starts again from this failure
		if _, err := t.client.Throttle.Delete().Where(throttle.Kind(l.Kind), throttle.Key(key),
			throttle.WindowStartLTE(now.Add(-t.window))).Exec(ctx); err != nil {
			return err
		}
		// one statement, so concurrent failures in several processes all count
		err := t.client.Throttle.Create().SetKind(l.Kind).SetKey(key).SetCount(1).SetWindowStart(now).
			OnConflictColumns(throttle.FieldKind, throttle.FieldKey).
			Update(func(u *ent.ThrottleUpsert) { u.AddCount(1) }).Exec(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

// Reset forgets the failures counted for kind and key.
func (t *Throttle) Reset(ctx context.Context, kind, key string) error {
	_, err := t.client.Throttle.Delete().Where(throttle.Kind(kind), throttle.Key(throttleKey(key))).Exec(sys(ctx))
	return err
}

// Sweep removes the counts whose window has passed.
func (t *Throttle) Sweep(ctx context.Context) error {
	_, err := t.client.Throttle.Delete().Where(throttle.WindowStartLTE(t.clock().Add(-t.window))).Exec(sys(ctx))
	return err
}
