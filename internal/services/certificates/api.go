package certificates

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// Certificate is a certificate as the API shows it: never its private key.
type Certificate struct {
	ID            int        `json:"id"`
	Name          string     `json:"name" doc:"The first of its names."`
	Domains       []int      `json:"domains"`
	Names         []string   `json:"names" doc:"Its domains' names."`
	Account       int        `json:"account"`
	Source        string     `json:"source"`
	State         string     `json:"state" doc:"pending (ordered, not issued yet), valid, renewing (the current one serves while a new one is ordered), failed (see last_error; the current one, if any, still serves) or expired."`
	LastError     string     `json:"last_error" doc:"Why the last order failed, as the certificate authority said it."`
	NotBefore     *time.Time `json:"not_before"`
	NotAfter      *time.Time `json:"not_after" doc:"When it expires."`
	Issuer        string     `json:"issuer"`
	KeyType       string     `json:"key_type"`
	AutoRenew     bool       `json:"auto_renew"`
	Certificate   string     `json:"certificate" doc:"The PEM chain: the certificate, then its intermediates."`
	Website       *int       `json:"website" doc:"The website whose SSL directive asked the panel for it (automatic)."`
	NextAttemptAt *time.Time `json:"next_attempt_at" doc:"When the panel orders it next: now for a new one, after a pause that grows with each failure."`
	Failures      int        `json:"failures" doc:"Orders that failed in a row."`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Version       int        `json:"version"`
}

func out(c *ent.Certificate) Certificate {
	names, doms := c.Names, c.Domains
	if names == nil {
		names = []string{}
	}
	if doms == nil {
		doms = []int{}
	}
	return Certificate{ID: c.ID, Name: c.Name, Names: names, Domains: doms, Account: c.AccountID, Source: c.Source, State: c.State,
		LastError: c.LastError, NotBefore: c.NotBefore, NotAfter: c.NotAfter, Issuer: c.Issuer, KeyType: c.KeyType,
		AutoRenew: c.AutoRenew, Certificate: c.Certificate, Website: c.WebsiteID, NextAttemptAt: c.NextAttemptAt,
		Failures: c.Failures, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version}
}

type (
	certCreate = struct {
		Account     int    `json:"account,omitempty" ent:"account_id,omitzero"`
		Domains     []int  `json:"domains,omitempty" maxItems:"100" doc:"Your domains the certificate is for; a wildcard domain *.NAME covers the names one level below NAME (proven through DNS only). An uploaded certificate without domains is for the domains it names."`
		Source      string `json:"source" maxLength:"16" doc:"Let's Encrypt: the panel obtains and renews it, proving each name through the website that serves it (HTTP-01) or through a record in the name's DNS zone (DNS-01, also for wildcards). Uploaded: you send the certificate and its key."`
		KeyType     string `json:"key_type,omitempty" maxLength:"16" doc:"The key the panel makes: ec256, ec384, rsa2048, rsa3072 or rsa4096 (CERTIFICATES_KEY_TYPE when empty)."`
		AutoRenew   *bool  `json:"auto_renew,omitempty" default:"true" doc:"The panel obtains it again before it expires (CERTIFICATES_RENEW_BEFORE)."`
		Certificate string `json:"certificate,omitempty" maxLength:"65536" doc:"Uploaded: the certificate (PEM), then its intermediates."`
		PrivateKey  string `json:"private_key,omitempty" maxLength:"16384" writeOnly:"true" doc:"Uploaded: its private key (PEM), without a passphrase; kept encrypted, never shown."`
	}
	certPatch = struct {
		Domains     *[]int  `json:"domains,omitempty" maxItems:"100" doc:"Replaces the domains; an ACME certificate is ordered again."`
		AutoRenew   *bool   `json:"auto_renew,omitempty"`
		Certificate *string `json:"certificate,omitempty" maxLength:"65536" doc:"Uploaded: a new certificate (PEM) with its intermediates, sent with its key."`
		PrivateKey  *string `json:"private_key,omitempty" maxLength:"16384" writeOnly:"true"`
		Version     *int    `json:"version,omitempty"`
	}
	certList struct {
		api.ListParams
		Account int    `query:"account" minimum:"0"`
		Source  string `query:"source" enum:"http-01,dns-01,upload,"`
		State   string `query:"state" enum:"pending,valid,renewing,failed,expired,"`
		Website int    `query:"website" minimum:"0"`
	}
)

func (l certList) Filters() []any {
	return []any{"account_id", l.Account, "source", l.Source, "state", l.State, "website_id", l.Website}
}

// Certificates are accounts' TLS certificates.
var Certificates = api.Model[ent.Certificate, *ent.CertificateQuery, Certificate, certCreate, certPatch, certList]{
	Name: "certificate", Plural: "certificates", Tag: "Certificates",
	List: "List certificates", Get: "Get a certificate", Create: "Add a certificate: ordered by the panel, or uploaded",
	Update: "Change a certificate's names or renewal, or upload a new one", Delete: "Delete a certificate",
	CreateNote:    "An ACME certificate (http-01, dns-01) is ordered at once; its state says how that went. A website presents a certificate through its SSL directive.",
	CreateExample: map[string]any{"domains": []int{1}, "source": HTTP01},
	UpdateExample: map[string]any{"auto_renew": false, "version": 1},
	Listing: api.Listing{Orderable: []string{"id", "name", "state", "not_after", "created_at", "updated_at", "account_id"},
		Search: []string{"name"}, Default: "name"},
	Presentation: api.Presentation{Name: "certificate", Label: "Certificates", Singular: "Certificate", Group: "services",
		Fieldsets: []api.Fieldset{api.Set("", "account", "domains", "source", "key_type", "auto_renew"),
			api.Set("Upload", "certificate", "private_key")},
		Refs: map[string]string{"domains": "domain"}, RefFilters: map[string]string{"domains": "host=true"},
		Defaults: map[string]string{"key_type": KeyType.Name()},
		Choices:  map[string]api.Choice{"source": api.Among(HTTP01, DNS01, Upload), "key_type": api.Among(keyTypes...)},
		Title:    "name", Columns: []string{"state", "not_after", "source", "account"}, Type: "Certificate"},
	Client: func(c *ent.Client) api.Client[ent.Certificate, *ent.CertificateQuery] { return c.Certificate },
	Out:    out,
}

func init() {
	api.Declare(Certificates)
	api.Operations(operations)
	api.SayValues(map[string]string{HTTP01: i18n.M("Let's Encrypt (HTTP-01)"), DNS01: i18n.M("Let's Encrypt (DNS-01)"),
		Upload: i18n.M("Uploaded"), Pending: i18n.M("Being obtained"), Valid: i18n.M("Valid"), Renewing: i18n.M("Renewing"),
		Failed: i18n.M("Failed"), Expired: i18n.M("Expired")})
}

// operations: ordering a certificate again now.
func operations(s *api.Server) {
	a, st := s.API(), s.Store()
	renew := api.Labelled(api.Op("renew-certificate", http.MethodPost, "/certificates/{id}/renew",
		"Order the certificate again now", "Certificates"), "Renew now")
	renew.Description = "The certificate that serves keeps serving until the new one is issued; the state says how the order went."
	renew.DefaultStatus = http.StatusOK
	huma.Register(a, renew, func(ctx context.Context, in *struct{ api.IDPath }) (*struct{ Body Certificate }, error) {
		var c *ent.Certificate
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			cur, err := tx.Certificate.Get(ctx, in.ID) // another account's is missing
			if err != nil {
				return err
			}
			if cur.Source == Upload {
				return huma.Error409Conflict(i18n.T(ctx, "The panel renews only the certificates it obtains: upload a new one instead."))
			}
			state := Pending
			if cur.Certificate != "" {
				state = Renewing
			}
			c, err = tx.Certificate.UpdateOne(cur).SetNextAttemptAt(time.Now()).SetFailures(0).SetState(state).Save(issued(ctx))
			return err
		})
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct{ Body Certificate }{out(c)}, nil
	})
}
