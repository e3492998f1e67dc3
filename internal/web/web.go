// Package web is the browser interface: the staff admin and the customer
// panel, on the API's rules (the same store, authorization and sessions),
// rendered with templ, with htmx and the styles embedded (no CDN).
package web

//go:generate go tool templ generate

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

//go:embed static
var static embed.FS

// Me is who is logged in, as pages need it.
type Me struct {
	ID       int
	Username string
	Staff    bool
}

// Handler serves the web interface.
// It reads and writes only through the API: no page has a door of its own.
type Handler struct {
	api    *api.Server
	models *registry
	h      http.Handler
}

// New returns the web interface, sharing sessions and login with a.
func New(a *api.Server) *Handler {
	w := &Handler{api: a, models: buildRegistry(a.API().OpenAPI())}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(static))
	mux.HandleFunc("GET /login", w.loginForm)
	mux.HandleFunc("POST /login", w.login)
	mux.HandleFunc("POST /logout", w.logout)
	mux.HandleFunc("GET /{$}", w.requireLogin(w.dashboard))
	mux.HandleFunc("GET /password", w.requireLogin(w.passwordForm))
	mux.HandleFunc("POST /password", w.requireLogin(w.changePassword))
	mux.HandleFunc("GET /search", w.requireLogin(w.search))
	mux.HandleFunc("GET /ops", w.requireLogin(w.operations))
	mux.HandleFunc("GET /settings/{$}", w.requireLogin(w.settingsPage))
	mux.HandleFunc("POST /settings/{name}", w.requireLogin(w.setSetting))
	mux.HandleFunc("POST /settings/{name}/reset", w.requireLogin(w.resetSetting))
	// the model pages, below every fixed path
	models := http.NewServeMux()
	models.HandleFunc("GET /{model}/{$}", w.requireLogin(w.list))
	models.HandleFunc("GET /{model}", w.requireLogin(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "/"+r.PathValue("model")+"/", http.StatusMovedPermanently)
	}))
	models.HandleFunc("POST /{model}/bulk", w.requireLogin(w.bulk))
	models.HandleFunc("POST /{model}/check", w.requireLogin(w.check))
	models.HandleFunc("GET /{model}/new", w.requireLogin(w.addForm))
	models.HandleFunc("GET /{model}/pick", w.requireLogin(w.pick))
	models.HandleFunc("POST /{model}/new", w.requireLogin(w.add))
	models.HandleFunc("GET /{model}/{id}", w.requireLogin(w.object))
	models.HandleFunc("GET /{model}/{id}/edit", w.requireLogin(w.editForm))
	models.HandleFunc("POST /{model}/{id}/edit", w.requireLogin(w.edit))
	models.HandleFunc("GET /{model}/{id}/delete", w.requireLogin(w.deleteForm))
	models.HandleFunc("GET /{model}/{id}/do/{verb}", w.requireLogin(w.actionForm))
	models.HandleFunc("POST /{model}/{id}/do/{verb}", w.requireLogin(w.action))
	models.HandleFunc("GET /{model}/{id}/view/{verb}", w.requireLogin(w.view))
	models.HandleFunc("GET /{model}/{id}/download/{verb}", w.requireLogin(w.download))
	mux.Handle("/", models)
	w.h = a.Browser(mux)
	return w
}

// ServeHTTP serves the interface.
func (w *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.h.ServeHTTP(rw, r) }

func render(rw http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	c.Render(r.Context(), rw)
}

func me(r *http.Request) *Me {
	v, ok := viewer.From(r.Context())
	if !ok {
		return nil
	}
	return &Me{ID: v.AccountID, Username: v.Username, Staff: v.Superuser}
}

// requireLogin sends the anonymous to the login page.
func (w *Handler) requireLogin(next http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if me(r) == nil {
			to := "/login"
			if r.URL.RequestURI() != "/" {
				to += "?next=" + url.QueryEscape(r.URL.RequestURI()) // back here after logging in
			}
			http.Redirect(rw, r, to, http.StatusSeeOther)
			return
		}
		next(rw, r.WithContext(context.WithValue(r.Context(), refKey{}, refTitles{})))
	}
}

func (w *Handler) loginForm(rw http.ResponseWriter, r *http.Request) {
	if me(r) != nil {
		http.Redirect(rw, r, "/", http.StatusSeeOther)
		return
	}
	render(rw, r, http.StatusOK, loginPage("", flash(r), "", safeNext(r.URL.Query().Get("next"))))
}

func (w *Handler) login(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	user, pw := r.PostFormValue("username"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	_, err := w.api.Login(ctx, user, pw, w.api.ClientAddr(r))
	var blocked *api.LoginBlocked
	switch {
	case errors.As(err, &blocked):
		render(rw, r, http.StatusTooManyRequests, loginPage(i18n.T(ctx, "Too many failed logins; try again in %d seconds.",
			int(blocked.Wait.Seconds())+1), "", user, next))
	case errors.Is(err, api.ErrLoginRefused):
		render(rw, r, http.StatusUnauthorized, loginPage(i18n.T(ctx, "Wrong username or password, or the account is disabled."), "", user, next))
	case err != nil:
		http.Error(rw, i18n.T(ctx, "Internal error; it has been logged."), http.StatusInternalServerError)
	default:
		http.Redirect(rw, r, withDone(next, "in"), http.StatusSeeOther)
	}
}

// safeNext is where to go after logging in: a path of this site only.
// Browsers drop tabs and newlines anywhere in a URL and read a backslash as
// a slash, so "/\t/evil.example" and "/\\evil.example" are "//evil.example" to
// them: any control character, space or backslash sends the user home.
func safeNext(next string) string {
	if strings.ContainsFunc(next, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }) ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

func (w *Handler) logout(rw http.ResponseWriter, r *http.Request) {
	if err := w.api.Logout(r.Context()); err != nil {
		http.Error(rw, i18n.T(r.Context(), "Internal error; it has been logged."), http.StatusInternalServerError)
		return
	}
	http.Redirect(rw, r, "/login?done=out", http.StatusSeeOther)
}

func (w *Handler) passwordForm(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	render(rw, r, http.StatusOK, passwordPage(w.frame(r, i18n.T(ctx, "Change your password")), nil, ""))
}

// changePassword changes the viewer's own password with the API's rules;
// their errors are shown beside the fields they name.
func (w *Handler) changePassword(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	current, pw := r.PostFormValue("current_password"), r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		render(rw, r, http.StatusUnprocessableEntity, passwordPage(w.frame(r, i18n.T(ctx, "Change your password")),
			map[string]string{"confirm": i18n.T(ctx, "The two new passwords differ.")}, ""))
		return
	}
	done, err := w.api.ChangePassword(ctx, current, pw)
	var em *huma.ErrorModel
	switch {
	case err == nil:
		render(rw, r, http.StatusOK, passwordPage(w.frame(r, i18n.T(ctx, "Change your password")), nil, done.Message))
	case errors.As(err, &em) && len(em.Errors) > 0:
		errs := map[string]string{}
		for _, d := range em.Errors {
			errs[strings.TrimPrefix(d.Location, "body.")] = d.Message
		}
		render(rw, r, em.Status, passwordPage(w.frame(r, i18n.T(ctx, "Change your password")), errs, ""))
	case errors.As(err, &em) && em.Status == http.StatusTooManyRequests:
		render(rw, r, em.Status, passwordPage(w.frame(r, i18n.T(ctx, "Change your password")),
			map[string]string{"current_password": em.Detail}, ""))
	default:
		http.Error(rw, i18n.T(ctx, "Internal error; it has been logged."), http.StatusInternalServerError)
	}
}

type tile struct {
	Label string
	Count string
	Href  string
}

type tileGroup struct {
	Title string
	Tiles []tile
}

type failure struct {
	ID, Backend, Server, State, When string
}

// recentFailures reads the ten latest units that failed, erred or timed
// out, with their servers' names, through the API.
func (w *Handler) recentFailures(r *http.Request) []failure {
	var logs []map[string]any
	for _, state := range []string{orchestration.StateFailure, orchestration.StateError, orchestration.StateTimeout} {
		res, _, _ := w.listJSON(r, "logs", url.Values{"state": {state}, "ordering": {"-id"}, "page_size": {"10"}})
		if res != nil {
			logs = append(logs, res.Results...)
		}
	}
	id := func(o map[string]any, k string) int { n, _ := o[k].(float64); return int(n) }
	slices.SortFunc(logs, func(a, b map[string]any) int { return id(b, "id") - id(a, "id") })
	logs = logs[:min(len(logs), 10)]
	names := map[int]string{}
	out := make([]failure, 0, len(logs))
	for _, l := range logs {
		srv := id(l, "server")
		if _, ok := names[srv]; !ok {
			if o, _, _ := w.getJSON(r, "/servers/"+strconv.Itoa(srv)); o != nil {
				names[srv], _ = o["name"].(string)
			}
		}
		when, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(l["updated_at"]))
		out = append(out, failure{ID: strconv.Itoa(id(l, "id")), Backend: fmt.Sprint(l["backend"]),
			Server: names[srv], State: fmt.Sprint(l["state"]), When: when.Format(time.DateTime)})
	}
	return out
}

type dashboardData struct {
	Groups   []tileGroup
	Failures []failure
	Steps    []step        // what staff should do next on a panel not set up yet
	Ran      bool          // a unit of work ever ran
	Services []ServiceList // a customer's services and their state
}

// step is a next step: a sentence and the page that does it.
type step struct{ Text, Href, Link string }

// dashboard counts what the viewer may see, model by model, through the
// API: a customer's counts are their own.
func (w *Handler) dashboard(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m := me(r)
	var d dashboardData
	counts := map[string]int{} // by slug, for the next steps below
	for _, g := range w.navFor(r) {
		tg := tileGroup{Title: g.Title}
		for _, l := range g.Links {
			count := "?"
			slug := strings.Trim(l.Href, "/")
			if res, _, _ := w.listJSON(r, slug, url.Values{"page_size": {"1"}}); res != nil {
				count = strconv.Itoa(res.Count)
				if !res.CountExact {
					count += "+"
				}
				counts[slug] = res.Count
			}
			tg.Tiles = append(tg.Tiles, tile{Label: l.Label, Count: count, Href: l.Href})
		}
		d.Groups = append(d.Groups, tg)
	}
	if m.Staff {
		d.Failures = w.recentFailures(r)
		count := func(slug string) int {
			if n, ok := counts[slug]; ok {
				return n
			}
			return -1
		}
		switch {
		case count("servers") == 0:
			d.Steps = append(d.Steps, step{i18n.T(ctx, "No servers yet: nothing is applied anywhere until one is added."), "/servers/new", i18n.T(ctx, "Add a server")})
		case count("routes") == 0:
			d.Steps = append(d.Steps, step{i18n.T(ctx, "No routes yet: no service is sent to a server until a route says which."), "/routes/new", i18n.T(ctx, "Add a route")})
		}
		d.Ran = count("logs") != 0
	} else {
		d.Services = w.customerServices(r)
	}
	render(rw, r, http.StatusOK, dashboard(w.frame(r, i18n.T(ctx, "Dashboard")), d))
}
