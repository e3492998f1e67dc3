package mailtest

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// what the daemons get to deliver or file a message
const deliver = 15 * time.Second

func TestDeliverOverSMTPAndReadOverIMAP(t *testing.T) {
	t.Parallel()
	b := Load(t)
	m := b.Mailbox(t, "alice-"+b.Token(), "s3cret-"+b.Token(), 10)
	// another address of the same mailbox, as the aliases map gives one
	info := "info@" + b.Domain
	b.Alias(t, info, m.Name)

	direct, viaAlias := "direct "+b.Token(), "via alias "+b.Token()
	if err := b.Send(t, "someone@example.org", m.Address, direct, "hello\nworld"); err != nil {
		t.Fatalf("send to %s: %v", m.Address, err)
	}
	if err := b.Send(t, "someone@example.org", info, viaAlias, "for info"); err != nil {
		t.Fatalf("send to %s: %v", info, err)
	}
	c, err := b.Login(t, m.Name, m.Password)
	if err != nil {
		t.Fatalf("IMAP login as %s: %v", m.Name, err)
	}
	r, err := c.WaitForSubject("INBOX", direct, deliver)
	if err != nil {
		t.Fatal(err)
	}
	if r.From != "someone@example.org" || !strings.Contains(r.Body, "hello\r\nworld") {
		t.Errorf("delivered message: from %q, body %q", r.From, r.Body)
	}
	if _, err := c.WaitForSubject("INBOX", viaAlias, deliver); err != nil {
		t.Fatal(err)
	}
	boxes, err := c.Mailboxes()
	if err != nil || !slices.Contains(boxes, "INBOX") {
		t.Errorf("mailboxes: %v, %v", boxes, err)
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	t.Parallel()
	b := Load(t)
	m := b.Mailbox(t, "bob-"+b.Token(), "right-"+b.Token(), 10)
	if _, err := b.Login(t, m.Name, "wrong"); err == nil {
		t.Error("IMAP login with a wrong password succeeded")
	}
	// the login is the mailbox name, not its address
	if _, err := b.Login(t, m.Address, m.Password); err == nil {
		t.Error("IMAP login with the address succeeded")
	}
	msg := Message(m.Address, m.Address, "x", "x")
	if err := b.SendAuth(t, m.Name, "wrong", m.Address, m.Address, msg); Code(err) != 535 || Stage(err) != "AUTH" {
		t.Errorf("submission with a wrong password: %v, want 535 at AUTH", err)
	}
	if _, err := b.ManageSieve(m.Name, "wrong"); err == nil {
		t.Error("ManageSieve login with a wrong password succeeded")
	}
}

func TestUnknownAddressRefusedAtRCPT(t *testing.T) {
	t.Parallel()
	b := Load(t)
	b.Mailbox(t, "carol-"+b.Token(), "pw-"+b.Token(), 10) // hosts b.Domain
	err := b.Send(t, "someone@example.org", "nobody-"+b.Token()+"@"+b.Domain, "x", "x")
	if Code(err) != 550 || Stage(err) != "RCPT" {
		t.Errorf("unknown address in a hosted domain: %v, want 550 at RCPT", err)
	}
	// not a hosted domain: no relaying
	err = b.Send(t, "someone@example.org", "someone@example.com", "x", "x")
	if Code(err) != 554 || Stage(err) != "RCPT" {
		t.Errorf("relay: %v, want 554 at RCPT", err)
	}
	// mailboxes are only reached through addresses
	err = b.Send(t, "someone@example.org", "carol-"+b.Token()+"@"+PseudoDomain, "x", "x")
	if Code(err)/100 != 5 || Stage(err) != "RCPT" {
		t.Errorf("the pseudo-domain from outside: %v, want 5xx at RCPT", err)
	}
}

func TestSubmission(t *testing.T) {
	t.Parallel()
	b := Load(t)
	dave := b.Mailbox(t, "dave-"+b.Token(), "pw-dave-"+b.Token(), 10)
	erin := b.Mailbox(t, "erin-"+b.Token(), "pw-erin-"+b.Token(), 10)

	subject := "from dave " + b.Token()
	if err := b.SendAuth(t, dave.Name, dave.Password, dave.Address, erin.Address, Message(dave.Address, erin.Address, subject, "hi erin")); err != nil {
		t.Fatalf("submission as %s from its own address: %v", dave.Name, err)
	}
	c, err := b.Login(t, erin.Name, erin.Password)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.WaitForSubject("INBOX", subject, deliver); err != nil {
		t.Fatal(err)
	} else if r.From != dave.Address {
		t.Errorf("from %q, want %q", r.From, dave.Address)
	}

	// dave may not send as erin
	err = b.SendAuth(t, dave.Name, dave.Password, erin.Address, erin.Address, Message(erin.Address, erin.Address, "forged", "x"))
	if Code(err) != 553 {
		t.Errorf("submission as %s from %s: %v, want 553", dave.Name, erin.Address, err)
	}
	// nor as an address nobody owns
	err = b.SendAuth(t, dave.Name, dave.Password, "x-"+b.Token()+"@"+b.Domain, erin.Address, Message("x@x", erin.Address, "unowned", "x"))
	if Code(err) != 553 {
		t.Errorf("submission from an unowned address: %v, want 553", err)
	}
	// plain SMTP does not offer AUTH
	err = b.send(b.SMTP, plainAuth(dave.Name, dave.Password), dave.Address, erin.Address, Message(dave.Address, erin.Address, "x", "x"), false)
	if Stage(err) != "AUTH" {
		t.Errorf("AUTH on port %s: %v, want refused", b.SMTP, err)
	}
}

func TestQuota(t *testing.T) {
	t.Parallel()
	b := Load(t)
	m := b.Mailbox(t, "frank-"+b.Token(), "pw-"+b.Token(), 1)
	big := Message("someone@example.org", m.Address, "big "+b.Token(), strings.Repeat(strings.Repeat("x", 76)+"\n", 2<<20/77))

	// the size announced: refused at RCPT
	err := b.SendDeclaringSize(t, "someone@example.org", m.Address, big)
	if Code(err) != 552 || Stage(err) != "RCPT" {
		t.Errorf("2 MB to a 1 MB mailbox, size announced: %v, want 552 at RCPT", err)
	}
	// not announced: refused once the message is in
	err = b.SendAuth(t, m.Name, m.Password, m.Address, m.Address, big)
	if Code(err) != 552 || Stage(err) != "DATA" {
		t.Errorf("2 MB to a 1 MB mailbox over submission: %v, want 552 after DATA", err)
	}
	if err := b.Send(t, "someone@example.org", m.Address, "big "+b.Token(), strings.Repeat("y\n", 1<<20)); Code(err) != 552 {
		t.Errorf("2 MB to a 1 MB mailbox: %v, want 552", err)
	}
	small := "small " + b.Token()
	if err := b.Send(t, "someone@example.org", m.Address, small, "fits"); err != nil {
		t.Fatalf("a small message: %v", err)
	}
	c, err := b.Login(t, m.Name, m.Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForSubject("INBOX", small, deliver); err != nil {
		t.Fatal(err)
	}
	q, err := c.GetQuotaRoot("INBOX").Wait()
	if err != nil || len(q) == 0 {
		t.Fatalf("GETQUOTAROOT: %v, %v", q, err)
	}
	if s := q[0].Resources["STORAGE"]; s.Limit != 1024 {
		t.Errorf("quota: %+v, want a 1024 KiB storage limit", q[0].Resources)
	}
}

func TestSieveFilesIntoFolder(t *testing.T) {
	t.Parallel()
	b := Load(t)
	m := b.Mailbox(t, "grace-"+b.Token(), "pw-"+b.Token(), 10)
	b.SieveScript(t, m.Name, "lists", `require ["fileinto", "mailbox"];
if header :contains "subject" "[list]" {
  fileinto :create "Lists";
  stop;
}
`)
	listed, plain := "[list] news "+b.Token(), "plain "+b.Token()
	for _, s := range []string{listed, plain} {
		if err := b.Send(t, "list@example.org", m.Address, s, "body"); err != nil {
			t.Fatal(err)
		}
	}
	c, err := b.Login(t, m.Name, m.Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForSubject("Lists", listed, deliver); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForSubject("INBOX", plain, deliver); err != nil {
		t.Fatal(err)
	}
	if in, err := c.Has("INBOX", listed); err != nil || in {
		t.Errorf("the filed message is in INBOX too (%v)", err)
	}
	if boxes, _ := c.Mailboxes(); !slices.Contains(boxes, "Lists") {
		t.Errorf("mailboxes %v, want Lists", boxes)
	}
	// ManageSieve sees the script written to the sieve directory, active
	scripts, err := b.ManageSieve(m.Name, m.Password)
	if err != nil || !slices.Contains(scripts, `"lists" ACTIVE`) {
		t.Errorf("LISTSCRIPTS: %q, %v", scripts, err)
	}
}

// Dovecot reads the users file again when it changes: a new password works
// without a reload. Not parallel: the other tests' reloads would restart the
// auth process that read the file.
func TestUsersFileReadWithoutReload(t *testing.T) {
	b := Load(t)
	m := b.Mailbox(t, "heidi-"+b.Token(), "old-"+b.Token(), 10)
	old := m.Password
	// the running auth process has read the file with the old password
	if _, err := b.Login(t, m.Name, old); err != nil {
		t.Fatal(err)
	}
	b.SetPassword(t, m, "new-"+b.Token())
	start := time.Now()
	b.waitFor(t, "the new password", func() error {
		c, err := b.dialIMAP(m.Name, m.Password)
		if err == nil {
			c.Close()
		}
		return err
	})
	t.Logf("new password taken after %v", time.Since(start).Round(time.Millisecond))
	if _, err := b.Login(t, m.Name, old); err == nil {
		t.Error("the old password still works")
	}
}

// rspamd scores what arrives on port 2525: the GTUBE pattern highly and
// delivered, ordinary mail low and without delay; a score the message
// came with is replaced.
func TestSpamScore(t *testing.T) {
	t.Parallel()
	b := Load(t)
	b.NeedRspamd(t)
	m := b.Mailbox(t, "ivan-"+b.Token(), "pw-"+b.Token(), 10)
	ham, spam, forged := "ham "+b.Token(), "spam "+b.Token(), "forged "+b.Token()
	c, err := b.Login(t, m.Name, m.Password)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := b.Send(t, "someone@example.org", m.Address, ham, "Hello,\nsee you on Monday.\n"); err != nil {
		t.Fatalf("ordinary message: %v", err)
	}
	r, err := c.WaitForSubject("INBOX", ham, deliver)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if score, err := r.SpamScore(); err != nil || score >= 5 {
		t.Errorf("ordinary message: score %v, %v; want one below 5\n%s", score, err, r.Body)
	} else {
		t.Logf("ordinary message: X-Spam-Score %s, delivered in %v", r.Header(SpamScoreHeader)[0], took.Round(time.Millisecond))
	}
	if took > 5*time.Second {
		t.Errorf("an ordinary message took %v to arrive", took)
	}

	if err := b.Send(t, "someone@example.org", m.Address, spam, "Buy now!\n"+GTUBE+"\n"); err != nil {
		t.Fatalf("GTUBE message refused: %v", err)
	}
	if r, err = c.WaitForSubject("INBOX", spam, deliver); err != nil {
		t.Fatal(err)
	}
	if score, err := r.SpamScore(); err != nil || score < 8 {
		t.Errorf("GTUBE message: score %v, %v; want 8 or more\n%s", score, err, r.Body)
	} else {
		t.Logf("GTUBE message: X-Spam-Score %s", r.Header(SpamScoreHeader)[0])
	}

	// a sender's own X-Spam-Score does not survive
	msg := "X-Spam-Score: -100\r\n" + Message("someone@example.org", m.Address, forged, "Buy now!\n"+GTUBE+"\n")
	if err := b.SendRaw(t, "someone@example.org", m.Address, msg); err != nil {
		t.Fatal(err)
	}
	if r, err = c.WaitForSubject("INBOX", forged, deliver); err != nil {
		t.Fatal(err)
	}
	if v := r.Header(SpamScoreHeader); len(v) != 1 || v[0] == "-100" {
		t.Errorf("forged score: X-Spam-Score %q, want rspamd's only", v)
	}
}

// What a logged-in user sends on submission is signed with the key of its
// From domain's selector, picked up without a reload; what arrives on 2525
// is not.
func TestDKIMSigning(t *testing.T) {
	t.Parallel()
	b := Load(t)
	b.NeedRspamd(t)
	judy := b.Mailbox(t, "judy-"+b.Token(), "pw-judy-"+b.Token(), 10)
	ken := b.Mailbox(t, "ken-"+b.Token(), "pw-ken-"+b.Token(), 10)
	c, err := b.Login(t, ken.Name, ken.Password)
	if err != nil {
		t.Fatal(err)
	}
	// signed: its signature verifies with the key's record (the login,
	// judy-..., is not an address of the domain)
	signedWith := func(k *DKIMKey, subject string) {
		t.Helper()
		if err := b.SendAuth(t, judy.Name, judy.Password, judy.Address, ken.Address, Message(judy.Address, ken.Address, subject, "Signed, I hope.")); err != nil {
			t.Fatalf("submission: %v", err)
		}
		r, err := c.WaitForSubject("INBOX", subject, deliver)
		if err != nil {
			t.Fatal(err)
		}
		sigs := r.Header("DKIM-Signature")
		if len(sigs) != 1 {
			t.Fatalf("%d DKIM-Signature headers, want 1\n%s", len(sigs), r.Body)
		}
		if d, s := DKIMTag(sigs[0], "d"), DKIMTag(sigs[0], "s"); d != k.Domain || s != k.Selector {
			t.Errorf("signed d=%s s=%s, want d=%s s=%s", d, s, k.Domain, k.Selector)
		}
		vs, err := VerifyDKIM(r.Body, k.LookupTXT)
		if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != k.Domain {
			t.Errorf("verification: %v (%v)", vs, err)
			for _, v := range vs {
				t.Logf("d=%s: %v", v.Domain, v.Err)
			}
		}
	}

	// no selector for the domain yet: not signed
	unsigned := "unsigned " + b.Token()
	if err := b.SendAuth(t, judy.Name, judy.Password, judy.Address, ken.Address, Message(judy.Address, ken.Address, unsigned, "x")); err != nil {
		t.Fatal(err)
	}
	if r, err := c.WaitForSubject("INBOX", unsigned, deliver); err != nil {
		t.Fatal(err)
	} else if sigs := r.Header("DKIM-Signature"); len(sigs) != 0 {
		t.Errorf("signed without a selector: %q", sigs)
	}

	k1 := b.DKIM(t, b.Domain, "s1"+b.Token())
	signedWith(k1, "signed "+b.Token())
	// a new key under a new selector: taken at the next message
	k2 := b.DKIM(t, b.Domain, "s2"+b.Token())
	signedWith(k2, "rotated "+b.Token())
	// the same selector's key rewritten (a later mtime): taken too
	k3, err := NewDKIMKey(k2.Domain, k2.Selector)
	if err != nil {
		t.Fatal(err)
	}
	b.SetDKIM(t, k3)
	signedWith(k3, "rewritten "+b.Token())

	// the MX side does not sign, even From a domain with a key
	inbound := "inbound " + b.Token()
	if err := b.Send(t, judy.Address, ken.Address, inbound, "x"); err != nil {
		t.Fatal(err)
	}
	if r, err := c.WaitForSubject("INBOX", inbound, deliver); err != nil {
		t.Fatal(err)
	} else if sigs := r.Header("DKIM-Signature"); len(sigs) != 0 {
		t.Errorf("mail received on %s signed: %q", b.SMTP, sigs)
	}
}

// A vacation script answers a sender once per period: the reply goes
// through port 2525 to the sender's mailbox, the second message gets none.
func TestSieveVacationRepliesOnce(t *testing.T) {
	t.Parallel()
	b := Load(t)
	away := b.Mailbox(t, "leo-"+b.Token(), "pw-leo-"+b.Token(), 10)
	writer := b.Mailbox(t, "mia-"+b.Token(), "pw-mia-"+b.Token(), 10)
	reply := "away " + b.Token()
	// as the panel writes an autoresponse: the addresses the mailbox is
	// reached at (the LMTP recipient is NAME@mailbox.invalid)
	b.SieveScript(t, away.Name, "autoresponse", `require ["vacation"];
vacation :days 1 :addresses ["`+away.Address+`"] :subject "`+reply+`" "I am away until Monday.";
`)
	ca, err := b.Login(t, away.Name, away.Password)
	if err != nil {
		t.Fatal(err)
	}
	cw, err := b.Login(t, writer.Name, writer.Password)
	if err != nil {
		t.Fatal(err)
	}

	first, second := "first "+b.Token(), "second "+b.Token()
	start := time.Now()
	if err := b.Send(t, writer.Address, away.Address, first, "Are you there?"); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.WaitForSubject("INBOX", first, deliver); err != nil {
		t.Fatal(err)
	}
	r, err := cw.WaitForSubject("INBOX", reply, deliver)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("vacation reply after %v", time.Since(start).Round(time.Millisecond))
	if r.From != away.Address || !strings.Contains(r.Body, "I am away until Monday.") {
		t.Errorf("reply from %q:\n%s", r.From, r.Body)
	}
	if _, err := r.SpamScore(); b.Rspamd != "" && err != nil {
		t.Errorf("the reply did not pass rspamd: %v", err)
	}

	if err := b.Send(t, writer.Address, away.Address, second, "Still there?"); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.WaitForSubject("INBOX", second, deliver); err != nil {
		t.Fatal(err)
	}
	// Pigeonhole decides at delivery and says so
	if err := b.WaitForLog("dovecot.log", "discarded duplicate vacation response to <"+writer.Address+">", deliver); err != nil {
		t.Fatal(err)
	}
	if all, err := cw.All("INBOX", reply); err != nil || len(all) != 1 {
		t.Errorf("%d replies (%v), want 1", len(all), err)
	}
}
