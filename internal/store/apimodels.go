//go:build ignore

package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"slices"
	"strings"
	"text/template"

	"entgo.io/ent/entc/gen"
	"entgo.io/ent/schema/field"
)

// apiModels writes the API shapes of the models whose schema carries the
// API annotation (schema.API) to path: the output, create, patch and list
// types, and a declaration helper that reads through the model's client.
func apiModels(path string) gen.Hook {
	return func(next gen.Generator) gen.Generator {
		return gen.GenerateFunc(func(g *gen.Graph) error {
			var models []apiModel
			for _, n := range g.Nodes {
				a, ok := n.Annotations["API"].(map[string]any)
				if !ok {
					continue
				}
				m, err := newAPIModel(n, a)
				if err != nil {
					return fmt.Errorf("schema %s: %w", n.Name, err)
				}
				models = append(models, m)
			}
			var b bytes.Buffer
			if err := apiTemplate.Execute(&b, models); err != nil {
				return err
			}
			src, err := format.Source(b.Bytes())
			if err != nil {
				return fmt.Errorf("api models: %w\n%s", err, b.String())
			}
			if err := os.MkdirAll(path[:strings.LastIndex(path, "/")], 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, src, 0o644); err != nil {
				return err
			}
			return next.Generate(g)
		})
	}
}

type apiField struct{ Go, JSON, Column, Type, Tags string }

type apiModel struct {
	Name, Label                          string
	Out, Create, Patch                   []apiField
	Filters                              []apiField
	Versioned, TimeImport, DecimalImport bool
}

func newAPIModel(n *gen.Type, a map[string]any) (apiModel, error) {
	m := apiModel{Name: n.Name, Label: strings.ReplaceAll(n.Label(), "_", " ")}
	derived, internal := map[string]bool{}, map[string]bool{}
	for key, set := range map[string]map[string]bool{"Derived": derived, "Internal": internal} {
		if d, ok := a[key].([]any); ok {
			for _, f := range d {
				set[f.(string)] = true
			}
		}
	}
	owner := ""
	if s, ok := n.Annotations["Scope"].(map[string]any); ok {
		owner, _ = s["Owner"].(string)
	}
	m.Out = append(m.Out, apiField{Go: "ID", JSON: "id", Type: "int"})
	for _, f := range n.Fields {
		typ := ""
		switch f.Type.Type {
		case field.TypeString:
			typ = "string"
		case field.TypeInt:
			typ = "int"
		case field.TypeBool:
			typ = "bool"
		case field.TypeTime:
			typ, m.TimeImport = "time.Time", true
		case field.TypeOther:
			if f.Type.RType == nil || f.Type.RType.Ident != "decimal.Decimal" {
				return m, fmt.Errorf("field %s: the API annotation takes exact decimals (decimal.Decimal) among other types, not %s", f.Name, f.Type)
			}
			typ, m.DecimalImport = "decimal.Decimal", true
		case field.TypeJSON:
			if typ = f.Type.String(); typ != "[]string" && typ != "[]int" {
				return m, fmt.Errorf("field %s: the API annotation takes JSON lists of strings or ints, not %s", f.Name, typ)
			}
		default:
			return m, fmt.Errorf("field %s: the API annotation takes strings, ints, bools, times, decimals and lists", f.Name)
		}
		json := f.Name
		if f.IsEdgeField() {
			json = strings.TrimSuffix(json, "_id")
		}
		af := apiField{Go: gen.Funcs["pascal"].(func(string) string)(json), JSON: json, Column: f.Name, Type: typ}
		if f.Nillable {
			af.Type = "*" + typ
		}
		if internal[f.Name] {
			continue
		}
		if !f.Sensitive() {
			m.Out = append(m.Out, af)
		}
		if f.IsEdgeField() {
			m.Filters = append(m.Filters, af)
		}
		if f.Name == "version" {
			m.Versioned = true
		}
		if f.DefaultFunc() || f.Name == "version" || derived[f.Name] {
			continue // times, versions and what the rules set
		}
		var tags []string
		if f.IsEdgeField() {
			tags = append(tags, `minimum:"1"`)
		}
		if c := f.Column(); c.Size > 0 && typ == "string" {
			tags = append(tags, fmt.Sprintf(`maxLength:"%d"`, c.Size))
		}
		if f.Comment() != "" {
			tags = append(tags, fmt.Sprintf("doc:%q", f.Comment()))
		}
		createTags := tags // a patch's missing field keeps its value: defaults only in creates
		if d := f.DefaultValue(); f.Default && d != nil && !f.DefaultFunc() && (typ == "string" || typ == "int" || typ == "bool") {
			if v := fmt.Sprint(d); v != "" { // forms show it chosen; an empty default says nothing
				createTags = append(slices.Clone(tags), fmt.Sprintf("default:%q", v))
			}
		}
		if f.Name != json {
			tags = append(tags, fmt.Sprintf(`ent:"%s"`, f.Name))
		}
		c := af
		switch {
		case f.Name == owner:
			c.Type, c.Tags = "int", fmt.Sprintf(`json:"%s,omitempty" doc:"Your own when omitted (staff must name one)." ent:"%s,omitzero"`, json, f.Name)
		case strings.HasPrefix(typ, "[]"):
			c.Tags = fmt.Sprintf(`json:"%s,omitempty" %s`, json, strings.Join(tags, " "))
		case f.Optional || f.Default:
			c.Type, c.Tags = "*"+typ, fmt.Sprintf(`json:"%s,omitempty" %s`, json, strings.Join(createTags, " "))
		default:
			c.Tags = fmt.Sprintf(`json:"%s" %s`, json, strings.Join(tags, " "))
		}
		m.Create = append(m.Create, c)
		if !f.Immutable && f.Name != owner {
			p := af
			p.Type, p.Tags = "*"+typ, fmt.Sprintf(`json:"%s,omitempty" %s`, json, strings.Join(tags, " "))
			m.Patch = append(m.Patch, p)
		}
	}
	return m, nil
}

var apiTemplate = template.Must(template.New("models").Parse(`// Code generated by internal/store/entc.go from the schema's API annotations. DO NOT EDIT.

// Package models holds the API shapes of the models whose schema asks for
// them (schema.API): what the API shows, the create and patch bodies, the
// list with its filters, and a declaration that reads through the client.
package models

import (
	{{- range . }}{{ if .TimeImport }}
	"time"{{ break }}{{ end }}{{ end }}
{{ range . }}{{ if .DecimalImport }}
	"github.com/shopspring/decimal"{{ break }}{{ end }}{{ end }}

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)
{{ range $m := . }}
// {{ $m.Name }} is a {{ $m.Label }} as the API shows it.
type {{ $m.Name }} struct {
{{- range $m.Out }}
	{{ .Go }} {{ .Type }} ` + "`" + `json:"{{ .JSON }}"` + "`" + `
{{- end }}
}

// {{ $m.Name }}Create is the body that creates a {{ $m.Label }}.
type {{ $m.Name }}Create struct {
{{- range $m.Create }}
	{{ .Go }} {{ .Type }} ` + "`" + `{{ .Tags }}` + "`" + `
{{- end }}
}

// {{ $m.Name }}Patch is the body that changes a {{ $m.Label }}: what it leaves out stays.
type {{ $m.Name }}Patch struct {
{{- range $m.Patch }}
	{{ .Go }} {{ .Type }} ` + "`" + `{{ .Tags }}` + "`" + `
{{- end }}
{{- if $m.Versioned }}
	Version *int ` + "`" + `json:"version,omitempty" doc:"The version read: a change made since is refused."` + "`" + `
{{- end }}
}

// {{ $m.Name }}List is the list's query: a page, and a filter per reference.
type {{ $m.Name }}List struct {
	api.ListParams
{{- range $m.Filters }}
	{{ .Go }} int ` + "`" + `query:"{{ .JSON }}" minimum:"0"` + "`" + `
{{- end }}
}

// Filters pairs each filter's column with its value (0: not filtered).
func (l {{ $m.Name }}List) Filters() []any {
	return []any{ {{- range $i, $f := $m.Filters }}{{ if $i }}, {{ end }}"{{ $f.Column }}", l.{{ $f.Go }}{{ end -}} }
}

// {{ $m.Name }}Model is the declaration of the {{ $m.Label }} model with its generated shapes.
type {{ $m.Name }}Model = api.Model[ent.{{ $m.Name }}, *ent.{{ $m.Name }}Query, {{ $m.Name }}, {{ $m.Name }}Create, {{ $m.Name }}Patch, {{ $m.Name }}List]

// Declare{{ $m.Name }} declares m, reading and writing through the client's {{ $m.Name }}.
func Declare{{ $m.Name }}(m {{ $m.Name }}Model) {
	m.Client = func(c *ent.Client) api.Client[ent.{{ $m.Name }}, *ent.{{ $m.Name }}Query] { return c.{{ $m.Name }} }
	api.Declare(m)
}
{{ end }}`))
