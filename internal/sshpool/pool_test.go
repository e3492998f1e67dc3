package sshpool

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
)

// testbed reads what testbed/sshd.sh exports.
type testbed struct {
	targets []Target
	signer  ssh.Signer
	keyPath string
	khPath  string
	// benchUser: see benchTarget
	benchUser string
}

func newTestbed(tb testing.TB) *testbed {
	tb.Helper()
	bed := sshtest.Load(tb)
	b := &testbed{signer: bed.Signer, benchUser: bed.BenchUser, keyPath: bed.KeyPath, khPath: bed.KnownHostsPath}
	for i, s := range bed.Servers {
		b.targets = append(b.targets, Target{Name: fmt.Sprintf("sshd-%d", i+1), Address: s.Address, Port: s.Port, User: "root", HostKey: s.HostKey})
	}
	return b
}

func (b *testbed) pool(tb testing.TB, cfg Config) *Pool {
	tb.Helper()
	if cfg.Signer == nil {
		cfg.Signer = b.signer
	}
	p, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

type result struct {
	code           int
	stdout, stderr string
	err            error
}

func run(p *Pool, t Target, script string) result {
	return runCtx(context.Background(), p, t, script)
}

func runCtx(ctx context.Context, p *Pool, t Target, script string) result {
	var out, errOut bytes.Buffer
	code, err := p.Run(ctx, t, []byte(script), &out, &errOut)
	return result{code, out.String(), errOut.String(), err}
}

// must runs a script that has to succeed and returns its stdout.
func must(tb testing.TB, p *Pool, t Target, script string) string {
	tb.Helper()
	r := run(p, t, script)
	if r.err != nil || r.code != 0 {
		tb.Fatalf("%s: exit %d, err %v, stderr %q", t, r.code, r.err, r.stderr)
	}
	return r.stdout
}

// dials counts the connections ever dialled to t.
func (p *Pool) dials(t Target) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, h := range p.hosts {
		if strings.HasPrefix(k, t.user()+"@"+t.addr()) {
			n += h.dials
		}
	}
	return n
}

func TestRun(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	for _, tg := range b.targets { // every server of the test bed answers on its own
		r := run(p, tg, "echo out; echo err >&2; printf 'no newline'")
		if r.err != nil || r.code != 0 || r.stdout != "out\nno newline" || r.stderr != "err\n" {
			t.Errorf("%s: got %+v", tg, r)
		}
	}
	r := run(p, b.targets[0], "echo partial; exit 3")
	if r.err != nil || r.code != 3 || r.stdout != "partial\n" {
		t.Errorf("non-zero exit: got %+v", r)
	}
	r = run(p, b.targets[0], "kill -TERM $$")
	if r.err != nil || r.code != 128+15 {
		t.Errorf("killed by a signal: got %+v", r)
	}
	r = run(p, b.targets[0], "if then fi")
	if r.err != nil || r.code != 2 || !strings.Contains(r.stderr, "syntax error") {
		t.Errorf("syntax error: got %+v", r)
	}
	// the same writer for both streams is fine: they are serialised
	var both bytes.Buffer
	code, err := p.Run(context.Background(), b.targets[0], []byte("for i in $(seq 200); do echo o$i; echo e$i >&2; done"), &both, &both)
	if err != nil || code != 0 || strings.Count(both.String(), "\n") != 400 {
		t.Errorf("shared writer: %d %v %q", code, err, both.String())
	}
	if n := p.dials(b.targets[0]); n != 1 {
		t.Errorf("runs one after another dialled %d connections, want 1", n)
	}
}

func TestRunStdinAndSize(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	tg := b.targets[0]
	// a command reading stdin gets EOF, not the rest of the script
	if out := must(t, p, tg, "cat\necho after\n"); out != "after\n" {
		t.Errorf("stdin: got %q", out)
	}
	// positional parameters are empty, as in a script run without arguments
	if out := must(t, p, tg, `echo "$# [$1]"`); out != "0 []\n" {
		t.Errorf("positional parameters: got %q", out)
	}
	// a trailing backslash is taken as bash -c takes it, and does not
	// swallow what follows the script
	if out := must(t, p, tg, "echo a\\"); out != "a\\\n" {
		t.Errorf("trailing backslash: got %q", out)
	}
	// a large script (file contents shipped inline) arrives whole
	var sb strings.Builder
	sb.WriteString("sha256sum <<'EOF_DATA' | cut -d' ' -f1\n")
	var data strings.Builder
	for i := 0; data.Len() < 3<<20; i++ {
		fmt.Fprintf(&data, "line %d %x\n", i, sha256.Sum256([]byte{byte(i), byte(i >> 8)}))
	}
	sb.WriteString(data.String())
	sb.WriteString("EOF_DATA\n")
	want := fmt.Sprintf("%x\n", sha256.Sum256([]byte(data.String())))
	if out := must(t, p, tg, sb.String()); out != want {
		t.Errorf("large script: got %q want %q", out, want)
	}
	// large output streams through
	if out := must(t, p, tg, "head -c 5000000 /dev/zero | tr '\\0' x"); len(out) != 5000000 {
		t.Errorf("large output: got %d bytes", len(out))
	}
}

// shellQuote quotes s for bash as a single word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func TestHostileData(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	tg := b.targets[0]
	marker := "/tmp/orchestra-sshpool-pwned-" + newToken()
	hostile := []string{
		`it's "quoted" \'escaped\' \\ back\slash`,
		"$(touch " + marker + ") `touch " + marker + "` ${HOME} $((1+1)) $$ !! !-1",
		"; touch " + marker + " && echo x | cat > " + marker + " # comment",
		"line one\nline two\r\nEOF\n'EOF'\n\ttab",
		"ünïcødé 日本語 🙂 \u202e rtl \u00a0 nbsp",
		"\x01\x07\x1b[31m escapes \x7f",
		"-n", "-e", "--", "*", "~", "",
		strings.Repeat("A", 100000),
	}
	for i, h := range hostile {
		// as one quoted argv word
		out := must(t, p, tg, "printf '%s' "+shellQuote(h))
		if out != h {
			t.Errorf("%d: quoted word: got %q want %q", i, out, h)
		}
		// as file contents in a quoted heredoc with a random delimiter
		delim := "ORCHESTRA_" + newToken()
		out = must(t, p, tg, "cat <<'"+delim+"'\n"+h+"\n"+delim+"\n")
		if out != h+"\n" {
			t.Errorf("%d: heredoc: got %q want %q", i, out, h+"\n")
		}
	}
	if out := must(t, p, tg, "ls "+marker+" 2>/dev/null; true"); out != "" {
		t.Errorf("hostile data was executed: %s exists", marker)
	}
}

func TestHostKeyMismatch(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, raw := range []any{edPub, &ecPriv.PublicKey} {
		pub, err := ssh.NewPublicKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		tg := b.targets[0]
		real := tg.HostKey
		tg.HostKey = formatKey(pub)
		r := run(p, tg, "echo must not run")
		var mm *HostKeyMismatch
		if !errors.As(r.err, &mm) {
			t.Fatalf("pinned %s: want *HostKeyMismatch, got %v", pub.Type(), r.err)
		}
		if mm.Got != real || mm.Want != tg.HostKey || r.stdout != "" {
			t.Errorf("mismatch: got %+v, stdout %q", mm, r.stdout)
		}
		if errors.Is(r.err, ErrTransport) {
			t.Error("a host key mismatch must not look like a transport error (it would be retried)")
		}
	}
	// the key of another test-bed server is a mismatch too
	tg := b.targets[0]
	tg.HostKey = b.targets[1].HostKey
	var mm *HostKeyMismatch
	if r := run(p, tg, "true"); !errors.As(r.err, &mm) {
		t.Errorf("another server's key: got %v", r.err)
	}
	// comments and spacing around a pinned key do not matter
	tg.HostKey = "  " + b.targets[0].HostKey + " root@somewhere\n"
	must(t, p, tg, "true")
	tg.HostKey = "ssh-ed25519 not-base64"
	if r := run(p, tg, "true"); r.err == nil || !strings.Contains(r.err.Error(), "invalid pinned host key") {
		t.Errorf("unparsable pinned key: got %v", r.err)
	}
}

func TestUnknownHostKey(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	ctx := context.Background()
	seen := map[string]bool{}
	for _, tg := range b.targets {
		want := tg.HostKey
		tg.HostKey = ""
		r := run(p, tg, "echo must not run")
		var uk *UnknownHostKey
		if !errors.As(r.err, &uk) || uk.Got != want || r.stdout != "" {
			t.Fatalf("%s: want *UnknownHostKey with %s, got %v", tg, want, r.err)
		}
		if errors.Is(r.err, ErrTransport) {
			t.Error("an unknown host key must not look like a transport error")
		}
		got, err := FetchHostKey(ctx, tg.Address, tg.Port)
		if err != nil || got != want {
			t.Errorf("FetchHostKey(%s) = %q, %v; want %q", tg, got, err, want)
		}
		seen[got] = true
		// once staff confirm it, it is pinned and runs work
		tg.HostKey = uk.Got
		must(t, p, tg, "true")
	}
	if len(seen) != len(b.targets) {
		t.Errorf("test-bed servers share host keys: %v", seen)
	}
	if _, err := FetchHostKey(ctx, "127.0.0.1", 1); !errors.Is(err, ErrTransport) {
		t.Errorf("FetchHostKey of a closed port: got %v", err)
	}
}

func TestAuthFailure(t *testing.T) {
	b := newTestbed(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	p := b.pool(t, Config{Signer: signer})
	r := run(p, b.targets[0], "true")
	if !errors.Is(r.err, ErrTransport) || !strings.Contains(r.err.Error(), "unable to authenticate") {
		t.Errorf("unauthorised key: got %v", r.err)
	}
}

// These two need no test bed.

func TestUnreachable(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	p, _ := New(Config{Signer: signer, DialTimeout: time.Minute})
	defer p.Close()
	start := time.Now()
	code, err := p.Run(context.Background(), Target{Address: "127.0.0.1", Port: 1, HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFNyomYHilKITiSPSd1J1g8qVspsZHUx0IxtynLiy93F"}, []byte("true"), nil, nil)
	var te *TransportError
	if code != -1 || !errors.Is(err, ErrTransport) || !errors.As(err, &te) || te.Op != "dial" {
		t.Fatalf("got %d, %v; want a dial transport error", code, err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("a refused connection took %s: it waited for the dial timeout", d)
	}
}

func TestSilentServer(t *testing.T) {
	// accepts TCP, never speaks SSH: the dial timeout must cover the handshake
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	p, _ := New(Config{Signer: signer, DialTimeout: 300 * time.Millisecond})
	defer p.Close()
	port := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = p.Run(context.Background(), Target{Address: "127.0.0.1", Port: port, HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFNyomYHilKITiSPSd1J1g8qVspsZHUx0IxtynLiy93F"}, []byte("true"), nil, nil)
	if !errors.Is(err, ErrTransport) {
		t.Fatalf("got %v, want a transport error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("silent server held the run for %s", d)
	}
	// a caller's own deadline shorter than the dial timeout wins too
	p2, _ := New(Config{Signer: signer, DialTimeout: time.Minute})
	defer p2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = p2.Run(ctx, Target{Address: "127.0.0.1", Port: port, HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFNyomYHilKITiSPSd1J1g8qVspsZHUx0IxtynLiy93F"}, []byte("true"), nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("got %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("caller's deadline ignored: %s", d)
	}
}

func TestTimeoutKillsRemoteTree(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	tg := b.targets[0]
	f := "/tmp/orchestra-sshpool-pids-" + newToken()
	t.Cleanup(func() { run(p, tg, "rm -f "+f) })
	// a tree: plain background job, a subshell's job, another bash's job,
	// and a job in a process group of its own (set -m), all in the session
	script := `f=` + f + `
echo $$ >>$f
sleep 1000 & echo $! >>$f
( sleep 1000 & echo $! >>$f; wait ) & echo $! >>$f
bash -c 'sleep 1000 & echo $! >>'$f'; wait' & echo $! >>$f
set -m; sleep 1000 & echo $! >>$f; set +m
sleep 0.2
echo started
wait
echo never
`
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, err := p.Run(ctx, tg, []byte(script), &out, &errOut)
	elapsed := time.Since(start)
	if err == nil || code != -1 || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got %d, %v; want a timeout error", code, err)
	}
	if errors.Is(err, ErrTransport) {
		t.Errorf("a timeout with a working connection is not a transport error: %v", err)
	}
	if !strings.Contains(err.Error(), "were killed") {
		t.Errorf("error does not say the remote processes were killed: %v", err)
	}
	// the script would wait 1000 s: a return within a minute is the
	// deadline's doing, however busy the machine
	if elapsed > time.Minute {
		t.Errorf("Run returned %s after the deadline", elapsed-1500*time.Millisecond)
	}
	if out.String() != "started\n" {
		t.Errorf("stdout %q (stderr %q)", out.String(), errOut.String())
	}
	// every process of the tree is gone on the server (zombies awaiting
	// their reaper count as gone)
	check := `f=` + f + `
n=0
for pid in $(cat $f); do
  n=$((n+1))
  for i in $(seq 50); do
    kill -0 $pid 2>/dev/null || continue 2
    [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = Z ] && continue 2
    sleep 0.1
  done
  echo "alive: $pid $(tr '\0' ' ' </proc/$pid/cmdline)"
done
echo "checked $n"
`
	if got := must(t, p, tg, check); got != "checked 7\n" {
		t.Errorf("remote processes survived the timeout:\n%s", got)
	}
	// the connection is still good for the next run
	must(t, p, tg, "true")
}

func TestCancelBeforeStart(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := runCtx(ctx, p, b.targets[0], "echo must not run")
	if !errors.Is(r.err, context.Canceled) || r.stdout != "" {
		t.Errorf("got %+v", r)
	}
}

func TestConcurrentRuns(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{MaxSessionsPerConn: 8})
	tg := b.targets[0]
	const n = 40
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Go(func() {
			results[i] = run(p, tg, fmt.Sprintf("sleep 1; echo %d; echo e%d >&2", i, i))
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.code != 0 || r.stdout != fmt.Sprintf("%d\n", i) ||
			!strings.HasSuffix(r.stderr, fmt.Sprintf("e%d\n", i)) { // the login shell's rc files may chatter
			t.Errorf("run %d: %+v", i, r)
		}
	}
	if d := p.dials(tg); d > (n+7)/8 {
		t.Errorf("%d concurrent runs dialled %d connections, want at most %d", n, d, (n+7)/8)
	}
	// the servers are independent: runs on all of them at once
	var wg2 sync.WaitGroup
	for _, tg := range b.targets {
		for range 10 {
			wg2.Go(func() {
				if r := run(p, tg, "echo $SSH_CONNECTION"); r.err != nil || !strings.Contains(r.stdout, " "+tg.Address+" ") {
					t.Errorf("%s: %+v", tg, r)
				}
			})
		}
	}
	wg2.Wait()
}

func TestRedialAfterServerSideKill(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	other := b.pool(t, Config{})
	tg := b.targets[0]
	// the session's parent is the sshd process serving this connection
	ppid := strings.TrimSpace(must(t, p, tg, "echo $PPID"))
	if _, err := strconv.Atoi(ppid); err != nil {
		t.Fatalf("PPID %q", ppid)
	}
	must(t, other, tg, "kill -KILL "+ppid)
	// at once, before the pool may have noticed: the run must not fail
	if out := must(t, p, tg, "echo again"); out != "again\n" {
		t.Errorf("got %q", out)
	}
	if d := p.dials(tg); d != 2 {
		t.Errorf("dialled %d connections, want 2 (the first, then the redial)", d)
	}
	// and once the pool has noticed, too
	ppid = strings.TrimSpace(must(t, p, tg, "echo $PPID"))
	must(t, other, tg, "kill -KILL "+ppid)
	time.Sleep(200 * time.Millisecond)
	must(t, p, tg, "true")
	if d := p.dials(tg); d != 3 {
		t.Errorf("dialled %d connections, want 3", d)
	}
}

func TestConnectionLostMidRun(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	tg := b.targets[0]
	// the script kills the sshd serving its own connection
	r := run(p, tg, "echo before; sleep 0.2; kill -KILL $PPID; sleep 5; echo after")
	if !errors.Is(r.err, ErrTransport) || r.code != -1 {
		t.Fatalf("got %+v, want a transport error", r)
	}
	must(t, p, tg, "true")
}

func TestKeepAliveAndIdle(t *testing.T) {
	b := newTestbed(t)
	// a keepalive unanswered for an interval drops the connection: the
	// interval leaves a loaded machine's sshd time to answer
	p := b.pool(t, Config{KeepAlive: 500 * time.Millisecond})
	tg := b.targets[0]
	must(t, p, tg, "true")
	time.Sleep(1600 * time.Millisecond) // several keepalives answered
	must(t, p, tg, "true")
	if d := p.dials(tg); d != 1 {
		t.Errorf("keepalives broke the connection: %d dials", d)
	}
	// idle connections are closed (at a keepalive tick), then redialled
	q := b.pool(t, Config{KeepAlive: 500 * time.Millisecond, IdleTimeout: 100 * time.Millisecond})
	must(t, q, tg, "true")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		q.mu.Lock()
		open := 0
		for _, h := range q.hosts {
			open += len(h.conns)
		}
		q.mu.Unlock()
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections still open", open)
		}
	}
	must(t, q, tg, "true")
	if d := q.dials(tg); d != 2 {
		t.Errorf("dialled %d connections, want 2 (one redialled after the idle close)", d)
	}
}

func TestPing(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	up, lat, err := p.Ping(context.Background(), b.targets[0])
	if err != nil {
		t.Fatal(err)
	}
	if v, err := strconv.ParseFloat(up, 64); err != nil || v <= 0 {
		t.Errorf("uptime %q", up)
	}
	if lat <= 0 || lat > 5*time.Second {
		t.Errorf("latency %s", lat)
	}
}

func TestClose(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	tg := b.targets[0]
	must(t, p, tg, "true")
	done := make(chan result)
	go func() { done <- run(p, tg, "echo x; sleep 30") }()
	time.Sleep(300 * time.Millisecond)
	p.Close()
	select {
	case r := <-done:
		if !errors.Is(r.err, ErrTransport) {
			t.Errorf("run in progress at Close: %+v", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Close did not end a run in progress")
	}
	if r := run(p, tg, "true"); !errors.Is(r.err, ErrClosed) {
		t.Errorf("run after Close: %v", r.err)
	}
}

// benchTarget is the first test-bed server, logged into as
// ORCHESTRA_TEST_SSH_BENCH_USER if set: every session starts the user's
// shell, which sources ~/.bashrc, and a heavy one on a developer machine
// (pyenv, nvm...) can cost more than everything being compared.
func benchTarget(tb *testbed) Target {
	tg := tb.targets[0]
	if tb.benchUser != "" {
		tg.User = tb.benchUser
	}
	return tg
}

func BenchmarkRunWarm(b *testing.B) {
	tb := newTestbed(b)
	p := tb.pool(b, Config{})
	tg := benchTarget(tb)
	ctx := context.Background()
	script := []byte("true\n")
	if code, err := p.Run(ctx, tg, script, nil, nil); err != nil || code != 0 {
		b.Fatal(code, err)
	}
	b.ResetTimer()
	for b.Loop() {
		if code, err := p.Run(ctx, tg, script, nil, nil); err != nil || code != 0 {
			b.Fatal(code, err)
		}
	}
}

// BenchmarkRunOpenSSHControlMaster runs scripts the way django-orchestra did:
// one ssh process per run, multiplexed over a persistent ControlMaster, the
// script piped to bash on stdin.
func BenchmarkRunOpenSSHControlMaster(b *testing.B) {
	tb := newTestbed(b)
	tg := benchTarget(tb)
	dir, err := os.MkdirTemp("", "osshcm") // short: socket paths are limited to 108 bytes
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	base := []string{"-F", "/dev/null", "-i", tb.keyPath, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + tb.khPath, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "EscapeChar=none", "-o", "LogLevel=ERROR",
		"-o", "ControlMaster=auto", "-o", "ControlPersist=yes", "-o", "ControlPath=" + filepath.Join(dir, "cm"),
		"-C", "-p", strconv.Itoa(tg.Port), tg.user() + "@" + tg.Address}
	sshRun := func() {
		cmd := exec.Command("ssh", append(base, "bash")...)
		cmd.Stdin = strings.NewReader("true\n")
		cmd.WaitDelay = 5 * time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ssh: %v: %s", err, out)
		}
	}
	sshRun() // starts the master
	stop := slices.Concat(base[:len(base)-1], []string{"-O", "exit", base[len(base)-1]})
	defer exec.Command("ssh", stop...).Run()
	b.ResetTimer()
	for b.Loop() {
		sshRun()
	}
}

func TestRunsAreIsolated(t *testing.T) {
	b := newTestbed(t)
	p := b.pool(t, Config{})
	tg := b.targets[0]
	// one worker runs these one after another: nothing of one script is
	// left for the next (variables, functions, cwd, options, traps, umask)
	must(t, p, tg, "x=leaked; f() { echo leaked; }; cd /tmp; set -e; trap 'echo trap-leaked' EXIT; umask 077; exit 0")
	out := must(t, p, tg, `echo "[${x-}] $(type -t f || true) $PWD $- $(umask)"; trap -p`)
	if strings.Contains(out, "leaked") || strings.Contains(out, " /tmp ") || strings.Contains(out, "0077") {
		t.Errorf("state leaked between runs: %q", out)
	}
	// output of a background job left behind, written between runs, does
	// not reach the next run
	must(t, p, tg, "(sleep 0.3; echo stray; echo stray >&2) &")
	time.Sleep(600 * time.Millisecond)
	if r := run(p, tg, "echo mine"); r.stdout != "mine\n" || r.stderr != "" {
		t.Errorf("next run: %+v", r)
	}
	if n := p.dials(tg); n != 1 {
		t.Errorf("dialled %d connections, want 1", n)
	}
	if _, err := p.Run(context.Background(), tg, []byte("echo a\x00b"), nil, nil); !errors.Is(err, ErrNUL) {
		t.Errorf("script with NUL: got %v", err)
	}
}
