package databases

import (
	"fmt"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// Backend names, stored in routes and logs.
const (
	MySQLBackend          = "mysql"
	MySQLUserBackend      = "mysql-user"
	PostgreSQLBackend     = "postgresql"
	PostgreSQLUserBackend = "postgresql-user"
)

func init() {
	orchestration.Register(&orchestration.Backend{
		Name: MySQLBackend, Verbose: "MariaDB/MySQL database and grants", Model: "Database",
		Related:      []orchestration.Related{{Model: "DatabaseUser", Resolve: databasesOf(MySQL)}},
		DefaultMatch: `database.type == "mysql"`,
		Load:         loadMySQLGrants,
		Prepare:      prepareMySQL,
		Apply:        applyMySQLDatabase,
		Commit:       runSQL,
	})
	orchestration.Register(&orchestration.Backend{
		Name: MySQLUserBackend, Verbose: "MariaDB/MySQL user", Model: "DatabaseUser",
		DefaultMatch: `database_user.type == "mysql"`,
		Prepare:      prepareMySQL,
		Apply:        applyMySQLUser,
		Commit:       runSQL,
	})
}

// Orchestra keeps the names of the MariaDB/MySQL databases and users it
// manages in a table of its own on the server, and refuses to take over a
// database or user that exists there without being listed (the panel's
// own database, an administrator): CREATE … IF NOT EXISTS alone would
// grant it to a customer. Objects made before Orchestra can be adopted by
// inserting their names. MySQL has no SIGNAL outside stored programs; a
// refusal sets sql_mode to a message, which fails with that message in the
// error ("Variable 'sql_mode' can't be set to the value of '…'").
const mysqlSetup = "CREATE DATABASE IF NOT EXISTS `" + RegistryName + "`;\n" +
	"CREATE TABLE IF NOT EXISTS `" + RegistryName + "`.`objects` (`kind` VARCHAR(16) NOT NULL, " +
	"`name` VARCHAR(128) NOT NULL, PRIMARY KEY (`kind`, `name`)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n"

func prepareMySQL(s *orchestration.Script, srv orchestration.Server) {
	prepareClient(s, srv.Setting("DATABASES_MYSQL_CLIENT", MySQLClient.Get()), "", mysqlSetup)
}

// mysqlGuard refuses an existing object that the registry does not list.
func mysqlGuard(kind, name, exists string) string {
	return fmt.Sprintf("SET SESSION sql_mode = IF(EXISTS(%s) AND NOT EXISTS(SELECT 1 FROM `%s`.`objects` WHERE `kind` = '%s' AND `name` = '%s'), "+
		"'orchestra: %s %s exists on this server and Orchestra does not manage it', @@SESSION.sql_mode);\n",
		exists, RegistryName, kind, name, kind, name)
}

func mysqlRegister(kind, name string) string {
	return fmt.Sprintf("INSERT IGNORE INTO `%s`.`objects` (`kind`, `name`) VALUES ('%s', '%s');\n", RegistryName, kind, name)
}

func mysqlUnregister(kind, name string) string {
	return fmt.Sprintf("DELETE FROM `%s`.`objects` WHERE `kind` = '%s' AND `name` = '%s';\n", RegistryName, kind, name)
}

// mysqlHost is the host part of the server's accounts.
func mysqlHost(srv orchestration.Server) (string, error) {
	h := srv.Setting("DATABASES_DEFAULT_HOST", DefaultHost.Get())
	if !hostRe.MatchString(h) {
		return "", fmt.Errorf("DATABASES_DEFAULT_HOST %q is not a valid host", h)
	}
	return h, nil
}

func applyMySQLUser(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	if err := engineOf(o, MySQL); err != nil {
		return err
	}
	host, err := mysqlHost(srv)
	if err != nil {
		return err
	}
	sql, err := mysqlUserSQL(action, o.String("username"), host, o.String("password"))
	if err != nil {
		return err
	}
	addSQL(s, sql)
	return nil
}

// mysqlUserSQL creates or changes (save) or drops (delete) user@host with
// the mysql_native_password hash. IDENTIFIED WITH … AS takes a hash on
// MariaDB (10.4 and later) and MySQL 5.7/8.0 alike, where MySQL 8 dropped
// IDENTIFIED BY PASSWORD.
func mysqlUserSQL(action, user, host, hash string) (string, error) {
	if err := checkedNames(user); err != nil {
		return "", err
	}
	if !hostRe.MatchString(host) {
		return "", fmt.Errorf("%q is not a valid host", host)
	}
	account := fmt.Sprintf("'%s'@'%s'", user, host)
	var b strings.Builder
	b.WriteString(mysqlGuard("user", user, fmt.Sprintf("SELECT 1 FROM mysql.user WHERE User = '%s'", user)))
	if action == orchestration.ActionDelete {
		fmt.Fprintf(&b, "DROP USER IF EXISTS %s;\n", account)
		b.WriteString(mysqlUnregister("user", user))
		return b.String(), nil
	}
	if !ValidHash(MySQL, hash) {
		return "", fmt.Errorf("user %s: the password is not a MySQL native hash", user)
	}
	// registered first: a unit cut short after creating the user converges
	b.WriteString(mysqlRegister("user", user))
	fmt.Fprintf(&b, "CREATE USER IF NOT EXISTS %s IDENTIFIED WITH mysql_native_password AS '%s';\n", account, hash)
	fmt.Fprintf(&b, "ALTER USER %s IDENTIFIED WITH mysql_native_password AS '%s';\n", account, hash)
	return b.String(), nil
}

func applyMySQLDatabase(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	if err := engineOf(o, MySQL); err != nil {
		return err
	}
	host, err := mysqlHost(srv)
	if err != nil {
		return err
	}
	var g mysqlGrants
	if action != orchestration.ActionDelete {
		var ok bool
		if g, ok = o.Extra.(mysqlGrants); !ok {
			return fmt.Errorf("database %s: grants not loaded", o.Repr)
		}
	}
	sql, err := mysqlDatabaseSQL(action, o.String("name"), host, g.users)
	if err != nil {
		return err
	}
	addSQL(s, sql)
	if g.over {
		// over its size: the grants just made lose INSERT and CREATE
		// again until it recovers (monitors.go)
		if sql, err = mysqlQuotaSQL(o.String("name"), host, g.users, true); err != nil {
			return err
		}
		addSQL(s, sql)
	}
	return nil
}

// mysqlDatabaseSQL creates the database and makes its grants exactly users
// at host, the first WITH GRANT OPTION (save), or drops it with every grant
// on it (delete).
//
// In a GRANT, _ in a database name is a wildcard (`a_b`.* also grants axb):
// grants name the database with _ escaped (`a\_b`.*, a backslash is plain
// text between backticks), which is how mysql.db then holds it; SQL string
// literals get the backslash from CHAR(92), whatever NO_BACKSLASH_ESCAPES
// says. Grants of users no longer listed are deleted from mysql.db, and the
// grant option taken from all but the owner, before FLUSH PRIVILEGES loads
// the tables and the GRANTs add what is missing (idempotent).
func mysqlDatabaseSQL(action, name, host string, users []string) (string, error) {
	if err := checkedNames(append([]string{name}, users...)...); err != nil {
		return "", err
	}
	if !hostRe.MatchString(host) {
		return "", fmt.Errorf("%q is not a valid host", host)
	}
	escaped := strings.ReplaceAll(name, "_", `\_`)
	var b strings.Builder
	b.WriteString(mysqlGuard("database", name, fmt.Sprintf("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '%s'", name)))
	fmt.Fprintf(&b, "SET @orchestra_db = REPLACE('%s', '_', CONCAT(CHAR(92 USING utf8mb4), '_'));\n", name)
	if action == orchestration.ActionDelete {
		fmt.Fprintf(&b, "DROP DATABASE IF EXISTS `%s`;\n", name)
		for _, t := range []string{"db", "tables_priv", "columns_priv", "procs_priv"} {
			fmt.Fprintf(&b, "DELETE FROM mysql.%s WHERE Db IN ('%s', @orchestra_db);\n", t, name)
		}
		b.WriteString("FLUSH PRIVILEGES;\n")
		b.WriteString(mysqlUnregister("database", name))
		return b.String(), nil
	}
	b.WriteString(mysqlRegister("database", name))
	fmt.Fprintf(&b, "CREATE DATABASE IF NOT EXISTS `%s`;\n", name)
	if len(users) == 0 {
		b.WriteString("DELETE FROM mysql.db WHERE Db = @orchestra_db;\n")
	} else {
		fmt.Fprintf(&b, "DELETE FROM mysql.db WHERE Db = @orchestra_db AND NOT (Host = '%s' AND User IN (%s));\n", host, quoted(users, "'"))
		fmt.Fprintf(&b, "UPDATE mysql.db SET Grant_priv = 'N' WHERE Db = @orchestra_db AND User <> '%s';\n", users[0])
	}
	b.WriteString("FLUSH PRIVILEGES;\n")
	for i, u := range users {
		option := ""
		if i == 0 {
			option = " WITH GRANT OPTION"
		}
		fmt.Fprintf(&b, "GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%s'%s;\n", escaped, u, host, option)
	}
	return b.String(), nil
}
