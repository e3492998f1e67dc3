// Package cli is the command line of the declared models. It reads the
// API's OpenAPI document, where every model's list operation carries its
// presentation (api.Presentation, as x-orchestra-model), and offers each
// model as a command whose verbs are its operations: list, get, create,
// update, delete, and its own operations (set-password, import, …), with
// flags from their query parameters and body schemas. Nothing here names a
// model: a service that declares one gets its commands.
//
// Every verb is a request to the API (Caller), so the command line is
// validated, authorized and recorded exactly as the API is.
package cli

import (
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
)

// Registry holds the models of one document.
type Registry struct {
	Models []*Model // by name
	byName map[string]*Model
	schema huma.Registry
}

// Model is a model as the command line offers it.
type Model struct {
	api.Presentation
	Path  string  // the collection's path under api.Prefix: /database-users
	Verbs []*Verb // list, get, create, update, delete (those it has), then its actions by name
}

// Verb is one operation of a model as a command.
type Verb struct {
	Name        string
	Summary     string
	Description string
	Method      string
	Path        string // under api.Prefix; {id} stands for the object
	Object      bool   // acts on one object, named by the argument <ref>
	Flags       []*Flag
	Body        bool // sends a JSON body
	OperationID string
}

// Flag is a query parameter or a body field of a verb.
type Flag struct {
	Name     string // as the API names it: page_size
	In       string // query or body
	Schema   *huma.Schema
	Required bool
	Doc      string
	// Ref names the model whose ids the flag holds: such a flag also takes
	// an object's title (an account's username).
	Ref string
}

// Option is the flag's name on the command line: --page-size.
func (f *Flag) Option() string { return "--" + dashed(f.Name) }

func dashed(s string) string { return strings.ReplaceAll(s, "_", "-") }

// Model returns the model named name (a Presentation.Name), or nil.
func (r *Registry) Model(name string) *Model { return r.byName[name] }

// Verb returns m's verb named name, or nil.
func (m *Model) Verb(name string) *Verb {
	for _, v := range m.Verbs {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// VerbNames lists m's verbs.
func (m *Model) VerbNames() []string {
	out := make([]string, len(m.Verbs))
	for i, v := range m.Verbs {
		out[i] = v.Name
	}
	return out
}

// standard are the verbs every model may have, in the order they are shown.
var standard = []string{"list", "get", "create", "update", "delete"}

// Load reads the models out of an OpenAPI document: a model is a list
// operation carrying api.ModelExtension; its verbs are the operations on
// its collection path and under it.
func Load(doc *huma.OpenAPI) *Registry {
	r := &Registry{byName: map[string]*Model{}}
	if doc.Components != nil {
		r.schema = doc.Components.Schemas
	}
	bySlug := map[string]*Model{}
	for path, item := range doc.Paths {
		if item.Get == nil {
			continue
		}
		p, ok := presentation(item.Get.Extensions[api.ModelExtension])
		if !ok || p.Name == "" {
			continue
		}
		slug := strings.TrimPrefix(strings.TrimPrefix(path, api.Prefix), "/")
		m := &Model{Presentation: p, Path: "/" + slug}
		bySlug[slug] = m
		r.byName[p.Name] = m
		r.Models = append(r.Models, m)
	}
	sort.Slice(r.Models, func(i, j int) bool { return r.Models[i].Name < r.Models[j].Name })

	type found struct {
		m    *Model
		verb string // a standard verb, or "" for an action
		op   *huma.Operation
		path string
		obj  bool
	}
	var ops []found
	for path, item := range doc.Paths {
		rest := strings.TrimPrefix(strings.TrimPrefix(path, api.Prefix), "/")
		slug, sub, _ := strings.Cut(rest, "/")
		m := bySlug[slug]
		if m == nil {
			continue
		}
		short := strings.TrimPrefix(path, api.Prefix)
		for method, o := range operations(item) {
			switch {
			case sub == "" && method == http.MethodGet:
				ops = append(ops, found{m, "list", o, short, false})
			case sub == "" && method == http.MethodPost:
				ops = append(ops, found{m, "create", o, short, false})
			case sub == "{id}" && method == http.MethodGet:
				ops = append(ops, found{m, "get", o, short, true})
			case sub == "{id}" && (method == http.MethodPatch || method == http.MethodPut):
				ops = append(ops, found{m, "update", o, short, true})
			case sub == "{id}" && method == http.MethodDelete:
				ops = append(ops, found{m, "delete", o, short, true})
			case strings.HasPrefix(sub, "{id}/") && !strings.Contains(strings.TrimPrefix(sub, "{id}/"), "{"):
				ops = append(ops, found{m, "", o, short, true})
			case sub != "" && !strings.Contains(sub, "{"):
				ops = append(ops, found{m, "", o, short, false}) // on the collection: import
			}
		}
	}
	// standard verbs first, so that an action never takes their names
	sort.SliceStable(ops, func(i, j int) bool {
		if (ops[i].verb == "") != (ops[j].verb == "") {
			return ops[i].verb != ""
		}
		return ops[i].op.OperationID < ops[j].op.OperationID
	})
	for _, f := range ops {
		name := f.verb
		if name == "" || f.m.Verb(name) != nil {
			name = actionName(f.op.OperationID, f.m.Name, strings.TrimPrefix(f.m.Path, "/"))
			if f.m.Verb(name) != nil || name == "help" || rank(name) < len(standard) {
				name = f.op.OperationID
			}
		}
		f.m.Verbs = append(f.m.Verbs, r.verb(f.m, name, f.op, f.path, f.obj))
	}
	for _, m := range r.Models {
		sort.SliceStable(m.Verbs, func(i, j int) bool {
			a, b := rank(m.Verbs[i].Name), rank(m.Verbs[j].Name)
			if a != b {
				return a < b
			}
			return m.Verbs[i].Name < m.Verbs[j].Name
		})
	}
	return r
}

// rank orders the standard verbs before the actions.
func rank(verb string) int {
	for i, s := range standard {
		if verb == s {
			return i
		}
	}
	return len(standard)
}

// presentation reads the extension: the Presentation itself in a document
// built in this process, a JSON object in one read from elsewhere.
func presentation(ext any) (api.Presentation, bool) {
	switch p := ext.(type) {
	case api.Presentation:
		return p, true
	case *api.Presentation:
		return *p, p != nil
	case map[string]any:
		var out api.Presentation
		if err := remarshal(p, &out); err != nil {
			return out, false
		}
		return out, true
	}
	return api.Presentation{}, false
}

func operations(item *huma.PathItem) map[string]*huma.Operation {
	out := map[string]*huma.Operation{}
	for method, o := range map[string]*huma.Operation{http.MethodGet: item.Get, http.MethodPost: item.Post,
		http.MethodPut: item.Put, http.MethodPatch: item.Patch, http.MethodDelete: item.Delete} {
		if o != nil {
			out[method] = o
		}
	}
	return out
}

// actionName is an operation's id without the model's name:
// set-system-user-password is system-user's set-password, import-domain
// domain's import.
func actionName(opID, name, plural string) string {
	words := strings.Split(opID, "-")
	for _, n := range []string{plural, name} {
		nw := strings.Split(n, "-")
		for i := 0; i+len(nw) <= len(words); i++ {
			if strings.Join(words[i:i+len(nw)], "-") == n {
				rest := append(append([]string{}, words[:i]...), words[i+len(nw):]...)
				if len(rest) == 0 {
					return opID
				}
				return strings.Join(rest, "-")
			}
		}
	}
	return opID
}

// verb builds a verb from its operation: flags from the query parameters
// and the body's properties.
func (r *Registry) verb(m *Model, name string, o *huma.Operation, path string, obj bool) *Verb {
	v := &Verb{Name: name, Summary: o.Summary, Description: o.Description, Method: o.Method,
		Path: path, Object: obj, OperationID: o.OperationID}
	if v.Method == "" {
		v.Method = http.MethodGet
	}
	seen := map[string]bool{}
	if o.RequestBody != nil {
		if mt := o.RequestBody.Content["application/json"]; mt != nil && mt.Schema != nil {
			v.Body = true
			s := r.resolve(mt.Schema)
			required := map[string]bool{}
			for _, n := range s.Required {
				required[n] = true
			}
			for n, p := range s.Properties {
				if n == "$schema" {
					continue
				}
				p = r.resolveKeepDoc(p)
				v.Flags = append(v.Flags, &Flag{Name: n, In: "body", Schema: p, Required: required[n],
					Doc: p.Description, Ref: r.refOf(m, n, p)})
				seen[dashed(n)] = true
			}
		}
	}
	for _, prm := range o.Parameters {
		if prm.In != "query" || seen[dashed(prm.Name)] {
			continue
		}
		s := r.resolve(prm.Schema)
		doc := prm.Description
		if doc == "" && s != nil {
			doc = s.Description
		}
		v.Flags = append(v.Flags, &Flag{Name: prm.Name, In: "query", Schema: s, Required: prm.Required,
			Doc: doc, Ref: r.refOf(m, prm.Name, s)})
		seen[dashed(prm.Name)] = true
	}
	sort.SliceStable(v.Flags, func(i, j int) bool {
		a, b := v.Flags[i], v.Flags[j]
		if a.Required != b.Required {
			return a.Required
		}
		return a.Name < b.Name
	})
	return v
}

// refOf names the model whose ids field holds: one the presentation's Refs
// name, or one named as the field (account); only integer fields (or
// lists of integers) hold ids.
func (r *Registry) refOf(m *Model, field string, s *huma.Schema) string {
	if s == nil || field == "id" {
		return ""
	}
	t := s.Type
	if t == "array" && s.Items != nil {
		t = r.resolve(s.Items).Type
	}
	if t != "integer" {
		return ""
	}
	if name, ok := m.Refs[field]; ok {
		return name
	}
	if o := r.byName[dashed(field)]; o != nil {
		return o.Name
	}
	return ""
}

// resolve follows a $ref.
func (r *Registry) resolve(s *huma.Schema) *huma.Schema {
	if s != nil && s.Ref != "" && r.schema != nil {
		if t := r.schema.SchemaFromRef(s.Ref); t != nil {
			return t
		}
	}
	return s
}

// resolveKeepDoc follows a $ref, keeping the referring schema's
// description (a property's doc beside its $ref).
func (r *Registry) resolveKeepDoc(s *huma.Schema) *huma.Schema {
	t := r.resolve(s)
	if t != s && s.Description != "" && t.Description != s.Description {
		c := *t
		c.Description = s.Description
		return &c
	}
	return t
}
