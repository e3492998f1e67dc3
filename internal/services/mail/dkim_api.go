package mail

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/dkimkey"
)

// DKIMKey is a DKIM key as the API shows it: never its private half.
type DKIMKey struct {
	ID       int    `json:"id"`
	Name     string `json:"name" doc:"Its record's name: SELECTOR._domainkey.DOMAIN."`
	Domain   int    `json:"domain"`
	Account  int    `json:"account"`
	Selector string `json:"selector" doc:"Names the key in its signatures (s=)."`
	Record   *int   `json:"record" doc:"Its TXT record in the domain's zone; empty once that is deleted."`
	Value    string `json:"value" doc:"The text its record publishes: v=DKIM1; k=rsa; p= and the public key."`
	IsActive bool   `json:"is_active" doc:"It signs the domain's outgoing mail. A retired key no longer does; its record stays published until deletes_at, for mail still on its way."`
	// RetiredAt is when it stopped signing.
	RetiredAt *time.Time `json:"retired_at" doc:"When it stopped signing."`
	DeletesAt *time.Time `json:"deletes_at" doc:"When a retired key and its record are deleted."`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Version   int        `json:"version"`
}

func dkimOut(k *ent.DKIMKey) DKIMKey {
	out := DKIMKey{ID: k.ID, Name: k.Name, Domain: k.DomainID, Account: k.AccountID, Selector: k.Selector, Record: k.RecordID,
		Value: DKIMRecord(k.PublicKey), IsActive: k.RetiredAt == nil, RetiredAt: k.RetiredAt,
		CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt, Version: k.Version}
	if k.RetiredAt != nil {
		at := k.RetiredAt.Add(time.Duration(DKIMRetiredDays.Get()) * 24 * time.Hour)
		out.DeletesAt = &at
	}
	return out
}

type dkimList struct {
	api.ListParams
	Account  int           `query:"account" minimum:"0"`
	Domain   int           `query:"domain" minimum:"0"`
	IsActive api.BoolParam `query:"is_active" enum:"true,false" doc:"Signing keys (true) or retired ones (false)."`
}

func (l dkimList) Filters() []any { return []any{"account_id", l.Account, "domain_id", l.Domain} }

func (l dkimList) Where() []func(*sql.Selector) {
	switch l.IsActive {
	case "true":
		return []func(*sql.Selector){dkimkey.RetiredAtIsNil()}
	case "false":
		return []func(*sql.Selector){dkimkey.RetiredAtNotNil()}
	}
	return nil
}

// DKIMKeys are the keys mail domains sign with: the panel makes them,
// customers see theirs, staff rotate and delete them.
var DKIMKeys = api.Model[ent.DKIMKey, *ent.DKIMKeyQuery, DKIMKey, struct{}, struct{}, dkimList]{
	Name: "dkim-key", Plural: "dkim-keys", Tag: "Mail",
	List: "List DKIM keys", Get: "Get a DKIM key",
	Delete:  "Delete a DKIM key and its record; the domain's mail is no longer signed with it (staff)",
	Listing: api.Listing{Orderable: []string{"id", "name", "created_at", "updated_at", "retired_at", "account_id", "domain_id"}, Search: []string{"name"}, Default: "name"},
	Presentation: api.Presentation{Name: "dkim-key", Label: "DKIM keys", Singular: "DKIM key", Group: "services",
		Fieldsets: []api.Fieldset{api.Set("", "domain", "selector", "value", "is_active", "retired_at", "deletes_at")},
		Title:     "name", Columns: []string{"domain", "is_active", "created_at", "retired_at", "account"},
		Type: "DKIMKey", Applied: true, ReadOnly: true},
	Client: func(c *ent.Client) api.Client[ent.DKIMKey, *ent.DKIMKeyQuery] { return c.DKIMKey },
	Out:    dkimOut,
}

func init() {
	api.Declare(DKIMKeys)
	api.Operations(dkimOperations)
}

// dkimOperations: a key's rotation.
func dkimOperations(s *api.Server) {
	a, st := s.API(), s.Store()
	rotate := api.Labelled(api.When(api.Op("rotate-dkim-key", http.MethodPost, "/dkim-keys/{id}/rotate",
		"Give the key's domain a new DKIM key that signs from now on; this one is retired (staff)", "Mail"), "is_active"), "Rotate")
	rotate.Description = "The retired key no longer signs; its record stays published for MAILBOXES_DKIM_RETIRED_DAYS days, then it is deleted with its record. The answer is the new key."
	huma.Register(a, rotate, func(ctx context.Context, in *struct{ api.IDPath }) (*struct {
		Location string `header:"Location"`
		Body     DKIMKey
	}, error) {
		var out *ent.DKIMKey
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			k, err := tx.DKIMKey.Get(ctx, in.ID) // another account's is missing
			if err != nil {
				return err
			}
			if err := authz.RequireStaff(ctx); err != nil {
				return &authz.Forbidden{Message: i18n.M("DKIM keys are made by the panel; only staff may rotate or delete one.")}
			}
			if k.RetiredAt != nil {
				return huma.Error409Conflict(i18n.T(ctx, "This key is retired already: rotate the domain's signing key."))
			}
			out, err = RotateKey(ctx, tx.Client(), k.DomainID)
			return err
		})
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct {
			Location string `header:"Location"`
			Body     DKIMKey
		}{api.Prefix + "/dkim-keys/" + strconv.Itoa(out.ID), dkimOut(out)}, nil
	})
}
