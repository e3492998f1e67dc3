// Package sshpool runs scripts on servers over a pool of SSH connections.
//
// Connections are kept open and multiplexed (several sessions each), and each
// session runs a worker shell that takes script after script, so a run costs
// one round trip and a fork on the server: no TCP or SSH handshake, no channel
// open, no login shell. Host keys are pinned: a server is only talked to when
// it presents exactly the key recorded for it.
package sshpool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Target is a server as the pool reaches it.
type Target struct {
	Name    string // label for errors and logs
	Address string // host name or IP address
	Port    int    // 0 means 22
	User    string // "" means root
	// HostKey is the pinned key in authorized_keys format ("ssh-ed25519
	// AAAA..."); empty means not known yet, and every connection is refused
	// with *UnknownHostKey.
	HostKey string
}

func (t Target) port() int {
	if t.Port == 0 {
		return 22
	}
	return t.Port
}

func (t Target) user() string {
	if t.User == "" {
		return "root"
	}
	return t.User
}

func (t Target) addr() string { return net.JoinHostPort(t.Address, strconv.Itoa(t.port())) }

func (t Target) String() string {
	s := t.user() + "@" + t.addr()
	if t.Name != "" {
		s = t.Name + " (" + s + ")"
	}
	return s
}

// Config tunes a Pool. Zero values take the defaults.
type Config struct {
	Signer ssh.Signer // the panel's private key (required)
	// DialTimeout bounds TCP connect plus SSH handshake and authentication.
	DialTimeout time.Duration // default 10s
	// KeepAlive is the interval of keepalive@openssh.com requests; a
	// connection that does not answer within another interval is dropped.
	// Negative disables them.
	KeepAlive time.Duration // default 30s
	// MaxSessionsPerConn stays below OpenSSH's MaxSessions (default 10) so
	// one more session is always left to kill a timed-out script.
	MaxSessionsPerConn int // default 8
	// IdleTimeout closes connections without runs for that long
	// (checked at each keepalive). Zero keeps them open.
	IdleTimeout time.Duration
	// KillTimeout bounds killing the remote processes of a cancelled run.
	KillTimeout time.Duration // default 10s
}

// Pool holds SSH connections to any number of targets. It is safe for
// concurrent use.
type Pool struct {
	cfg    Config
	ctx    context.Context // cancelled by Close: aborts dials in progress
	cancel context.CancelFunc

	mu     sync.Mutex
	hosts  map[string]*host
	closed bool
}

// host is the set of connections to one (user, address, port, host key).
type host struct {
	conns []*conn
	dials int // connections ever dialled, for tests and stats
}

type conn struct {
	h     *host
	ready chan struct{} // closed once the dial finished; then client or err is set
	// client is nil until ready is closed, err set if the dial failed
	client *ssh.Client
	err    error
	gone   chan struct{} // closed when the connection ended

	// guarded by Pool.mu
	workers   int       // worker sessions open or being opened (at most MaxSessionsPerConn)
	idle      []*worker // open workers waiting for a run
	busy      int       // runs in progress
	full      bool      // the server refused a channel: no more until a worker ends
	dead      bool      // removed from h.conns; no new runs
	idleSince time.Time
}

// New returns a pool; it dials lazily, on the first run for each target.
func New(cfg Config) (*Pool, error) {
	if cfg.Signer == nil {
		return nil, errors.New("sshpool: Config.Signer is required")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	if cfg.MaxSessionsPerConn <= 0 {
		cfg.MaxSessionsPerConn = 8
	}
	if cfg.KillTimeout <= 0 {
		cfg.KillTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{cfg: cfg, ctx: ctx, cancel: cancel, hosts: map[string]*host{}}, nil
}

// PublicKey is the panel's public key, which servers authorize.
func (p *Pool) PublicKey() ssh.PublicKey { return p.cfg.Signer.PublicKey() }

// Close closes every connection. Runs in progress fail with a transport
// error; later ones with ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var clients []*ssh.Client
	for _, h := range p.hosts {
		for _, c := range h.conns {
			c.dead = true
			if c.client != nil {
				clients = append(clients, c.client)
			}
		}
		h.conns = nil
	}
	p.mu.Unlock()
	p.cancel()
	for _, cl := range clients {
		cl.Close()
	}
	return nil
}

// pinned parses Target.HostKey; nil means none pinned.
func pinned(t Target) (ssh.PublicKey, error) {
	s := strings.TrimSpace(t.HostKey)
	if s == "" {
		return nil, nil
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("sshpool: %s: invalid pinned host key %q: %w", t, s, err)
	}
	return key, nil
}

// hostKeyAlgorithms puts the pinned key's algorithms first so a server with
// several host keys presents the pinned one. The rest follow so that a server
// lacking that key type still presents one, reported as a mismatch rather than
// as an opaque negotiation failure.
func hostKeyAlgorithms(want ssh.PublicKey) []string {
	all := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	if want == nil {
		return all
	}
	first := []string{want.Type()}
	if want.Type() == ssh.KeyAlgoRSA {
		first = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	for _, a := range all {
		if !slices.Contains(first, a) {
			first = append(first, a)
		}
	}
	return first
}

func formatKey(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// acquire picks an idle worker on a connection to t, or reserves a slot for
// a new worker (w == nil), dialling a connection if all are full. Callers
// arriving while a dial is under way reserve slots on it and wait, so a burst
// of N runs opens ceil(N/MaxSessionsPerConn) connections, not N. reused
// reports that the connection was already up, so it may have died unnoticed
// and a failure on it before the script started is worth one more try.
func (p *Pool) acquire(ctx context.Context, t Target) (c *conn, w *worker, reused bool, err error) {
	want, err := pinned(t)
	if err != nil {
		return nil, nil, false, err
	}
	key := t.user() + "@" + t.addr()
	if want != nil {
		key += " " + string(want.Marshal())
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, nil, false, ErrClosed
	}
	h := p.hosts[key]
	if h == nil {
		h = &host{}
		p.hosts[key] = h
	}
	for _, x := range h.conns {
		if n := len(x.idle); n > 0 {
			c, w = x, x.idle[n-1]
			x.idle = x.idle[:n-1]
			break
		}
	}
	if c == nil {
		for _, x := range h.conns {
			if !x.full && x.workers < p.cfg.MaxSessionsPerConn {
				c = x
				c.workers++
				break
			}
		}
	}
	if c == nil {
		c = &conn{h: h, ready: make(chan struct{}), gone: make(chan struct{}), workers: 1}
		h.conns = append(h.conns, c)
		h.dials++
		go p.dial(c, t, want)
	}
	c.busy++
	reused = c.client != nil
	p.mu.Unlock()

	select {
	case <-c.ready:
	case <-ctx.Done():
		p.release(c, w, false)
		return nil, nil, false, fmt.Errorf("sshpool: %s: %s while connecting: %w", t, ctxVerb(ctx), ctx.Err())
	}
	if c.err != nil {
		p.release(c, w, false)
		return nil, nil, false, c.err
	}
	return c, w, reused, nil
}

// release ends a run on c. A healthy worker waits for the next run; any other
// (or the unused slot of one never started, w == nil) frees its slot.
func (p *Pool) release(c *conn, w *worker, healthy bool) {
	p.mu.Lock()
	c.busy--
	if healthy && w != nil && !c.dead {
		c.idle = append(c.idle, w)
	} else {
		c.workers--
		c.full = false
	}
	if c.busy == 0 {
		c.idleSince = time.Now()
	}
	p.mu.Unlock()
	if !healthy && w != nil {
		w.s.Close()
	}
}

// drop takes c out of the pool and closes it; sessions on it fail.
func (p *Pool) drop(c *conn) {
	p.mu.Lock()
	p.unlink(c)
	p.mu.Unlock()
	if c.client != nil {
		c.client.Close()
	}
}

// unlink removes c from its host; p.mu held.
func (p *Pool) unlink(c *conn) {
	if c.dead {
		return
	}
	c.dead = true
	c.idle = nil // their sessions end with the connection
	c.h.conns = slices.DeleteFunc(c.h.conns, func(x *conn) bool { return x == c })
}

func (p *Pool) dial(c *conn, t Target, want ssh.PublicKey) {
	client, err := p.connect(p.ctx, t, want)
	p.mu.Lock()
	if err == nil && p.closed {
		client.Close()
		err = ErrClosed
	}
	if err != nil {
		c.err = err
		p.unlink(c)
	} else {
		c.client = client
		c.idleSince = time.Now()
	}
	p.mu.Unlock()
	close(c.ready)
	if err != nil {
		return
	}
	go func() {
		client.Wait() // returns when the connection ends, whatever the cause
		close(c.gone)
		p.drop(c)
	}()
	if p.cfg.KeepAlive > 0 {
		go p.keepalive(c)
	}
}

// connect dials and authenticates, checking the host key against want.
func (p *Pool) connect(ctx context.Context, t Target, want ssh.PublicKey) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	d := net.Dialer{KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", t.addr())
	if err != nil {
		return nil, &TransportError{Target: t.String(), Op: "dial", Err: err}
	}
	// the handshake has no context of its own: bound it by deadline and
	// abort it on Close
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()

	var keyErr error
	cfg := &ssh.ClientConfig{
		User: t.user(),
		Auth: []ssh.AuthMethod{ssh.PublicKeys(p.cfg.Signer)},
		HostKeyCallback: func(_ string, _ net.Addr, got ssh.PublicKey) error {
			switch {
			case want == nil:
				keyErr = &UnknownHostKey{Target: t.String(), Got: formatKey(got)}
			case !bytes.Equal(got.Marshal(), want.Marshal()):
				keyErr = &HostKeyMismatch{Target: t.String(), Got: formatKey(got), Want: formatKey(want)}
			}
			return keyErr
		},
		HostKeyAlgorithms: hostKeyAlgorithms(want),
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, t.addr(), cfg)
	if err != nil {
		nc.Close()
		if keyErr != nil {
			return nil, keyErr
		}
		if ctx.Err() != nil && p.ctx.Err() == nil {
			err = fmt.Errorf("no SSH handshake within %s: %w", p.cfg.DialTimeout, err)
		}
		return nil, &TransportError{Target: t.String(), Op: "handshake", Err: err}
	}
	if !stop() { // Close or the deadline won the race and closed nc
		sc.Close()
		return nil, &TransportError{Target: t.String(), Op: "handshake", Err: ctx.Err()}
	}
	nc.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// keepalive notices dead peers that TCP would take minutes to report (and
// keeps NAT and firewall state alive); it also closes idle connections.
func (p *Pool) keepalive(c *conn) {
	tick := time.NewTicker(p.cfg.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-c.gone:
			return
		case <-tick.C:
		}
		if p.cfg.IdleTimeout > 0 {
			p.mu.Lock()
			idle := c.busy == 0 && !c.dead && time.Since(c.idleSince) >= p.cfg.IdleTimeout
			if idle {
				p.unlink(c) // under the lock, so no run can pick it meanwhile
			}
			p.mu.Unlock()
			if idle {
				c.client.Close()
				return
			}
		}
		reply := make(chan error, 1)
		go func() {
			// OpenSSH answers unknown global requests with a failure: any
			// answer at all proves the connection alive.
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		timer := time.NewTimer(p.cfg.KeepAlive)
		select {
		case err := <-reply:
			timer.Stop()
			if err != nil {
				p.drop(c)
				return
			}
		case <-timer.C:
			p.drop(c)
			return
		case <-c.gone:
			timer.Stop()
			return
		}
	}
}

// FetchHostKey connects just far enough to read the server's host key
// (authorized_keys format), for staff to confirm before pinning it.
// Without a deadline in ctx, it gives up after 10 seconds.
func FetchHostKey(ctx context.Context, address string, port int) (string, error) {
	t := Target{Address: address, Port: port}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", t.addr())
	if err != nil {
		return "", &TransportError{Target: t.String(), Op: "dial", Err: err}
	}
	defer nc.Close()
	if deadline, ok := ctx.Deadline(); ok {
		nc.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	var got string
	errGot := errors.New("host key read") // aborts the handshake once the key is known
	cfg := &ssh.ClientConfig{
		User: "orchestra",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			got = formatKey(key)
			return errGot
		},
		HostKeyAlgorithms: hostKeyAlgorithms(nil),
	}
	_, _, _, err = ssh.NewClientConn(nc, t.addr(), cfg)
	if got != "" {
		return got, nil
	}
	return "", &TransportError{Target: t.String(), Op: "handshake", Err: err}
}

func ctxVerb(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timed out"
	}
	return "cancelled"
}
