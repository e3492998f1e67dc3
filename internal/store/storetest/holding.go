package storetest

import (
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/store"
)

// TablesHolding returns the tables with a row where some column, as text,
// contains one of secrets (or the part after its last $, the hash proper).
func TablesHolding(t *testing.T, st *store.Store, secrets []string) []string {
	t.Helper()
	var needles []string
	for _, s := range secrets {
		needles = append(needles, s, s[strings.LastIndex(s, "$")+1:])
	}
	list := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if st.Dialect == "postgres" {
		list = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	tables := queryStrings(t, st.DB, list)
	var found []string
	for _, table := range tables {
		rows, err := st.DB.Query(`SELECT * FROM "` + table + `" WHERE 1 = 0`)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		rows.Close()
		if err != nil {
			t.Fatal(err)
		}
		casts := make([]string, len(cols))
		for i, c := range cols {
			casts[i] = `COALESCE(CAST("` + c + `" AS TEXT), '')`
		}
		for _, row := range queryStrings(t, st.DB, "SELECT "+strings.Join(casts, " || ' ' || ")+` FROM "`+table+`"`) {
			if slices.ContainsFunc(needles, func(n string) bool { return strings.Contains(row, n) }) {
				found = append(found, table)
				break
			}
		}
	}
	return found
}

func queryStrings(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
