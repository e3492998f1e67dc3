package systemusers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/mailer"
	"github.com/orchestra-panel/orchestra/internal/mailer/mailertest"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	entop "github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestSecretsLiveOnlyWhileTheirUnit follows password hashes through the
// spine on the SSH test bed: the server gets each one, and once its unit is
// final no table but the objects' own holds it (changes, operations, logs,
// history); a unit interrupted before it ran still has its hash and applies
// it; stored scripts and the alert mail of a failing unit show the mask.
func TestSecretsLiveOnlyWhileTheirUnit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := sshtest.Load(t)
		pool, err := sshpool.New(sshpool.Config{Signer: bed.Signer})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close() })
		s0 := bed.Servers[0]
		sh := func(script string) string {
			t.Helper()
			var out, errb bytes.Buffer
			code, err := pool.Run(context.Background(), sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey},
				[]byte(script), &out, &errb)
			if err != nil || code != 0 {
				t.Fatalf("%s: exit %d, %v: %s", script, code, err, errb.String())
			}
			return out.String()
		}
		tag := "sec" + strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
		t.Cleanup(func() {
			sh(fmt.Sprintf(`for u in $(getent passwd | cut -d: -f1 | grep '^%[1]s'); do userdel -r "$u" 2>/dev/null; done
for g in $(getent group | cut -d: -f1 | grep '^%[1]s'); do groupdel "$g" 2>/dev/null; done; true`, tag))
		})
		smtp := mailertest.Start(t)
		smtp.Use(t, "ops@example.com", nil)
		cli := viewer.System(context.Background(), viewer.ChannelCLI)
		sys := viewer.System(context.Background(), viewer.ChannelSystem)
		hashOf := func(pw string) string {
			t.Helper()
			h, err := systemusers.HashPassword(pw)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}

		// an account (argon2 hash) whose main system user gets a $6$ hash
		accountHash, err := auth.HashPassword("Account-pass-42")
		if err != nil {
			t.Fatal(err)
		}
		var srv *ent.Server
		err = st.Tx(cli, func(ctx context.Context, tx *ent.Tx) (err error) {
			if srv, err = tx.Server.Create().SetName("web").SetAddress(s0.Address).SetSSHPort(s0.Port).
				SetHostKey(s0.HostKey).Save(ctx); err != nil {
				return err
			}
			// users named *-skip go nowhere: their changes are skipped
			return tx.Route.Create().SetBackend(systemusers.Backend).SetServerID(srv.ID).
				SetMatch(`not (system_user.username endsWith "-skip")`).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Sweep: 100 * time.Millisecond, Alert: mailer.Alert})
		ex.Start()
		t.Cleanup(ex.Close)
		write := func(ctx context.Context, fn func(ctx context.Context, tx *ent.Tx) error) orchestration.Outcome {
			t.Helper()
			ctx, tracker := orchestration.Track(ctx)
			if err := st.Tx(ctx, fn); err != nil {
				t.Fatal(err)
			}
			out, err := ex.Follow(ctx, tracker.Changes(), 2*time.Minute, false)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}

		// 1. created and changed: applied, then gone from all but the rows
		var main *ent.SystemUser
		out := write(accounts.WithClearPassword(cli, "User-pass-42"), func(ctx context.Context, tx *ent.Tx) error {
			acc, err := tx.Account.Create().SetUsername(tag).SetPassword(accountHash).SetFullName("Secret").
				SetEmail(tag + "@example.com").Save(ctx)
			if err != nil {
				return err
			}
			main, err = tx.SystemUser.Query().Where(systemuser.AccountID(acc.ID)).Only(ctx)
			return err
		})
		if out.State != orchestration.StateSuccess || main.Password == "" {
			t.Fatalf("the account's creation: %s, main user's hash %q", out.State, main.Password)
		}
		secrets := []string{accountHash, main.Password}
		shadow := func(user string) string {
			t.Helper()
			return strings.TrimSpace(sh("getent shadow " + orchestration.Quote(user) + " | cut -d: -f2"))
		}
		// nowhere checks that no table but the objects' own holds a secret
		nowhere := func(when string) {
			t.Helper()
			found := storetest.TablesHolding(t, st, secrets)
			if !slices.Contains(found, "system_users") {
				t.Fatalf("%s: the scan does not see the system users' hashes (found in %v)", when, found)
			}
			for _, table := range found {
				if table != "system_users" && table != "accounts" {
					t.Errorf("%s: table %s holds a secret", when, table)
				}
			}
		}
		maskedScript := func(l *ent.ExecutionLog, hash string) {
			t.Helper()
			if !strings.Contains(l.Script, " '"+orchestration.Mask+"' ") || strings.Contains(l.Script, hash) {
				t.Errorf("log %d: the stored script does not mask the hash:\n%s", l.ID, l.Script)
			}
		}

		if got := shadow(tag); got != main.Password {
			t.Fatalf("the server's hash of %s is %q, want the stored one", tag, got)
		}
		nowhere("after the account's creation")
		logs := st.ExecutionLog.Query().Order(ent.Asc(executionlog.FieldID)).AllX(sys)
		if len(logs) != 1 || logs[0].State != orchestration.StateSuccess {
			t.Fatalf("logs: %+v", logs)
		}
		maskedScript(logs[0], main.Password)
		hash2 := hashOf("User-pass-43")
		secrets = append(secrets, hash2)
		out = write(cli, func(ctx context.Context, tx *ent.Tx) error {
			return tx.SystemUser.UpdateOneID(main.ID).SetPassword(hash2).Exec(ctx)
		})
		if out.State != orchestration.StateSuccess || shadow(tag) != hash2 {
			t.Fatalf("password change: %s, server hash %q", out.State, shadow(tag))
		}
		nowhere("after a password change")

		// 2. no route: the change is planned as skipped, and scrubbed then
		out = write(cli, func(ctx context.Context, tx *ent.Tx) error {
			hash := hashOf("User-pass-44")
			secrets = append(secrets, hash)
			return tx.SystemUser.Create().SetUsername(tag + "-skip").SetAccountID(main.AccountID).SetPassword(hash).Exec(ctx)
		})
		if out.State != orchestration.StateSkipped {
			t.Errorf("unrouted user: %s", out.State)
		}
		nowhere("after a skipped change")

		// 3. a unit interrupted before it ran: the hash stays with the unit
		// that runs it again, and nowhere else
		ex.Close()
		hash3 := hashOf("User-pass-45")
		secrets = append(secrets, hash3)
		err = st.Tx(cli, func(ctx context.Context, tx *ent.Tx) error {
			return tx.SystemUser.UpdateOneID(main.ID).SetPassword(hash3).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := orchestration.NewPlanner(st).Plan(sys); err != nil {
			t.Fatal(err)
		}
		planned := st.ExecutionLog.Query().Where(executionlog.State(orchestration.StateReceived)).OnlyX(sys)
		if !strings.Contains(planned.SecretScript, " "+orchestration.Quote(hash3)+" ") {
			t.Fatalf("the planned unit lacks the hash it applies:\n%s", planned.SecretScript)
		}
		maskedScript(planned, hash3)
		if c := st.Change.Query().Order(ent.Desc(change.FieldID)).FirstX(sys); c.Snapshot["password"] != nil {
			t.Errorf("a planned change keeps the hash: %v", c.Snapshot)
		}
		// as if the process running it died: STARTED, its lane free; the
		// server is off so that the next lane only requeues it
		st.ExecutionLog.UpdateOneID(planned.ID).SetState(orchestration.StateStarted).ExecX(sys)
		setActive := func(active bool) {
			t.Helper()
			if err := st.Tx(cli, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Server.UpdateOneID(srv.ID).SetIsActive(active).Exec(ctx)
			}); err != nil {
				t.Fatal(err)
			}
		}
		setActive(false)
		lane := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool, Passive: true, Alert: mailer.Alert})
		lane.Start()
		t.Cleanup(lane.Close)
		if _, err := lane.RunLane(sys, srv.ID); err != nil {
			t.Fatal(err)
		}
		aborted := st.ExecutionLog.GetX(sys, planned.ID)
		again := st.ExecutionLog.Query().Where(executionlog.RetryOf(planned.ID)).OnlyX(sys)
		if aborted.State != orchestration.StateAborted || aborted.SecretScript != "" || aborted.Secrets != nil {
			t.Errorf("the aborted log: %s, keeps its secrets: %v", aborted.State, aborted.SecretScript != "" || aborted.Secrets != nil)
		}
		if again.State != orchestration.StateReceived || again.SecretScript != planned.SecretScript || !slices.Contains(again.Secrets, hash3) {
			t.Fatalf("the log run again: %s, without the hash it applies", again.State)
		}
		setActive(true)
		if _, err := lane.RunLane(sys, srv.ID); err != nil {
			t.Fatal(err)
		}
		if l := st.ExecutionLog.GetX(sys, again.ID); l.State != orchestration.StateSuccess || shadow(tag) != hash3 {
			t.Fatalf("the log run again: %s (%s), server hash %q", l.State, l.Stderr, shadow(tag))
		}
		nowhere("after an interrupted unit ran again")

		// 4. a failing unit: its log and alert mail show the mask, its
		// output too (the script prints the hash it was given)
		sh("groupadd " + tag + "-f") // not the panel's: the save is refused
		hash4 := hashOf("User-pass-46")
		secrets = append(secrets, hash4)
		err = st.Tx(cli, func(ctx context.Context, tx *ent.Tx) error {
			return tx.SystemUser.Create().SetUsername(tag + "-f").SetAccountID(main.AccountID).SetPassword(hash4).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := orchestration.NewPlanner(st).Plan(sys); err != nil {
			t.Fatal(err)
		}
		failing := st.ExecutionLog.Query().Where(executionlog.State(orchestration.StateReceived)).OnlyX(sys)
		st.ExecutionLog.UpdateOneID(failing.ID).SetSecretScript(strings.Replace(failing.SecretScript, "\norchestra_user_save ",
			"\nprintf 'given %s\\n' "+orchestration.Quote(hash4)+" >&2\norchestra_user_save ", 1)).ExecX(sys)
		if _, err := lane.RunLane(sys, srv.ID); err != nil {
			t.Fatal(err)
		}
		failed := st.ExecutionLog.GetX(sys, failing.ID)
		if failed.State != orchestration.StateFailure || !strings.Contains(failed.Stderr, "given "+orchestration.Mask) ||
			!strings.Contains(failed.Stderr, "a group of that name") {
			t.Fatalf("the failing unit: %s, stderr %q", failed.State, failed.Stderr)
		}
		maskedScript(failed, hash4)
		msgs := smtp.Messages()
		if len(msgs) != 1 {
			t.Fatalf("%d alert mails, want 1", len(msgs))
		}
		body := mailBody(t, msgs[0])
		if !strings.Contains(body, " '"+orchestration.Mask+"' ") || !strings.Contains(body, "given "+orchestration.Mask) {
			t.Errorf("the alert does not show the masked script and output:\n%s", body)
		}
		for _, s := range secrets {
			if strings.Contains(body, s) || strings.Contains(string(msgs[0]), s) {
				t.Errorf("the alert holds a hash:\n%s", body)
			}
		}
		nowhere("after a failed unit")
		if n := st.Operation.Query().Where(entop.LogID(failed.ID)).CountX(sys); n != 1 {
			t.Errorf("the failed unit has %d operations", n)
		}
	})
}

// mailBody decodes a message's plain-text body.
func mailBody(t *testing.T, data []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r := m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
