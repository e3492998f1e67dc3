package auth

import (
	"sync"
	"time"
)

// Throttle limits failed logins per username and per client address within
// a sliding window, so guessing passwords is slow for one account and for
// one attacker alike.
type Throttle struct {
	Window  time.Duration
	PerUser int
	PerAddr int

	mu       sync.Mutex
	failures map[string][]time.Time
	now      func() time.Time
}

// NewThrottle allows perUser failures per username and perAddr per address
// in each window.
func NewThrottle(window time.Duration, perUser, perAddr int) *Throttle {
	return &Throttle{Window: window, PerUser: perUser, PerAddr: perAddr, failures: map[string][]time.Time{}, now: time.Now}
}

func (t *Throttle) recent(key string, now time.Time) []time.Time {
	l := t.failures[key]
	i := 0
	for i < len(l) && now.Sub(l[i]) >= t.Window {
		i++
	}
	l = l[i:]
	if len(l) == 0 {
		delete(t.failures, key)
	} else {
		t.failures[key] = l
	}
	return l
}

// Blocked reports whether a login for user from addr must be refused now,
// and how long until one more attempt is allowed.
func (t *Throttle) Blocked(user, addr string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	check := func(key string, limit int) {
		if l := t.recent(key, now); len(l) >= limit {
			if w := t.Window - now.Sub(l[len(l)-limit]); w > wait {
				wait = w
			}
		}
	}
	check("u:"+user, t.PerUser)
	check("a:"+addr, t.PerAddr)
	return wait > 0, wait
}

// Fail records a failed login.
func (t *Throttle) Fail(user, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range []string{"u:" + user, "a:" + addr} {
		t.failures[k] = append(t.recent(k, now), now)
	}
}

// Succeed forgets the user's failures (not the address's: one good password
// must not reset an attacker's count against other accounts).
func (t *Throttle) Succeed(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "u:"+user)
}

// Sweep drops expired entries; call it periodically to bound memory.
func (t *Throttle) Sweep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for k := range t.failures {
		t.recent(k, now)
	}
}
