package apidocs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// maxDepth bounds nesting so deep or pathological schemas stay readable;
// recursion through $ref is cut earlier by the active-ref check.
const maxDepth = 8

// node is one schema (or object field) flattened for the template.
type node struct {
	Name        string
	Type        string // human readable, e.g. "string", "array of Site"
	Link        string // anchor of the component schema the type refers to
	Required    bool
	Constraints []string
	Description string
	Fields      []*node
	Recursive   bool // a $ref already being expanded higher up, or too deep
}

type expander struct {
	schemas map[string]*huma.Schema
	active  map[string]bool // component names on the current expansion path
	// hide drops properties irrelevant in the current direction: readOnly
	// ones in requests, writeOnly ones in responses.
	hide func(*huma.Schema) bool
}

func newExpander(r huma.Registry) *expander {
	x := &expander{active: map[string]bool{}}
	if r != nil {
		x.schemas = r.Map()
	}
	return x
}

// link renders a $ref as its name only, without expanding it.
func (x *expander) link(s *huma.Schema) *node {
	name := refName(s.Ref)
	n := &node{Type: name, Description: s.Description}
	if x.schemas[name] != nil {
		n.Link = "schema-" + anchor(name)
	}
	return n
}

func (x *expander) node(s *huma.Schema, depth int) *node {
	if s == nil {
		return &node{Type: "any"}
	}
	if s.Ref != "" {
		n := x.link(s)
		target := x.schemas[refName(s.Ref)]
		if target == nil {
			return n
		}
		name := refName(s.Ref)
		if x.active[name] || depth >= maxDepth {
			n.Recursive = true
			return n
		}
		x.active[name] = true
		defer delete(x.active, name)
		inner := x.node(target, depth+1)
		inner.Type, inner.Link = n.Type, n.Link
		if s.Description != "" { // a property's own doc beats the type's
			inner.Description = s.Description
		}
		return inner
	}

	n := &node{Type: s.Type, Description: s.Description, Constraints: constraints(s)}
	if n.Type == "" {
		n.Type = "any"
	}
	if depth >= maxDepth {
		n.Recursive = len(s.Properties) > 0 || s.Items != nil
		return n
	}
	switch {
	case s.Items != nil:
		it := x.node(s.Items, depth+1)
		n.Type, n.Link, n.Fields, n.Recursive = "array of "+it.Type, it.Link, it.Fields, it.Recursive
		for _, c := range it.Constraints {
			n.Constraints = append(n.Constraints, "items "+c)
		}
	case len(s.AllOf) > 0:
		// allOf is composition: show the merged fields.
		n.Type = "object"
		for _, sub := range s.AllOf {
			n.Fields = append(n.Fields, x.node(sub, depth+1).Fields...)
		}
	case len(s.OneOf) > 0 || len(s.AnyOf) > 0:
		word, subs := "one of", s.OneOf
		if len(subs) == 0 {
			word, subs = "any of", s.AnyOf
		}
		var types []string
		for i, sub := range subs {
			v := x.node(sub, depth+1)
			types = append(types, v.Type)
			if len(v.Fields) > 0 {
				v.Name = "option " + strconv.Itoa(i+1)
				n.Fields = append(n.Fields, v)
			}
		}
		n.Type = word + " " + strings.Join(types, " | ")
	case len(s.Properties) > 0:
		n.Fields = x.fields(s, depth)
	default:
		if ap, ok := s.AdditionalProperties.(*huma.Schema); ok {
			v := x.node(ap, depth+1)
			n.Type, n.Link, n.Fields, n.Recursive = "map of "+v.Type, v.Link, v.Fields, v.Recursive
		}
	}
	return n
}

// fields lists required properties first (in declaration order, which huma
// preserves in Required), then the optional ones alphabetically.
func (x *expander) fields(s *huma.Schema, depth int) []*node {
	visible := visibleProps(s)
	names := slices.Clone(s.Required)
	for _, k := range sortedKeys(s.Properties) {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	var out []*node
	for _, name := range names {
		p := s.Properties[name]
		if p == nil || !visible[name] || (x.hide != nil && x.hide(p)) {
			continue
		}
		f := x.node(p, depth+1)
		f.Name, f.Required = name, slices.Contains(s.Required, name)
		out = append(out, f)
	}
	return out
}

// visibleProps honours `hidden:"true"` fields, which huma only exposes
// through its JSON marshalling.
func visibleProps(s *huma.Schema) map[string]bool {
	var v struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	b, err := json.Marshal(s)
	if err == nil {
		err = json.Unmarshal(b, &v)
	}
	out := map[string]bool{}
	for k := range s.Properties {
		_, ok := v.Properties[k]
		out[k] = ok || err != nil // on failure show everything rather than nothing
	}
	return out
}

func constraints(s *huma.Schema) []string {
	var c []string
	add := func(k string, v any) { c = append(c, k+": "+show(v)) }
	flag := func(k string, on bool) {
		if on {
			c = append(c, k)
		}
	}
	if s.Format != "" {
		add("format", s.Format)
	}
	flag("nullable", s.Nullable)
	for _, b := range []struct {
		k string
		v *int
	}{{"minLength", s.MinLength}, {"maxLength", s.MaxLength}, {"minItems", s.MinItems}, {"maxItems", s.MaxItems},
		{"minProperties", s.MinProperties}, {"maxProperties", s.MaxProperties}} {
		if b.v != nil {
			add(b.k, *b.v)
		}
	}
	for _, b := range []struct {
		k string
		v *float64
	}{{"minimum", s.Minimum}, {"exclusiveMinimum", s.ExclusiveMinimum}, {"maximum", s.Maximum},
		{"exclusiveMaximum", s.ExclusiveMaximum}, {"multipleOf", s.MultipleOf}} {
		if b.v != nil {
			add(b.k, *b.v)
		}
	}
	if s.Pattern != "" {
		p := s.Pattern
		if s.PatternDescription != "" {
			p += " (" + s.PatternDescription + ")"
		}
		add("pattern", p)
	}
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			vals[i] = show(v)
		}
		c = append(c, "enum: "+strings.Join(vals, ", "))
	}
	if s.Default != nil {
		add("default", s.Default)
	}
	if len(s.Examples) > 0 {
		add("example", s.Examples[0])
	}
	flag("uniqueItems", s.UniqueItems)
	flag("readOnly", s.ReadOnly)
	flag("writeOnly", s.WriteOnly)
	flag("deprecated", s.Deprecated)
	return c
}

// show prints plain strings and numbers bare and everything else as JSON,
// so empty strings and structured defaults stay unambiguous.
func show(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return `""`
		}
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int:
		return strconv.Itoa(v)
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}
