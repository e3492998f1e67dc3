// Package mailer sends plain-text mail over SMTP, and alerts admins when an
// orchestration unit fails.
package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/orchestra-panel/orchestra/internal/settings"
)

// Settings of the mailer.
var (
	SMTPHost = settings.String("MAIL_SMTP_HOST", "localhost",
		"Host name of the SMTP server that sends the panel's mail.")
	SMTPPort = settings.Int("MAIL_SMTP_PORT", 25,
		"TCP port of the SMTP server.", settings.Validator(validPort))
	SMTPUsername = settings.String("MAIL_SMTP_USERNAME", "",
		"User name for SMTP authentication; empty sends without authenticating.")
	SMTPPassword = settings.String("MAIL_SMTP_PASSWORD", "",
		"Password for SMTP authentication.", settings.Secret())
	SMTPTLS = settings.String("MAIL_SMTP_TLS", "opportunistic",
		"Encryption of the SMTP connection: opportunistic (STARTTLS when the server offers it, certificate not checked), "+
			"starttls (STARTTLS required, certificate checked), tls (implicit TLS, usually port 465, certificate checked) or none.",
		settings.Choices("opportunistic", "starttls", "tls", "none"))
	From = settings.String("MAIL_FROM", "orchestra@localhost",
		"Sender address of the panel's mail.", settings.Validator(validAddress))
	Admins = settings.StringList("MAIL_ADMINS", nil,
		"Addresses that receive alerts about failed orchestration units; empty sends none.",
		settings.Validator(validAddress))
	SiteURL = settings.String("SITE_URL", "http://localhost:8080",
		"Public base URL of the panel, used in links sent by mail.", settings.Validator(validURL))
)

// defaultTimeout bounds a whole SMTP session when ctx has no deadline.
const defaultTimeout = 30 * time.Second

func validPort(v any) error {
	if p := v.(int); p < 1 || p > 65535 {
		return errors.New("must be between 1 and 65535")
	}
	return nil
}

// validAddress accepts a bare address or a list of them. It is looser than
// validate.Email so that defaults like orchestra@localhost pass.
func validAddress(v any) error {
	addrs, ok := v.([]string)
	if !ok {
		addrs = []string{v.(string)}
	}
	for _, s := range addrs {
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
			return fmt.Errorf("%q is not a bare e-mail address", s)
		}
	}
	return nil
}

func validURL(v any) error {
	u, err := url.Parse(v.(string))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL")
	}
	return nil
}

// Attachment is a file a message carries.
type Attachment struct {
	Name, ContentType string
	Data              []byte
}

// Send mails a plain-text message to every address in to, as one message,
// with attachments. The session ends at ctx's deadline, or after 30 s if it
// has none.
func Send(ctx context.Context, to []string, subject, body string, attachments ...Attachment) error {
	host, port := SMTPHost.Get(), SMTPPort.Get()
	if len(to) == 0 {
		return errors.New("mailer: no recipients")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return fmt.Errorf("mailer: send via %s:%d: %w", host, port, context.DeadlineExceeded)
	}

	msg := gomail.NewMsg()
	if err := msg.From(From.Get()); err != nil {
		return fmt.Errorf("mailer: sender %q: %w", From.Get(), err)
	}
	if err := msg.To(to...); err != nil {
		return fmt.Errorf("mailer: recipients %q: %w", to, err)
	}
	msg.Subject(subject)
	msg.SetBodyString(gomail.TypeTextPlain, body)
	for _, a := range attachments {
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType))); err != nil {
			return fmt.Errorf("mailer: attach %s: %w", a.Name, err)
		}
	}

	// The ctx only bounds go-mail's dial; WithTimeout sets the connection
	// deadline that bounds the rest of the session.
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout)}
	switch SMTPTLS.Get() {
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		// Opportunistic TLS guards against eavesdropping only (as MTAs do,
		// RFC 7435): whoever can alter the traffic can strip the STARTTLS
		// offer anyway, and a local relay's certificate is often self-signed
		// (Debian's Postfix). starttls or tls authenticate the server.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic),
			gomail.WithTLSConfig(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}))
	}
	if user := SMTPUsername.Get(); user != "" {
		// go-mail refuses to send credentials in clear text except to localhost.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(user), gomail.WithPassword(SMTPPassword.Get()))
	}
	c, err := gomail.NewClient(host, opts...)
	if err == nil {
		err = c.DialAndSendWithContext(ctx, msg)
	}
	if err != nil {
		return fmt.Errorf("mailer: send via %s:%d: %w", host, port, err)
	}
	return nil
}

// Tell mails staff (MAIL_ADMINS) what a service's background work found
// (Alert is for units); with none set, or when the mail cannot go, it is
// logged instead.
func Tell(ctx context.Context, subject, body string) {
	admins := Admins.Get()
	if len(admins) == 0 {
		slog.WarnContext(ctx, "no MAIL_ADMINS to tell", "subject", subject)
		return
	}
	if err := Send(ctx, admins, subject, body); err != nil {
		slog.ErrorContext(ctx, "alert not sent", "subject", subject, "err", err)
	}
}
