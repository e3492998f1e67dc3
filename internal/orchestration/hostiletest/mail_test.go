package hostiletest

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/mail"
	"github.com/orchestra-panel/orchestra/internal/services/mail/mailtest"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// mailSuite drives the mailbox and address backends: what the rules accept
// of a mailbox's name, password hash and Sieve script, and of an address's
// name, is in Dovecot's passwd-file, the mailbox's script and Postfix's
// alias map byte for byte. The mailboxes' monitors then measure every
// mailbox the server has, whatever its name, once each; the disk monitor
// (doveadm, as the mail owner) follows no link planted in a maildir to
// what only root may read, nor writes through one.
var mailSuite = suite{
	name:     "mail",
	backends: []string{mail.MailboxBackend, mail.AddressBackend, mail.DiskMonitor, mail.TrafficMonitor},
	fields: map[string][]string{"Mailbox": {"name", "password", "custom_filtering"}, "MailAddress": {"name", "forward"},
		"Autoresponse": {"subject", "message"}},
	run: runMail,
}

func init() {
	suites = append(suites, mailSuite)
	skipped["Mailbox.filtering"] = "a choice among MAILBOXES_FILTERINGS: anything else is refused before it is stored"
}

func runMail(t *testing.T, st *store.Store, r *recorder) {
	mb := mailtest.LoadExclusive(t) // the backends write the bed's maps whole
	bed := sshtest.Load(t)
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary := "/tmp/orchestra-canary-" + tag
	t.Cleanup(func() { run(t, pool, target, "rm -f "+canary) })
	settings := mb.ServerSettings()
	settings[mail.PostfixLog.Name()] = mb.Log("postfix.log") // the traffic monitor's log
	addServer(t, st, "mail1", s0, settings, mail.MailboxBackend, mail.AddressBackend, mail.DiskMonitor, mail.TrafficMonitor)
	_, cust := account(t, st, "hm"+tag)
	var dom *ent.Domain
	if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
		dom, err = tx.Domain.Create().SetName("hm" + tag + ".example").Save(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	hash, err := mailHash()
	if err != nil {
		t.Fatal(err)
	}
	names := map[int]string{} // mailbox id → its name as stored
	scripts := map[string]string{}
	hashes := map[string]string{}
	var addresses []string
	var first *ent.Mailbox
	for i, s := range append(seeds(canary), "ok"+tag) {
		var b *ent.Mailbox
		if r.one(cust, "Mailbox.name", s, func(ctx context.Context, tx *ent.Tx) (err error) {
			b, err = tx.Mailbox.Create().SetName(s).SetPassword(hash).Save(ctx)
			return err
		}) {
			names[b.ID], hashes[b.Name] = b.Name, hash
			if first == nil {
				first = b
			}
		}
		name := fmt.Sprintf("hm%s-%d", tag, i)
		for _, script := range []string{s, "# " + s + "\nkeep;\n"} {
			if r.one(cust, "Mailbox.custom_filtering", script, func(ctx context.Context, tx *ent.Tx) (err error) {
				b, err = tx.Mailbox.Create().SetName(name).SetPassword(hash).SetFiltering(mail.FilterCustom).SetCustomFiltering(script).Save(ctx)
				return err
			}) {
				names[b.ID], scripts[b.Name], hashes[b.Name] = b.Name, b.CustomFiltering, hash
				break
			}
		}
		for _, pw := range []string{s, "$6$" + s, "$6$rounds=5000$salt$" + s} {
			pwName := fmt.Sprintf("hp%s-%d", tag, i)
			if r.one(cust, "Mailbox.password", pw, func(ctx context.Context, tx *ent.Tx) (err error) {
				b, err = tx.Mailbox.Create().SetName(pwName).SetPassword(pw).Save(ctx)
				return err
			}) {
				names[b.ID], hashes[b.Name] = b.Name, pw
			}
		}
	}
	// a valid hash arrives as it is
	if r.one(cust, "Mailbox.password", hash, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Mailbox.Create().SetName("hq" + tag).SetPassword(hash).Exec(ctx)
	}) {
		hashes["hq"+tag] = hash
	}
	if first == nil {
		t.Fatal("no mailbox name was accepted")
	}
	for _, s := range append(seeds(canary), "info") {
		var a *ent.MailAddress
		if r.one(cust, "MailAddress.name", s, func(ctx context.Context, tx *ent.Tx) (err error) {
			a, err = tx.MailAddress.Create().SetName(s).SetDomainID(dom.ID).AddMailboxIDs(first.ID).Save(ctx)
			return err
		}) {
			addresses = append(addresses, a.Name+"@"+dom.Name)
		}
	}
	// forwards (a JSON list, so no string column names them)
	var forwards []string
	for i, s := range append(seeds(canary), "x@example.net") {
		for _, f := range []string{s, s + "@example.net"} {
			var a *ent.MailAddress
			// a blank forward is no forward: the address then delivers nowhere
			if r.write(cust, "MailAddress.forward", f, []string{"forward", "mailboxes"}, func(ctx context.Context, tx *ent.Tx) (err error) {
				a, err = tx.MailAddress.Create().SetName(fmt.Sprintf("fw%d", i)).SetDomainID(dom.ID).SetForward([]string{f}).Save(ctx)
				return err
			}) == nil {
				forwards = append(forwards, a.Name+"@"+dom.Name+" "+a.Forward[0]+"\n")
				break
			}
		}
	}
	// autoresponses: one mailbox answers for many addresses, each in a
	// branch of its script
	var vbox, lbox *ent.Mailbox // lbox: the one links are planted in, below
	if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
		if vbox, err = tx.Mailbox.Create().SetName("hv" + tag).SetPassword(hash).SetFiltering(mail.FilterNone).Save(ctx); err != nil {
			return err
		}
		lbox, err = tx.Mailbox.Create().SetName("hl" + tag).SetPassword(hash).Save(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var answers []string // what must be in its script, quoted
	for i, s := range append(seeds(canary), "Away") {
		for _, f := range []string{"subject", "message"} {
			subject, message := "Away", "Back soon"
			if f == "subject" {
				subject = s
			} else {
				message = s
			}
			if r.one(cust, "Autoresponse."+f, s, func(ctx context.Context, tx *ent.Tx) error {
				a, err := tx.MailAddress.Create().SetName(fmt.Sprintf("ar%d-%s", i, f)).SetDomainID(dom.ID).AddMailboxIDs(vbox.ID).Save(ctx)
				if err != nil {
					return err
				}
				return tx.Autoresponse.Create().SetAddressID(a.ID).SetSubject(subject).SetMessage(message).Exec(ctx)
			}) {
				q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
				if f == "subject" {
					answers = append(answers, "Autoresponse.subject", ":subject "+q+"\n")
				} else {
					answers = append(answers, "Autoresponse.message", "\n    "+q+";\n}\n")
				}
			}
		}
	}
	r.phase("writes done")
	ex := startExecutor(t, st, pool)
	settle(t, st, 0)
	r.phase("units done")
	read := func(path string) string {
		got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(run(t, pool, target, "base64 -w0 "+orchestration.Quote(path))))
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	users := read(mb.UsersFile())
	for name, h := range hashes {
		field := "{SHA512-CRYPT}" + h
		if h == "" {
			field = "*" // no password: no login
		}
		if strings.Contains(users, "\n"+name+":"+field+":") || strings.HasPrefix(users, name+":"+field+":") {
			r.arrived("Mailbox.password")
			r.arrived("Mailbox.name")
		} else {
			t.Errorf("mailbox %q with hash %q is not in the passwd-file:\n%s", name, h, users)
		}
	}
	for name, script := range scripts {
		if got := read(mb.Home(name) + "/sieve/orchestra.sieve"); got != script {
			t.Errorf("mailbox %s's script is %q, want %q", name, got, script)
		} else {
			r.arrived("Mailbox.custom_filtering")
		}
	}
	aliases := read(mb.MapFile("aliases"))
	for _, a := range addresses {
		if strings.Contains(aliases, a+" "+first.Name+"@"+mail.MailboxDomain.Get()+"\n") {
			r.arrived("MailAddress.name")
		} else {
			t.Errorf("address %q is not in the alias map:\n%s", a, aliases)
		}
	}
	for _, line := range forwards {
		if strings.Contains(aliases, line) {
			r.arrived("MailAddress.forward")
		} else {
			t.Errorf("forward %q is not in the alias map:\n%s", line, aliases)
		}
	}
	vacations := read(mb.Home(vbox.Name) + "/sieve/orchestra.sieve")
	for i := 0; i < len(answers); i += 2 {
		if strings.Contains(vacations, answers[i+1]) {
			r.arrived(answers[i])
		} else {
			t.Errorf("%s %q is not in the script:\n%s", answers[i], answers[i+1], vacations)
		}
	}
	checkMailMonitors(t, st, ex, pool, target, mb, users, lbox.Name, tag)
	noCanary(t, pool, target, canary)
	r.phase("monitors done")
}

// checkMailMonitors runs the mailboxes' monitors over what runMail applied
// (users is Dovecot's passwd-file as the backends left it): each prints
// one line for every mailbox the server has, whatever its name, and none
// for any other. Then links planted in the maildir of the mailbox linked
// (as the mail owner could: customers reach their mail only through the
// daemons, which make no links) lead the disk monitor nowhere: doveadm
// works on each mailbox as the mail owner, so what only root may read is
// neither measured nor written, and nothing outside the mail root changes.
// The traffic monitor reads only Postfix's log and the passwd-file, which
// root writes: nothing a customer can link.
func checkMailMonitors(t *testing.T, st *store.Store, ex *orchestration.Executor, pool *sshpool.Pool, target sshpool.Target,
	mb *mailtest.Bed, users, linked, tag string) {
	onServer := map[int]string{} // mailbox id → name, of those in the passwd-file
	names := map[string]bool{}
	for _, l := range strings.Split(users, "\n") {
		if n, _, ok := strings.Cut(l, ":"); ok {
			names[n] = true
		}
	}
	linkedID := 0
	for _, b := range st.Mailbox.Query().AllX(sys) {
		if !names[b.Name] {
			t.Errorf("mailbox %q (%d) is not in the passwd-file", b.Name, b.ID)
			continue
		}
		onServer[b.ID] = b.Name
		if b.Name == linked {
			linkedID = b.ID
		}
	}
	if linkedID == 0 {
		t.Fatalf("mailbox %s is not on the server", linked)
	}
	// monitor runs a monitor over every mailbox of the server, as a
	// scheduled measurement does, and returns its units' logs
	monitor := func(name string, args map[string]string) []*ent.ExecutionLog {
		t.Helper()
		units, err := ex.Orchestrate(sys, orchestration.Selection{Model: "Mailbox", Backend: name, Action: resources.ActionMonitor, Args: args}, false)
		if err != nil || len(units) == 0 {
			t.Fatalf("%s: %v %v", name, units, err)
		}
		var ids []int
		for _, u := range units {
			if u.LogID == 0 {
				t.Fatalf("%s: a unit %s: %s", name, u.State, u.Problem)
			}
			ids = append(ids, u.LogID)
		}
		ctx, cancel := context.WithTimeout(sys, 2*time.Minute)
		defer cancel()
		logs, err := ex.Await(ctx, ids)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return logs
	}
	// measured is what the units printed, each mailbox once over them all
	measured := func(name string, logs []*ent.ExecutionLog) map[int]string {
		t.Helper()
		out := map[int]string{}
		for _, l := range logs {
			if l.State != orchestration.StateSuccess {
				t.Fatalf("%s: log %d %s: %s\n%s", name, l.ID, l.State, l.Error, l.Stderr[max(0, len(l.Stderr)-2000):])
			}
			values, err := resources.ParseOutput(l.Stdout)
			if err != nil {
				t.Fatalf("%s: log %d: %v", name, l.ID, err)
			}
			for id, v := range values {
				if _, twice := out[id]; twice {
					t.Errorf("%s measured mailbox %d in two units", name, id)
				}
				out[id] = v.String()
			}
		}
		return out
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, m := range []struct {
		name string
		args map[string]string
	}{{mail.DiskMonitor, nil}, {mail.TrafficMonitor, map[string]string{"since": "0", "until": now}}} {
		got := measured(m.name, monitor(m.name, m.args))
		for id, name := range onServer {
			v, ok := got[id]
			switch {
			case !ok:
				t.Errorf("%s did not measure mailbox %q (%d)", m.name, name, id)
			case m.name == mail.DiskMonitor && v != "0":
				t.Errorf("%s: mailbox %q (%d), which holds no mail, takes %s bytes", m.name, name, id, v)
			}
		}
		for id, v := range got {
			if _, ok := onServer[id]; !ok {
				t.Errorf("%s measured %d (%s), which is no mailbox of the server", m.name, id, v)
			}
		}
		t.Logf("%s: %d lines for the %d mailboxes of the server", m.name, len(got), len(onServer))
	}

	// links planted in the linked mailbox's maildir, as the mail owner:
	// a message that is a file only root may read (in a folder only root
	// may enter), a folder that is one only root may enter, holding a
	// message, and a folder that root owns and only root may write. The
	// maildirsize is removed, so that Dovecot counts the maildir again.
	owner := mail.VmailUser.Get()
	secret, outside := "/tmp/orchestra-secret-"+tag, "/tmp/orchestra-outside-"+tag
	t.Cleanup(func() {
		run(t, pool, target, "rm -rf -- "+orchestration.Quote(secret)+" "+orchestration.Quote(outside))
	})
	const bigSize, msgSize = 3_000_017, 2_000_000
	maildir := mb.Home(linked) + "/Maildir"
	run(t, pool, target, fmt.Sprintf(`set -e
secret=%s outside=%s maildir=%s owner=%s
install -d -m 0700 -- "$secret" "$secret/maildir" "$secret/maildir/cur" "$secret/maildir/new" "$secret/maildir/tmp"
head -c %d /dev/urandom >"$secret/big"
head -c %d /dev/urandom >"$secret/maildir/cur/1700000000.M1P1.secret:2,"
chmod 0600 -- "$secret/big" "$secret/maildir/cur/1700000000.M1P1.secret:2,"
install -d -m 0755 -- "$outside" "$outside/cur" "$outside/new" "$outside/tmp"
runuser -u "$owner" -- mkdir -p -- "$maildir/cur" "$maildir/new" "$maildir/tmp"
runuser -u "$owner" -- ln -s -- "$secret/big" "$maildir/cur/1700000001.M2P2.planted:2,"
runuser -u "$owner" -- ln -s -- "$secret/maildir" "$maildir/.Secret"
runuser -u "$owner" -- ln -s -- "$outside" "$maildir/.Outside"
runuser -u "$owner" -- rm -f -- "$maildir/maildirsize"`, orchestration.Quote(secret), orchestration.Quote(outside),
		orchestration.Quote(maildir), orchestration.Quote(owner), bigSize, msgSize))
	// every name, owner, mode, size, time and content outside the mail root
	// that the links lead to
	state := func() string {
		t.Helper()
		return run(t, pool, target, fmt.Sprintf(`find %[1]s %[2]s -printf '%%p %%u:%%g %%m %%s %%T@ %%C@\n' | LC_ALL=C sort
find %[1]s %[2]s -type f -exec sha256sum -- {} + | LC_ALL=C sort`, orchestration.Quote(secret), orchestration.Quote(outside)))
	}
	before := state()
	logs := monitor(mail.DiskMonitor, nil)
	if after := state(); after != before {
		t.Errorf("the disk monitor changed what the links lead to:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// what doveadm made in the mail root is the mail owner's: it acted as
	// that user (root would have counted the secret files and written
	// Dovecot's files into the outside folder)
	if out := run(t, pool, target, fmt.Sprintf("find %s ! -user %s -printf '%%p %%u\\n'",
		orchestration.Quote(filepath.Dir(mb.Home(linked))), orchestration.Quote(owner))); out != "" {
		t.Errorf("not the mail owner's in the mail root after the disk monitor:\n%s", out)
	}
	uid := strings.TrimSpace(run(t, pool, target, "id -u -- "+orchestration.Quote(owner)))
	for _, l := range logs {
		// doveadm, as the mail owner, may not reach what the links lead to:
		// it says so as that user, and the other mailboxes are measured
		if l.State != orchestration.StateSuccess || !strings.Contains(l.Stderr, "euid="+uid+"(") || strings.Contains(l.Stderr, "euid=0(") {
			t.Errorf("the disk monitor with planted links: log %d %s: %s\nstdout:\n%s\nstderr:\n%s", l.ID, l.State, l.Error, l.Stdout, l.Stderr)
			continue
		}
		values, err := resources.ParseOutput(l.Stdout)
		if err != nil || len(values) < 2 {
			t.Fatalf("the disk monitor with planted links: log %d measured %d mailboxes: %v", l.ID, len(values), err)
		}
		if v, ok := values[linkedID]; ok && v.IntPart() >= msgSize {
			t.Errorf("the disk monitor measured %s bytes for %s, whose links lead to %d and %d bytes only root may read", v, linked, bigSize, msgSize)
		}
	}
}

// mailHash is a SHA512-CRYPT hash, as the API stores a password.
func mailHash() (string, error) { return systemusers.HashPassword("Hostile-mailbox-1") }
