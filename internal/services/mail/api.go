package mail

import (
	"context"
	"net/http"
	"slices"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailaddress"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailbox"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// Mailbox is a mailbox as the API shows it.
type Mailbox struct {
	ID              int       `json:"id"`
	Name            string    `json:"name" doc:"The login (IMAP, POP3, SMTP submission)."`
	Account         int       `json:"account"`
	Quota           *int      `json:"quota" doc:"MiB; MAILBOXES_DEFAULT_QUOTA when empty; 0 for none."`
	Filtering       string    `json:"filtering"`
	CustomFiltering string    `json:"custom_filtering" doc:"The Sieve script the CUSTOM filtering runs."`
	IsActive        bool      `json:"is_active"`
	HasPassword     bool      `json:"has_password"`
	Addresses       []string  `json:"addresses" doc:"The addresses that deliver into it."`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	Version         int       `json:"version"`
}

func mailboxOut(b *ent.Mailbox) Mailbox {
	out := Mailbox{ID: b.ID, Name: b.Name, Account: b.AccountID, Quota: b.Quota, Filtering: b.Filtering,
		CustomFiltering: b.CustomFiltering, IsActive: b.IsActive, HasPassword: b.Password != "", Addresses: []string{},
		CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, Version: b.Version}
	for _, a := range b.Edges.Addresses {
		if a.Edges.Domain != nil {
			out.Addresses = append(out.Addresses, display(a.Name, a.Edges.Domain.Name))
		}
	}
	slices.Sort(out.Addresses)
	return out
}

type (
	mailboxCreate = struct {
		Name            string `json:"name" maxLength:"32" doc:"Letters, digits and . - _; the login, never renamed."`
		Password        string `json:"password,omitempty" maxLength:"256" doc:"Stored as a SHA512-CRYPT hash; without one the mailbox cannot log in." ent:"-"`
		Account         int    `json:"account,omitempty" ent:"account_id,omitzero"`
		Quota           *int   `json:"quota,omitempty" minimum:"0" doc:"MiB; MAILBOXES_DEFAULT_QUOTA when empty; 0 for none."`
		Filtering       string `json:"filtering,omitempty" maxLength:"16" doc:"A preset of MAILBOXES_FILTERINGS; MAILBOXES_DEFAULT_FILTERING when empty."`
		CustomFiltering string `json:"custom_filtering,omitempty" maxLength:"65536" doc:"A Sieve script (RFC 5228), for the CUSTOM filtering."`
		IsActive        *bool  `json:"is_active,omitempty"`
	}
	mailboxPatch = struct {
		Quota           *int    `json:"quota,omitempty" minimum:"0"`
		Filtering       *string `json:"filtering,omitempty" maxLength:"16"`
		CustomFiltering *string `json:"custom_filtering,omitempty" maxLength:"65536"`
		IsActive        *bool   `json:"is_active,omitempty"`
		Version         *int    `json:"version,omitempty"`
	}
)

type mailboxList struct {
	api.ListParams
	Account  int           `query:"account" minimum:"0"`
	IsActive api.BoolParam `query:"is_active" enum:"true,false"`
}

func (l mailboxList) Filters() []any { return []any{"account_id", l.Account, "is_active", l.IsActive} }

// hashMailboxPassword checks and hashes a clear password for mailbox name.
func hashMailboxPassword(ctx context.Context, pw, name string) (string, error) {
	if msg := auth.PasswordProblem(pw, name); msg != "" {
		return "", validate.Fail("password", i18n.T(ctx, "The password %s.", i18n.T(ctx, msg)))
	}
	return systemusers.HashPassword(pw)
}

// Mailboxes are where accounts' mail is kept.
var Mailboxes = api.Model[ent.Mailbox, *ent.MailboxQuery, Mailbox, mailboxCreate, mailboxPatch, mailboxList]{
	Name: "mailbox", Plural: "mailboxes", Tag: "Mail",
	List: "List mailboxes", Get: "Get a mailbox", Create: "Add a mailbox", Update: "Change a mailbox",
	Delete:        "Delete a mailbox and its mail",
	CreateExample: map[string]any{"name": "alice", "password": "Str0ng-pass-phrase"},
	UpdateExample: map[string]any{"filtering": FilterReject, "version": 1},
	Listing:       api.Listing{Orderable: []string{"id", "name", "created_at", "updated_at", "account_id"}, Search: []string{"name"}, Default: "name", Unique: []string{"name"}},
	Presentation: api.Presentation{Name: "mailbox", Label: "Mailboxes", Singular: "Mailbox", Group: "services",
		Fieldsets: []api.Fieldset{api.Set("", "account", "name", "password", "quota", "is_active"), api.Set("Spam and filters", "filtering", "custom_filtering")},
		Defaults:  map[string]string{"filtering": DefaultFiltering.Name(), "quota": DefaultQuota.Name()},
		Choices:   map[string]api.Choice{"filtering": api.FromSetting(OfferedFilterings.Name())},
		Title:     "name", Columns: []string{"addresses", "filtering", "is_active", "account"}, Toggle: "is_active",
		Type: "Mailbox", Applied: true},
	Client: func(c *ent.Client) api.Client[ent.Mailbox, *ent.MailboxQuery] { return c.Mailbox },
	Out:    mailboxOut,
	Load: func(q *ent.MailboxQuery) *ent.MailboxQuery {
		return q.WithAddresses(func(a *ent.MailAddressQuery) { a.WithDomain() })
	},
	BeforeCreate: func(ctx context.Context, tx *ent.Tx, in mailboxCreate, c ent.Saver[ent.Mailbox]) error {
		if in.Password == "" {
			return nil
		}
		hash, err := hashMailboxPassword(ctx, in.Password, in.Name)
		if err != nil {
			return err
		}
		c.(*ent.MailboxCreate).SetPassword(hash)
		return nil
	},
}

// MailAddress is an address as the API shows it.
type MailAddress struct {
	ID        int       `json:"id"`
	Name      string    `json:"name" doc:"Before the @; empty catches every other address of the domain."`
	Domain    int       `json:"domain"`
	Address   string    `json:"address" doc:"The whole address."`
	Account   int       `json:"account"`
	Mailboxes []int     `json:"mailboxes"`
	Forward   []string  `json:"forward" doc:"Addresses elsewhere, or other accounts' mailboxes by name."`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

func addressOut(a *ent.MailAddress) MailAddress {
	out := MailAddress{ID: a.ID, Name: a.Name, Domain: a.DomainID, Account: a.AccountID, Mailboxes: []int{},
		Forward: a.Forward, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Version: a.Version}
	if out.Forward == nil {
		out.Forward = []string{}
	}
	if a.Edges.Domain != nil {
		out.Address = display(a.Name, a.Edges.Domain.Name)
	}
	for _, b := range a.Edges.Mailboxes {
		out.Mailboxes = append(out.Mailboxes, b.ID)
	}
	return out
}

type (
	addressCreate = struct {
		Name      string   `json:"name,omitempty" maxLength:"64" doc:"Before the @; empty catches every other address of the domain."`
		Domain    int      `json:"domain" minimum:"1" ent:"domain_id"`
		Mailboxes []int    `json:"mailboxes,omitempty" maxItems:"100" doc:"Mailboxes of the same account it delivers into." ent:"-"`
		Forward   []string `json:"forward,omitempty" maxItems:"50" doc:"Addresses elsewhere, or other accounts' mailboxes by name."`
	}
	addressPatch = struct {
		Name      *string   `json:"name,omitempty" maxLength:"64"`
		Mailboxes *[]int    `json:"mailboxes,omitempty" maxItems:"100" doc:"Replaces the mailboxes." ent:"-"`
		Forward   *[]string `json:"forward,omitempty" maxItems:"50"`
		Version   *int      `json:"version,omitempty"`
	}
)

type addressList struct {
	api.ListParams
	Account int `query:"account" minimum:"0"`
	Domain  int `query:"domain" minimum:"0"`
	Mailbox int `query:"mailbox" minimum:"0" doc:"Addresses delivering into this mailbox."`
}

func (l addressList) Filters() []any { return []any{"account_id", l.Account, "domain_id", l.Domain} }

func (l addressList) Where() []func(*sql.Selector) {
	if l.Mailbox == 0 {
		return nil
	}
	return []func(*sql.Selector){mailaddress.HasMailboxesWith(mailbox.ID(l.Mailbox))}
}

// MailAddresses are the addresses at accounts' domains.
var MailAddresses = api.Model[ent.MailAddress, *ent.MailAddressQuery, MailAddress, addressCreate, addressPatch, addressList]{
	Name: "mail-address", Plural: "mail-addresses", Tag: "Mail",
	List: "List mail addresses", Get: "Get a mail address", Create: "Add a mail address", Update: "Change a mail address",
	Delete:        "Delete a mail address",
	CreateExample: map[string]any{"name": "info", "domain": 1, "mailboxes": []int{1}},
	UpdateExample: map[string]any{"forward": []string{"alice@example.net"}, "version": 1},
	Listing:       api.Listing{Orderable: []string{"id", "name", "created_at", "updated_at", "account_id", "domain_id"}, Search: []string{"name"}, Default: "name"},
	Presentation: api.Presentation{Name: "mail-address", Label: "Mail addresses", Singular: "Mail address", Group: "services",
		Fieldsets: []api.Fieldset{api.Set("", "name", "domain", "mailboxes", "forward")},
		Title:     "address", Columns: []string{"mailboxes", "forward", "account"},
		Refs: map[string]string{"mailboxes": "mailbox"}, Type: "MailAddress", Applied: true},
	Client: func(c *ent.Client) api.Client[ent.MailAddress, *ent.MailAddressQuery] { return c.MailAddress },
	Out:    addressOut,
	Load: func(q *ent.MailAddressQuery) *ent.MailAddressQuery {
		return q.WithDomain().WithMailboxes(func(b *ent.MailboxQuery) { b.Select(mailbox.FieldID) })
	},
	BeforeCreate: func(ctx context.Context, tx *ent.Tx, in addressCreate, c ent.Saver[ent.MailAddress]) error {
		c.(*ent.MailAddressCreate).AddMailboxIDs(in.Mailboxes...)
		return nil
	},
	BeforeUpdate: func(ctx context.Context, tx *ent.Tx, id int, in addressPatch, s ent.Saver[ent.MailAddress]) error {
		if in.Mailboxes == nil {
			return nil
		}
		u := s.(*ent.MailAddressUpdateOne)
		current, err := tx.MailAddress.Query().Where(mailaddress.ID(id)).QueryMailboxes().IDs(ctx)
		if err != nil {
			return err
		}
		for _, c := range current {
			if !slices.Contains(*in.Mailboxes, c) {
				u.RemoveMailboxIDs(c)
			}
		}
		for _, w := range *in.Mailboxes {
			if !slices.Contains(current, w) {
				u.AddMailboxIDs(w)
			}
		}
		return nil
	},
}

// Autoresponse is an autoresponse as the API shows it.
type Autoresponse struct {
	ID           int        `json:"id"`
	Address      int        `json:"address"`
	Account      int        `json:"account"`
	Subject      string     `json:"subject"`
	Message      string     `json:"message"`
	StartsAt     *time.Time `json:"starts_at" doc:"Answers from then on; at once when empty."`
	EndsAt       *time.Time `json:"ends_at" doc:"Answers until then; for ever when empty."`
	IntervalDays int        `json:"interval_days" doc:"Days before the same sender is answered again."`
	IsActive     bool       `json:"is_active"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	Version      int        `json:"version"`
}

type (
	autoresponseCreate = struct {
		Address      int        `json:"address" minimum:"1" ent:"address_id"`
		Subject      string     `json:"subject" maxLength:"256"`
		Message      string     `json:"message" maxLength:"65536"`
		StartsAt     *time.Time `json:"starts_at,omitempty"`
		EndsAt       *time.Time `json:"ends_at,omitempty"`
		IntervalDays *int       `json:"interval_days,omitempty" minimum:"1" maximum:"365" default:"1"`
		IsActive     *bool      `json:"is_active,omitempty"`
	}
	autoresponsePatch = struct {
		Subject      *string    `json:"subject,omitempty" maxLength:"256"`
		Message      *string    `json:"message,omitempty" maxLength:"65536"`
		StartsAt     *time.Time `json:"starts_at,omitempty"`
		EndsAt       *time.Time `json:"ends_at,omitempty"`
		IntervalDays *int       `json:"interval_days,omitempty" minimum:"1" maximum:"365"`
		IsActive     *bool      `json:"is_active,omitempty"`
		Version      *int       `json:"version,omitempty"`
	}
)

type autoresponseList struct {
	api.ListParams
	Account int `query:"account" minimum:"0"`
	Address int `query:"address" minimum:"0"`
}

func (l autoresponseList) Filters() []any {
	return []any{"account_id", l.Account, "address_id", l.Address}
}

// Autoresponses answer mail to an address while their owner is away.
var Autoresponses = api.Model[ent.Autoresponse, *ent.AutoresponseQuery, Autoresponse, autoresponseCreate, autoresponsePatch, autoresponseList]{
	Name: "autoresponse", Plural: "autoresponses", Tag: "Mail",
	List: "List autoresponses", Get: "Get an autoresponse", Create: "Add an autoresponse", Update: "Change an autoresponse",
	Delete:        "Delete an autoresponse",
	CreateExample: map[string]any{"address": 1, "subject": "Away", "message": "Back on Monday."},
	UpdateExample: map[string]any{"is_active": false, "version": 1},
	Listing:       api.Listing{Orderable: []string{"id", "created_at", "updated_at", "account_id"}, Search: []string{"subject"}, Default: "id"},
	Presentation: api.Presentation{Name: "autoresponse", Label: "Autoresponses", Singular: "Autoresponse", Group: "services",
		Fieldsets: []api.Fieldset{api.Set("", "address", "subject", "message", "is_active"), api.Set("When", "starts_at", "ends_at", "interval_days")},
		Title:     "subject", Columns: []string{"address", "is_active", "ends_at", "account"}, Toggle: "is_active",
		Refs: map[string]string{"address": "mail-address"}, Type: "Autoresponse", Applied: true},
	Client: func(c *ent.Client) api.Client[ent.Autoresponse, *ent.AutoresponseQuery] { return c.Autoresponse },
}

func init() {
	api.SayValues(filteringWords)
	api.Declare(Mailboxes)
	api.Declare(MailAddresses)
	api.Declare(Autoresponses)
	api.Operations(operations)
}

// operations are the mailboxes' own: setting a password.
func operations(s *api.Server) {
	a, st := s.API(), s.Store()
	setPw := api.Example(api.Op("set-mailbox-password", http.MethodPost, "/mailboxes/{id}/password", "Set a mailbox's password", "Mail"),
		map[string]any{"password": "An0ther-pass-phrase"})
	setPw.DefaultStatus = http.StatusOK
	huma.Register(a, setPw, func(ctx context.Context, in *struct {
		api.IDPath
		Body struct {
			Password string `json:"password" maxLength:"256"`
		}
	}) (*struct{ Body Mailbox }, error) {
		var out *ent.Mailbox
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			b, err := tx.Mailbox.Get(ctx, in.ID)
			if err != nil {
				return err
			}
			hash, err := hashMailboxPassword(ctx, in.Body.Password, b.Name)
			if err != nil {
				return err
			}
			if err := tx.Mailbox.UpdateOneID(in.ID).SetPassword(hash).Exec(ctx); err != nil {
				return err
			}
			out, err = Mailboxes.Load(tx.Mailbox.Query().Where(mailbox.ID(in.ID))).Only(ctx)
			return err
		})
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &struct{ Body Mailbox }{mailboxOut(out)}, nil
	})
}
