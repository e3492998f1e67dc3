// Package mailtest gives tests the mail test bed (testbed/mail.sh): a
// standalone Postfix and Dovecot on 127.0.0.13 whose maps and users file
// are written the way the panel's mail backends write them.
//
// The contract (DIR is ORCHESTRA_TEST_MAIL_DIR):
//
//	DIR/maps/domains    "example.test OK"
//	DIR/maps/aliases    "addr@example.test NAME@mailbox.invalid[,more]"
//	DIR/maps/mailboxes  "NAME@mailbox.invalid NAME"
//	DIR/maps/senders    "addr@example.test NAME[,NAME2]"
//	                    then postmap -c DIR/postfix DIR/maps/X
//	DIR/users           NAME:{SHA512-CRYPT}$6$...:8:8::DIR/vmail/NAME::userdb_quota_rule=*:storage=NM
//	reload              postfix -c DIR/postfix reload; doveadm -c DIR/dovecot/dovecot.conf reload
//	DIR/dkim/selectors  "example.test SELECTOR" (no reload)
//	DIR/dkim/DOMAIN.SELECTOR.key
//	                    PEM RSA private key, 0640 root:_rspamd (no reload; a
//	                    rewrite needs a later mtime in whole seconds)
//
// A mailbox logs in (IMAP, ManageSieve, submission) with its NAME; an
// address reaches it through the aliases map.
//
// rspamd scores every message Postfix takes (the X-Spam-Score header, a
// plain decimal number; GTUBE scores about 15 and is delivered) and signs
// with DKIM what a logged-in user sends on submission from a domain with a
// selector. Dovecot's Sieve replies (vacation) go out through port 2525.
package mailtest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
)

// PseudoDomain is the domain of the mailboxes themselves: the aliases map
// sends an address to NAME@PseudoDomain, which the mailboxes map lists and
// LMTP delivers to the Dovecot user NAME.
const PseudoDomain = "mailbox.invalid"

// Maps are the Postfix maps the backends write, in DIR/maps.
var Maps = []string{"domains", "mailboxes", "aliases", "senders", "transport"}

// MailUID and MailGID own the mailboxes (the mail user).
const MailUID, MailGID = 8, 8

// Wait is how long helpers wait for the daemons to take a change.
const Wait = 15 * time.Second

// GTUBE in a message's text makes rspamd score it about 15 (the test bed's
// rule ORCHESTRA_TEST_SPAM; rspamd's "add header" GTUBE variant), and the
// message is delivered with that score. The standard GTUBE (XJS...) is
// refused after DATA by rspamd itself: do not use it.
const GTUBE = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// SpamScoreHeader is the header in which rspamd writes a message's score,
// a plain decimal number ("-0.1", "0", "14.9").
const SpamScoreHeader = "X-Spam-Score"

// RspamdGroup is the group rspamd's workers run as: DKIM keys are 0640
// root:RspamdGroup.
const RspamdGroup = "_rspamd"

// Bed is the mail test bed as one test uses it.
type Bed struct {
	Dir        string // the state directory, DIR above
	Host       string // the address every daemon listens on
	SMTP       string // host:port of plain SMTP (the MX side, no AUTH)
	Submission string // host:port of submission (AUTH PLAIN without TLS)
	IMAP       string // host:port of IMAP (no TLS)
	Sieve      string // host:port of ManageSieve (no TLS)
	// Rspamd is host:port of rspamd's scanner (HTTP: rspamc -h); empty if
	// the running test bed has none.
	Rspamd string
	// Domain is hosted for the test once one of its mailboxes or aliases
	// exists, and removed after the test.
	Domain string
	token  string
	hosted bool
}

// Load returns the test bed, skipping the test when ./do test did not start
// it. What the test adds through the helpers is removed after it.
func Load(tb testing.TB) *Bed {
	tb.Helper()
	b := loadNoLock(tb)
	b.use(tb, syscall.LOCK_SH)
	return b
}

func loadNoLock(tb testing.TB) *Bed {
	tb.Helper()
	b := &Bed{Dir: os.Getenv("ORCHESTRA_TEST_MAIL_DIR"), Host: os.Getenv("ORCHESTRA_TEST_MAIL_HOST"),
		SMTP: os.Getenv("ORCHESTRA_TEST_MAIL_SMTP"), Submission: os.Getenv("ORCHESTRA_TEST_MAIL_SUBMISSION"),
		IMAP: os.Getenv("ORCHESTRA_TEST_MAIL_IMAP"), Sieve: os.Getenv("ORCHESTRA_TEST_MAIL_SIEVE"),
		Rspamd: os.Getenv("ORCHESTRA_TEST_MAIL_RSPAMD")}
	if b.Dir == "" || b.SMTP == "" || b.Submission == "" || b.IMAP == "" || b.Sieve == "" {
		tb.Skip("ORCHESTRA_TEST_MAIL_* unset: run through ./do test, which starts the mail test bed (testbed/mail.sh)")
	}
	if os.Geteuid() != 0 {
		// as the backends over SSH: the users file is root's, homes mail's
		tb.Skip("the mail test bed's files are written as root")
	}
	b.token = Token()
	b.Domain = b.token + ".test"
	return b
}

// LoadExclusive is Load for a test that writes the maps and the users file
// whole, as the panel's backends do: it waits until no other test uses the
// bed, empties what the backends write (maps, users, mail and the
// backends' fragments) and empties it again when the test ends.
func LoadExclusive(tb testing.TB) *Bed {
	tb.Helper()
	b := loadNoLock(tb)
	b.use(tb, syscall.LOCK_EX)
	b.reset(tb)
	tb.Cleanup(func() { b.reset(tb) }) // runs before the lock is let go (cleanups run last in, first out)
	return b
}

// use holds the bed's use lock (DIR/use) in mode until the test ends:
// shared by tests that add their own entries, exclusive for those that
// write the files whole.
func (b *Bed) use(tb testing.TB, mode int) {
	tb.Helper()
	f, err := os.OpenFile(filepath.Join(b.Dir, "use"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), mode); err != nil {
		f.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
}

// reset empties what the backends write and reloads Postfix.
func (b *Bed) reset(tb testing.TB) {
	tb.Helper()
	for _, dir := range []string{filepath.Join(b.Dir, "maps", ".orchestra"), filepath.Join(b.Dir, "vmail")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				tb.Fatal(err)
			}
		}
	}
	// mail others left queued (deferred to mailboxes gone) goes too
	if err := run("postsuper", "-c", b.PostfixDir(), "-d", "ALL"); err != nil {
		tb.Fatal(err)
	}
	for _, m := range Maps {
		if err := os.WriteFile(b.MapFile(m), nil, 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := b.Postmap(m); err != nil {
			tb.Fatal(err)
		}
	}
	if err := b.rewrite(b.UsersFile(), func([]string) []string { return nil }); err != nil {
		tb.Fatal(err)
	}
	// DKIM: no keys, an empty selectors file (a test bed without rspamd has
	// no DIR/dkim)
	if entries, err := os.ReadDir(b.DKIMDir()); err == nil {
		for _, e := range entries {
			if e.Name() == "selectors" {
				continue
			}
			if err := os.RemoveAll(filepath.Join(b.DKIMDir(), e.Name())); err != nil {
				tb.Fatal(err)
			}
		}
		if err := b.rewrite(b.DKIMSelectors(), func([]string) []string { return nil }); err != nil {
			tb.Fatal(err)
		}
	}
	if err := run("postfix", "-c", b.PostfixDir(), "reload"); err != nil {
		tb.Fatal(err)
	}
}

// Token is a fresh lowercase name part: put it in mailbox names and
// addresses so that runs and parallel tests do not meet.
func Token() string {
	var r [5]byte
	rand.Read(r[:])
	return "t" + hex.EncodeToString(r[:])
}

// Token is unique to the test.
func (b *Bed) Token() string { return b.token }

// PostfixDir is Postfix's configuration directory (postfix -c, postmap -c).
func (b *Bed) PostfixDir() string { return filepath.Join(b.Dir, "postfix") }

// ServerSettings are a mail server's settings (MAILBOXES_*) that point the
// panel's mail backends at the bed.
func (b *Bed) ServerSettings() map[string]string {
	return map[string]string{"MAILBOXES_POSTFIX_DIR": b.PostfixDir(), "MAILBOXES_MAPS_DIR": filepath.Join(b.Dir, "maps"),
		"MAILBOXES_PASSWD_PATH": b.UsersFile(), "MAILBOXES_VMAIL_DIR": filepath.Join(b.Dir, "vmail"),
		"MAILBOXES_DOVECOT_CONF": b.DovecotConf(), "MAILBOXES_SIEVE_DIR": filepath.Join(b.Dir, "sieve", "presets")}
}

// DovecotConf is Dovecot's configuration (dovecot/doveadm/doveconf -c).
func (b *Bed) DovecotConf() string { return filepath.Join(b.Dir, "dovecot", "dovecot.conf") }

// UsersFile is Dovecot's passwd-file.
func (b *Bed) UsersFile() string { return filepath.Join(b.Dir, "users") }

// MapFile is the source of Postfix map name (one of Maps).
func (b *Bed) MapFile(name string) string { return filepath.Join(b.Dir, "maps", name) }

// Home is the home directory of mailbox name (Maildir/, sieve/, .dovecot.sieve).
func (b *Bed) Home(name string) string { return filepath.Join(b.Dir, "vmail", name) }

// DKIMDir holds the DKIM keys and the selectors file (root:RspamdGroup 0750).
func (b *Bed) DKIMDir() string { return filepath.Join(b.Dir, "dkim") }

// DKIMSelectors is the file of "DOMAIN SELECTOR" lines.
func (b *Bed) DKIMSelectors() string { return filepath.Join(b.DKIMDir(), "selectors") }

// DKIMKeyFile is the private key of domain's selector.
func (b *Bed) DKIMKeyFile(domain, selector string) string {
	return filepath.Join(b.DKIMDir(), domain+"."+selector+".key")
}

// Log is the path of one of the daemons' logs: "postfix.log",
// "dovecot.log" or "rspamd.log".
func (b *Bed) Log(name string) string { return filepath.Join(b.Dir, name) }

// NeedRspamd skips the test when the running test bed has no rspamd (one
// started before it had).
func (b *Bed) NeedRspamd(tb testing.TB) {
	tb.Helper()
	if b.Rspamd == "" {
		tb.Skip("ORCHESTRA_TEST_MAIL_RSPAMD unset: the running mail test bed has no rspamd (./do ensure_mail_testbed restarts it)")
	}
}

// Mailbox is one made by Bed.Mailbox.
type Mailbox struct {
	Name     string // the login
	Password string
	Address  string // NAME@Bed.Domain, which delivers to it and may send as it
	QuotaMB  int
}

// UserLine is the passwd-file line of mailbox name: the login is the
// name, its home and mail under DIR/vmail/NAME, uid and gid mail, and a
// storage quota of quotaMB MiB (0: none).
func (b *Bed) UserLine(name, password string, quotaMB int) (string, error) {
	h, err := shacrypt.New(shacrypt.WithVariant(shacrypt.VariantSHA512), shacrypt.WithIterations(5000))
	if err != nil {
		return "", err
	}
	d, err := h.Hash(password)
	if err != nil {
		return "", err
	}
	extra := ""
	if quotaMB > 0 {
		extra = fmt.Sprintf("userdb_quota_rule=*:storage=%dM", quotaMB)
	}
	return fmt.Sprintf("%s:{SHA512-CRYPT}%s:%d:%d::%s::%s", name, d.Encode(), MailUID, MailGID, b.Home(name), extra), nil
}

// Mailbox makes mailbox name (make it unique: Token) as a backend would:
// its line in the users file, NAME@mailbox.invalid in the mailboxes map,
// NAME@Bed.Domain delivering to it (aliases) and allowed to send as it
// (senders), the domain hosted; postmap, reload, then waits until SMTP
// accepts the address and the name can log in. Removed after the test,
// with its mail.
func (b *Bed) Mailbox(tb testing.TB, name, password string, quotaMB int) *Mailbox {
	tb.Helper()
	m := &Mailbox{Name: name, Password: password, Address: name + "@" + b.Domain, QuotaMB: quotaMB}
	line, err := b.UserLine(name, password, quotaMB)
	if err != nil {
		tb.Fatal(err)
	}
	b.hostDomain(tb)
	mbox := name + "@" + PseudoDomain
	tb.Cleanup(func() {
		b.edit(tb, map[string]func([]string) []string{
			"users":     withoutKey(name, ":"),
			"mailboxes": withoutKey(mbox, " "),
			"aliases":   withoutKey(m.Address, " "),
			"senders":   withoutKey(m.Address, " "),
		})
		os.RemoveAll(b.Home(name))
	})
	b.edit(tb, map[string]func([]string) []string{
		"users":     replaceKey(name, ":", line),
		"mailboxes": replaceKey(mbox, " ", mbox+" "+name),
		"aliases":   replaceKey(m.Address, " ", m.Address+" "+mbox),
		"senders":   replaceKey(m.Address, " ", m.Address+" "+name),
	})
	b.waitFor(tb, "SMTP to accept "+m.Address, func() error { return b.probeRcpt(b.SMTP, nil, "probe@orchestra.test", m.Address) })
	b.waitFor(tb, "submission to let "+name+" send as "+m.Address, func() error {
		return b.probeRcpt(b.Submission, plainAuth(name, password), m.Address, m.Address)
	})
	b.waitFor(tb, "IMAP login of "+name, func() error {
		c, err := b.dialIMAP(name, password)
		if err == nil {
			c.Close()
		}
		return err
	})
	return m
}

// Alias makes address deliver to targets, each a mailbox name or another
// address, as the aliases map does (a name becomes NAME@mailbox.invalid);
// the address's domain must be hosted (Bed.Domain is). Removed after the
// test. Waits until SMTP accepts it.
func (b *Bed) Alias(tb testing.TB, address string, targets ...string) {
	tb.Helper()
	b.hostDomain(tb)
	var to []string
	for _, t := range targets {
		if !strings.Contains(t, "@") {
			t += "@" + PseudoDomain
		}
		to = append(to, t)
	}
	tb.Cleanup(func() { b.edit(tb, map[string]func([]string) []string{"aliases": withoutKey(address, " ")}) })
	b.edit(tb, map[string]func([]string) []string{"aliases": replaceKey(address, " ", address+" "+strings.Join(to, ","))})
	b.waitFor(tb, "SMTP to accept "+address, func() error { return b.probeRcpt(b.SMTP, nil, "probe@orchestra.test", address) })
}

// SetPassword rewrites m's line in the users file with a new password and
// nothing else: no reload (Dovecot reads the file again when it changed).
func (b *Bed) SetPassword(tb testing.TB, m *Mailbox, password string) {
	tb.Helper()
	line, err := b.UserLine(m.Name, password, m.QuotaMB)
	if err != nil {
		tb.Fatal(err)
	}
	unlock := b.lock(tb)
	defer unlock()
	if err := b.rewrite(b.UsersFile(), replaceKey(m.Name, ":", line)); err != nil {
		tb.Fatal(err)
	}
	m.Password = password
}

// SieveScript installs script as mailbox name's only active Sieve script,
// as a file in its sieve directory with .dovecot.sieve linking to it.
func (b *Bed) SieveScript(tb testing.TB, name, scriptName, script string) {
	tb.Helper()
	home := b.Home(name)
	dir := filepath.Join(home, "sieve")
	link := filepath.Join(home, ".dovecot.sieve")
	for _, d := range []string{home, dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(d, MailUID, MailGID); err != nil {
			tb.Fatal(err)
		}
	}
	file := filepath.Join(dir, scriptName+".sieve")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		tb.Fatal(err)
	}
	os.Remove(link)
	if err := os.Symlink(filepath.Join("sieve", scriptName+".sieve"), link); err != nil {
		tb.Fatal(err)
	}
	for _, f := range []string{file, link} {
		if err := os.Lchown(f, MailUID, MailGID); err != nil {
			tb.Fatal(err)
		}
	}
}

// Postmap rebuilds map name's database.
func (b *Bed) Postmap(name string) error {
	return run("postmap", "-c", b.PostfixDir(), b.MapFile(name))
}

// Reload reloads Postfix and Dovecot with the commands the backends run.
func (b *Bed) Reload() error {
	if err := run("postfix", "-c", b.PostfixDir(), "reload"); err != nil {
		return err
	}
	return run("doveadm", "-c", b.DovecotConf(), "reload")
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// hostDomain adds Bed.Domain to the domains map, once, until the test ends.
func (b *Bed) hostDomain(tb testing.TB) {
	tb.Helper()
	if b.hosted {
		return
	}
	b.hosted = true
	tb.Cleanup(func() { b.edit(tb, map[string]func([]string) []string{"domains": withoutKey(b.Domain, " ")}) })
	b.edit(tb, map[string]func([]string) []string{"domains": replaceKey(b.Domain, " ", b.Domain+" OK")})
}

// edit changes the users file and maps under the test bed's lock (tests in
// other packages write the same files), then postmaps and reloads.
func (b *Bed) edit(tb testing.TB, edits map[string]func([]string) []string) {
	tb.Helper()
	unlock := b.lock(tb)
	defer unlock()
	for _, name := range slices.Sorted(maps.Keys(edits)) {
		path := b.MapFile(name)
		if name == "users" {
			path = b.UsersFile()
		}
		if err := b.rewrite(path, edits[name]); err != nil {
			tb.Fatal(err)
		}
		if name != "users" {
			if err := b.Postmap(name); err != nil {
				tb.Fatal(err)
			}
		}
	}
	// Postfix only: Dovecot reads the users file again by itself, and its
	// reload would cut other tests' IMAP sessions and LMTP lookups
	if err := run("postfix", "-c", b.PostfixDir(), "reload"); err != nil {
		tb.Fatal(err)
	}
}

// lock takes the test bed's lock (flock on DIR/lock).
func (b *Bed) lock(tb testing.TB) func() {
	tb.Helper()
	f, err := os.OpenFile(filepath.Join(b.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		tb.Fatal(err)
	}
	return func() { f.Close() }
}

// rewrite replaces path's lines with edit's result through a new file
// renamed over it, keeping its mode and owner. The new file's mtime is
// later than the old one's in whole seconds: Dovecot reads a passwd-file
// again only when its mtime (seconds) or size changed.
func (b *Bed) rewrite(path string, edit func([]string) []string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	var lines []string
	for _, l := range strings.Split(string(old), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	lines = edit(lines)
	content := strings.Join(lines, "\n")
	if content != "" {
		content += "\n"
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), st.Mode().Perm()); err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if err := os.Chown(tmp.Name(), int(sys.Uid), int(sys.Gid)); err != nil {
			return err
		}
	}
	now := time.Now()
	if now.Unix() <= st.ModTime().Unix() {
		now = time.Unix(st.ModTime().Unix()+1, 0)
		if err := os.Chtimes(tmp.Name(), now, now); err != nil {
			return err
		}
	}
	return os.Rename(tmp.Name(), path)
}

// replaceKey drops the lines whose key (up to sep) is key and appends line.
func replaceKey(key, sep, line string) func([]string) []string {
	return func(lines []string) []string { return append(withoutKey(key, sep)(lines), line) }
}

func withoutKey(key, sep string) func([]string) []string {
	return func(lines []string) []string {
		return slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, key+sep) })
	}
}

// waitFor retries check until it succeeds or Wait passes.
func (b *Bed) waitFor(tb testing.TB, what string, check func() error) {
	tb.Helper()
	var err error
	for deadline := time.Now().Add(Wait); ; time.Sleep(100 * time.Millisecond) {
		if err = check(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %s: still %v after %v", what, err, Wait)
		}
	}
}

// probeRcpt: MAIL FROM from, RCPT TO to (after AUTH if auth is set), then
// RSET: nil when the server would take the mail.
func (b *Bed) probeRcpt(addr string, auth smtp.Auth, from, to string) error {
	c, err := dialSMTP(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return &Error{Stage: "AUTH", Err: err}
		}
	}
	if err := c.Mail(from); err != nil {
		return &Error{Stage: "MAIL", Err: err}
	}
	if err := c.Rcpt(to); err != nil {
		return &Error{Stage: "RCPT", Err: err}
	}
	c.Reset()
	c.Quit()
	return nil
}

// Error is an SMTP server's refusal, with the command it answered.
type Error struct {
	Stage string // AUTH, MAIL, RCPT or DATA (the reply after the message)
	Err   error
}

func (e *Error) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Code is the SMTP reply code of err (0 if it is not a server's reply).
func Code(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// Stage is the command an SMTP refusal answered ("" if err is not one).
func Stage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Stage
	}
	return ""
}

// Message is a plain text message with the usual headers.
func Message(from, to, subject, body string) string {
	var id [8]byte
	rand.Read(id[:])
	return "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: " + subject +
		"\r\nDate: " + time.Now().Format(time.RFC1123Z) +
		"\r\nMessage-ID: <" + hex.EncodeToString(id[:]) + "@orchestra.test>" +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"
}

// The sending helpers return the server's first permanent (5xx) refusal,
// or nil once it took the message. Temporary refusals (4xx) and cut
// connections are tried again until Wait passes: a reload (the other tests
// make them all the time, as the panel does) cuts logins and lookups in
// flight.

// Send delivers a message over plain SMTP (the MX side, no AUTH).
func (b *Bed) Send(tb testing.TB, from, to, subject, body string) error {
	tb.Helper()
	return b.sendRetrying(b.SMTP, nil, from, to, Message(from, to, subject, body), false)
}

// SendDeclaringSize sends msg over plain SMTP, announcing its size in MAIL
// FROM (SIZE=), so that the quota check happens at RCPT.
func (b *Bed) SendDeclaringSize(tb testing.TB, from, to, msg string) error {
	tb.Helper()
	return b.sendRetrying(b.SMTP, nil, from, to, msg, true)
}

// SendRaw sends msg (a whole message, headers and all: Message, or one of
// the test's own) over plain SMTP.
func (b *Bed) SendRaw(tb testing.TB, from, to, msg string) error {
	tb.Helper()
	return b.sendRetrying(b.SMTP, nil, from, to, msg, false)
}

// SendAuth sends msg (a whole message: Message) over submission, logged in
// as user.
func (b *Bed) SendAuth(tb testing.TB, user, password, from, to, msg string) error {
	tb.Helper()
	return b.sendRetrying(b.Submission, plainAuth(user, password), from, to, msg, false)
}

func (b *Bed) sendRetrying(addr string, auth smtp.Auth, from, to, msg string, declareSize bool) error {
	return retry(func() error { return b.send(addr, auth, from, to, msg, declareSize) }, temporarySMTP)
}

// temporarySMTP: a 4xx reply or no reply at all
func temporarySMTP(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code/100 == 4
	}
	return true
}

// retry calls f until it succeeds, fails for good (!temporary) or Wait
// passes, and returns its last error.
func retry(f func() error, temporary func(error) bool) error {
	deadline := time.Now().Add(Wait)
	for {
		err := f()
		if err == nil || !temporary(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *Bed) send(addr string, auth smtp.Auth, from, to, msg string, declareSize bool) error {
	c, err := dialSMTP(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return &Error{Stage: "AUTH", Err: err}
		}
	}
	if declareSize {
		// net/smtp does not announce sizes
		id, err := c.Text.Cmd("MAIL FROM:<%s> SIZE=%d", from, len(msg))
		if err == nil {
			c.Text.StartResponse(id)
			_, _, err = c.Text.ReadResponse(250)
			c.Text.EndResponse(id)
		}
		if err != nil {
			return &Error{Stage: "MAIL", Err: err}
		}
	} else if err := c.Mail(from); err != nil {
		return &Error{Stage: "MAIL", Err: err}
	}
	if err := c.Rcpt(to); err != nil {
		return &Error{Stage: "RCPT", Err: err}
	}
	w, err := c.Data()
	if err != nil {
		return &Error{Stage: "DATA", Err: err}
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return &Error{Stage: "DATA", Err: err}
	}
	return c.Quit()
}

func dialSMTP(addr string) (*smtp.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	host, _, _ := net.SplitHostPort(addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.Hello("client.orchestra.test"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// plainAuth is AUTH PLAIN without net/smtp's rule that it needs TLS off
// localhost: the test bed allows it on its loopback address.
type plainAuthT struct{ user, password string }

func plainAuth(user, password string) smtp.Auth { return &plainAuthT{user, password} }

func (a *plainAuthT) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.password), nil
}

func (a *plainAuthT) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// Client is an IMAP session of one mailbox.
type Client struct {
	*imapclient.Client
}

// Login opens an IMAP session as user (a mailbox name); it is logged out
// after the test. A refused login is an error at once; a cut connection
// or a temporary failure ([UNAVAILABLE]: a Dovecot reload) is tried again
// until Wait passes.
func (b *Bed) Login(tb testing.TB, user, password string) (*Client, error) {
	tb.Helper()
	var c *imapclient.Client
	err := retry(func() (err error) {
		c, err = b.dialIMAP(user, password)
		return err
	}, temporaryIMAP)
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() {
		c.Logout().Wait()
		c.Close()
	})
	return &Client{c}, nil
}

// TryLogin logs in as user and out again at once: what a test polling for
// a password or an account state uses, so that its successful tries do not
// hold connections up to Dovecot's per-user limit.
func (b *Bed) TryLogin(user, password string) error {
	return retry(func() error {
		c, err := b.dialIMAP(user, password)
		if err != nil {
			return err
		}
		c.Logout().Wait()
		return c.Close()
	}, temporaryIMAP)
}

func temporaryIMAP(err error) bool {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Code == imap.ResponseCodeUnavailable
	}
	return true
}

func (b *Bed) dialIMAP(user, password string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(b.IMAP, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Mailboxes lists the session's folders (INBOX, and what Sieve or clients
// made).
func (c *Client) Mailboxes() ([]string, error) {
	l, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range l {
		names = append(names, m.Mailbox)
	}
	slices.Sort(names)
	return names, nil
}

// Received is a message found by WaitForSubject.
type Received struct {
	UID     imap.UID
	Subject string
	From    string
	Body    string // the whole message, headers included
}

// WaitForSubject polls folder until a message with subject is in it (the
// folder may not exist yet) or timeout passes.
func (c *Client) WaitForSubject(folder, subject string, timeout time.Duration) (*Received, error) {
	var last error
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		r, err := c.find(folder, subject)
		if err == nil && r != nil {
			return r, nil
		}
		if err != nil {
			last = err
		} else {
			last = errors.New("no such message yet")
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no message %q in %s after %v: %v", subject, folder, timeout, last)
		}
	}
}

// Has tells whether a message with subject is in folder now.
func (c *Client) Has(folder, subject string) (bool, error) {
	r, err := c.find(folder, subject)
	return r != nil, err
}

// All returns every message with subject in folder now, oldest first.
func (c *Client) All(folder, subject string) ([]*Received, error) {
	return c.search(folder, subject, 0)
}

func (c *Client) find(folder, subject string) (*Received, error) {
	found, err := c.search(folder, subject, 1)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return found[0], nil
}

// search returns the messages of folder whose subject is subject, at most
// limit of them (0: all).
func (c *Client) search(folder, subject string, limit int) ([]*Received, error) {
	// selecting again shows what arrived since
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, err
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: subject}}}, nil).Wait()
	if err != nil {
		return nil, err
	}
	var found []*Received
	for _, uid := range data.AllUIDs() {
		section := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, Envelope: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Envelope == nil || m.Envelope.Subject != subject {
				continue // SEARCH matches substrings
			}
			r := &Received{UID: m.UID, Subject: m.Envelope.Subject, Body: string(m.FindBodySection(section))}
			if len(m.Envelope.From) > 0 {
				r.From = m.Envelope.From[0].Addr()
			}
			found = append(found, r)
			if len(found) == limit {
				return found, nil
			}
		}
	}
	return found, nil
}

// Header returns the values of the message's header name (any case), in
// the order they come, unfolded.
func (r *Received) Header(name string) []string {
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader(r.Body)))
	h, err := tp.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil
	}
	return h.Values(name)
}

// WaitForLog waits until the daemon's log name ("postfix.log",
// "dovecot.log", "rspamd.log") has a line containing substr, or timeout
// passes. Logs are emptied only when the test bed (re)starts.
func (b *Bed) WaitForLog(name, substr string, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		data, err := os.ReadFile(b.Log(name))
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(substr)) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no line with %q in %s after %v", substr, b.Log(name), timeout)
		}
	}
}

// ManageSieve logs in to ManageSieve as user and returns LISTSCRIPTS's
// lines (`"name" ACTIVE` for the active one). Temporary failures are tried
// again as by Login.
func (b *Bed) ManageSieve(user, password string) (lines []string, err error) {
	err = retry(func() (err error) {
		lines, err = b.manageSieve(user, password)
		return err
	}, func(err error) bool {
		var no *sieveNo
		return !errors.As(err, &no) || strings.Contains(no.line, "TRYLATER")
	})
	return lines, err
}

// sieveNo is a NO or BYE answer.
type sieveNo struct{ line string }

func (e *sieveNo) Error() string { return e.line }

func (b *Bed) manageSieve(user, password string) ([]string, error) {
	conn, err := net.DialTimeout("tcp", b.Sieve, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	// the greeting: capabilities, then OK
	if _, err := sieveResponse(r); err != nil {
		return nil, err
	}
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	if _, err := fmt.Fprintf(conn, "AUTHENTICATE \"PLAIN\" \"%s\"\r\n", cred); err != nil {
		return nil, err
	}
	if _, err := sieveResponse(r); err != nil {
		return nil, fmt.Errorf("AUTHENTICATE: %w", err)
	}
	if _, err := fmt.Fprintf(conn, "LISTSCRIPTS\r\n"); err != nil {
		return nil, err
	}
	lines, err := sieveResponse(r)
	if err != nil {
		return nil, fmt.Errorf("LISTSCRIPTS: %w", err)
	}
	fmt.Fprintf(conn, "LOGOUT\r\n")
	return lines, nil
}

// sieveResponse reads lines up to OK (nil error), NO or BYE (error).
func sieveResponse(r *bufio.Reader) ([]string, error) {
	var lines []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return lines, err
		}
		l = strings.TrimRight(l, "\r\n")
		switch {
		case l == "OK" || strings.HasPrefix(l, "OK "):
			return lines, nil
		case strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE"):
			return lines, &sieveNo{l}
		}
		lines = append(lines, l)
	}
}
