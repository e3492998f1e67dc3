package auth

import (
	"strings"
	"testing"
	"time"
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

func TestThrottle(t *testing.T) {
	now := time.Unix(0, 0)
	th := NewThrottle(time.Minute, 3, 5)
	th.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if b, _ := th.Blocked("u", "1.2.3.4"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		th.Fail("u", "1.2.3.4")
	}
	if b, wait := th.Blocked("u", "5.6.7.8"); !b || wait != time.Minute {
		t.Fatalf("user not blocked from another address: %v %v", b, wait)
	}
	if b, _ := th.Blocked("v", "1.2.3.4"); b {
		t.Fatal("address blocked before its own limit")
	}
	th.Fail("v", "1.2.3.4")
	th.Fail("w", "1.2.3.4")
	if b, _ := th.Blocked("x", "1.2.3.4"); !b {
		t.Fatal("address not blocked after 5 failures")
	}
	now = now.Add(61 * time.Second)
	if b, _ := th.Blocked("u", "1.2.3.4"); b {
		t.Fatal("still blocked after the window")
	}
	th.Sweep()
	if len(th.failures) != 0 {
		t.Fatalf("sweep left %v", th.failures)
	}
}
