package apitest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Bed is an API whose executor reaches the sshd test bed, with the bed's
// first server registered: what a service's test against real servers
// starts from.
type Bed struct {
	*Env
	SSH      *sshtest.Bed
	Server   sshtest.Server
	ServerID int
	// Admin is the superuser's session; its writes wait for their outcome.
	Admin *Client
}

// OnTestBed serves the API over st against the test bed and routes each of
// backends to its first server. The test is skipped outside ./do test.
func OnTestBed(t testing.TB, st *store.Store, backends ...string) *Bed {
	t.Helper()
	ssh := sshtest.Load(t)
	e := NewWith(t, st, NewExecutor(t, st, ssh.Signer))
	b := &Bed{Env: e, SSH: ssh, Server: ssh.Servers[0], Admin: e.Admin()}
	b.Admin.Header.Set("Prefer", "wait=30")
	b.ServerID = b.Admin.Do("POST", "/servers", map[string]any{"name": "bed", "address": b.Server.Address,
		"ssh_port": b.Server.Port, "host_key": b.Server.HostKey}).Want(http.StatusCreated).ID()
	for _, name := range backends {
		b.Admin.Do("POST", "/routes", map[string]any{"backend": name, "server": b.ServerID}).Want(http.StatusCreated)
	}
	return b
}

// Root runs script as root on the server and returns its output (standard
// output and error) and exit code.
func (b *Bed) Root(script string) (string, int) {
	b.T.Helper()
	pool, err := sshpool.New(sshpool.Config{Signer: b.SSH.Signer})
	if err != nil {
		b.T.Fatal(err)
	}
	defer pool.Close()
	var out bytes.Buffer
	code, err := pool.Run(context.Background(), sshpool.Target{Address: b.Server.Address, Port: b.Server.Port,
		HostKey: b.Server.HostKey}, []byte(script), &out, &out)
	if err != nil {
		b.T.Fatal(err)
	}
	return out.String(), code
}

// Unique is prefix and a suffix unique to this run: users and files of the
// test bed outlive a test's store.
func Unique(prefix string) string {
	return prefix + strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
}

// Customer adds the account username (its main system user with it) and
// returns its id and a client with its token, whose writes wait for their
// outcome. The account's system users are removed from the server when the
// test ends.
func (b *Bed) Customer(username string) (*Client, int) {
	b.T.Helper()
	id := b.Admin.Do("POST", "/accounts", map[string]any{"username": username, "full_name": username,
		"email": username + "@example.com"}).Want(http.StatusCreated).ID()
	b.T.Cleanup(func() {
		names, err := b.Store.SystemUser.Query().Where(systemuser.AccountID(id)).
			Select(systemuser.FieldUsername).Strings(viewer.System(context.Background(), viewer.ChannelCLI))
		if err != nil {
			b.T.Error(err)
		}
		for i, n := range names {
			names[i] = orchestration.Quote(n)
		}
		b.Root("for u in " + strings.Join(names, " ") + "; do pkill -KILL -u \"$u\"; userdel -r \"$u\"; groupdel \"$u\"; done 2>/dev/null; true")
	})
	c := b.TokenFor(b.Admin, id)
	c.Header.Set("Prefer", "wait=30")
	return c, id
}

// Applied fails the test unless r's write reached SUCCESS on the servers,
// and then says why: the backend, state, exit code and standard error of
// each execution log of the request's operations.
func (b *Bed) Applied(r *Resp) *Resp {
	b.T.Helper()
	got := r.Header.Get("Orchestra-Outcome")
	if got == "SUCCESS" {
		return r
	}
	var why strings.Builder
	if ids := r.Header.Get("Orchestra-Operations"); ids != "" {
		seen := map[int]bool{}
		for _, o := range b.Admin.Do("GET", "/operations?page_size=100&ids="+ids, nil).JSON()["results"].([]any) {
			op := o.(map[string]any)
			id, ok := op["log"].(float64)
			if !ok || seen[int(id)] {
				continue
			}
			seen[int(id)] = true
			l := b.Admin.Do("GET", "/logs/"+strconv.Itoa(int(id)), nil).JSON()
			fmt.Fprintf(&why, "\n log %d %v %v: exit %v, error %v\n stderr: %v", int(id), l["backend"], l["state"], l["exit_code"], l["error"], l["stderr"])
		}
	}
	b.T.Fatalf("%s %s: outcome %q: %s%s", r.Method, r.Path, got, r.Body, why.String())
	return r
}
