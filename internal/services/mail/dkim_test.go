package mail_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/mail"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/dkimkey"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// results lists path (a list) as c sees it.
func results(c *apitest.Client, path string) []map[string]any {
	var out []map[string]any
	for _, x := range c.Do("GET", path, nil).Want(http.StatusOK).JSON()["results"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// txts are the TXT values of the domain named name, as c sees them ("-"
// when there is no such domain).
func txts(c *apitest.Client, name string) []string {
	doms := results(c, "/domains?search="+name)
	for _, d := range doms {
		if d["name"] == name {
			var out []string
			for _, r := range results(c, fmt.Sprintf("/records?domain=%v", d["id"])) {
				if r["type"] == "TXT" {
					out = append(out, r["value"].(string))
				}
			}
			return out
		}
	}
	return []string{"-"}
}

// TestDKIMKeys: a domain's first address gives it a DKIM key, its record
// and the SPF and DMARC records, never over the customer's own; customers
// see their keys, never the private half, and cannot rotate or delete
// them; staff rotate, the old record stays until the retired key is
// deleted by the periodic job.
func TestDKIMKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		ann := e.MakeAccount("ann", "Ann-password-42", false)
		e.MakeAccount("bob", "Bob-password-42", false)
		asAnn, bob := e.TokenFor(admin, ann.ID), e.Login("bob", "Bob-password-42")
		dom := "ann.example"
		domID := asAnn.Do("POST", "/domains", map[string]any{"name": dom}).Want(http.StatusCreated).ID()
		box := asAnn.Do("POST", "/mailboxes", map[string]any{"name": "ann", "password": "Mailbox-secret-7"}).Want(http.StatusCreated).ID()
		if keys := results(asAnn, "/dkim-keys"); len(keys) != 0 {
			t.Fatalf("keys before any address: %v", keys)
		}
		asAnn.Do("POST", "/mail-addresses", map[string]any{"name": "info", "domain": domID, "mailboxes": []int{box}}).Want(http.StatusCreated)
		asAnn.Do("POST", "/mail-addresses", map[string]any{"name": "sales", "domain": domID, "mailboxes": []int{box}}).Want(http.StatusCreated)

		keys := results(asAnn, "/dkim-keys")
		if len(keys) != 1 {
			t.Fatalf("%d keys after two addresses, want 1: %v", len(keys), keys)
		}
		k := keys[0]
		sel, _ := k["selector"].(string)
		if !regexp.MustCompile(`^o[0-9]{8}$`).MatchString(sel) || k["name"] != sel+"._domainkey."+dom || k["is_active"] != true ||
			k["domain"] != float64(domID) || k["account"] != float64(ann.ID) || k["retired_at"] != nil || k["record"] == nil {
			t.Errorf("the domain's key: %v", k)
		}
		if _, shown := k["private_key"]; shown || strings.Contains(fmt.Sprint(k), "PRIVATE") || strings.Contains(fmt.Sprint(k), "v1:") {
			t.Errorf("the API shows the private key: %v", k)
		}
		value, _ := k["value"].(string)
		if !strings.HasPrefix(value, "v=DKIM1; k=rsa; p=") || len(value) < 300 {
			t.Errorf("its record's text: %q", value)
		}
		if got := txts(asAnn, sel+"._domainkey."+dom); len(got) != 1 || got[0] != value {
			t.Errorf("the key's TXT record: %q, want %q", got, value)
		}
		if got := txts(asAnn, dom); len(got) != 1 || got[0] != "v=spf1 mx ~all" {
			t.Errorf("the domain's SPF record: %q", got)
		}
		if got := txts(asAnn, "_dmarc."+dom); len(got) != 1 || got[0] != "v=DMARC1; p=none" {
			t.Errorf("the domain's DMARC record: %q", got)
		}
		// the zone renders the key's 410 bytes as strings of at most 255
		zone, _ := asAnn.Do("GET", fmt.Sprintf("/domains/%d/zone", domID), nil).Want(http.StatusOK).JSON()["text"].(string)
		pub := strings.TrimPrefix(value, "v=DKIM1; k=rsa; p=")
		if !strings.Contains(zone, `"v=DKIM1; k=rsa; p=`+pub[:255-len("v=DKIM1; k=rsa; p=")]+`" "`+pub[255-len("v=DKIM1; k=rsa; p="):]+`"`) {
			t.Errorf("the zone does not split the key's record in 255-byte strings:\n%s", zone)
		}

		// stored sealed: the public key's private half, RSA 2048; nowhere
		// in the history or the changes
		sys := viewer.System(t.Context(), viewer.ChannelCLI)
		row, err := st.DKIMKey.Query().Where(dkimkey.DomainID(domID)).Only(sys)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(row.PrivateKey, "v1:") || strings.Contains(row.PrivateKey, "PRIVATE") {
			t.Errorf("the private key is not sealed: %.40q", row.PrivateKey)
		}
		plain, err := sealed.Open("DKIMKey.private_key", row.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(plain)
		priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil || priv.N.BitLen() != 2048 {
			t.Fatalf("the key: %v", err)
		}
		der, _ := base64.StdEncoding.DecodeString(pub)
		if p, err := x509.ParsePKIXPublicKey(der); err != nil || !p.(*rsa.PublicKey).Equal(&priv.PublicKey) {
			t.Errorf("the record's key is not the private key's: %v", err)
		}
		for _, h := range st.History.Query().Where(history.ObjectType("DKIMKey")).AllX(sys) {
			if strings.Contains(fmt.Sprint(h.Changes), row.PrivateKey) || strings.Contains(fmt.Sprint(h.Changes), "PRIVATE") {
				t.Errorf("the history holds the private key: %v", h.Changes)
			}
		}
		for _, c := range st.Change.Query().Where(change.Model("DKIMKey")).AllX(sys) {
			if strings.Contains(fmt.Sprint(c.Snapshot), "PRIVATE") {
				t.Errorf("a change holds the opened private key")
			}
		}

		// customers see their own keys, never rotate or delete them; others
		// see none
		one := fmt.Sprintf("/dkim-keys/%v", k["id"])
		asAnn.Do("POST", one+"/rotate", nil).Want(http.StatusForbidden)
		asAnn.Do("DELETE", one, nil).Want(http.StatusForbidden)
		asAnn.Do("POST", "/dkim-keys", map[string]any{"domain": domID}).Want(http.StatusNotFound) // the panel makes them
		bob.Do("GET", one, nil).Want(http.StatusNotFound)
		bob.Do("POST", one+"/rotate", nil).Want(http.StatusNotFound)
		if keys := results(bob, "/dkim-keys"); len(keys) != 0 {
			t.Errorf("bob sees %v", keys)
		}

		// staff rotate: the new key signs, the old one is retired and its
		// record stays
		r := admin.Do("POST", one+"/rotate", nil).Want(http.StatusCreated).JSON()
		sel2, _ := r["selector"].(string)
		if sel2 != sel+"-2" || r["is_active"] != true || r["value"] == value {
			t.Errorf("the new key: %v", r)
		}
		old := asAnn.Do("GET", one, nil).Want(http.StatusOK).JSON()
		if old["is_active"] != false || old["retired_at"] == nil || old["deletes_at"] == nil {
			t.Errorf("the rotated key: %v", old)
		}
		admin.Do("POST", one+"/rotate", nil).Want(http.StatusConflict)
		if got := txts(asAnn, sel+"._domainkey."+dom); len(got) != 1 || got[0] != value {
			t.Errorf("the retired key's record: %q", got)
		}
		if got := txts(asAnn, sel2+"._domainkey."+dom); len(got) != 1 || got[0] != r["value"] {
			t.Errorf("the new key's record: %q", got)
		}
		if n := len(results(asAnn, "/dkim-keys?is_active=true")); n != 1 {
			t.Errorf("%d signing keys", n)
		}
		// not yet: its days are not over
		if n, err := mail.DeleteRetiredKeys(t.Context(), st, time.Now()); err != nil || n != 0 {
			t.Errorf("deleted %d keys (%v) before their time", n, err)
		}
		// once they are: the key and its record go; the new key stays
		if n, err := mail.DeleteRetiredKeys(t.Context(), st, time.Now().Add(7*24*time.Hour+time.Minute)); err != nil || n != 1 {
			t.Errorf("deleted %d keys (%v), want 1", n, err)
		}
		asAnn.Do("GET", one, nil).Want(http.StatusNotFound)
		if got := txts(asAnn, sel+"._domainkey."+dom); len(got) != 1 || got[0] != "-" {
			t.Errorf("the deleted key's record: %q", got)
		}
		if got := txts(asAnn, sel2+"._domainkey."+dom); len(got) != 1 {
			t.Errorf("the signing key's record: %q", got)
		}

		// the customer's own SPF and DMARC are kept, and a parent's DMARC
		// counts for its subdomains
		own := asAnn.Do("POST", "/domains", map[string]any{"name": "own.example", "records": []map[string]any{
			{"type": "TXT", "value": "v=spf1 include:_spf.example.net -all"}, {"type": "TXT", "value": "other text"}}}).
			Want(http.StatusCreated).ID()
		asAnn.Do("POST", "/domains", map[string]any{"name": "_dmarc.own.example", "records": []map[string]any{
			{"type": "TXT", "value": "v=DMARC1; p=reject"}}}).Want(http.StatusCreated)
		sub := asAnn.Do("POST", "/domains", map[string]any{"name": "lists.own.example"}).Want(http.StatusCreated).ID()
		for _, d := range []int{own, sub} {
			asAnn.Do("POST", "/mail-addresses", map[string]any{"name": "x", "domain": d, "mailboxes": []int{box}}).Want(http.StatusCreated)
		}
		if got := txts(asAnn, "own.example"); len(got) != 2 || !strings.Contains(strings.Join(got, "|"), "include:_spf.example.net") || strings.Contains(strings.Join(got, "|"), "mx ~all") {
			t.Errorf("the customer's SPF record: %q", got)
		}
		if got := txts(asAnn, "_dmarc.own.example"); len(got) != 1 || got[0] != "v=DMARC1; p=reject" {
			t.Errorf("the customer's DMARC record: %q", got)
		}
		if got := txts(asAnn, "lists.own.example"); len(got) != 1 || got[0] != "v=spf1 mx ~all" {
			t.Errorf("a subdomain's SPF record: %q", got)
		}
		if got := txts(asAnn, "_dmarc.lists.own.example"); got[0] != "-" {
			t.Errorf("a DMARC record over the parent's: %q", got)
		}
		if n := len(results(asAnn, fmt.Sprintf("/dkim-keys?domain=%d", sub))); n != 1 {
			t.Errorf("the subdomain has %d keys", n)
		}

		// empty settings: no policies
		admin.Do("PUT", "/settings/MAILBOXES_SPF_RECORD", map[string]any{"value": ""}).Want(http.StatusOK)
		admin.Do("PUT", "/settings/MAILBOXES_DMARC_RECORD", map[string]any{"value": ""}).Want(http.StatusOK)
		t.Cleanup(func() {
			admin.Do("DELETE", "/settings/MAILBOXES_SPF_RECORD", nil)
			admin.Do("DELETE", "/settings/MAILBOXES_DMARC_RECORD", nil)
		})
		admin.Do("PUT", "/settings/MAILBOXES_SPF_RECORD", map[string]any{"value": "mx ~all"}).Want(http.StatusUnprocessableEntity)
		bare := asAnn.Do("POST", "/domains", map[string]any{"name": "bare.example"}).Want(http.StatusCreated).ID()
		asAnn.Do("POST", "/mail-addresses", map[string]any{"name": "x", "domain": bare, "mailboxes": []int{box}}).Want(http.StatusCreated)
		if got := txts(asAnn, "bare.example"); len(got) != 0 {
			t.Errorf("an SPF record with MAILBOXES_SPF_RECORD empty: %q", got)
		}
		if got := txts(asAnn, "_dmarc.bare.example"); got[0] != "-" {
			t.Errorf("a DMARC record with MAILBOXES_DMARC_RECORD empty: %q", got)
		}

		// staff delete a key: its record and name go; the next address
		// gives the domain a signing key again. A deleted domain takes its
		// keys and their records along, a subdomain's from its top's zone.
		bareKey := results(admin, fmt.Sprintf("/dkim-keys?domain=%d", bare))[0]
		admin.Do("DELETE", fmt.Sprintf("/dkim-keys/%v", bareKey["id"]), nil).Want(http.StatusNoContent)
		if got := txts(asAnn, bareKey["name"].(string)); got[0] != "-" {
			t.Errorf("a deleted key's record: %q", got)
		}
		asAnn.Do("POST", "/mail-addresses", map[string]any{"name": "y", "domain": bare, "mailboxes": []int{box}}).Want(http.StatusCreated)
		if n := len(results(asAnn, fmt.Sprintf("/dkim-keys?domain=%d&is_active=true", bare))); n != 1 {
			t.Errorf("%d signing keys after the next address", n)
		}
		subKey := results(asAnn, fmt.Sprintf("/dkim-keys?domain=%d", sub))[0]
		asAnn.Do("DELETE", fmt.Sprintf("/domains/%d", sub), nil).Want(http.StatusNoContent)
		if got := txts(asAnn, subKey["name"].(string)); got[0] != "-" {
			t.Errorf("a deleted subdomain's key record: %q", got)
		}
		asAnn.Do("DELETE", fmt.Sprintf("/domains/%d", domID), nil).Want(http.StatusNoContent)
		if keys := results(admin, fmt.Sprintf("/dkim-keys?domain=%d", domID)); len(keys) != 0 {
			t.Errorf("a deleted domain's keys: %v", keys)
		}
	})
}

// TestDKIMBackendFiles: the key files and the selectors file as the
// backend writes them on a server (the SSH test bed), and a link planted
// in the DKIM folder is replaced, never written through.
func TestDKIMBackendFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := apitest.OnTestBed(t, st, mail.DKIMBackend)
		dir := t.TempDir() // root's, 0700: the server is this machine
		group, gid := "_rspamd", -1
		if g, err := user.LookupGroup(group); err == nil {
			gid, _ = strconv.Atoi(g.Gid)
		} else {
			group, gid = "root", 0
		}
		bed.Admin.Do("PATCH", fmt.Sprintf("/servers/%d", bed.ServerID), map[string]any{"version": 1, "settings": map[string]string{
			"MAILBOXES_DKIM_DIR": dir, "MAILBOXES_DKIM_GROUP": group}}).Want(http.StatusOK)
		applied := bed.Applied
		cust, _ := bed.Customer(apitest.Unique("dk"))
		dom := apitest.Unique("dk") + ".example"
		domID := cust.Do("POST", "/domains", map[string]any{"name": dom}).Want(http.StatusCreated).ID()
		box := cust.Do("POST", "/mailboxes", map[string]any{"name": apitest.Unique("dk"), "password": "Mailbox-secret-7"}).Want(http.StatusCreated).ID()
		applied(cust.Do("POST", "/mail-addresses", map[string]any{"name": "info", "domain": domID, "mailboxes": []int{box}}).Want(http.StatusCreated))
		k := results(cust, "/dkim-keys")[0]
		sel := k["selector"].(string)
		keyFile := func(sel string) string { return filepath.Join(dir, dom+"."+sel+".key") }
		checkKey := func(sel, value string) {
			t.Helper()
			st, err := os.Lstat(keyFile(sel))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode() != 0o640 || st.Sys().(*syscall.Stat_t).Uid != 0 || int(st.Sys().(*syscall.Stat_t).Gid) != gid {
				t.Errorf("%s: mode %v owner %d:%d, want 0640 root:%s", keyFile(sel), st.Mode(), st.Sys().(*syscall.Stat_t).Uid, st.Sys().(*syscall.Stat_t).Gid, group)
			}
			data, _ := os.ReadFile(keyFile(sel))
			block, _ := pem.Decode(data)
			if block == nil {
				t.Fatalf("%s is not PEM", keyFile(sel))
			}
			priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
			if mail.DKIMRecord(base64.StdEncoding.EncodeToString(der)) != value {
				t.Errorf("%s is not the key its record publishes", keyFile(sel))
			}
		}
		selectors := func() string {
			t.Helper()
			if st, err := os.Lstat(filepath.Join(dir, "selectors")); err != nil || !st.Mode().IsRegular() {
				t.Fatalf("the selectors file: %v %v", st, err)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "selectors"))
			return string(b)
		}
		checkKey(sel, k["value"].(string))
		if got := selectors(); got != dom+" "+sel+"\n" {
			t.Errorf("selectors: %q", got)
		}
		// the unit's stored script shows the key masked
		logs := results(bed.Admin, "/logs?backend="+mail.DKIMBackend)
		if len(logs) == 0 {
			t.Fatal("no log of the DKIM unit")
		}
		for _, l := range logs {
			one := bed.Admin.Do("GET", fmt.Sprintf("/logs/%v", l["id"]), nil).Want(http.StatusOK).JSON()
			script, _ := one["script"].(string)
			if strings.Contains(fmt.Sprint(one), "PRIVATE KEY") || !strings.Contains(script, "dkim_key='********'") {
				t.Errorf("the log's script does not mask the key:\n%s", script)
			}
		}

		// links planted where the next key and the selectors file go lead
		// nowhere: both are replaced by files of their own
		victim := filepath.Join(t.TempDir(), "victim")
		if err := os.WriteFile(victim, []byte("untouched"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, keyFile(sel+"-2")); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, "selectors"))
		if err := os.Symlink(victim, filepath.Join(dir, "selectors")); err != nil {
			t.Fatal(err)
		}
		r := applied(bed.Admin.Do("POST", fmt.Sprintf("/dkim-keys/%v/rotate", k["id"]), nil).Want(http.StatusCreated)).JSON()
		if r["selector"] != sel+"-2" {
			t.Fatalf("the new selector: %v", r["selector"])
		}
		if b, _ := os.ReadFile(victim); string(b) != "untouched" {
			t.Errorf("written through a planted link: %q", b)
		}
		checkKey(sel+"-2", r["value"].(string))
		checkKey(sel, k["value"].(string)) // retired: its file stays until it is deleted
		if got := selectors(); got != dom+" "+sel+"-2\n" {
			t.Errorf("selectors after the rotation: %q", got)
		}

		// the retired key deleted: its file goes
		applied(bed.Admin.Do("DELETE", fmt.Sprintf("/dkim-keys/%v", k["id"]), nil).Want(http.StatusNoContent))
		if _, err := os.Lstat(keyFile(sel)); !os.IsNotExist(err) {
			t.Errorf("a deleted key's file: %v", err)
		}
		if got := selectors(); got != dom+" "+sel+"-2\n" {
			t.Errorf("selectors after the deletion: %q", got)
		}

		// a DKIM folder others may write is refused: a link could be planted
		if err := os.Chmod(dir, 0o770); err != nil {
			t.Fatal(err)
		}
		r2 := bed.Admin.Do("POST", fmt.Sprintf("/dkim-keys/%v/rotate", r["id"]), nil).Want(http.StatusCreated)
		if got := r2.Header.Get("Orchestra-Outcome"); got == "SUCCESS" {
			t.Errorf("a unit wrote into a folder others may write: outcome %s", got)
		}
		if got := selectors(); got != dom+" "+sel+"-2\n" {
			t.Errorf("selectors changed in a refused folder: %q", got)
		}
	})
}
