package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	entgo "entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// Client is what a model's standard operations need of its ent client;
// entc generates it for every model with a version (adapters.tmpl).
type Client[E, Q any] interface {
	Get(ctx context.Context, id int) (*E, error)
	List(where func(*sql.Selector), order []func(*sql.Selector)) Q
	Exists(ctx context.Context, id int) (bool, error)
	NewCreate() ent.Saver[E]
	NewUpdate(id, version int) ent.Saver[E]
	Remove(ctx context.Context, id int) error
}

// Lister is a list's query parameters: ListParams, embedded, and the
// model's filters, as (column, value) pairs; a zero value filters nothing.
// Filters that are not equalities come from a Where method, if it has one.
type Lister interface {
	Params() ListParams
	Filters() []any
}

// modelQuery is the part of a generated ent query a model's operations use.
type modelQuery[Q, E any] interface {
	listQuery[Q, *E]
	Only(context.Context) (*E, error)
}

type moreFilters interface {
	Where() []func(*sql.Selector)
}

// Params returns the parameters themselves, so that a list's parameters
// embedding ListParams are a Lister once they say their filters.
func (p ListParams) Params() ListParams { return p }

// Model declares the standard operations of a model, so that every model
// follows one set of rules: list with filters, search, ordering and pages;
// get; create (201, Location); update based on a version (If-Match or a
// version field: 428 without one, 412 when stale); delete; an ETag on every
// answer carrying an object.
//
// E is the ent entity, Q its query, O the object as the API shows it, C a
// create's body, P an update's body and L the list's parameters. Bodies
// map onto the entity's fields by name (setFields).
type Model[E any, Q modelQuery[Q, E], O, C, P any, L Lister] struct {
	Name   string // singular, lower case: get-record, /records/{id}
	Plural string // list-records, /records
	Tag    string
	// Summaries of list, get, create, update and delete; a model without
	// a Create summary has no create operation (the panel makes its
	// objects), one without an Update summary no update operation.
	List, Get, Create, Update, Delete string
	// CreateNote is the create operation's description, when its body
	// needs more than its fields' docs.
	CreateNote string
	// CreateExample and UpdateExample are the operations' example bodies
	// (see example).
	CreateExample, UpdateExample map[string]any
	Listing                      Listing
	Presentation                 Presentation
	Client                       func(*ent.Client) Client[E, Q]
	Out                          func(*E) O
	// Load adds to the queries of lists and of single objects what an
	// object is shown with (its edges: a system user's groups).
	Load func(Q) Q
	// BeforeCreate may add to a create what its body implies beyond
	// fields (edges, a password's hash).
	BeforeCreate func(ctx context.Context, tx *ent.Tx, in C, s ent.Saver[E]) error
	// CreateWith creates in its own way, when fields alone do not say it
	// (a domain comes with its records).
	CreateWith func(ctx context.Context, tx *ent.Tx, in C) (*E, error)
	// BeforeUpdate may add to an update what its body implies (a record's
	// new type checks the value it keeps).
	BeforeUpdate func(ctx context.Context, tx *ent.Tx, id int, in P, s ent.Saver[E]) error
	// SaveError maps an error of a create's or an update's save to the
	// answer the model gives (a constraint to the field it concerns).
	SaveError func(ctx context.Context, err error) error
	// Reread answers a write with the object read again once committed:
	// rules set some fields as the transaction commits (a zone's serial);
	// with Load, it is implied.
	Reread bool
}

type objectBody[O any] struct {
	ETag string `header:"ETag"`
	Body O
}

type createdBody[O any] struct {
	Location string `header:"Location"`
	ETag     string `header:"ETag"`
	Body     O
}

// register adds the model's operations to s.
func (m Model[E, Q, O, C, P, L]) register(s *Server) {
	path := "/" + m.Plural
	version := func(e *E) int { return reflect.ValueOf(e).Elem().FieldByName("Version").Interface().(int) }
	if m.Out == nil {
		m.Out = copyOut[E, O](m.Name)
	}

	// get reads one object as the viewer may see it, with what Load adds
	get := func(ctx context.Context, objID int) (*E, error) {
		if m.Load == nil {
			return m.Client(s.st.Client).Get(ctx, objID)
		}
		q := m.Client(s.st.Client).List(func(s *sql.Selector) { s.Where(sql.EQ(s.C("id"), objID)) }, nil)
		return m.Load(q).Only(ctx)
	}

	huma.Register(s.api, present(op("list-"+m.Plural, http.MethodGet, path, m.List, m.Tag), m.Listing, m.Presentation),
		func(ctx context.Context, in *L) (*struct{ Body *Page[O] }, error) {
			p := (*in).Params()
			var more []func(*sql.Selector)
			if w, ok := any(*in).(moreFilters); ok {
				more = w.Where()
			}
			where, order, err := m.Listing.plan(ctx, p, eq((*in).Filters()...), more...)
			if err != nil {
				return nil, err
			}
			q := m.Client(s.st.Client).List(where, order)
			if m.Load != nil {
				q = m.Load(q)
			}
			page, err := paginate(ctx, q, p, m.Out)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[O] }{page}, nil
		})

	huma.Register(s.api, op("get-"+m.Name, http.MethodGet, path+"/{id}", m.Get, m.Tag),
		func(ctx context.Context, in *IDPath) (*objectBody[O], error) {
			e, err := get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &objectBody[O]{etag(version(e)), m.Out(e)}, nil
		})

	if m.Create != "" {
		m.registerCreate(s, get)
	}

	if m.Update != "" {
		m.registerUpdate(s, get)
	}

	huma.Register(s.api, op("delete-"+m.Name, http.MethodDelete, path+"/{id}", m.Delete, m.Tag),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			return nil, fail(ctx, s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return m.Client(tx.Client()).Remove(ctx, in.ID)
			}))
		})
}

// registerCreate adds the model's create.
func (m Model[E, Q, O, C, P, L]) registerCreate(s *Server, get func(context.Context, int) (*E, error)) {
	path := "/" + m.Plural
	version := func(e *E) int { return reflect.ValueOf(e).Elem().FieldByName("Version").Interface().(int) }
	id := func(e *E) int { return reflect.ValueOf(e).Elem().FieldByName("ID").Interface().(int) }
	create := withExample(op("create-"+m.Name, http.MethodPost, path, m.Create, m.Tag), m.CreateExample)
	create.Description = m.CreateNote
	checkBody[C](s, &create)
	huma.Register(s.api, create,
		func(ctx context.Context, in *struct {
			Body C
		}) (*createdBody[O], error) {
			var e *E
			save := func(ctx context.Context, tx *ent.Tx) (err error) {
				if m.CreateWith != nil {
					e, err = m.CreateWith(ctx, tx, in.Body)
					return err
				}
				c := m.Client(tx.Client()).NewCreate()
				if err := setFields(c.Generic(), in.Body, false); err != nil {
					return err
				}
				if m.BeforeCreate != nil {
					if err := m.BeforeCreate(ctx, tx, in.Body, c); err != nil {
						return alongRules(err, func() error { _, err := c.Save(ctx); return err })
					}
				}
				e, err = c.Save(ctx)
				return m.saveError(ctx, err)
			}
			err := s.st.Tx(ctx, withBodyErrors(bodyErrors(ctx), save))
			if err == nil && (m.Reread || m.Load != nil) {
				e, err = get(ctx, id(e))
			}
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &createdBody[O]{Prefix + path + "/" + strconv.Itoa(id(e)), etag(version(e)), m.Out(e)}, nil
		})
}

// registerUpdate adds the model's versioned update.
func (m Model[E, Q, O, C, P, L]) registerUpdate(s *Server, get func(context.Context, int) (*E, error)) {
	path := "/" + m.Plural
	version := func(e *E) int { return reflect.ValueOf(e).Elem().FieldByName("Version").Interface().(int) }
	id := func(e *E) int { return reflect.ValueOf(e).Elem().FieldByName("ID").Interface().(int) }
	update := withExample(op("update-"+m.Name, http.MethodPatch, path+"/{id}", m.Update, m.Tag), m.UpdateExample)
	checkBody[P](s, &update)
	huma.Register(s.api, update,
		// an unnamed input: the document names its body after the operation
		func(ctx context.Context, in *struct {
			IDPath
			Versioned
			Body P
		}) (*objectBody[O], error) {
			bodyErrs := bodyErrors(ctx)
			v, err := expectedVersion(ctx, in.IfMatch, bodyVersion(&in.Body))
			if err != nil && bodyErrs == nil {
				return nil, err
			}
			var e *E
			err = s.st.Tx(ctx, withBodyErrors(bodyErrs, func(ctx context.Context, tx *ent.Tx) error {
				c := m.Client(tx.Client())
				u := c.NewUpdate(in.ID, v)
				if err := setFields(u.Generic(), in.Body, true); err != nil {
					return err
				}
				if m.BeforeUpdate != nil {
					if err := m.BeforeUpdate(ctx, tx, in.ID, in.Body, u); err != nil {
						return alongRules(err, func() error { _, err := u.Save(ctx); return err })
					}
				}
				e, err = u.Save(ctx)
				if ent.IsNotFound(err) {
					return staleOrMissing(ctx, func(ctx context.Context) (bool, error) { return c.Exists(ctx, in.ID) })
				}
				return m.saveError(ctx, err)
			}))
			if err == nil && (m.Reread || m.Load != nil) {
				e, err = get(ctx, id(e))
			}
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &objectBody[O]{etag(version(e)), m.Out(e)}, nil
		})
}

func (m Model[E, Q, O, C, P, L]) saveError(ctx context.Context, err error) error {
	if err == nil || m.SaveError == nil {
		return err
	}
	return m.SaveError(ctx, err)
}

// alongRules returns a hook's refusal. When it names fields (a weak
// password), the rules still judge the rest (save runs them; the
// transaction is rolled back whatever it does), so that the answer lists
// every field's mistake at once.
func alongRules(hookErr error, save func() error) error {
	var errs validate.Errors
	if !errors.As(hookErr, &errs) {
		return hookErr
	}
	errs.Merge(save())
	return errs
}

// withBodyErrors is save, or, when the body has mistakes, save run only to
// gather the rules' (the transaction is rolled back). A body that broke its
// schema may hold what no rule expects: a panic then leaves the schema's
// mistakes alone.
func withBodyErrors(errs validate.Errors, save func(context.Context, *ent.Tx) error) func(context.Context, *ent.Tx) error {
	if len(errs) == 0 {
		return save
	}
	return func(ctx context.Context, tx *ent.Tx) (err error) {
		defer func() {
			if recover() != nil {
				err = errs
			}
		}()
		return alongRules(errs, func() error { return save(ctx, tx) })
	}
}

// withExample is example, for a declaration that may have none.
func withExample(o huma.Operation, body map[string]any) huma.Operation {
	if body == nil {
		return o
	}
	return example(o, body)
}

// bodyVersion is the version field of an update's body, if it has one.
func bodyVersion(body any) *int {
	f := reflect.ValueOf(body).Elem().FieldByName("Version")
	if !f.IsValid() || f.IsNil() {
		return nil
	}
	return f.Interface().(*int)
}

// setFields sets the entity fields a body carries on mutation m: with
// onlyGiven (an update), those given (non-nil pointers); else (a create)
// every field, but a zero one tagged `ent:",omitzero"` (an account left
// out means the viewer's own). A field sets the entity field of its JSON
// name, or of the name its ent tag gives; `ent:"-"` skips it. Embedded
// structs are walked.
func setFields(m entgo.Mutation, body any, onlyGiven bool) error {
	v := reflect.ValueOf(body)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if err := setFields(m, fv.Interface(), onlyGiven); err != nil {
				return err
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		column, opts, _ := strings.Cut(f.Tag.Get("ent"), ",")
		if column == "" {
			column = name
		}
		if name == "" || name == "-" || column == "-" || name == "version" || !f.IsExported() {
			continue
		}
		switch {
		case fv.Kind() == reflect.Pointer && fv.IsNil():
			continue
		case fv.Kind() == reflect.Pointer:
			fv = fv.Elem()
		case onlyGiven || opts == "omitzero" && fv.IsZero():
			continue
		}
		if err := m.SetField(column, fv.Interface()); err != nil {
			return fmt.Errorf("api: %s: %w", column, err)
		}
	}
	return nil
}

// copyOut is the Out of a model whose output's fields are the entity's of
// the same name (a reference X the entity's XID): each found once, here.
func copyOut[E, O any](model string) func(*E) O {
	et, ot := reflect.TypeFor[E](), reflect.TypeFor[O]()
	from := make([]int, ot.NumField())
	for i := range ot.NumField() {
		f := ot.Field(i)
		ef, ok := et.FieldByName(f.Name)
		if !ok {
			ef, ok = et.FieldByName(f.Name + "ID")
		}
		if !ok || len(ef.Index) != 1 || !ef.Type.AssignableTo(f.Type) {
			panic(fmt.Sprintf("api: %s: the output's %s is no field of %s: give the model an Out", model, f.Name, et))
		}
		from[i] = ef.Index[0]
	}
	return func(e *E) O {
		var o O
		ev, ov := reflect.ValueOf(e).Elem(), reflect.ValueOf(&o).Elem()
		for i, j := range from {
			ov.Field(i).Set(ev.Field(j))
		}
		return o
	}
}
