package auth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("Correct-horse-9")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id with the chosen parameters", h)
	}
	if ok, _ := CheckPassword(h, "Correct-horse-9"); !ok {
		t.Error("right password rejected")
	}
	if ok, _ := CheckPassword(h, "correct-horse-9"); ok {
		t.Error("wrong password accepted")
	}
	for _, bad := range []string{"", "plain", "$6$rounds=1$x$y", "$argon2id$v=19$m=1,t=1,p=1$!!$!!"} {
		if ok, _ := CheckPassword(bad, "x"); ok {
			t.Errorf("hash %q matched", bad)
		}
	}
	h2, _ := HashPassword("Correct-horse-9")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
}

func TestPasswordProblem(t *testing.T) {
	for pw, bad := range map[string]bool{
		"short1A":             true,
		"alicealice":          true, // too similar to the username
		"aaaaaaaaaaaa":        true,
		"abcdefghij":          true, // one class, under 16
		"my-password-1":       true, // common
		"Wonder-land-42":      false,
		"correcthorsebattery": false, // 16+ letters
	} {
		if got := PasswordProblem(pw, "alice") != ""; got != bad {
			t.Errorf("PasswordProblem(%q) refused=%v, want %v", pw, got, bad)
		}
	}
}

func TestTokens(t *testing.T) {
	tok, prefix, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, TokenPrefix) || !strings.HasPrefix(tok, prefix) || len(tok) < 40 {
		t.Fatalf("token %q prefix %q", tok, prefix)
	}
	if string(HashToken(tok)) != string(hash) {
		t.Error("hash differs")
	}
	tok2, _, _, _ := NewToken()
	if tok == tok2 {
		t.Error("tokens repeat")
	}
}

// TestThrottle: failures counted by one process block the next attempt in
// another (the counts are in the database), per username and per address;
// a window's end unblocks; Sweep removes old counts.
func TestThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		clock := func() time.Time { return now }
		// two panel processes over one database
		a, b := NewThrottle(st.Client, time.Minute), NewThrottle(st.Client, time.Minute)
		a.SetClock(clock)
		b.SetClock(clock)
		login := func(user, addr string) []Limit {
			return []Limit{{Kind: KindLoginUser, Key: user, Max: 3}, {Kind: KindLoginAddr, Key: addr, Max: 5}}
		}
		blocked := func(th *Throttle, l ...Limit) time.Duration {
			t.Helper()
			wait, err := th.Blocked(ctx, l...)
			if err != nil {
				t.Fatal(err)
			}
			return wait
		}
		fail := func(th *Throttle, l ...Limit) {
			t.Helper()
			if err := th.Fail(ctx, l...); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			if w := blocked(b, login("u", "1.2.3.4")...); w != 0 {
				t.Fatalf("blocked after %d failures", i)
			}
			fail(a, login("u", "1.2.3.4")...)
		}
		if w := blocked(b, login("u", "5.6.7.8")...); w != time.Minute {
			t.Fatalf("user not blocked in the other process, from another address: wait %v", w)
		}
		if w := blocked(b, login("v", "1.2.3.4")...); w != 0 {
			t.Fatal("address blocked before its own limit")
		}
		fail(b, login("v", "1.2.3.4")...)
		now = now.Add(10 * time.Second)
		fail(a, login("w", "1.2.3.4")...)
		if w := blocked(a, login("x", "1.2.3.4")...); w != 50*time.Second {
			t.Fatalf("address after 5 failures: wait %v, want the rest of its window", w)
		}
		// concurrent failures all count
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { a.Fail(ctx, Limit{Kind: KindPassword, Key: "7", Max: 8}) })
		}
		wg.Wait()
		if w := blocked(b, Limit{Kind: KindPassword, Key: "7", Max: 8}); w == 0 {
			t.Fatal("8 concurrent failures did not reach a limit of 8")
		}
		if err := b.Reset(ctx, KindLoginUser, "u"); err != nil {
			t.Fatal(err)
		}
		if w := blocked(a, Limit{Kind: KindLoginUser, Key: "u", Max: 3}); w != 0 {
			t.Fatal("still blocked after Reset")
		}
		now = now.Add(61 * time.Second)
		if w := blocked(a, login("x", "1.2.3.4")...); w != 0 {
			t.Fatal("still blocked after the window")
		}
		// a new window starts from the next failure
		fail(a, login("u", "1.2.3.4")...)
		if w := blocked(a, Limit{Kind: KindLoginAddr, Key: "1.2.3.4", Max: 2}); w != 0 {
			t.Fatal("the old window's failures still count")
		}
		if err := a.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		left, err := st.Throttle.Query().All(viewer.System(ctx, viewer.ChannelSystem))
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 2 {
			t.Fatalf("sweep left %d counts, want the 2 of the current window", len(left))
		}
		// a key of any length is counted
		long := strings.Repeat("x", 10000)
		fail(a, Limit{Kind: KindLoginUser, Key: long, Max: 1})
		if w := blocked(a, Limit{Kind: KindLoginUser, Key: long, Max: 1}); w == 0 {
			t.Fatal("a long key was not counted")
		}
	})
}

// TestSessionStore: a row is found by its token, but the table holds only
// the token's hash, so what a database reader sees does not log in; the
// logged-in account is noted, and a password change ends that account's
// other sessions only.
func TestSessionStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		sys := viewer.System(ctx, viewer.ChannelCLI)
		ss := SessionStore{Client: st.Client}
		var acc, other *ent.Account
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			var err error
			if acc, err = tx.Account.Create().SetUsername("sam").SetPassword("!").SetFullName("Sam").SetType("INDIVIDUAL").SetLanguage("EN").
				SetEmail("sam@example.com").Save(ctx); err != nil {
				return err
			}
			other, err = tx.Account.Create().SetUsername("tess").SetPassword("!").SetFullName("Tess").SetType("INDIVIDUAL").SetLanguage("EN").
				SetEmail("tess@example.com").Save(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		data := func(id int) []byte {
			b, err := scs.GobCodec{}.Encode(time.Now().Add(time.Hour), map[string]any{SessionAccountKey: id})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		exp := time.Now().Add(time.Hour)
		for tok, id := range map[string]int{"tok-here": acc.ID, "tok-phone": acc.ID, "tok-other": other.ID} {
			if err := ss.CommitCtx(ctx, tok, data(id), exp); err != nil {
				t.Fatal(err)
			}
		}
		if _, found, err := ss.FindCtx(ctx, "tok-here"); err != nil || !found {
			t.Fatalf("session not found by its token: %v", err)
		}
		rows, err := st.Session.Query().All(sys)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if strings.HasPrefix(r.ID, "tok-") {
				t.Fatalf("the session table holds a token: %q", r.ID)
			}
			if r.AccountID == nil {
				t.Fatalf("session %s has no account", r.ID)
			}
			// the stored key, presented as a cookie, is no session
			if _, found, _ := ss.FindCtx(ctx, r.ID); found {
				t.Fatal("the stored key works as a token")
			}
		}
		// a password change made in session "tok-here" ends sam's other one
		ctx, ended := CountEndedSessions(WithSession(sys, "tok-here"))
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Account.UpdateOneID(acc.ID).SetPassword("!new").Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		if *ended != 1 {
			t.Errorf("%d sessions ended, want 1", *ended)
		}
		for tok, want := range map[string]bool{"tok-here": true, "tok-phone": false, "tok-other": true} {
			if _, found, _ := ss.FindCtx(ctx, tok); found != want {
				t.Errorf("session %s found=%v after the password change, want %v", tok, found, want)
			}
		}
		// other changes to the account end nothing
		err = st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Account.UpdateOneID(other.ID).SetFullName("Tess T").Exec(ctx)
		})
		if _, found, _ := ss.FindCtx(ctx, "tok-other"); err != nil || !found {
			t.Errorf("a name change ended a session (%v)", err)
		}
	})
}
