package databases

import (
	"context"
	"fmt"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// The size of databases, measured on their servers, and what a MariaDB/MySQL
// database over its allocation loses until it recovers.
//
// The monitors print "<database id> <bytes>" for each database of their
// unit that exists on the server and that Orchestra manages there (listed
// in the registry on MariaDB/MySQL, owned by a marked role on PostgreSQL):
// a database not made yet, dropped by hand, or of the same name as one
// Orchestra refused to take over prints nothing. They run their queries
// as the backends do (the server's client command, the SQL in a variable
// piped into it, see script.go).
//
// The enforcer takes INSERT and CREATE on the database from every account
// granted on it while the database is over an allocation of a resource
// that disables (resources.Exceeded), and gives them back to its users when
// it is not. It applies the state as it is when its unit is planned, not
// the crossing that asked: a recovery from one resource while another
// still holds the database over keeps the restriction. MariaDB keeps a
// session's privileges on its current database from when it chose it
// (USE), whatever GRANT, REVOKE or FLUSH PRIVILEGES do later: so the
// sessions of the database's users whose current database it is are ended
// too, and an application reconnects with the privileges as they are now.
// The database backend's save (mysql) keeps the restriction while it lasts
// (see loadMySQLGrants).

// Backend names, stored in routes, resources and logs.
const (
	MySQLDiskMonitor      = "mysql-disk"
	PostgreSQLDiskMonitor = "postgresql-disk"
	MySQLQuotaEnforcer    = "mysql-quota"
)

func init() {
	resources.RegisterMonitor(resources.Monitor{Backend: &orchestration.Backend{
		Name: MySQLDiskMonitor, Verbose: "MariaDB/MySQL database size (information_schema)", Model: "Database",
		DefaultMatch: `database.type == "mysql"`,
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			prepareMySQL(s, srv)
			s.Raw(`orchestra_client+=(--skip-column-names --batch)`)
		},
		Apply:  applyMySQLDisk,
		Commit: runSQL,
	}})
	resources.RegisterMonitor(resources.Monitor{Backend: &orchestration.Backend{
		Name: PostgreSQLDiskMonitor, Verbose: "PostgreSQL database size (pg_database_size)", Model: "Database",
		DefaultMatch: `database.type == "postgresql"`,
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			prepareClient(s, srv.Setting("DATABASES_POSTGRESQL_CLIENT", PostgreSQLClient.Get()), pgHead, "")
			s.Raw(`orchestra_client+=(--no-align --tuples-only)`)
		},
		Apply:  applyPostgreSQLDisk,
		Commit: runSQL,
	}})
	resources.RegisterEnforcer(&orchestration.Backend{
		Name: MySQLQuotaEnforcer, Verbose: "MariaDB/MySQL database size limit (INSERT and CREATE)", Model: "Database",
		DefaultMatch: `database.type == "mysql"`,
		Load:         loadMySQLGrants,
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			prepareMySQL(s, srv)
			s.Var("orchestra_sessions", "")
		},
		Apply:  applyMySQLQuota,
		Commit: commitMySQLQuota,
	})
}

// sqlString quotes s as an SQL string literal (quotes doubled). Names are
// checked before (checkedNames): they hold no quote or backslash, so the
// literal means the same whatever the engine's escaping mode.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func applyMySQLDisk(s *orchestration.Script, _ orchestration.Server, _ string, o orchestration.Object) error {
	if err := engineOf(o, MySQL); err != nil {
		return err
	}
	sql, err := mysqlDiskSQL(o.ID, o.String("name"))
	if err != nil {
		return err
	}
	addSQL(s, sql)
	return nil
}

// mysqlDiskSQL prints "<id> <bytes>": the data and indexes of the tables
// of database name (information_schema, as the engines account them),
// when it exists and Orchestra manages it.
func mysqlDiskSQL(id int, name string) (string, error) {
	if err := checkedNames(name); err != nil {
		return "", err
	}
	n := sqlString(name)
	return fmt.Sprintf("SELECT CONCAT(%d, ' ', COALESCE((SELECT SUM(`DATA_LENGTH` + `INDEX_LENGTH`) FROM information_schema.TABLES "+
		"WHERE `TABLE_SCHEMA` = %s), 0)) FROM information_schema.SCHEMATA WHERE `SCHEMA_NAME` = %s "+
		"AND EXISTS (SELECT 1 FROM `%s`.`objects` WHERE `kind` = 'database' AND `name` = %s);\n",
		id, n, n, RegistryName, n), nil
}

func applyPostgreSQLDisk(s *orchestration.Script, _ orchestration.Server, _ string, o orchestration.Object) error {
	if err := engineOf(o, PostgreSQL); err != nil {
		return err
	}
	sql, err := pgDiskSQL(o.ID, o.String("name"))
	if err != nil {
		return err
	}
	addSQL(s, sql)
	return nil
}

// pgDiskSQL prints "<id> <bytes>": pg_database_size of database name, when
// it exists and Orchestra manages it.
func pgDiskSQL(id int, name string) (string, error) {
	if err := checkedNames(name); err != nil {
		return "", err
	}
	return fmt.Sprintf("SELECT format('%%s %%s', %d, pg_database_size(d.oid)) FROM pg_database d WHERE d.datname = %s AND %s;\n",
		id, sqlString(name), pgManaged("d.datdba")), nil
}

// mysqlGrants is what the mysql backend and the enforcer load: the users
// granted on the database and whether it is over an allocation of a
// resource that disables.
type mysqlGrants struct {
	grants
	over bool
}

// loadMySQLGrants loads a MariaDB/MySQL database's users and whether it is
// over: its save then grants them all but INSERT and CREATE.
func loadMySQLGrants(ctx context.Context, tx *ent.Tx, o *orchestration.Object) error {
	if err := loadGrants(ctx, tx, o); err != nil {
		return err
	}
	over, err := resources.Exceeded(ctx, tx, o.Model, o.ID)
	if err != nil {
		return err
	}
	o.Extra = mysqlGrants{grants: o.Extra.(grants), over: over}
	return nil
}

func applyMySQLQuota(s *orchestration.Script, srv orchestration.Server, _ string, o orchestration.Object) error {
	if err := engineOf(o, MySQL); err != nil {
		return err
	}
	host, err := mysqlHost(srv)
	if err != nil {
		return err
	}
	g, ok := o.Extra.(mysqlGrants)
	if !ok {
		return fmt.Errorf("database %s: grants not loaded", o.Repr)
	}
	name := o.String("name")
	sql, err := mysqlQuotaSQL(name, host, g.users, g.over)
	if err != nil {
		return err
	}
	addSQL(s, sql)
	if len(g.users) > 0 {
		s.Var("q", fmt.Sprintf("SELECT `ID` FROM information_schema.PROCESSLIST WHERE `DB` = %s AND `USER` IN (%s) AND `ID` <> CONNECTION_ID();\n",
			sqlString(name), quoted(g.users, "'")))
		s.Raw(`orchestra_sessions+=$q`)
	}
	return nil
}

// commitMySQLQuota runs the batch, then ends the sessions it listed (one
// that ended meanwhile is no error).
func commitMySQLQuota(s *orchestration.Script, srv orchestration.Server) {
	runSQL(s, srv)
	s.Raw(`if [[ -n $orchestra_sessions ]]; then
  printf '%s\n' "$orchestra_sessions" | "${orchestra_client[@]}" --skip-column-names --batch | while read -r id; do
    if [[ $id =~ ^[0-9]+$ ]]; then
      printf 'KILL CONNECTION %s;\n' "$id" | "${orchestra_client[@]}" 2>/dev/null || true
    fi
  done
fi`)
}

// mysqlQuotaSQL takes INSERT and CREATE on database name from every
// account granted on it (over), or gives them back to users at host. It
// writes the grant tables, as mysqlDatabaseSQL does, so that an account
// without a grant yet is no error; FLUSH PRIVILEGES loads them.
func mysqlQuotaSQL(name, host string, users []string, over bool) (string, error) {
	if err := checkedNames(append([]string{name}, users...)...); err != nil {
		return "", err
	}
	if !hostRe.MatchString(host) {
		return "", fmt.Errorf("%q is not a valid host", host)
	}
	n := sqlString(name)
	var b strings.Builder
	b.WriteString(mysqlGuard("database", name, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = "+n))
	fmt.Fprintf(&b, "SET @orchestra_db = REPLACE(%s, '_', CONCAT(CHAR(92 USING utf8mb4), '_'));\n", n)
	switch {
	case over:
		fmt.Fprintf(&b, "UPDATE mysql.db SET Insert_priv = 'N', Create_priv = 'N' WHERE Db IN (%s, @orchestra_db);\n", n)
	case len(users) > 0:
		fmt.Fprintf(&b, "UPDATE mysql.db SET Insert_priv = 'Y', Create_priv = 'Y' WHERE Db = @orchestra_db AND Host = %s AND User IN (%s);\n",
			sqlString(host), quoted(users, "'"))
	}
	b.WriteString("FLUSH PRIVILEGES;\n")
	return b.String(), nil
}
