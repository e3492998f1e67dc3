package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/databases"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/database"
	"github.com/orchestra-panel/orchestra/internal/store/ent/databaseuser"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
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
	Users   *[]int `json:"users,omitempty" maxItems:"100" doc:"The users granted the database from now on; the lowest id owns it."`
	Version *int   `json:"version,omitempty"`
}

// DatabaseUserCreate is the body of a new database user.
type DatabaseUserCreate struct {
	Username string `json:"username" maxLength:"63" doc:"Lower-case letters, digits and _, starting with a letter; at most 32 characters for mysql, 63 for postgresql."`
	Password string `json:"password" maxLength:"256" doc:"In clear text; the panel keeps only the engine's hash. Printable ASCII for postgresql."`
	Type     string `json:"type,omitempty" maxLength:"16" doc:"mysql or postgresql; DATABASES_DEFAULT_TYPE when omitted."`
	Account  int    `json:"account,omitempty" doc:"Your own when omitted (staff must name one)."`
}

type databaseBody struct {
	ETag string `header:"ETag"`
	Body Database
}

type createdDatabase struct {
	Location string `header:"Location"`
	ETag     string `header:"ETag"`
	Body     Database
}

type databaseUserBody struct {
	ETag string `header:"ETag"`
	Body DatabaseUser
}

type createdDatabaseUser struct {
	Location string `header:"Location"`
	ETag     string `header:"ETag"`
	Body     DatabaseUser
}

var databaseListing = Listing{
	Orderable: []string{"id", "name", "type", "created_at", "updated_at", "account_id"},
	Search:    []string{"name"},
	Default:   "name",
}

var databaseUserListing = Listing{
	Orderable: []string{"id", "username", "type", "created_at", "updated_at", "account_id"},
	Search:    []string{"username"},
	Default:   "username",
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

func (s *Server) getDatabase(ctx context.Context, id int) (*ent.Database, error) {
	return s.st.Database.Query().Where(database.ID(id)).WithUsers().Only(ctx)
}

func (s *Server) getDatabaseUser(ctx context.Context, id int) (*ent.DatabaseUser, error) {
	return s.st.DatabaseUser.Query().Where(databaseuser.ID(id)).WithDatabases().Only(ctx)
}

func (s *Server) databaseRoutes() {
	huma.Register(s.api, present(op("list-databases", http.MethodGet, "/databases", "List databases", "Databases"), databaseListing, Presentation{Name: "database", Label: "Databases", Singular: "Database", Group: "services", Title: "name", Columns: []string{"type", "users", "account"}, Refs: map[string]string{"owner": "database-user", "users": "database-user"}, Type: "Database", Applied: true}),
		func(ctx context.Context, in *struct {
			ListParams
			Name    string `query:"name" maxLength:"64"`
			Type    string `query:"type" enum:"mysql,postgresql"`
			Account int    `query:"account" minimum:"0"`
			User    int    `query:"user" minimum:"0" doc:"Databases granted to this user."`
		}) (*struct{ Body *Page[Database] }, error) {
			where, order, err := databaseListing.plan(ctx, in.ListParams, eq("name", in.Name, "type", in.Type, "account_id", in.Account))
			if err != nil {
				return nil, err
			}
			q := s.st.Database.Query().Where(predicate.Database(where)).WithUsers()
			if in.User != 0 {
				q = q.Where(database.HasUsersWith(databaseuser.ID(in.User)))
			}
			for _, o := range order {
				q = q.Order(database.OrderOption(o))
			}
			page, err := paginate(ctx, q, in.ListParams, databaseOut)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[Database] }{page}, nil
		})

	huma.Register(s.api, op("get-database", http.MethodGet, "/databases/{id}", "Get a database", "Databases"),
		func(ctx context.Context, in *IDPath) (*databaseBody, error) {
			d, err := s.getDatabase(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &databaseBody{ETag: etag(d.Version), Body: databaseOut(d)}, nil
		})

	create := example(op("create-database", http.MethodPost, "/databases", "Create a database", "Databases"),
		map[string]any{"name": "shop", "users": []int{1}})
	create.Description = "Grant it to existing users (`users`) or to a new one created with it (`user`). " +
		"Names are unique per engine: a mysql and a postgresql database may share one."
	huma.Register(s.api, create, func(ctx context.Context, in *struct{ Body DatabaseCreate }) (*createdDatabase, error) {
		b := in.Body
		switch {
		case len(b.Users) > 0 && b.User != nil:
			return nil, fail(ctx, fieldError("users", i18n.T(ctx, "Give either users or a new user, not both.")))
		case len(b.Users) == 0 && b.User == nil:
			return nil, fail(ctx, fieldError("users", i18n.T(ctx, "Give the users to grant the database to, or a new user.")))
		}
		typ := b.Type
		if typ == "" {
			typ = databases.DefaultType.Get()
		}
		users := b.Users
		var id int
		err := s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			if u := b.User; u != nil {
				hash, err := databases.Password(ctx, typ, u.Username, u.Password)
				if err != nil {
					return nested(err, "user", "password")
				}
				c := tx.DatabaseUser.Create().SetUsername(u.Username).SetPassword(hash).SetType(typ)
				if b.Account != 0 {
					c.SetAccountID(b.Account)
				}
				nu, err := c.Save(ctx)
				if err != nil {
					return nested(err, "user", "username", "password")
				}
				users = []int{nu.ID}
			}
			c := tx.Database.Create().SetName(b.Name).SetType(typ).AddUserIDs(users...)
			if b.Account != 0 {
				c.SetAccountID(b.Account)
			}
			d, err := c.Save(ctx)
			if err != nil {
				return err
			}
			id = d.ID
			return nil
		})
		if err != nil {
			return nil, fail(ctx, err)
		}
		d, err := s.getDatabase(ctx, id)
		if err != nil {
			return nil, fail(ctx, err)
		}
		return &createdDatabase{Location: Prefix + "/databases/" + strconv.Itoa(d.ID), ETag: etag(d.Version), Body: databaseOut(d)}, nil
	})

	huma.Register(s.api, example(op("update-database", http.MethodPatch, "/databases/{id}", "Change the users of a database", "Databases"),
		map[string]any{"users": []int{1}, "version": 1}),
		func(ctx context.Context, in *struct {
			IDPath
			Versioned
			Body DatabasePatch
		}) (*databaseBody, error) {
			v, err := expectedVersion(ctx, in.IfMatch, in.Body.Version)
			if err != nil {
				return nil, err
			}
			err = s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				u := tx.Database.UpdateOneID(in.ID).Where(database.VersionEQ(v))
				if in.Body.Users != nil {
					current, err := tx.Database.Query().Where(database.ID(in.ID)).QueryUsers().IDs(ctx)
					if err != nil {
						return err
					}
					want := *in.Body.Users
					for _, id := range current {
						if !slices.Contains(want, id) {
							u.RemoveUserIDs(id)
						}
					}
					for _, id := range want {
						if !slices.Contains(current, id) {
							u.AddUserIDs(id)
						}
					}
				}
				_, err := u.Save(ctx)
				if ent.IsNotFound(err) {
					return staleOrMissing(ctx, tx.Database.Query().Where(database.ID(in.ID)).Exist)
				}
				return err
			})
			if err != nil {
				return nil, fail(ctx, err)
			}
			d, err := s.getDatabase(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &databaseBody{ETag: etag(d.Version), Body: databaseOut(d)}, nil
		})

	huma.Register(s.api, op("delete-database", http.MethodDelete, "/databases/{id}", "Delete a database and its data", "Databases"),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			return nil, fail(ctx, s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Database.DeleteOneID(in.ID).Exec(ctx)
			}))
		})

	huma.Register(s.api, present(op("list-database-users", http.MethodGet, "/database-users", "List database users", "Databases"), databaseUserListing, Presentation{Name: "database-user", Label: "Database users", Singular: "Database user", Group: "services", Title: "username", Columns: []string{"type", "databases", "account"}, Refs: map[string]string{"databases": "database", "user": "database-user"}, Type: "DatabaseUser", Applied: true}),
		func(ctx context.Context, in *struct {
			ListParams
			Username string `query:"username" maxLength:"63"`
			Type     string `query:"type" enum:"mysql,postgresql"`
			Account  int    `query:"account" minimum:"0"`
			Database int    `query:"database" minimum:"0" doc:"Users granted this database."`
		}) (*struct{ Body *Page[DatabaseUser] }, error) {
			where, order, err := databaseUserListing.plan(ctx, in.ListParams, eq("username", in.Username, "type", in.Type, "account_id", in.Account))
			if err != nil {
				return nil, err
			}
			q := s.st.DatabaseUser.Query().Where(predicate.DatabaseUser(where)).WithDatabases()
			if in.Database != 0 {
				q = q.Where(databaseuser.HasDatabasesWith(database.ID(in.Database)))
			}
			for _, o := range order {
				q = q.Order(databaseuser.OrderOption(o))
			}
			page, err := paginate(ctx, q, in.ListParams, databaseUserOut)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[DatabaseUser] }{page}, nil
		})

	huma.Register(s.api, op("get-database-user", http.MethodGet, "/database-users/{id}", "Get a database user", "Databases"),
		func(ctx context.Context, in *IDPath) (*databaseUserBody, error) {
			u, err := s.getDatabaseUser(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &databaseUserBody{ETag: etag(u.Version), Body: databaseUserOut(u)}, nil
		})

	huma.Register(s.api, example(op("create-database-user", http.MethodPost, "/database-users", "Create a database user", "Databases"),
		map[string]any{"username": "shop_admin", "password": "Str0ng-pass-phrase"}),
		func(ctx context.Context, in *struct{ Body DatabaseUserCreate }) (*createdDatabaseUser, error) {
			b := in.Body
			var id int
			err := s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				hash, err := databases.Password(ctx, b.Type, b.Username, b.Password)
				if err != nil {
					return err
				}
				typ := b.Type
				if typ == "" {
					typ = databases.DefaultType.Get()
				}
				c := tx.DatabaseUser.Create().SetUsername(b.Username).SetPassword(hash).SetType(typ)
				if b.Account != 0 {
					c.SetAccountID(b.Account)
				}
				u, err := c.Save(ctx)
				if err != nil {
					return err
				}
				id = u.ID
				return nil
			})
			if err != nil {
				return nil, fail(ctx, err)
			}
			u, err := s.getDatabaseUser(ctx, id)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &createdDatabaseUser{Location: Prefix + "/database-users/" + strconv.Itoa(u.ID), ETag: etag(u.Version), Body: databaseUserOut(u)}, nil
		})

	setPw := example(op("set-database-user-password", http.MethodPost, "/database-users/{id}/password", "Set a database user's password", "Databases"),
		map[string]any{"password": "An0ther-pass-phrase"})
	setPw.DefaultStatus = http.StatusOK
	huma.Register(s.api, setPw, func(ctx context.Context, in *struct {
		IDPath
		Body struct {
			Password string `json:"password" maxLength:"256" doc:"In clear text; the panel keeps only the engine's hash."`
		}
	}) (*databaseUserBody, error) {
		err := s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			u, err := tx.DatabaseUser.Get(ctx, in.ID)
			if err != nil {
				return err
			}
			hash, err := databases.Password(ctx, u.Type, u.Username, in.Body.Password)
			if err != nil {
				return err
			}
			return tx.DatabaseUser.UpdateOne(u).SetPassword(hash).Exec(ctx)
		})
		if err != nil {
			return nil, fail(ctx, err)
		}
		u, err := s.getDatabaseUser(ctx, in.ID)
		if err != nil {
			return nil, fail(ctx, err)
		}
		return &databaseUserBody{ETag: etag(u.Version), Body: databaseUserOut(u)}, nil
	})

	huma.Register(s.api, op("delete-database-user", http.MethodDelete, "/database-users/{id}", "Delete a database user",
		"Databases"),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			return nil, fail(ctx, s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return tx.DatabaseUser.DeleteOneID(in.ID).Exec(ctx)
			}))
		})
}

// fieldError is a validation error of one field.
func fieldError(field, msg string) error {
	var errs validate.Errors
	errs.Add(field, msg)
	return errs
}
