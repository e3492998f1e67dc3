package mail_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/services/mail"
	"github.com/orchestra-panel/orchestra/internal/services/mail/mailtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestMailOverAPI: what a customer writes through the API is how Postfix
// and Dovecot behave, checked as a mail user would, with SMTP and IMAP.
func TestMailOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		mb := mailtest.LoadExclusive(t) // the backends write the bed's maps whole
		bed := apitest.OnTestBed(t, st, mail.MailboxBackend, mail.AddressBackend)
		bed.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", bed.ServerID), map[string]any{"version": 1, "settings": mb.ServerSettings()}).Want(http.StatusOK)
		user := apitest.Unique("m")
		cust, _ := bed.Customer(user)
		dom := user + ".example"
		domID := cust.Do("POST", "/domains", map[string]any{"name": dom}).Want(http.StatusCreated).ID()
		other := cust.Do("POST", "/domains", map[string]any{"name": "other-" + dom}).Want(http.StatusCreated).ID()
		applied := bed.Applied
		box := func(name, pw string, more map[string]any) int {
			t.Helper()
			body := map[string]any{"name": name, "password": pw}
			for k, v := range more {
				body[k] = v
			}
			id := applied(cust.Do("POST", "/mailboxes", body).Want(http.StatusCreated)).ID()
			t.Cleanup(func() { bed.Admin.Do("DELETE", fmt.Sprintf("/mailboxes/%d", id), nil) })
			return id
		}
		ann, bea := user+"ann", user+"bea"
		annID := box(ann, "Ann-mailbox-41", nil)
		beaID := box(bea, "Bea-mailbox-42", nil)
		address := func(name string, dom int, body map[string]any) int {
			t.Helper()
			body["name"], body["domain"] = name, dom
			return applied(cust.Do("POST", "/mail-addresses", body).Want(http.StatusCreated)).ID()
		}
		address("info", domID, map[string]any{"mailboxes": []int{annID}})
		address("bea", domID, map[string]any{"mailboxes": []int{beaID}})
		address("fwd", domID, map[string]any{"forward": []string{"bea@" + dom}})

		// delivered to its mailbox; the password logs in, a wrong one does not
		if err := mb.Send(t, "someone@example.net", "info@"+dom, "hello ann", "first"); err != nil {
			t.Fatal(err)
		}
		c, err := mb.Login(t, ann, "Ann-mailbox-41")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitForSubject("INBOX", "hello ann", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		// the default preset files what the server scores 8 or more into Spam
		if err := mb.Send(t, "someone@example.net", "info@"+dom, "cheap pills", mailtest.GTUBE); err != nil {
			t.Fatal(err)
		}
		if m, err := c.WaitForSubject("Spam", "cheap pills", 30*time.Second); err != nil {
			t.Error(err)
		} else if score, err := m.SpamScore(); err != nil || score < 8 {
			t.Errorf("filed as spam with a score of %v (%v)", score, err)
		}
		if has, err := c.Has("INBOX", "cheap pills"); has || err != nil {
			t.Errorf("spam in the inbox: %v %v", has, err)
		}
		if _, err := mb.Login(t, ann, "wrong-password-1"); err == nil {
			t.Error("a wrong password logged in")
		}
		applied(cust.Do("POST", fmt.Sprintf("/mailboxes/%d/password", annID), map[string]any{"password": "Ann-changed-43"}).Want(http.StatusOK))
		// Dovecot reads its passwd-file again within a second of a change
		logsIn := func(name, pw string, want bool, what string) {
			t.Helper()
			deadline := time.Now().Add(15 * time.Second)
			for {
				err := mb.TryLogin(name, pw)
				if (err == nil) == want {
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("%s: login of %s: %v", what, name, err)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		logsIn(ann, "Ann-changed-43", true, "the new password")
		logsIn(ann, "Ann-mailbox-41", false, "the old password")

		// a forward arrives at the other mailbox; a catch-all catches the rest;
		// an unknown address of a domain without one is refused at RCPT
		if err := mb.Send(t, "someone@example.net", "fwd@"+dom, "forwarded", "x"); err != nil {
			t.Fatal(err)
		}
		cb, err := mb.Login(t, bea, "Bea-mailbox-42")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cb.WaitForSubject("INBOX", "forwarded", 30*time.Second); err != nil {
			t.Error(err)
		}
		err = mb.Send(t, "someone@example.net", "nobody@"+dom, "lost", "x")
		if mailtest.Code(err) != 550 || mailtest.Stage(err) != "RCPT" {
			t.Errorf("an unknown address: %v", err)
		}
		address("", domID, map[string]any{"mailboxes": []int{annID}})
		if err := mb.Send(t, "someone@example.net", "nobody@"+dom, "caught", "x"); err != nil {
			t.Fatal(err)
		}
		c, _ = mb.Login(t, ann, "Ann-changed-43")
		if _, err := c.WaitForSubject("INBOX", "caught", 30*time.Second); err != nil {
			t.Error(err)
		}
		address("postmaster", other, map[string]any{"mailboxes": []int{beaID}})
		if err := mb.Send(t, "someone@example.net", "nobody@other-"+dom, "other", "x"); mailtest.Code(err) != 550 {
			t.Errorf("an unknown address of a domain without a catch-all: %v", err)
		}

		// submission: as one's own address, not as another mailbox's
		if err := mb.SendAuth(t, ann, "Ann-changed-43", "info@"+dom, "someone@example.net",
			mailtest.Message("info@"+dom, "someone@example.net", "mine", "x")); mailtest.Stage(err) == "MAIL" {
			t.Errorf("sending as one's own address: %v", err)
		}
		if err := mb.SendAuth(t, ann, "Ann-changed-43", "bea@"+dom, "someone@example.net",
			mailtest.Message("bea@"+dom, "someone@example.net", "not mine", "x")); err == nil || mailtest.Stage(err) == "DATA" {
			t.Errorf("sending as another mailbox's address: %v", err)
		}

		// a link planted in a mailbox's home leads nowhere the mail owner
		// could not write already: root's folder stays empty
		planted := t.TempDir() // root's, 0700
		home := mb.Home(ann)   // Dovecot's, made by the mail that came
		if err := os.Symlink(planted, home+"/sieve"); err != nil {
			t.Fatal(err)
		}
		r := cust.Do("PATCH", fmt.Sprintf("/mailboxes/%d", annID), map[string]any{"filtering": "CUSTOM", "custom_filtering": "keep;\n", "version": 2}).Want(http.StatusOK)
		if got := r.Header.Get("Orchestra-Outcome"); got == "SUCCESS" {
			t.Errorf("a script written through a planted link: outcome %s", got)
		}
		if entries, _ := os.ReadDir(planted); len(entries) > 0 {
			t.Errorf("root's folder got %v through a planted link", entries)
		}
		if err := os.Remove(home + "/sieve"); err != nil {
			t.Fatal(err)
		}

		// a custom filter files by subject into a folder it made
		applied(cust.Do("PATCH", fmt.Sprintf("/mailboxes/%d", annID), map[string]any{"filtering": "CUSTOM", "version": 3,
			"custom_filtering": "require \"fileinto\";\nif header :contains \"subject\" \"invoice\" {\n  fileinto \"Invoices\";\n}\n"}).Want(http.StatusOK))
		if err := mb.Send(t, "someone@example.net", "info@"+dom, "invoice 42", "x"); err != nil {
			t.Fatal(err)
		}
		c, _ = mb.Login(t, ann, "Ann-changed-43")
		if _, err := c.WaitForSubject("Invoices", "invoice 42", 30*time.Second); err != nil {
			t.Error(err)
		}

		// an autoresponse answers a sender once per interval, and only
		// between its dates; the mailbox's own filter still runs
		answered := func(c *mailtest.Client, subject string, want int, what string) {
			t.Helper()
			waitQueueEmpty(t, mb, user) // the original was delivered, so any answer was sent and delivered
			if all, err := c.All("INBOX", subject); err != nil || len(all) != want {
				t.Errorf("%s: %d answers (%v), want %d", what, len(all), err, want)
			}
		}
		away := address("away", domID, map[string]any{"mailboxes": []int{annID}})
		applied(cust.Do("POST", "/autoresponses", map[string]any{"address": away, "subject": "Away until Monday",
			"message": "Back on Monday.\n\"Ann\" \\ ${1}"}).Want(http.StatusCreated))
		cb, _ = mb.Login(t, bea, "Bea-mailbox-42")
		for i := range 2 {
			if err := mb.Send(t, "bea@"+dom, "away@"+dom, fmt.Sprint("question ", i), "x"); err != nil {
				t.Fatal(err)
			}
			c, _ = mb.Login(t, ann, "Ann-changed-43")
			if _, err := c.WaitForSubject("INBOX", fmt.Sprint("question ", i), 30*time.Second); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				reply, err := cb.WaitForSubject("INBOX", "Away until Monday", 30*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(reply.Body, "Back on Monday.\r\n\"Ann\" \\ ${1}") {
					t.Errorf("the answer reads %q", reply.Body)
				}
			}
		}
		answered(cb, "Away until Monday", 1, "two messages within the interval")
		later := address("later", domID, map[string]any{"mailboxes": []int{annID}})
		ar := cust.Do("POST", "/autoresponses", map[string]any{"address": later, "subject": "From tomorrow", "message": "x",
			"starts_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}).Want(http.StatusCreated)
		applied(ar)
		if err := mb.Send(t, "bea@"+dom, "later@"+dom, "too early", "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitForSubject("INBOX", "too early", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		answered(cb, "From tomorrow", 0, "before its start")
		applied(cust.Do("PATCH", fmt.Sprintf("/autoresponses/%d", ar.ID()), map[string]any{"version": 1,
			"starts_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}).Want(http.StatusOK))
		if err := mb.Send(t, "bea@"+dom, "later@"+dom, "in time", "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := cb.WaitForSubject("INBOX", "From tomorrow", 30*time.Second); err != nil {
			t.Error("after its start:", err)
		}

		// over quota: refused at SMTP time; what fits is taken
		small := box(user+"cid", "Cid-mailbox-44", map[string]any{"quota": 1})
		address("cid", domID, map[string]any{"mailboxes": []int{small}})
		big := strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 32*1024) // 2 MiB
		if err := mb.SendDeclaringSize(t, "someone@example.net", "cid@"+dom, mailtest.Message("someone@example.net", "cid@"+dom, "big", big)); mailtest.Code(err) != 552 {
			t.Errorf("a message over quota: %v", err)
		}
		if err := mb.Send(t, "someone@example.net", "cid@"+dom, "fits", "x"); err != nil {
			t.Errorf("a message that fits: %v", err)
		}

		// the account disabled: its mailboxes cannot log in; enabled again: they can
		acc := bed.Admin.Do("GET", "/accounts?username="+user, nil).JSON()["results"].([]any)[0].(map[string]any)
		accPath := fmt.Sprintf("/accounts/%v", acc["id"])
		activate := func(on bool) {
			t.Helper()
			acc = bed.Admin.Do("GET", accPath, nil).JSON()
			applied(bed.Admin.Do("PATCH", accPath, map[string]any{"is_active": on, "version": acc["version"]}).Want(http.StatusOK))
		}
		activate(false)
		logsIn(bea, "Bea-mailbox-42", false, "the account disabled")
		// its mail waits on the server (MAILBOXES_DISABLED_MAIL=defer) ...
		if err := mb.Send(t, "someone@example.net", "bea@"+dom, "held", "x"); err != nil {
			t.Errorf("mail to a disabled mailbox: %v", err)
		}
		activate(true)
		logsIn(bea, "Bea-mailbox-42", true, "the account enabled again")
		cb, _ = mb.Login(t, bea, "Bea-mailbox-42")
		if _, err := cb.WaitForSubject("INBOX", "held", 30*time.Second); err != nil {
			t.Error("mail held while disabled:", err)
		}
		// ... or is refused (bounce), as the server's setting says
		srv := bed.Admin.Do("GET", fmt.Sprintf("/servers/%d", bed.ServerID), nil).JSON()
		set := srv["settings"].(map[string]any)
		set["MAILBOXES_DISABLED_MAIL"] = "bounce"
		bed.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", bed.ServerID), map[string]any{"version": srv["version"], "settings": set}).Want(http.StatusOK)
		beaPath := fmt.Sprintf("/mailboxes/%d", beaID)
		enable := func(on bool) {
			t.Helper()
			v := cust.Do("GET", beaPath, nil).JSON()["version"]
			applied(cust.Do("PATCH", beaPath, map[string]any{"is_active": on, "version": v}).Want(http.StatusOK))
		}
		enable(false) // bea alone: ann takes the bounce
		if err := mb.Send(t, "info@"+dom, "bea@"+dom, "bounced", "x"); err != nil {
			t.Fatal(err)
		}
		c, _ = mb.Login(t, ann, "Ann-changed-43")
		if _, err := c.WaitForSubject("INBOX", "Undelivered Mail Returned to Sender", 30*time.Second); err != nil {
			t.Error("mail to a disabled mailbox, MAILBOXES_DISABLED_MAIL=bounce:", err)
		}
		enable(true)
		logsIn(bea, "Bea-mailbox-42", true, "the account enabled again")

		// deleted: its mail goes with it
		applied(cust.Do("DELETE", fmt.Sprintf("/mailboxes/%d", beaID), nil).Want(http.StatusNoContent))
		if _, err := os.Stat(mb.Home(bea)); !os.IsNotExist(err) {
			t.Errorf("a deleted mailbox's home: %v", err)
		}
		logsIn(bea, "Bea-mailbox-42", false, "the mailbox deleted")
	})
}

// waitQueueEmpty waits until the bed's Postfix holds no message of the
// test's (its token in a sender or recipient): what it took has been
// delivered (a message leaves the queue once its LMTP delivery, Sieve
// actions included, is done).
func waitQueueEmpty(t *testing.T, mb *mailtest.Bed, token string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := exec.Command("postqueue", "-c", mb.PostfixDir(), "-j").Output()
		if err == nil && !slices.ContainsFunc(strings.Split(string(out), "\n"), func(l string) bool { return strings.Contains(l, token) }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mail queue is not empty: %s %v", out, err)
		}
	}
}
