package databases_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"

	"github.com/jackc/pgx/v5"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/databases"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// dbBed is the test bed's database servers: MariaDB and PostgreSQL on the
// machine of the SSH test bed (testbed/mariadb.sh, testbed/postgres.sh),
// administered over SSH as the backends do, and logged into over TCP as a
// customer's application would.
type dbBed struct {
	t           *testing.T
	ssh         *sshtest.Bed
	mysqlClient string // DATABASES_MYSQL_CLIENT on the server
	mysqlHost   string
	mysqlPort   string
	pgClient    string // DATABASES_POSTGRESQL_CLIENT on the server
	pgAdmin     *url.URL
}

func loadDBBed(t *testing.T) *dbBed {
	t.Helper()
	b := &dbBed{t: t, ssh: sshtest.Load(t), mysqlClient: os.Getenv("ORCHESTRA_TEST_MYSQL_CLIENT"), mysqlHost: "127.0.0.1", mysqlPort: "3306"}
	if b.mysqlClient == "" {
		b.mysqlClient = "mysql"
	}
	if a := os.Getenv("ORCHESTRA_TEST_MYSQL_ADDR"); a != "" {
		var err error
		if b.mysqlHost, b.mysqlPort, err = net.SplitHostPort(a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.sh("printf 'SELECT 1;\\n' | " + b.mysqlClient); err != nil {
		t.Skipf("no MariaDB for the test bed (run through ./do test, which starts one: testbed/mariadb.sh): %v", err)
	}
	if _, err := exec.LookPath("mysql"); err != nil {
		t.Skip("no mysql client")
	}
	admin := os.Getenv("ORCHESTRA_TEST_PG_ADMIN")
	if admin == "" {
		admin = os.Getenv("ORCHESTRA_TEST_POSTGRES_URL")
	}
	if admin == "" {
		t.Skip("neither ORCHESTRA_TEST_PG_ADMIN nor ORCHESTRA_TEST_POSTGRES_URL is set")
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/postgres"
	b.pgAdmin = u
	b.pgClient = "psql -X -d " + u.String()
	return b
}

// sh runs a script on the database server as root.
func (b *dbBed) sh(script string) (string, error) {
	s := b.ssh.Servers[0]
	pool, err := sshpool.New(sshpool.Config{Signer: b.ssh.Signer})
	if err != nil {
		return "", err
	}
	defer pool.Close()
	var out, errOut bytes.Buffer
	code, err := pool.Run(context.Background(), sshpool.Target{Address: s.Address, Port: s.Port, HostKey: s.HostKey},
		[]byte(script), &out, &errOut)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit %d: %s", code, errOut.String())
	}
	return out.String(), err
}

// mysqlAdmin runs SQL as the MariaDB administrator and returns its rows.
func (b *dbBed) mysqlAdmin(sql string) string {
	b.t.Helper()
	out, err := b.sh("printf '%s\\n' " + orchestration.Quote(sql) + " | " + b.mysqlClient + " -N -B")
	if err != nil {
		b.t.Fatalf("%s: %v", sql, err)
	}
	return strings.TrimSpace(out)
}

// mysqlLogin runs SQL as user over TCP, in database db ("" for none).
func (b *dbBed) mysqlLogin(user, pw, db, sql string) (string, error) {
	args := []string{"--protocol=TCP", "-h", b.mysqlHost, "-P", b.mysqlPort, "-u", user, "--password=" + pw, "-N", "-B", "-e", sql}
	if db != "" {
		args = append(args, db)
	}
	out, err := exec.Command("mysql", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// pgConnect logs in as user over TCP to database db.
func (b *dbBed) pgConnect(user, pw, db string) (*pgx.Conn, error) {
	port, _ := strconv.Atoi(b.pgAdmin.Port())
	if port == 0 {
		port = 5432
	}
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=disable", b.pgAdmin.Hostname(), port, db, user))
	if err != nil {
		return nil, err
	}
	cfg.Password = pw
	return pgx.ConnectConfig(context.Background(), cfg)
}

func (b *dbBed) pgLogin(user, pw, db, sql string) error {
	c, err := b.pgConnect(user, pw, db)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(context.Background(), sql)
	return err
}

// pgAdminQuery returns the first column of the first row of a query run
// as the PostgreSQL administrator in database db ("" if there is none).
func (b *dbBed) pgAdminQuery(db, sql string, args ...any) string {
	b.t.Helper()
	u := *b.pgAdmin
	u.Path = "/" + db
	c, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		b.t.Fatal(err)
	}
	defer c.Close(context.Background())
	var v *string
	err = c.QueryRow(context.Background(), sql, args...).Scan(&v)
	if err != nil && err != pgx.ErrNoRows {
		b.t.Fatalf("%s: %v", sql, err)
	}
	if v == nil {
		return ""
	}
	return *v
}

func (b *dbBed) pgAdminExec(sql string) {
	b.t.Helper()
	c, err := pgx.Connect(context.Background(), b.pgAdmin.String())
	if err != nil {
		b.t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), sql); err != nil {
		b.t.Fatalf("%s: %v", sql, err)
	}
}

func runToken() string {
	b := make([]byte, 5)
	rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

// TestDatabasesOverAPI: a customer's MariaDB and PostgreSQL databases and
// users, written through the API, exist on the real servers: each user
// logs in over TCP with its password and works in the databases granted
// to it and in no other; grants, owners and passwords follow the API;
// bad input is refused before anything runs; an object of the same name
// that Orchestra did not make (the panel's own database) is never taken
// over; deletes remove everything.
func TestDatabasesOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := loadDBBed(t)
		e := apitest.NewWith(t, st, apitest.NewExecutor(t, st, bed.ssh.Signer))
		admin := e.Admin()
		s := bed.ssh.Servers[0]
		srv := admin.Do("POST", "/servers", map[string]any{"name": "db1", "address": s.Address, "ssh_port": s.Port, "host_key": s.HostKey,
			"settings": map[string]string{"DATABASES_MYSQL_CLIENT": bed.mysqlClient, "DATABASES_POSTGRESQL_CLIENT": bed.pgClient}}).
			Want(http.StatusCreated).ID()
		for _, r := range [][2]string{{"mysql", "database"}, {"mysql-user", "database_user"}, {"postgresql", "database"}, {"postgresql-user", "database_user"}} {
			engine := strings.TrimSuffix(r[0], "-user")
			admin.Do("POST", "/routes", map[string]any{"backend": r[0], "server": srv, "match": r[1] + `.type == "` + engine + `"`}).
				Want(http.StatusCreated)
		}
		admin.Do("POST", "/accounts", map[string]any{"username": "dora", "full_name": "Dora", "email": "dora@example.com",
			"password": "Dora-secret-42"}).Want(http.StatusCreated)
		dora := e.Login("dora", "Dora-secret-42")
		dora.Header.Set("Prefer", "wait=30")
		logs := func() int { return int(admin.Do("GET", "/logs", nil).Want(http.StatusOK).JSON()["count"].(float64)) }
		outcome := func(r *apitest.Resp, want string) *apitest.Resp {
			t.Helper()
			if got := r.Header.Get("Orchestra-Outcome"); got != want {
				t.Fatalf("%s %s: outcome %q, want %s: %s", r.Method, r.Path, got, want, r.Body)
			}
			return r
		}
		tok := runToken()
		db, ua, ub := tok+"_shop", tok+"_a", tok+"_b"
		pwA, pwB := "Secret-a-"+tok, "Secret-b-"+tok
		t.Cleanup(func() {
			for _, n := range []string{db, tok + "xshop", tok + "_foreign"} {
				bed.sh("printf '%s\\n' " + orchestration.Quote("DROP DATABASE IF EXISTS `"+n+"`;") + " | " + bed.mysqlClient)
			}
			for _, n := range []string{ua, ub, tok + "_foreign"} {
				bed.sh("printf '%s\\n' " + orchestration.Quote("DROP USER IF EXISTS '"+n+"'@'%';") + " | " + bed.mysqlClient)
			}
			bed.sh("printf '%s\\n' " + orchestration.Quote("DELETE FROM "+databases.RegistryName+".objects WHERE name LIKE '"+tok+"%';") + " | " + bed.mysqlClient)
		})

		// bad input: refused with the field named, nothing runs
		before := logs()
		for _, c := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{"name": "x`; DROP DATABASE mysql; --", "user": map[string]any{"username": ua, "password": pwA}}, "body.name"},
			{map[string]any{"name": db, "user": map[string]any{"username": "root", "password": pwA}}, "body.user.username"},
			{map[string]any{"name": db, "user": map[string]any{"username": "x'@'%' IDENTIFIED BY 'x", "password": pwA}}, "body.user.username"},
			{map[string]any{"name": db, "user": map[string]any{"username": ua, "password": "password"}}, "body.user.password"},
			{map[string]any{"name": db, "user": map[string]any{"username": ua, "password": "Secret'); DROP USER root; --"}, "type": "oracle"}, "body.type"},
			{map[string]any{"name": "mysql", "user": map[string]any{"username": ua, "password": pwA}}, "body.name"},
			{map[string]any{"name": db}, "body.users"},
			{map[string]any{"name": strings.Repeat("x", 65), "user": map[string]any{"username": ua, "password": pwA}}, "body.name"},
		} {
			r := dora.Do("POST", "/databases", c.body)
			if got := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(got) == 0 || got[0] != c.want {
				t.Errorf("%v: status %d, errors %v, want %s: %s", c.body, r.Status, got, c.want, r.Body)
			}
		}
		if n := logs(); n != before {
			t.Errorf("refused writes made %d units", n-before)
		}

		// --- MariaDB ---
		r := outcome(dora.Do("POST", "/databases", map[string]any{"name": db, "type": "mysql",
			"user": map[string]any{"username": ua, "password": pwA}}).Want(http.StatusCreated), "SUCCESS")
		myDB := r.JSON()
		myID := r.ID()
		aID := int(myDB["owner"].(float64))
		if out, err := bed.mysqlLogin(ua, pwA, db, "CREATE TABLE t (i int); INSERT INTO t VALUES (7); SELECT i FROM t"); err != nil || out != "7" {
			t.Fatalf("%s over TCP: %v %s", ua, err, out)
		}
		if out, err := bed.mysqlLogin(ua, pwA+"x", db, "SELECT 1"); err == nil || !strings.Contains(out, "Access denied") {
			t.Errorf("a wrong password: %v %s", err, out)
		}
		// the stored hash is what the server has; the API never shows it
		hash := st.DatabaseUser.GetX(viewer.System(context.Background(), viewer.ChannelSystem), aID).Password
		if got := bed.mysqlAdmin("SELECT authentication_string FROM mysql.user WHERE User = '" + ua + "'"); got != hash || hash != databases.MySQLNativeHash(pwA) {
			t.Errorf("server hash %q, stored %q", got, hash)
		}
		if strings.Contains(string(r.Body), hash) || strings.Contains(string(r.Body), pwA) {
			t.Errorf("the API shows the password: %s", r.Body)
		}
		// a second user, granted nothing
		r = outcome(dora.Do("POST", "/database-users", map[string]any{"username": ub, "password": pwB, "type": "mysql"}).
			Want(http.StatusCreated), "SUCCESS")
		bID := r.ID()
		if out, err := bed.mysqlLogin(ub, pwB, "", "SELECT CURRENT_USER()"); err != nil || out != ub+"@%" {
			t.Errorf("%s logs in: %v %s", ub, err, out)
		}
		if out, err := bed.mysqlLogin(ub, pwB, db, "SELECT i FROM t"); err == nil || !strings.Contains(out, "Access denied") {
			t.Errorf("%s without a grant: %v %s", ub, err, out)
		}
		// a database whose name differs by an underscore is not reachable
		// through a wildcard grant
		// (ua's grant on tNNN_shop must not match tNNNxshop)
		xID := outcome(dora.Do("POST", "/databases", map[string]any{"name": tok + "xshop", "type": "mysql", "users": []int{bID}}).
			Want(http.StatusCreated), "SUCCESS").ID()
		if out, err := bed.mysqlLogin(ua, pwA, tok+"xshop", "SELECT 1"); err == nil || !strings.Contains(out, "Access denied") {
			t.Errorf("%s reaches another database: %v %s", ua, err, out)
		}
		// grants follow the users list; the first user owns (GRANT OPTION)
		r = outcome(dora.Do("PATCH", fmt.Sprintf("/databases/%d", myID), map[string]any{"users": []int{aID, bID}, "version": myDB["version"]}).
			Want(http.StatusOK), "SUCCESS")
		if out, err := bed.mysqlLogin(ub, pwB, db, "SELECT i FROM t"); err != nil || out != "7" {
			t.Errorf("%s after its grant: %v %s", ub, err, out)
		}
		if out, err := bed.mysqlLogin(ub, pwB, db, "GRANT SELECT ON `"+strings.ReplaceAll(db, "_", `\_`)+"`.* TO '"+ua+"'@'%'"); err == nil {
			t.Errorf("%s, not the owner, could grant: %s", ub, out)
		}
		outcome(dora.Do("PATCH", fmt.Sprintf("/databases/%d", myID), map[string]any{"users": []int{bID}, "version": r.JSON()["version"]}).
			Want(http.StatusOK), "SUCCESS")
		if out, err := bed.mysqlLogin(ua, pwA, db, "SELECT i FROM t"); err == nil {
			t.Errorf("%s after its grant was taken: %s", ua, out)
		}
		if out, err := bed.mysqlLogin(ub, pwB, db, "GRANT SELECT ON `"+strings.ReplaceAll(db, "_", `\_`)+"`.* TO '"+ua+"'@'%'"); err != nil {
			t.Errorf("%s, the owner now, cannot grant: %v %s", ub, err, out)
		}
		// a new password, hostile to a shell and to SQL: kept as data
		pwB2 := `It's "q" $(id) \'; DROP USER root; -- ` + tok
		r = dora.Do("POST", fmt.Sprintf("/database-users/%d/password", bID), map[string]any{"password": "weak"})
		if got := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(got) != 1 || got[0] != "body.password" {
			t.Errorf("weak password: %d %s", r.Status, r.Body)
		}
		outcome(dora.Do("POST", fmt.Sprintf("/database-users/%d/password", bID), map[string]any{"password": pwB2}).Want(http.StatusOK), "SUCCESS")
		if _, err := bed.mysqlLogin(ub, pwB, db, "SELECT 1"); err == nil {
			t.Error("the old password still works")
		}
		if out, err := bed.mysqlLogin(ub, pwB2, db, "SELECT i FROM t"); err != nil || out != "7" {
			t.Errorf("the new password: %v %s", err, out)
		}

		// --- PostgreSQL: same name, another engine ---
		pa, pb := ua, ub
		r = outcome(dora.Do("POST", "/databases", map[string]any{"name": db, "type": "postgresql",
			"user": map[string]any{"username": pa, "password": pwA}}).Want(http.StatusCreated), "SUCCESS")
		pgDB := r.JSON()
		pgID := r.ID()
		paID := int(pgDB["owner"].(float64))
		t.Cleanup(func() {
			bed.pgAdminExec(`DROP DATABASE IF EXISTS "` + db + `" WITH (FORCE)`)
			for _, u := range []string{pa, pb} {
				bed.pgAdminExec(`DROP ROLE IF EXISTS "` + u + `"`)
			}
		})
		if err := bed.pgLogin(pa, pwA, db, "CREATE TABLE t (i int); INSERT INTO t VALUES (7)"); err != nil {
			t.Fatalf("%s over TCP: %v", pa, err)
		}
		if got := bed.pgAdminQuery("postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = $1", pa); got !=
			st.DatabaseUser.GetX(viewer.System(context.Background(), viewer.ChannelSystem), paID).Password || !databases.ValidHash("postgresql", got) {
			t.Errorf("the server's verifier %q is not the one stored", got)
		}
		// the units final, both hashes (the MySQL one, the SCRAM verifier)
		// are in the users' own rows only: in no change, operation, stored
		// script, history entry or answer kept for a replay
		scram := st.DatabaseUser.GetX(viewer.System(context.Background(), viewer.ChannelSystem), paID).Password
		if found := storetest.TablesHolding(t, st, []string{hash, scram}); fmt.Sprint(found) != "[database_users]" {
			t.Errorf("the password hashes are in %v", found)
		}
		if err := bed.pgLogin(pa, pwA+"x", db, "SELECT 1"); err == nil {
			// the shared server trusts 127.0.0.1: TestSCRAMLogin proves the
			// verifiers against a server that checks them
			t.Logf("the PostgreSQL server does not check passwords from %s", bed.pgAdmin.Hostname())
		}
		r = outcome(dora.Do("POST", "/database-users", map[string]any{"username": pb, "password": pwB, "type": "postgresql"}).
			Want(http.StatusCreated), "SUCCESS")
		pbID := r.ID()
		if err := bed.pgLogin(pb, pwB, "postgres", "SELECT 1"); err != nil {
			t.Errorf("%s logs in: %v", pb, err)
		}
		if err := bed.pgLogin(pb, pwB, db, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s without a grant: %v", pb, err)
		}
		r = outcome(dora.Do("PATCH", fmt.Sprintf("/databases/%d", pgID), map[string]any{"users": []int{paID, pbID}, "version": pgDB["version"]}).
			Want(http.StatusOK), "SUCCESS")
		if err := bed.pgLogin(pb, pwB, db, "CREATE TABLE u (i int)"); err != nil {
			t.Errorf("%s after its grant: %v", pb, err)
		}
		// the owner goes: the database and its tables pass to the next user
		outcome(dora.Do("DELETE", fmt.Sprintf("/database-users/%d", paID), nil).Want(http.StatusNoContent), "SUCCESS")
		if got := bed.pgAdminQuery("postgres", "SELECT count(*)::text FROM pg_roles WHERE rolname = $1", pa); got != "0" {
			t.Errorf("role %s is still there", pa)
		}
		if got := bed.pgAdminQuery("postgres", "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1", db); got != pb {
			t.Errorf("the database belongs to %q, want %s", got, pb)
		}
		if got := bed.pgAdminQuery(db, "SELECT tableowner::text FROM pg_tables WHERE tablename = 't'"); got != pb {
			t.Errorf("table t belongs to %q, want %s", got, pb)
		}
		if err := bed.pgLogin(pb, pwB, db, "INSERT INTO t VALUES (8)"); err != nil {
			t.Errorf("%s, the owner now: %v", pb, err)
		}

		// the panel's own database is not anybody's to take
		var refused []int
		if own, err := url.Parse(os.Getenv("ORCHESTRA_TEST_POSTGRES_URL")); err == nil && own.Path != "" {
			ownDB := strings.TrimPrefix(own.Path, "/")
			owner := bed.pgAdminQuery("postgres", "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1", ownDB)
			r = dora.Do("POST", "/databases", map[string]any{"name": ownDB, "type": "postgresql", "users": []int{pbID}})
			if r.Status == http.StatusCreated {
				outcome(r, "FAILURE")
				refused = append(refused, r.ID())
			}
			if got := bed.pgAdminQuery("postgres", "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1", ownDB); got != owner {
				t.Errorf("the panel's database passed from %s to %s", owner, got)
			}
			// (PostgreSQL lets every role connect to a database that keeps
			// the default CONNECT of PUBLIC; it gets no more than that)
			if acl := bed.pgAdminQuery("postgres", "SELECT datacl::text FROM pg_database WHERE datname = $1", ownDB); strings.Contains(acl, pb) {
				t.Errorf("%s was granted the panel's database: %s", pb, acl)
			}
		}
		// nor is a MariaDB database or user made by someone else
		foreign := tok + "_foreign"
		bed.mysqlAdmin("CREATE DATABASE `" + foreign + "`; CREATE USER '" + foreign + "'@'%' IDENTIFIED BY 'Foreign-pass-1'")
		r = outcome(dora.Do("POST", "/databases", map[string]any{"name": foreign, "type": "mysql", "users": []int{bID}}).
			Want(http.StatusCreated), "FAILURE")
		refused = append(refused, r.ID())
		if _, err := bed.mysqlLogin(ub, pwB2, foreign, "SELECT 1"); err == nil {
			t.Errorf("%s got into %s", ub, foreign)
		}
		r = outcome(dora.Do("POST", "/database-users", map[string]any{"username": foreign, "password": pwA, "type": "mysql"}).
			Want(http.StatusCreated), "FAILURE")
		if _, err := bed.mysqlLogin(foreign, "Foreign-pass-1", "", "SELECT 1"); err != nil {
			t.Errorf("%s lost its password: %v", foreign, err)
		}
		// deleting them does not drop what is not Orchestra's either
		outcome(dora.Do("DELETE", fmt.Sprintf("/database-users/%d", r.ID()), nil).Want(http.StatusNoContent), "FAILURE")
		for _, id := range refused {
			outcome(dora.Do("DELETE", fmt.Sprintf("/databases/%d", id), nil).Want(http.StatusNoContent), "FAILURE")
		}
		if got := bed.mysqlAdmin("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '" + foreign + "'"); got != "1" {
			t.Errorf("%s was dropped", foreign)
		}

		// a resync applies everything again and changes nothing (the
		// scripts converge)
		res := admin.Do("POST", fmt.Sprintf("/servers/%d/resync", srv), map[string]any{}).Want(http.StatusAccepted)
		var units []map[string]any
		json.Unmarshal(res.Body, &units)
		if len(units) != 4 {
			t.Errorf("resync: %s", res.Body)
		}
		for _, u := range units {
			id := int(u["log"].(float64))
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				l := admin.Do("GET", fmt.Sprintf("/logs/%d", id), nil).JSON()
				if l["state"] == "SUCCESS" {
					break
				}
				if l["state"] != "RECEIVED" && l["state"] != "STARTED" || time.Now().After(deadline) {
					t.Fatalf("resync %s: %v", u["backend"], l)
				}
			}
		}
		if out, err := bed.mysqlLogin(ub, pwB2, db, "SELECT i FROM t"); err != nil || out != "7" {
			t.Errorf("%s after the resync: %v %s", ub, err, out)
		}
		if out, err := bed.mysqlLogin(ua, pwA, db, "SELECT i FROM t"); err == nil {
			t.Errorf("%s after the resync: %s", ua, out)
		}
		if err := bed.pgLogin(pb, pwB, db, "SELECT i FROM t"); err != nil {
			t.Errorf("%s after the resync: %v", pb, err)
		}

		// deletes: gone from the servers
		for _, id := range []int{myID, xID, pgID} {
			outcome(dora.Do("DELETE", fmt.Sprintf("/databases/%d", id), nil).Want(http.StatusNoContent), "SUCCESS")
		}
		for _, id := range []int{aID, bID, pbID} {
			outcome(dora.Do("DELETE", fmt.Sprintf("/database-users/%d", id), nil).Want(http.StatusNoContent), "SUCCESS")
		}
		if got := bed.mysqlAdmin("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '" + db + "'"); got != "0" {
			t.Errorf("database %s is still there", db)
		}
		if got := bed.mysqlAdmin("SELECT COUNT(*) FROM mysql.user WHERE User IN ('" + ua + "', '" + ub + "')"); got != "0" {
			t.Errorf("users still there: %s", got)
		}
		if got := bed.mysqlAdmin("SELECT COUNT(*) FROM mysql.db WHERE Db LIKE '" + tok + "%'"); got != "0" {
			t.Errorf("grants left: %s", got)
		}
		if _, err := bed.mysqlLogin(ub, pwB2, "", "SELECT 1"); err == nil {
			t.Error("a deleted user logs in")
		}
		if got := bed.pgAdminQuery("postgres", "SELECT count(*)::text FROM pg_database WHERE datname = $1", db); got != "0" {
			t.Errorf("PostgreSQL database %s is still there", db)
		}
		if got := bed.pgAdminQuery("postgres", "SELECT count(*)::text FROM pg_roles WHERE rolname = $1", pb); got != "0" {
			t.Errorf("role %s is still there", pb)
		}

		// deleting an account takes its databases and users off the servers
		eve := tok + "_eve"
		t.Cleanup(func() {
			bed.sh("printf '%s\\n' " + orchestration.Quote("DROP DATABASE IF EXISTS `"+eve+"`; DROP USER IF EXISTS '"+eve+"'@'%';") + " | " + bed.mysqlClient)
			bed.pgAdminExec(`DROP DATABASE IF EXISTS "` + eve + `" WITH (FORCE)`)
			bed.pgAdminExec(`DROP ROLE IF EXISTS "` + eve + `"`)
		})
		admin.Header.Set("Prefer", "wait=30")
		eveID := admin.Do("POST", "/accounts", map[string]any{"username": "eve", "full_name": "Eve", "email": "eve@example.com"}).
			Want(http.StatusCreated).ID()
		for _, typ := range databases.Engines {
			outcome(admin.Do("POST", "/databases", map[string]any{"name": eve, "type": typ, "account": eveID,
				"user": map[string]any{"username": eve, "password": pwA}}).Want(http.StatusCreated), "SUCCESS")
		}
		if err := bed.pgLogin(eve, pwA, eve, "CREATE TABLE t (i int)"); err != nil {
			t.Fatal(err)
		}
		outcome(admin.Do("DELETE", fmt.Sprintf("/accounts/%d", eveID), nil).Want(http.StatusNoContent), "SUCCESS")
		if got := bed.mysqlAdmin("SELECT (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '" + eve +
			"') + (SELECT COUNT(*) FROM mysql.user WHERE User = '" + eve + "')"); got != "0" {
			t.Errorf("MariaDB keeps %s objects of a deleted account", got)
		}
		if got := bed.pgAdminQuery("postgres", "SELECT ((SELECT count(*) FROM pg_database WHERE datname = $1) + "+
			"(SELECT count(*) FROM pg_roles WHERE rolname = $1))::text", eve); got != "0" {
			t.Errorf("PostgreSQL keeps %s objects of a deleted account", got)
		}
	})
}
