package databases

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/database"
	"github.com/orchestra-panel/orchestra/internal/store/ent/databaseuser"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// Database is a database as the API shows it.
type Database struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	Type      string    `json:"type" doc:"The engine: mysql (MariaDB/MySQL) or postgresql."`
	Account   int       `json:"account"`
	Users     []int     `json:"users" doc:"The users granted all privileges on it, by id."`
	Owner     *int      `json:"owner,omitempty" doc:"The user that owns it (the lowest id): on MySQL it may grant privileges on it, on PostgreSQL it owns it."`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

func databaseOut(d *ent.Database) Database {
	out := Database{ID: d.ID, Name: d.Name, Type: d.Type, Account: d.AccountID, Users: []int{},
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Version: d.Version}
	for _, u := range d.Edges.Users {
		out.Users = append(out.Users, u.ID)
	}
	slices.Sort(out.Users)
	if len(out.Users) > 0 {
		out.Owner = &out.Users[0]
	}
	return out
}

// DatabaseUser is a database user as the API shows it; its password never
// leaves the panel, not even hashed.
type DatabaseUser struct {
	ID        int       `json:"id"`
	Username  string    `json:"username"`
	Type      string    `json:"type" doc:"The engine: mysql (MariaDB/MySQL) or postgresql."`
	Account   int       `json:"account"`
	Databases []int     `json:"databases" doc:"The databases granted to it, by id."`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

func databaseUserOut(u *ent.DatabaseUser) DatabaseUser {
	out := DatabaseUser{ID: u.ID, Username: u.Username, Type: u.Type, Account: u.AccountID, Databases: []int{},
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version}
	for _, d := range u.Edges.Databases {
		out.Databases = append(out.Databases, d.ID)
	}
	slices.Sort(out.Databases)
	return out
}

// NewDatabaseUser is a user created with a database.
type NewDatabaseUser struct {
	Username string `json:"username" maxLength:"63" doc:"Lower-case letters, digits and _, starting with a letter; at most 32 characters for mysql, 63 for postgresql."`
	Password string `json:"password" maxLength:"256" doc:"In clear text; the panel keeps only the engine's hash. Printable ASCII for postgresql."`
}

// DatabaseCreate is the body of a new database.
type DatabaseCreate struct {
	Name    string           `json:"name" maxLength:"64" doc:"Lower-case letters, digits and _, starting with a letter; at most 64 characters for mysql, 63 for postgresql."`
	Type    string           `json:"type,omitempty" maxLength:"16" doc:"mysql or postgresql; DATABASES_DEFAULT_TYPE when omitted."`
	Account int              `json:"account,omitempty" doc:"Your own when omitted; staff name one, or get the users' account."`
	Users   []int            `json:"users,omitempty" maxItems:"100" doc:"Existing users of the same engine and account to grant it to; the lowest id owns it. Give these or user."`
	User    *NewDatabaseUser `json:"user,omitempty" doc:"A new user, created with the database and granted it."`
}

// DatabasePatch changes the users of a database.
type DatabasePatch struct {
	Users   *[]int `json:"users,omitempty" maxItems:"100" doc:"The users granted the database from now on; the lowest id owns it." ent:"-"`
	Version *int   `json:"version,omitempty"`
}

// DatabaseUserCreate is the body of a new database user.
type DatabaseUserCreate struct {
	Username string `json:"username" maxLength:"63" doc:"Lower-case letters, digits and _, starting with a letter; at most 32 characters for mysql, 63 for postgresql."`
	Password string `json:"password" maxLength:"256" doc:"In clear text; the panel keeps only the engine's hash. Printable ASCII for postgresql." ent:"-"`
	Type     string `json:"type,omitempty" maxLength:"16" doc:"mysql or postgresql; DATABASES_DEFAULT_TYPE when omitted." ent:"type,omitzero"`
	Account  int    `json:"account,omitempty" doc:"Your own when omitted (staff must name one)." ent:"account_id,omitzero"`
}

// databaseUserPatch: a database user changes only its password (its own
// operation), so an update carries nothing but the version.
type databaseList struct {
	api.ListParams
	Name    string `query:"name" maxLength:"64"`
	Type    string `query:"type" enum:"mysql,postgresql"`
	Account int    `query:"account" minimum:"0"`
	User    int    `query:"user" minimum:"0" doc:"Databases granted to this user."`
}

func (l databaseList) Filters() []any {
	return []any{"name", l.Name, "type", l.Type, "account_id", l.Account}
}

func (l databaseList) Where() []func(*sql.Selector) {
	if l.User == 0 {
		return nil
	}
	return []func(*sql.Selector){database.HasUsersWith(databaseuser.ID(l.User))}
}

type databaseUserList struct {
	api.ListParams
	Username string `query:"username" maxLength:"63"`
	Type     string `query:"type" enum:"mysql,postgresql"`
	Account  int    `query:"account" minimum:"0"`
	Database int    `query:"database" minimum:"0" doc:"Users granted this database."`
}

func (l databaseUserList) Filters() []any {
	return []any{"username", l.Username, "type", l.Type, "account_id", l.Account}
}

func (l databaseUserList) Where() []func(*sql.Selector) {
	if l.Database == 0 {
		return nil
	}
	return []func(*sql.Selector){databaseuser.HasDatabasesWith(database.ID(l.Database))}
}

// Databases are the accounts' databases, granted to their database users.
var Databases = api.Model[ent.Database, *ent.DatabaseQuery, Database, DatabaseCreate, DatabasePatch, databaseList]{
	Name: "database", Plural: "databases", Tag: "Databases",
	List: "List databases", Get: "Get a database", Create: "Create a database",
	Update: "Change the users of a database", Delete: "Delete a database and its data",
	CreateNote: "Grant it to existing users (`users`) or to a new one created with it (`user`). " +
		"Names are unique per engine: a mysql and a postgresql database may share one.",
	CreateExample: map[string]any{"name": "shop", "users": []int{1}},
	UpdateExample: map[string]any{"users": []int{1}, "version": 1},
	Listing: api.Listing{
		Orderable: []string{"id", "name", "type", "created_at", "updated_at", "account_id"},
		Search:    []string{"name"},
		Default:   "name",
	},
	Presentation: api.Presentation{Name: "database", Defaults: map[string]string{"type": DefaultType.Name()}, Choices: map[string]api.Choice{"type": api.FromSetting(Types.Name())}, Fieldsets: []api.Fieldset{api.Set("", "account", "name", "type", "users"), api.Set("New user", "user.username", "user.password")}, Label: "Databases", Singular: "Database", Group: "services",
		Title: "name", Columns: []string{"type", "users", "account"},
		Refs: map[string]string{"owner": "database-user", "users": "database-user"}, Type: "Database", Applied: true},
	Client:     func(c *ent.Client) api.Client[ent.Database, *ent.DatabaseQuery] { return c.Database },
	Out:        databaseOut,
	Load:       func(q *ent.DatabaseQuery) *ent.DatabaseQuery { return q.WithUsers() },
	CreateWith: createDatabase,
	BeforeUpdate: func(ctx context.Context, tx *ent.Tx, id int, in DatabasePatch, s ent.Saver[ent.Database]) error {
		if in.Users == nil {
			return nil
		}
		// only the grants that change: the rules see what was added and
		// what was taken away
		u := s.(*ent.DatabaseUpdateOne)
		current, err := tx.Database.Query().Where(database.ID(id)).QueryUsers().IDs(ctx)
		if err != nil {
			return err
		}
		want := *in.Users
		for _, c := range current {
			if !slices.Contains(want, c) {
				u.RemoveUserIDs(c)
			}
		}
		for _, w := range want {
			if !slices.Contains(current, w) {
				u.AddUserIDs(w)
			}
		}
		return nil
	},
}

// createDatabase creates a database granted to existing users, or with a
// new user created beside it. Every field's mistake is answered at once:
// a refused password does not keep the names from being judged (the
// transaction is rolled back on any).
func createDatabase(ctx context.Context, tx *ent.Tx, b DatabaseCreate) (*ent.Database, error) {
	var errs validate.Errors
	switch {
	case len(b.Users) > 0 && b.User != nil:
		errs.Add("users", i18n.T(ctx, "Give either users or a new user, not both."))
	case len(b.Users) == 0 && b.User == nil:
		errs.Add("users", i18n.T(ctx, "Give the users to grant the database to, or a new user."))
	}
	typ := b.Type
	if typ == "" {
		typ = DefaultType.Get()
	}
	users := b.Users
	if u := b.User; u != nil && len(b.Users) == 0 {
		hash, err := Password(ctx, typ, u.Username, u.Password)
		if err != nil && !errs.Merge(nested(err, "user", "password")) {
			return nil, err
		}
		c := tx.DatabaseUser.Create().SetUsername(u.Username).SetPassword(hash).SetType(typ)
		if b.Account != 0 {
			c.SetAccountID(b.Account)
		}
		nu, err := c.Save(ctx)
		switch {
		case err == nil:
			users = []int{nu.ID}
		case !errs.Merge(nested(err, "user", "username", "password")):
			return nil, nested(err, "user", "username", "password")
		}
	}
	c := tx.Database.Create().SetName(b.Name).SetType(typ).AddUserIDs(users...)
	if b.Account != 0 {
		c.SetAccountID(b.Account)
	}
	d, err := c.Save(ctx)
	if len(errs) == 0 {
		return d, err
	}
	var skip []string
	if b.User != nil {
		skip = []string{"users"} // a new user that was refused is not a missing grant
	}
	errs.Merge(err, skip...)
	return nil, errs
}

// nested moves the errors of fields of an object written inside another
// request (a database's new user) under prefix: body.user.password.
func nested(err error, prefix string, fields ...string) error {
	var verrs validate.Errors
	if errors.As(err, &verrs) {
		out := make(validate.Errors, len(verrs))
		for i, f := range verrs {
			if slices.Contains(fields, f.Field) {
				f.Field = prefix + "." + f.Field
			}
			out[i] = f
		}
		return out
	}
	var c *validate.Conflict
	if errors.As(err, &c) && slices.Contains(fields, c.Field) {
		return &validate.Conflict{Field: prefix + "." + c.Field, Message: c.Message}
	}
	return err
}

// DatabaseUsers are the accounts' database users; a user changes only its
// password, by its own operation.
var DatabaseUsers = api.Model[ent.DatabaseUser, *ent.DatabaseUserQuery, DatabaseUser, DatabaseUserCreate, struct{}, databaseUserList]{
	Name: "database-user", Plural: "database-users", Tag: "Databases",
	List: "List database users", Get: "Get a database user", Create: "Create a database user",
	Delete:        "Delete a database user",
	CreateExample: map[string]any{"username": "shop_admin", "password": "Str0ng-pass-phrase"},
	Listing: api.Listing{
		Orderable: []string{"id", "username", "type", "created_at", "updated_at", "account_id"},
		Search:    []string{"username"},
		Default:   "username",
	},
	Presentation: api.Presentation{Name: "database-user", Defaults: map[string]string{"type": DefaultType.Name()}, Choices: map[string]api.Choice{"type": api.FromSetting(Types.Name())}, Fieldsets: []api.Fieldset{api.Set("", "account", "username", "password", "type")}, Label: "Database users", Singular: "Database user", Group: "services",
		Title: "username", Columns: []string{"type", "databases", "account"},
		Refs: map[string]string{"databases": "database", "user": "database-user"}, Type: "DatabaseUser", Applied: true},
	Client: func(c *ent.Client) api.Client[ent.DatabaseUser, *ent.DatabaseUserQuery] { return c.DatabaseUser },
	Out:    databaseUserOut,
	Load:   func(q *ent.DatabaseUserQuery) *ent.DatabaseUserQuery { return q.WithDatabases() },
	BeforeCreate: func(ctx context.Context, tx *ent.Tx, in DatabaseUserCreate, s ent.Saver[ent.DatabaseUser]) error {
		hash, err := Password(ctx, in.Type, in.Username, in.Password)
		if err != nil {
			return err
		}
		c := s.(*ent.DatabaseUserCreate).SetPassword(hash)
		if in.Type == "" {
			c.SetType(DefaultType.Get())
		}
		return nil
	},
}

func init() {
	api.SayValues(map[string]string{MySQL: "MySQL / MariaDB", PostgreSQL: "PostgreSQL"}) // the engines
	api.Declare(Databases)
	api.Declare(DatabaseUsers)
	api.Operations(operations)
}

// operations are the databases' own: a user's new password.
func operations(s *api.Server) {
	st := s.Store()
	setPw := api.Example(api.Op("set-database-user-password", http.MethodPost, "/database-users/{id}/password", "Set a database user's password", "Databases"),
		map[string]any{"password": "An0ther-pass-phrase"})
	setPw.DefaultStatus = http.StatusOK
	huma.Register(s.API(), setPw, func(ctx context.Context, in *struct {
		api.IDPath
		Body struct {
			Password string `json:"password" maxLength:"256" doc:"In clear text; the panel keeps only the engine's hash."`
		}
	}) (*struct {
		ETag string `header:"ETag"`
		Body DatabaseUser
	}, error) {
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			u, err := tx.DatabaseUser.Get(ctx, in.ID)
			if err != nil {
				return err
			}
			hash, err := Password(ctx, u.Type, u.Username, in.Body.Password)
			if err != nil {
				return err
			}
			return tx.DatabaseUser.UpdateOne(u).SetPassword(hash).Exec(ctx)
		})
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		u, err := st.DatabaseUser.Query().Where(databaseuser.ID(in.ID)).WithDatabases().Only(ctx)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct {
			ETag string `header:"ETag"`
			Body DatabaseUser
		}{api.ETag(u.Version), databaseUserOut(u)}, nil
	})
}
