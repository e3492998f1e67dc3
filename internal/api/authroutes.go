package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Login is a username and password.
type Login struct {
	Username string `json:"username" minLength:"1" maxLength:"32"`
	Password string `json:"password" minLength:"1" maxLength:"256"`
}

func (s *Server) authRoutes() {
	login := op("login", http.MethodPost, "/auth/login", "Log in and start a session", "Authentication")
	login.Security = []map[string][]string{} // public
	login.DefaultStatus = http.StatusOK
	login.Description = "Sets the session cookie. Repeated failures for one username or from one address are refused for a while (429)."
	huma.Register(s.api, login, func(ctx context.Context, in *struct{ Body Login }) (*accountBody, error) {
		addr, _ := ctx.Value(addrKey{}).(string)
		user := strings.TrimSpace(in.Body.Username)
		if blocked, wait := s.throttle.Blocked(user, addr); blocked {
			secs := int(wait.Seconds()) + 1
			return nil, huma.ErrorWithHeaders(huma.Error429TooManyRequests(i18n.T(ctx,
				"Too many failed logins; try again in %d seconds.", secs)), http.Header{"Retry-After": {strconv.Itoa(secs)}})
		}
		sys := viewer.System(ctx, viewer.ChannelSystem)
		a, err := s.st.Account.Query().Where(account.Username(user)).Only(sys)
		if err != nil && !ent.IsNotFound(err) {
			return nil, fail(ctx, err)
		}
		ok := false
		if a == nil {
			auth.CheckDummy(in.Body.Password) // same time as a real check
		} else {
			ok, _ = auth.CheckPassword(a.Password, in.Body.Password)
		}
		if !ok || !a.IsActive {
			s.throttle.Fail(user, addr)
			return nil, huma.Error401Unauthorized(i18n.T(ctx, "Wrong username or password, or the account is disabled."))
		}
		s.throttle.Succeed(user)
		// A new session token on login defeats session fixation.
		if err := s.sessions.RenewToken(ctx); err != nil {
			return nil, fail(ctx, err)
		}
		s.sessions.Put(ctx, sessionAccountKey, a.ID)
		return &accountBody{ETag: etag(a.Version), Body: accountOut(a)}, nil
	})

	logout := op("logout", http.MethodPost, "/auth/logout", "End the session", "Authentication")
	logout.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, logout, func(ctx context.Context, _ *struct{}) (*struct{}, error) {
		return nil, fail(ctx, s.sessions.Destroy(ctx))
	})

	huma.Register(s.api, op("whoami", http.MethodGet, "/auth/me", "The logged-in account", "Authentication"),
		func(ctx context.Context, _ *struct{}) (*accountBody, error) {
			v, _ := viewer.From(ctx)
			a, err := s.st.Account.Get(ctx, v.AccountID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &accountBody{ETag: etag(a.Version), Body: accountOut(a)}, nil
		})

	pw := op("change-password", http.MethodPost, "/auth/password", "Change your own password", "Authentication")
	pw.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, pw, func(ctx context.Context, in *struct{ Body PasswordChange }) (*struct{}, error) {
		v, _ := viewer.From(ctx)
		return nil, s.setPassword(ctx, v.AccountID, in.Body)
	})
}
