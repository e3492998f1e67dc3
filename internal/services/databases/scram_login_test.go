package databases

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// scramCluster starts a private PostgreSQL server whose TCP logins must
// pass SCRAM-SHA-256 (the test bed's shared server may trust 127.0.0.1),
// and returns its socket directory and port. It is skipped where the
// server's programs are not installed.
func scramCluster(t *testing.T) (sockDir string, port int) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Skip("no PostgreSQL server programs (/usr/lib/postgresql/*/bin)")
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "orchestra-scram-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// postgres refuses to run as root: run it as the postgres user then
	var as []string
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root and there is no postgres user to run PostgreSQL as")
		}
		var uid, gid int
		fmt.Sscan(pg.Uid, &uid)
		fmt.Sscan(pg.Gid, &gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		as = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(argv ...string) {
		t.Helper()
		argv = append(as, argv...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	data := filepath.Join(dir, "data")
	run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-E", "UTF8", "--no-sync",
		"--auth-local=trust", "--auth-host=scram-sha-256")
	run(filepath.Join(bin, "pg_ctl"), "-D", data, "-w", "-l", filepath.Join(dir, "log"), "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir), "start")
	t.Cleanup(func() { run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop") })
	return dir, port
}

// TestSCRAMLogin: a role given one of our verifiers logs in over TCP with
// its password, through pgx and through libpq (psql), against a server
// that checks it; a wrong password is refused.
func TestSCRAMLogin(t *testing.T) {
	sock, port := scramCluster(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", sock, port))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for i, pw := range []string{"Str0ng-pass-phrase", `it's "quoted" $x \n ~`, "correct horse battery staple"} {
		v, err := SCRAMVerifier(pw)
		if err != nil {
			t.Fatal(err)
		}
		sql, err := pgRoleSQL(fmt.Sprintf("scram_%d", i), v)
		if err != nil {
			t.Fatal(err)
		}
		role := fmt.Sprintf("scram_%d", i)
		// the backend's own SQL, twice (it converges), through psql when
		// there is one
		if psql, err := exec.LookPath("psql"); err == nil {
			for range 2 {
				cmd := exec.Command(psql, "-X", "-h", sock, "-p", fmt.Sprint(port), "-U", "postgres", "-d", "postgres")
				cmd.Stdin = strings.NewReader(pgHead + "\n" + pgSetup + sql)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("psql: %v\n%s", err, out)
				}
			}
		} else if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, v)); err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := admin.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&stored); err != nil || stored != v {
			t.Fatalf("stored %q (%v), want our verifier", stored, err)
		}
		login := func(password string) error {
			cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=postgres sslmode=disable", port, role))
			if err != nil {
				return err
			}
			cfg.Password = password
			c, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				return err
			}
			return c.Close(ctx)
		}
		if err := login(pw); err != nil {
			t.Errorf("pgx login with the password %q: %v", pw, err)
		}
		if err := login(pw + "x"); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
			t.Errorf("pgx login with a wrong password: %v", err)
		}
		if psql, err := exec.LookPath("psql"); err == nil {
			cmd := exec.Command(psql, "-X", "-w", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-U", role, "-d", "postgres", "-c", "select 1")
			cmd.Env = append(os.Environ(), "PGPASSWORD="+pw)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("psql login with the password %q: %v\n%s", pw, err, out)
			}
		}
	}
}

// psqlBatch runs SQL as the backends send it (head, setup, statements)
// through psql as the cluster's superuser; extra are more psql options.
func psqlBatch(t *testing.T, sock string, port int, sql string, extra ...string) (string, error) {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("no psql")
	}
	args := append([]string{"-X", "-h", sock, "-p", fmt.Sprint(port), "-U", "postgres", "-d", "postgres"}, extra...)
	cmd := exec.Command(psql, args...)
	cmd.Stdin = strings.NewReader(pgHead + "\n" + pgSetup + sql)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPostgreSQLNotOurs: the backends refuse to take over a role or a
// database they did not make (the panel's own, an administrator's), and
// dropping a role that owns tables in a database gives them to the
// database's owner.
func TestPostgreSQLNotOurs(t *testing.T) {
	sock, port := scramCluster(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", sock, port))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{"CREATE ROLE panel LOGIN", "CREATE DATABASE paneldb OWNER panel"} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := SCRAMVerifier("Str0ng-pass-phrase")
	role, _ := pgRoleSQL("panel", v)
	drop, _ := pgDropRoleSQL("panel")
	db, _ := pgDatabaseSQL("save", "paneldb", nil)
	dropDB, _ := pgDatabaseSQL("delete", "paneldb", nil)
	for what, sql := range map[string]string{"role": role, "database": db, "dropped database": dropDB} {
		if out, err := psqlBatch(t, sock, port, sql); err == nil || !strings.Contains(out, "Orchestra does not manage it") {
			t.Errorf("%s: %v\n%s", what, err, out)
		}
	}
	if out, err := psqlBatch(t, sock, port, drop, "-q", "-A", "-t"); err == nil || !strings.Contains(out, "Orchestra does not manage it") {
		t.Errorf("dropped role: %v\n%s", err, out)
	}
	var n int
	admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = 'paneldb' AND datdba = 'panel'::regrole").Scan(&n)
	if n != 1 {
		t.Error("paneldb changed hands")
	}

	// ours: a database of two users, the second of whom owns a table in it
	for _, u := range []string{"own_a", "own_b"} {
		sql, _ := pgRoleSQL(u, v)
		if out, err := psqlBatch(t, sock, port, sql); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	sql, _ := pgDatabaseSQL("save", "shop", []string{"own_a", "own_b"})
	for range 2 {
		if out, err := psqlBatch(t, sock, port, sql); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	b, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=own_b dbname=shop", sock, port))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec(ctx, "CREATE TABLE t (i int)"); err != nil {
		t.Fatal(err)
	}
	b.Close(ctx)
	drop, _ = pgDropRoleSQL("own_b")
	gen, err := psqlBatch(t, sock, port, drop, "-q", "-A", "-t")
	if err != nil {
		t.Fatalf("%v\n%s", err, gen)
	}
	for range 2 { // the second time, the role is gone: nothing but DROP ROLE IF EXISTS
		cmd := exec.Command("psql", "-X", "-h", sock, "-p", fmt.Sprint(port), "-U", "postgres", "-d", "postgres")
		cmd.Stdin = strings.NewReader(gen)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s\n%s", err, gen, out)
		}
		gen, _ = psqlBatch(t, sock, port, drop, "-q", "-A", "-t")
	}
	shop, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=shop", sock, port))
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close(ctx)
	var owner string
	if err := shop.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE tablename = 't'").Scan(&owner); err != nil || owner != "own_a" {
		t.Errorf("table t belongs to %q (%v), want own_a, the database's owner", owner, err)
	}
	admin.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = 'own_b'").Scan(&n)
	if n != 0 {
		t.Error("own_b still exists")
	}
}
