package databases

import (
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// TestSQLRefusesHostileInput: whatever path a value took, the SQL builders
// refuse names, hosts and hashes outside their exact shapes rather than
// quote them; the unit then ends in ERROR and nothing runs.
func TestSQLRefusesHostileInput(t *testing.T) {
	my := MySQLNativeHash("Str0ng-pass-phrase")
	pg, _ := SCRAMVerifier("Str0ng-pass-phrase")
	hostile := []string{"", "a'b", "a`b", `a"b`, `a\b`, "a b", "a;b", "a\nb", "A", "1a", ":a", "a$b", "a%", strings.Repeat("a", 65)}
	for _, h := range hostile {
		for name, build := range map[string]func() (string, error){
			"mysql user":          func() (string, error) { return mysqlUserSQL("save", h, "%", my) },
			"mysql database":      func() (string, error) { return mysqlDatabaseSQL("save", h, "%", nil) },
			"mysql grantee":       func() (string, error) { return mysqlDatabaseSQL("save", "shop", "%", []string{"a", h}) },
			"postgresql role":     func() (string, error) { return pgRoleSQL(h, pg) },
			"postgresql drop":     func() (string, error) { return pgDropRoleSQL(h) },
			"postgresql database": func() (string, error) { return pgDatabaseSQL("save", h, nil) },
			"postgresql grantee":  func() (string, error) { return pgDatabaseSQL("save", "shop", []string{"a", h}) },
		} {
			if sql, err := build(); err == nil {
				t.Errorf("%s %q: built\n%s", name, h, sql)
			}
		}
	}
	for _, host := range []string{"", "a'b", `a\b`, "a b", "a;b"} {
		if _, err := mysqlUserSQL("save", "shop", host, my); err == nil {
			t.Errorf("host %q accepted", host)
		}
	}
	for _, c := range []struct {
		typ, hash string
		build     func(string) (string, error)
	}{
		{MySQL, "*' OR 1=1 -- ", func(h string) (string, error) { return mysqlUserSQL("save", "shop", "%", h) }},
		{MySQL, pg, func(h string) (string, error) { return mysqlUserSQL("save", "shop", "%", h) }},
		{PostgreSQL, "Str0ng-pass-phrase", func(h string) (string, error) { return pgRoleSQL("shop", h) }},
		{PostgreSQL, pg + "'; ALTER ROLE shop SUPERUSER; --", func(h string) (string, error) { return pgRoleSQL("shop", h) }},
	} {
		if _, err := c.build(c.hash); err == nil {
			t.Errorf("%s hash %q accepted", c.typ, c.hash)
		}
	}

	// through a backend: an ERROR before any script
	s := orchestration.NewScript()
	srv := orchestration.Server{Settings: map[string]string{"DATABASES_DEFAULT_HOST": "%'"}}
	o := orchestration.Object{Repr: "shop", Snapshot: map[string]any{"username": "shop", "type": "mysql", "password": my}}
	if err := applyMySQLUser(s, srv, orchestration.ActionSave, o); err == nil || !strings.Contains(err.Error(), "DATABASES_DEFAULT_HOST") {
		t.Errorf("a bad host setting: %v", err)
	}
	o.Snapshot["type"] = "postgresql"
	if err := applyMySQLUser(s, orchestration.Server{}, orchestration.ActionSave, o); err == nil {
		t.Error("the mysql backend applied a postgresql user")
	}
}

// TestGrantEscapesWildcards: a grant names the database with _ escaped,
// so that it covers that database only.
func TestGrantEscapesWildcards(t *testing.T) {
	sql, err := mysqlDatabaseSQL("save", "my_shop", "%", []string{"owner", "other"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"GRANT ALL PRIVILEGES ON `my\\_shop`.* TO 'owner'@'%' WITH GRANT OPTION;",
		"GRANT ALL PRIVILEGES ON `my\\_shop`.* TO 'other'@'%';",
		"CREATE DATABASE IF NOT EXISTS `my_shop`;",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("missing %s in\n%s", want, sql)
		}
	}
}
