// Package api is the REST API: huma operations under /api/v1, its OpenAPI
// 3.1 document and reference page, authentication (sessions and bearer
// tokens), idempotent POSTs and the one error shape. Handlers only translate
// HTTP to store calls: who may see and change what is decided below them, in
// package authz, and what is valid in the model packages.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/orchestra-panel/orchestra/internal/api/apidocs"
	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/token"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Prefix is the Versioned root of every API path.
const Prefix = "/api/v1"

// Config tunes the API server.
type Config struct {
	Version         string
	SecureCookies   bool          // set the Secure flag (behind HTTPS)
	SessionLifetime time.Duration // absolute session lifetime
	SessionIdle     time.Duration // idle timeout
	MaxBodyBytes    int64
	// TrustProxy takes the client address from X-Forwarded-For (only behind
	// a proxy that sets it), for login throttling: the right-most address
	// that is not one of TrustedProxies.
	TrustProxy bool
	// TrustedProxies are the proxies whose X-Forwarded-For entries are
	// believed; DefaultTrustedProxies when empty.
	TrustedProxies []netip.Prefix
	// Executor runs units in this process: writes plan their changes at
	// once and may wait for their outcome; ping, resync and retry need it.
	Executor *orchestration.Executor
	// Instance names this server the same way across restarts (host name
	// and listen address; the host name when empty): an Idempotency-Key an
	// earlier process of the same instance left in progress died with it.
	Instance string
}

// Server is the API's HTTP handler and what it needs.
type Server struct {
	st       *store.Store
	cfg      Config
	api      huma.API
	sessions *scs.SessionManager
	throttle *auth.Throttle
	handler  http.Handler
	inner    http.Handler // for Call: the viewer is already in the context
	holder   keyHolder    // this process, in the idempotency keys it holds
}

// New builds the API server.
func New(st *store.Store, cfg Config) *Server {
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = 12 * time.Hour
	}
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = 2 * time.Hour
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.TrustProxy && len(cfg.TrustedProxies) == 0 {
		cfg.TrustedProxies = DefaultTrustedProxies()
	}
	s := &Server{st: st, cfg: cfg, throttle: auth.NewThrottle(st.Client, 15*time.Minute), holder: newKeyHolder(cfg.Instance)}

	s.sessions = scs.New()
	s.sessions.Codec = scs.GobCodec{} // auth.SessionStore reads the account from it
	s.sessions.Store = auth.SessionStore{Client: st.Client}
	s.sessions.Lifetime = cfg.SessionLifetime
	s.sessions.IdleTimeout = cfg.SessionIdle
	s.sessions.Cookie.Name = "orchestra_session"
	s.sessions.Cookie.HttpOnly = true
	s.sessions.Cookie.SameSite = http.SameSiteLaxMode
	s.sessions.Cookie.Secure = cfg.SecureCookies
	s.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		slog.ErrorContext(r.Context(), "session store", "err", err)
		writeProblem(w, http.StatusInternalServerError, "Session storage failed; it has been logged.")
	}

	mux := http.NewServeMux()
	hc := huma.DefaultConfig("Orchestra API", cfg.Version)
	hc.Info.Description = "Manage hosting accounts and their services. Authenticate with a session " +
		"(POST " + Prefix + "/auth/login) or an API token (`Authorization: Bearer <token>`). " +
		"Updates need the object's current version (If-Match: \"<version>\" or a `version` field); " +
		"a POST with an Idempotency-Key header is performed once however often it is retried."
	decimals(hc.Components.Schemas)
	hc.OpenAPIPath = Prefix + "/openapi"
	hc.DocsPath = ""
	hc.SchemasPath = Prefix + "/schemas"
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer":  {Type: "http", Scheme: "bearer", Description: "API token created with POST " + Prefix + "/tokens."},
		"session": {Type: "apiKey", In: "cookie", Name: "orchestra_session", Description: "Session from POST " + Prefix + "/auth/login."},
	}
	hc.Security = []map[string][]string{{"bearer": {}}, {"session": {}}}
	hc.Transformers = append(hc.Transformers, noteSecrets)
	s.api = humago.New(mux, hc)
	s.api.UseMiddleware(s.requireViewer, s.refuseNUL)
	s.routes()

	mux.Handle("GET "+Prefix+"/docs", apidocs.Handler("Orchestra API", Prefix+"/openapi.json", s.api.OpenAPI))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/docs", http.StatusFound)
	})
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, i18n.T(r.Context(), "No such API endpoint; see %s/docs.", Prefix))
	})

	var h http.Handler = mux
	// the answer is recorded for Idempotency-Key retries as soon as the
	// handler gives it, before the wait for the write's units: a process
	// that dies during that wait has recorded it already
	h = s.idempotent(h)
	h = s.follow(h)
	s.inner = recoverer(h)
	h = s.authenticate(h)
	h = s.sessions.LoadAndSave(h)
	h = http.NewCrossOriginProtection().Handler(h)
	h = limitBody(h, cfg.MaxBodyBytes)
	s.handler = recoverer(h)
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// API returns the huma API; its OpenAPI document is the route registry.
func (s *Server) API() huma.API { return s.api }

// Maintain removes expired sessions, idempotency keys and throttle entries
// until ctx ends.
func (s *Server) Maintain(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.throttle.Sweep(ctx); err != nil {
				slog.Warn("expired throttle counts", "err", err)
			}
			if err := (auth.SessionStore{Client: s.st.Client}).DeleteExpired(ctx); err != nil {
				slog.Warn("expired sessions", "err", err)
			}
			if err := s.expireIdempotencyKeys(ctx); err != nil {
				slog.Warn("expired idempotency keys", "err", err)
			}
		}
	}
}

// op declares an authenticated operation; public ones clear Security.
func op(id, method, path, summary string, tags ...string) huma.Operation {
	o := huma.Operation{OperationID: id, Method: method, Path: Prefix + path, Summary: summary, Tags: tags}
	switch method {
	case http.MethodPost:
		o.DefaultStatus = http.StatusCreated
	case http.MethodDelete:
		o.DefaultStatus = http.StatusNoContent
	}
	return o
}

func (s *Server) routes() {
	s.authRoutes()
	s.accountRoutes()
	s.contactRoutes()
	s.tokenRoutes()
	s.historyRoutes()
	s.settingRoutes()
	s.serverRoutes()
	s.routeRoutes()
	s.logRoutes()
	s.orchestrateRoutes()
	s.registerDeclared()
}

// requireViewer refuses anonymous calls to operations that need a login.
func (s *Server) requireViewer(ctx huma.Context, next func(huma.Context)) {
	o := ctx.Operation()
	public := o.Security != nil && len(o.Security) == 0
	if _, ok := viewer.From(ctx.Context()); !ok && !public {
		huma.WriteErr(s.api, ctx, http.StatusUnauthorized,
			i18n.T(ctx.Context(), "Authentication required: log in or send a bearer token."))
		return
	}
	next(ctx)
}

// authenticate resolves the bearer token or the session into the viewer.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return s.authenticateAs(viewer.ChannelAPI, next)
}

// Browser wraps the web interface's handler as the API's is wrapped: the
// same sessions (a login in one is a login in the other), the viewer of the
// session on channel web, cross-origin protection, body limit, recovery.
func (s *Server) Browser(next http.Handler) http.Handler {
	h := s.authenticateAs(viewer.ChannelWeb, next)
	h = s.sessions.LoadAndSave(h)
	h = http.NewCrossOriginProtection().Handler(h)
	h = limitBody(h, s.cfg.MaxBodyBytes)
	return recoverer(h)
}

// Logout ends the session of ctx.
func (s *Server) Logout(ctx context.Context) error { return s.sessions.Destroy(ctx) }

func (s *Server) authenticateAs(channel string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var acc *ent.Account
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, tok, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") || tok == "" {
				writeProblem(w, http.StatusUnauthorized, i18n.T(ctx, "Use Authorization: Bearer <token>."))
				return
			}
			t, err := s.tokenAccount(ctx, tok)
			if err != nil {
				writeProblem(w, http.StatusUnauthorized, i18n.T(ctx, "Invalid or expired token."))
				return
			}
			acc = t.Edges.Account
			ctx = context.WithValue(ctx, tokenKey{}, t)
		} else if id := s.sessions.GetInt(ctx, auth.SessionAccountKey); id != 0 {
			a, err := s.st.Account.Get(viewer.System(ctx, viewer.ChannelSystem), id)
			if err == nil && a.IsActive {
				acc = a
				ctx = auth.WithSession(ctx, s.sessions.Token(ctx))
			} else {
				// The account is gone or disabled: end its session.
				s.sessions.Destroy(ctx)
			}
		}
		if acc != nil {
			ctx = viewer.With(ctx, viewer.Viewer{AccountID: acc.ID, Username: acc.Username, Superuser: acc.IsSuperuser, Channel: channel})
			ctx = i18n.WithLanguage(ctx, strings.ToLower(acc.Language))
		} else if lang := i18n.Accepted(r.Header.Get("Accept-Language")); lang != "" {
			ctx = i18n.WithLanguage(ctx, lang) // the login page speaks the browser's language
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// tokenKey holds the API token a request is authenticated with.
type tokenKey struct{}

// requestToken is the API token ctx's request is authenticated with, if any.
func requestToken(ctx context.Context) *ent.Token {
	t, _ := ctx.Value(tokenKey{}).(*ent.Token)
	return t
}

// tokenAccount returns an unexpired token with its active account.
func (s *Server) tokenAccount(ctx context.Context, tok string) (*ent.Token, error) {
	sys := viewer.System(ctx, viewer.ChannelSystem)
	t, err := s.st.Token.Query().Where(token.Hash(auth.HashToken(tok))).WithAccount().Only(sys)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if t.ExpiresAt != nil && !t.ExpiresAt.After(now) || t.Edges.Account == nil || !t.Edges.Account.IsActive {
		return nil, &ent.NotFoundError{}
	}
	// Touch last use at most once a minute: a write per request would
	// serialise every API call on SQLite.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		if err := s.st.Token.UpdateOneID(t.ID).SetLastUsedAt(now).Exec(audit.Without(sys)); err != nil {
			slog.Warn("token last use", "err", err)
		}
	}
	return t, nil
}
