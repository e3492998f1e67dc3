package mail_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestMailRules: the original's rules, through the API, on both stores:
// names and their uniqueness, passwords kept as hashes, filterings and
// checked Sieve scripts, addresses only at the account's own domains and
// delivering somewhere, forwards cleaned and checked, the local-domain
// address of a new mailbox, and a deleted mailbox taken out of forwards.
func TestMailRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		e.MakeAccount("ann", "Ann-password-42", false)
		e.MakeAccount("bob", "Bob-password-42", false)
		ann, bob := e.Login("ann", "Ann-password-42"), e.Login("bob", "Bob-password-42")
		annDom := ann.Do("POST", "/domains", map[string]any{"name": "ann.example"}).Want(http.StatusCreated).ID()
		bobDom := bob.Do("POST", "/domains", map[string]any{"name": "bob.example"}).Want(http.StatusCreated).ID()

		// mailboxes: every mistake at once; a stored hash, never the password
		r := ann.Do("POST", "/mailboxes", map[string]any{"name": "Bad Name!", "password": "short", "filtering": "NOPE"}).
			Want(http.StatusUnprocessableEntity)
		for _, f := range []string{"body.name", "body.password", "body.filtering"} {
			if !slices.Contains(r.FieldErrors(), f) {
				t.Errorf("mailbox mistakes %v lack %s", r.FieldErrors(), f)
			}
		}
		box := ann.Do("POST", "/mailboxes", map[string]any{"name": "Ann.Box", "password": "Mailbox-secret-7"}).Want(http.StatusCreated).JSON()
		if box["name"] != "ann.box" || box["has_password"] != true || box["filtering"] != "REDIRECT" || strings.Contains(fmt.Sprint(box), "$6$") {
			t.Errorf("a new mailbox: %v", box)
		}
		boxID := int(box["id"].(float64))
		if b, err := st.Mailbox.Get(viewer.System(t.Context(), viewer.ChannelCLI), boxID); err != nil || !strings.HasPrefix(b.Password, "$6$") {
			t.Errorf("stored password: %v", err)
		}
		bob.Do("POST", "/mailboxes", map[string]any{"name": "ann.box"}).Want(http.StatusConflict)
		for _, bad := range []string{"..", ".hidden", "-x", "a/b", strings.Repeat("a", 33)} {
			bob.Do("POST", "/mailboxes", map[string]any{"name": bad}).Want(http.StatusUnprocessableEntity)
		}
		ann.Do("PATCH", fmt.Sprintf("/mailboxes/%d", boxID), map[string]any{"filtering": "CUSTOM", "version": 1}).
			Want(http.StatusUnprocessableEntity)
		r = ann.Do("PATCH", fmt.Sprintf("/mailboxes/%d", boxID), map[string]any{"filtering": "CUSTOM",
			"custom_filtering": "require \"fileinto\";\nif header :contains \"subject\" \"x\" {\n  fileinto \"X\"\n}", "version": 1}).
			Want(http.StatusUnprocessableEntity)
		if !strings.Contains(string(r.Body), "Line 4") {
			t.Errorf("a bad Sieve script is not told with its line: %s", r.Body)
		}
		ann.Do("PATCH", fmt.Sprintf("/mailboxes/%d", boxID), map[string]any{"filtering": "CUSTOM",
			"custom_filtering": "require \"fileinto\";\nif header :contains \"subject\" \"x\" {\n  fileinto \"X\";\n}", "version": 1}).
			Want(http.StatusOK)
		ann.Do("POST", fmt.Sprintf("/mailboxes/%d/password", boxID), map[string]any{"password": "ann.box"}).Want(http.StatusUnprocessableEntity)
		ann.Do("POST", fmt.Sprintf("/mailboxes/%d/password", boxID), map[string]any{"password": "Another-secret-8"}).Want(http.StatusOK)
		bob.Do("GET", fmt.Sprintf("/mailboxes/%d", boxID), nil).Want(http.StatusNotFound)
		bobBox := bob.Do("POST", "/mailboxes", map[string]any{"name": "bob"}).Want(http.StatusCreated).ID()

		// addresses: at the account's own domain, delivering somewhere
		ann.Do("POST", "/mail-addresses", map[string]any{"name": "info", "domain": bobDom, "mailboxes": []int{boxID}}).
			Want(http.StatusUnprocessableEntity)
		r = ann.Do("POST", "/mail-addresses", map[string]any{"name": "info", "domain": annDom}).Want(http.StatusUnprocessableEntity)
		if !slices.Contains(r.FieldErrors(), "body.mailboxes") {
			t.Errorf("an address delivering nowhere: %v", r.FieldErrors())
		}
		ann.Do("POST", "/mail-addresses", map[string]any{"name": "info", "domain": annDom, "mailboxes": []int{bobBox}}).
			Want(http.StatusUnprocessableEntity)
		info := ann.Do("POST", "/mail-addresses", map[string]any{"name": "Info", "domain": annDom, "mailboxes": []int{boxID}}).
			Want(http.StatusCreated).JSON()
		if info["address"] != "info@ann.example" {
			t.Errorf("address %v", info["address"])
		}
		ann.Do("POST", "/mail-addresses", map[string]any{"name": "info", "domain": annDom, "forward": []string{"x@example.net"}}).
			Want(http.StatusConflict)
		for _, bad := range [][]string{{"ann.box"}, {"nobody"}, {"not an address@"}, {"a@example.net", "a@example.net"}, {"sales@ann.example"}} {
			name := "sales"
			r := ann.Do("POST", "/mail-addresses", map[string]any{"name": name, "domain": annDom, "forward": bad})
			if r.Status != http.StatusUnprocessableEntity || !slices.Contains(r.FieldErrors(), "body.forward") {
				t.Errorf("forward %q: %d %v", bad, r.Status, r.FieldErrors())
			}
		}
		all := ann.Do("POST", "/mail-addresses", map[string]any{"domain": annDom, "forward": []string{"bob", " Ann@Example.NET "}}).
			Want(http.StatusCreated).JSON()
		if all["address"] != "@ann.example" || fmt.Sprint(all["forward"]) != "[bob Ann@example.net]" {
			t.Errorf("a catch-all forwarding to bob's mailbox and elsewhere: %v", all)
		}
		if got := ann.Do("GET", fmt.Sprintf("/mailboxes/%d", boxID), nil).JSON()["addresses"]; fmt.Sprint(got) != "[info@ann.example]" {
			t.Errorf("the mailbox's addresses: %v", got)
		}

		// a deleted mailbox leaves every forward; an address left delivering nowhere goes
		only := ann.Do("POST", "/mail-addresses", map[string]any{"name": "tobob", "domain": annDom, "forward": []string{"bob"}}).
			Want(http.StatusCreated).ID()
		bob.Do("DELETE", fmt.Sprintf("/mailboxes/%d", bobBox), nil).Want(http.StatusNoContent)
		ann.Do("GET", fmt.Sprintf("/mail-addresses/%d", only), nil).Want(http.StatusNotFound)
		if got := ann.Do("GET", fmt.Sprintf("/mail-addresses/%v", all["id"]), nil).Want(http.StatusOK).JSON()["forward"]; fmt.Sprint(got) != "[Ann@example.net]" {
			t.Errorf("the catch-all's forward after bob's mailbox went: %v", got)
		}

		// autoresponses: for an address of the account, ending after they start
		ann.Do("POST", "/autoresponses", map[string]any{"address": int(info["id"].(float64)), "subject": "Away", "message": "Back soon.",
			"starts_at": "2027-01-10T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}).Want(http.StatusUnprocessableEntity)
		bob.Do("POST", "/autoresponses", map[string]any{"address": int(info["id"].(float64)), "subject": "Away", "message": "x"}).
			Want(http.StatusUnprocessableEntity)
		ann.Do("POST", "/autoresponses", map[string]any{"address": int(info["id"].(float64)), "subject": "Away", "message": "Back soon.",
			"ends_at": "2027-01-01T00:00:00Z"}).Want(http.StatusCreated)

		// the local domain: a new mailbox gets its address there
		local := admin.Do("POST", "/domains", map[string]any{"name": "mail.panel.example", "account": 1}).Want(http.StatusCreated).ID()
		admin.Do("PUT", "/settings/MAILBOXES_LOCAL_DOMAIN", map[string]any{"value": "mail.panel.example"}).Want(http.StatusOK)
		t.Cleanup(func() { admin.Do("DELETE", "/settings/MAILBOXES_LOCAL_DOMAIN", nil) })
		carl := ann.Do("POST", "/mailboxes", map[string]any{"name": "carl"}).Want(http.StatusCreated).ID()
		got := admin.Do("GET", fmt.Sprintf("/mail-addresses?domain=%d", local), nil).JSON()["results"].([]any)
		if len(got) != 1 || got[0].(map[string]any)["address"] != "carl@mail.panel.example" ||
			fmt.Sprint(got[0].(map[string]any)["forward"]) != "[carl]" {
			t.Errorf("carl's local address: %v (mailbox %d)", got, carl)
		}
	})
}
