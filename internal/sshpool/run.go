package sshpool

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// workerProg is the bash program of a worker session: it takes scripts one
// after another from stdin, each framed as a line "<token> <length>" and
// exactly length bytes, and runs each in a subshell.
//
// A script is read whole before any of it runs: a connection lost
// mid-transfer leaves read short and the worker exits without running a
// truncated script (its last line cut anywhere, "rm -rf /srv/site/tmp"
// becoming "rm -rf /srv/site"). read -N counts characters, so it reads in the
// C locale, where they are bytes (and Run refuses NUL bytes, which read would
// drop). The subshell keeps one script's state (variables, cwd, traps, exit,
// set -e) from the next; its stdin is /dev/null, so a command reading stdin
// cannot swallow the next frame. "orchestra-run <token> <pid>" tells the
// client the script arrived whole and started, and the worker's PID, which is
// also the session ID of everything it starts ("orchestra-run <token>" on
// stderr: what comes before is not the script's); "orchestra-done <token> <exit
// code>" on stdout and "orchestra-done <token>" on stderr end the run's output
// on both streams. Tokens are random per run: output cannot forge them.
const workerProg = `set --
while IFS=" " read -r __t __n; do
  LC_ALL=C IFS= read -r -d "" -N "$__n" __s || exit 255
  printf "orchestra-run %s %s\n" "$__t" "$$"
  printf "orchestra-run %s\n" "$__t" >&2
  (unset __t __n; eval "$__s") </dev/null
  __rc=$?
  printf "orchestra-done %s %s\n" "$__t" "$__rc"
  printf "orchestra-done %s\n" "$__t" >&2
done`

// remoteCommand is what the target user's login shell (any POSIX sh) runs.
// sshd makes each session's command a session leader and exec keeps its PID,
// so the worker's PID is the session to kill when a run times out.
//
// bash sources ~/.bashrc when started by sshd, and exec resets the shell level
// so the second bash would source it again; the login shell has already done
// so and exported what it set: --norc avoids paying for it twice.
const remoteCommand = "exec /bin/bash --norc --noprofile -c '" + workerProg + "' orchestra-worker"

// killProg kills session $1: its process group at once, then any process of
// the session that moved to a group of its own (e.g. jobs under set -m),
// found through /proc so the server needs nothing beyond bash (no procps).
// Processes that left the session with setsid are daemons by intent and out
// of reach, as with any session kill.
const killProg = `sid=$1
kill -KILL -- "-$sid" 2>/dev/null
for pass in 1 2; do
  for f in /proc/[0-9]*/stat; do
    { read -r l <"$f"; } 2>/dev/null || continue
    set -f; set -- ${l##*) }; set +f
    [ "$4" = "$sid" ] && kill -KILL "${f//[!0-9]/}" 2>/dev/null
  done
done
exit 0`

func killCommand(pid int) string {
	return "exec /bin/bash --norc --noprofile -c '" + killProg + "' orchestra-kill " + strconv.Itoa(pid)
}

// ErrNUL is returned for a script holding a NUL byte, which bash cannot hold.
var ErrNUL = errors.New("sshpool: the script contains a NUL byte")

// worker is a worker session (workerProg) on a pooled connection.
type worker struct {
	s              *ssh.Session
	stdin          io.Writer
	stdout, stderr *stream
	pid            atomic.Int64  // the worker's PID on the server, once a run started
	done           chan struct{} // closed when the session ended; then waitErr is set
	waitErr        error
}

func startWorker(c *conn) (*worker, error) {
	s, err := c.client.NewSession()
	if err != nil {
		return nil, err
	}
	w := &worker{s: s, done: make(chan struct{})}
	stdin, err1 := s.StdinPipe()
	stdout, err2 := s.StdoutPipe()
	stderr, err3 := s.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		s.Close()
		return nil, err
	}
	w.stdin, w.stdout, w.stderr = stdin, &stream{r: stdout}, &stream{r: stderr}
	if err := s.Start(remoteCommand); err != nil {
		s.Close()
		return nil, err
	}
	go func() {
		w.waitErr = s.Wait()
		close(w.done)
	}()
	return w, nil
}

// Run runs script with /bin/bash on the target and returns its exit code.
// Output is passed to stdout and stderr as it arrives (nil discards it); the
// two are never written concurrently, nor after Run returns.
//
// Each script runs in a fresh subshell of a worker shell: $$ is the worker's
// PID, shared by the scripts it runs one after another. A background job a
// script leaves behind still writing output mixes it into whichever run is
// current (output written between runs is dropped): scripts must leave none,
// and daemons they start detach, as daemons do.
//
// err is nil when the script ran to its end, whatever its exit code. A
// transport failure gives an error matching ErrTransport (the script may not
// have run, or was cut short: its remote processes are killed if the server
// can still be reached). When ctx ends first, the script's remote process
// tree is killed and the error matches ctx.Err() and says it timed out (or
// was cancelled). A pinned key mismatch gives *HostKeyMismatch, a target
// without one *UnknownHostKey. On error the exit code is -1.
func (p *Pool) Run(ctx context.Context, t Target, script []byte, stdout, stderr io.Writer) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("sshpool: %s: %s before running: %w", t, ctxVerb(ctx), err)
	}
	if bytes.IndexByte(script, 0) >= 0 {
		return -1, ErrNUL
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	refusals, retries := 0, 0
	for {
		c, w, reused, err := p.acquire(ctx, t)
		if err != nil {
			return -1, err
		}
		fresh := w == nil
		if fresh {
			if w, err = startWorker(c); err != nil {
				var oce *ssh.OpenChannelError
				if errors.As(err, &oce) {
					// alive but refusing channels: the server's MaxSessions is
					// lower than ours; use other connections until a worker ends
					p.release(c, nil, false)
					p.mu.Lock()
					c.full = c.workers > 0
					p.mu.Unlock()
					if refusals++; refusals < 3 {
						continue
					}
				} else {
					p.release(c, nil, false)
					p.drop(c)
					if reused { // each retry drops one connection: this ends
						continue
					}
				}
				return -1, &TransportError{Target: t.String(), Op: "open session", Err: err}
			}
		}
		code, started, err := p.runOn(ctx, c, w, t, script, stdout, stderr)
		// nothing ran on a connection or worker that had died unnoticed (server
		// restarted, connection killed): the run goes elsewhere, transparently
		if !started && errors.Is(err, ErrTransport) && (reused || !fresh) && retries < 3 {
			retries++
			continue
		}
		return code, err
	}
}

// runOn runs script on worker w of connection c and releases both. started
// reports that the script arrived whole and began to run.
func (p *Pool) runOn(ctx context.Context, c *conn, w *worker, t Target, script []byte, stdout, stderr io.Writer) (code int, started bool, err error) {
	select {
	case <-w.done:
		p.release(c, w, false)
		return -1, false, &TransportError{Target: t.String(), Op: "start script", Err: errors.New("worker session ended")}
	default:
	}
	token := newToken()
	var mu sync.Mutex
	var werr error
	outW := &lockedWriter{mu: &mu, w: stdout, err: &werr}
	errW := &lockedWriter{mu: &mu, w: stderr, err: &werr}

	begun := make(chan struct{})
	outDone := make(chan outcome, 1)
	errDone := make(chan error, 1)
	go func() {
		// what comes before the start line is not the script's: a chatty
		// login shell, or a previous script's stray background job
		rest, err := scanLine(w.stdout, io.Discard, "orchestra-run "+token+" ")
		if err != nil {
			outDone <- outcome{-1, err}
			return
		}
		pid, _ := strconv.Atoi(rest)
		w.pid.Store(int64(pid))
		close(begun)
		rest, err = scanLine(w.stdout, outW, "orchestra-done "+token+" ")
		code, cerr := strconv.Atoi(rest)
		if err == nil && cerr != nil {
			err = fmt.Errorf("bad exit code %q", rest)
		}
		outDone <- outcome{code, err}
	}()
	go func() {
		_, err := scanLine(w.stderr, io.Discard, "orchestra-run "+token)
		if err == nil {
			_, err = scanLine(w.stderr, errW, "orchestra-done "+token)
		}
		errDone <- err
	}()
	// the frame goes in a goroutine: a stalled server must not hold Run past ctx
	go func() {
		frame := make([]byte, 0, len(script)+40)
		frame = fmt.Appendf(frame, "%s %d\n", token, len(script))
		w.stdin.Write(append(frame, script...))
	}()
	start := time.Now()

	var out outcome
	var outOK, errOK bool
	var failed error
	for !(outOK && errOK) && failed == nil {
		select {
		case out = <-outDone:
			outOK, failed = true, out.err
		case e := <-errDone:
			errOK, failed = true, e
		case <-ctx.Done():
			return -1, isClosed(begun), p.cancelRun(ctx, c, w, t, begun, outDone, errDone, outOK, errOK, start)
		}
	}
	if failed == nil {
		p.release(c, w, true)
		return out.code, true, werr
	}

	// a stream ended before its marker: the worker is gone
	started = isClosed(begun)
	wait := time.NewTimer(p.cfg.KillTimeout)
	select {
	case <-w.done:
	case <-wait.C:
	}
	wait.Stop()
	w.s.Close() // ends the other stream's scan
	if !outOK {
		<-outDone
	}
	if !errOK {
		<-errDone
	}
	p.release(c, w, false)
	var exit *ssh.ExitError
	if started && isClosed(w.done) && errors.As(w.waitErr, &exit) {
		// the script ended its own worker (kill $$, exec): its exit code,
		// 128+n for a signal as in a shell
		return exit.ExitStatus(), true, werr
	}
	// connection lost: the script may still be running there, and the
	// caller's retry must not run alongside it
	terr := &TransportError{Target: t.String(), Op: "connection lost while running the script", Err: failed}
	if !started {
		terr.Op = "send script"
	}
	if pid := int(w.pid.Load()); started && pid > 0 {
		if kerr := p.kill(c, t, pid); kerr != nil {
			return -1, true, fmt.Errorf("%w (its remote processes may still run: %v)", terr, kerr)
		}
	}
	return -1, started, terr
}

// outcome is the end of a run's stdout: the exit code, or why it never came.
type outcome struct {
	code int
	err  error
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// cancelRun kills the worker running a script whose ctx ended, with the
// script's process tree, and waits for the output to end, so none is written
// after Run returns.
func (p *Pool) cancelRun(ctx context.Context, c *conn, w *worker, t Target, begun <-chan struct{},
	outDone <-chan outcome, errDone <-chan error, outOK, errOK bool, start time.Time) error {
	verb := ctxVerb(ctx)
	elapsed := time.Since(start).Round(time.Millisecond)
	// the start line comes at once, unless the run was cancelled right away
	grace := time.NewTimer(min(2*time.Second, p.cfg.KillTimeout))
	select {
	case <-begun:
	case <-w.done:
	case <-grace.C:
	}
	grace.Stop()
	pid := int(w.pid.Load())
	var killErr error
	switch {
	case isClosed(w.done):
	case pid > 0:
		killErr = p.kill(c, t, pid)
	default:
		killErr = errors.New("its remote PID never arrived")
	}
	if killErr != nil {
		w.s.Close()
	}
	wait := time.NewTimer(p.cfg.KillTimeout)
	select {
	case <-w.done:
	case <-wait.C:
		p.drop(c) // unresponsive: closing the connection ends the session
		<-w.done
	}
	wait.Stop()
	w.s.Close()
	if !outOK {
		<-outDone
	}
	if !errOK {
		<-errDone
	}
	p.release(c, w, false)
	switch {
	case !isClosed(begun):
		return fmt.Errorf("sshpool: %s: %s after %s, before the script started: %w", t, verb, elapsed, ctx.Err())
	case killErr != nil:
		return fmt.Errorf("sshpool: %s: script %s after %s; its remote processes may still run: %w (%w)",
			t, verb, elapsed, ctx.Err(), killErr)
	}
	return fmt.Errorf("sshpool: %s: script %s after %s; its remote processes (session %d) were killed: %w",
		t, verb, elapsed, pid, ctx.Err())
}

// kill kills the session pid on the target, through the run's own connection
// if it still works (going past MaxSessionsPerConn on purpose: the server
// keeps headroom for this), else through another.
func (p *Pool) kill(c *conn, t Target, pid int) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.KillTimeout)
	defer cancel()
	if s, err := c.client.NewSession(); err == nil {
		if err = execSession(ctx, s, killCommand(pid)); err == nil {
			return nil
		}
	}
	code, err := p.Run(ctx, t, []byte("set -- "+strconv.Itoa(pid)+"\n"+killProg+"\n"), nil, nil)
	if err == nil && code != 0 {
		err = fmt.Errorf("kill script: exit code %d", code)
	}
	return err
}

func execSession(ctx context.Context, s *ssh.Session, cmd string) error {
	defer s.Close()
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ping runs `cat /proc/uptime` and returns the server's uptime in seconds (as
// the server printed it) and how long the whole run took.
func (p *Pool) Ping(ctx context.Context, t Target) (uptime string, latency time.Duration, err error) {
	var out, errOut bytes.Buffer
	start := time.Now()
	code, err := p.Run(ctx, t, []byte("cat /proc/uptime\n"), &out, &errOut)
	latency = time.Since(start)
	if err != nil {
		return "", latency, err
	}
	fields := strings.Fields(out.String())
	if code != 0 || len(fields) == 0 {
		return "", latency, fmt.Errorf("sshpool: %s: ping: exit code %d: %s", t, code, strings.TrimSpace(errOut.String()))
	}
	return fields[0], latency, nil
}

func newToken() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lockedWriter serialises stdout and stderr into the caller's writers. A
// writer error is recorded and the rest of the output discarded: stopping to
// read would stall the remote script on a full window and the run would never
// end.
type lockedWriter struct {
	mu  *sync.Mutex
	w   io.Writer
	err *error
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *l.err == nil {
		if _, err := l.w.Write(b); err != nil {
			*l.err = fmt.Errorf("sshpool: writing script output: %w", err)
		}
	}
	return len(b), nil
}

// stream is one output stream of a worker, read run after run.
type stream struct {
	r       io.Reader
	pending []byte // read past the end of a run's marker line
}

// scanLine copies s to dst up to the first occurrence of marker and returns
// what follows it on its line; what follows that line stays in s. Bytes that
// may begin the marker are held back until told apart, so everything else
// streams at once.
func scanLine(s *stream, dst io.Writer, marker string) (string, error) {
	m := []byte(marker)
	buf := s.pending
	s.pending = nil
	chunk := make([]byte, 32<<10)
	found := false
	for {
		if !found {
			if i := bytes.Index(buf, m); i >= 0 {
				dst.Write(buf[:i])
				buf = buf[i+len(m):]
				found = true
			} else {
				keep := heldBack(buf, m)
				dst.Write(buf[:len(buf)-keep])
				buf = append(buf[:0:0], buf[len(buf)-keep:]...)
			}
		}
		if found {
			if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				s.pending = bytes.Clone(buf[i+1:])
				return string(buf[:i]), nil
			}
		}
		n, err := s.r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err != nil && n == 0 {
			if !found {
				dst.Write(buf)
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
}

// heldBack is the length of the longest suffix of b that is a proper prefix
// of m.
func heldBack(b, m []byte) int {
	for k := min(len(b), len(m)-1); k > 0; k-- {
		if bytes.HasSuffix(b, m[:k]) {
			return k
		}
	}
	return 0
}
