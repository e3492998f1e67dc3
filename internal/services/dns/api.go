package dns

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/record"
	"github.com/orchestra-panel/orchestra/internal/store/ent/route"
	"github.com/orchestra-panel/orchestra/internal/store/ent/server"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Domain is a domain as the API shows it.
type Domain struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	Account   int       `json:"account"`
	Top       *int      `json:"top,omitempty" doc:"The top domain whose zone holds this subdomain's records; absent for a top domain."`
	Serial    int64     `json:"serial" doc:"The zone's SOA serial, YYYYMMDDnn; bumped on every change of the zone."`
	Refresh   string    `json:"refresh"`
	Retry     string    `json:"retry"`
	Expire    string    `json:"expire"`
	MinTTL    string    `json:"min_ttl"`
	DNSSEC    bool      `json:"dnssec" doc:"The master signs the zone; give the registrar the DS records (GET /domains/{id}/ds)."`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

func domainOut(d *ent.Domain) Domain {
	return Domain{ID: d.ID, Name: d.Name, Account: d.AccountID, Top: d.TopID, Serial: d.Serial, Refresh: d.Refresh,
		Retry: d.Retry, Expire: d.Expire, MinTTL: d.MinTTL, DNSSEC: d.Dnssec, CreatedAt: d.CreatedAt,
		UpdatedAt: d.UpdatedAt, Version: d.Version}
}

// RecordIn is a record in a request.
type RecordIn struct {
	Type  string `json:"type" maxLength:"8" doc:"A, AAAA, CNAME, MX, NS, TXT, SRV, CAA or SOA."`
	Value string `json:"value" maxLength:"4096" doc:"As in a zone file, e.g. 10 mail.example.com. for MX; TXT is the text itself, unquoted."`
	TTL   string `json:"ttl,omitempty" maxLength:"16" doc:"Seconds or an interval like 1h; DOMAINS_DEFAULT_TTL when empty."`
}

// Record is a record as the API shows it.
type Record struct {
	ID        int       `json:"id"`
	Domain    int       `json:"domain"`
	Account   int       `json:"account"`
	Type      string    `json:"type"`
	Value     string    `json:"value"`
	TTL       string    `json:"ttl"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

func recordOut(r *ent.Record) Record {
	return Record{ID: r.ID, Domain: r.DomainID, Account: r.AccountID, Type: r.Type, Value: r.Value, TTL: r.TTL,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
}

// DomainCreate is the body of a new domain, with its first records.
type DomainCreate struct {
	Name    string     `json:"name" maxLength:"253" doc:"A subdomain of one of your domains goes into its zone; a new parent of your subdomains takes them over."`
	Account int        `json:"account,omitempty" doc:"Your own when omitted; staff name one (a subdomain takes its top domain's)."`
	Refresh string     `json:"refresh,omitempty" maxLength:"16"`
	Retry   string     `json:"retry,omitempty" maxLength:"16"`
	Expire  string     `json:"expire,omitempty" maxLength:"16"`
	MinTTL  string     `json:"min_ttl,omitempty" maxLength:"16"`
	DNSSEC  bool       `json:"dnssec,omitempty"`
	Records []RecordIn `json:"records,omitempty" maxItems:"1000" doc:"Created with the domain: the zone is checked once, with all of them."`
}

// DomainPatch changes the fields it names.
type DomainPatch struct {
	Refresh *string `json:"refresh,omitempty" maxLength:"16"`
	Retry   *string `json:"retry,omitempty" maxLength:"16"`
	Expire  *string `json:"expire,omitempty" maxLength:"16"`
	MinTTL  *string `json:"min_ttl,omitempty" maxLength:"16"`
	DNSSEC  *bool   `json:"dnssec,omitempty"`
	Version *int    `json:"version,omitempty"`
}

type createdDomain struct {
	Location string `header:"Location"`
	ETag     string `header:"ETag"`
	Body     Domain
}

var domainListing = api.Listing{
	Orderable: []string{"id", "name", "created_at", "updated_at", "account_id"},
	Search:    []string{"name"},
	Default:   "name",
	Unique:    []string{"name"},
}

var recordListing = api.Listing{
	Orderable: []string{"id", "type", "value", "created_at", "updated_at", "domain_id"},
	Search:    []string{"value"},
	Default:   "id",
}

// recordErrors moves the details of the records of a domain create under
// body.records[i].
func recordErrors(ctx context.Context, i int, err error) error {
	if se, ok := api.Fail(ctx, err).(huma.StatusError); ok {
		if e, ok := se.(*huma.ErrorModel); ok {
			for _, d := range e.Errors {
				d.Location = "body.records[" + strconv.Itoa(i) + "]." + d.Location[len("body."):]
			}
			return e
		}
		return se
	}
	return err
}

func init() {
	api.Declare(Domains)
	api.Declare(Records)
	api.Operations(operations)
}

// operations are the domains' own: a zone import, the zone's text, the DS
// records of a signed zone.
func operations(s *api.Server) {
	a, st := s.API(), s.Store()
	imp := api.Op("import-domain", http.MethodPost, "/domains/import", "Add a domain from a zone file", "DNS")
	imp.Description = "Reads a zone file (from another panel or name server): the domain, a subdomain for each other " +
		"name in it and their records, checked as any other write. The SOA's timers become the domain's and its serial carries on."
	huma.Register(a, imp, func(ctx context.Context, in *struct {
		Body struct {
			Name    string `json:"name" maxLength:"253"`
			Account int    `json:"account,omitempty"`
			Zone    string `json:"zone" maxLength:"1000000" doc:"The zone file's text; $INCLUDE is not allowed."`
		}
	}) (*createdDomain, error) {
		var d *ent.Domain
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
			d, err = Import(ctx, tx, in.Body.Name, in.Body.Account, in.Body.Zone)
			return err
		})
		if err != nil {
			return nil, api.Fail(ctx, err)
		}
		if d, err = st.Domain.Get(ctx, d.ID); err != nil {
			return nil, api.Fail(ctx, err)
		}
		return &createdDomain{Location: api.Prefix + "/domains/" + strconv.Itoa(d.ID), ETag: api.ETag(d.Version), Body: domainOut(d)}, nil
	})

	huma.Register(a, api.Op("view-zone", http.MethodGet, "/domains/{id}/zone", "The zone file of a domain, as the servers get it", "DNS"),
		func(ctx context.Context, in *api.IDPath) (*struct {
			Body struct {
				Zone   string `json:"zone" doc:"The top domain's name."`
				Serial int64  `json:"serial"`
				Text   string `json:"text"`
			}
		}, error) {
			d, err := st.Domain.Get(ctx, in.ID)
			if err != nil {
				return nil, api.Fail(ctx, err)
			}
			if d.TopID != nil {
				if d, err = st.Domain.Get(ctx, *d.TopID); err != nil {
					return nil, api.Fail(ctx, err)
				}
			}
			z, err := LoadZone(ctx, st.Client, d)
			if err != nil {
				return nil, api.Fail(ctx, err)
			}
			out := &struct {
				Body struct {
					Zone   string `json:"zone" doc:"The top domain's name."`
					Serial int64  `json:"serial"`
					Text   string `json:"text"`
				}
			}{}
			out.Body.Zone, out.Body.Serial = d.Name, d.Serial
			out.Body.Text, _ = z.Render()
			return out, nil
		})

	huma.Register(a, api.When(api.Labelled(api.Op("get-domain-ds", http.MethodGet, "/domains/{id}/ds", "The DS records to give the registrar of a signed domain", "DNS"), "DS records"), "dnssec"),
		func(ctx context.Context, in *api.IDPath) (*struct {
			Body struct {
				DS []string `json:"ds"`
			}
		}, error) {
			d, err := st.Domain.Get(ctx, in.ID)
			if err != nil {
				return nil, api.Fail(ctx, err)
			}
			if d.TopID != nil || !d.Dnssec {
				return nil, huma.Error409Conflict(i18n.T(ctx, "Only a top domain with DNSSEC on has DS records."))
			}
			// the key lives on the master: ask the first server it is routed to
			srv, err := st.Server.Query().Where(server.IsActive(true), server.HasRoutesWith(
				route.Backend(MasterBackend), route.IsActive(true))).Order(ent.Asc(server.FieldID)).
				First(viewer.System(ctx, viewer.ChannelSystem))
			if ent.IsNotFound(err) {
				return nil, huma.Error409Conflict(i18n.T(ctx, "No server is routed to %s.", MasterBackend))
			}
			if err != nil {
				return nil, api.Fail(ctx, err)
			}
			addr := srv.Address
			if addr == "" {
				addr = srv.Name
			}
			ds, err := DSRecords(ctx, addr, d.Name)
			if err != nil {
				return nil, huma.Error502BadGateway(err.Error())
			}
			out := &struct {
				Body struct {
					DS []string `json:"ds"`
				}
			}{}
			out.Body.DS = ds
			return out, nil
		})
}

// recordList is the list of records' parameters.
type recordList struct {
	api.ListParams
	Domain int    `query:"domain" minimum:"0"`
	Type   string `query:"type" enum:"A,AAAA,CNAME,MX,NS,TXT,SRV,CAA,SOA"`
}

func (l recordList) Filters() []any { return []any{"domain_id", l.Domain, "type", l.Type} }

// The bodies of a record's create and update are unnamed (aliases): the
// OpenAPI document names them after their operations.
type (
	recordCreate = struct {
		Domain int `json:"domain" minimum:"1" ent:"domain_id"`
		RecordIn
	}
	recordPatch = struct {
		Type    *string `json:"type,omitempty" maxLength:"8"`
		Value   *string `json:"value,omitempty" maxLength:"4096"`
		TTL     *string `json:"ttl,omitempty" maxLength:"16"`
		Version *int    `json:"version,omitempty"`
	}
)

// Records are the records of domains.
var Records = api.Model[ent.Record, *ent.RecordQuery, Record, recordCreate, recordPatch, recordList]{
	Name: "record", Plural: "records", Tag: "DNS",
	List: "List records", Get: "Get a record", Create: "Add a record to a domain", Update: "Change a record",
	Delete:        "Delete a record",
	CreateExample: map[string]any{"domain": 1, "type": "TXT", "value": "v=spf1 mx -all", "ttl": "1h"},
	UpdateExample: map[string]any{"value": "v=spf1 -all", "version": 1},
	Listing:       recordListing,
	Presentation: api.Presentation{Name: "record", Defaults: map[string]string{"ttl": DefaultTTL.Name()}, Choices: map[string]api.Choice{"type": api.Among(Types...)}, Fieldsets: []api.Fieldset{api.Set("", "domain", "type", "value", "ttl")}, Label: "Records", Singular: "Record", Group: "services", Title: "id", Caption: []string{"type", "value"},
		Columns: []string{"domain", "type", "value", "ttl", "account"}, Type: "Record"},
	Client: func(c *ent.Client) api.Client[ent.Record, *ent.RecordQuery] { return c.Record },
	Out:    recordOut,
	BeforeUpdate: func(ctx context.Context, tx *ent.Tx, id int, in recordPatch, u ent.Saver[ent.Record]) error {
		if in.Value != nil || in.Type == nil {
			return nil
		}
		// a new type re-checks the value it keeps
		old, err := tx.Record.Get(ctx, id)
		if err != nil {
			return err
		}
		return u.Generic().SetField(record.FieldValue, old.Value)
	},
}

// domainList is the list of domains' parameters.
type domainList struct {
	api.ListParams
	Name    string        `query:"name" maxLength:"253"`
	Account int           `query:"account" minimum:"0"`
	Top     int           `query:"top" minimum:"0" doc:"Subdomains of this top domain."`
	Host    api.BoolParam `query:"host" enum:"true,false" doc:"true: only names that may name a host (a website); no label starts with _ (_dmarc, DKIM selectors)."`
}

func (l domainList) Filters() []any {
	return []any{"name", l.Name, "account_id", l.Account, "top_id", l.Top}
}

func (l domainList) Where() []func(*sql.Selector) {
	underscore := domain.Or(domain.NameHasPrefix("_"), domain.NameContains("._"))
	switch l.Host {
	case "true":
		return []func(*sql.Selector){domain.Not(underscore)}
	case "false":
		return []func(*sql.Selector){underscore}
	}
	return nil
}

// Domains are DNS domains and their zones.
var Domains = api.Model[ent.Domain, *ent.DomainQuery, Domain, DomainCreate, DomainPatch, domainList]{
	Name: "domain", Plural: "domains", Tag: "DNS",
	List: "List domains", Get: "Get a domain", Create: "Add a domain, with its records",
	Update: "Change a domain's timers or DNSSEC", Delete: "Delete a domain, its subdomains and records",
	CreateExample: map[string]any{"name": "example.com", "records": []map[string]any{{"type": "A", "value": "192.0.2.1"}}},
	UpdateExample: map[string]any{"refresh": "2d", "version": 1},
	Listing:       domainListing,
	Presentation: api.Presentation{Name: "domain", Defaults: map[string]string{"refresh": DefaultRefresh.Name(), "retry": DefaultRetry.Name(), "expire": DefaultExpire.Name(), "min_ttl": DefaultMinTTL.Name()}, Fieldsets: []api.Fieldset{api.Set("", "account", "name", "dnssec", "records"), api.Set("Zone timers", "refresh", "retry", "expire", "min_ttl")}, Label: "Domains", Singular: "Domain", Group: "services", Title: "name",
		Columns: []string{"dnssec", "top", "account"}, Refs: map[string]string{"top": "domain"}, Type: "Domain",
		Applied: true},
	Client: func(c *ent.Client) api.Client[ent.Domain, *ent.DomainQuery] { return c.Domain },
	Out:    domainOut,
	CreateWith: func(ctx context.Context, tx *ent.Tx, b DomainCreate) (*ent.Domain, error) {
		c := tx.Domain.Create().SetName(b.Name).SetRefresh(b.Refresh).SetRetry(b.Retry).SetExpire(b.Expire).
			SetMinTTL(b.MinTTL).SetDnssec(b.DNSSEC)
		if b.Account != 0 {
			c.SetAccountID(b.Account)
		}
		d, err := c.Save(ctx)
		if err != nil {
			return nil, err
		}
		for i, r := range b.Records {
			if err := tx.Record.Create().SetDomainID(d.ID).SetType(r.Type).SetValue(r.Value).SetTTL(r.TTL).Exec(ctx); err != nil {
				return nil, recordErrors(ctx, i, err)
			}
		}
		return d, nil
	},
	Reread: true, // the serial is set at commit
}
