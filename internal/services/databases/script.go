package databases

import (
	"context"
	"fmt"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/database"
	"github.com/orchestra-panel/orchestra/internal/store/ent/databaseuser"
)

// How SQL reaches a server. The backends write SQL text in Go and ship it
// to the engine's client on its standard input, never as a command line:
//
//   - the shell only ever sees the SQL as the value of a variable, set with
//     Script.Var (one single-quoted word, whatever it holds), appended to
//     $orchestra_sql and piped by printf (a builtin, so no argument limit)
//     into the client; every line passed to Raw is constant. So the shell
//     never reads SQL as code, even were a check below wrong.
//   - in the SQL, names are checked again (safeName: [a-z][a-z0-9_]*) and
//     quoted as identifiers (`name` for MySQL, "name" for PostgreSQL);
//     string literals are those names, a host checked against hostRe and
//     hashes checked to their exact format (ValidHash). None can hold a
//     quote, a backslash or a psql variable reference (:name).
//
// The operations of a unit go to the client as one batch (one process per
// unit, not per object), in order; the client stops at the first error
// (mysql in batch mode, psql with ON_ERROR_STOP), failing the unit.

// prepareClient starts a unit's script: the client command of the server
// as an array, and the batch with its opening SQL.
func prepareClient(s *orchestration.Script, client, head, setup string) {
	s.Var("orchestra_client", client)
	s.Var("orchestra_sql_head", head)
	s.Var("orchestra_sql", setup)
	s.Raw(`read -r -a orchestra_client <<<"$orchestra_client"
orchestra_sql_run() {
  [[ -n $orchestra_sql ]] || return 0
  printf '%s\n%s\n' "$orchestra_sql_head" "$orchestra_sql" | "${orchestra_client[@]}"
  orchestra_sql=''
}`)
}

// addSQL appends statements to the unit's batch.
func addSQL(s *orchestration.Script, sql string) {
	s.Var("q", sql)
	s.Raw(`orchestra_sql+=$q`)
}

// runSQL runs what the batch holds.
func runSQL(s *orchestration.Script, _ orchestration.Server) { s.Raw(`orchestra_sql_run`) }

// checkedNames refuses names that are not safe in SQL: validation refuses
// them before they are stored, this catches any other path.
func checkedNames(names ...string) error {
	for _, n := range names {
		if !safeName(n) {
			return fmt.Errorf("%q is not a valid name", n)
		}
	}
	return nil
}

// grants is what a database backend loads: the usernames granted on the
// database, its owner first (lowest user id).
type grants struct{ users []string }

// loadGrants reads the users of a database, of its engine only.
func loadGrants(ctx context.Context, tx *ent.Tx, o *orchestration.Object) error {
	users, err := tx.DatabaseUser.Query().
		Where(databaseuser.HasDatabasesWith(database.ID(o.ID)), databaseuser.Type(o.String("type"))).
		Order(ent.Asc(databaseuser.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	g := grants{}
	for _, u := range users {
		g.users = append(g.users, u.Username)
	}
	o.Extra = g
	return nil
}

// databasesOf is the Related resolver of the database backends of engine
// typ: a user's change applies the databases granted to it again.
func databasesOf(typ string) func(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
	return func(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
		if o.String("type") != typ {
			return nil, nil
		}
		return tx.Database.Query().Where(database.HasUsersWith(databaseuser.ID(o.ID)), database.Type(typ)).
			Order(ent.Asc(database.FieldID)).IDs(ctx)
	}
}

// engineOf refuses an object of another engine, sent by a route whose
// match does not check the type.
func engineOf(o orchestration.Object, typ string) error {
	if t := o.String("type"); t != typ {
		return fmt.Errorf("%s is a %s object, not %s: the route's match should check its type", o.Repr, t, typ)
	}
	return nil
}

// quoted joins names, each quoted with q.
func quoted(names []string, q string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = q + n + q
	}
	return strings.Join(out, ", ")
}
