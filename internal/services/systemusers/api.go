package systemusers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// SystemUser is a UNIX user as the API shows it.
type SystemUser struct {
	ID          int       `json:"id"`
	Username    string    `json:"username"`
	Account     int       `json:"account"`
	Home        string    `json:"home" doc:"Empty: the user's own home (SYSTEMUSERS_HOME)."`
	Directory   string    `json:"directory" doc:"A directory inside the home the user is confined to."`
	Shell       string    `json:"shell" doc:"/dev/null (FTP only), sftp-only (SFTP/SCP, no shell) or a shell such as /bin/bash."`
	Groups      []int     `json:"groups" doc:"System users whose group this one is in (their files are shared with it)."`
	IsMain      bool      `json:"is_main" doc:"The account's main system user, named as the account; it goes with the account."`
	IsActive    bool      `json:"is_active"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int       `json:"version"`
}

func systemUserOut(u *ent.SystemUser) SystemUser {
	out := SystemUser{ID: u.ID, Username: u.Username, Account: u.AccountID, Home: u.Home, Directory: u.Directory,
		Shell: u.Shell, Groups: []int{}, IsMain: u.IsMain, IsActive: u.IsActive, HasPassword: u.Password != "",
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version}
	for _, g := range u.Edges.Groups {
		out.Groups = append(out.Groups, g.ID)
	}
	return out
}

var systemUserListing = api.Listing{
	Orderable: []string{"id", "username", "created_at", "updated_at", "account_id"},
	Search:    []string{"username"},
	Default:   "username",
	Unique:    []string{"username"},
}

type systemUserBody struct {
	ETag string `header:"ETag"`
	Body SystemUser
}

// hashSystemPassword checks and hashes a clear password for user.
func hashSystemPassword(ctx context.Context, pw, user string) (string, error) {
	if msg := PasswordProblem(ctx, pw, user); msg != "" {
		var errs validate.Errors
		errs.Add("password", msg)
		return "", errs.Err()
	}
	return HashPassword(pw)
}

// systemUserList is the list of system users' parameters.
type systemUserList struct {
	api.ListParams
	Account  int           `query:"account" minimum:"0"`
	IsMain   api.BoolParam `query:"is_main" enum:"true,false"`
	IsActive api.BoolParam `query:"is_active" enum:"true,false"`
}

func (l systemUserList) Filters() []any {
	return []any{"account_id", l.Account, "is_main", l.IsMain, "is_active", l.IsActive}
}

// The bodies of a system user's create and update are unnamed (aliases):
// the OpenAPI document names them after their operations.
type (
	systemUserCreate = struct {
		Username  string `json:"username" maxLength:"32"`
		Password  string `json:"password,omitempty" maxLength:"256" doc:"Stored as a SHA-512 crypt hash; without one the user logs in with keys only." ent:"-"`
		Account   int    `json:"account,omitempty" ent:"account_id,omitzero"`
		Home      string `json:"home,omitempty" maxLength:"256"`
		Directory string `json:"directory,omitempty" maxLength:"256"`
		Shell     string `json:"shell,omitempty" maxLength:"64"`
		Groups    []int  `json:"groups,omitempty" maxItems:"100" ent:"-"`
		IsActive  *bool  `json:"is_active,omitempty"`
	}
	systemUserPatch = struct {
		Home      *string `json:"home,omitempty" maxLength:"256"`
		Directory *string `json:"directory,omitempty" maxLength:"256"`
		Shell     *string `json:"shell,omitempty" maxLength:"64"`
		Groups    *[]int  `json:"groups,omitempty" maxItems:"100" doc:"Replaces the groups." ent:"-"`
		IsActive  *bool   `json:"is_active,omitempty"`
		Version   *int    `json:"version,omitempty"`
	}
)

// SystemUsers are the UNIX users of accounts.
var SystemUsers = api.Model[ent.SystemUser, *ent.SystemUserQuery, SystemUser, systemUserCreate, systemUserPatch, systemUserList]{
	Name: "system-user", Plural: "system-users", Tag: "System users",
	List: "List system users", Get: "Get a system user", Create: "Add a system user",
	Update: "Change a system user", Delete: "Delete a system user",
	CreateExample: map[string]any{"username": "web", "password": "Str0ng-pass-phrase", "shell": "/bin/bash"},
	UpdateExample: map[string]any{"is_active": false, "version": 1},
	Listing:       systemUserListing,
	Presentation: api.Presentation{Name: "system-user", Fieldsets: []api.Fieldset{api.Set("", "account", "username", "password", "shell", "groups", "is_active"), api.Set("Home directory", "home", "directory")}, Label: "System users", Singular: "System user", Group: "services",
		Title: "username", Columns: []string{"is_main", "shell", "home", "is_active", "account"}, Toggle: "is_active",
		Type: "SystemUser", Applied: true},
	Client: func(c *ent.Client) api.Client[ent.SystemUser, *ent.SystemUserQuery] { return c.SystemUser },
	Out:    systemUserOut,
	Load:   func(q *ent.SystemUserQuery) *ent.SystemUserQuery { return q.WithGroups() },
	BeforeCreate: func(ctx context.Context, tx *ent.Tx, in systemUserCreate, c ent.Saver[ent.SystemUser]) error {
		hash := ""
		if in.Password != "" {
			var err error
			if hash, err = hashSystemPassword(ctx, in.Password, in.Username); err != nil {
				return err
			}
		}
		c.(*ent.SystemUserCreate).SetPassword(hash).AddGroupIDs(in.Groups...)
		return nil
	},
	BeforeUpdate: func(ctx context.Context, tx *ent.Tx, id int, in systemUserPatch, u ent.Saver[ent.SystemUser]) error {
		if in.Groups != nil {
			u.(*ent.SystemUserUpdateOne).ClearGroups().AddGroupIDs(*in.Groups...)
		}
		return nil
	},
}

func init() {
	api.Declare(SystemUsers)
	api.Operations(operations)
}

// operations are the system users' own: a password, permissions, links and
// path checks on the servers.
func operations(s *api.Server) {
	a, st := s.API(), s.Store()
	get := func(ctx context.Context, id int) (*ent.SystemUser, error) {
		return st.SystemUser.Query().Where(systemuser.ID(id)).WithGroups().Only(ctx)
	}
	setPw := api.Example(api.Op("set-system-user-password", http.MethodPost, "/system-users/{id}/password", "Set a system user's password", "System users"),
		map[string]any{"password": "An0ther-pass-phrase"})
	setPw.DefaultStatus = http.StatusOK
	huma.Register(a, setPw, func(ctx context.Context, in *struct {
		api.IDPath
		Body struct {
			Password string `json:"password" maxLength:"256"`
		}
	}) (*systemUserBody, error) {
		u, err := get(ctx, in.ID)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		hash, err := hashSystemPassword(ctx, in.Body.Password, u.Username)
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.SystemUser.UpdateOneID(in.ID).SetPassword(hash).Exec(ctx)
		})
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		if u, err = get(ctx, in.ID); err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &systemUserBody{ETag: api.ETag(u.Version), Body: systemUserOut(u)}, nil
	})

	perm := api.Op("set-system-user-permission", http.MethodPost, "/system-users/{id}/permissions",
		"Grant or revoke a system user's access to a path of its account (ACL)", "System users")
	perm.DefaultStatus = http.StatusOK
	huma.Register(a, perm, func(ctx context.Context, in *struct {
		api.IDPath
		Prefer string `header:"Prefer"`
		Body   struct {
			Path   string `json:"path" maxLength:"1024" doc:"An absolute path inside a home of one of the account's system users."`
			Access string `json:"access" enum:"r,w,rw"`
			Mode   string `json:"mode" enum:"grant,revoke"`
		}
	}) (*struct{ Body api.ActionResult }, error) {
		return s.Action(ctx, "SystemUser", in.ID, in.Prefer, Backend, ActionSetPermission,
			map[string]string{"path": in.Body.Path, "access": in.Body.Access, "mode": in.Body.Mode})
	})

	link := api.Op("create-system-user-link", http.MethodPost, "/system-users/{id}/links",
		"Create a symbolic link in a system user's home", "System users")
	link.DefaultStatus = http.StatusOK
	huma.Register(a, link, func(ctx context.Context, in *struct {
		api.IDPath
		Prefer string `header:"Prefer"`
		Body   struct {
			Target string `json:"target" maxLength:"1024" doc:"An absolute path inside a home of the account's system users."`
			Name   string `json:"name" maxLength:"256" doc:"The link's path inside the user's home."`
		}
	}) (*struct{ Body api.ActionResult }, error) {
		return s.Action(ctx, "SystemUser", in.ID, in.Prefer, Backend, ActionCreateLink,
			map[string]string{"target": in.Body.Target, "name": in.Body.Name})
	})

	check := api.Op("check-system-user-paths", http.MethodPost, "/system-users/{id}/check-paths",
		"Check that paths exist on the system user's servers", "System users")
	check.DefaultStatus = http.StatusOK
	huma.Register(a, check, func(ctx context.Context, in *struct {
		api.IDPath
		Prefer string `header:"Prefer"`
		Body   struct {
			Paths []string `json:"paths" minItems:"1" maxItems:"100"`
		}
	}) (*struct{ Body api.ActionResult }, error) {
		var errs validate.Errors
		for i, p := range in.Body.Paths {
			if strings.ContainsAny(p, "\r\n") { // the action's argument holds one path per line
				errs.Add(fmt.Sprintf("paths[%d]", i), i18n.T(ctx, "Enter this on one line."))
			}
		}
		if err := errs.Err(); err != nil {
			return nil, api.Fail(ctx, err)
		}
		return s.Action(ctx, "SystemUser", in.ID, in.Prefer, Backend, ActionCheckPaths,
			map[string]string{"paths": strings.Join(in.Body.Paths, "\n")})
	})
}
