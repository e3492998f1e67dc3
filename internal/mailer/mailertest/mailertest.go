// Package mailertest is an in-process SMTP server for tests of what the
// panel mails (alerts, reports): it keeps every message it receives, and
// points the panel's mail settings at itself.
package mailertest

import (
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/settings"
)

// Sink is an SMTP server keeping the messages it receives.
type Sink struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	msgs [][]byte
}

// Start starts a sink on a free loopback port; it stops with the test.
func Start(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// Port is the port it listens on.
func (s *Sink) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Messages are the messages received so far, each as sent after DATA.
func (s *Sink) Messages() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Use points the panel's mail at s, with admins as MAIL_ADMINS, and other
// settings (ORCHESTRA_-prefixed names, as in the environment) besides,
// until the test ends.
func (s *Sink) Use(t testing.TB, admins string, other map[string]string) {
	t.Helper()
	env := map[string]string{"ORCHESTRA_MAIL_SMTP_HOST": "127.0.0.1", "ORCHESTRA_MAIL_SMTP_PORT": strconv.Itoa(s.Port()),
		"ORCHESTRA_MAIL_ADMINS": admins}
	for k, v := range other {
		env[k] = v
	}
	if err := settings.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settings.LoadEnv(func(string) (string, bool) { return "", false }) })
}

func (s *Sink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 sink ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch verb := strings.ToUpper(line); {
		case verb == "DATA":
			tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, data)
			s.mu.Unlock()
			tp.PrintfLine("250 queued")
		case verb == "QUIT":
			tp.PrintfLine("221 bye")
			return
		default: // EHLO, MAIL, RCPT, RSET, NOOP
			tp.PrintfLine("250 OK")
		}
	}
}
