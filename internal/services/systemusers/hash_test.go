package systemusers

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHashPassword: the hash is SHA-512 crypt with explicit rounds, salted
// anew each time, and the system's own crypt(3) (through perl, which every
// Debian has) accepts the password against it and refuses another.
func TestHashPassword(t *testing.T) {
	h1, err := HashPassword("Secret-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("Secret-pass-1")
	if !strings.HasPrefix(h1, "$6$rounds=100000$") || h1 == h2 {
		t.Fatalf("hashes %q, %q", h1, h2)
	}
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl to run crypt(3)")
	}
	for pw, want := range map[string]bool{"Secret-pass-1": true, "Secret-pass-2": false} {
		out, err := exec.Command("perl", "-e", `print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "match" : "no"`, pw, h1).Output()
		if err != nil {
			t.Fatal(err)
		}
		if (string(out) == "match") != want {
			t.Errorf("crypt(3) with %q: %s", pw, out)
		}
	}
}
