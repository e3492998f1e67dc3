package web

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/databases"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/webapp"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// A WordPress app makes its database and database user when it is added,
// in the same transaction, as the original's CMS apps did: a MariaDB/MySQL
// database wp_<app>_<account> (cut to the engine's length), a user of the
// same name (cut to 32) owning it, with a random password kept sealed for
// wp-config.php. Deleting the app deletes both.

// DatabasePurpose is what the password of an app's database user is sealed for.
const DatabasePurpose = "webapp-database-password"

func init() {
	store.RegisterHook("WebApp", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.WebAppFunc(func(ctx context.Context, m *ent.WebAppMutation) (ent.Value, error) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			// the viewer's own: another account's app is not found later
			apps, err := m.Client().WebApp.Query().Where(webapp.IDIn(ids...), webapp.DatabaseIDNotNil()).All(ctx)
			if err != nil {
				return nil, err
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			for _, a := range apps {
				if err := m.Client().Database.DeleteOneID(*a.DatabaseID).Exec(ctx); err != nil && !ent.IsNotFound(err) {
					return nil, err
				}
				if a.DatabaseUserID != nil {
					if err := m.Client().DatabaseUser.DeleteOneID(*a.DatabaseUserID).Exec(ctx); err != nil && !ent.IsNotFound(err) {
						return nil, err
					}
				}
			}
			return v, nil
		})
	})
}

// dbName is name as a database name takes it: lower case, . and - as _.
func dbName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r == '.' || r == '-':
			return '_'
		}
		return -1
	}, name)
}

// randomPassword is a password of n letters and digits.
func randomPassword(n int) string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// provisionDatabase makes the database and user of a new WordPress app.
func provisionDatabase(ctx context.Context, m *ent.WebAppMutation) error {
	acc, _ := m.AccountID()
	app, _ := m.Name()
	owner, err := accountName(ctx, m.Client(), acc)
	if err != nil {
		return err
	}
	name := "wp_" + dbName(app) + "_" + dbName(owner)
	dbn, user := name[:min(len(name), 64)], name[:min(len(name), 32)]
	pw := randomPassword(24)
	hash, err := databases.Password(ctx, databases.MySQL, user, pw)
	if err != nil {
		return err
	}
	seal, err := sealed.Seal(DatabasePurpose, []byte(pw))
	if err != nil {
		return err
	}
	// as the viewer: a customer makes its own account's database
	u, err := m.Client().DatabaseUser.Create().SetUsername(user).SetType(databases.MySQL).SetPassword(hash).SetAccountID(acc).Save(ctx)
	if err == nil {
		var d *ent.Database
		d, err = m.Client().Database.Create().SetName(dbn).SetType(databases.MySQL).SetAccountID(acc).AddUserIDs(u.ID).Save(ctx)
		if err == nil {
			m.SetDatabaseID(d.ID)
			m.SetDatabaseUserID(u.ID)
			m.SetDatabasePassword(seal)
			return nil
		}
	}
	// the database service's refusal, said of the app
	var errs validate.Errors
	var conflict *validate.Conflict
	switch {
	case errors.As(err, &conflict):
		return &validate.Conflict{Field: "name", Message: i18n.T(ctx,
			"WordPress needs a database and user named %s: %s Choose another name for the app.", dbn, conflict.Message)}
	case errors.As(err, &errs):
		field := "name"
		if errs.Has("type") {
			field = "type" // MySQL is not offered (DATABASES_TYPES)
		}
		return validate.Fail(field, i18n.T(ctx, "WordPress needs a MySQL database named %s: %s", dbn, errs[0].Message))
	}
	return err
}
