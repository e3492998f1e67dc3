package mailer_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/mailer"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// message is one mail transaction received by a sink.
type message struct {
	from string
	rcpt []string
	data []byte
	tls  bool // sent after STARTTLS
}

// sink is a minimal in-process SMTP server that records what it receives;
// with a TLS configuration it offers STARTTLS.
type sink struct {
	ln    net.Listener
	tls   *tls.Config
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns int
	open  []net.Conn
	msgs  []message
}

func startSink(t *testing.T) *sink { return startSinkTLS(t, nil) }

// startSinkTLS starts a sink that offers STARTTLS with the certificate of
// cfg (none when nil).
func startSinkTLS(t *testing.T, cfg *tls.Config) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln, tls: cfg}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.open = append(s.open, c)
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		// a client that gave up may leave its connection open
		s.mu.Lock()
		for _, c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *sink) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *sink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 sink ESMTP")
	var cur message
	upgraded := false
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(verb, "EHLO") && s.tls != nil && !upgraded:
			tp.PrintfLine("250-sink")
			tp.PrintfLine("250 STARTTLS")
		case strings.HasPrefix(verb, "EHLO"), strings.HasPrefix(verb, "HELO"):
			tp.PrintfLine("250 sink")
		case verb == "STARTTLS" && s.tls != nil && !upgraded:
			tp.PrintfLine("220 ready to start TLS")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			tp, upgraded, cur = textproto.NewConn(tc), true, message{}
		case strings.HasPrefix(verb, "MAIL FROM:"):
			cur = message{from: addr(line[len("MAIL FROM:"):]), tls: upgraded}
			tp.PrintfLine("250 OK")
		case strings.HasPrefix(verb, "RCPT TO:"):
			cur.rcpt = append(cur.rcpt, addr(line[len("RCPT TO:"):]))
			tp.PrintfLine("250 OK")
		case verb == "DATA":
			tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.data = data
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			tp.PrintfLine("250 queued")
		case verb == "QUIT":
			tp.PrintfLine("221 bye")
			return
		default: // RSET, NOOP
			tp.PrintfLine("250 OK")
		}
	}
}

// addr extracts the address from "<a@b> PARAMS".
func addr(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '>'); strings.HasPrefix(s, "<") && i > 0 {
		return s[1:i]
	}
	return s
}

func (s *sink) received() (conns int, msgs []message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, slices.Clone(s.msgs)
}

// setEnv loads env (names without the ORCHESTRA_ prefix) into the settings,
// restoring the defaults when the test ends.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	lookup := func(k string) (string, bool) {
		v, ok := env[strings.TrimPrefix(k, settings.EnvPrefix)]
		return v, ok
	}
	if err := settings.LoadEnv(lookup); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settings.LoadEnv(func(string) (string, bool) { return "", false }) })
}

// parse decodes a received message's subject and plain-text body.
func parse(t *testing.T, data []byte) (subject, body string, h mail.Header) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	r := m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return subject, string(b), m.Header
}

func failedUnit() orchestration.Alert {
	exit := 2
	started := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	finished := started.Add(3 * time.Second)
	return orchestration.Alert{
		Log: &ent.ExecutionLog{
			ID: 42, Backend: "PostfixBackend", ServerID: 3, State: "FAILURE",
			Script:   "postmap /etc/postfix/virtual\n",
			Stdout:   "BEGIN" + strings.Repeat("x", 70<<10) + "END",
			Stderr:   "postmap: fatal: open /etc/postfix/virtual: No such file",
			ExitCode: &exit, Error: "exit status 2", Attempts: 1,
			CreatedAt: started, StartedAt: &started, FinishedAt: &finished,
		},
		Server: &ent.Server{ID: 3, Name: "mail1", Address: "10.0.0.5"},
		Ops: []*ent.Operation{
			{Action: "save", Model: "Mailbox", ObjectID: 7, Repr: "alice@example.com"},
			{Action: "delete", Model: "Address", ObjectID: 9, Repr: "bob@example.com"},
		},
	}
}

func TestAlertMailsAdmins(t *testing.T) {
	s := startSink(t)
	admins := []string{"root@example.com", "ops@example.com"}
	setEnv(t, map[string]string{
		"MAIL_SMTP_HOST": "127.0.0.1",
		"MAIL_SMTP_PORT": strconv.Itoa(s.port()),
		"MAIL_FROM":      "panel@example.com",
		"MAIL_ADMINS":    strings.Join(admins, ","),
		"SITE_URL":       "https://panel.example.com/",
	})

	mailer.Alert(t.Context(), failedUnit())

	_, msgs := s.received()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.from != "panel@example.com" {
		t.Errorf("envelope sender %q", m.from)
	}
	if got, want := slices.Sorted(slices.Values(m.rcpt)), slices.Sorted(slices.Values(admins)); !slices.Equal(got, want) {
		t.Errorf("recipients %q, want each of %q once", got, want)
	}
	subject, body, h := parse(t, m.data)
	if want := "[Orchestra] PostfixBackend execution FAILURE on mail1"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	for _, a := range admins {
		if !strings.Contains(h.Get("To"), a) {
			t.Errorf("To %q lacks %s", h.Get("To"), a)
		}
	}
	for _, want := range []string{
		"State: FAILURE",
		"Error: exit status 2",
		"[EXIT CODE]\n2\n",
		"[STDERR]\npostmap: fatal: open /etc/postfix/virtual: No such file",
		"[SCRIPT]\npostmap /etc/postfix/virtual",
		"save Mailbox 7 alice@example.com\n",
		"delete Address 9 bob@example.com\n",
		"https://panel.example.com/api/v1/logs/42",
		"omitted",
		"xxxEND",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if strings.Contains(body, "BEGIN") {
		t.Error("stdout beyond 64 KiB was not truncated")
	}
	if t.Failed() {
		t.Logf("body:\n%.2000s", body)
	}
}

func TestAlertWithoutAdminsSendsNothing(t *testing.T) {
	s := startSink(t)
	setEnv(t, map[string]string{
		"MAIL_SMTP_HOST": "127.0.0.1",
		"MAIL_SMTP_PORT": strconv.Itoa(s.port()),
	})
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	mailer.Alert(t.Context(), failedUnit())

	if conns, msgs := s.received(); conns != 0 || len(msgs) != 0 {
		t.Errorf("got %d connections and %d messages, want none", conns, len(msgs))
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "MAIL_ADMINS") {
		t.Errorf("no warning logged: %q", logs.String())
	}
}

func TestSendUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	setEnv(t, map[string]string{"MAIL_SMTP_HOST": "127.0.0.1", "MAIL_SMTP_PORT": strconv.Itoa(port)})

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err = mailer.Send(ctx, []string{"root@example.com"}, "hi", "body")
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	if want := "127.0.0.1:" + strconv.Itoa(port); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}

func TestSendNoRecipients(t *testing.T) {
	if err := mailer.Send(t.Context(), nil, "hi", "body"); err == nil {
		t.Error("Send without recipients succeeded")
	}
}

func TestSettingsRejectBadValues(t *testing.T) {
	t.Cleanup(func() { settings.LoadEnv(func(string) (string, bool) { return "", false }) })
	for k, v := range map[string]string{
		"MAIL_SMTP_TLS":  "ssl",
		"MAIL_SMTP_PORT": "70000",
		"MAIL_ADMINS":    "root@example.com,not an address",
		"SITE_URL":       "panel.example.com",
	} {
		err := settings.LoadEnv(func(key string) (string, bool) {
			return v, key == settings.EnvPrefix+k
		})
		if err == nil || !strings.Contains(err.Error(), settings.EnvPrefix+k) {
			t.Errorf("%s=%q: error %v, want one naming the variable", k, v, err)
		}
	}
}

// sinkCert is a certificate no client trusts: httptest's, for 127.0.0.1.
func sinkCert(t *testing.T) *tls.Config {
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(hs.Close)
	return &tls.Config{Certificates: hs.TLS.Certificates}
}

// TestSTARTTLS: by default a server's STARTTLS offer is taken (its
// certificate unchecked, as MTAs do); "none" never upgrades; "starttls"
// refuses a server that does not offer it or whose certificate is not
// trusted, and sends nothing in clear.
func TestSTARTTLS(t *testing.T) {
	send := func(t *testing.T, s *sink, mode string) error {
		env := map[string]string{"MAIL_SMTP_HOST": "127.0.0.1", "MAIL_SMTP_PORT": strconv.Itoa(s.port())}
		if mode != "" {
			env["MAIL_SMTP_TLS"] = mode
		}
		setEnv(t, env)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		return mailer.Send(ctx, []string{"root@example.com"}, "hi", "body")
	}
	t.Run("default upgrades", func(t *testing.T) {
		s := startSinkTLS(t, sinkCert(t))
		if err := send(t, s, ""); err != nil {
			t.Fatal(err)
		}
		if _, msgs := s.received(); len(msgs) != 1 || !msgs[0].tls {
			t.Fatalf("messages %+v, want one sent after STARTTLS", msgs)
		}
	})
	t.Run("default without an offer", func(t *testing.T) {
		s := startSink(t)
		if err := send(t, s, ""); err != nil {
			t.Fatal(err)
		}
		if _, msgs := s.received(); len(msgs) != 1 || msgs[0].tls {
			t.Fatalf("messages %+v, want one in clear", msgs)
		}
	})
	t.Run("none", func(t *testing.T) {
		s := startSinkTLS(t, sinkCert(t))
		if err := send(t, s, "none"); err != nil {
			t.Fatal(err)
		}
		if _, msgs := s.received(); len(msgs) != 1 || msgs[0].tls {
			t.Fatalf("messages %+v, want one in clear", msgs)
		}
	})
	t.Run("required but not offered", func(t *testing.T) {
		s := startSink(t)
		if err := send(t, s, "starttls"); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("error %v, want one about STARTTLS", err)
		}
		if _, msgs := s.received(); len(msgs) != 0 {
			t.Fatalf("%d messages sent in clear", len(msgs))
		}
	})
	t.Run("required with an untrusted certificate", func(t *testing.T) {
		s := startSinkTLS(t, sinkCert(t))
		if err := send(t, s, "starttls"); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("error %v, want one about the certificate", err)
		}
		if _, msgs := s.received(); len(msgs) != 0 {
			t.Fatalf("%d messages sent", len(msgs))
		}
	})
}
