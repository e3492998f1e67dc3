package databases

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/database"
	"github.com/orchestra-panel/orchestra/internal/store/ent/databaseuser"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// The rules of databases and database users, for every write path:
//   - names have the portable shape (lower-case letters, digits, _,
//     starting with a letter), the engine's length, and are not reserved;
//   - a name is unique per engine: a MySQL and a PostgreSQL database may
//     share one; names, engines and accounts never change afterwards;
//   - a database is granted only to users of its engine and account (a
//     customer names only users it can see); the lowest user id owns it;
//   - a user's password is its engine's hash (see Password), never clear
//     text; grants are written through databases, not users.

func init() {
	store.RegisterHook("Database", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.DatabaseFunc(func(ctx context.Context, m *ent.DatabaseMutation) (ent.Value, error) {
			if err := validateDatabase(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("DatabaseUser", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.DatabaseUserFunc(func(ctx context.Context, m *ent.DatabaseUserMutation) (ent.Value, error) {
			if err := validateUser(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	// A deleted user is first taken off its databases, so that they are
	// applied again (another user may become the owner) before it goes.
	store.RegisterHook("DatabaseUser", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.DatabaseUserFunc(func(ctx context.Context, m *ent.DatabaseUserMutation) (ent.Value, error) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			if len(ids) > 0 {
				err := m.Client().Database.Update().Where(database.HasUsersWith(databaseuser.IDIn(ids...))).
					RemoveUserIDs(ids...).Exec(ctx)
				if err != nil {
					return nil, err
				}
			}
			return next.Mutate(ctx, m)
		})
	})
}

func sys(ctx context.Context) context.Context { return viewer.System(ctx, viewer.ChannelSystem) }

func fieldErr(field, msg string) error {
	var errs validate.Errors
	errs.Add(field, msg)
	return errs.Err()
}

// typeRule checks the engine of a new object.
func typeRule(ctx context.Context) func(string) string {
	return func(s string) string {
		if !slices.Contains(Types.Get(), s) {
			return i18n.T(ctx, "Select a valid choice: %q is not one of %s.", s, strings.Join(Types.Get(), ", "))
		}
		return ""
	}
}

// nameRule checks a database name (user false) or a username (user true)
// of engine typ.
func nameRule(ctx context.Context, typ string, user bool) func(string) string {
	return func(name string) string {
		max, reserved := maxDatabaseName[typ], reservedDatabases
		if user {
			max, reserved = maxUsername[typ], reservedUsers
		}
		switch {
		case name == "":
			return i18n.T(ctx, "This field is required.")
		case !nameRe.MatchString(name):
			return i18n.T(ctx, "Use lower-case letters, digits and _ only, starting with a letter.")
		case max > 0 && len(name) > max:
			return i18n.T(ctx, "Ensure this value has at most %d characters (the limit of %s).", max, typ)
		case typ == MySQL && !user && len(name)+strings.Count(name, "_") > max:
			// its grants name it with each _ escaped (\_), in the same 64
			return i18n.T(ctx, "Ensure this value has at most %d characters, each _ counting twice (the limit of %s).", max, typ)
		case slices.Contains(reserved, name), typ == PostgreSQL && strings.HasPrefix(name, "pg_"):
			return i18n.T(ctx, "%s is reserved.", name)
		}
		return ""
	}
}

// immutable refuses a single-row update that changes one of fields (JSON
// names after the column names).
func immutable(ctx context.Context, m ent.Mutation, errs *validate.Errors, fields ...string) {
	if !m.Op().Is(ent.OpUpdateOne) {
		return
	}
	for _, f := range fields {
		v, ok := m.Field(f)
		if !ok {
			continue
		}
		if old, err := m.OldField(ctx, f); err == nil && old != v {
			name := strings.TrimSuffix(f, "_id")
			errs.Add(name, i18n.T(ctx, "The %s cannot be changed: create a new one instead.", name))
		}
	}
}

func validateDatabase(ctx context.Context, m *ent.DatabaseMutation) error {
	validate.TrimFields(m, "name", "type")
	var errs validate.Errors
	if m.Op().Is(ent.OpUpdate) {
		// bulk updates only take users off databases (see the user delete)
		for _, f := range []string{"name", "type", "account_id"} {
			if _, ok := m.Field(f); ok {
				errs.Add(strings.TrimSuffix(f, "_id"), i18n.T(ctx, "Change databases one at a time."))
			}
		}
		if len(m.UsersIDs()) > 0 || m.UsersCleared() {
			errs.Add("users", i18n.T(ctx, "Change the users of one database at a time."))
		}
		return errs.Err()
	}
	if m.Op().Is(ent.OpCreate) {
		if t, _ := m.GetType(); t == "" {
			m.SetType(DefaultType.Get())
		}
		errs.Check(ctx, m, "type", typeRule(ctx))
	}
	immutable(ctx, m, &errs, "name", "type", "account_id")
	typ, _ := validate.String(ctx, m, "type")
	if m.Op().Is(ent.OpCreate) && !errs.Has("type") {
		errs.Check(ctx, m, "name", nameRule(ctx, typ, false))
	}
	if err := checkGrants(ctx, m, typ, &errs); err != nil {
		return err
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if m.Op().Is(ent.OpCreate) {
		name, _ := m.Name()
		taken, err := m.Client().Database.Query().Where(database.Name(name), database.Type(typ)).Exist(sys(ctx))
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "name", Message: i18n.T(ctx, "A %s database named %s already exists.", typ, name)}
		}
	}
	return nil
}

// checkGrants checks the users a database gets: visible to the viewer, of
// the database's engine and account. A new database that names no account
// takes its users' (staff writing for a customer).
func checkGrants(ctx context.Context, m *ent.DatabaseMutation, typ string, errs *validate.Errors) error {
	added := m.UsersIDs()
	if len(added) == 0 {
		return nil
	}
	sort.Ints(added)
	users, err := m.Client().DatabaseUser.Query().Where(databaseuser.IDIn(added...)).All(ctx)
	if err != nil {
		return err
	}
	byID := map[int]*ent.DatabaseUser{}
	for _, u := range users {
		byID[u.ID] = u
	}
	acc, accSet := m.AccountID()
	if m.Op().Is(ent.OpUpdateOne) {
		if acc, err = m.OldAccountID(ctx); err != nil {
			return err
		}
		accSet = true
	}
	for _, id := range added {
		u := byID[id]
		switch {
		case u == nil:
			errs.Add("users", i18n.T(ctx, "No database user with id %d.", id))
		case typ != "" && u.Type != typ:
			errs.Add("users", i18n.T(ctx, "%s is a %s user; this database is %s.", u.Username, u.Type, typ))
		case !accSet:
			acc, accSet = u.AccountID, true
			m.SetAccountID(acc)
		case u.AccountID != acc:
			errs.Add("users", i18n.T(ctx, "%s belongs to another account.", u.Username))
		}
		if errs.Has("users") {
			break
		}
	}
	return nil
}

func validateUser(ctx context.Context, m *ent.DatabaseUserMutation) error {
	validate.TrimFields(m, "username", "type")
	var errs validate.Errors
	if len(m.DatabasesIDs()) > 0 || len(m.RemovedDatabasesIDs()) > 0 || m.DatabasesCleared() {
		errs.Add("databases", i18n.T(ctx, "Grant users through their databases."))
	}
	if m.Op().Is(ent.OpUpdate) {
		for _, f := range []string{"username", "type", "account_id", "password"} {
			if _, ok := m.Field(f); ok {
				errs.Add(strings.TrimSuffix(f, "_id"), i18n.T(ctx, "Change database users one at a time."))
			}
		}
		return errs.Err()
	}
	if m.Op().Is(ent.OpCreate) {
		if t, _ := m.GetType(); t == "" {
			m.SetType(DefaultType.Get())
		}
		errs.Check(ctx, m, "type", typeRule(ctx))
	}
	immutable(ctx, m, &errs, "username", "type", "account_id")
	typ, _ := validate.String(ctx, m, "type")
	if m.Op().Is(ent.OpCreate) && !errs.Has("type") {
		errs.Check(ctx, m, "username", nameRule(ctx, typ, true))
	}
	if pw, ok := m.Password(); ok || m.Op().Is(ent.OpCreate) {
		switch {
		case pw == "":
			errs.Add("password", i18n.T(ctx, "This field is required."))
		case !errs.Has("type") && !ValidHash(typ, pw):
			// clear text never gets here from the API, which hashes it
			errs.Add("password", i18n.T(ctx, "This is not a %s password hash; give the password to the API in clear text.", typ))
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if m.Op().Is(ent.OpCreate) {
		name, _ := m.Username()
		taken, err := m.Client().DatabaseUser.Query().Where(databaseuser.Username(name), databaseuser.Type(typ)).Exist(sys(ctx))
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "username", Message: i18n.T(ctx, "A %s user named %s already exists.", typ, name)}
		}
	}
	return nil
}

// Password checks a clear-text password for a user of engine typ
// (DATABASES_DEFAULT_TYPE when empty) and returns the hash to store; a
// refusal is a validation error on "password" (or "type").
func Password(ctx context.Context, typ, username, pw string) (string, error) {
	if typ == "" {
		typ = DefaultType.Get()
	}
	if !slices.Contains(Engines, typ) {
		return "", fieldErr("type", typeRule(ctx)(typ))
	}
	if msg := passwordProblem(ctx, typ, username, pw); msg != "" {
		return "", fieldErr("password", msg)
	}
	return HashPassword(typ, pw)
}

func passwordProblem(ctx context.Context, typ, username, pw string) string {
	if pw == "" {
		return i18n.T(ctx, "This field is required.")
	}
	for _, basic := range []func(context.Context, string) string{validate.NoNull, validate.ValidText} {
		if msg := basic(ctx, pw); msg != "" {
			return msg
		}
	}
	for _, r := range pw {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return i18n.T(ctx, "Control characters are not allowed.")
		}
		// PostgreSQL normalises SCRAM passwords with SASLprep, which
		// changes some non-ASCII text and which not every client applies:
		// only printable ASCII logs in the same from every client.
		if typ == PostgreSQL && r > 0x7e {
			return i18n.T(ctx, "Use printable ASCII characters only in PostgreSQL passwords: clients prepare other characters differently.")
		}
	}
	if msg := auth.PasswordProblem(pw, username); msg != "" {
		return i18n.T(ctx, "The password %s.", i18n.T(ctx, msg))
	}
	return ""
}
