package api

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// Presentation is how an interface presents a model, published on the
// model's list operation as the OpenAPI extension x-orchestra-model. The web
// interface builds its pages from these and the operations' schemas, so a
// model registered here appears there without changing it.
type Presentation struct {
	// Name is the model's singular name in lower case; a field or list
	// filter so named holds the id of one of its objects.
	Name     string `json:"name"`
	Label    string `json:"label"`    // plural, English (translated where shown)
	Singular string `json:"singular"` // English
	// Group is the dashboard section: services, accounts, activity or
	// administration.
	Group string `json:"group"`
	Title string `json:"title"` // the field naming an object
	// Caption, for models whose title is only an id (a record), are the
	// fields whose values, joined, describe an object on pages.
	Caption []string `json:"caption,omitempty"`
	// Columns are the fields a list shows, after the title.
	Columns []string `json:"columns"`
	// Orderable are the fields a list may be sorted by, as ?ordering takes them.
	Orderable []string `json:"orderable"`
	// Refs maps fields holding ids of another model to its name, where the
	// field is not named as the model (top → domain).
	Refs map[string]string `json:"refs,omitempty"`
	// RefFilters narrow the objects a reference field offers: list query
	// parameters by field (a website's domains: host=true).
	RefFilters map[string]string `json:"ref_filters,omitempty"`
	// Toggle is the boolean field disable and enable set, if any.
	Toggle string `json:"toggle,omitempty"`
	// Staff hides the model from customers' navigation.
	Staff bool `json:"staff,omitempty"`
	// Type is the model's type name, as history's object_type and backends
	// name it.
	Type string `json:"type,omitempty"`
	// Applied models are applied to servers by backends: staff may apply
	// chosen objects again (POST /orchestrate).
	Applied bool `json:"applied,omitempty"`
	// ReadOnly models are written by the panel itself, not through forms.
	ReadOnly bool `json:"read_only,omitempty"`
	// Open is the boolean field an object needs true to be changed or
	// deleted (a bill, while open): pages offer neither without it.
	Open string `json:"open,omitempty"`
	// Money are the fields pages print as amounts of money: to the cent.
	Money []string `json:"money,omitempty"`
	// Nested models are read on their parent's page (a bill's lines on
	// the bill's): the navigation leaves them out.
	Nested bool `json:"nested,omitempty"`
	// Fieldsets order and group the fields of forms and object pages,
	// first what names an object; a field in none follows them.
	Fieldsets []Fieldset `json:"fieldsets,omitempty"`
	// StaffFields are the fields customers' forms and pages leave out:
	// those only staff may set and the owner (what a customer adds is its
	// own), from the store's rule (the schema's Scope), and those the
	// declaration names (ids that mean something to staff only).
	StaffFields []string `json:"staff_fields,omitempty"`
	// OwnRow models are the viewer's account itself: customers change
	// theirs, only staff add or delete one (the store's rule).
	OwnRow bool `json:"own_row,omitempty"`
	// Choices are, by field, the values forms offer for it.
	Choices map[string]Choice `json:"choices,omitempty"`
	// Defaults name, by field, the setting whose value a field left empty
	// takes, for forms to show it.
	Defaults map[string]string `json:"defaults,omitempty"`
	// Previewed are operations staff run on objects chosen in a list,
	// shown before they are done (billing chosen orders).
	Previewed []Previewed `json:"previewed,omitempty"`
}

// Previewed is an operation on chosen objects that says what it would do
// before doing it: Path is posted {Field: the ids, "commit": false} for the
// preview, then the same with commit true.
type Previewed struct {
	Verb  string `json:"verb"`  // the list's action: bill
	Label string `json:"label"` // English, translated where shown: "bill"
	Path  string `json:"path"`
	Field string `json:"field"`
}

// Choice is what a form offers for a field: values, or the list setting
// whose value they are when a form is shown. The API's rules still judge
// what is sent, all errors at once.
type Choice struct {
	Values  []string `json:"values,omitempty"`
	Setting string   `json:"setting,omitempty"`
	// From gives the values when the API is built, for what is known only
	// once every service is registered (the backends).
	From func() []string `json:"-"`
	// Named values are names registered in code (backends): pages show
	// them as they are, not in words (a backend mysql is not the engine
	// "MySQL / MariaDB").
	Named bool `json:"named,omitempty"`
}

// Among is the choice of values.
func Among(values ...string) Choice { return Choice{Values: values} }

// FromSetting is the choice of the values of the list setting name.
func FromSetting(name string) Choice { return Choice{Setting: name} }

// Fieldset is a group of fields a form shows together, under its label
// (English, translated where shown; empty for the first, main group).
type Fieldset struct {
	Label  string   `json:"label,omitempty"`
	Fields []string `json:"fields"`
}

// staffFields are the fields of the ent type typ that only staff set,
// named as the API names them (an id column as its reference).
func staffFields(typ string) []string {
	meta := ent.Meta[typ]
	var out []string
	for col := range meta.StaffOnly {
		out = append(out, strings.TrimSuffix(col, "_id"))
	}
	if meta.Owner != "" && meta.Owner != "id" {
		out = append(out, strings.TrimSuffix(meta.Owner, "_id"))
	}
	slices.Sort(out)
	return out
}

// ModelExtension is the OpenAPI extension carrying a Presentation.
const ModelExtension = "x-orchestra-model"

// LabelExtension is the OpenAPI extension naming an operation on one object
// in a few words, for a button ("Pin host key"); without it, its path's
// last segment in words.
const LabelExtension = "x-orchestra-label"

// DataOnlyExtension marks an operation whose answer is data for programs
// (a usage history a page already draws): no button offers it.
const DataOnlyExtension = "x-orchestra-data-only"

// DataOnly marks o as data for programs, offered by no button.
func DataOnly(o huma.Operation) huma.Operation {
	return extend(o, DataOnlyExtension, true)
}

// WhenExtension names the boolean field of an object without which an
// operation on it does not apply, so no button offers it (a domain's DS
// records when it is not signed).
const WhenExtension = "x-orchestra-when"

// When is o offered only for objects whose field is true.
func When(o huma.Operation, field string) huma.Operation {
	return extend(o, WhenExtension, field)
}

// DownloadExtension names the media type an operation's answer is asked
// in to be saved as a file (a bill's PDF): pages offer it as a download.
const DownloadExtension = "x-orchestra-download"

// Download marks o, a GET on one object, as a file of mediaType for pages
// to offer as a download.
func Download(o huma.Operation, mediaType string) huma.Operation {
	return extend(o, DownloadExtension, mediaType)
}

// extend is o with the extension key set to v.
func extend(o huma.Operation, key string, v any) huma.Operation {
	if o.Extensions == nil {
		o.Extensions = map[string]any{}
	}
	o.Extensions[key] = v
	return o
}

// Labelled is o with the button label l.
func Labelled(o huma.Operation, l string) huma.Operation {
	return extend(o, LabelExtension, l)
}

// present attaches p, with l's orderable fields, to a list operation.
func present(o huma.Operation, l Listing, p Presentation) huma.Operation {
	if p.Orderable == nil {
		p.Orderable = l.Orderable
	}
	p.StaffFields = slices.Compact(slices.Sorted(slices.Values(append(staffFields(p.Type), p.StaffFields...))))
	p.OwnRow = ent.Meta[p.Type].Owner == "id"
	if len(p.Choices) > 0 {
		choices := make(map[string]Choice, len(p.Choices))
		for f, c := range p.Choices {
			if c.From != nil {
				c = Choice{Values: c.From(), Named: c.Named}
			}
			choices[f] = c
		}
		p.Choices = choices
	}
	return extend(o, ModelExtension, p)
}

// Response is an answer of Call.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Call performs an API request in-process, as the viewer of ctx (who must
// already be authenticated), through the same validation, authorization,
// idempotency and orchestration follow-up as a request over HTTP. path is
// under Prefix; body is JSON or nil.
func (s *Server) Call(ctx context.Context, method, path string, body []byte, header http.Header) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, Prefix+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	held := &heldResponse{ResponseWriter: headerSink{}, status: http.StatusOK}
	s.inner.ServeHTTP(held, req)
	return &Response{Status: held.status, Header: held.Header(), Body: held.body.Bytes()}, nil
}

// headerSink is a ResponseWriter with headers only, under a heldResponse
// that is never released.
type headerSink http.Header

func (h headerSink) Header() http.Header       { return http.Header(h) }
func (headerSink) Write(b []byte) (int, error) { return len(b), nil }
func (headerSink) WriteHeader(int)             {}

// orchestrateRoutes lets staff apply chosen objects again.
func (s *Server) orchestrateRoutes() {
	o := op("orchestrate", http.MethodPost, "/orchestrate",
		"Apply chosen objects again on the servers their routes name (staff)", "Orchestration")
	o.DefaultStatus = http.StatusAccepted
	o.Description = "Plans a unit per server and backend for the objects, as they are now; with dry_run the scripts " +
		"are returned and nothing runs. Follow the units' logs."
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		Body struct {
			Model   string `json:"model" minLength:"1" maxLength:"64" doc:"The model's type, as backends name it (Domain, SystemUser…)."`
			IDs     []int  `json:"ids" minItems:"1" maxItems:"1000" doc:"The objects to apply."`
			Backend string `json:"backend,omitempty" maxLength:"128" doc:"Only this backend."`
			Action  string `json:"action,omitempty" maxLength:"64" doc:"save (default) or delete."`
			DryRun  bool   `json:"dry_run,omitempty"`
		}
	}) (*struct{ Body []PlannedUnit }, error) {
		ex, err := s.executor(ctx)
		if err != nil {
			return nil, err
		}
		units, err := ex.Orchestrate(ctx, orchestration.Selection{Model: in.Body.Model, IDs: in.Body.IDs,
			Backend: in.Body.Backend, Action: in.Body.Action}, in.Body.DryRun)
		if err != nil {
			return nil, selectionFail(ctx, err)
		}
		out := make([]PlannedUnit, len(units))
		for i, u := range units {
			out[i] = plannedOut(u, in.Body.DryRun)
		}
		return &struct{ Body []PlannedUnit }{out}, nil
	})
}

// example declares body as o's example request: the reference shows it, and
// the tests build their requests on it, so it must be accepted as it is by
// a customer with the objects it names. A field named as a model
// (Presentation.Name, or one of its Refs) holds the id of one of its objects.
func example(o huma.Operation, body map[string]any) huma.Operation {
	o.RequestBody = &huma.RequestBody{Content: map[string]*huma.MediaType{"application/json": {Example: body}}}
	return o
}

// Set is a fieldset: fields under a label.
func Set(label string, fields ...string) Fieldset { return Fieldset{Label: label, Fields: fields} }

// valueWords say in English words values that are codes (a preset's name),
// for the pages; translated where shown.
var valueWords = map[string]string{}

// SayValues registers how the pages say values that are codes.
func SayValues(words map[string]string) {
	for k, v := range words {
		valueWords[k] = v
	}
}

// ValueWords is how the pages say value v, if a service said.
func ValueWords(v string) (string, bool) {
	w, ok := valueWords[v]
	return w, ok
}
