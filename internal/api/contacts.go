package api

import (
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contact"
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
	Account    int      `json:"account,omitempty" ent:"account_id,omitzero" doc:"Owning account; your own when omitted (staff must name one)."`
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

var contactListing = Listing{
	Orderable: []string{"id", "short_name", "full_name", "email", "country", "created_at", "updated_at", "account_id"},
	Search:    []string{"short_name", "full_name", "email", "phone", "city"},
	Default:   "short_name",
}

// contactList is the list of contacts' parameters.
type contactList struct {
	ListParams
	Account    int    `query:"account" minimum:"0"`
	Country    string `query:"country" maxLength:"2"`
	EmailUsage string `query:"email_usage" enum:"SUPPORT,ADMIN,BILLING,TECH,ADDS,EMERGENCY" doc:"Contacts reached for this usage."`
}

func (l contactList) Filters() []any { return []any{"account_id", l.Account, "country", l.Country} }

func (l contactList) Where() []func(*sql.Selector) {
	if l.EmailUsage == "" {
		return nil
	}
	usage := l.EmailUsage
	return []func(*sql.Selector){func(s *sql.Selector) {
		s.Where(sqljson.ValueContains(s.C(contact.FieldEmailUsage), usage))
	}}
}

// Contacts are the people an account is reached through.
var Contacts = Model[ent.Contact, *ent.ContactQuery, Contact, ContactCreate, ContactPatch, contactList]{
	Name: "contact", Plural: "contacts", Tag: "Contacts",
	List: "List contacts", Get: "Get a contact", Create: "Create a contact", Update: "Change a contact",
	Delete: "Delete a contact",
	CreateExample: map[string]any{"short_name": "Billing", "full_name": "Núria Pérez", "email": "billing@example.com",
		"city": "Girona"},
	UpdateExample: map[string]any{"phone": "+34 931 234 567", "version": 1},
	Listing:       contactListing,
	Presentation: Presentation{Name: "contact", Fieldsets: []Fieldset{Set("", "account", "short_name", "full_name", "email", "email_usage"), Set("Postal address", "address", "zipcode", "city", "country"), Set("Phone", "phone", "phone2")}, Label: "Contacts", Singular: "Contact", Group: "accounts",
		Title: "short_name", Columns: []string{"full_name", "email", "phone", "country", "account"}, Type: "Contact"},
	Client: func(c *ent.Client) Client[ent.Contact, *ent.ContactQuery] { return c.Contact },
	Out:    contactOut,
}

func (s *Server) contactRoutes() { Contacts.register(s) }
