package databases

import (
	"fmt"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

func init() {
	orchestration.Register(&orchestration.Backend{
		Name: PostgreSQLBackend, Verbose: "PostgreSQL database and grants", Model: "Database",
		Related:      []orchestration.Related{{Model: "DatabaseUser", Resolve: databasesOf(PostgreSQL)}},
		DefaultMatch: `database.type == "postgresql"`,
		Load:         loadGrants,
		Prepare:      preparePostgreSQL,
		Apply:        applyPostgreSQLDatabase,
		Commit:       runSQL,
	})
	orchestration.Register(&orchestration.Backend{
		Name: PostgreSQLUserBackend, Verbose: "PostgreSQL role", Model: "DatabaseUser",
		DefaultMatch: `database_user.type == "postgresql"`,
		Prepare:      preparePostgreSQL,
		Apply:        applyPostgreSQLUser,
		Commit:       runSQL,
	})
}

// On PostgreSQL, Orchestra marks the roles it manages with a comment
// (only superusers and CREATEROLE roles can comment on roles), written in
// the transaction that creates the role; its databases are those owned by
// such roles, or by the NOLOGIN role orchestra_managed when they have no
// users. CREATE DATABASE … OWNER makes a database and its mark at once, so
// a unit cut short converges. A role or database that exists unmarked (the
// panel's own database, an administrator) is never taken over.
const pgMark = "Managed by Orchestra"

// pgHead starts every batch sent to psql: stop at the first error, whatever
// the client command says, and print no command tags.
const pgHead = "\\set ON_ERROR_STOP on\n\\set QUIET on"

// pgSetup makes the role that owns databases without users.
const pgSetup = "BEGIN;\n" +
	"SELECT 'CREATE ROLE " + RegistryName + " NOLOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + RegistryName + "') \\gexec\n" +
	"COMMENT ON ROLE " + RegistryName + " IS '" + pgMark + "';\n" +
	"COMMIT;\n"

func preparePostgreSQL(s *orchestration.Script, srv orchestration.Server) {
	prepareClient(s, srv.Setting("DATABASES_POSTGRESQL_CLIENT", PostgreSQLClient.Get()), pgHead, pgSetup)
	// deleting a role runs psql twice: the first writes the script the
	// second runs, which reconnects to each database the role has objects in
	s.Raw(`orchestra_sql_pipe() {
  printf '%s\n%s\n' "$orchestra_sql_head" "$1" | "${orchestra_client[@]}" -q -A -t | "${orchestra_client[@]}"
}`)
}

// pgManaged is true for a role oid Orchestra manages.
func pgManaged(oid string) string {
	return fmt.Sprintf("(shobj_description(%s, 'pg_authid') IS NOT DISTINCT FROM '%s')", oid, pgMark)
}

// pgGuard refuses (raises) when cond holds.
func pgGuard(cond, message string) string {
	return fmt.Sprintf("DO $orchestra$BEGIN IF %s THEN RAISE EXCEPTION '%s'; END IF; END$orchestra$;\n", cond, message)
}

func pgRoleGuard(user string) string {
	return pgGuard(fmt.Sprintf("EXISTS (SELECT FROM pg_roles r WHERE r.rolname = '%s' AND NOT %s)", user, pgManaged("r.oid")),
		fmt.Sprintf("orchestra: role %s exists on this server and Orchestra does not manage it", user))
}

func applyPostgreSQLUser(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	if err := engineOf(o, PostgreSQL); err != nil {
		return err
	}
	user := o.String("username")
	if action == orchestration.ActionDelete {
		gen, err := pgDropRoleSQL(user)
		if err != nil {
			return err
		}
		s.Raw(`orchestra_sql_run`) // what came before goes first
		s.Var("q", gen)
		s.Raw(`orchestra_sql_pipe "$q"`)
		return nil
	}
	sql, err := pgRoleSQL(user, o.String("password"))
	if err != nil {
		return err
	}
	addSQL(s, sql)
	return nil
}

// pgRoleSQL creates or changes a login role with a SCRAM verifier; it gets
// no other attribute, whatever it had.
func pgRoleSQL(user, verifier string) (string, error) {
	if err := checkedNames(user); err != nil {
		return "", err
	}
	if !ValidHash(PostgreSQL, verifier) {
		return "", fmt.Errorf("role %s: the password is not a SCRAM-SHA-256 verifier", user)
	}
	var b strings.Builder
	b.WriteString(pgRoleGuard(user))
	b.WriteString("BEGIN;\n")
	fmt.Fprintf(&b, "SELECT 'CREATE ROLE \"%s\"' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') \\gexec\n", user, user)
	fmt.Fprintf(&b, "COMMENT ON ROLE \"%s\" IS '%s';\n", user, pgMark)
	fmt.Fprintf(&b, "ALTER ROLE \"%s\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD '%s';\n", user, verifier)
	b.WriteString("COMMIT;\n")
	return b.String(), nil
}

// pgDropRoleSQL is a query whose output is the psql script that drops a
// role: DROP ROLE needs the role to own nothing and be granted nothing in
// any database, and REASSIGN/DROP OWNED act on the current database (and on
// databases, which are shared objects). So the script reconnects to each
// database where the role has objects or privileges (pg_shdepend), gives
// its objects to that database's owner (to orchestra_managed where the
// role owns the database) and drops its privileges, then drops the role.
// Database names come from the server: only names of the portable shape,
// as Orchestra makes them, are reconnected to.
func pgDropRoleSQL(user string) (string, error) {
	if err := checkedNames(user); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(pgRoleGuard(user))
	b.WriteString("SELECT E'\\\\set ON_ERROR_STOP on\\n\\\\set QUIET on';\n")
	fmt.Fprintf(&b, "SELECT format(E'REASSIGN OWNED BY %%1$I TO %s;\\nDROP OWNED BY %%1$I;', rolname) FROM pg_roles WHERE rolname = '%s';\n",
		RegistryName, user)
	fmt.Fprintf(&b, "SELECT format(E'\\\\connect %%s\\nREASSIGN OWNED BY %%I TO %%I;\\nDROP OWNED BY %%I;', d.datname, r.rolname, "+
		"CASE WHEN d.datdba = r.oid THEN '%s' ELSE pg_get_userbyid(d.datdba) END, r.rolname) "+
		"FROM pg_roles r JOIN pg_shdepend s ON s.refobjid = r.oid AND s.refclassid = 'pg_authid'::regclass "+
		"JOIN pg_database d ON d.oid = s.dbid "+
		"WHERE r.rolname = '%s' AND d.datallowconn AND d.datname ~ '^[a-z][a-z0-9_]{0,62}$' "+
		"GROUP BY d.datname, d.datdba, r.oid, r.rolname ORDER BY d.datname;\n", RegistryName, user)
	fmt.Fprintf(&b, "SELECT 'DROP ROLE IF EXISTS \"%s\";';\n", user)
	return b.String(), nil
}

func applyPostgreSQLDatabase(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	if err := engineOf(o, PostgreSQL); err != nil {
		return err
	}
	var users []string
	if action != orchestration.ActionDelete {
		g, ok := o.Extra.(grants)
		if !ok {
			return fmt.Errorf("database %s: grants not loaded", o.Repr)
		}
		users = g.users
	}
	sql, err := pgDatabaseSQL(action, o.String("name"), users)
	if err != nil {
		return err
	}
	addSQL(s, sql)
	return nil
}

// pgDatabaseSQL creates the database owned by its first user (save) and
// makes its grants exactly users: ALL on the database, which PUBLIC loses
// (CONNECT above all), and ALL on its schema public for the others than
// the owner (who owns it: PostgreSQL 15 gives it to pg_database_owner).
// Privileges of roles no longer listed are revoked. Delete drops it, with
// the sessions still connected to it.
func pgDatabaseSQL(action, name string, users []string) (string, error) {
	if err := checkedNames(append([]string{name}, users...)...); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(pgGuard(fmt.Sprintf("EXISTS (SELECT FROM pg_database d WHERE d.datname = '%s' AND NOT %s)", name, pgManaged("d.datdba")),
		fmt.Sprintf("orchestra: database %s exists on this server and Orchestra does not manage it", name)))
	if action == orchestration.ActionDelete {
		fmt.Fprintf(&b, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE);\n", name)
		return b.String(), nil
	}
	owner := RegistryName
	if len(users) > 0 {
		owner = users[0]
	}
	others := "ARRAY[]::name[]"
	if len(users) > 1 {
		others = "ARRAY[" + quoted(users[1:], "'") + "]::name[]"
	}
	fmt.Fprintf(&b, "SELECT 'CREATE DATABASE \"%s\" OWNER \"%s\"' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '%s') \\gexec\n", name, owner, name)
	fmt.Fprintf(&b, "ALTER DATABASE \"%s\" OWNER TO \"%s\";\n", name, owner)
	fmt.Fprintf(&b, "REVOKE ALL ON DATABASE \"%s\" FROM PUBLIC;\n", name)
	fmt.Fprintf(&b, "SELECT format('REVOKE ALL ON DATABASE %%I FROM %%I', d.datname, pg_get_userbyid(a.grantee)) "+
		"FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a WHERE d.datname = '%s' AND a.grantee <> 0 "+
		"AND a.grantee <> d.datdba AND pg_get_userbyid(a.grantee) <> ALL (%s) GROUP BY 1 \\gexec\n", name, others)
	if len(users) > 1 {
		fmt.Fprintf(&b, "GRANT ALL ON DATABASE \"%s\" TO %s;\n", name, quoted(users[1:], `"`))
	}
	// the schema is inside the database: connect to it (the batch's later
	// statements run there too, which none minds)
	fmt.Fprintf(&b, "\\connect %s\n", name)
	fmt.Fprintf(&b, "SELECT format('REVOKE ALL ON SCHEMA public FROM %%I', pg_get_userbyid(a.grantee)) "+
		"FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a WHERE n.nspname = 'public' AND a.grantee <> 0 "+
		"AND a.grantee <> n.nspowner AND pg_get_userbyid(a.grantee) <> ALL (%s) GROUP BY 1 \\gexec\n", others)
	if len(users) > 1 {
		fmt.Fprintf(&b, "SELECT 'GRANT ALL ON SCHEMA public TO %s' WHERE EXISTS (SELECT FROM pg_namespace WHERE nspname = 'public') \\gexec\n",
			quoted(users[1:], `"`))
	}
	return b.String(), nil
}
