// Package apidocs renders a self-contained HTML reference of the huma OpenAPI
// document. It exists because the usual viewers load JavaScript from CDNs,
// which panels on isolated hosts cannot reach.
package apidocs

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
)

//go:embed page.html
var files embed.FS

var pageTmpl = template.Must(template.ParseFS(files, "page.html"))

// Handler serves the API reference page for spec at whatever path it is
// mounted on. jsonURL is linked as the raw OpenAPI document. spec is called
// once, on the first request, because routes are registered after the
// handler is built but never change once the server runs.
func Handler(title, jsonURL string, spec func() *huma.OpenAPI) http.Handler {
	var (
		once sync.Once
		pg   *page
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		once.Do(func() { pg = build(title, jsonURL, spec()) })
		// Render per request (not cached) so translated strings can later
		// depend on the request locale.
		var buf bytes.Buffer
		if err := pageTmpl.Execute(&buf, pg); err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		// The page needs nothing but its inline stylesheet; the CSP keeps it so.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(buf.Bytes())
	})
}

type page struct {
	Title, Version, Description, JSONURL string
	Schemes                              []scheme
	Groups                               []group
	Schemas                              []namedSchema
}

type namedSchema struct {
	ID, Name string
	Schema   *node
}

type scheme struct{ Name, Kind, Description string }

type group struct {
	ID, Name, Description string
	Ops                   []operation
}

type operation struct {
	ID, Method, Path, Summary, Description string
	Deprecated                             bool
	Auth                                   []string // alternatives; empty means public
	AuthOptional                           bool     // an empty requirement allows anonymous calls too
	Params                                 []param
	Body                                   *content
	Responses                              []response
}

type param struct {
	Name, In, Description string
	Required, Deprecated  bool
	Schema                *node
}

type content struct {
	Type, Description string
	Required          bool
	Schema            *node
}

type response struct {
	Status, Class, Description string // Class colours the status by its class (2xx, 4xx...)
	Body                       *content
}

var methodOrder = []string{"get", "post", "put", "patch", "delete", "head", "options", "trace"}

func build(title, jsonURL string, spec *huma.OpenAPI) *page {
	pg := &page{Title: title, JSONURL: jsonURL}
	if spec == nil {
		return pg
	}
	if spec.Info != nil {
		if pg.Title == "" {
			pg.Title = spec.Info.Title
		}
		pg.Version, pg.Description = spec.Info.Version, spec.Info.Description
	}
	comps := spec.Components
	if comps == nil {
		comps = &huma.Components{}
	}
	x := newExpander(comps.Schemas)

	for _, name := range sortedKeys(comps.SecuritySchemes) {
		s := comps.SecuritySchemes[name]
		kind := strings.TrimSpace(s.Type + " " + s.Scheme + " " + s.BearerFormat)
		if s.In != "" {
			kind += " (" + s.In + " " + s.Name + ")"
		}
		pg.Schemes = append(pg.Schemes, scheme{name, kind, s.Description})
	}

	byTag := map[string][]operation{}
	for _, path := range sortedKeys(spec.Paths) {
		item := spec.Paths[path]
		ops := map[string]*huma.Operation{"get": item.Get, "post": item.Post, "put": item.Put, "patch": item.Patch,
			"delete": item.Delete, "head": item.Head, "options": item.Options, "trace": item.Trace}
		for _, m := range methodOrder {
			if o := ops[m]; o != nil {
				tag := ""
				if len(o.Tags) > 0 {
					tag = o.Tags[0] // one section per op keeps anchor ids unique
				}
				byTag[tag] = append(byTag[tag], x.operation(spec, comps, m, path, item, o))
			}
		}
	}

	// Declared tags first (in spec order, with descriptions), then the rest
	// alphabetically, untagged operations last.
	for _, t := range spec.Tags {
		if ops, ok := byTag[t.Name]; ok && t.Name != "" {
			pg.Groups = append(pg.Groups, group{"tag-" + anchor(t.Name), t.Name, t.Description, ops})
			delete(byTag, t.Name)
		}
	}
	for _, name := range sortedKeys(byTag) {
		if name != "" {
			pg.Groups = append(pg.Groups, group{"tag-" + anchor(name), name, "", byTag[name]})
		}
	}
	if ops := byTag[""]; len(ops) > 0 {
		pg.Groups = append(pg.Groups, group{"tag-other", "Other", "", ops})
	}

	for _, name := range sortedKeys(x.schemas) {
		x.active[name] = true // self-references inside stay links
		n := x.node(x.schemas[name], 0)
		delete(x.active, name)
		pg.Schemas = append(pg.Schemas, namedSchema{"schema-" + anchor(name), name, n})
	}
	return pg
}

func (x *expander) operation(spec *huma.OpenAPI, comps *huma.Components, method, path string, item *huma.PathItem, o *huma.Operation) operation {
	op := operation{
		ID: anchor(o.OperationID), Method: method, Path: path,
		Summary: o.Summary, Description: o.Description, Deprecated: o.Deprecated,
	}
	if op.ID == "" {
		op.ID = anchor(method + "-" + path)
	}

	// nil inherits the global requirement; an empty list means public.
	sec := o.Security
	if sec == nil {
		sec = spec.Security
	}
	for _, req := range sec {
		if len(req) == 0 {
			op.AuthOptional = true
			continue
		}
		var all []string
		for _, name := range sortedKeys(req) {
			if scopes := req[name]; len(scopes) > 0 {
				name += " (" + strings.Join(scopes, ", ") + ")"
			}
			all = append(all, name)
		}
		op.Auth = append(op.Auth, strings.Join(all, " + "))
	}

	// Path-level parameters apply unless the operation redefines them.
	params := append([]*huma.Param{}, o.Parameters...)
	for _, p := range item.Parameters {
		dup := false
		for _, q := range o.Parameters {
			dup = dup || (q.Name == p.Name && q.In == p.In)
		}
		if !dup {
			params = append(params, p)
		}
	}
	for _, p := range params {
		if rp := comps.Parameters[refName(p.Ref)]; p.Ref != "" && rp != nil {
			p = rp
		}
		op.Params = append(op.Params, param{p.Name, p.In, p.Description, p.Required || p.In == "path", p.Deprecated, x.node(p.Schema, 0)})
	}

	if rb := o.RequestBody; rb != nil {
		if r := comps.RequestBodies[refName(rb.Ref)]; rb.Ref != "" && r != nil {
			rb = r
		}
		x.hide = func(s *huma.Schema) bool { return s.ReadOnly }
		op.Body = x.content(rb.Content, rb.Description, rb.Required, true)
	}

	x.hide = func(s *huma.Schema) bool { return s.WriteOnly }
	codes := sortedKeys(o.Responses)
	sort.SliceStable(codes, func(i, j int) bool { return codes[j] == "default" && codes[i] != "default" })
	for _, code := range codes {
		r := o.Responses[code]
		if rr := comps.Responses[refName(r.Ref)]; r.Ref != "" && rr != nil {
			r = rr
		}
		// Error bodies are nearly always the shared ErrorModel; expanding it
		// in every operation would drown the page, so they only link to it.
		isErr := strings.HasPrefix(code, "4") || strings.HasPrefix(code, "5") || code == "default"
		class := "s" + code[:min(1, len(code))]
		op.Responses = append(op.Responses, response{code, class, r.Description, x.content(r.Content, "", false, !isErr)})
	}
	x.hide = nil
	return op
}

// content picks the JSON representation (what clients of this API use) or
// else the first media type.
func (x *expander) content(m map[string]*huma.MediaType, desc string, required, expand bool) *content {
	if len(m) == 0 {
		return nil
	}
	types := sortedKeys(m)
	mt := types[0]
	for _, t := range types {
		if t == "application/json" || (strings.HasSuffix(t, "json") && !strings.HasSuffix(mt, "json")) {
			mt = t
		}
	}
	c := &content{Type: mt, Description: desc, Required: required}
	if s := m[mt].Schema; s != nil {
		if !expand && s.Ref != "" {
			c.Schema = x.link(s)
		} else {
			c.Schema = x.node(s, 0)
		}
	}
	return c
}

// anchor turns a name into a safe HTML id / URL fragment.
func anchor(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, s)
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
