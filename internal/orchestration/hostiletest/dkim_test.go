package hostiletest

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/mail"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/dkimkey"
)

// dkimSuite drives the DKIM backend. Its model's text is the panel's own
// (a selector of the date, the keys it makes); what a customer chooses and
// reaches the server is the name of the domain a key is for: each name the
// rules accept for a domain with an address is in its key file's name and
// its selectors line byte for byte.
var dkimSuite = suite{
	name:     "dkim",
	backends: []string{mail.DKIMBackend},
	fields:   map[string][]string{"Domain": {"name"}},
	run:      runDKIM,
}

func init() {
	suites = append(suites, dkimSuite)
	for _, f := range []string{"selector", "name", "private_key", "public_key"} {
		skipped["DKIMKey."+f] = "made by the panel (a selector of the date, its record's name from the domain's, the keys it makes); the domain's name is the dkim suite's"
	}
}

func runDKIM(t *testing.T, st *store.Store, r *recorder) {
	bed := sshtest.Load(t)
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary := "/tmp/orchestra-canary-" + tag
	t.Cleanup(func() { run(t, pool, target, "rm -f "+canary) })
	dir := t.TempDir() // root's, 0700: the server is this machine
	addServer(t, st, "dkim1", s0, map[string]string{"MAILBOXES_DKIM_DIR": dir, "MAILBOXES_DKIM_GROUP": "root"}, mail.DKIMBackend)
	_, cust := account(t, st, "hk"+tag)
	hash, err := mailHash()
	if err != nil {
		t.Fatal(err)
	}
	var box *ent.Mailbox
	if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) (err error) {
		box, err = tx.Mailbox.Create().SetName("hk" + tag).SetPassword(hash).Save(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var domains []int
	for _, s := range append(seeds(canary), "hk"+tag+".example") {
		for _, name := range []string{s, s + ".hk" + tag + ".example"} {
			var d *ent.Domain
			if r.one(cust, "Domain.name", name, func(ctx context.Context, tx *ent.Tx) (err error) {
				if d, err = tx.Domain.Create().SetName(name).Save(ctx); err != nil {
					return err
				}
				return tx.MailAddress.Create().SetName("info").SetDomainID(d.ID).AddMailboxIDs(box.ID).Exec(ctx)
			}) {
				domains = append(domains, d.ID)
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
	selectors := read(dir + "/selectors")
	for _, id := range domains {
		d, err := st.Domain.Get(sys, id)
		if err != nil {
			t.Fatal(err)
		}
		k, err := st.DKIMKey.Query().Where(dkimkey.DomainID(id)).Only(sys)
		if ent.IsNotFound(err) {
			continue // a name no key can be made for (it has _ or *): nothing reaches the server
		} else if err != nil {
			t.Fatal(err)
		}
		file := dir + "/" + d.Name + "." + k.Selector + ".key"
		if key := read(file); !strings.HasPrefix(key, "-----BEGIN RSA PRIVATE KEY-----\n") {
			t.Errorf("%s holds %.40q", file, key)
		} else if strings.Contains(selectors, "\n"+d.Name+" "+k.Selector+"\n") || strings.HasPrefix(selectors, d.Name+" "+k.Selector+"\n") {
			r.arrived("Domain.name")
		} else {
			t.Errorf("domain %q is not in the selectors file:\n%s", d.Name, selectors)
		}
	}
	// nothing but the keys, the selectors and the fragments: no name made
	// a path elsewhere
	if out := run(t, pool, target, "cd "+orchestration.Quote(dir)+" && find . -mindepth 1 ! -name '*.key' ! -name selectors ! -path './.orchestra' ! -path './.orchestra/*'"); out != "" {
		t.Errorf("unexpected files in the DKIM folder:\n%s", out)
	}
	noCanary(t, pool, target, canary)
}
