package api

import (
	"cmp"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/server"
)

// ManagedServer is a server the panel runs scripts on, as the API shows it.
type ManagedServer struct {
	ID                 int               `json:"id"`
	Name               string            `json:"name"`
	Address            string            `json:"address" doc:"IP address or host name; empty means the name is the address."`
	SSHPort            int               `json:"ssh_port"`
	SSHUser            string            `json:"ssh_user"`
	HostKey            string            `json:"host_key" doc:"The pinned SSH host key; empty until confirmed. Connections to a server presenting another key are refused."`
	HostKeyFingerprint string            `json:"host_key_fingerprint,omitempty"`
	Description        string            `json:"description"`
	OS                 string            `json:"os"`
	Settings           map[string]string `json:"settings" doc:"Setting values for this server only (paths, daemon names)."`
	IsActive           bool              `json:"is_active" doc:"Inactive servers get no new units."`
	CreatedAt          time.Time         `json:"created_at"`
	UpdatedAt          time.Time         `json:"updated_at"`
	Version            int               `json:"version"`
}

func fingerprint(key string) string {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return ""
	}
	return ssh.FingerprintSHA256(k)
}

func serverOut(s *ent.Server) ManagedServer {
	return ManagedServer{ID: s.ID, Name: s.Name, Address: s.Address, SSHPort: s.SSHPort, SSHUser: s.SSHUser,
		HostKey: s.HostKey, HostKeyFingerprint: fingerprint(s.HostKey), Description: s.Description, OS: s.Os,
		Settings: s.Settings, IsActive: s.IsActive, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Version: s.Version}
}

// ServerCreate is the body of a new server.
type ServerCreate struct {
	Name        string            `json:"name" maxLength:"256"`
	Address     string            `json:"address,omitempty" maxLength:"256"`
	SSHPort     int               `json:"ssh_port,omitempty" minimum:"0" maximum:"65535" doc:"22 when omitted." ent:"ssh_port,omitzero"`
	SSHUser     string            `json:"ssh_user,omitempty" maxLength:"32" doc:"root when omitted." ent:"ssh_user,omitzero"`
	HostKey     string            `json:"host_key,omitempty" maxLength:"4096" doc:"Pin this key now (from the server's /etc/ssh/ssh_host_*_key.pub); or confirm the presented one later."`
	Description string            `json:"description,omitempty" maxLength:"10000"`
	OS          string            `json:"os,omitempty" maxLength:"32" doc:"LINUX when omitted." ent:"os,omitzero"`
	Settings    map[string]string `json:"settings,omitempty" ent:"settings,omitzero"`
	IsActive    *bool             `json:"is_active,omitempty"`
}

// ServerPatch changes the fields it names.
type ServerPatch struct {
	Name        *string            `json:"name,omitempty" maxLength:"256"`
	Address     *string            `json:"address,omitempty" maxLength:"256"`
	SSHPort     *int               `json:"ssh_port,omitempty" minimum:"1" maximum:"65535"`
	SSHUser     *string            `json:"ssh_user,omitempty" maxLength:"32"`
	HostKey     *string            `json:"host_key,omitempty" maxLength:"4096" doc:"Replace the pinned key (after a reinstall); empty unpins it."`
	Description *string            `json:"description,omitempty" maxLength:"10000"`
	OS          *string            `json:"os,omitempty" maxLength:"32"`
	Settings    *map[string]string `json:"settings,omitempty" doc:"Replaces all the server's setting values."`
	IsActive    *bool              `json:"is_active,omitempty"`
	Version     *int               `json:"version,omitempty"`
}

type serverBody struct {
	ETag string `header:"ETag"`
	Body ManagedServer
}

// serverList is the list of servers' parameters.
type serverList struct {
	ListParams
	Name     string    `query:"name" maxLength:"256"`
	OS       string    `query:"os" maxLength:"32"`
	IsActive boolParam `query:"is_active" enum:"true,false"`
}

func (l serverList) Filters() []any {
	return []any{"name", l.Name, "os", l.OS, "is_active", l.IsActive}
}

// Servers are the machines the panel runs scripts on.
var Servers = Model[ent.Server, *ent.ServerQuery, ManagedServer, ServerCreate, ServerPatch, serverList]{
	Name: "server", Plural: "servers", Tag: "Orchestration",
	List: "List servers (staff)", Get: "Get a server (staff)", Create: "Add a server (staff)",
	Update: "Change a server (staff)", Delete: "Remove a server and its routes (staff)",
	Listing: serverListing,
	Presentation: Presentation{Name: "server", Fieldsets: []Fieldset{Set("", "name", "address", "os", "description", "is_active"), Set("SSH connection", "ssh_user", "ssh_port", "host_key"), Set("Backend settings", "settings")}, Label: "Servers", Singular: "Server", Group: "administration",
		Title: "name", Columns: []string{"address", "os", "is_active"}, Toggle: "is_active", Staff: true, Type: "Server"},
	Client: func(c *ent.Client) Client[ent.Server, *ent.ServerQuery] { return c.Server },
	Out:    serverOut,
}

var serverListing = Listing{
	Orderable: []string{"id", "name", "address", "os", "created_at", "updated_at"},
	Search:    []string{"name", "address", "description"},
	Default:   "name",
	Unique:    []string{"name"},
}

// Route is a route as the API shows it.
type Route struct {
	ID           int       `json:"id"`
	Backend      string    `json:"backend"`
	Server       int       `json:"server"`
	Match        string    `json:"match" doc:"expr-lang expression over the backend's model, e.g. database.type == \"mysql\"; true matches everything."`
	Async        bool      `json:"async" doc:"Writes do not wait for this route's units."`
	AsyncActions []string  `json:"async_actions" doc:"Actions run asynchronously even when the route is not."`
	IsActive     bool      `json:"is_active"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	Version      int       `json:"version"`
}

func routeOut(r *ent.Route) Route {
	return Route{ID: r.ID, Backend: r.Backend, Server: r.ServerID, Match: r.Match, Async: r.Async,
		AsyncActions: r.AsyncActions, IsActive: r.IsActive, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

// RouteCreate is the body of a new route.
type RouteCreate struct {
	Backend      string   `json:"backend" maxLength:"128"`
	Server       int      `json:"server" minimum:"1" ent:"server_id"`
	Match        string   `json:"match,omitempty" maxLength:"1024" doc:"true when omitted."`
	Async        bool     `json:"async,omitempty"`
	AsyncActions []string `json:"async_actions,omitempty" maxItems:"32" ent:"async_actions,omitzero"`
	IsActive     *bool    `json:"is_active,omitempty"`
}

// RoutePatch changes the fields it names.
type RoutePatch struct {
	Backend      *string   `json:"backend,omitempty" maxLength:"128"`
	Server       *int      `json:"server,omitempty" minimum:"1" ent:"server_id"`
	Match        *string   `json:"match,omitempty" maxLength:"1024"`
	Async        *bool     `json:"async,omitempty"`
	AsyncActions *[]string `json:"async_actions,omitempty" maxItems:"32"`
	IsActive     *bool     `json:"is_active,omitempty"`
	Version      *int      `json:"version,omitempty"`
}

// routeList is the list of routes' parameters.
type routeList struct {
	ListParams
	Backend  string    `query:"backend" maxLength:"128"`
	Server   int       `query:"server" minimum:"0"`
	IsActive boolParam `query:"is_active" enum:"true,false"`
}

func (l routeList) Filters() []any {
	return []any{"backend", l.Backend, "server_id", l.Server, "is_active", l.IsActive}
}

// Routes send a backend's objects to a server.
var Routes = Model[ent.Route, *ent.RouteQuery, Route, RouteCreate, RoutePatch, routeList]{
	Name: "route", Plural: "routes", Tag: "Orchestration",
	List: "List routes (staff)", Get: "Get a route (staff)", Create: "Add a route (staff)",
	Update: "Change a route (staff)", Delete: "Remove a route (staff)",
	Listing: routeListing,
	Presentation: Presentation{Name: "route", Choices: map[string]Choice{"backend": {From: backendNames, Named: true}}, Fieldsets: []Fieldset{Set("", "backend", "server", "match", "is_active"), Set("Execution", "async", "async_actions")}, Label: "Routes", Singular: "Route", Group: "administration", Title: "id",
		Columns: []string{"backend", "server", "match", "async", "is_active"}, Toggle: "is_active", Staff: true, Type: "Route"},
	Client: func(c *ent.Client) Client[ent.Route, *ent.RouteQuery] { return c.Route },
	Out:    routeOut,
	BeforeCreate: func(ctx context.Context, tx *ent.Tx, in RouteCreate, _ ent.Saver[ent.Route]) error {
		return serverExists(ctx, tx, in.Server)
	},
	BeforeUpdate: func(ctx context.Context, tx *ent.Tx, _ int, in RoutePatch, _ ent.Saver[ent.Route]) error {
		if in.Server == nil {
			return nil
		}
		return serverExists(ctx, tx, *in.Server)
	},
	SaveError: func(ctx context.Context, err error) error {
		if ent.IsConstraintError(err) {
			return routeTaken(ctx)
		}
		return err
	},
}

var routeListing = Listing{
	Orderable: []string{"id", "backend", "server_id", "created_at", "updated_at"},
	Search:    []string{"backend", "match"},
	Default:   "backend",
}

// BackendInfo describes a registered backend.
type BackendInfo struct {
	Name          string   `json:"name"`
	Verbose       string   `json:"verbose"`
	Model         string   `json:"model"`
	Actions       []string `json:"actions"`
	RelatedModels []string `json:"related_models" doc:"Changes of these models re-apply the related objects of the backend's model."`
	IgnoreFields  []string `json:"ignore_fields" doc:"A change of only these fields is not applied."`
	DefaultMatch  string   `json:"default_match"`
	InProcess     bool     `json:"in_process" doc:"Runs in the panel (talks to an HTTP API) rather than as a script over SSH."`
}

// Ping is what a server answered.
type Ping struct {
	Reachable     bool    `json:"reachable"`
	UptimeSeconds int64   `json:"uptime_seconds,omitempty"`
	LatencyMS     float64 `json:"latency_ms"`
	Error         string  `json:"error,omitempty" doc:"Why the server was not reached, in words."`
	Detail        string  `json:"detail,omitempty" doc:"The error as the SSH client gave it."`
}

// PanelKey is what a server needs to let the panel in.
type PanelKey struct {
	AuthorizedKey string `json:"authorized_key" doc:"The line to add to the SSH user's ~/.ssh/authorized_keys."`
	Fingerprint   string `json:"fingerprint" doc:"The key's SHA256 fingerprint."`
	User          string `json:"user" doc:"The user the panel logs in as."`
	Command       string `json:"command" doc:"A shell command, run as root on the server, that adds the line."`
}

// HostKeyInfo compares the key a server presents with the pinned one.
type HostKeyInfo struct {
	Presented            string `json:"presented"`
	PresentedFingerprint string `json:"presented_fingerprint"`
	Pinned               string `json:"pinned"`
	PinnedFingerprint    string `json:"pinned_fingerprint,omitempty"`
	Matches              bool   `json:"matches" doc:"False with a pinned key means the server's key changed: the panel refuses to connect until staff pin the new one."`
}

// PlannedUnit is a unit of work a resync or retry planned.
type PlannedUnit struct {
	Log        int    `json:"log,omitempty" doc:"The execution log to follow; absent on a dry run."`
	Server     int    `json:"server"`
	Backend    string `json:"backend"`
	State      string `json:"state"`
	Problem    string `json:"problem,omitempty"`
	Operations int    `json:"operations"`
	Script     string `json:"script,omitempty" doc:"On a dry run: the script that would run."`
}

func plannedOut(u orchestration.Unit, withScript bool) PlannedUnit {
	p := PlannedUnit{Log: u.LogID, Server: u.Server.ID, Backend: u.Backend, State: u.State, Problem: u.Problem, Operations: u.Operations}
	if withScript {
		p.Script = u.Script
	}
	return p
}

// executor returns the process's executor, or a 503 when this process
// does not run one.
func (s *Server) executor(ctx context.Context) (*orchestration.Executor, error) {
	if s.cfg.Executor == nil {
		return nil, huma.Error503ServiceUnavailable(i18n.T(ctx, "Orchestration does not run in this process."))
	}
	return s.cfg.Executor, nil
}

func (s *Server) serverRoutes() {
	Servers.register(s)

	ping := op("ping-server", http.MethodPost, "/servers/{id}/ping", "Check that the panel reaches a server over SSH (staff)", "Orchestration")
	ping.DefaultStatus = http.StatusOK
	huma.Register(s.api, ping, func(ctx context.Context, in *IDPath) (*struct{ Body Ping }, error) {
		srv, err := s.st.Server.Get(ctx, in.ID)
		if err != nil {
			return nil, fail(ctx, err)
		}
		ex, err := s.executor(ctx)
		if err != nil {
			return nil, err
		}
		if srv.HostKey == "" { // the panel connects only to a key staff pinned
			return &struct{ Body Ping }{Ping{Error: i18n.T(ctx, "its host key is not pinned yet: pin it on the server's page.")}}, nil
		}
		p := ex.Ping(ctx, srv)
		out := Ping{Reachable: p.Reachable, UptimeSeconds: int64(p.Uptime.Seconds()),
			LatencyMS: float64(p.Latency.Microseconds()) / 1000}
		if p.Error != "" {
			out.Error, out.Detail = sshProblem(ctx, p.Error), p.Error
		}
		return &struct{ Body Ping }{out}, nil
	})

	huma.Register(s.api, op("get-server-host-key", http.MethodGet, "/servers/{id}/host-key",
		"Read the host key a server presents, to compare with the pinned one (staff)", "Orchestration"),
		func(ctx context.Context, in *IDPath) (*struct{ Body HostKeyInfo }, error) {
			srv, err := s.st.Server.Get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			key, err := orchestration.HostKey(ctx, srv)
			if err != nil {
				return nil, huma.Error502BadGateway(i18n.T(ctx, "The panel could not read the server's host key: %s", sshProblem(ctx, err.Error())),
					&huma.ErrorDetail{Message: err.Error()})
			}
			return &struct{ Body HostKeyInfo }{HostKeyInfo{Presented: key, PresentedFingerprint: fingerprint(key),
				Pinned: srv.HostKey, PinnedFingerprint: fingerprint(srv.HostKey), Matches: srv.HostKey == key}}, nil
		})

	authorize := Labelled(op("get-server-panel-key", http.MethodGet, "/servers/{id}/panel-key",
		"How to let the panel log in to a server: its public key, as the server's authorized_keys takes it (staff)", "Orchestration"),
		"Authorize the panel")
	huma.Register(s.api, authorize, func(ctx context.Context, in *IDPath) (*struct{ Body PanelKey }, error) {
		srv, err := s.st.Server.Get(ctx, in.ID)
		if err != nil {
			return nil, fail(ctx, err)
		}
		ex, err := s.executor(ctx)
		if err != nil {
			return nil, err
		}
		key := ex.PublicKey()
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + " orchestra-panel"
		user := cmp.Or(srv.SSHUser, "root")
		return &struct{ Body PanelKey }{PanelKey{AuthorizedKey: line, Fingerprint: ssh.FingerprintSHA256(key), User: user,
			Command: "h=$(getent passwd " + orchestration.Quote(user) + " | cut -d: -f6) && install -d -m 700 -- \"$h/.ssh\" && " +
				"printf '%s\\n' " + orchestration.Quote(line) + " >> \"$h/.ssh/authorized_keys\" && " +
				"chown -R -- " + orchestration.Quote(user) + ": \"$h/.ssh\""}}, nil
	})

	confirm := Labelled(op("confirm-server-host-key", http.MethodPost, "/servers/{id}/host-key",
		"Pin the host key the server presents, after checking its fingerprint (staff)", "Orchestration"), "Pin host key")
	confirm.DefaultStatus = http.StatusOK
	confirm.Description = "Trust on first use, made explicit: the key is read again and pinned only if its " +
		"SHA256 fingerprint is the one given, which staff compare with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)."
	huma.Register(s.api, confirm, func(ctx context.Context, in *struct {
		IDPath
		Body struct {
			Fingerprint string `json:"fingerprint" maxLength:"128" doc:"The SHA256:… fingerprint the server's host key page shows, once you have checked it against the server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)."`
		}
	}) (*serverBody, error) {
		srv, err := s.st.Server.Get(ctx, in.ID)
		if err != nil {
			return nil, fail(ctx, err)
		}
		key, err := orchestration.HostKey(ctx, srv)
		if err != nil {
			return nil, huma.Error502BadGateway(i18n.T(ctx, "The panel could not read the server's host key: %s", sshProblem(ctx, err.Error())),
				&huma.ErrorDetail{Message: err.Error()})
		}
		if fingerprint(key) != strings.TrimSpace(in.Body.Fingerprint) {
			msg := i18n.T(ctx, "The server presents the key %s, not the one confirmed: nothing was pinned.", fingerprint(key))
			return nil, huma.Error409Conflict(msg, &huma.ErrorDetail{Location: "body.fingerprint", Message: msg})
		}
		err = s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			srv, err = tx.Server.UpdateOneID(in.ID).SetHostKey(key).Save(ctx)
			return err
		})
		if err != nil {
			return nil, fail(ctx, err)
		}
		return &serverBody{ETag: etag(srv.Version), Body: serverOut(srv)}, nil
	})

	resync := Labelled(op("resync-server", http.MethodPost, "/servers/{id}/resync",
		"Apply every object routed to a server again (staff)", "Orchestration"), "Apply everything again")
	resync.DefaultStatus = http.StatusAccepted
	resync.Description = "Plans units for every object whose routes send it to this server, as the objects are now, " +
		"optionally for one backend; with dry_run the scripts are returned and nothing runs. Follow the units' logs."
	huma.Register(s.api, resync, func(ctx context.Context, in *struct {
		IDPath
		Body struct {
			Backend string `json:"backend,omitempty" maxLength:"128"`
			DryRun  bool   `json:"dry_run,omitempty"`
		}
	}) (*struct{ Body []PlannedUnit }, error) {
		srv, err := s.st.Server.Get(ctx, in.ID)
		if err != nil {
			return nil, fail(ctx, err)
		}
		return s.orchestrate(ctx, orchestration.Selection{ServerID: srv.ID, Backend: in.Body.Backend}, in.Body.DryRun)
	})
}

// orchestrate plans units for sel, as a server's resync and a route's apply
// do, and answers them (with their scripts on a dry run).
func (s *Server) orchestrate(ctx context.Context, sel orchestration.Selection, dryRun bool) (*struct{ Body []PlannedUnit }, error) {
	ex, err := s.executor(ctx)
	if err != nil {
		return nil, err
	}
	units, err := ex.Orchestrate(ctx, sel, dryRun)
	if err != nil {
		return nil, selectionFail(ctx, err)
	}
	out := make([]PlannedUnit, len(units))
	for i, u := range units {
		out[i] = plannedOut(u, dryRun)
	}
	return &struct{ Body []PlannedUnit }{out}, nil
}

// selectionFail names the selection field at fault.
func selectionFail(ctx context.Context, err error) error {
	if se, ok := err.(*orchestration.SelectionError); ok {
		return huma.Error422UnprocessableEntity(i18n.T(ctx, "validation failed"),
			&huma.ErrorDetail{Location: "body." + se.Field, Message: se.Message})
	}
	return fail(ctx, err)
}

func (s *Server) routeRoutes() {
	huma.Register(s.api, op("list-backends", http.MethodGet, "/backends", "List the backends routes can name (staff)", "Orchestration"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []BackendInfo }, error) {
			if _, err := s.st.Server.Query().Limit(1).IDs(ctx); err != nil { // staff only, as servers
				return nil, fail(ctx, err)
			}
			var out []BackendInfo
			for _, b := range orchestration.Backends() {
				info := BackendInfo{Name: b.Name, Verbose: b.Verbose, Model: b.Model, Actions: b.ActionNames(),
					RelatedModels: []string{}, IgnoreFields: append([]string{}, b.IgnoreFields...),
					DefaultMatch: b.DefaultMatch, InProcess: b.Exec != nil}
				for _, r := range b.Related {
					info.RelatedModels = append(info.RelatedModels, r.Model)
				}
				out = append(out, info)
			}
			if out == nil {
				out = []BackendInfo{}
			}
			return &struct{ Body []BackendInfo }{out}, nil
		})

	check := op("check-route-match", http.MethodPost, "/routes/check", "Check a route's match expression (staff)", "Orchestration")
	check.DefaultStatus = http.StatusOK
	huma.Register(s.api, check, func(ctx context.Context, in *struct {
		Body struct {
			Backend string `json:"backend" maxLength:"128"`
			Match   string `json:"match" maxLength:"1024"`
		}
	}) (*struct {
		Body struct {
			Valid bool   `json:"valid"`
			Error string `json:"error,omitempty" doc:"The compiler's message."`
		}
	}, error) {
		if _, err := s.st.Route.Query().Limit(1).IDs(ctx); err != nil { // staff only, as routes
			return nil, fail(ctx, err)
		}
		out := &struct {
			Body struct {
				Valid bool   `json:"valid"`
				Error string `json:"error,omitempty" doc:"The compiler's message."`
			}
		}{}
		if _, err := orchestration.CompileMatch(in.Body.Backend, in.Body.Match); err != nil {
			out.Body.Error = err.Error()
		} else {
			out.Body.Valid = true
		}
		return out, nil
	})

	Routes.register(s)

	apply := example(Labelled(op("apply-route", http.MethodPost, "/routes/{id}/apply",
		"Apply the objects a route sends to its server, as they are now (staff)", "Orchestration"), "Apply existing objects"),
		map[string]any{"dry_run": true})
	apply.DefaultStatus = http.StatusAccepted
	apply.Description = "What a new route needs once: units for every object of its backend that its match sends to its " +
		"server; with dry_run the scripts are returned and nothing runs."
	huma.Register(s.api, apply, func(ctx context.Context, in *struct {
		IDPath
		Body struct {
			DryRun bool `json:"dry_run,omitempty" doc:"Show the scripts; run nothing."`
		}
	}) (*struct{ Body []PlannedUnit }, error) {
		rt, err := s.st.Route.Get(ctx, in.ID)
		if err != nil {
			return nil, fail(ctx, err)
		}
		return s.orchestrate(ctx, orchestration.Selection{ServerID: rt.ServerID, Backend: rt.Backend}, in.Body.DryRun)
	})
}

func serverExists(ctx context.Context, tx *ent.Tx, id int) error {
	ok, err := tx.Server.Query().Where(server.ID(id)).Exist(ctx)
	if err != nil || ok {
		return err
	}
	return huma.Error422UnprocessableEntity(i18n.T(ctx, "validation failed"),
		&huma.ErrorDetail{Location: "body.server", Message: i18n.T(ctx, "No server with id %d.", id)})
}

func routeTaken(ctx context.Context) error {
	msg := i18n.T(ctx, "This backend already has a route to this server.")
	return huma.Error409Conflict(msg, &huma.ErrorDetail{Location: "body.backend", Message: msg})
}

// backendNames are the names a route may give, in the order of /backends.
func backendNames() []string {
	var out []string
	for _, b := range orchestration.Backends() {
		out = append(out, b.Name)
	}
	return out
}

// sshProblem says in words why the panel did not reach a server over SSH,
// from the SSH client's error.
func sshProblem(ctx context.Context, err string) string {
	for _, p := range []struct{ in, say string }{
		{"connection refused", i18n.M("nothing answers on its SSH port (is sshd running, is the port right?).")},
		{"no route to host", i18n.M("its address cannot be reached from the panel.")},
		{"no such host", i18n.M("its address does not resolve.")},
		{"i/o timeout", i18n.M("it did not answer in time (a firewall, or a wrong address?).")},
		{"deadline exceeded", i18n.M("it did not answer in time (a firewall, or a wrong address?).")},
		{"unable to authenticate", i18n.M("it refused the panel's key: add the panel's public key to the SSH user's authorized_keys.")},
		{"host key", i18n.M("it presented another host key than the pinned one: check it on the server's host key page.")},
	} {
		if strings.Contains(err, p.in) {
			return i18n.T(ctx, p.say)
		}
	}
	return err
}
