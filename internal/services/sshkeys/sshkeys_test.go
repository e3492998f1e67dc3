package sshkeys_test

import (
	"crypto/ed25519"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestKeysOverAPI: a customer's key lets its system user log in on the
// server, and no longer once removed; a key with options or two lines is
// refused; a link the user plants for ~/.ssh leads nowhere it could not
// write itself.
func TestKeysOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := apitest.OnTestBed(t, st, "unix-user", "ssh-keys")
		s0 := bed.Server
		user := apitest.Unique("k")
		as, _ := bed.Customer(user)
		su := int(as.Do("GET", "/system-users", nil).JSON()["results"].([]any)[0].(map[string]any)["id"].(float64))
		as.Do("PATCH", fmt.Sprintf("/system-users/%d", su), map[string]any{"shell": "/bin/bash", "version": 1}).Want(http.StatusOK)

		_, priv, _ := ed25519.GenerateKey(nil)
		signer, _ := ssh.NewSignerFromKey(priv)
		pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
		login := func(user string) error {
			hk, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(s0.HostKey))
			c, err := ssh.Dial("tcp", net.JoinHostPort(s0.Address, strconv.Itoa(s0.Port)), &ssh.ClientConfig{User: user,
				Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(hk), Timeout: 10 * time.Second})
			if err == nil {
				c.Close()
			}
			return err
		}
		if login(user) == nil {
			t.Fatal("logged in before the key was given")
		}
		for _, bad := range []string{`command="/bin/sh" ` + pub, pub + "\n" + pub, "ssh-ed25519 notakey", ""} {
			r := as.Do("POST", "/ssh-keys", map[string]any{"name": "bad", "system_user": su, "key": bad})
			if f := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(f) != 1 || f[0] != "body.key" {
				t.Errorf("key %q: %d %s", bad, r.Status, r.Body)
			}
		}
		r := as.Do("POST", "/ssh-keys", map[string]any{"name": "laptop", "system_user": su, "key": pub + " me@laptop"}).
			Want(http.StatusCreated)
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" || login(user) != nil {
			t.Fatalf("the key does not log in: %v %v", r.Header, login(user))
		}
		if d := as.Do("DELETE", fmt.Sprintf("/ssh-keys/%d", r.ID()), nil).Want(http.StatusNoContent); d.Header.Get("Orchestra-Outcome") != "SUCCESS" {
			t.Fatalf("removing the key: %v", d.Header)
		}
		if login(user) == nil {
			t.Fatal("the removed key still logs in")
		}

		// an SFTP user whose home moves into the main user's keeps logging in
		web := "w" + user
		wu := as.Do("POST", "/system-users", map[string]any{"username": web, "shell": "sftp-only"}).Want(http.StatusCreated).ID()
		as.Do("POST", "/ssh-keys", map[string]any{"name": "web", "system_user": wu, "key": pub}).Want(http.StatusCreated)
		r = as.Do("PATCH", fmt.Sprintf("/system-users/%d", wu), map[string]any{"home": "/home/" + user, "directory": "web", "version": 1})
		if r.Want(http.StatusOK).Header.Get("Orchestra-Outcome") != "SUCCESS" || login(web) != nil {
			t.Errorf("after its home moved, %s: %v, login %v", web, r.Header, login(web))
		}

		// ~/.ssh planted as a link to root's: the unit fails, root's keys stay
		bed.Root(fmt.Sprintf(`h=$(getent passwd %[1]s | cut -d: -f6); rm -rf "$h/.ssh"; ln -s /root/.ssh "$h/.ssh"; chown -h %[1]s "$h/.ssh"`, user))
		before, _ := bed.Root("cat /root/.ssh/authorized_keys 2>/dev/null; echo")
		r = as.Do("POST", "/ssh-keys", map[string]any{"name": "again", "system_user": su, "key": pub})
		if r.Header.Get("Orchestra-Outcome") != "FAILURE" {
			t.Errorf("a unit through a planted link: outcome %q", r.Header.Get("Orchestra-Outcome"))
		}
		if after, _ := bed.Root("cat /root/.ssh/authorized_keys 2>/dev/null; echo"); after != before || strings.Contains(after, pub) {
			t.Errorf("root's authorized_keys changed: %q", after)
		}
	})
}
