package web

import (
	"context"
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/webapp"
	"github.com/orchestra-panel/orchestra/internal/store/ent/website"
	"github.com/orchestra-panel/orchestra/internal/store/ent/websitecontent"
)

// AppSettingsValue is a web app's settings in a request or an answer: an
// object whose fields depend on the type, described per type in the
// OpenAPI document (x-orchestra-kinds).
type AppSettingsValue map[string]any

// Schema describes the settings of every kind of web app.
func (AppSettingsValue) Schema(r huma.Registry) *huma.Schema { return AppTypes.Describe(r) }

// DirectiveSettingsValue is a directive's settings in a request or an
// answer.
type DirectiveSettingsValue map[string]any

// Schema describes the settings of every kind of directive.
func (DirectiveSettingsValue) Schema(r huma.Registry) *huma.Schema { return Directives.Describe(r) }

// WebApp is a web app as the API shows it.
type WebApp struct {
	ID           int              `json:"id"`
	Name         string           `json:"name"`
	Account      int              `json:"account"`
	Type         string           `json:"type"`
	Settings     AppSettingsValue `json:"settings"`
	Directory    string           `json:"directory" readOnly:"true" doc:"The app's folder on the web servers (WEBAPPS_BASE_DIR)."`
	Database     *int             `json:"database,omitempty" readOnly:"true" doc:"The database a WordPress app made for itself."`
	DatabaseUser *int             `json:"database_user,omitempty" readOnly:"true" doc:"The database user a WordPress app made for itself."`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
	Version      int              `json:"version"`
}

func webappOut(a *ent.WebApp) WebApp {
	out := WebApp{ID: a.ID, Name: a.Name, Account: a.AccountID, Type: a.Type, Settings: a.Settings,
		Database: a.DatabaseID, DatabaseUser: a.DatabaseUserID, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Version: a.Version}
	if out.Settings == nil {
		out.Settings = AppSettingsValue{}
	}
	if a.Edges.Account != nil {
		out.Directory = Directory(a.Edges.Account.Username, a.Name)
	}
	return out
}

type (
	webappCreate = struct {
		Name     string           `json:"name" maxLength:"128" doc:"Lower-case letters, digits and . _ -: the name of its folder, never changed."`
		Account  int              `json:"account,omitempty" ent:"account_id,omitzero"`
		Type     string           `json:"type" maxLength:"32" doc:"How the app runs, which never changes. The kinds offered are WEBAPPS_TYPES: static, php, python, symbolic-link and wordpress."`
		Settings AppSettingsValue `json:"settings,omitempty" doc:"The type's settings; those left out take their defaults." ent:"-"`
	}
	webappPatch = struct {
		Settings AppSettingsValue `json:"settings,omitempty" doc:"Settings to change; those left out keep their values." ent:"-"`
		Version  *int             `json:"version,omitempty"`
	}
	webappList struct {
		api.ListParams
		Account int    `query:"account" minimum:"0"`
		Type    string `query:"type" maxLength:"32"`
		Website int    `query:"website" minimum:"0" doc:"Web apps mounted on this website."`
	}
)

func (l webappList) Filters() []any { return []any{"account_id", l.Account, "type", l.Type} }

func (l webappList) Where() []func(*sql.Selector) {
	if l.Website == 0 {
		return nil
	}
	return []func(*sql.Selector){webapp.HasContentsWith(websitecontent.WebsiteID(l.Website))}
}

// WebApps are accounts' applications.
var WebApps = api.Model[ent.WebApp, *ent.WebAppQuery, WebApp, webappCreate, webappPatch, webappList]{
	Name: "webapp", Plural: "webapps", Tag: "Web",
	List: "List web apps", Get: "Get a web app", Create: "Add a web app", Update: "Change a web app's settings",
	Delete:        "Delete a web app",
	CreateNote:    "A web app is a folder under the home of the account's main system user, and how its files run. Mount it on a website with a website content.",
	CreateExample: map[string]any{"name": "blog", "type": AppPHP, "settings": map[string]any{"timeout": 60, "memory_limit": "256M"}},
	UpdateExample: map[string]any{"settings": map[string]any{"processes": 5}, "version": 1},
	Listing:       api.Listing{Orderable: []string{"id", "name", "type", "created_at", "updated_at", "account_id"}, Search: []string{"name"}, Default: "name"},
	Presentation: api.Presentation{Name: "webapp", Label: "Web apps", Singular: "Web app", Group: "services",
		Fieldsets: []api.Fieldset{api.Set("", "account", "name", "type"), api.Set("Settings", "settings")},
		Choices:   map[string]api.Choice{"type": {From: AppTypes.Enabled}},
		Title:     "name", Columns: []string{"type", "directory", "account"}, Type: "WebApp", Applied: true,
		Refs: map[string]string{"database_user": "database-user"}},
	Client: func(c *ent.Client) api.Client[ent.WebApp, *ent.WebAppQuery] { return c.WebApp },
	Out:    webappOut,
	Load:   func(q *ent.WebAppQuery) *ent.WebAppQuery { return q.WithAccount() },
	BeforeCreate: func(ctx context.Context, tx *ent.Tx, in webappCreate, c ent.Saver[ent.WebApp]) error {
		if in.Settings != nil {
			c.(*ent.WebAppCreate).SetSettings(in.Settings)
		}
		return nil
	},
	BeforeUpdate: func(ctx context.Context, tx *ent.Tx, id int, in webappPatch, s ent.Saver[ent.WebApp]) error {
		if in.Settings != nil {
			s.(*ent.WebAppUpdateOne).SetSettings(in.Settings)
		}
		return nil
	},
}

// Website is a website as the API shows it.
type Website struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	Account   int       `json:"account"`
	Protocol  string    `json:"protocol"`
	Domains   []int     `json:"domains"`
	IsActive  bool      `json:"is_active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

func websiteOut(s *ent.Website) Website {
	out := Website{ID: s.ID, Name: s.Name, Account: s.AccountID, Protocol: s.Protocol, Domains: s.Domains,
		IsActive: s.IsActive, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Version: s.Version}
	if out.Domains == nil {
		out.Domains = []int{}
	}
	return out
}

type (
	websiteCreate = struct {
		Name     string `json:"name" maxLength:"128" doc:"Lower-case letters, digits and . _ -; never changed."`
		Account  int    `json:"account,omitempty" ent:"account_id,omitzero"`
		Protocol string `json:"protocol,omitempty" maxLength:"16" doc:"http, https, http/https (both) or https-only (http redirects to https); WEBSITES_DEFAULT_PROTOCOL when empty."`
		Domains  []int  `json:"domains" maxItems:"100" doc:"Domains of the account it answers for; the first that is not a wildcard names it."`
		IsActive *bool  `json:"is_active,omitempty" doc:"An inactive website is not served."`
	}
	websitePatch = struct {
		Protocol *string `json:"protocol,omitempty" maxLength:"16"`
		Domains  *[]int  `json:"domains,omitempty" maxItems:"100" doc:"Replaces the domains."`
		IsActive *bool   `json:"is_active,omitempty"`
		Version  *int    `json:"version,omitempty"`
	}
	websiteList struct {
		api.ListParams
		Account  int           `query:"account" minimum:"0"`
		Domain   int           `query:"domain" minimum:"0" doc:"Websites serving this domain."`
		Webapp   int           `query:"webapp" minimum:"0" doc:"Websites this web app is mounted on."`
		IsActive api.BoolParam `query:"is_active" enum:"true,false"`
	}
)

func (l websiteList) Filters() []any {
	return []any{"account_id", l.Account, "is_active", l.IsActive}
}

func (l websiteList) Where() []func(*sql.Selector) {
	var out []func(*sql.Selector)
	if l.Domain != 0 {
		out = append(out, func(s *sql.Selector) { s.Where(sqljson.ValueContains(website.FieldDomains, l.Domain)) })
	}
	if l.Webapp != 0 {
		out = append(out, website.HasContentsWith(websitecontent.WebappID(l.Webapp)))
	}
	return out
}

// Websites are what accounts' domains serve.
var Websites = api.Model[ent.Website, *ent.WebsiteQuery, Website, websiteCreate, websitePatch, websiteList]{
	Name: "website", Plural: "websites", Tag: "Web",
	List: "List websites", Get: "Get a website", Create: "Add a website", Update: "Change a website",
	Delete:        "Delete a website",
	CreateNote:    "A website answers for some of the account's domains over its protocol; web apps are mounted on it with website contents, and directives add redirects, proxies, error pages, protected folders and headers.",
	CreateExample: map[string]any{"name": "example", "protocol": HTTPBoth, "domains": []int{1}, "is_active": false},
	UpdateExample: map[string]any{"protocol": HTTPSOnly, "version": 1},
	Listing:       api.Listing{Orderable: []string{"id", "name", "protocol", "created_at", "updated_at", "account_id"}, Search: []string{"name"}, Default: "name"},
	Presentation: api.Presentation{Name: "website", Label: "Websites", Singular: "Website", Group: "services",
		Fieldsets: []api.Fieldset{api.Set("", "account", "name", "domains", "protocol", "is_active")},
		Choices:   map[string]api.Choice{"protocol": api.FromSetting(OfferedProtocols.Name())},
		Defaults:  map[string]string{"protocol": DefaultProtocol.Name()},
		Title:     "name", Columns: []string{"domains", "protocol", "is_active", "account"}, Toggle: "is_active",
		Refs: map[string]string{"domains": "domain"}, RefFilters: map[string]string{"domains": "host=true"}, Type: "Website", Applied: true},
	Client: func(c *ent.Client) api.Client[ent.Website, *ent.WebsiteQuery] { return c.Website },
	Out:    websiteOut,
}

// WebsiteContent is a content as the API shows it.
type WebsiteContent struct {
	ID        int       `json:"id"`
	Website   int       `json:"website"`
	Webapp    int       `json:"webapp"`
	Account   int       `json:"account"`
	Path      string    `json:"path"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

type (
	contentCreate = struct {
		Website int    `json:"website" minimum:"1" ent:"website_id"`
		Webapp  int    `json:"webapp" minimum:"1" doc:"A web app of the website's account." ent:"webapp_id"`
		Path    string `json:"path,omitempty" maxLength:"256" doc:"Where on the website, such as /blog; / (the default) for the whole site."`
	}
	contentPatch = struct {
		Webapp  *int    `json:"webapp,omitempty" minimum:"1" ent:"webapp_id"`
		Path    *string `json:"path,omitempty" maxLength:"256"`
		Version *int    `json:"version,omitempty"`
	}
	contentList struct {
		api.ListParams
		Account int `query:"account" minimum:"0"`
		Website int `query:"website" minimum:"0"`
		Webapp  int `query:"webapp" minimum:"0"`
	}
)

func (l contentList) Filters() []any {
	return []any{"account_id", l.Account, "website_id", l.Website, "webapp_id", l.Webapp}
}

// WebsiteContents mount web apps on websites.
var WebsiteContents = api.Model[ent.WebsiteContent, *ent.WebsiteContentQuery, WebsiteContent, contentCreate, contentPatch, contentList]{
	Name: "website-content", Plural: "website-contents", Tag: "Web",
	List: "List website contents", Get: "Get a website content", Create: "Mount a web app on a website",
	Update: "Change a website content", Delete: "Unmount a web app from a website",
	CreateExample: map[string]any{"website": 1, "webapp": 1, "path": "/blog"},
	UpdateExample: map[string]any{"path": "/news", "version": 1},
	Listing:       api.Listing{Orderable: []string{"id", "path", "created_at", "updated_at", "website_id", "webapp_id"}, Search: []string{"path"}, Default: "id"},
	Presentation: api.Presentation{Name: "website-content", Label: "Website contents", Singular: "Website content", Group: "services",
		Fieldsets: []api.Fieldset{api.Set("", "website", "path", "webapp")},
		Title:     "path", Columns: []string{"website", "webapp", "account"},
		Type: "WebsiteContent", Applied: true},
	Client: func(c *ent.Client) api.Client[ent.WebsiteContent, *ent.WebsiteContentQuery] { return c.WebsiteContent },
}

// WebsiteDirective is a directive as the API shows it.
type WebsiteDirective struct {
	ID        int                    `json:"id"`
	Website   int                    `json:"website"`
	Account   int                    `json:"account"`
	Type      string                 `json:"type"`
	Settings  DirectiveSettingsValue `json:"settings"`
	CreatedAt time.Time              `json:"created_at"`
	UpdatedAt time.Time              `json:"updated_at"`
	Version   int                    `json:"version"`
}

func directiveOut(d *ent.WebsiteDirective) WebsiteDirective {
	out := WebsiteDirective{ID: d.ID, Website: d.WebsiteID, Account: d.AccountID, Type: d.Type, Settings: d.Settings,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Version: d.Version}
	if out.Settings == nil {
		out.Settings = DirectiveSettingsValue{}
	}
	return out
}

type (
	directiveCreate = struct {
		Website  int                    `json:"website" minimum:"1" ent:"website_id"`
		Type     string                 `json:"type" maxLength:"32" doc:"What the directive does, which never changes. The kinds offered are WEBSITES_DIRECTIVES: redirect, proxy, error-document, protection, headers and include (staff only)."`
		Settings DirectiveSettingsValue `json:"settings,omitempty" doc:"The type's settings." ent:"-"`
	}
	directivePatch = struct {
		Settings DirectiveSettingsValue `json:"settings,omitempty" doc:"Settings to change; those left out keep their values." ent:"-"`
		Version  *int                   `json:"version,omitempty"`
	}
	directiveList struct {
		api.ListParams
		Account int    `query:"account" minimum:"0"`
		Website int    `query:"website" minimum:"0"`
		Type    string `query:"type" maxLength:"32"`
	}
)

func (l directiveList) Filters() []any {
	return []any{"account_id", l.Account, "website_id", l.Website, "type", l.Type}
}

// WebsiteDirectives are websites' redirects, proxies, error documents,
// protected folders, headers and includes.
var WebsiteDirectives = api.Model[ent.WebsiteDirective, *ent.WebsiteDirectiveQuery, WebsiteDirective, directiveCreate, directivePatch, directiveList]{
	Name: "website-directive", Plural: "website-directives", Tag: "Web",
	List: "List website directives", Get: "Get a website directive", Create: "Add a website directive",
	Update: "Change a website directive", Delete: "Delete a website directive",
	CreateExample: map[string]any{"website": 1, "type": DirHeaders, "settings": map[string]any{"location": "/", "headers": map[string]string{"X-Frame-Options": "SAMEORIGIN"}}},
	UpdateExample: map[string]any{"settings": map[string]any{"headers": map[string]string{"X-Frame-Options": "DENY"}}, "version": 1},
	Listing:       api.Listing{Orderable: []string{"id", "type", "created_at", "updated_at", "website_id"}, Default: "id"},
	Presentation: api.Presentation{Name: "website-directive", Label: "Website directives", Singular: "Website directive", Group: "services",
		Fieldsets: []api.Fieldset{api.Set("", "website", "type"), api.Set("Settings", "settings")},
		Choices:   map[string]api.Choice{"type": {From: Directives.Enabled}},
		Title:     "id", Caption: []string{"type"}, Columns: []string{"website", "type", "account"},
		Type: "WebsiteDirective", Applied: true},
	Client: func(c *ent.Client) api.Client[ent.WebsiteDirective, *ent.WebsiteDirectiveQuery] {
		return c.WebsiteDirective
	},
	Out: directiveOut,
	BeforeCreate: func(ctx context.Context, tx *ent.Tx, in directiveCreate, c ent.Saver[ent.WebsiteDirective]) error {
		if in.Settings != nil {
			c.(*ent.WebsiteDirectiveCreate).SetSettings(in.Settings)
		}
		return nil
	},
	BeforeUpdate: func(ctx context.Context, tx *ent.Tx, id int, in directivePatch, s ent.Saver[ent.WebsiteDirective]) error {
		if in.Settings != nil {
			s.(*ent.WebsiteDirectiveUpdateOne).SetSettings(in.Settings)
		}
		return nil
	},
}

func init() {
	api.SayValues(map[string]string{HTTP: i18n.M("HTTP"), HTTPS: i18n.M("HTTPS"), HTTPBoth: i18n.M("HTTP and HTTPS"),
		HTTPSOnly: i18n.M("HTTPS, with HTTP redirected to it")})
	api.Declare(WebApps)
	api.Declare(Websites)
	api.Declare(WebsiteContents)
	api.Declare(WebsiteDirectives)
}
