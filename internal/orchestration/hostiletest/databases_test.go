package hostiletest

import (
	"context"
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
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/database"
	"github.com/orchestra-panel/orchestra/internal/store/ent/databaseuser"
)

// databasesSuite drives the four database backends against the test bed's
// MariaDB and PostgreSQL: names are read from the engines' catalogs and
// password hashes from their user tables, hex-encoded. The rules'
// documented forms: names and types without surrounding space; an empty
// type (once trimmed) takes DATABASES_DEFAULT_TYPE.
var databasesSuite = suite{
	name: "databases",
	backends: []string{databases.MySQLBackend, databases.MySQLUserBackend,
		databases.PostgreSQLBackend, databases.PostgreSQLUserBackend},
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
		addUser("DatabaseUser.password", hashes[typ], "", typ, hashes[typ])
	}
	for _, s := range append(slices.Clone(ss), databases.MySQL, " "+databases.PostgreSQL+"\n") {
		addDB("Database.type", s, "", s)
		addUser("DatabaseUser.type", s, "", s, hashFor(s))
	}

	r.phase("writes done")
	startExecutor(t, st, pool)
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
	}
}
