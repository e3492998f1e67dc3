package mailer

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// maxSection bounds each of stdout, stderr and script in an alert, so a
// runaway unit cannot produce a mail that servers reject.
const maxSection = 64 << 10

// separator is django-orchestra's, shortened to fit quoted-printable lines.
var separator = "\n\n" + strings.Repeat("~ ", 30) + "~\n\n"

// Alert mails admins (MAIL_ADMINS) a report of a unit that ended badly. It
// fits orchestration.ExecutorConfig.Alert; failures are logged, not returned.
// Sending blocks for up to the SMTP timeout, so callers on a hot path should
// run it in a goroutine.
func Alert(ctx context.Context, a orchestration.Alert) {
	if a.Log == nil {
		slog.ErrorContext(ctx, "mailer: alert without an execution log")
		return
	}
	admins := Admins.Get()
	if len(admins) == 0 {
		slog.WarnContext(ctx, "mailer: no MAIL_ADMINS to alert about a failed unit",
			"log", a.Log.ID, "backend", a.Log.Backend, "state", a.Log.State)
		return
	}
	subject, body := report(ctx, a)
	if err := Send(ctx, admins, subject, body); err != nil {
		slog.ErrorContext(ctx, "mailer: alert", "log", a.Log.ID, "err", err)
	}
}

// report composes an alert's subject and body. Every user-visible string is
// here, translated into ctx's language (English by default).
func report(ctx context.Context, a orchestration.Alert) (subject, body string) {
	l := a.Log
	server := i18n.T(ctx, "server #%d", l.ServerID)
	if a.Server != nil {
		server = a.Server.Name
	}
	subject = i18n.T(ctx, "[Orchestra] %s execution %s on %s", l.Backend, l.State, server)

	var head strings.Builder
	head.WriteString(i18n.T(ctx, "State: %s", l.State) + "\n")
	if l.Error != "" {
		head.WriteString(i18n.T(ctx, "Error: %s", l.Error) + "\n")
	}
	if a.Server != nil {
		head.WriteString(i18n.T(ctx, "Server: %s (%s)", a.Server.Name, a.Server.Address) + "\n")
	}
	head.WriteString(i18n.T(ctx, "Attempts: %d", l.Attempts) + "\n")
	for _, t := range []struct {
		label string
		at    *time.Time
	}{{i18n.T(ctx, "Started"), l.StartedAt}, {i18n.T(ctx, "Finished"), l.FinishedAt}} {
		if t.at != nil {
			head.WriteString(t.label + ": " + t.at.UTC().Format(time.RFC3339) + "\n")
		}
	}

	exit := i18n.T(ctx, "none")
	if l.ExitCode != nil {
		exit = strconv.Itoa(*l.ExitCode)
	}
	ops := make([]string, 0, len(a.Ops))
	for _, op := range a.Ops {
		if op != nil {
			ops = append(ops, fmt.Sprintf("%s %s %d %s", op.Action, op.Model, op.ObjectID, op.Repr))
		}
	}
	if len(ops) == 0 {
		ops = append(ops, i18n.T(ctx, "none"))
	}
	// The API prefix is spelled out rather than imported from internal/api,
	// which is far heavier than this package and may come to import it.
	link := strings.TrimRight(SiteURL.Get(), "/") + "/api/v1/logs/" + strconv.Itoa(l.ID)

	section := func(title, text string) string { return "[" + title + "]\n" + strings.TrimRight(text, "\n") }
	body = strings.Join([]string{
		strings.TrimRight(head.String(), "\n"),
		section(i18n.T(ctx, "EXIT CODE"), exit),
		section(i18n.T(ctx, "STDERR"), tail(ctx, l.Stderr)),
		section(i18n.T(ctx, "STDOUT"), tail(ctx, l.Stdout)),
		section(i18n.T(ctx, "SCRIPT"), tail(ctx, l.Script)),
		section(i18n.T(ctx, "OPERATIONS"), strings.Join(ops, "\n")),
		i18n.T(ctx, "Full log: %s", link),
	}, separator) + "\n"
	return subject, body
}

// tail returns the last maxSection bytes of s, cut at a rune boundary, with a
// note when something was dropped.
func tail(ctx context.Context, s string) string {
	if len(s) <= maxSection {
		return s
	}
	cut := len(s) - maxSection
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return i18n.T(ctx, "(first %d bytes omitted; see the full log)", cut) + "\n" + s[cut:]
}
