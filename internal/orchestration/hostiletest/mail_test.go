package hostiletest

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/mail"
	"github.com/orchestra-panel/orchestra/internal/services/mail/mailtest"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// mailSuite drives the mailbox and address backends: what the rules accept
// of a mailbox's name, password hash and Sieve script, and of an address's
// name, is in Dovecot's passwd-file, the mailbox's script and Postfix's
// alias map byte for byte.
var mailSuite = suite{
	name:     "mail",
	backends: []string{mail.MailboxBackend, mail.AddressBackend},
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
	addServer(t, st, "mail1", s0, mb.ServerSettings(), mail.MailboxBackend, mail.AddressBackend)
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
	var vbox *ent.Mailbox
	if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
		vbox, err = tx.Mailbox.Create().SetName("hv" + tag).SetPassword(hash).SetFiltering(mail.FilterNone).Save(ctx)
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
	startExecutor(t, st, pool)
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
	noCanary(t, pool, target, canary)
}

// mailHash is a SHA512-CRYPT hash, as the API stores a password.
func mailHash() (string, error) { return systemusers.HashPassword("Hostile-mailbox-1") }
