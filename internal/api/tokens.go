package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/token"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// Token is an API token as listed; the secret is shown only on creation.
type Token struct {
	ID         int        `json:"id"`
	Account    int        `json:"account"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"The token's first characters, to recognise it."`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

func tokenOut(t *ent.Token) Token {
	return Token{ID: t.ID, Account: t.AccountID, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}

// NewToken is a created token with its secret.
type NewToken struct {
	Token
	// secret: the idempotency store never keeps it
	Secret string `json:"token" secret:"true" doc:"Send as Authorization: Bearer <token>. Shown only now; it is stored hashed."`
}

// TokenCreate is the body of a new token.
type TokenCreate struct {
	Name      string     `json:"name" minLength:"1" maxLength:"64"`
	Account   int        `json:"account,omitempty" doc:"Account the token acts as; your own when omitted."`
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When the token stops working; never when omitted. A request authenticated with a token that expires must give one no later than that token's."`
}

var tokenListing = Listing{
	Orderable: []string{"id", "name", "created_at", "last_used_at", "expires_at", "account_id"},
	Search:    []string{"name", "prefix"},
	Default:   "-created_at",
}

func (s *Server) tokenRoutes() {
	huma.Register(s.api, present(op("list-tokens", http.MethodGet, "/tokens", "List API tokens", "Tokens"), tokenListing, Presentation{Name: "token", Fieldsets: []Fieldset{Set("", "account", "name", "expires_at")}, Label: "API tokens", Singular: "API token", Group: "accounts", Title: "name", Columns: []string{"prefix", "expires_at", "last_used_at", "account"}, Type: "Token"}),
		func(ctx context.Context, in *struct {
			ListParams
			Account int `query:"account" minimum:"0"`
		}) (*struct{ Body *Page[Token] }, error) {
			where, order, err := tokenListing.plan(ctx, in.ListParams, eq("account_id", in.Account))
			if err != nil {
				return nil, err
			}
			q := s.st.Token.Query().Where(predicate.Token(where))
			for _, o := range order {
				q = q.Order(token.OrderOption(o))
			}
			page, err := paginate(ctx, q, in.ListParams, tokenOut)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[Token] }{page}, nil
		})

	huma.Register(s.api, op("get-token", http.MethodGet, "/tokens/{id}", "Get an API token", "Tokens"),
		func(ctx context.Context, in *IDPath) (*struct{ Body Token }, error) {
			t, err := s.st.Token.Get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body Token }{tokenOut(t)}, nil
		})

	huma.Register(s.api, example(op("create-token", http.MethodPost, "/tokens", "Create an API token", "Tokens"), map[string]any{"name": "deploy"}),
		func(ctx context.Context, in *struct{ Body TokenCreate }) (*struct {
			Location string `header:"Location"`
			Body     NewToken
		}, error) {
			b := in.Body
			if b.ExpiresAt != nil && !b.ExpiresAt.After(time.Now()) {
				return nil, fail(ctx, validate.Errors{{Field: "expires_at", Message: i18n.T(ctx, "Must be in the future.")}})
			}
			// a token cannot outlive the token that creates it, or a stolen
			// short-lived token would buy a permanent one
			if own := requestToken(ctx); own != nil && own.ExpiresAt != nil {
				limit := own.ExpiresAt.UTC().Format(time.RFC3339)
				switch {
				case b.ExpiresAt == nil:
					return nil, fail(ctx, validate.Errors{{Field: "expires_at", Message: i18n.T(ctx,
						"Required when authenticated with a token that expires: no later than %s, when that token expires.", limit)}})
				case b.ExpiresAt.After(*own.ExpiresAt):
					return nil, fail(ctx, validate.Errors{{Field: "expires_at", Message: i18n.T(ctx,
						"Must be no later than %s, when the token you authenticated with expires.", limit)}})
				}
			}
			secret, prefix, hash, err := auth.NewToken()
			if err != nil {
				return nil, fail(ctx, err)
			}
			var t *ent.Token
			err = s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				c := tx.Token.Create().SetName(b.Name).SetPrefix(prefix).SetHash(hash).
					SetCreatedAt(time.Now()).SetNillableExpiresAt(b.ExpiresAt)
				if b.Account != 0 {
					c.SetAccountID(b.Account)
				} else if id := viewerAccount(ctx); id != 0 {
					c.SetAccountID(id)
				}
				var err error
				t, err = c.Save(ctx)
				return err
			})
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct {
				Location string `header:"Location"`
				Body     NewToken
			}{Prefix + "/tokens/" + strconv.Itoa(t.ID), NewToken{Token: tokenOut(t), Secret: secret}}, nil
		})

	huma.Register(s.api, op("revoke-token", http.MethodDelete, "/tokens/{id}", "Revoke an API token", "Tokens"),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			return nil, fail(ctx, s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Token.DeleteOneID(in.ID).Exec(ctx)
			}))
		})
}
