package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
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

var systemUserListing = Listing{
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
	if msg := systemusers.PasswordProblem(ctx, pw, user); msg != "" {
		var errs validate.Errors
		errs.Add("password", msg)
		return "", errs.Err()
	}
	return systemusers.HashPassword(pw)
}

func (s *Server) systemUserRoutes() {
	get := func(ctx context.Context, id int) (*ent.SystemUser, error) {
		return s.st.SystemUser.Query().Where(systemuser.ID(id)).WithGroups().Only(ctx)
	}
	huma.Register(s.api, present(op("list-system-users", http.MethodGet, "/system-users", "List system users", "System users"), systemUserListing, Presentation{Name: "system-user", Label: "System users", Singular: "System user", Group: "services", Title: "username", Columns: []string{"is_main", "shell", "home", "is_active", "account"}, Toggle: "is_active", Type: "SystemUser", Applied: true}),
		func(ctx context.Context, in *struct {
			ListParams
			Account  int       `query:"account" minimum:"0"`
			IsMain   boolParam `query:"is_main" enum:"true,false"`
			IsActive boolParam `query:"is_active" enum:"true,false"`
		}) (*struct{ Body *Page[SystemUser] }, error) {
			where, order, err := systemUserListing.plan(ctx, in.ListParams, eq("account_id", in.Account, "is_main", in.IsMain, "is_active", in.IsActive))
			if err != nil {
				return nil, err
			}
			q := s.st.SystemUser.Query().Where(predicate.SystemUser(where)).WithGroups()
			for _, o := range order {
				q = q.Order(systemuser.OrderOption(o))
			}
			page, err := paginate(ctx, q, in.ListParams, systemUserOut)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[SystemUser] }{page}, nil
		})

	huma.Register(s.api, op("get-system-user", http.MethodGet, "/system-users/{id}", "Get a system user", "System users"),
		func(ctx context.Context, in *IDPath) (*systemUserBody, error) {
			u, err := get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &systemUserBody{ETag: etag(u.Version), Body: systemUserOut(u)}, nil
		})

	huma.Register(s.api, example(op("create-system-user", http.MethodPost, "/system-users", "Add a system user", "System users"),
		map[string]any{"username": "web", "password": "Str0ng-pass-phrase", "shell": "sftp-only"}),
		func(ctx context.Context, in *struct {
			Body struct {
				Username  string `json:"username" maxLength:"32"`
				Password  string `json:"password,omitempty" maxLength:"256" doc:"Stored as a SHA-512 crypt hash; without one the user logs in with keys only."`
				Account   int    `json:"account,omitempty"`
				Home      string `json:"home,omitempty" maxLength:"256"`
				Directory string `json:"directory,omitempty" maxLength:"256"`
				Shell     string `json:"shell,omitempty" maxLength:"64"`
				Groups    []int  `json:"groups,omitempty" maxItems:"100"`
				IsActive  *bool  `json:"is_active,omitempty"`
			}
		}) (*struct {
			Location string `header:"Location"`
			ETag     string `header:"ETag"`
			Body     SystemUser
		}, error) {
			b := in.Body
			hash := ""
			if b.Password != "" {
				var err error
				if hash, err = hashSystemPassword(ctx, b.Password, b.Username); err != nil {
					return nil, fail(ctx, err)
				}
			}
			var id int
			err := s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				c := tx.SystemUser.Create().SetUsername(b.Username).SetPassword(hash).SetHome(b.Home).
					SetDirectory(b.Directory).SetShell(b.Shell).SetNillableIsActive(b.IsActive).AddGroupIDs(b.Groups...)
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
			u, err := get(ctx, id)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct {
				Location string `header:"Location"`
				ETag     string `header:"ETag"`
				Body     SystemUser
			}{Prefix + "/system-users/" + strconv.Itoa(u.ID), etag(u.Version), systemUserOut(u)}, nil
		})

	huma.Register(s.api, example(op("update-system-user", http.MethodPatch, "/system-users/{id}", "Change a system user", "System users"),
		map[string]any{"shell": "/dev/null", "version": 1}),
		func(ctx context.Context, in *struct {
			IDPath
			Versioned
			Body struct {
				Home      *string `json:"home,omitempty" maxLength:"256"`
				Directory *string `json:"directory,omitempty" maxLength:"256"`
				Shell     *string `json:"shell,omitempty" maxLength:"64"`
				Groups    *[]int  `json:"groups,omitempty" maxItems:"100" doc:"Replaces the groups."`
				IsActive  *bool   `json:"is_active,omitempty"`
				Version   *int    `json:"version,omitempty"`
			}
		}) (*systemUserBody, error) {
			v, err := expectedVersion(ctx, in.IfMatch, in.Body.Version)
			if err != nil {
				return nil, err
			}
			b := in.Body
			err = s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				q := tx.SystemUser.UpdateOneID(in.ID).Where(systemuser.VersionEQ(v)).SetNillableHome(b.Home).
					SetNillableDirectory(b.Directory).SetNillableShell(b.Shell).SetNillableIsActive(b.IsActive)
				if b.Groups != nil {
					q.ClearGroups().AddGroupIDs(*b.Groups...)
				}
				_, err := q.Save(ctx)
				if ent.IsNotFound(err) {
					return staleOrMissing(ctx, tx.SystemUser.Query().Where(systemuser.ID(in.ID)).Exist)
				}
				return err
			})
			if err != nil {
				return nil, fail(ctx, err)
			}
			u, err := get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &systemUserBody{ETag: etag(u.Version), Body: systemUserOut(u)}, nil
		})

	setPw := example(op("set-system-user-password", http.MethodPost, "/system-users/{id}/password", "Set a system user's password", "System users"),
		map[string]any{"password": "An0ther-pass-phrase"})
	setPw.DefaultStatus = http.StatusOK
	huma.Register(s.api, setPw, func(ctx context.Context, in *struct {
		IDPath
		Body struct {
			Password string `json:"password" maxLength:"256"`
		}
	}) (*systemUserBody, error) {
		u, err := get(ctx, in.ID)
		if err != nil {
			return nil, fail(ctx, err)
		}
		hash, err := hashSystemPassword(ctx, in.Body.Password, u.Username)
		if err != nil {
			return nil, fail(ctx, err)
		}
		err = s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.SystemUser.UpdateOneID(in.ID).SetPassword(hash).Exec(ctx)
		})
		if err != nil {
			return nil, fail(ctx, err)
		}
		if u, err = get(ctx, in.ID); err != nil {
			return nil, fail(ctx, err)
		}
		return &systemUserBody{ETag: etag(u.Version), Body: systemUserOut(u)}, nil
	})

	huma.Register(s.api, op("delete-system-user", http.MethodDelete, "/system-users/{id}", "Delete a system user", "System users"),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			return nil, fail(ctx, s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return tx.SystemUser.DeleteOneID(in.ID).Exec(ctx)
			}))
		})
}

// ActionResult is what a system user's custom action did on its servers.
type ActionResult struct {
	State string       `json:"state" doc:"The most serious state of its units, PENDING if the wait ended first, empty if no server is routed."`
	Units []ActionUnit `json:"units"`
}

// ActionUnit is one server's run of an action.
type ActionUnit struct {
	Log    int    `json:"log"`
	Server int    `json:"server"`
	State  string `json:"state"`
	Output string `json:"output" doc:"What the action printed on the server."`
}

// systemUserAction runs a custom action of the unix-user backend for one
// user on the servers its routes pick, waiting as a write does (Prefer).
func (s *Server) systemUserAction(ctx context.Context, id int, prefer []string, action string, args map[string]string) (*struct{ Body ActionResult }, error) {
	// the planner decides who may ask and checks the arguments
	ex, err := s.executor(ctx)
	if err != nil {
		return nil, err
	}
	units, err := ex.Orchestrate(ctx, orchestration.Selection{Model: "SystemUser", IDs: []int{id},
		Backend: systemusers.Backend, Action: action, Args: args}, false)
	if err != nil {
		return nil, selectionFail(ctx, err)
	}
	wait, _, _ := preference(prefer)
	wctx, cancel := context.WithTimeout(ctx, max(wait, orchestration.SyncWait.Get()))
	defer cancel()
	var ids []int
	for _, u := range units {
		if u.LogID != 0 {
			ids = append(ids, u.LogID)
		}
	}
	out := &struct{ Body ActionResult }{ActionResult{Units: []ActionUnit{}}}
	if len(ids) == 0 {
		return out, nil
	}
	logs, err := ex.Await(wctx, ids)
	if err != nil {
		return nil, fail(ctx, err)
	}
	for _, l := range logs {
		state := l.State
		if !orchestration.Final(state) {
			state = orchestration.StatePending
		}
		out.Body.Units = append(out.Body.Units, ActionUnit{Log: l.ID, Server: l.ServerID, State: state, Output: l.Stdout + l.Stderr})
		if out.Body.State == "" || state != orchestration.StateSuccess && out.Body.State == orchestration.StateSuccess {
			out.Body.State = state
		}
	}
	return out, nil
}

func (s *Server) systemUserActionRoutes() {
	perm := op("set-system-user-permission", http.MethodPost, "/system-users/{id}/permissions",
		"Grant or revoke a system user's access to a path of its account (ACL)", "System users")
	perm.DefaultStatus = http.StatusOK
	huma.Register(s.api, perm, func(ctx context.Context, in *struct {
		IDPath
		Prefer string `header:"Prefer"`
		Body   struct {
			Path   string `json:"path" maxLength:"1024" doc:"An absolute path inside a home of one of the account's system users."`
			Access string `json:"access" enum:"r,w,rw"`
			Mode   string `json:"mode" enum:"grant,revoke"`
		}
	}) (*struct{ Body ActionResult }, error) {
		return s.systemUserAction(ctx, in.ID, []string{in.Prefer}, systemusers.ActionSetPermission,
			map[string]string{"path": in.Body.Path, "access": in.Body.Access, "mode": in.Body.Mode})
	})

	link := op("create-system-user-link", http.MethodPost, "/system-users/{id}/links",
		"Create a symbolic link in a system user's home", "System users")
	link.DefaultStatus = http.StatusOK
	huma.Register(s.api, link, func(ctx context.Context, in *struct {
		IDPath
		Prefer string `header:"Prefer"`
		Body   struct {
			Target string `json:"target" maxLength:"1024" doc:"An absolute path inside a home of the account's system users."`
			Name   string `json:"name" maxLength:"256" doc:"The link's path inside the user's home."`
		}
	}) (*struct{ Body ActionResult }, error) {
		return s.systemUserAction(ctx, in.ID, []string{in.Prefer}, systemusers.ActionCreateLink,
			map[string]string{"target": in.Body.Target, "name": in.Body.Name})
	})

	check := op("check-system-user-paths", http.MethodPost, "/system-users/{id}/check-paths",
		"Check that paths exist on the system user's servers", "System users")
	check.DefaultStatus = http.StatusOK
	huma.Register(s.api, check, func(ctx context.Context, in *struct {
		IDPath
		Prefer string `header:"Prefer"`
		Body   struct {
			Paths []string `json:"paths" minItems:"1" maxItems:"100"`
		}
	}) (*struct{ Body ActionResult }, error) {
		return s.systemUserAction(ctx, in.ID, []string{in.Prefer}, systemusers.ActionCheckPaths,
			map[string]string{"paths": strings.Join(in.Body.Paths, "\n")})
	})
}
