package hostiletest

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/databases"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/database"
	"github.com/orchestra-panel/orchestra/internal/store/ent/databaseuser"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
)

// databasesSuite drives the four database backends against the test bed's
// MariaDB and PostgreSQL: names are read from the engines' catalogs and
// password hashes from their user tables, hex-encoded. The rules'
// documented forms: names and types without surrounding space; an empty
// type (once trimmed) takes DATABASES_DEFAULT_TYPE. The disk monitors and
// the MariaDB size enforcer then run over what arrived (see
// checkDatabaseResources).
var databasesSuite = suite{
	name: "databases",
	backends: []string{databases.MySQLBackend, databases.MySQLUserBackend,
		databases.PostgreSQLBackend, databases.PostgreSQLUserBackend,
		databases.MySQLDiskMonitor, databases.PostgreSQLDiskMonitor, databases.MySQLQuotaEnforcer},
	fields: map[string][]string{
		"Database":     {"name", "type"},
		"DatabaseUser": {"username", "password", "type"},
	},
	run: runDatabases,
}

// engineState is what one engine holds of this run: database names, and
// user names with their password hashes.
type engineState struct {
	dbs   []string
	users map[string]string
}

func runDatabases(t *testing.T, st *store.Store, r *recorder) {
	bed := sshtest.Load(t)
	mysqlClient := os.Getenv("ORCHESTRA_TEST_MYSQL_CLIENT")
	if mysqlClient == "" {
		mysqlClient = "mysql"
	}
	admin := os.Getenv("ORCHESTRA_TEST_PG_ADMIN")
	if admin == "" {
		admin = os.Getenv("ORCHESTRA_TEST_POSTGRES_URL")
	}
	if admin == "" {
		t.Skip("neither ORCHESTRA_TEST_PG_ADMIN nor ORCHESTRA_TEST_POSTGRES_URL is set: run through ./do test")
	}
	pgURL, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	pgURL.Path = "/postgres"
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	var probe strings.Builder
	if code, err := pool.Run(context.Background(), target, []byte("printf 'SELECT 1;\\n' | "+mysqlClient), &probe, &probe); err != nil || code != 0 {
		t.Skipf("no MariaDB for the test bed (run through ./do test, which starts one): %v %s", err, probe.String())
	}
	// names are global on the servers: every one holds the tag
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary := "/tmp/orchestra-canary-" + tag
	run(t, pool, target, "rm -f -- "+orchestration.Quote(canary))
	mysqlSQL := func(sql string) string {
		t.Helper()
		return run(t, pool, target, "printf '%s\\n' "+orchestration.Quote(sql)+" | "+mysqlClient+" -N -B")
	}
	pgQuery := func(sql string, args ...any) [][]string {
		t.Helper()
		c, err := pgx.Connect(context.Background(), pgURL.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		rows, err := c.Query(context.Background(), sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		var out [][]string
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, []string{a, b})
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	state := func() map[string]*engineState {
		t.Helper()
		out := map[string]*engineState{databases.MySQL: {users: map[string]string{}}, databases.PostgreSQL: {users: map[string]string{}}}
		my := mysqlSQL(fmt.Sprintf("SELECT 'db', HEX(SCHEMA_NAME), '-' FROM information_schema.SCHEMATA WHERE LOCATE('%[1]s', SCHEMA_NAME) > 0 "+
			"UNION ALL SELECT 'user', HEX(User), HEX(CONCAT('-', authentication_string)) FROM mysql.user WHERE LOCATE('%[1]s', User) > 0;", tag))
		for _, line := range strings.Split(strings.TrimSpace(my), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			name, _ := hex.DecodeString(f[1])
			hash, _ := hex.DecodeString(f[2])
			if f[0] == "db" {
				out[databases.MySQL].dbs = append(out[databases.MySQL].dbs, string(name))
			} else {
				out[databases.MySQL].users[string(name)] = strings.TrimPrefix(string(hash), "-")
			}
		}
		for _, row := range pgQuery("SELECT datname::text, '' FROM pg_database WHERE strpos(datname, $1) > 0", tag) {
			out[databases.PostgreSQL].dbs = append(out[databases.PostgreSQL].dbs, row[0])
		}
		for _, row := range pgQuery("SELECT rolname::text, coalesce(rolpassword, '') FROM pg_authid WHERE strpos(rolname, $1) > 0", tag) {
			out[databases.PostgreSQL].users[row[0]] = row[1]
		}
		for _, e := range out {
			slices.Sort(e.dbs)
		}
		return out
	}
	safe := regexp.MustCompile(`^[a-z0-9_]+$`)
	t.Cleanup(func() {
		// whatever the store's deletes left behind
		for typ, e := range state() {
			for _, n := range append(slices.Clone(e.dbs), slices.Collect(maps.Keys(e.users))...) {
				if !safe.MatchString(n) {
					t.Errorf("%s: %q exists on the server; remove it by hand", typ, n)
				}
			}
			if typ == databases.MySQL {
				var sql strings.Builder
				for _, n := range e.dbs {
					fmt.Fprintf(&sql, "DROP DATABASE IF EXISTS `%s`;", n)
				}
				for n := range e.users {
					fmt.Fprintf(&sql, "DROP USER IF EXISTS '%s'@'%%';", n)
				}
				fmt.Fprintf(&sql, "DELETE FROM `%s`.`objects` WHERE LOCATE('%s', `name`) > 0;", databases.RegistryName, tag)
				mysqlSQL(sql.String())
				continue
			}
			c, err := pgx.Connect(context.Background(), pgURL.String())
			if err != nil {
				t.Error(err)
				continue
			}
			for _, n := range e.dbs {
				c.Exec(context.Background(), fmt.Sprintf(`DROP DATABASE IF EXISTS "%s" WITH (FORCE)`, n))
			}
			for n := range e.users {
				c.Exec(context.Background(), fmt.Sprintf(`DROP ROLE IF EXISTS "%s"`, n))
			}
			c.Close(context.Background())
		}
		run(t, pool, target, "rm -f -- "+orchestration.Quote(canary))
	})

	err = st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
		srv, err := tx.Server.Create().SetName("db1").SetAddress(s0.Address).SetSSHPort(s0.Port).SetHostKey(s0.HostKey).
			SetSettings(map[string]string{"DATABASES_MYSQL_CLIENT": mysqlClient, "DATABASES_POSTGRESQL_CLIENT": "psql -X -d " + pgURL.String()}).
			Save(ctx)
		if err != nil {
			return err
		}
		for _, b := range suiteBackends() {
			if err := tx.Route.Create().SetBackend(b.name).SetServerID(srv.ID).SetMatch(b.match).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	acc, cust := account(t, st, "db"+tag)
	ss := seeds(canary)
	hashes := map[string]string{databases.MySQL: databases.MySQLNativeHash("Hostile-pass-1")}
	if hashes[databases.PostgreSQL], err = databases.SCRAMVerifier("Hostile-pass-1"); err != nil {
		t.Fatal(err)
	}
	hashFor := func(typ string) string {
		if h, ok := hashes[strings.TrimSpace(typ)]; ok {
			return h
		}
		return hashes[databases.DefaultType.Get()]
	}
	want := map[string]*engineState{databases.MySQL: {users: map[string]string{}}, databases.PostgreSQL: {users: map[string]string{}}}
	keys := map[string]string{} // engine and name → the field whose value it was
	n := 0
	addDB := func(key, value, name, typ string) {
		t.Helper()
		n++
		if name == "" {
			name = fmt.Sprintf("dt%d%s", n, tag)
		}
		var d *ent.Database
		if r.one(cust, key, value, func(ctx context.Context, tx *ent.Tx) (err error) {
			d, err = tx.Database.Create().SetName(name).SetType(typ).SetAccountID(acc).Save(ctx)
			return err
		}) {
			if d.Name != strings.TrimSpace(name) || d.Type != orDefault(typ, databases.DefaultType.Get()) {
				t.Errorf("database %q of type %q stored as %q of %q", name, typ, d.Name, d.Type)
			}
			want[d.Type].dbs = append(want[d.Type].dbs, d.Name)
			keys[d.Type+" "+d.Name] = key
		}
	}
	addUser := func(key, value, name, typ, hash string) {
		t.Helper()
		n++
		if name == "" {
			name = fmt.Sprintf("u%d%s", n, tag)
		}
		var u *ent.DatabaseUser
		if r.one(cust, key, value, func(ctx context.Context, tx *ent.Tx) (err error) {
			u, err = tx.DatabaseUser.Create().SetUsername(name).SetType(typ).SetPassword(hash).SetAccountID(acc).Save(ctx)
			return err
		}) {
			if u.Username != strings.TrimSpace(name) || u.Password != hash || u.Type != orDefault(typ, databases.DefaultType.Get()) {
				t.Errorf("user %q of type %q stored as %q of %q", name, typ, u.Username, u.Type)
			}
			want[u.Type].users[u.Username] = u.Password
			keys[u.Type+" "+u.Username] = key
		}
	}
	maxDB := map[string]int{databases.MySQL: 64, databases.PostgreSQL: 63}
	maxUser := map[string]int{databases.MySQL: 32, databases.PostgreSQL: 63}
	for _, typ := range databases.Engines {
		for _, s := range ss {
			for _, w := range []string{"d" + tag + s, s + "d" + tag} {
				addDB("Database.name", w, w, typ)
			}
			for _, w := range []string{"u" + tag + s, s + "u" + tag} {
				addUser("DatabaseUser.username", w, w, typ, hashes[typ])
			}
			for _, w := range []string{map[string]string{databases.MySQL: "*", databases.PostgreSQL: "SCRAM-SHA-256$4096:"}[typ] + s, hashes[typ] + s} {
				addUser("DatabaseUser.password", w, "", typ, w)
			}
		}
		// names at the engine's limits, and _, a wildcard in MySQL grants
		for _, k := range []int{0, 1} {
			addDB("Database.name", "", "d"+tag+"_"+strings.Repeat("x", maxDB[typ]-len(tag)-2+k), typ)
			addUser("DatabaseUser.username", "", "u"+tag+"_"+strings.Repeat("x", maxUser[typ]-len(tag)-2+k), typ, hashes[typ])
		}
		// mostly _, at the limit and one over: on MariaDB each _ counts
		// twice (its grants name the database with each _ escaped)
		most, pad := maxDB[typ]-1-len(tag), ""
		if typ == databases.MySQL {
			most, pad = most/2, strings.Repeat("x", most%2)
		}
		for _, k := range []int{0, 1} {
			addDB("Database.name", "", "d"+tag+pad+strings.Repeat("_", most+k), typ)
		}
		addUser("DatabaseUser.password", hashes[typ], "", typ, hashes[typ])
	}
	for _, s := range append(slices.Clone(ss), databases.MySQL, " "+databases.PostgreSQL+"\n") {
		addDB("Database.type", s, "", s)
		addUser("DatabaseUser.type", s, "", s, hashFor(s))
	}

	r.phase("writes done")
	ex := startExecutor(t, st, pool)
	last := settle(t, st, 0)
	r.phase("units done")
	got := state()
	for _, typ := range databases.Engines {
		w, g := want[typ], got[typ]
		slices.Sort(w.dbs)
		if !slices.Equal(g.dbs, w.dbs) {
			t.Errorf("%s databases:\n got %q\nwant %q", typ, g.dbs, w.dbs)
		}
		for _, name := range w.dbs {
			if slices.Contains(g.dbs, name) {
				r.arrived(keys[typ+" "+name])
			}
		}
		for name, hash := range w.users {
			if g.users[name] != hash {
				t.Errorf("%s user %q: password %q on the server, %q in the store", typ, name, g.users[name], hash)
			} else {
				r.arrived(keys[typ+" "+name])
			}
		}
		for name := range g.users {
			if _, ok := w.users[name]; !ok {
				t.Errorf("%s user %q on the server, not in the store", typ, name)
			}
		}
	}

	last = checkDatabaseResources(t, dbRun{st: st, ex: ex, pool: pool, target: target, acc: acc, cust: cust, tag: tag, canary: canary,
		mysqlSQL: mysqlSQL, pgQuery: pgQuery, hash: hashes[databases.MySQL], password: "Hostile-pass-1"}, last)
	r.phase("monitors and enforcer done")

	// deleting everything through the store drops it from the servers
	err = st.Tx(cust, func(ctx context.Context, tx *ent.Tx) error {
		if _, err := tx.Database.Delete().Where(database.AccountID(acc)).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.DatabaseUser.Delete().Where(databaseuser.AccountID(acc)).Exec(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, st, last)
	for typ, e := range state() {
		if len(e.dbs) > 0 || len(e.users) > 0 {
			t.Errorf("%s after the deletes: databases %q, users %q", typ, e.dbs, slices.Collect(maps.Keys(e.users)))
		}
	}
	noCanary(t, pool, target, canary)
}

// suiteBackends are the routes of the database backends, by engine.
func suiteBackends() []struct{ name, match string } {
	return []struct{ name, match string }{
		{databases.MySQLBackend, `database.type == "mysql"`},
		{databases.MySQLUserBackend, `database_user.type == "mysql"`},
		{databases.PostgreSQLBackend, `database.type == "postgresql"`},
		{databases.PostgreSQLUserBackend, `database_user.type == "postgresql"`},
		{databases.MySQLDiskMonitor, `database.type == "mysql"`},
		{databases.PostgreSQLDiskMonitor, `database.type == "postgresql"`},
		{databases.MySQLQuotaEnforcer, `database.type == "mysql"`},
	}
}

// dbRun is what checkDatabaseResources needs of runDatabases.
type dbRun struct {
	st       *store.Store
	ex       *orchestration.Executor
	pool     *sshpool.Pool
	target   sshpool.Target
	acc      int
	cust     context.Context
	tag      string
	canary   string
	mysqlSQL func(sql string) string
	pgQuery  func(sql string, args ...any) [][]string
	hash     string // password's MariaDB hash: the run's users holding it log in with password
	password string
}

// grantKey is a row of mysql.db.
type grantKey struct{ host, db, user string }

// checkDatabaseResources runs the databases' resource backends over what
// runDatabases applied, and returns the highest log id.
//
// The disk monitors print one line for every database of the run on its
// server, whatever its name, and measure it as itself: decoys that are not
// Orchestra's, whose names a hostile name's _ would match as a wildcard,
// hold far more.
//
// The MariaDB enforcer, asked over every hostile MariaDB database while
// the store says each is over a resource that disables, takes INSERT and
// CREATE from all of its users (each granted through the store on every
// one), who log in and still read but neither insert nor create; asked
// again once the store says they are back under, it gives them back. No
// grant row of any other database changes (the decoys' user goes on
// inserting into them), and nothing outside runs.
func checkDatabaseResources(t *testing.T, d dbRun, last int) int {
	start := time.Now()
	mdbs := d.st.Database.Query().Where(database.AccountID(d.acc), database.Type(databases.MySQL)).Order(ent.Asc(database.FieldID)).AllX(sys)
	users := d.st.DatabaseUser.Query().Where(databaseuser.AccountID(d.acc), databaseuser.Type(databases.MySQL), databaseuser.Password(d.hash)).
		Order(ent.Asc(databaseuser.FieldID)).AllX(sys)
	if len(mdbs) < 3 || len(users) < 2 {
		t.Fatalf("%d MariaDB databases and %d users of a known password arrived: too few to check", len(mdbs), len(users))
	}
	escaped := func(name string) string { return strings.ReplaceAll(name, "_", `\_`) }
	hostile := map[string]bool{} // the names mysql.db may hold them by
	var ids []int
	var uids []int
	for _, db := range mdbs {
		ids = append(ids, db.ID)
		hostile[db.Name], hostile[escaped(db.Name)] = true, true
	}
	for _, u := range users {
		uids = append(uids, u.ID)
	}

	// every user of a known password on every MariaDB database, through
	// the store: the mysql backend grants them all privileges
	err := d.st.Tx(d.cust, func(ctx context.Context, tx *ent.Tx) error {
		for _, id := range ids {
			if err := tx.Database.UpdateOneID(id).AddUserIDs(uids...).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	last = settle(t, d.st, last)

	// a table in each; decoys of the names holding _ (_ as a letter), with
	// a user of their own and 512 rows of 1000 bytes; that user may read
	// one of the run's databases too, granted by hand: not one of its
	// users, it gets nothing back when the database recovers
	decoyUser, decoyPass := "v"+d.tag, "Decoy-pass-"+d.tag
	var decoys []string
	var sql strings.Builder
	fmt.Fprintf(&sql, "CREATE USER '%s'@'%%' IDENTIFIED BY '%s';\n", decoyUser, decoyPass)
	var planted grantKey
	for _, db := range mdbs {
		fmt.Fprintf(&sql, "CREATE TABLE `%[1]s`.t (i INT); INSERT INTO `%[1]s`.t VALUES (0);\n", db.Name)
		if strings.Contains(db.Name, "_") && planted.db == "" {
			planted = grantKey{"%", escaped(db.Name), decoyUser}
			fmt.Fprintf(&sql, "GRANT SELECT ON `%s`.* TO '%s'@'%%';\n", planted.db, decoyUser)
		}
		if strings.Contains(db.Name, "_") {
			decoy := strings.ReplaceAll(db.Name, "_", "z")
			decoys = append(decoys, decoy)
			fmt.Fprintf(&sql, "CREATE DATABASE `%[1]s`; CREATE TABLE `%[1]s`.t (s VARCHAR(1000)); INSERT INTO `%[1]s`.t VALUES (REPEAT('d', 1000));\n", decoy)
			sql.WriteString(strings.Repeat(fmt.Sprintf("INSERT INTO `%[1]s`.t SELECT s FROM `%[1]s`.t;\n", decoy), 9))
			fmt.Fprintf(&sql, "ANALYZE TABLE `%[1]s`.t; GRANT ALL PRIVILEGES ON `%[1]s`.* TO '%[2]s'@'%%';\n", decoy, decoyUser)
		}
	}
	d.mysqlSQL(sql.String())
	defer func() {
		var sql strings.Builder
		for _, n := range decoys {
			fmt.Fprintf(&sql, "DROP DATABASE IF EXISTS `%s`;\n", n)
		}
		fmt.Fprintf(&sql, "DROP USER IF EXISTS '%s'@'%%';\n", decoyUser)
		d.mysqlSQL(sql.String())
	}()
	if len(decoys) < 2 {
		t.Fatalf("decoys %q: the run's MariaDB names hold too few _", decoys)
	}

	// --- the monitors: one line for each database on its server ---
	sizes := func() map[string]int64 { // engine and name → bytes, as the server says
		t.Helper()
		out := map[string]int64{}
		my := d.mysqlSQL(fmt.Sprintf("SELECT HEX(s.SCHEMA_NAME), COALESCE((SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES t "+
			"WHERE t.TABLE_SCHEMA = s.SCHEMA_NAME), 0) FROM information_schema.SCHEMATA s WHERE LOCATE('%s', s.SCHEMA_NAME) > 0;", d.tag))
		for _, line := range strings.Split(strings.TrimSpace(my), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				t.Fatalf("sizes: %q", line)
			}
			name, _ := hex.DecodeString(f[0])
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("sizes: %q", line)
			}
			out[databases.MySQL+" "+string(name)] = n
		}
		for _, row := range d.pgQuery("SELECT datname::text, pg_database_size(oid)::text FROM pg_database WHERE strpos(datname, $1) > 0", d.tag) {
			n, err := strconv.ParseInt(row[1], 10, 64)
			if err != nil {
				t.Fatalf("sizes: %q", row)
			}
			out[databases.PostgreSQL+" "+row[0]] = n
		}
		return out
	}
	// await waits for units, which must all have run and succeeded
	await := func(what string, units []orchestration.Unit, err error) []*ent.ExecutionLog {
		t.Helper()
		if err != nil || len(units) == 0 {
			t.Fatalf("%s: %v %v", what, units, err)
		}
		var logIDs []int
		for _, u := range units {
			if u.LogID == 0 {
				t.Fatalf("%s: a unit %s: %s", what, u.State, u.Problem)
			}
			logIDs = append(logIDs, u.LogID)
		}
		ctx, cancel := context.WithTimeout(sys, 2*time.Minute)
		defer cancel()
		logs, err := d.ex.Await(ctx, logIDs)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, l := range logs {
			if l.State != orchestration.StateSuccess {
				t.Fatalf("%s: log %d %s: %s\n%s", what, l.ID, l.State, l.Error, l.Stderr[max(0, len(l.Stderr)-2000):])
			}
		}
		return logs
	}
	all := d.st.Database.Query().Where(database.AccountID(d.acc)).AllX(sys)
	before := sizes()
	t0 := time.Now()
	measured := map[string]map[int]int64{}
	for typ, name := range map[string]string{databases.MySQL: databases.MySQLDiskMonitor, databases.PostgreSQL: databases.PostgreSQLDiskMonitor} {
		units, err := d.ex.Orchestrate(sys, orchestration.Selection{Model: "Database", Backend: name, Action: resources.ActionMonitor}, false)
		measured[typ] = map[int]int64{}
		for _, l := range await(name, units, err) {
			values, err := resources.ParseOutput(l.Stdout)
			if err != nil {
				t.Fatalf("%s: log %d: %v", name, l.ID, err)
			}
			for id, v := range values {
				if _, twice := measured[typ][id]; twice {
					t.Errorf("%s measured database %d in two units", name, id)
				}
				if measured[typ][id], err = strconv.ParseInt(v.String(), 10, 64); err != nil {
					t.Errorf("%s: database %d takes %s bytes", name, id, v)
				}
			}
		}
	}
	t.Logf("the monitors measured %d and %d databases in %s", len(measured[databases.MySQL]), len(measured[databases.PostgreSQL]),
		time.Since(t0).Round(time.Millisecond))
	after := sizes()
	byID := map[int]*ent.Database{}
	for _, db := range all {
		byID[db.ID] = db
		key := db.Type + " " + db.Name
		b, there := before[key]
		v, ok := measured[db.Type][db.ID]
		switch {
		case !there:
			t.Errorf("database %q (%s) is not on the server", db.Name, db.Type)
		case !ok:
			t.Errorf("database %q (%s, %d) was not measured", db.Name, db.Type, db.ID)
		case v < min(b, after[key]) || v > max(b, after[key]):
			t.Errorf("database %q (%s, %d): measured %d bytes, the server says %d (then %d)", db.Name, db.Type, db.ID, v, b, after[key])
		}
	}
	for typ, values := range measured {
		for id := range values {
			if db := byID[id]; db == nil || db.Type != typ {
				t.Errorf("the %s monitor measured database %d, not one of its engine", typ, id)
			}
		}
	}
	for _, n := range decoys {
		if before[databases.MySQL+" "+n] < 512*1000 {
			t.Errorf("decoy %s holds %d bytes only", n, before[databases.MySQL+" "+n])
		}
	}
	noCanary(t, d.pool, d.target, d.canary)

	// --- the enforcer ---
	var cols []string // of mysql.db, but its key
	for _, c := range strings.Fields(d.mysqlSQL("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'mysql' " +
		"AND TABLE_NAME = 'db' ORDER BY ORDINAL_POSITION;")) {
		if c != "Host" && c != "Db" && c != "User" {
			cols = append(cols, c)
		}
	}
	if !slices.Contains(cols, "Insert_priv") || !slices.Contains(cols, "Create_priv") || !slices.Contains(cols, "Select_priv") {
		t.Fatalf("the columns of mysql.db: %q", cols)
	}
	grants := func() map[grantKey]map[string]string {
		t.Helper()
		out := map[grantKey]map[string]string{}
		dump := d.mysqlSQL("SELECT HEX(Host), HEX(Db), HEX(User), `" + strings.Join(cols, "`, `") + "` FROM mysql.db;")
		for _, line := range strings.Split(strings.TrimSuffix(dump, "\n"), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 3+len(cols) {
				t.Fatalf("mysql.db: %q", line)
			}
			var k [3]string
			for i := range k {
				b, err := hex.DecodeString(f[i])
				if err != nil {
					t.Fatalf("mysql.db: %q", line)
				}
				k[i] = string(b)
			}
			row := map[string]string{}
			for i, c := range cols {
				row[c] = f[3+i]
			}
			out[grantKey{k[0], k[1], k[2]}] = row
		}
		return out
	}
	// hostileGrants checks each hostile database's rows, one for each of
	// its users, INSERT and CREATE as want, all else as in base
	hostileGrants := func(when string, rows, base map[grantKey]map[string]string, want string) {
		t.Helper()
		for _, db := range mdbs {
			for _, u := range users {
				var found []grantKey
				for k := range rows {
					if k.db == escaped(db.Name) && k.user == u.Username {
						found = append(found, k)
					}
				}
				if len(found) != 1 {
					t.Errorf("%s: %d rows of mysql.db for %s on %s", when, len(found), u.Username, db.Name)
					continue
				}
				row := rows[found[0]]
				if row["Insert_priv"] != want || row["Create_priv"] != want || row["Select_priv"] != "Y" {
					t.Errorf("%s: %s on %s: insert %s, create %s, select %s; want %s, %s and Y", when, u.Username, db.Name,
						row["Insert_priv"], row["Create_priv"], row["Select_priv"], want, want)
				}
				if base == nil {
					continue
				}
				for c, v := range base[found[0]] {
					if c != "Insert_priv" && c != "Create_priv" && row[c] != v {
						t.Errorf("%s: %s on %s: %s is %s, was %s", when, u.Username, db.Name, c, row[c], v)
					}
				}
			}
		}
		if row, ok := rows[planted]; !ok || row["Select_priv"] != "Y" || row["Insert_priv"] != "N" || row["Create_priv"] != "N" ||
			base != nil && !maps.Equal(row, base[planted]) {
			t.Errorf("%s: the grant of %s on %s, made by hand, is %v", when, planted.user, planted.db, row)
		}
		for k := range rows {
			if hostile[k.db] && k != planted && (!slices.ContainsFunc(mdbs, func(db *ent.Database) bool { return escaped(db.Name) == k.db }) ||
				!slices.ContainsFunc(users, func(u *ent.DatabaseUser) bool { return u.Username == k.user })) {
				t.Errorf("%s: a row of mysql.db for %q on %q", when, k.user, k.db)
			}
		}
	}
	// othersSame: the rows of every other database are as they were. Rows
	// of the run's decoys must be the same rows; others' may come and go
	// (other tests share the server), but none changes.
	othersSame := func(when string, was, now map[grantKey]map[string]string) {
		t.Helper()
		mine := func(k grantKey) bool { return strings.Contains(k.db, d.tag) || strings.Contains(k.user, d.tag) }
		for k, v := range was {
			if hostile[k.db] {
				continue
			}
			switch n, ok := now[k]; {
			case !ok && mine(k):
				t.Errorf("%s: the row of mysql.db for %q on %q is gone", when, k.user, k.db)
			case !ok:
				t.Logf("%s: the row of mysql.db for %q on %q, not the run's, is gone", when, k.user, k.db)
			case !maps.Equal(v, n):
				t.Errorf("%s: the row of mysql.db for %q on %q changed:\n was %v\n now %v", when, k.user, k.db, v, n)
			}
		}
		for k := range now {
			if _, ok := was[k]; !ok && !hostile[k.db] {
				if mine(k) {
					t.Errorf("%s: a new row of mysql.db for %q on %q", when, k.user, k.db)
				} else {
					t.Logf("%s: a new row of mysql.db for %q on %q, not the run's", when, k.user, k.db)
				}
			}
		}
	}
	// logins tries, as each user on each hostile database, to read, insert
	// and create a table (each statement its own line, run whatever the
	// one before did); and as the decoys' user to insert into them
	addr := os.Getenv("ORCHESTRA_TEST_MYSQL_ADDR")
	if addr == "" {
		addr = "127.0.0.1:3306"
	}
	host, port, _ := strings.Cut(addr, ":")
	tables := 0
	logins := func(when string, over bool) {
		t.Helper()
		var script strings.Builder
		fmt.Fprintf(&script, `try() { local out; out=$(printf '%%s\n' "$4" | MYSQL_PWD=$3 mysql --protocol=TCP -h %s -P %s -u "$1" -D "$2" -N -B --force 2>&1); printf '%%s\n' "$(printf '%%s' "$out" | base64 -w0)"; }
`, orchestration.Quote(host), orchestration.Quote(orDefault(port, "3306")))
		type try struct{ user, db string }
		var tries []try
		for _, db := range mdbs {
			for _, u := range users {
				tables++
				tries = append(tries, try{u.Username, db.Name})
				fmt.Fprintf(&script, "try %s %s %s %s\n", orchestration.Quote(u.Username), orchestration.Quote(db.Name), orchestration.Quote(d.password),
					orchestration.Quote(fmt.Sprintf("SELECT 'rows', COUNT(*) > 0 FROM t;\nINSERT INTO t VALUES (1);\nCREATE TABLE c%d (i INT);", tables)))
			}
		}
		for _, n := range decoys {
			tries = append(tries, try{decoyUser, n})
			fmt.Fprintf(&script, "try %s %s %s %s\n", orchestration.Quote(decoyUser), orchestration.Quote(n), orchestration.Quote(decoyPass),
				orchestration.Quote("INSERT INTO t VALUES ('v');"))
		}
		lines := strings.Split(strings.TrimSuffix(run(t, d.pool, d.target, script.String()), "\n"), "\n")
		if len(lines) != len(tries) {
			t.Fatalf("%s: %d lines for %d logins", when, len(lines), len(tries))
		}
		for i, tr := range tries {
			b, _ := base64.StdEncoding.DecodeString(lines[i])
			out := string(b)
			ok := out == "rows\t1"
			switch {
			case tr.user == decoyUser:
				ok = out == ""
			case over:
				ok = strings.HasPrefix(out, "rows\t1\n") && strings.Count(out, "ERROR") == 2 &&
					regexp.MustCompile(`ERROR 1142 \(42000\) at line 2: INSERT command denied`).MatchString(out) &&
					regexp.MustCompile(`ERROR 1142 \(42000\) at line 3: CREATE command denied`).MatchString(out)
			}
			if !ok {
				t.Errorf("%s: as %s on %s:\n%s", when, tr.user, tr.db, out)
			}
		}
	}
	enforce := func(action string) {
		t.Helper()
		t0 := time.Now()
		units, err := d.ex.Orchestrate(sys, orchestration.Selection{Model: "Database", IDs: ids, Backend: databases.MySQLQuotaEnforcer,
			Action: action, Args: map[string]string{"resource": "disk"}}, false)
		await(action, units, err)
		t.Logf("%s on %d databases in %s", action, len(ids), time.Since(t0).Round(time.Millisecond))
	}
	// setOver records, through the store, whether the databases are over
	// "disk", which disables: what the enforcer applies
	var disk *ent.Resource
	setOver := func(exceeded bool) {
		t.Helper()
		err := d.st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
			if disk == nil {
				disk, err = tx.Resource.Create().SetName("disk").SetLabel("Disk").SetModel("Database").SetUnit("MB").SetScale("10**6").
					SetAggregation("last").SetMonitors([]string{databases.MySQLDiskMonitor}).SetDefaultAllocation(1).
					SetOnExceed(resources.ExceedDisable).Save(ctx)
				if err != nil {
					return err
				}
				for _, id := range ids {
					err := tx.ResourceData.Create().SetResourceID(disk.ID).SetObjectID(id).SetAccountID(d.acc).SetAllocated(1).
						SetExceeded(exceeded).Exec(ctx)
					if err != nil {
						return err
					}
				}
				return nil
			}
			return tx.ResourceData.Update().Where(resourcedata.ResourceID(disk.ID)).SetExceeded(exceeded).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	base := grants()
	hostileGrants("granted", base, nil, "Y")
	logins("granted", false)
	setOver(true)
	enforce(resources.ActionExceeded)
	rows := grants()
	hostileGrants("over", rows, base, "N")
	othersSame("over", base, rows)
	logins("over", true)
	noCanary(t, d.pool, d.target, d.canary)

	setOver(false)
	enforce(resources.ActionRecovered)
	rows = grants()
	hostileGrants("recovered", rows, base, "Y")
	othersSame("recovered", base, rows)
	logins("recovered", false)
	noCanary(t, d.pool, d.target, d.canary)
	t.Logf("%d MariaDB databases, %d users each, %d decoys: monitored and enforced in %s", len(mdbs), len(users), len(decoys),
		time.Since(start).Round(time.Millisecond))
	return last
}
