package sealed

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newKey(t *testing.T) *Key {
	t.Helper()
	raw := make([]byte, KeySize)
	rand.Read(raw)
	k, err := NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	k := newKey(t)
	for _, plain := range [][]byte{nil, []byte("x"), []byte("-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n"), bytes.Repeat([]byte{0, 0xff}, 5000)} {
		v, err := k.Seal("DKIMKey.private_key", plain)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(v, "v1:"+k.ID()+":") {
			t.Errorf("sealed value %q does not start with its format and key", v)
		}
		if len(plain) > 4 && strings.Contains(v, string(plain)) {
			t.Errorf("the sealed value shows its plain text")
		}
		got, err := k.Open("DKIMKey.private_key", v)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("opened %q (%v), sealed %q", got, err, plain)
		}
	}
	// the same text sealed twice reads differently (a fresh nonce each time)
	a, _ := k.Seal("p", []byte("same"))
	b, _ := k.Seal("p", []byte("same"))
	if a == b {
		t.Error("two seals of the same text are equal")
	}
}

func TestTamperDetected(t *testing.T) {
	k := newKey(t)
	v, err := k.Seal("DKIMKey.private_key", []byte("secret key material"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := "v1:" + k.ID() + ":"
	data := []byte(strings.TrimPrefix(v, prefix))
	for i := range data {
		changed := append([]byte(nil), data...)
		if changed[i] == 'A' {
			changed[i] = 'B'
		} else {
			changed[i] = 'A'
		}
		if got, err := k.Open("DKIMKey.private_key", prefix+string(changed)); err == nil {
			t.Fatalf("a value changed at byte %d opened: %q", i, got)
		}
	}
	for _, bad := range []string{"", "v1", "v1:" + k.ID(), prefix, prefix + "AAAA", v[:len(v)-3], "v2" + strings.TrimPrefix(v, "v1"), v + "AA"} {
		if got, err := k.Open("DKIMKey.private_key", bad); err == nil {
			t.Errorf("%q opened: %q", bad, got)
		}
	}
	// sealed for one purpose, it does not open as another's
	if _, err := k.Open("Certificate.private_key", v); !errors.Is(err, ErrOpen) {
		t.Errorf("opened for another purpose: %v", err)
	}
}

func TestWrongKey(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	v, err := k1.Seal("p", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = k2.Open("p", v)
	if err == nil || !strings.Contains(err.Error(), k1.ID()) || !strings.Contains(err.Error(), k2.ID()) {
		t.Errorf("another key's value: %v, want an error naming both keys", err)
	}
	// a value claiming k2's id but sealed with k1 does not open either
	forged := strings.Replace(v, k1.ID(), k2.ID(), 1)
	if _, err := k2.Open("p", forged); !errors.Is(err, ErrOpen) {
		t.Errorf("a value sealed with another key under this key's id: %v", err)
	}
	if _, err := NewKey(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was taken")
	}
}

func TestNoKeyLoaded(t *testing.T) {
	prev := key()
	t.Cleanup(func() { Use(prev) })
	Use(nil)
	if _, err := Seal("p", []byte("x")); !errors.Is(err, ErrNoKey) {
		t.Errorf("sealing without a key: %v", err)
	}
	if _, err := Open("p", "v1:00000000:AAAA"); !errors.Is(err, ErrNoKey) {
		t.Errorf("opening without a key: %v", err)
	}
	k := newKey(t)
	Use(k)
	v, err := Seal("p", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open("p", v); err != nil || string(got) != "x" {
		t.Errorf("%q %v", got, err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var", "secret.key")
	// several processes starting at once agree on one key
	keys := make([]*Key, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k == nil || keys[0] == nil || k.ID() != keys[0].ID() {
			t.Fatalf("different keys from one file")
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || st.Size() != KeySize {
		t.Errorf("key file mode %v size %d, want 0600 and %d bytes", st.Mode().Perm(), st.Size(), KeySize)
	}
	if d, _ := os.Stat(filepath.Dir(path)); d.Mode().Perm() != 0o700 {
		t.Errorf("its folder: %v", d.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".secret.key.*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// the same key when read again; what it sealed opens
	v, _ := keys[0].Seal("p", []byte("kept"))
	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open("p", v); err != nil || string(got) != "kept" {
		t.Errorf("read again: %q %v", got, err)
	}
	// a file of another size is refused, never replaced
	bad := filepath.Join(t.TempDir(), "short.key")
	os.WriteFile(bad, []byte("short"), 0o600)
	if _, err := LoadOrCreateKey(bad); err == nil {
		t.Error("a 5-byte key file was taken")
	}
	if b, _ := os.ReadFile(bad); string(b) != "short" {
		t.Error("a bad key file was replaced")
	}
}
