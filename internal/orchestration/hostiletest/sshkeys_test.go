package hostiletest

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/services/sshkeys"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// sshKeysSuite drives the ssh-keys backend: keys whose comments are the
// seeds, and the seeds as keys, for the account's main user; what the rules
// accept is in the user's authorized_keys byte for byte, in order.
var sshKeysSuite = suite{
	name:     "sshkeys",
	backends: []string{sshkeys.Backend},
	fields:   map[string][]string{"SSHKey": {"key"}},
	run:      runSSHKeys,
}

func init() {
	suites = append(suites, sshKeysSuite)
	skipped["SSHKey.name"] = "never leaves the panel: the backend writes the keys only"
}

func runSSHKeys(t *testing.T, st *store.Store, r *recorder) {
	bed := sshtest.Load(t)
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary, main := "/tmp/orchestra-canary-"+tag, "hk"+tag
	t.Cleanup(func() {
		run(t, pool, target, fmt.Sprintf("pkill -KILL -u %[1]s; userdel -r %[1]s 2>/dev/null; rm -f %[2]s; true", main, canary))
	})
	addServer(t, st, "keys1", s0, nil, systemusers.Backend, sshkeys.Backend)
	_, cust := account(t, st, main)
	user, err := st.SystemUser.Query().Only(cust)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	signer, _ := ssh.NewSignerFromKey(priv)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	var stored []string
	for _, s := range seeds(canary) {
		for _, v := range []string{s, pub + " " + s, s + " " + pub} {
			var k *ent.SSHKey
			if r.one(cust, "SSHKey.key", v, func(ctx context.Context, tx *ent.Tx) (err error) {
				k, err = tx.SSHKey.Create().SetName("k").SetKey(v).SetSystemUserID(user.ID).Save(ctx)
				return err
			}) {
				stored = append(stored, k.Key)
			}
		}
	}
	r.phase("writes done")
	startExecutor(t, st, pool)
	settle(t, st, 0)
	r.phase("units done")
	got, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(run(t, pool, target,
		fmt.Sprintf("base64 -w0 /home/%s/.ssh/authorized_keys", main))))
	if want := strings.Join(stored, "\n") + "\n"; string(got) != want {
		t.Errorf("authorized_keys holds %q, want %q", got, want)
	} else {
		for range stored {
			r.arrived("SSHKey.key")
		}
	}
	noCanary(t, pool, target, canary)
}
