package sshpool

import (
	"errors"
	"fmt"
)

// ErrTransport matches (with errors.Is) every failure to reach the server or
// to keep talking to it: dial, handshake, authentication, connection lost.
// The script may not have run, or may have been cut short; the caller retries
// with backoff. A script that ran and failed is not a transport error.
var ErrTransport = errors.New("ssh transport failure")

// ErrClosed is returned by a pool after Close.
var ErrClosed = errors.New("sshpool: pool closed")

// TransportError is a failure to reach or keep talking to a server.
type TransportError struct {
	Target string // Target.String()
	Op     string // what was being done: "dial", "handshake", "open session", ...
	Err    error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("sshpool: %s: %s: %v", e.Target, e.Op, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTransport) hold.
func (e *TransportError) Is(target error) bool { return target == ErrTransport }

// HostKeyMismatch means the server offered a key other than the pinned one:
// either the server was reinstalled or someone is in between. It is never
// retried nor accepted automatically; staff must check and re-pin.
type HostKeyMismatch struct {
	Target string // Target.String()
	Got    string // the key the server offered, authorized_keys format
	Want   string // the pinned key
}

func (e *HostKeyMismatch) Error() string {
	return fmt.Sprintf("sshpool: %s: host key mismatch: the server offered %s but %s is pinned; refusing to connect (reinstalled server or man in the middle?)",
		e.Target, e.Got, e.Want)
}

// UnknownHostKey means the target has no pinned key yet. Got is what the
// server offered, to show staff so they can confirm it (trust on first use,
// but only with a person's confirmation).
type UnknownHostKey struct {
	Target string // Target.String()
	Got    string // authorized_keys format
}

func (e *UnknownHostKey) Error() string {
	return fmt.Sprintf("sshpool: %s: no host key pinned; the server offers %s (confirm it to trust it)", e.Target, e.Got)
}
