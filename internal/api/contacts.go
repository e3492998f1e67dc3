package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contact"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
)

// Contact is a contact as the API shows it.
type Contact struct {
	ID         int       `json:"id"`
	Account    int       `json:"account"`
	ShortName  string    `json:"short_name"`
	FullName   string    `json:"full_name"`
	Email      string    `json:"email"`
	EmailUsage []string  `json:"email_usage"`
	Phone      string    `json:"phone"`
	Phone2     string    `json:"phone2"`
	Address    string    `json:"address"`
	City       string    `json:"city"`
	Zipcode    string    `json:"zipcode"`
	Country    string    `json:"country"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Version    int       `json:"version"`
}

func contactOut(c *ent.Contact) Contact {
	return Contact{ID: c.ID, Account: c.AccountID, ShortName: c.ShortName, FullName: c.FullName, Email: c.Email,
		EmailUsage: c.EmailUsage, Phone: c.Phone, Phone2: c.Phone2, Address: c.Address, City: c.City,
		Zipcode: c.Zipcode, Country: c.Country, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version}
}

// ContactCreate is the body of a new contact.
type ContactCreate struct {
	Account    int      `json:"account,omitempty" doc:"Owning account; your own when omitted (staff must name one)."`
	ShortName  string   `json:"short_name" maxLength:"128"`
	FullName   string   `json:"full_name,omitempty" maxLength:"256"`
	Email      string   `json:"email" maxLength:"254"`
	EmailUsage []string `json:"email_usage,omitempty" maxItems:"6" doc:"What this contact is reached for; CONTACTS_DEFAULT_EMAIL_USAGES when omitted. Any of SUPPORT, ADMIN, BILLING, TECH, ADDS, EMERGENCY."`
	Phone      string   `json:"phone,omitempty" maxLength:"32"`
	Phone2     string   `json:"phone2,omitempty" maxLength:"32"`
	Address    string   `json:"address,omitempty" maxLength:"1000" doc:"Requires city, zipcode and country."`
	City       string   `json:"city,omitempty" maxLength:"128"`
	Zipcode    string   `json:"zipcode,omitempty" maxLength:"10" doc:"Upper-case letters and digits, checked against the country's format."`
	Country    string   `json:"country,omitempty" maxLength:"2" doc:"ISO 3166 code; CONTACTS_DEFAULT_COUNTRY when omitted."`
}

// ContactPatch changes the fields it names.
type ContactPatch struct {
	ShortName  *string   `json:"short_name,omitempty" maxLength:"128"`
	FullName   *string   `json:"full_name,omitempty" maxLength:"256"`
	Email      *string   `json:"email,omitempty" maxLength:"254"`
	EmailUsage *[]string `json:"email_usage,omitempty" maxItems:"6" doc:"Any of SUPPORT, ADMIN, BILLING, TECH, ADDS, EMERGENCY."`
	Phone      *string   `json:"phone,omitempty" maxLength:"32"`
	Phone2     *string   `json:"phone2,omitempty" maxLength:"32"`
	Address    *string   `json:"address,omitempty" maxLength:"1000"`
	City       *string   `json:"city,omitempty" maxLength:"128"`
	Zipcode    *string   `json:"zipcode,omitempty" maxLength:"10"`
	Country    *string   `json:"country,omitempty" maxLength:"2"`
	Version    *int      `json:"version,omitempty"`
}

// createdContact answers a create with the new object's address.
type createdContact struct {
	Location string `header:"Location"`
	ETag     string `header:"ETag"`
	Body     Contact
}

type contactBody struct {
	ETag string `header:"ETag"`
	Body Contact
}

var contactListing = Listing{
	Orderable: []string{"id", "short_name", "full_name", "email", "country", "created_at", "updated_at", "account_id"},
	Search:    []string{"short_name", "full_name", "email", "phone", "city"},
	Default:   "short_name",
}

func (s *Server) contactRoutes() {
	huma.Register(s.api, present(op("list-contacts", http.MethodGet, "/contacts", "List contacts", "Contacts"), contactListing, Presentation{Name: "contact", Label: "Contacts", Singular: "Contact", Group: "accounts", Title: "short_name", Columns: []string{"full_name", "email", "phone", "country", "account"}, Type: "Contact"}),
		func(ctx context.Context, in *struct {
			ListParams
			Account    int    `query:"account" minimum:"0"`
			Country    string `query:"country" maxLength:"2"`
			EmailUsage string `query:"email_usage" enum:"SUPPORT,ADMIN,BILLING,TECH,ADDS,EMERGENCY" doc:"Contacts reached for this usage."`
		}) (*struct{ Body *Page[Contact] }, error) {
			var extra []func(*sql.Selector)
			if in.EmailUsage != "" {
				usage := in.EmailUsage
				extra = append(extra, func(s *sql.Selector) {
					s.Where(sqljson.ValueContains(s.C(contact.FieldEmailUsage), usage))
				})
			}
			where, order, err := contactListing.plan(ctx, in.ListParams,
				eq("account_id", in.Account, "country", in.Country), extra...)
			if err != nil {
				return nil, err
			}
			q := s.st.Contact.Query().Where(predicate.Contact(where))
			for _, o := range order {
				q = q.Order(contact.OrderOption(o))
			}
			page, err := paginate(ctx, q, in.ListParams, contactOut)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[Contact] }{page}, nil
		})

	huma.Register(s.api, op("get-contact", http.MethodGet, "/contacts/{id}", "Get a contact", "Contacts"),
		func(ctx context.Context, in *IDPath) (*contactBody, error) {
			c, err := s.st.Contact.Get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &contactBody{ETag: etag(c.Version), Body: contactOut(c)}, nil
		})

	huma.Register(s.api, example(op("create-contact", http.MethodPost, "/contacts", "Create a contact", "Contacts"),
		map[string]any{"short_name": "Billing", "full_name": "Núria Pérez", "email": "billing@example.com", "city": "Girona"}),
		func(ctx context.Context, in *struct{ Body ContactCreate }) (*createdContact, error) {
			b := in.Body
			var c *ent.Contact
			err := s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				cr := tx.Contact.Create().SetShortName(b.ShortName).SetFullName(b.FullName).SetEmail(b.Email).
					SetEmailUsage(b.EmailUsage).SetPhone(b.Phone).SetPhone2(b.Phone2).SetAddress(b.Address).
					SetCity(b.City).SetZipcode(b.Zipcode).SetCountry(b.Country)
				if b.Account != 0 {
					cr.SetAccountID(b.Account)
				}
				var err error
				c, err = cr.Save(ctx)
				return err
			})
			if err != nil {
				return nil, fail(ctx, err)
			}
			out := &createdContact{Location: Prefix + "/contacts/" + strconv.Itoa(c.ID)}
			out.ETag, out.Body = etag(c.Version), contactOut(c)
			return out, nil
		})

	huma.Register(s.api, example(op("update-contact", http.MethodPatch, "/contacts/{id}", "Change a contact", "Contacts"),
		map[string]any{"phone": "+34 931 234 567", "version": 1}),
		func(ctx context.Context, in *struct {
			IDPath
			Versioned
			Body ContactPatch
		}) (*contactBody, error) {
			v, err := expectedVersion(ctx, in.IfMatch, in.Body.Version)
			if err != nil {
				return nil, err
			}
			b := in.Body
			var c *ent.Contact
			err = s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				u := tx.Contact.UpdateOneID(in.ID).Where(contact.VersionEQ(v)).
					SetNillableShortName(b.ShortName).SetNillableFullName(b.FullName).SetNillableEmail(b.Email).
					SetNillablePhone(b.Phone).SetNillablePhone2(b.Phone2).SetNillableAddress(b.Address).
					SetNillableCity(b.City).SetNillableZipcode(b.Zipcode).SetNillableCountry(b.Country)
				if b.EmailUsage != nil {
					u.SetEmailUsage(*b.EmailUsage)
				}
				c, err = u.Save(ctx)
				if ent.IsNotFound(err) {
					return staleOrMissing(ctx, tx.Contact.Query().Where(contact.ID(in.ID)).Exist)
				}
				return err
			})
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &contactBody{ETag: etag(c.Version), Body: contactOut(c)}, nil
		})

	huma.Register(s.api, op("delete-contact", http.MethodDelete, "/contacts/{id}", "Delete a contact", "Contacts"),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			return nil, fail(ctx, s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Contact.DeleteOneID(in.ID).Exec(ctx)
			}))
		})
}
