package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

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
		a, err := s.Login(ctx, in.Body.Username, in.Body.Password, addr)
		var blocked *LoginBlocked
		switch {
		case errors.As(err, &blocked):
			secs := int(blocked.Wait.Seconds()) + 1
			return nil, huma.ErrorWithHeaders(huma.Error429TooManyRequests(i18n.T(ctx,
				"Too many failed logins; try again in %d seconds.", secs)), http.Header{"Retry-After": {strconv.Itoa(secs)}})
		case errors.Is(err, ErrLoginRefused):
			return nil, huma.Error401Unauthorized(i18n.T(ctx, "Wrong username or password, or the account is disabled."))
		case err != nil:
			return nil, fail(ctx, err)
		}
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
	pw.DefaultStatus = http.StatusOK
	pw.Description = "Ends your other sessions (this one stays logged in); API tokens stay valid. " +
		"Repeated wrong current passwords are refused for a while (429)."
	huma.Register(s.api, pw, func(ctx context.Context, in *struct{ Body PasswordChange }) (*passwordChanged, error) {
		v, _ := viewer.From(ctx)
		return s.setPassword(ctx, v.AccountID, in.Body)
	})
}

// ErrLoginRefused is a wrong username or password, or a disabled account.
var ErrLoginRefused = errors.New("login refused")

// LoginBlocked is a login refused for repeated failures.
type LoginBlocked struct{ Wait time.Duration }

func (e *LoginBlocked) Error() string { return "too many failed logins" }

// Login limits: failures per username and per client address in the
// throttle's window.
const (
	loginsPerUser = 5
	loginsPerAddr = 20
)

// Login checks a username and password (throttled per username and client
// address) and starts the session of ctx for the account: the API and the
// web interface log in the same way.
func (s *Server) Login(ctx context.Context, username, password, addr string) (*ent.Account, error) {
	user := strings.TrimSpace(username)
	limits := []auth.Limit{{Kind: auth.KindLoginUser, Key: strings.ToLower(user), Max: loginsPerUser},
		{Kind: auth.KindLoginAddr, Key: addr, Max: loginsPerAddr}}
	if wait, err := s.throttle.Blocked(ctx, limits...); err != nil {
		return nil, err
	} else if wait > 0 {
		return nil, &LoginBlocked{Wait: wait}
	}
	sys := viewer.System(ctx, viewer.ChannelSystem)
	a, err := s.st.Account.Query().Where(account.Username(user)).Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	ok := false
	if a == nil {
		auth.CheckDummy(password) // same time as a real check
	} else {
		ok, _ = auth.CheckPassword(a.Password, password)
	}
	if !ok || !a.IsActive {
		if err := s.throttle.Fail(ctx, limits...); err != nil {
			return nil, err
		}
		return nil, ErrLoginRefused
	}
	// the user's count only: one good password must not reset an
	// attacker's count against other accounts from the same address
	if err := s.throttle.Reset(ctx, auth.KindLoginUser, strings.ToLower(user)); err != nil {
		return nil, err
	}
	// A new session token on login defeats session fixation.
	if err := s.sessions.RenewToken(ctx); err != nil {
		return nil, err
	}
	s.sessions.Put(ctx, auth.SessionAccountKey, a.ID)
	return a, nil
}
