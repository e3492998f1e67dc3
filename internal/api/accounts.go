package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contact"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/token"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Account is an account as the API shows it.
type Account struct {
	ID          int       `json:"id"`
	Username    string    `json:"username"`
	ShortName   string    `json:"short_name"`
	FullName    string    `json:"full_name"`
	Email       string    `json:"email"`
	Type        string    `json:"type"`
	Language    string    `json:"language"`
	Comments    string    `json:"comments"`
	IsSuperuser bool      `json:"is_superuser"`
	IsActive    bool      `json:"is_active"`
	DateJoined  time.Time `json:"date_joined"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int       `json:"version" doc:"Send it back (or as If-Match) when updating."`
}

func accountOut(a *ent.Account) Account {
	return Account{ID: a.ID, Username: a.Username, ShortName: a.ShortName, FullName: a.FullName, Email: a.Email,
		Type: a.Type, Language: a.Language, Comments: a.Comments, IsSuperuser: a.IsSuperuser, IsActive: a.IsActive,
		DateJoined: a.DateJoined, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Version: a.Version}
}

// AccountCreate is the body of a new account.
type AccountCreate struct {
	Username    string  `json:"username" maxLength:"32" doc:"Letters, digits and . - _; also the name of the account's system user."`
	Password    string  `json:"password,omitempty" maxLength:"256" doc:"Panel password; without one the account cannot log in until one is set."`
	ShortName   string  `json:"short_name,omitempty" maxLength:"64"`
	FullName    string  `json:"full_name" maxLength:"256"`
	Email       string  `json:"email" maxLength:"254" doc:"Used for password recovery."`
	Type        string  `json:"type,omitempty" maxLength:"32" doc:"One of ACCOUNTS_TYPES; ACCOUNTS_DEFAULT_TYPE when omitted."`
	Language    string  `json:"language,omitempty" maxLength:"2" doc:"One of ACCOUNTS_LANGUAGES; ACCOUNTS_DEFAULT_LANGUAGE when omitted."`
	Comments    string  `json:"comments,omitempty" maxLength:"10000"`
	IsSuperuser bool    `json:"is_superuser,omitempty"`
	IsActive    *bool   `json:"is_active,omitempty" doc:"true when omitted."`
	DateJoined  *string `json:"date_joined,omitempty" format:"date-time"`
}

// AccountPatch changes the fields it names.
type AccountPatch struct {
	Username    *string `json:"username,omitempty" maxLength:"32"`
	ShortName   *string `json:"short_name,omitempty" maxLength:"64"`
	FullName    *string `json:"full_name,omitempty" maxLength:"256"`
	Email       *string `json:"email,omitempty" maxLength:"254"`
	Type        *string `json:"type,omitempty" maxLength:"32"`
	Language    *string `json:"language,omitempty" maxLength:"2"`
	Comments    *string `json:"comments,omitempty" maxLength:"10000"`
	IsSuperuser *bool   `json:"is_superuser,omitempty"`
	IsActive    *bool   `json:"is_active,omitempty"`
	Version     *int    `json:"version,omitempty" doc:"The version you read; or send If-Match."`
}

// createdAccount answers a create with the new object's address.
type createdAccount struct {
	Location string `header:"Location"`
	ETag     string `header:"ETag"`
	Body     Account
}

type accountBody struct {
	ETag string `header:"ETag"`
	Body Account
}

type IDPath struct {
	ID int `path:"id" minimum:"1"`
}

type Versioned struct {
	IfMatch string `header:"If-Match" doc:"The ETag (version) you read; required unless the body carries version."`
}

var accountListing = Listing{
	Orderable: []string{"id", "username", "full_name", "email", "type", "date_joined", "created_at", "updated_at"},
	Search:    []string{"username", "short_name", "full_name", "email"},
	Default:   "username",
	Unique:    []string{"username"},
}

func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// expectedVersion reads the version an update is based on, from If-Match or
// the body; updating without one could silently overwrite someone's change.
func expectedVersion(ctx context.Context, ifMatch string, body *int) (int, error) {
	if body != nil {
		return *body, nil
	}
	if ifMatch != "" {
		v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(strings.TrimSpace(ifMatch), "W/"), `"`))
		if err == nil {
			return v, nil
		}
		return 0, huma.Error400BadRequest(i18n.T(ctx, "If-Match must be an ETag returned by this API, e.g. \"3\"."))
	}
	return 0, huma.NewError(http.StatusPreconditionRequired,
		i18n.T(ctx, "Say which version you are changing: send If-Match with the ETag you read, or a version field."))
}

// staleOrMissing tells a version conflict (412) from an object the viewer
// cannot see (404) after an update matched nothing.
func staleOrMissing(ctx context.Context, exists func(context.Context) (bool, error)) error {
	ok, err := exists(ctx)
	if err != nil {
		return err
	}
	if ok {
		return errStale
	}
	return &ent.NotFoundError{}
}

func (s *Server) accountRoutes() {
	huma.Register(s.api, present(op("list-accounts", http.MethodGet, "/accounts", "List accounts", "Accounts"), accountListing, Presentation{Name: "account", Defaults: map[string]string{"type": accounts.DefaultType.Name(), "language": accounts.DefaultLanguage.Name()}, Choices: map[string]Choice{"type": FromSetting(accounts.Types.Name()), "language": FromSetting(accounts.Languages.Name())}, Fieldsets: []Fieldset{Set("", "username", "full_name", "short_name", "email", "password", "language"), Set("Staff", "type", "is_active", "is_superuser", "date_joined", "comments")}, Label: "Accounts", Singular: "Account", Group: "accounts", Title: "username", Columns: []string{"full_name", "email", "type", "is_active", "is_superuser"}, Toggle: "is_active", Staff: true, Type: "Account"}),
		func(ctx context.Context, in *struct {
			ListParams
			Username    string    `query:"username" maxLength:"32"`
			Type        string    `query:"type" maxLength:"32"`
			Language    string    `query:"language" maxLength:"2"`
			IsActive    boolParam `query:"is_active" enum:"true,false"`
			IsSuperuser boolParam `query:"is_superuser" enum:"true,false"`
		}) (*struct{ Body *Page[Account] }, error) {
			where, order, err := accountListing.plan(ctx, in.ListParams,
				eq("username", in.Username, "type", in.Type, "language", in.Language,
					"is_active", in.IsActive, "is_superuser", in.IsSuperuser))
			if err != nil {
				return nil, err
			}
			q := s.st.Account.Query().Where(predicate.Account(where))
			for _, o := range order {
				q = q.Order(account.OrderOption(o))
			}
			page, err := paginate(ctx, q, in.ListParams, accountOut)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[Account] }{page}, nil
		})

	huma.Register(s.api, op("get-account", http.MethodGet, "/accounts/{id}", "Get an account", "Accounts"),
		func(ctx context.Context, in *IDPath) (*accountBody, error) {
			a, err := s.st.Account.Get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &accountBody{ETag: etag(a.Version), Body: accountOut(a)}, nil
		})

	create := op("create-account", http.MethodPost, "/accounts", "Create an account (staff)", "Accounts")
	checkBody[AccountCreate](s, &create)
	huma.Register(s.api, create,
		func(ctx context.Context, in *struct {
			Body AccountCreate
		}) (*createdAccount, error) {
			b := in.Body
			errs := bodyErrors(ctx)
			var hash string
			if b.Password != "" && !errs.Has("password") {
				if msg := auth.PasswordProblem(b.Password, b.Username); msg != "" {
					errs.Add("password", i18n.T(ctx, "The password %s.", i18n.T(ctx, msg)))
				} else {
					var err error
					if hash, err = auth.HashPassword(b.Password); err != nil {
						return nil, fail(ctx, err)
					}
				}
			}
			var joined *time.Time
			if b.DateJoined != nil {
				t, err := time.Parse(time.RFC3339, *b.DateJoined)
				if err != nil && !errs.Has("date_joined") {
					errs.Add("date_joined", i18n.T(ctx, "Enter a date and time like 2024-01-31T12:00:00Z."))
				}
				joined = &t
			}
			var a *ent.Account
			// the main system user gets the same password, hashed its way
			ctx = accounts.WithClearPassword(ctx, b.Password)
			err := s.st.Tx(ctx, withBodyErrors(errs, func(ctx context.Context, tx *ent.Tx) error {
				c := tx.Account.Create().SetUsername(b.Username).SetPassword(hash).SetShortName(b.ShortName).
					SetFullName(b.FullName).SetEmail(b.Email).SetType(b.Type).SetLanguage(b.Language).
					SetComments(b.Comments).SetIsSuperuser(b.IsSuperuser).SetNillableIsActive(b.IsActive).
					SetNillableDateJoined(joined)
				var err error
				a, err = c.Save(ctx)
				return err
			}))
			if err != nil {
				return nil, fail(ctx, err)
			}
			out := &createdAccount{Location: Prefix + "/accounts/" + strconv.Itoa(a.ID)}
			out.ETag, out.Body = etag(a.Version), accountOut(a)
			return out, nil
		})

	update := example(op("update-account", http.MethodPatch, "/accounts/{id}", "Change an account", "Accounts"),
		map[string]any{"full_name": "Núria Pérez i Soler", "version": 1})
	checkBody[AccountPatch](s, &update)
	huma.Register(s.api, update,
		func(ctx context.Context, in *struct {
			IDPath
			Versioned
			Body AccountPatch
		}) (*accountBody, error) {
			bodyErrs := bodyErrors(ctx)
			v, err := expectedVersion(ctx, in.IfMatch, in.Body.Version)
			if err != nil && bodyErrs == nil {
				return nil, err
			}
			b := in.Body
			var a *ent.Account
			err = s.st.Tx(ctx, withBodyErrors(bodyErrs, func(ctx context.Context, tx *ent.Tx) error {
				u := tx.Account.UpdateOneID(in.ID).Where(account.VersionEQ(v)).
					SetNillableUsername(b.Username).SetNillableShortName(b.ShortName).SetNillableFullName(b.FullName).
					SetNillableEmail(b.Email).SetNillableType(b.Type).SetNillableLanguage(b.Language).
					SetNillableComments(b.Comments).SetNillableIsSuperuser(b.IsSuperuser).SetNillableIsActive(b.IsActive)
				a, err = u.Save(ctx)
				if ent.IsNotFound(err) {
					return staleOrMissing(ctx, tx.Account.Query().Where(account.ID(in.ID)).Exist)
				}
				return err
			}))
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &accountBody{ETag: etag(a.Version), Body: accountOut(a)}, nil
		})

	huma.Register(s.api, op("delete-account", http.MethodDelete, "/accounts/{id}", "Delete an account and everything it owns (staff)", "Accounts"),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			if in.ID == accounts.MainAccountID.Get() {
				return nil, huma.Error409Conflict(i18n.T(ctx, "The main account owns shared resources and cannot be deleted."))
			}
			if v, _ := viewer.From(ctx); v.AccountID == in.ID {
				return nil, huma.Error409Conflict(i18n.T(ctx, "You cannot delete your own account."))
			}
			err := s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				// Owned objects go first, one by one through the store, so each
				// deletion is authorised and recorded (not a silent cascade).
				if _, err := tx.Contact.Delete().Where(contact.AccountID(in.ID)).Exec(ctx); err != nil {
					return err
				}
				if _, err := tx.Token.Delete().Where(token.AccountID(in.ID)).Exec(ctx); err != nil {
					return err
				}
				return tx.Account.DeleteOneID(in.ID).Exec(ctx)
			})
			return nil, fail(ctx, err)
		})

	setPw := op("set-account-password", http.MethodPost, "/accounts/{id}/password", "Set an account's panel password", "Accounts")
	setPw.DefaultStatus = http.StatusOK
	setPw.Description = "Ends the account's sessions (but the caller's own); its API tokens stay valid."
	huma.Register(s.api, setPw,
		func(ctx context.Context, in *struct {
			IDPath
			Body PasswordChange
		}) (*passwordChanged, error) {
			return s.setPassword(ctx, in.ID, in.Body)
		})
}

// PasswordChange sets a panel password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password,omitempty" maxLength:"256" doc:"Required unless staff sets another account's password."`
	Password        string `json:"password" maxLength:"256"`
}

// PasswordChanged is the answer to a password change.
type PasswordChanged struct {
	Message       string `json:"message"`
	SessionsEnded int    `json:"sessions_ended" doc:"Other sessions of the account ended by the change; API tokens are not revoked."`
}

type passwordChanged struct{ Body PasswordChanged }

// passwordChecksPerAccount is how many wrong current passwords a password
// change accepts per account in the throttle's window.
const passwordChecksPerAccount = 5

// ChangePassword changes the logged-in account's own panel password, as
// POST /auth/password does (the web interface's form uses it).
func (s *Server) ChangePassword(ctx context.Context, current, password string) (*PasswordChanged, error) {
	v, _ := viewer.From(ctx)
	out, err := s.setPassword(ctx, v.AccountID, PasswordChange{CurrentPassword: current, Password: password})
	if err != nil {
		return nil, err
	}
	return &out.Body, nil
}

// setPassword checks and stores a new password. Staff (and the system: the
// command line) may reset another account's password; everyone else proves
// the current one (throttled per account), so a stolen session can neither
// lock the owner out nor guess the password. The store ends the account's other sessions (package auth).
func (s *Server) setPassword(ctx context.Context, id int, b PasswordChange) (*passwordChanged, error) {
	a, err := s.st.Account.Get(ctx, id)
	if err != nil {
		return nil, fail(ctx, err)
	}
	v, _ := viewer.From(ctx)
	if !v.Unrestricted() || v.AccountID == id {
		limit := auth.Limit{Kind: auth.KindPassword, Key: strconv.Itoa(id), Max: passwordChecksPerAccount}
		if wait, err := s.throttle.Blocked(ctx, limit); err != nil {
			return nil, fail(ctx, err)
		} else if wait > 0 {
			secs := int(wait.Seconds()) + 1
			return nil, huma.ErrorWithHeaders(huma.Error429TooManyRequests(i18n.T(ctx,
				"Too many wrong current passwords; try again in %d seconds.", secs)), http.Header{"Retry-After": {strconv.Itoa(secs)}})
		}
		ok, _ := auth.CheckPassword(a.Password, b.CurrentPassword)
		if !ok {
			if err := s.throttle.Fail(ctx, limit); err != nil {
				return nil, fail(ctx, err)
			}
			return nil, huma.Error422UnprocessableEntity(i18n.T(ctx, "validation failed"), &huma.ErrorDetail{
				Location: "body.current_password", Message: i18n.T(ctx, "Your current password is not correct."),
			})
		}
	}
	if msg := auth.PasswordProblem(b.Password, a.Username); msg != "" {
		return nil, huma.Error422UnprocessableEntity(i18n.T(ctx, "validation failed"), &huma.ErrorDetail{
			Location: "body.password", Message: i18n.T(ctx, "The password %s.", i18n.T(ctx, msg)),
		})
	}
	hash, err := auth.HashPassword(b.Password)
	if err != nil {
		return nil, fail(ctx, err)
	}
	ctx, ended := auth.CountEndedSessions(ctx)
	err = s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Account.UpdateOneID(id).SetPassword(hash).Exec(ctx)
	})
	if err != nil {
		return nil, fail(ctx, err)
	}
	msg := i18n.T(ctx, "The password has been changed. %d other sessions of the account have been logged out; API tokens stay valid.", *ended)
	if v.AccountID == id {
		msg = i18n.T(ctx, "Your password has been changed. Your other sessions (%d) have been logged out; this one stays, and API tokens stay valid.", *ended)
	}
	return &passwordChanged{Body: PasswordChanged{Message: msg, SessionsEnded: *ended}}, nil
}

// the account types in words
func init() {
	SayValues(map[string]string{"INDIVIDUAL": i18n.M("Individual"), "ASSOCIATION": i18n.M("Association"),
		"CUSTOMER": i18n.M("Customer"), "COMPANY": i18n.M("Company"), "PUBLICBODY": i18n.M("Public body"),
		"STAFF": i18n.M("Staff"), "FRIEND": i18n.M("Friend")})
}
