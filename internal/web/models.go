package web

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
)

// The admin is one engine for every model: it reads the API's OpenAPI
// document, where each model's list operation carries its presentation
// (api.Presentation), and builds lists, forms and actions from the
// operations and their schemas. A model the API registers appears here
// without a change to this package.

// Model is a model as the pages use it.
type Model struct {
	api.Presentation
	Slug    string       // path segment: /domains
	Filters []Field      // list filters (query parameters beyond paging)
	Item    *huma.Schema // an object as read
	Create  *huma.Schema // the create body; nil when objects are not created here
	// Created is the create answer's schema when it differs from Item: it
	// holds something shown once (a token's secret).
	Created *huma.Schema
	Update  *huma.Schema // the PATCH body; nil when objects are not changed here
	Delete  bool
	// StaffDelete: only staff delete its objects (a "(staff)" summary).
	StaffDelete bool
	// StaffUpdate: only staff change its objects (a "(staff)" summary).
	StaffUpdate bool
	// StaffCreate: only staff add its objects (a "(staff)" summary).
	StaffCreate bool
	Actions     []Action     // POST /slug/{id}/verb
	Views       []Action     // GET /slug/{id}/verb
	Downloads   []Action     // GET /slug/{id}/verb as a file
	Check       *huma.Schema // the body of POST /slug/check, which checks a form without saving
	// Kinds: a model with kinds (a web app's type) has a settings field
	// whose fields depend on the kind chosen; a form shows those of one.
	KindField string
	Kinds     []Kind
}

// Kind is one kind of a model with kinds, and the fields of its settings.
type Kind struct {
	Name, Label string
	Fields      []Field
}

// kindType is the field that chooses a model's kind.
const kindType = "type"

// kindsOf finds, in a create or change body s, the field whose settings
// depend on the kind (the x-orchestra-kinds extension) and the kinds'
// fields.
func kindsOf(reg huma.Registry, s *huma.Schema) (string, []Kind) {
	if s == nil {
		return "", nil
	}
	for name, p := range s.Properties {
		list, ok := resolve(reg, p).Extensions["x-orchestra-kinds"].(map[string]any)
		if !ok {
			continue
		}
		var out []Kind
		for _, k := range slices.Sorted(maps.Keys(list)) {
			d, _ := list[k].(map[string]any)
			ref, _ := d["$ref"].(string)
			label, _ := d["label"].(string)
			ks := reg.SchemaFromRef(ref)
			if ks == nil {
				continue
			}
			out = append(out, Kind{Name: k, Label: label, Fields: formFields(ks)})
		}
		return name, out
	}
	return "", nil
}

// Action is an operation on one object beyond reading and writing it.
type Action struct {
	Verb    string
	Label   string // English: the operation's x-orchestra-label, or its verb in words
	When    string // the boolean field of an object it applies to, if any
	Staff   bool   // only staff may (its summary says "(staff)"): not offered to customers
	Summary string
	Body    *huma.Schema // nil: the action takes no input
	Media   string       // a download's media type
}

// Field is one property of a schema, as a form or a table needs it.
type Field struct {
	Name        string
	Type        string // string, integer, boolean, array, object
	ItemType    string // for arrays
	Format      string
	Enum        []string
	Required    bool
	MaxLength   int
	Description string
	Default     any
	Legend      string // a form's group this field opens
	Kind        string // a setting of this kind only (the model's type), shown when it is chosen
}

// registry holds the models by slug, in display order.
type registry struct {
	bySlug map[string]*Model
	byName map[string]*Model
	order  []*Model
}

func (g *registry) model(slug string) *Model { return g.bySlug[slug] }

// ref returns the model a field of m holds ids of, or nil.
func (g *registry) ref(m *Model, field string) *Model {
	if name, ok := m.Refs[field]; ok {
		return g.byName[name]
	}
	if field == m.Title || field == "id" {
		return nil
	}
	return g.byName[strings.ReplaceAll(field, "_", "-")]
}

var listParams = map[string]bool{"page": true, "page_size": true, "ordering": true, "search": true, "ids": true}

// buildRegistry reads the models out of the API's OpenAPI document.
func buildRegistry(oapi *huma.OpenAPI) *registry {
	g := &registry{bySlug: map[string]*Model{}, byName: map[string]*Model{}}
	reg := oapi.Components.Schemas
	schemaOf := func(mt map[string]*huma.MediaType) *huma.Schema {
		if c, ok := mt["application/json"]; ok && c.Schema != nil {
			return resolve(reg, c.Schema)
		}
		return nil
	}
	bodyOf := func(mt map[string]*huma.MediaType) *huma.Schema { return inline(reg, schemaOf(mt)) }
	for path, item := range oapi.Paths {
		if item.Get == nil || item.Get.Extensions[api.ModelExtension] == nil {
			continue
		}
		p, ok := item.Get.Extensions[api.ModelExtension].(api.Presentation)
		if !ok {
			continue
		}
		slug := strings.TrimPrefix(strings.TrimPrefix(path, api.Prefix), "/")
		m := &Model{Presentation: p, Slug: slug}
		named := map[string]bool{}
		for _, prm := range item.Get.Parameters {
			named[prm.Name] = true
		}
		for _, prm := range item.Get.Parameters {
			if prm.In == "query" && !listParams[prm.Name] {
				if base, ok := strings.CutSuffix(prm.Name, "_id"); ok && named[base] {
					continue // actor_id beside actor: one filter, by name, that people read as "Actor"
				}
				f := fieldOf(prm.Name, resolve(reg, prm.Schema), false)
				f.Description = prm.Description
				m.Filters = append(m.Filters, f)
			}
		}
		if item.Post != nil && item.Post.RequestBody != nil && !p.ReadOnly {
			m.Create = bodyOf(item.Post.RequestBody.Content)
			m.StaffCreate = staffOnly(item.Post)
			if r := item.Post.Responses[statusKey(item.Post.DefaultStatus)]; r != nil {
				m.Created = schemaOf(r.Content)
			}
		}
		g.bySlug[slug], g.byName[p.Name] = m, m
		g.order = append(g.order, m)
	}
	// the object paths: /slug/{id} and /slug/{id}/verb
	for path, item := range oapi.Paths {
		rest := strings.TrimPrefix(strings.TrimPrefix(path, api.Prefix), "/")
		slug, sub, _ := strings.Cut(rest, "/")
		m := g.bySlug[slug]
		if m == nil {
			continue
		}
		switch {
		case sub == "{id}":
			if item.Get != nil {
				if r := item.Get.Responses["200"]; r != nil {
					m.Item = schemaOf(r.Content)
				}
			}
			if item.Patch != nil && item.Patch.RequestBody != nil {
				m.Update = bodyOf(item.Patch.RequestBody.Content)
				m.StaffUpdate = staffOnly(item.Patch)
			}
			m.Delete = item.Delete != nil
			m.StaffDelete = m.Delete && staffOnly(item.Delete)
		case sub == "check" && item.Post != nil && item.Post.RequestBody != nil:
			m.Check = bodyOf(item.Post.RequestBody.Content)
		case strings.HasPrefix(sub, "{id}/"):
			verb := strings.TrimPrefix(sub, "{id}/")
			if strings.Contains(verb, "/") {
				continue
			}
			if item.Post != nil {
				a := Action{Verb: verb, Label: opLabel(item.Post, verb), Summary: summary(item.Post), When: opWhen(item.Post),
					Staff: staffOnly(item.Post)}
				if item.Post.RequestBody != nil {
					a.Body = bodyOf(item.Post.RequestBody.Content)
				}
				m.Actions = append(m.Actions, a)
			}
			if item.Get == nil {
				continue
			}
			if media, ok := item.Get.Extensions[api.DownloadExtension].(string); ok {
				m.Downloads = append(m.Downloads, Action{Verb: verb, Label: opLabel(item.Get, verb), Summary: summary(item.Get), When: opWhen(item.Get),
					Media: media})
			} else if item.Get.Extensions[api.DataOnlyExtension] != true {
				m.Views = append(m.Views, Action{Verb: verb, Label: opLabel(item.Get, verb), Summary: summary(item.Get), When: opWhen(item.Get)})
			}
		}
	}
	for _, m := range g.order {
		if m.KindField, m.Kinds = kindsOf(reg, m.Create); m.KindField == "" {
			m.KindField, m.Kinds = kindsOf(reg, m.Update)
		}
		if m.Created != nil && (m.Item == nil || sameFields(m.Created, m.Item)) {
			m.Created = nil
		}
		sort.Slice(m.Actions, func(i, j int) bool { return m.Actions[i].Verb < m.Actions[j].Verb })
		sort.Slice(m.Views, func(i, j int) bool { return m.Views[i].Verb < m.Views[j].Verb })
	}
	groupRank := map[string]int{"services": 0, "accounts": 1, "activity": 2, "administration": 3}
	sort.SliceStable(g.order, func(i, j int) bool {
		a, b := g.order[i], g.order[j]
		if groupRank[a.Group] != groupRank[b.Group] {
			return groupRank[a.Group] < groupRank[b.Group]
		}
		return a.Label < b.Label
	})
	return g
}

func statusKey(code int) string {
	if code == 0 {
		return "200"
	}
	return strconv.Itoa(code)
}

func sameFields(a, b *huma.Schema) bool {
	for k := range a.Properties {
		if _, ok := b.Properties[k]; !ok {
			return false
		}
	}
	return true
}

// summary is o's summary as a page says it: who may use it is the pages'
// business, not a "(staff)" suffix.
func summary(o *huma.Operation) string { return strings.TrimSuffix(o.Summary, " (staff)") }

// staffOnly tells whether only staff may call o: its summary says so.
func staffOnly(o *huma.Operation) bool { return strings.HasSuffix(o.Summary, " (staff)") }

// opWhen is the field without which o does not apply to an object.
func opWhen(o *huma.Operation) string {
	w, _ := o.Extensions[api.WhenExtension].(string)
	return w
}

// opLabel is what a button for o says.
func opLabel(o *huma.Operation, verb string) string {
	if l, ok := o.Extensions[api.LabelExtension].(string); ok {
		return l
	}
	return humanize(verb)
}

// inline is s with the objects its properties refer to in place, for a form
// to show their fields (a database's new user); s itself is left as it is.
func inline(reg huma.Registry, s *huma.Schema) *huma.Schema {
	if s == nil {
		return nil
	}
	out := *s
	out.Properties = make(map[string]*huma.Schema, len(s.Properties))
	for name, p := range s.Properties {
		if r := resolve(reg, p); p.Ref != "" && r != nil && len(r.Properties) > 0 {
			obj := *r
			obj.Description = p.Description
			p = &obj
		}
		out.Properties[name] = p
	}
	return &out
}

// resolve follows a $ref.
func resolve(reg huma.Registry, s *huma.Schema) *huma.Schema {
	if s != nil && s.Ref != "" {
		if r := reg.SchemaFromRef(s.Ref); r != nil {
			return r
		}
	}
	return s
}

// fields lists a schema's properties in a stable order: required first,
// then as named.
func fields(s *huma.Schema) []Field {
	if s == nil {
		return nil
	}
	req := map[string]bool{}
	for _, r := range s.Required {
		req[r] = true
	}
	var out []Field
	for name, p := range s.Properties {
		if name == "$schema" {
			continue
		}
		out = append(out, fieldOf(name, p, req[name]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func fieldOf(name string, p *huma.Schema, required bool) Field {
	f := Field{Name: name, Required: required}
	if p == nil {
		f.Type = "string"
		return f
	}
	f.Type, f.Format, f.Description, f.Default = p.Type, p.Format, p.Description, p.Default
	if p.Ref != "" || (p.Type == "" && len(p.Properties) > 0) {
		f.Type = "object"
	}
	if p.Items != nil {
		f.ItemType = p.Items.Type
		if p.Items.Ref != "" {
			f.ItemType = "object"
		}
	}
	for _, e := range p.Enum {
		if s, ok := e.(string); ok {
			f.Enum = append(f.Enum, s)
		}
	}
	if p.MaxLength != nil {
		f.MaxLength = *p.MaxLength
	}
	return f
}
