package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// api-test writes each account's full name to TEST_ROOT/<username>; a full
// name of SLOW makes it print, wait and print again, FAIL makes it fail.
func init() {
	orchestration.Register(&orchestration.Backend{
		Name: "api-test", Model: "Account",
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("root", srv.Setting("TEST_ROOT", "/nonexistent"))
			s.Raw(`mkdir -p "$root"`)
		},
		Apply: func(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
			path := srv.Setting("TEST_ROOT", "/nonexistent") + "/" + o.String("username")
			switch o.String("full_name") {
			case "SLOW":
				s.Raw(`echo step1; sleep 1.5; echo step2`)
			case "FAIL":
				s.Raw(`echo "refused" >&2; exit 4`)
			}
			if action == orchestration.ActionDelete {
				s.Cmd("rm", "-f", "--", path)
				return nil
			}
			s.WriteFile(path, []byte(o.String("full_name")), "0644")
			return nil
		},
	})
}

// victimLog records a finished log on server with one operation on
// account's object, as the planner would.
func victimLog(t *testing.T, st *store.Store, server, account int) (logID, opID int) {
	t.Helper()
	now := time.Now().UTC()
	err := st.Tx(viewer.System(context.Background(), viewer.ChannelSystem), func(ctx context.Context, tx *ent.Tx) error {
		l, err := tx.ExecutionLog.Create().SetBackend("api-test").SetServerID(server).SetState(orchestration.StateFailure).
			SetScript("exit 1\n").SetCreatedAt(now).SetUpdatedAt(now).SetFinishedAt(now).Save(ctx)
		if err != nil {
			return err
		}
		op, err := tx.Operation.Create().SetLogID(l.ID).SetServerID(server).SetBackend("api-test").SetAction("save").
			SetModel("Account").SetObjectID(account).SetRepr("victim").SetAccountID(account).
			SetSnapshot(map[string]any{"id": account}).SetState(orchestration.StateFailure).SetCreatedAt(now).Save(ctx)
		logID, opID = l.ID, op.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return logID, opID
}

// TestOrchestrationOverAPI drives the engine through the API against the
// SSH test bed: host keys are pinned only on explicit confirmation, routes
// are checked as they are saved, a write plans its units at once and
// answers with their outcome (or at once when asked), a running log's
// output is readable while it runs, a failed log is retried, a server is
// resynced, and an account sees only its own operations.
func TestOrchestrationOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := sshtest.Load(t)
		ex := newExecutor(t, st, bed.Signer)
		e := newEnvWith(t, st, ex)
		admin := e.Login("admin", adminPassword)
		root := fmt.Sprintf("/tmp/orchestra-api-%d", time.Now().UnixNano())
		sh := func(script string) string {
			t.Helper()
			s := bed.Servers[0]
			var out, errOut bytes.Buffer
			pool, _ := sshpool.New(sshpool.Config{Signer: bed.Signer})
			defer pool.Close()
			code, err := pool.Run(context.Background(), sshpool.Target{Address: s.Address, Port: s.Port, HostKey: s.HostKey},
				[]byte(script), &out, &errOut)
			if err != nil || code != 0 {
				t.Fatalf("%s: %d %v %s", script, code, err, errOut.String())
			}
			return out.String()
		}
		t.Cleanup(func() { sh("rm -rf -- " + orchestration.Quote(root)) })

		// a server added without a key is not reached until its key is confirmed
		s0 := bed.Servers[0]
		s1 := admin.Do("POST", "/servers", map[string]any{"name": "web1", "address": s0.Address, "ssh_port": s0.Port,
			"settings": map[string]string{"TEST_ROOT": root + "/s1"}}).Want(http.StatusCreated).ID()
		p := admin.Do("POST", fmt.Sprintf("/servers/%d/ping", s1), nil).Want(http.StatusOK).JSON()
		if p["reachable"] != false || !strings.Contains(fmt.Sprint(p["error"]), "host key") {
			t.Errorf("ping before pinning: %v", p)
		}
		hk := admin.Do("GET", fmt.Sprintf("/servers/%d/host-key", s1), nil).Want(http.StatusOK).JSON()
		if hk["presented"] != s0.HostKey || hk["matches"] != false || hk["pinned"] != "" {
			t.Fatalf("host key: %v", hk)
		}
		r := admin.Do("POST", fmt.Sprintf("/servers/%d/host-key", s1), map[string]any{"fingerprint": "SHA256:wrong"}).
			Want(http.StatusConflict)
		if got := r.FieldErrors(); len(got) != 1 || got[0] != "body.fingerprint" {
			t.Errorf("wrong fingerprint: %v", got)
		}
		if k := admin.Do("GET", fmt.Sprintf("/servers/%d", s1), nil).JSON()["host_key"]; k != "" {
			t.Fatalf("a key was pinned without confirmation: %v", k)
		}
		pinned := admin.Do("POST", fmt.Sprintf("/servers/%d/host-key", s1), map[string]any{"fingerprint": hk["presented_fingerprint"]}).
			Want(http.StatusOK).JSON()
		if pinned["host_key"] != s0.HostKey {
			t.Fatalf("confirmed key not pinned: %v", pinned)
		}
		p = admin.Do("POST", fmt.Sprintf("/servers/%d/ping", s1), nil).Want(http.StatusOK).JSON()
		if p["reachable"] != true || p["uptime_seconds"].(float64) <= 0 {
			t.Errorf("ping: %v", p)
		}
		// a changed key is refused, never accepted
		bad := admin.Do("PATCH", fmt.Sprintf("/servers/%d", s1), map[string]any{"host_key": bed.Servers[1].HostKey, "version": pinned["version"]}).
			Want(http.StatusOK).JSON()
		if p := admin.Do("POST", fmt.Sprintf("/servers/%d/ping", s1), nil).JSON(); p["reachable"] != false ||
			!strings.Contains(fmt.Sprint(p["error"]), "host key") {
			t.Errorf("ping with a changed key: %v", p)
		}
		admin.Do("PATCH", fmt.Sprintf("/servers/%d", s1), map[string]any{"host_key": s0.HostKey + " comment", "version": bad["version"]}).
			Want(http.StatusOK)

		// bad input names the field and saves nothing
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"name": "x y"}, "body.name"},
			{map[string]any{"name": "x", "address": "not an address!"}, "body.address"},
			{map[string]any{"name": "x.example.com", "host_key": "ssh-ed25519 garbage"}, "body.host_key"},
			{map[string]any{"name": "x.example.com", "ssh_user": "root; id"}, "body.ssh_user"},
			{map[string]any{"name": "x.example.com", "settings": map[string]string{"lower": "v"}}, "body.settings"},
			{map[string]any{"name": "web1"}, "body.name"},
		} {
			r := admin.Do("POST", "/servers", c.body)
			if got := r.FieldErrors(); r.Status < 400 || len(got) == 0 || got[0] != c.field {
				t.Errorf("%v: status %d, errors %v, want %s", c.body, r.Status, got, c.field)
			}
		}
		r = admin.Do("POST", "/routes", map[string]any{"backend": "api-test", "server": s1, "match": "account.nope == 1"}).
			Want(http.StatusUnprocessableEntity)
		if got := r.FieldErrors(); len(got) != 1 || got[0] != "body.match" || !strings.Contains(string(r.Body), "nope") {
			t.Errorf("bad match: %s", r.Body)
		}
		if c := admin.Do("POST", "/routes/check", map[string]any{"backend": "api-test", "match": `account.username endsWith 1`}).
			Want(http.StatusOK).JSON(); c["valid"] != false || c["error"] == "" {
			t.Errorf("check of a mistyped match: %v", c)
		}

		s2 := admin.Do("POST", "/servers", map[string]any{"name": "web2", "address": bed.Servers[1].Address,
			"ssh_port": bed.Servers[1].Port, "host_key": bed.Servers[1].HostKey,
			"settings": map[string]string{"TEST_ROOT": root + "/s2"}}).Want(http.StatusCreated).ID()
		route1 := admin.Do("POST", "/routes", map[string]any{"backend": "api-test", "server": s1, "match": `account.username startsWith "a"`}).
			Want(http.StatusCreated).ID()
		admin.Do("POST", "/routes", map[string]any{"backend": "api-test", "server": s1}).Want(http.StatusConflict)
		admin.Do("POST", "/routes", map[string]any{"backend": "api-test", "server": s2, "match": `not (account.username startsWith "a")`}).
			Want(http.StatusCreated)

		// a write waits for its synchronous units and answers with their outcome
		create := func(c *client, username, fullName string) *resp {
			t.Helper()
			return c.Do("POST", "/accounts", map[string]any{"username": username, "full_name": fullName,
				"email": username + "@example.com", "password": "Secret-pass-" + username}).Want(http.StatusCreated)
		}
		r = create(admin, "alice", "Alice")
		if r.Header.Get("Orchestra-Outcome") != "SUCCESS" || r.Header.Get("Orchestra-Operations") == "" ||
			!strings.Contains(strings.Join(r.Header.Values("Link"), ","), `rel="monitor"`) {
			t.Fatalf("create: headers %v", r.Header)
		}
		if got := sh("cat " + root + "/s1/alice"); got != "Alice" {
			t.Errorf("server 1 holds %q", got)
		}
		bob := create(admin, "bob", "Bob")
		if bob.Header.Get("Orchestra-Outcome") != "SUCCESS" || sh("cat "+root+"/s2/bob") != "Bob" {
			t.Errorf("bob: %v", bob.Header)
		}
		ops := admin.Do("GET", "/operations?ids="+r.Header.Get("Orchestra-Operations")+"&model=Account", nil).Want(http.StatusOK).JSON()
		if res := ops["results"].([]any); len(res) != 1 || res[0].(map[string]any)["state"] != "SUCCESS" ||
			res[0].(map[string]any)["server"] != float64(s1) {
			t.Errorf("operations of the write: %v", ops)
		}

		// asked not to wait, it answers once committed, before its changes
		// are planned (no operations named); the log's output grows live
		async := e.Anon()
		async.Bearer = admin.Bearer
		async.HTTP().Jar = admin.HTTP().Jar
		async.Header.Set("Prefer", "respond-async")
		r = create(async, "anna", "SLOW")
		if r.Header.Get("Orchestra-Outcome") != "PENDING" {
			t.Errorf("respond-async: outcome %q", r.Header.Get("Orchestra-Outcome"))
		}
		// it names its changes, not yet planned, and links to their operations
		changes := r.Header.Get("Orchestra-Changes")
		if changes == "" || r.Header.Get("Orchestra-Operations") != "" ||
			!strings.Contains(strings.Join(r.Header.Values("Link"), ", "), "/operations?changes="+changes+">; rel=\"monitor\"") {
			t.Fatalf("respond-async headers: %v", r.Header)
		}
		// the count of unplanned changes is read before the operations, so
		// "none unplanned" is never followed by operations still to come
		var op map[string]any
		for deadline := time.Now().Add(10 * time.Second); op == nil; time.Sleep(20 * time.Millisecond) {
			ops := admin.Do("GET", "/operations?changes="+changes+"&model=Account", nil).Want(http.StatusOK)
			n, err := strconv.Atoi(ops.Header.Get("Orchestra-Unplanned"))
			res := ops.JSON()["results"].([]any)
			switch {
			case err != nil || n > len(strings.Split(changes, ",")):
				t.Fatalf("Orchestra-Unplanned %q", ops.Header.Get("Orchestra-Unplanned"))
			case n == 0 && len(res) == 0:
				t.Fatal("every change planned, and no operation")
			case n == 0:
				op = res[0].(map[string]any)
			case time.Now().After(deadline):
				t.Fatalf("%d changes still unplanned", n)
			}
		}
		logPath := fmt.Sprintf("/logs/%d", int(op["log"].(float64)))
		sawLive := false
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			l := admin.Do("GET", logPath, nil).Want(http.StatusOK).JSON()
			out := fmt.Sprint(l["stdout"])
			if l["state"] == "STARTED" && strings.Contains(out, "step1") && !strings.Contains(out, "step2") {
				sawLive = true
			}
			if l["state"] == "SUCCESS" {
				if out != "step1\nstep2\n" {
					t.Errorf("final output %q", out)
				}
				break
			}
		}
		if !sawLive {
			t.Error("the running log's output was not readable before it ended")
		}

		// a bounded wait: asked for, applied, and an outcome past it is PENDING
		wait := e.Anon()
		wait.HTTP().Jar = admin.HTTP().Jar
		wait.Header.Set("Prefer", "wait=1")
		r = create(wait, "arthur", "SLOW")
		if r.Header.Get("Preference-Applied") != "wait=1" || r.Header.Get("Orchestra-Outcome") != "PENDING" {
			t.Errorf("wait=1 on a 1.5 s unit: %v", r.Header)
		}

		// a failure is reported, then retried once fixed
		r = create(admin, "amos", "FAIL")
		if r.Header.Get("Orchestra-Outcome") != "FAILURE" {
			t.Fatalf("failing unit: %v", r.Header)
		}
		failed := admin.Do("GET", "/operations?ids="+r.Header.Get("Orchestra-Operations")+"&model=Account", nil).JSON()["results"].([]any)[0].(map[string]any)
		amos := r.ID()
		admin.Do("POST", fmt.Sprintf("/logs/%d/retry", int(failed["log"].(float64))+100000), nil).Want(http.StatusNotFound)
		e.Store.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) error {
			// fixed behind the engine's back: only the retry applies it
			return tx.Account.UpdateOneID(amos).SetFullName("Amos").Exec(orchestration.WithoutChanges(ctx))
		})
		rt := admin.Do("POST", fmt.Sprintf("/logs/%d/retry", int(failed["log"].(float64))), nil).Want(http.StatusAccepted)
		retried := fmt.Sprintf("/logs/%d", int(rt.JSON()["log"].(float64)))
		if rt.Header.Get("Location") != api.Prefix+retried {
			t.Errorf("retry Location %q", rt.Header.Get("Location"))
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			l := admin.Do("GET", retried, nil).JSON()
			if l["state"] == "SUCCESS" && l["retry_of"] == failed["log"] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("retry: %v", l)
			}
		}
		if got := sh("cat " + root + "/s1/amos"); got != "Amos" {
			t.Errorf("after the retry server 1 holds %q", got)
		}

		// resync: a dry run shows the script, a real one restores lost files
		sh("rm -rf -- " + root + "/s1")
		dry := admin.Do("POST", fmt.Sprintf("/servers/%d/resync", s1), map[string]any{"dry_run": true}).Want(http.StatusAccepted)
		var units []map[string]any
		json.Unmarshal(dry.Body, &units)
		if len(units) != 1 || !strings.Contains(fmt.Sprint(units[0]["script"]), "/alice") || units[0]["log"] != nil {
			t.Fatalf("dry run: %s", dry.Body)
		}
		res := admin.Do("POST", fmt.Sprintf("/servers/%d/resync", s1), map[string]any{}).Want(http.StatusAccepted)
		json.Unmarshal(res.Body, &units)
		if len(units) != 1 || units[0]["log"] == nil {
			t.Fatalf("resync: %s", res.Body)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if l := admin.Do("GET", fmt.Sprintf("/logs/%d", int(units[0]["log"].(float64))), nil).JSON(); l["state"] == "SUCCESS" {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("resync log: %v", l)
			}
		}
		if got := sh("cd " + root + "/s1 && ls"); got != "admin\nalice\namos\nanna\narthur\n" { // admin was created before the routes
			t.Errorf("after the resync server 1 holds %q", got)
		}

		// a route applies the objects it sends to its server: a dry run shows
		// what would run, for the accounts whose names start with "a"
		dry = admin.Do("POST", fmt.Sprintf("/routes/%d/apply", route1), map[string]any{"dry_run": true}).Want(http.StatusAccepted)
		units = nil
		json.Unmarshal(dry.Body, &units)
		if len(units) != 1 || units[0]["server"] != float64(s1) || !strings.Contains(fmt.Sprint(units[0]["script"]), "/amos") ||
			strings.Contains(fmt.Sprint(units[0]["script"]), "/bob") || units[0]["log"] != nil {
			t.Errorf("a route's dry run: %s", dry.Body)
		}
		admin.Do("POST", "/routes/999999/apply", map[string]any{"dry_run": true}).Want(http.StatusNotFound)

		// an account follows its own writes only
		asAlice := e.Login("alice", "Secret-pass-alice")
		mine := asAlice.Do("GET", "/operations", nil).Want(http.StatusOK).JSON()["results"].([]any)
		if len(mine) == 0 {
			t.Error("alice sees none of her operations")
		}
		for _, o := range mine {
			if o.(map[string]any)["account"] != r.JSON()["id"] && o.(map[string]any)["repr"] != "alice" {
				t.Errorf("alice sees %v", o)
			}
		}
		if got := asAlice.Do("GET", "/operations?ids="+bob.Header.Get("Orchestra-Operations"), nil).JSON()["results"].([]any); len(got) != 0 {
			t.Errorf("alice sees bob's operations: %v", got)
		}
		if got := asAlice.Do("GET", "/operations?changes="+bob.Header.Get("Orchestra-Changes"), nil).JSON()["results"].([]any); len(got) != 0 {
			t.Errorf("alice sees the operations of bob's changes: %v", got)
		}
		asAlice.Do("GET", logPath, nil).Want(http.StatusForbidden)
	})
}

// BenchmarkAPIWriteToSuccess times one API write, from the request until
// its answer says its unit on the test-bed server succeeded (the write
// commits, is planned, runs over the pooled SSH session, and the answer
// reports it): p50 and p95 over b.N writes.
//
//	go test -run '^$' -bench APIWriteToSuccess -benchtime 200x ./internal/api/
func BenchmarkAPIWriteToSuccess(b *testing.B) {
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		bed := sshtest.Load(b)
		e := newEnvWith(b, st, newExecutor(b, st, bed.Signer))
		admin := e.TokenFor(e.Login("admin", adminPassword), 1)
		s0 := bed.Servers[0]
		root := fmt.Sprintf("/tmp/orchestra-api-bench-%d", time.Now().UnixNano())
		b.Cleanup(func() { os.RemoveAll(root) }) // the test bed shares this machine's disk
		srv := admin.Do("POST", "/servers", map[string]any{"name": "bench", "address": s0.Address, "ssh_port": s0.Port,
			"host_key": s0.HostKey, "settings": map[string]string{"TEST_ROOT": root}}).Want(http.StatusCreated).ID()
		admin.Do("POST", "/routes", map[string]any{"backend": "api-test", "server": srv}).Want(http.StatusCreated)
		r := admin.Do("POST", "/accounts", map[string]any{"username": "bench", "full_name": "warm", "email": "b@example.com"}).
			Want(http.StatusCreated)
		id, version := r.ID(), r.JSON()["version"].(float64)
		admin.Header.Set("Prefer", "wait=10")
		durations := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			t0 := time.Now()
			r := admin.Do("PATCH", fmt.Sprintf("/accounts/%d", id), map[string]any{"full_name": fmt.Sprintf("n%d", i), "version": version})
			durations = append(durations, time.Since(t0))
			if r.Status != http.StatusOK || r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
				b.Fatalf("write %d: %d %v %s", i, r.Status, r.Header, r.Body)
			}
			version = r.JSON()["version"].(float64)
		}
		b.StopTimer()
		slices.Sort(durations)
		pct := func(p float64) float64 {
			i := int(float64(len(durations))*p+0.999999) - 1 // nearest rank
			return float64(durations[max(0, min(i, len(durations)-1))]) / float64(time.Millisecond)
		}
		b.ReportMetric(pct(0.50), "ms-p50")
		b.ReportMetric(pct(0.95), "ms-p95")
	})
}
