package systemusers_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"

	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// login logs into the test-bed server as user with a password and runs
// command; it returns the output, or the error that refused the login.
func login(t *testing.T, s sshtest.Server, user, password, command string) (string, error) {
	t.Helper()
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.HostKey))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(s.Address, strconv.Itoa(s.Port)), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.Password(password)}, HostKeyCallback: ssh.FixedHostKey(key),
		Timeout: 10 * time.Second,
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, _ := sess.CombinedOutput(command)
	return string(out), nil
}

// sftpVersion opens the sftp subsystem as user and returns the protocol
// version the server answers SSH_FXP_INIT with.
func sftpVersion(t *testing.T, s sshtest.Server, user, password string) (int, error) {
	t.Helper()
	key, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(s.HostKey))
	c, err := ssh.Dial("tcp", net.JoinHostPort(s.Address, strconv.Itoa(s.Port)), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.Password(password)}, HostKeyCallback: ssh.FixedHostKey(key),
		Timeout: 10 * time.Second,
	})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	in, _ := sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	if err := sess.RequestSubsystem("sftp"); err != nil {
		return 0, err
	}
	in.Write([]byte{0, 0, 0, 5, 1, 0, 0, 0, 3}) // SSH_FXP_INIT, version 3
	head := make([]byte, 9)
	if _, err := io.ReadFull(out, head); err != nil {
		return 0, err
	}
	if head[4] != 2 { // SSH_FXP_VERSION
		return 0, fmt.Errorf("sftp answered packet type %d", head[4])
	}
	return int(binary.BigEndian.Uint32(head[5:9])), nil
}

// TestSystemUsersOverAPI: system users written through the API become
// UNIX users on the test-bed server: a shell user logs in with its
// password, an SFTP-only user gets SFTP and no shell, disabling the account
// locks them out and enabling it lets them in again, deleting removes the
// user; bad input is refused with the field named and nothing applied.
func TestSystemUsersOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := sshtest.Load(t)
		e := apitest.NewWith(t, st, apitest.NewExecutor(t, st, bed.Signer))
		admin := e.Admin()
		admin.Header.Set("Prefer", "wait=30")
		s0 := bed.Servers[0]
		srv := admin.Do("POST", "/servers", map[string]any{"name": "shell1", "address": s0.Address, "ssh_port": s0.Port,
			"host_key": s0.HostKey}).Want(http.StatusCreated).ID()
		admin.Do("POST", "/routes", map[string]any{"backend": "unix-user", "server": srv}).Want(http.StatusCreated)
		sh := func(script string) (string, int) {
			var out, errb bytes.Buffer
			pool, _ := sshpool.New(sshpool.Config{Signer: bed.Signer})
			defer pool.Close()
			code, err := pool.Run(context.Background(), sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey},
				[]byte(script), &out, &errb)
			if err != nil {
				t.Fatal(err)
			}
			return out.String(), code
		}
		tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
		owner, shellUser, sftpUser := "o"+tag, "s"+tag, "f"+tag
		t.Cleanup(func() {
			for _, u := range []string{owner, shellUser, sftpUser} {
				sh("pkill -KILL -u " + u + "; userdel -r " + u + " 2>/dev/null; true")
			}
		})

		// the account brings its main system user
		r := admin.Do("POST", "/accounts", map[string]any{"username": owner, "full_name": "Owner", "email": "o@example.com",
			"password": "Owner-secret-42"}).Want(http.StatusCreated)
		acc := r.ID()
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
			t.Fatalf("account: %v", r.Header)
		}
		if out, code := sh("id -un " + owner); code != 0 || out != owner+"\n" {
			t.Fatalf("main system user on the server: %q %d", out, code)
		}
		mains := admin.Do("GET", fmt.Sprintf("/system-users?account=%d&is_main=true", acc), nil).JSON()["results"].([]any)
		if len(mains) != 1 || mains[0].(map[string]any)["username"] != owner || mains[0].(map[string]any)["has_password"] != true {
			t.Fatalf("main system user: %v", mains)
		}
		mainID := int(mains[0].(map[string]any)["id"].(float64))
		admin.Do("DELETE", fmt.Sprintf("/system-users/%d", mainID), nil).Want(http.StatusConflict)

		// bad input: the field named, nothing applied
		before := int(admin.Do("GET", "/logs", nil).JSON()["count"].(float64))
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"username": "root"}, "body.username"},
			{map[string]any{"username": "www-data"}, "body.username"},
			{map[string]any{"username": "two words"}, "body.username"},
			{map[string]any{"username": strings.Repeat("u", 33)}, "body.username"},
			{map[string]any{"username": "-rf"}, "body.username"},
			{map[string]any{"username": "x" + tag, "directory": "../../etc"}, "body.directory"},
			{map[string]any{"username": "x" + tag, "home": "relative/home"}, "body.home"},
			{map[string]any{"username": "x" + tag, "password": "weak"}, "body.password"},
			{map[string]any{"username": "x" + tag, "shell": "/bin/evil"}, "body.shell"},
			{map[string]any{"username": owner}, "body.username"},
		} {
			c.body["account"] = acc
			r := admin.Do("POST", "/system-users", c.body)
			if got := r.FieldErrors(); r.Status < 400 || len(got) == 0 || got[0] != c.field {
				t.Errorf("%v: status %d, errors %v, want %s", c.body, r.Status, got, c.field)
			}
		}
		if n := int(admin.Do("GET", "/logs", nil).JSON()["count"].(float64)); n != before {
			t.Errorf("refused writes made %d units", n-before)
		}

		// a shell user logs in with its password
		r = admin.Do("POST", "/system-users", map[string]any{"username": shellUser, "account": acc, "shell": "/bin/bash",
			"password": "Shell-secret-42"}).Want(http.StatusCreated)
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
			t.Fatalf("shell user: %v", r.Header)
		}
		if out, err := login(t, s0, shellUser, "Shell-secret-42", "id -un; pwd"); err != nil || out != shellUser+"\n/home/"+shellUser+"\n" {
			t.Fatalf("shell login: %q, %v", out, err)
		}
		if _, err := login(t, s0, shellUser, "wrong-password", "true"); err == nil {
			t.Error("a wrong password logged in")
		}
		// the account's main user is in the user's group (it reads its files)
		if out, _ := sh("id -nG " + owner); !strings.Contains(" "+strings.TrimSpace(out)+" ", " "+shellUser+" ") {
			t.Errorf("groups of the main user: %q", out)
		}

		// an SFTP-only user: SFTP yes, a shell no
		admin.Do("POST", "/system-users", map[string]any{"username": sftpUser, "account": acc, "shell": "sftp-only",
			"password": "Sftp-secret-42"}).Want(http.StatusCreated)
		if v, err := sftpVersion(t, s0, sftpUser, "Sftp-secret-42"); err != nil || v != 3 {
			t.Errorf("sftp: version %d, %v", v, err)
		}
		if out, _ := login(t, s0, sftpUser, "Sftp-secret-42", "echo shell-ran"); strings.Contains(out, "shell-ran") {
			t.Error("the SFTP-only user ran a shell command")
		}

		// permissions: the shell user may not write the owner's directory
		// until it is granted, and no longer once revoked
		sh(fmt.Sprintf("install -d -m 0750 -o %[1]s -g %[1]s /home/%[1]s/shared", owner))
		write := func() bool {
			out, err := login(t, s0, shellUser, "Shell-secret-42", fmt.Sprintf("touch /home/%s/shared/f && echo wrote", owner))
			return err == nil && strings.Contains(out, "wrote")
		}
		if write() {
			t.Fatal("the shell user wrote into the owner's directory without a grant")
		}
		shellID := int(admin.Do("GET", "/system-users?search="+shellUser, nil).JSON()["results"].([]any)[0].(map[string]any)["id"].(float64))
		grant := func(mode string) {
			t.Helper()
			r := admin.Do("POST", fmt.Sprintf("/system-users/%d/permissions", shellID),
				map[string]any{"path": "/home/" + owner + "/shared", "access": "rw", "mode": mode}).Want(http.StatusOK).JSON()
			if r["state"] != "SUCCESS" {
				t.Fatalf("%s: %v", mode, r)
			}
		}
		grant("grant")
		if !write() {
			t.Error("a granted user could not write")
		}
		grant("revoke")
		if write() {
			t.Error("a revoked user could still write")
		}
		r = admin.Do("POST", fmt.Sprintf("/system-users/%d/permissions", shellID),
			map[string]any{"path": "/etc", "access": "rw", "mode": "grant"})
		if got := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(got) != 1 || got[0] != "body.path" {
			t.Errorf("a grant outside the account's homes: %d %s", r.Status, r.Body)
		}
		// a link in the user's home, and paths checked on the server
		admin.Do("POST", fmt.Sprintf("/system-users/%d/links", shellID),
			map[string]any{"target": "/home/" + owner + "/shared", "name": "shared"}).Want(http.StatusOK)
		if out, _ := sh(fmt.Sprintf("readlink /home/%s/shared; stat -c %%U /home/%s/shared", shellUser, shellUser)); out != "/home/"+owner+"/shared\n"+shellUser+"\n" {
			t.Errorf("link: %q", out)
		}
		chk := admin.Do("POST", fmt.Sprintf("/system-users/%d/check-paths", shellID),
			map[string]any{"paths": []string{"/home/" + owner + "/shared", "/home/" + owner + "/nope"}}).Want(http.StatusOK).JSON()
		if o := chk["units"].([]any)[0].(map[string]any)["output"]; o != "exists: /home/"+owner+"/shared\nmissing: /home/"+owner+"/nope\n" {
			t.Errorf("check-paths: %q", o)
		}

		// the account disabled: locked out; enabled: back in
		ver := admin.Do("GET", fmt.Sprintf("/accounts/%d", acc), nil).JSON()["version"]
		r = admin.Do("PATCH", fmt.Sprintf("/accounts/%d", acc), map[string]any{"is_active": false, "version": ver}).Want(http.StatusOK)
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
			t.Fatalf("disable: %v", r.Header)
		}
		if _, err := login(t, s0, shellUser, "Shell-secret-42", "true"); err == nil {
			t.Error("a disabled account's user logged in")
		}
		admin.Do("PATCH", fmt.Sprintf("/accounts/%d", acc), map[string]any{"is_active": true, "version": r.JSON()["version"]}).Want(http.StatusOK)
		if out, err := login(t, s0, shellUser, "Shell-secret-42", "id -un"); err != nil || out != shellUser+"\n" {
			t.Errorf("after enabling: %q, %v", out, err)
		}

		// a new password through the action
		id := admin.Do("GET", "/system-users?search="+shellUser, nil).JSON()["results"].([]any)[0].(map[string]any)["id"].(float64)
		admin.Do("POST", fmt.Sprintf("/system-users/%d/password", int(id)), map[string]any{"password": "Other-secret-43"}).Want(http.StatusOK)
		if _, err := login(t, s0, shellUser, "Other-secret-43", "true"); err != nil {
			t.Errorf("the new password: %v", err)
		}

		// deleted: gone from the server
		del := admin.Do("DELETE", fmt.Sprintf("/system-users/%d", int(id)), nil).Want(http.StatusNoContent)
		if _, code := sh("id -u " + shellUser); code == 0 {
			t.Error("the deleted user still exists")
		}
		if _, code := sh("test -e /home/" + shellUser); code == 0 {
			t.Error("the deleted user's home is still there")
		}
		if _, code := sh("getent group " + shellUser); code == 0 {
			t.Error("the deleted user's group is still there")
		}
		// nothing left blocks a user of the same name
		r = admin.Do("POST", "/system-users", map[string]any{"username": shellUser, "account": acc, "shell": "/bin/bash",
			"password": "Again-secret-44"}).Want(http.StatusCreated)
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
			t.Fatalf("created again: %v", r.Header)
		}
		if out, err := login(t, s0, shellUser, "Again-secret-44", "id -un"); err != nil || out != shellUser+"\n" {
			t.Errorf("created again, login: %q, %v", out, err)
		}
		// a retry of the old delete leaves the new user of that name alone
		var delLog float64
		for _, o := range admin.Do("GET", "/operations?ids="+del.Header.Get("Orchestra-Operations"), nil).JSON()["results"].([]any) {
			if o := o.(map[string]any); o["action"] == "delete" && o["model"] == "SystemUser" && o["backend"] == "unix-user" {
				delLog = o["log"].(float64)
			}
		}
		retried := admin.Do("POST", fmt.Sprintf("/logs/%d/retry", int(delLog)), nil).Want(http.StatusAccepted).JSON()
		if retried["state"] != "NOTHING" || !strings.Contains(fmt.Sprint(retried["problem"]), "delete SystemUser") {
			t.Errorf("the old delete retried: %v", retried)
		}
		if out, err := login(t, s0, shellUser, "Again-secret-44", "id -un"); err != nil || out != shellUser+"\n" {
			t.Errorf("after retrying the old delete, login: %q, %v", out, err)
		}
		admin.Do("DELETE", fmt.Sprintf("/system-users/%d", r.ID()), nil).Want(http.StatusNoContent)

		// the account deleted: its users go with it, the main one included
		r = admin.Do("DELETE", fmt.Sprintf("/accounts/%d", acc), nil).Want(http.StatusNoContent)
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
			t.Errorf("account delete: %v", r.Header)
		}
		for _, u := range []string{owner, sftpUser} {
			if _, code := sh("id -u " + u); code == 0 {
				t.Errorf("%s outlived its account", u)
			}
		}
	})
}
