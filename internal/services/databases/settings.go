// Package databases holds MariaDB/MySQL and PostgreSQL databases and their
// users: the rules every write passes (names per engine, uniqueness per
// engine, grants within one account and engine, the engines' password
// hashes), and the backends that apply them on database servers over SSH
// with the engines' own clients.
package databases

import (
	"errors"
	"regexp"
	"slices"

	"github.com/orchestra-panel/orchestra/internal/settings"
)

// Engines, the values of a database's and a user's type.
const (
	MySQL      = "mysql"
	PostgreSQL = "postgresql"
)

// Engines lists the engines Orchestra can manage.
var Engines = []string{MySQL, PostgreSQL}

// Settings of databases, after the original's.
var (
	Types = settings.StringList("DATABASES_TYPES", []string{MySQL, PostgreSQL},
		"Database engines accounts can choose from.", settings.Choices(Engines...), settings.Validator(nonEmptyList))
	DefaultType = settings.String("DATABASES_DEFAULT_TYPE", MySQL,
		"Engine of new databases and users that name none; one of DATABASES_TYPES.",
		settings.Choices(Engines...), settings.Validator(func(v any) error {
			if !slices.Contains(Types.Get(), v.(string)) {
				return errors.New("must be one of DATABASES_TYPES")
			}
			return nil
		}))
	// "%" rather than the original's "localhost": MariaDB sees a TCP login
	// from 127.0.0.1 as coming from 127.0.0.1 when skip-name-resolve is on
	// (Debian's packaging, and the test bed) and from localhost otherwise;
	// "%" takes both, and web servers on other hosts.
	DefaultHost = settings.String("DATABASES_DEFAULT_HOST", "%",
		"Host part of the MariaDB/MySQL accounts of database users (their grants too): % for any host, or e.g. localhost or 10.0.0.%.",
		settings.Validator(hostSetting))
	MySQLClient = settings.String("DATABASES_MYSQL_CLIENT", "mysql",
		"Command that runs SQL read from its standard input as a MariaDB/MySQL administrator, on the database server; "+
			"split on spaces (e.g. mysql --defaults-file=/etc/mysql/debian.cnf). Override it per server.")
	PostgreSQLClient = settings.String("DATABASES_POSTGRESQL_CLIENT", "runuser -u postgres -- psql -X",
		"Command that runs psql as a PostgreSQL superuser, on the database server; split on spaces "+
			"(e.g. psql -X -h 127.0.0.1 -U postgres). Override it per server.")
)

func nonEmptyList(v any) error {
	if l, ok := v.([]string); ok && len(l) == 0 {
		return errors.New("must list at least one engine")
	}
	return nil
}

// hostRe is what the host part of a MySQL account may hold: host names,
// addresses, netmasks and the % and _ wildcards. It goes into SQL as a
// string literal, so it never holds quotes or backslashes.
var hostRe = regexp.MustCompile(`^[A-Za-z0-9.%_:/-]{1,255}$`)

func hostSetting(v any) error {
	if !hostRe.MatchString(v.(string)) {
		return errors.New("enter a host name, an address, a netmask or a pattern with % (letters, digits and . % _ : / - only)")
	}
	return nil
}

// Limits of names, per engine. MariaDB takes user names of 80 characters
// and MySQL of 32: 32 works on both. PostgreSQL's identifiers have 63 bytes.
var (
	maxDatabaseName = map[string]int{MySQL: 64, PostgreSQL: 63}
	maxUsername     = map[string]int{MySQL: 32, PostgreSQL: 63}
)

// nameRe is the one portable shape of database and user names: it needs no
// quoting in a shell, in a file name (MySQL keeps a database in a
// directory of its name) or in SQL, where scripts quote it all the same.
var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// RegistryName is the database (MariaDB/MySQL) and NOLOGIN role
// (PostgreSQL) with which Orchestra tells the objects it manages from the
// others on a server, which it never touches; no account may use the name.
const RegistryName = "orchestra_managed"

// Names nobody may take: the engines' own databases and administrators,
// and Orchestra's own.
var (
	reservedDatabases = []string{"mysql", "information_schema", "performance_schema", "sys", "test",
		"postgres", "template0", "template1", "orchestra", RegistryName}
	reservedUsers = []string{"root", "mysql", "mariadb", "mariadb_sys", "mysql_sys", "debian_sys_maint",
		"postgres", "public", "none", "orchestra", RegistryName}
)

// safeName is nameProblem for scripts: a last check before a name is put
// into SQL, whatever path it came from.
func safeName(name string) bool { return nameRe.MatchString(name) && len(name) <= 64 }
