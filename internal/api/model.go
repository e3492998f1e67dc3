package api

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	entgo "entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
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
type Lister interface {
	Params() ListParams
	Filters() []any
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
// create's body, P an update's body and L the list's parameters. Create
// and update bodies map onto the entity's fields by their JSON names (or an
// `ent:"column"` tag; `ent:"-"` skips a field): an update sets the fields
// given (pointers), a create every field but the empty optional ones, which
// keep their defaults.
type Model[E any, Q listQuery[Q, *E], O, C, P any, L Lister] struct {
	Name   string // singular, lower case: get-record, /records/{id}
	Plural string // list-records, /records
	Tag    string
	// Summaries of list, get, create, update and delete.
	List, Get, Create, Update, Delete string
	// CreateExample and UpdateExample are the operations' example bodies
	// (see example).
	CreateExample, UpdateExample map[string]any
	Listing                      Listing
	Presentation                 Presentation
	Client                       func(*ent.Client) Client[E, Q]
	Out                          func(*E) O
	// CreateWith creates in its own way, when fields alone do not say it
	// (a domain comes with its records).
	CreateWith func(ctx context.Context, tx *ent.Tx, in C) (*E, error)
	// BeforeUpdate may add to an update what its body implies (a record's
	// new type checks the value it keeps).
	BeforeUpdate func(ctx context.Context, tx *ent.Tx, id int, in P, s ent.Saver[E]) error
	// Reread answers a write with the object read again once committed:
	// rules set some fields as the transaction commits (a zone's serial).
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
	id := func(e *E) int { return reflect.ValueOf(e).Elem().FieldByName("ID").Interface().(int) }

	huma.Register(s.api, present(op("list-"+m.Plural, http.MethodGet, path, m.List, m.Tag), m.Listing, m.Presentation),
		func(ctx context.Context, in *L) (*struct{ Body *Page[O] }, error) {
			p := (*in).Params()
			where, order, err := m.Listing.plan(ctx, p, eq((*in).Filters()...))
			if err != nil {
				return nil, err
			}
			page, err := paginate(ctx, m.Client(s.st.Client).List(where, order), p, m.Out)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body *Page[O] }{page}, nil
		})

	huma.Register(s.api, op("get-"+m.Name, http.MethodGet, path+"/{id}", m.Get, m.Tag),
		func(ctx context.Context, in *IDPath) (*objectBody[O], error) {
			e, err := m.Client(s.st.Client).Get(ctx, in.ID)
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &objectBody[O]{etag(version(e)), m.Out(e)}, nil
		})

	huma.Register(s.api, example(op("create-"+m.Name, http.MethodPost, path, m.Create, m.Tag), m.CreateExample),
		func(ctx context.Context, in *struct{ Body C }) (*createdBody[O], error) {
			var e *E
			err := s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
				if m.CreateWith != nil {
					e, err = m.CreateWith(ctx, tx, in.Body)
					return err
				}
				c := m.Client(tx.Client()).NewCreate()
				if err := setFields(c.Generic(), in.Body, false); err != nil {
					return err
				}
				e, err = c.Save(ctx)
				return err
			})
			if err == nil && m.Reread {
				e, err = m.Client(s.st.Client).Get(ctx, id(e))
			}
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &createdBody[O]{Prefix + path + "/" + strconv.Itoa(id(e)), etag(version(e)), m.Out(e)}, nil
		})

	huma.Register(s.api, example(op("update-"+m.Name, http.MethodPatch, path+"/{id}", m.Update, m.Tag), m.UpdateExample),
		// an unnamed input: the document names its body after the operation
		func(ctx context.Context, in *struct {
			IDPath
			Versioned
			Body P
		}) (*objectBody[O], error) {
			v, err := expectedVersion(ctx, in.IfMatch, bodyVersion(&in.Body))
			if err != nil {
				return nil, err
			}
			var e *E
			err = s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				c := m.Client(tx.Client())
				u := c.NewUpdate(in.ID, v)
				if err := setFields(u.Generic(), in.Body, true); err != nil {
					return err
				}
				if m.BeforeUpdate != nil {
					if err := m.BeforeUpdate(ctx, tx, in.ID, in.Body, u); err != nil {
						return err
					}
				}
				e, err = u.Save(ctx)
				if ent.IsNotFound(err) {
					return staleOrMissing(ctx, func(ctx context.Context) (bool, error) { return c.Exists(ctx, in.ID) })
				}
				return err
			})
			if err == nil && m.Reread {
				e, err = m.Client(s.st.Client).Get(ctx, id(e))
			}
			if err != nil {
				return nil, fail(ctx, err)
			}
			return &objectBody[O]{etag(version(e)), m.Out(e)}, nil
		})

	huma.Register(s.api, op("delete-"+m.Name, http.MethodDelete, path+"/{id}", m.Delete, m.Tag),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			return nil, fail(ctx, s.st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				return m.Client(tx.Client()).Remove(ctx, in.ID)
			}))
		})
}

// bodyVersion is the version field of an update's body, if it has one.
func bodyVersion(body any) *int {
	f := reflect.ValueOf(body).Elem().FieldByName("Version")
	if !f.IsValid() || f.IsNil() {
		return nil
	}
	return f.Interface().(*int)
}

// setFields sets the entity fields a body carries on mutation m: with only
// given, those that are set (non-nil pointers); else all of them but the
// empty ones marked omitempty. Embedded structs are walked.
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
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		column := name
		if c, ok := f.Tag.Lookup("ent"); ok {
			column = c
		}
		if name == "" || name == "-" || column == "-" || name == "version" || !f.IsExported() {
			continue
		}
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		} else if onlyGiven || strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		if err := m.SetField(column, fv.Interface()); err != nil {
			return fmt.Errorf("api: %s: %w", column, err)
		}
	}
	return nil
}
