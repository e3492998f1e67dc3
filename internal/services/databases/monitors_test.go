package databases_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/databases"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/ent/monitorsample"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// mysqlSession is a session held open as an application's would be: it
// chose its database when it connected.
type mysqlSession struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *os.File
	rd  *bufio.Reader
	id  string // its CONNECTION_ID()
}

func (b *dbBed) mysqlSession(user, pw, db string) *mysqlSession {
	b.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		b.t.Fatal(err)
	}
	cmd := exec.Command("mysql", "--protocol=TCP", "-h", b.mysqlHost, "-P", b.mysqlPort, "-u", user, "--password="+pw,
		"--skip-column-names", "--batch", "--unbuffered", "--force", db)
	cmd.Stdout, cmd.Stderr = w, w
	in, err := cmd.StdinPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	w.Close()
	s := &mysqlSession{t: b.t, cmd: cmd, in: in, out: r, rd: bufio.NewReader(r)}
	b.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); r.Close() })
	if s.id = s.line("SELECT CONNECTION_ID();"); strconv.Itoa(atoi(s.id)) != s.id {
		b.t.Fatalf("a session as %s: %s", user, s.id)
	}
	return s
}

// line sends sql and returns the first line the session prints.
func (s *mysqlSession) line(sql string) string {
	s.t.Helper()
	fmt.Fprintln(s.in, sql)
	s.out.SetReadDeadline(time.Now().Add(30 * time.Second))
	l, err := s.rd.ReadString('\n')
	if err != nil {
		s.t.Fatalf("%s: %v %q", sql, err, l)
	}
	return strings.TrimSpace(l)
}

// finish sends sql, ends the session and returns what it printed.
func (s *mysqlSession) finish(sql string) string {
	fmt.Fprintln(s.in, sql)
	s.in.Close()
	s.out.SetReadDeadline(time.Now().Add(30 * time.Second))
	rest, _ := io.ReadAll(s.rd)
	s.cmd.Wait()
	return string(rest)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// TestDatabaseDisk: the rows a customer inserts into its MariaDB and
// PostgreSQL databases are what the disk monitors measure there (what
// information_schema and pg_database_size say on the server), the usage
// of each database in the resource's unit; a database missing on the
// server, or of the name of one Orchestra does not manage, is not
// measured; a name as odd as the rules allow is measured as itself.
// A MariaDB database over an allocation that disables loses INSERT and
// CREATE once, for new sessions and for those already in it, while SELECT
// works, and a save of the database or of its users keeps it so; back
// under, it gets them back once.
func TestDatabaseDisk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		start := time.Now()
		bed := loadDBBed(t)
		ex := apitest.NewExecutor(t, st, bed.ssh.Signer)
		e := apitest.NewWith(t, st, ex)
		admin := e.Admin()
		admin.Header.Set("Prefer", "wait=30")
		s := bed.ssh.Servers[0]
		srv := admin.Do("POST", "/servers", map[string]any{"name": "db1", "address": s.Address, "ssh_port": s.Port, "host_key": s.HostKey,
			"settings": map[string]string{"DATABASES_MYSQL_CLIENT": bed.mysqlClient, "DATABASES_POSTGRESQL_CLIENT": bed.pgClient}}).
			Want(http.StatusCreated).ID()
		for _, r := range []struct{ backend, match string }{
			{databases.MySQLBackend, `database.type == "mysql"`},
			{databases.MySQLUserBackend, `database_user.type == "mysql"`},
			{databases.PostgreSQLBackend, `database.type == "postgresql"`},
			{databases.PostgreSQLUserBackend, `database_user.type == "postgresql"`},
			{databases.MySQLDiskMonitor, `database.type == "mysql"`},
			{databases.PostgreSQLDiskMonitor, `database.type == "postgresql"`},
			{databases.MySQLQuotaEnforcer, `database.type == "mysql"`},
		} {
			admin.Do("POST", "/routes", map[string]any{"backend": r.backend, "server": srv, "match": r.match}).Want(http.StatusCreated)
		}
		admin.Do("POST", "/accounts", map[string]any{"username": "dora", "full_name": "Dora", "email": "dora@example.com",
			"password": "Dora-secret-42"}).Want(http.StatusCreated)
		dora := e.Login("dora", "Dora-secret-42")
		dora.Header.Set("Prefer", "wait=30")
		outcome := func(r *apitest.Resp, want string) *apitest.Resp {
			t.Helper()
			if got := r.Header.Get("Orchestra-Outcome"); got != want {
				t.Fatalf("%s %s: outcome %q, want %s: %s", r.Method, r.Path, got, want, r.Body)
			}
			return r
		}

		tok := runToken()
		db, gone, foreign := tok+"_disk", tok+"_gone", tok+"_foreign"
		// as odd as the rules allow: digits, and _ (a wildcard of LIKE and
		// of grants) everywhere, as long as MariaDB can grant it (the
		// grant's name, each _ escaped, has at most 64 characters: a
		// longer one fails the mysql backend); on PostgreSQL the longest
		// name. Its decoy, which _ as a wildcard would match, is not
		// Orchestra's and is bigger.
		odd := tok + "_9__0_" + strings.Repeat("_", 21)
		decoy := odd[:len(odd)-1] + "x"
		pgOdd := (tok + "_9__0_" + strings.Repeat("_", 64))[:63]
		ua, ub := tok+"_a", tok+"_b"
		pwA, pwB := "Secret-a-"+tok, "Secret-b-"+tok
		t.Cleanup(func() {
			for _, n := range []string{db, gone, foreign, odd, decoy} {
				bed.sh("printf '%s\\n' " + orchestration.Quote("DROP DATABASE IF EXISTS `"+n+"`;") + " | " + bed.mysqlClient)
			}
			for _, n := range []string{ua, ub} {
				bed.sh("printf '%s\\n' " + orchestration.Quote("DROP USER IF EXISTS '"+n+"'@'%';") + " | " + bed.mysqlClient)
			}
			bed.sh("printf '%s\\n' " + orchestration.Quote("DELETE FROM "+databases.RegistryName+".objects WHERE name LIKE '"+tok+"%';") + " | " + bed.mysqlClient)
			for _, n := range []string{db, pgOdd, foreign} {
				bed.pgAdminExec(`DROP DATABASE IF EXISTS "` + n + `" WITH (FORCE)`)
			}
			bed.pgAdminExec(`DROP ROLE IF EXISTS "` + ua + `"`)
		})

		// --- the databases, through the API as their customer ---
		r := outcome(dora.Do("POST", "/databases", map[string]any{"name": db, "type": "mysql",
			"user": map[string]any{"username": ua, "password": pwA}}).Want(http.StatusCreated), "SUCCESS")
		myID, myVersion := r.ID(), r.JSON()["version"]
		aID := int(r.JSON()["owner"].(float64))
		bID := outcome(dora.Do("POST", "/database-users", map[string]any{"username": ub, "password": pwB, "type": "mysql"}).
			Want(http.StatusCreated), "SUCCESS").ID()
		oddID := outcome(dora.Do("POST", "/databases", map[string]any{"name": odd, "type": "mysql", "users": []int{aID}}).
			Want(http.StatusCreated), "SUCCESS").ID()
		goneID := outcome(dora.Do("POST", "/databases", map[string]any{"name": gone, "type": "mysql", "users": []int{aID}}).
			Want(http.StatusCreated), "SUCCESS").ID()
		bed.mysqlAdmin("DROP DATABASE `" + gone + "`") // dropped by hand: not there to measure
		bed.mysqlAdmin("CREATE DATABASE `" + foreign + "`; CREATE TABLE `" + foreign + "`.t (s VARCHAR(1000)); " +
			"INSERT INTO `" + foreign + "`.t VALUES (REPEAT('f', 1000))")
		foreignID := outcome(dora.Do("POST", "/databases", map[string]any{"name": foreign, "type": "mysql", "users": []int{bID}}).
			Want(http.StatusCreated), "FAILURE").ID()
		bed.mysqlAdmin("CREATE DATABASE `" + decoy + "`; CREATE TABLE `" + decoy + "`.t (s VARCHAR(1000)); " +
			"INSERT INTO `" + decoy + "`.t VALUES (REPEAT('d', 1000)); " + strings.Repeat("INSERT INTO `"+decoy+"`.t SELECT s FROM `"+decoy+"`.t; ", 9) +
			"ANALYZE TABLE `" + decoy + "`.t")

		// a known amount of rows, inserted as the customer's user: 4096 of
		// 1000 bytes; ANALYZE settles what information_schema says
		fill := "CREATE TABLE t (i INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(1000) NOT NULL); INSERT INTO t (s) VALUES (REPEAT('x', 1000)); " +
			strings.Repeat("INSERT INTO t (s) SELECT s FROM t; ", 12) + "ANALYZE TABLE t; SELECT 'rows', COUNT(*) FROM t"
		if out, err := bed.mysqlLogin(ua, pwA, db, fill); err != nil || !strings.HasSuffix(out, "rows\t4096") {
			t.Fatalf("filling %s: %v %s", db, err, out)
		}
		if out, err := bed.mysqlLogin(ua, pwA, odd, "CREATE TABLE t (s VARCHAR(100)); INSERT INTO t VALUES ('odd'); ANALYZE TABLE t"); err != nil {
			t.Fatalf("filling %s: %v %s", odd, err, out)
		}

		// PostgreSQL: the same rows; a database of the odd name; one that
		// is not Orchestra's
		r = outcome(dora.Do("POST", "/databases", map[string]any{"name": db, "type": "postgresql",
			"user": map[string]any{"username": ua, "password": pwA}}).Want(http.StatusCreated), "SUCCESS")
		pgID := r.ID()
		paID := int(r.JSON()["owner"].(float64))
		pgOddID := outcome(dora.Do("POST", "/databases", map[string]any{"name": pgOdd, "type": "postgresql", "users": []int{paID}}).
			Want(http.StatusCreated), "SUCCESS").ID()
		bed.pgAdminExec(`CREATE DATABASE "` + foreign + `"`)
		pgForeignID := outcome(dora.Do("POST", "/databases", map[string]any{"name": foreign, "type": "postgresql", "users": []int{paID}}).
			Want(http.StatusCreated), "FAILURE").ID()
		if err := bed.pgLogin(ua, pwA, db, "CREATE TABLE t (s text NOT NULL); INSERT INTO t SELECT repeat('x', 1000) FROM generate_series(1, 4096)"); err != nil {
			t.Fatal(err)
		}
		if err := bed.pgLogin(ua, pwA, db, "VACUUM ANALYZE t"); err != nil {
			t.Fatal(err)
		}
		t.Logf("databases made and filled in %s", time.Since(start).Round(time.Millisecond))

		// --- measured: what the servers say, in MB ---
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		mk := func(body map[string]any) *ent.Resource {
			id := admin.Do("POST", "/resources", body).Want(http.StatusCreated).ID()
			return st.Resource.GetX(ctx, id)
		}
		disk := mk(map[string]any{"name": "disk", "label": "Disk", "model": "Database", "unit": "MB", "scale": "10**6",
			"aggregation": "last", "monitors": []string{databases.MySQLDiskMonitor, databases.PostgreSQLDiskMonitor}, "default_allocation": 1000})
		mysqlSize := func(name string) int64 {
			return int64(atoi(bed.mysqlAdmin("SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '" + name + "'")))
		}
		pgSize := func(name string) int64 {
			return int64(atoi(bed.pgAdminQuery("postgres", "SELECT pg_database_size($1)::text", name)))
		}
		sizes := func() map[int]int64 {
			return map[int]int64{myID: mysqlSize(db), oddID: mysqlSize(odd), pgID: pgSize(db), pgOddID: pgSize(pgOdd)}
		}
		now := time.Now().UTC().Truncate(time.Second)
		before := sizes()
		t0 := time.Now()
		round, err := resources.Measure(ctx, st, ex, disk, now, time.Minute)
		if err != nil || len(round.Failed) != 0 {
			t.Fatalf("measuring: %+v %v", round, err)
		}
		t.Logf("measured %d databases in %s", round.Samples, time.Since(t0).Round(time.Millisecond))
		after := sizes()
		samples := map[int]decimal.Decimal{}
		for _, sm := range st.MonitorSample.Query().Where(monitorsample.CreatedAt(now)).AllX(ctx) {
			samples[sm.ObjectID] = sm.Value
		}
		for _, id := range []int{goneID, foreignID, pgForeignID} {
			if v, ok := samples[id]; ok {
				t.Errorf("database %d, not there or not Orchestra's, measured: %s", id, v)
			}
		}
		if len(samples) != 4 || round.Samples != 4 {
			t.Errorf("samples %v (%d stored), want 4", samples, round.Samples)
		}
		if before[myID] < 4096*1000 || before[pgID] < 4096*1000 || before[oddID] >= mysqlSize(decoy) {
			t.Errorf("the servers say %v (the decoy %d)", before, mysqlSize(decoy))
		}
		for _, id := range []int{myID, oddID, pgID, pgOddID} {
			v, ok := samples[id]
			if !ok || v.LessThan(decimal.NewFromInt(before[id])) || v.GreaterThan(decimal.NewFromInt(after[id])) {
				t.Errorf("database %d: measured %v bytes, the server says %d (then %d)", id, v, before[id], after[id])
				continue
			}
			d := st.ResourceData.Query().Where(resourcedata.ResourceID(disk.ID), resourcedata.ObjectID(id)).OnlyX(ctx)
			if want := v.DivRound(decimal.NewFromInt(1_000_000), 3).StringFixed(3); d.Used == nil || d.Used.StringFixed(3) != want ||
				d.Allocated == nil || *d.Allocated != 1000 || d.Exceeded {
				t.Errorf("database %d: %v of %v MB (exceeded %v), want %s of 1000", id, d.Used, d.Allocated, d.Exceeded, want)
			}
		}

		// --- over its allocation: INSERT and CREATE taken, once ---
		mkQuota := func(name string) *ent.Resource {
			return mk(map[string]any{"name": name, "label": name, "model": "Database", "unit": "MB", "scale": "10**6",
				"aggregation": "last", "monitors": []string{databases.MySQLDiskMonitor}, "default_allocation": 1, "on_exceed": "disable"})
		}
		quota := mkQuota("quota")
		crossings := func(r *ent.Resource, id int) (states []string) {
			for _, h := range st.History.Query().Where(history.ObjectType("Database"), history.ObjectID(id)).Order(ent.Asc(history.FieldID)).AllX(ctx) {
				if c, ok := h.Changes["resources."+r.Name].(map[string]any); ok {
					states = append(states, fmt.Sprint(c["new"]))
				}
			}
			return states
		}
		// enforced waits for the enforcer's last unit, once there are want
		enforced := func(want int) {
			t.Helper()
			ids := st.ExecutionLog.Query().Where(executionlog.Backend(databases.MySQLQuotaEnforcer)).Order(ent.Asc(executionlog.FieldID)).IDsX(ctx)
			if len(ids) != want {
				t.Fatalf("%d units of %s, want %d", len(ids), databases.MySQLQuotaEnforcer, want)
			}
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			logs, err := ex.Await(wctx, ids[len(ids)-1:])
			if err != nil || logs[0].State != orchestration.StateSuccess {
				t.Fatalf("the enforcer's unit: %v %+v", err, logs)
			}
		}
		step := 0
		measure := func(r *ent.Resource, want string) {
			t.Helper()
			step++
			if round, err := resources.Measure(ctx, st, ex, r, now.Add(time.Duration(step)*time.Minute), time.Minute); err != nil || len(round.Failed) != 0 {
				t.Fatalf("measuring %s: %+v %v", r.Name, round, err)
			}
			if got := fmt.Sprint(crossings(r, myID)); got != want {
				t.Errorf("run %d of %s: the database's history holds %s, want %s", step, r.Name, got, want)
			}
		}
		allocate := func(r *ent.Resource, mb int) {
			t.Helper()
			if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return tx.ResourceData.Update().Where(resourcedata.ResourceID(r.ID), resourcedata.ObjectID(myID)).SetAllocated(mb).Exec(ctx)
			}); err != nil {
				t.Fatal(err)
			}
		}
		insert := func(user, pw, name string) (string, error) {
			return bed.mysqlLogin(user, pw, name, "INSERT INTO t (s) VALUES ('"+user+"')")
		}
		denied := func(when string, users ...[2]string) {
			t.Helper()
			for _, u := range users {
				if out, err := insert(u[0], u[1], db); err == nil || !strings.Contains(out, "INSERT command denied") {
					t.Errorf("%s: %s inserts: %v %s", when, u[0], err, out)
				}
				if out, err := bed.mysqlLogin(u[0], u[1], db, "SELECT COUNT(*) FROM t"); err != nil || out != "4096" {
					t.Errorf("%s: %s selects: %v %s", when, u[0], err, out)
				}
				if out, err := bed.mysqlLogin(u[0], u[1], db, "CREATE TABLE u (i INT)"); err == nil || !strings.Contains(out, "CREATE command denied") {
					t.Errorf("%s: %s creates a table: %v %s", when, u[0], err, out)
				}
			}
		}
		held := bed.mysqlSession(ua, pwA, db) // an application's, connected before
		measure(quota, "[exceeded]")
		if got := crossings(quota, oddID); len(got) != 0 {
			t.Errorf("the odd database, under its allocation, crossed: %v", got)
		}
		enforced(1)
		denied("over", [2]string{ua, pwA})
		if out := held.finish("INSERT INTO t (s) VALUES ('held');"); !strings.Contains(out, "ERROR") {
			t.Errorf("a session in the database from before inserts: %s", out)
		}
		if n := bed.mysqlAdmin("SELECT COUNT(*) FROM `" + db + "`.t WHERE s <> REPEAT('x', 1000)"); n != "0" {
			t.Errorf("%s rows inserted while over", n)
		}
		// the enforcer acted on that database only
		if out, err := insert(ua, pwA, odd); err != nil {
			t.Errorf("%s inserts into %s: %v %s", ua, odd, err, out)
		}

		// a normal save of the database (a user added) and of a user (a
		// new password) while over: the restriction stays
		outcome(dora.Do("PATCH", fmt.Sprintf("/databases/%d", myID), map[string]any{"users": []int{aID, bID}, "version": myVersion}).
			Want(http.StatusOK), "SUCCESS")
		pwA = "Secret-a2-" + tok
		outcome(dora.Do("POST", fmt.Sprintf("/database-users/%d/password", aID), map[string]any{"password": pwA}).Want(http.StatusOK), "SUCCESS")
		denied("after saves while over", [2]string{ua, pwA}, [2]string{ub, pwB})

		// measured again, still over: nothing recorded, nothing run
		measure(quota, "[exceeded]")
		enforced(1)

		// over a second resource that disables too: back under the first,
		// it stays restricted until it is back under both
		quota2 := mkQuota("quota2")
		measure(quota2, "[exceeded]")
		enforced(2)
		allocate(quota, 100)
		measure(quota, "[exceeded within]")
		enforced(3)
		denied("back under one of two", [2]string{ua, pwA}, [2]string{ub, pwB})

		// --- back under both: INSERT and CREATE back, once ---
		heldOver := bed.mysqlSession(ub, pwB, db) // connected while over
		allocate(quota2, 100)
		measure(quota2, "[exceeded within]")
		enforced(4)
		for _, u := range [][2]string{{ua, pwA}, {ub, pwB}} {
			if out, err := insert(u[0], u[1], db); err != nil {
				t.Errorf("back under: %s inserts: %v %s", u[0], err, out)
			}
			if out, err := bed.mysqlLogin(u[0], u[1], db, "CREATE TABLE "+u[0]+" (i INT)"); err != nil {
				t.Errorf("back under: %s creates a table: %v %s", u[0], err, out)
			}
		}
		// the session that chose the database while it was over was ended:
		// its application reconnects, with INSERT
		if out := heldOver.finish("SELECT 1;"); !strings.Contains(out, "ERROR 2013") && !strings.Contains(out, "ERROR 2006") {
			t.Errorf("the session held while over goes on: %s", out)
		}
		measure(quota, "[exceeded within]")
		measure(quota2, "[exceeded within]")
		enforced(4)
		t.Logf("done in %s", time.Since(start).Round(time.Millisecond))
	})
}

// TestDiskMonitorsRefuseHostileNames: whatever path a name took, the
// monitors refuse one outside the portable shape rather than quote it; a
// database of the other engine, sent by a route that does not check the
// type, is refused too.
func TestDiskMonitorsRefuseHostileNames(t *testing.T) {
	backends := map[string]*orchestration.Backend{}
	for _, b := range orchestration.Backends() {
		backends[b.Name] = b
	}
	for name, typ := range map[string]string{databases.MySQLDiskMonitor: databases.MySQL, databases.PostgreSQLDiskMonitor: databases.PostgreSQL} {
		b := backends[name]
		if b == nil || !b.Handles(resources.ActionMonitor) {
			t.Fatalf("monitor %s is not registered", name)
		}
		apply := func(n, engine string) (string, error) {
			s := orchestration.NewScript()
			err := b.Apply(s, orchestration.Server{}, resources.ActionMonitor,
				orchestration.Object{Model: "Database", ID: 7, Repr: n, Snapshot: map[string]any{"name": n, "type": engine}})
			return s.String(), err
		}
		for _, h := range []string{"", "a'b", "a`b", `a"b`, `a\b`, "a b", "a;b", "a\nb", "A", "1a", ":a", "a$b", "a%", "a$(id)", strings.Repeat("a", 65)} {
			if script, err := apply(h, typ); err == nil {
				t.Errorf("%s: %q measured:\n%s", name, h, script)
			}
		}
		if _, err := apply("shop", map[string]string{databases.MySQL: databases.PostgreSQL, databases.PostgreSQL: databases.MySQL}[typ]); err == nil {
			t.Errorf("%s measures a database of the other engine", name)
		}
		if script, err := apply("a_b", typ); err != nil || !strings.Contains(script, "'a_b'") {
			t.Errorf("%s: a_b: %v\n%s", name, err, script)
		}
	}
	if b := backends[databases.MySQLQuotaEnforcer]; b == nil || !b.Handles(resources.ActionExceeded) || !b.Handles(resources.ActionRecovered) {
		t.Errorf("enforcer %s is not registered", databases.MySQLQuotaEnforcer)
	}
}
