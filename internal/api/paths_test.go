package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestCustomerPathsStayInside drives the real SSH test bed as a customer
// through the API: homes and directories outside the account are refused
// with the field named, and links the customer planted in its own home (to
// /etc and to another account's home) get nothing from grants, revokes,
// links, path checks, saves and deletes. Afterwards /etc and the other home
// are unchanged: content, mode, owner, group and ACLs.
func TestCustomerPathsStayInside(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := sshtest.Load(t)
		e := newEnvWith(t, st, newExecutor(t, st, bed.Signer))
		admin := e.Login("admin", adminPassword)
		admin.Header.Set("Prefer", "wait=60")
		s0 := bed.Servers[0]
		srv := admin.Do("POST", "/servers", map[string]any{"name": "paths1", "address": s0.Address, "ssh_port": s0.Port,
			"host_key": s0.HostKey}).Want(http.StatusCreated).ID()
		admin.Do("POST", "/routes", map[string]any{"backend": "unix-user", "server": srv}).Want(http.StatusCreated)
		pool, err := sshpool.New(sshpool.Config{Signer: bed.Signer})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close() })
		sh := func(script string) string {
			t.Helper()
			var out, errb bytes.Buffer
			code, err := pool.Run(context.Background(), sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey},
				[]byte(script), &out, &errb)
			if err != nil || code != 0 {
				t.Fatalf("%s: %d %v %s", script, code, err, errb.String())
			}
			return out.String()
		}
		tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
		owner, victim, web, ftp := "pa"+tag, "pv"+tag, "pw"+tag, "pf"+tag
		sentinel := "/etc/orchestra-sentinel-" + tag
		t.Cleanup(func() {
			for _, u := range []string{owner, victim, web, ftp} {
				sh("pkill -KILL -u " + u + "; userdel -r " + u + " 2>/dev/null; rm -rf /home/" + u + "; true")
			}
			sh("rm -rf " + sentinel)
		})

		// the other account, with data in its home; a root-owned tree in /etc
		for _, u := range []string{owner, victim} {
			r := admin.Do("POST", "/accounts", map[string]any{"username": u, "full_name": u, "email": u + "@example.com",
				"password": "Pass-word-" + u}).Want(http.StatusCreated)
			if r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
				t.Fatalf("account %s: %v", u, r.Header)
			}
		}
		sh(fmt.Sprintf(`install -d -m 0750 -o %[1]s -g %[1]s /home/%[1]s/private
printf 'data\n' >/home/%[1]s/private/file; chown %[1]s:%[1]s /home/%[1]s/private/file; chmod 0640 /home/%[1]s/private/file
install -d -m 0755 %[2]s/sub; printf 'secret\n' >%[2]s/secret; chmod 0600 %[2]s/secret`, victim, sentinel))
		// what must not change: every entry below the other home and the
		// sentinel, and /etc itself (not its files: other tests add users)
		fingerprint := func() string {
			return sh(fmt.Sprintf(`for p in /home/%[1]s %[2]s; do
  find "$p" -xdev -printf '%%p %%y %%m %%u %%g %%s %%T@\n' | sort
  find "$p" -xdev -type f -exec md5sum {} + | sort
  getfacl -R -P -p "$p" 2>/dev/null
done
stat -c '%%n %%a %%U %%G' /etc /root /
getfacl -p /etc /root / 2>/dev/null
getfacl -R -P -p /etc 2>/dev/null | grep -E 'user:(%[3]s|%[4]s|%[5]s)' || true`, victim, sentinel, owner, web, ftp))
		}
		before := fingerprint()

		// the customer plants links in its own home
		sh(fmt.Sprintf(`runuser -u %[1]s -- ln -s /etc /home/%[1]s/etc-link
runuser -u %[1]s -- ln -s /home/%[2]s /home/%[1]s/victim-link
runuser -u %[1]s -- mkdir /home/%[1]s/site`, owner, victim))

		cust := e.Login(owner, "Pass-word-"+owner)
		cust.Header.Set("Prefer", "wait=60")
		logs := func() int { return int(admin.Do("GET", "/logs", nil).JSON()["count"].(float64)) }
		units := logs()

		// homes and directories outside the account: refused at save
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"home": "/etc"}, "body.home"},
			{map[string]any{"home": "/"}, "body.home"},
			{map[string]any{"home": "/root"}, "body.home"},
			{map[string]any{"home": "/home/" + victim}, "body.home"},
			{map[string]any{"home": "/home/" + owner + "/../" + victim}, "body.home"},
			{map[string]any{"home": "/home/" + owner + "/"}, "body.home"},
			{map[string]any{"home": "/home/" + owner + "/site"}, "body.home"},
			{map[string]any{"home": "/home/" + owner + "\n"}, "body.home"},
			{map[string]any{"home": "/home/" + owner, "directory": "../" + victim}, "body.directory"},
			{map[string]any{"home": "/home/" + owner, "directory": "/etc"}, "body.directory"},
			{map[string]any{"home": "/home/" + owner, "directory": "site/../../" + victim}, "body.directory"},
			{map[string]any{"home": "/home/" + owner, "directory": "a\nb"}, "body.directory"},
			{map[string]any{"home": "/home/" + owner, "directory": "a\rb"}, "body.directory"},
			{map[string]any{"home": "/home/" + owner, "directory": "a\tb"}, "body.directory"},
		} {
			c.body["username"] = ftp
			r := cust.Do("POST", "/system-users", c.body)
			if got := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(got) != 1 || got[0] != c.field {
				t.Errorf("%q: %d %s, want 422 naming %s", c.body, r.Status, r.Body, c.field)
			}
		}
		if n := logs(); n != units {
			t.Errorf("refused saves made %d units", n-units)
		}

		// a user in the customer's own tree: made there, not through links
		r := cust.Do("POST", "/system-users", map[string]any{"username": web, "home": "/home/" + owner, "directory": "site/www",
			"password": "Web-secret-42"}).Want(http.StatusCreated)
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
			t.Fatalf("a user in the owner's tree: %v", r.Header)
		}
		webID := r.ID()
		if out := sh(fmt.Sprintf("stat -c '%%U %%F' /home/%s/site/www; runuser -u %s -- touch /home/%s/site/www/f && echo ok",
			owner, web, owner)); out != owner+" directory\nok\n" {
			t.Errorf("the web user's home: %q", out)
		}
		// its directory through a planted link: the unit fails, nothing
		// happens outside
		for _, dir := range []string{"etc-link", "etc-link/orchestra-sentinel-" + tag, "victim-link/private", "victim-link/new"} {
			r := cust.Do("POST", "/system-users", map[string]any{"username": ftp, "home": "/home/" + owner, "directory": dir})
			r.Want(http.StatusCreated)
			if o := r.Header.Get("Orchestra-Outcome"); o == "SUCCESS" {
				t.Errorf("directory %s through a link: %s", dir, o)
			}
			cust.Do("DELETE", fmt.Sprintf("/system-users/%d", r.ID()), nil).Want(http.StatusNoContent)
		}

		// grants, revokes, links and checks through the planted links
		action := func(path string, body map[string]any) map[string]any {
			t.Helper()
			return cust.Do("POST", fmt.Sprintf("/system-users/%d/%s", webID, path), body).Want(http.StatusOK).JSON()
		}
		for _, p := range []string{"/home/" + owner + "/etc-link", "/home/" + owner + "/etc-link/orchestra-sentinel-" + tag,
			"/home/" + owner + "/victim-link", "/home/" + owner + "/victim-link/private"} {
			for _, mode := range []string{"grant", "revoke"} {
				if res := action("permissions", map[string]any{"path": p, "access": "rw", "mode": mode}); res["state"] == "SUCCESS" {
					t.Errorf("%s on %s through a link: %v", mode, p, res)
				}
			}
		}
		// a grant inside works, and lets the user pass down to it
		sh(fmt.Sprintf("runuser -u %[1]s -- mkdir -p /home/%[1]s/shared/deep", owner))
		if res := action("permissions", map[string]any{"path": "/home/" + owner + "/shared/deep", "access": "rw", "mode": "grant"}); res["state"] != "SUCCESS" {
			t.Errorf("a grant inside the account: %v", res)
		}
		if out := sh(fmt.Sprintf("runuser -u %s -- touch /home/%s/shared/deep/g && echo ok", web, owner)); out != "ok\n" {
			t.Errorf("granted write: %q", out)
		}
		if res := action("links", map[string]any{"target": "/home/" + owner + "/etc-link", "name": "l"}); res["state"] != "SUCCESS" {
			t.Errorf("a link to a link of the account: %v", res)
		}
		if out := sh(fmt.Sprintf("readlink /home/%s/site/www/l; stat -c %%U /home/%s/site/www/l", owner, owner)); out != "/home/"+owner+"/etc-link\n"+web+"\n" {
			t.Errorf("link: %q", out)
		}
		res := action("check-paths", map[string]any{"paths": []string{"/home/" + owner + "/etc-link/passwd",
			"/home/" + owner + "/etc-link/no-such-file", "/home/" + owner + "/victim-link/private/file", "/home/" + owner + "/site"}})
		want := fmt.Sprintf("outside: /home/%[1]s/etc-link/passwd\noutside: /home/%[1]s/etc-link/no-such-file\n"+
			"outside: /home/%[1]s/victim-link/private/file\nexists: /home/%[1]s/site\n", owner)
		if o := res["units"].([]any)[0].(map[string]any)["output"]; o != want {
			t.Errorf("check-paths: %q, want %q", o, want)
		}
		// a recursive grant and revoke over the home that holds the links:
		// they reach the account's own files, never the links' targets (the
		// fingerprint at the end compares /etc's and the other home's ACLs)
		for _, mode := range []string{"grant", "revoke"} {
			if res := action("permissions", map[string]any{"path": "/home/" + owner, "access": "rw", "mode": mode}); res["state"] != "SUCCESS" {
				t.Errorf("%s over the home holding the links: %v", mode, res)
			}
			acl := sh(fmt.Sprintf("getfacl -cp /home/%s/shared/deep/g | grep -c '^user:%s:' || true", owner, web))
			if want := map[string]string{"grant": "1\n", "revoke": "0\n"}[mode]; acl != want {
				t.Errorf("after the %s over the home, the web user's entries on a file inside: %q", mode, acl)
			}
		}
		// refused before anything is planned, with the field named
		units = logs()
		for _, c := range []struct {
			path  string
			body  map[string]any
			field string
		}{
			{"permissions", map[string]any{"path": "/etc", "access": "rw", "mode": "grant"}, "body.path"},
			{"permissions", map[string]any{"path": "/home/" + victim, "access": "r", "mode": "grant"}, "body.path"},
			{"permissions", map[string]any{"path": "/home/" + owner + "/../" + victim, "access": "r", "mode": "grant"}, "body.path"},
			{"links", map[string]any{"target": "/etc", "name": "x"}, "body.target"},
			{"links", map[string]any{"target": "/home/" + owner, "name": "a/b"}, "body.name"},
			{"links", map[string]any{"target": "/home/" + owner, "name": ".."}, "body.name"},
			{"check-paths", map[string]any{"paths": []string{"/etc/shadow"}}, "body.paths"},
			{"check-paths", map[string]any{"paths": []string{"/home/" + victim + "/private"}}, "body.paths"},
		} {
			r := cust.Do("POST", fmt.Sprintf("/system-users/%d/%s", webID, c.path), c.body)
			if got := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(got) != 1 || got[0] != c.field {
				t.Errorf("%s %v: %d %s, want 422 naming %s", c.path, c.body, r.Status, r.Body, c.field)
			}
		}
		if n := logs(); n != units {
			t.Errorf("refused actions made %d units", n-units)
		}

		// the web user's directory swapped for a link to the other home,
		// then the user deleted: nothing of the other home is touched
		sh(fmt.Sprintf("mv /home/%[1]s/site/www /home/%[1]s/site/www.old && runuser -u %[1]s -- ln -s /home/%[2]s /home/%[1]s/site/www", owner, victim))
		cust.Do("DELETE", fmt.Sprintf("/system-users/%d", webID), nil).Want(http.StatusNoContent)
		if out := sh("id -u " + web + " >/dev/null 2>&1 && echo present || echo gone"); out != "gone\n" {
			t.Errorf("the web user after its deletion: %s", out)
		}
		if out := sh(fmt.Sprintf("test -d /home/%s/site/www.old && echo kept", owner)); out != "kept\n" {
			t.Errorf("the owner's directory after deleting the user living in it: %q", out)
		}

		if after := fingerprint(); after != before {
			t.Errorf("outside the account changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if strings.Contains(before, "user:"+owner) {
			t.Errorf("fingerprint already holds the customer: %s", before)
		}
	})
}
