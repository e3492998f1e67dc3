// Package sealed encrypts secrets the panel keeps but must read again (the
// private keys of DKIM, later of certificates) with AES-256-GCM under a key
// the operator provides: a file of 32 random bytes beside the database's
// backups, never in the database itself. A sealed value reads
//
//	v1:KEYID:BASE64
//
// where v1 is the format (AES-256-GCM, a random 96-bit nonce before the
// ciphertext and its tag), KEYID the first 8 hex digits of the key's
// SHA-256 (which key sealed it: what a rotation of the key will look up)
// and BASE64 (standard, unpadded) the nonce, ciphertext and tag. What a
// value is for (its purpose, e.g. "DKIMKey.private_key") is authenticated
// with it, so that a value sealed for one purpose does not open as
// another's.
//
// The process's key is loaded once at start (LoadOrCreateKey, then Use);
// sealing or opening without one is an error, never a key made up on the
// spot.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// version is the format of the values Seal writes.
const version = "v1"

// Key is a sealing key.
type Key struct {
	aead cipher.AEAD
	id   string
}

// NewKey makes a Key of 32 bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("sealed: a key is %d bytes, not %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	return &Key{aead: aead, id: hex.EncodeToString(sum[:4])}, nil
}

// ID names the key in the values it seals: the first 8 hex digits of its
// SHA-256.
func (k *Key) ID() string { return k.id }

// ErrNoKey is returned by Seal and Open in a process that loaded no key.
var ErrNoKey = errors.New("sealed: no secret key loaded (ORCHESTRA_SECRET_KEY)")

// ErrOpen is returned for a value that does not open: altered, cut, or
// sealed for another purpose.
var ErrOpen = errors.New("sealed: the value does not open: altered, or sealed for another purpose")

var (
	mu      sync.RWMutex
	current *Key
)

// Use makes k the process's key (nil: none).
func Use(k *Key) {
	mu.Lock()
	defer mu.Unlock()
	current = k
}

// Loaded reports whether the process has a key.
func Loaded() bool {
	mu.RLock()
	defer mu.RUnlock()
	return current != nil
}

func key() *Key {
	mu.RLock()
	defer mu.RUnlock()
	return current
}

// Seal encrypts plain for purpose with the process's key.
func Seal(purpose string, plain []byte) (string, error) {
	k := key()
	if k == nil {
		return "", ErrNoKey
	}
	return k.Seal(purpose, plain)
}

// Open decrypts a value Seal returned for purpose.
func Open(purpose, value string) ([]byte, error) {
	k := key()
	if k == nil {
		return nil, ErrNoKey
	}
	return k.Open(purpose, value)
}

// Seal encrypts plain for purpose with k.
func (k *Key) Seal(purpose string, plain []byte) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := k.aead.Seal(nonce, nonce, plain, []byte(purpose))
	return version + ":" + k.id + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value k sealed for purpose.
func (k *Key) Open(purpose, value string) ([]byte, error) {
	ver, rest, ok := strings.Cut(value, ":")
	if !ok || ver != version {
		return nil, fmt.Errorf("sealed: not a sealed value (format %q)", ver)
	}
	id, data, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("sealed: not a sealed value")
	}
	if id != k.id {
		return nil, fmt.Errorf("sealed: the value was sealed with key %s; this panel's key is %s (ORCHESTRA_SECRET_KEY names another file?)", id, k.id)
	}
	raw, err := base64.RawStdEncoding.Strict().DecodeString(data) // one spelling per value
	if err != nil || len(raw) < k.aead.NonceSize()+k.aead.Overhead() {
		return nil, ErrOpen
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// LoadOrCreateKey reads the key in path (32 bytes), or, when the file does
// not exist, writes a new random one there (mode 0600, its folder made
// 0700 if missing). A file of another size is an error: it is never
// replaced.
func LoadOrCreateKey(path string) (*Key, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	k, err := NewKey(raw)
	if err != nil {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	return k, nil
}

func createKey(path string) (*Key, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	// written whole beside it, then linked into place: link fails if the
	// file exists, so two processes starting at once agree on one key and
	// neither reads the other's half-written file
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return NewKey(raw)
}
