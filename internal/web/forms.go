package web

import (
	"cmp"
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/settings"
)

// formable says whether a form can hold f: nested objects and lists of
// objects are left to their own pages (a domain's records are records).
func formable(f Field) bool {
	switch f.Type {
	case "string", "integer", "number", "boolean":
		return true
	case "array":
		return f.ItemType == "string" || f.ItemType == "integer"
	case "object":
		return f.Format == "map"
	}
	return false
}

// secret fields are never shown back.
func secret(f Field) bool { return strings.Contains(f.Name, "password") }

// formFields are the fields of s a form shows.
func formFields(s *huma.Schema) []Field {
	var out []Field
	for _, f := range fields(s) {
		if f.Name == "version" {
			continue
		}
		if p := s.Properties[f.Name]; p != nil && p.ReadOnly {
			continue
		}
		if f.Type == "object" && s.Properties[f.Name] != nil && s.Properties[f.Name].AdditionalProperties != nil &&
			len(s.Properties[f.Name].Properties) == 0 {
			f.Format = "map"
		}
		if p := s.Properties[f.Name]; f.Type == "object" && p != nil && len(p.Properties) > 0 {
			// an object of its own (a database's new user): its fields, named
			// by their path
			for _, sub := range formFields(p) {
				sub.Name = f.Name + "." + sub.Name
				sub.Required = sub.Required && f.Required // needed only when the object is
				out = append(out, sub)
			}
			continue
		}
		if formable(f) {
			out = append(out, f)
		}
	}
	return out
}

// form is the fields of s a form of m shows to a viewer, staff or not, in
// the order of m's fieldsets, each with the label of the group it opens.
func (m *Model) form(s *huma.Schema, staff bool) []Field {
	all := formFields(s)
	if !staff {
		all = slices.DeleteFunc(all, func(f Field) bool { return slices.Contains(m.StaffFields, f.Name) })
	}
	if m.KindField != "" { // the settings of a model with kinds: every kind's fields
		all = slices.DeleteFunc(all, func(f Field) bool { return f.Name == m.KindField })
		for _, k := range m.Kinds {
			for _, f := range k.Fields {
				f.Name, f.Kind, f.Required = m.KindField+"."+f.Name, k.Name, false
				all = append(all, f)
			}
		}
	}
	var out []Field
	taken := map[string]bool{}
	for _, set := range m.Fieldsets {
		legend := set.Label
		for _, name := range set.Fields {
			for _, f := range all { // the field, or the fields of the object it names
				if (f.Name == name || strings.HasPrefix(f.Name, name+".")) && !taken[f.Kind+":"+f.Name] {
					f.Legend, legend = legend, ""
					out = append(out, f)
					taken[f.Kind+":"+f.Name] = true
				}
			}
		}
	}
	for _, f := range all {
		if !taken[f.Kind+":"+f.Name] {
			out = append(out, f)
		}
	}
	for i, f := range out {
		if c, ok := m.Choices[f.Name]; ok && f.Type == "string" {
			out[i].Enum = choices(c)
		}
	}
	return out
}

// ofKind keeps of fs the fields a form of kind shows: those of no kind
// and kind's own.
func ofKind(fs []Field, kind string) []Field {
	var out []Field
	legend := "" // a group opened by a field left out opens at the next
	for _, f := range fs {
		if f.Kind != "" && f.Kind != kind {
			legend = cmp.Or(legend, f.Legend)
			continue
		}
		f.Legend, legend = cmp.Or(f.Legend, legend), ""
		out = append(out, f)
	}
	return out
}

// chosenKind is the kind a form of m shows: the one given, else the
// first offered.
func (m *Model) chosenKind(fs []Field, given string) string {
	if m.KindField == "" || given != "" {
		return given
	}
	for _, f := range fs {
		if f.Name == kindType && len(f.Enum) > 0 {
			return f.Enum[0]
		}
	}
	if len(m.Kinds) > 0 {
		return m.Kinds[0].Name
	}
	return ""
}

// valueAt is obj's value of a form field's name: a.b is obj[a][b].
func valueAt(obj map[string]any, name string) any {
	if v, ok := obj[name]; ok {
		return v
	}
	if top, sub, ok := strings.Cut(name, "."); ok {
		if o, ok := obj[top].(map[string]any); ok {
			return o[sub]
		}
	}
	return nil
}

// choices are the values c offers now.
func choices(c api.Choice) []string {
	if c.Setting == "" {
		return c.Values
	}
	in, _ := settings.Default().Lookup(c.Setting)
	vals, _ := in.Value.([]string)
	return vals
}

// formValue is the text a form shows for the JSON value v of f.
func formValue(f Field, v any) string {
	if v == nil || secret(f) {
		return ""
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer { // a schema's default of an optional field
		if rv.IsNil() {
			return ""
		}
		v = rv.Elem().Interface()
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formValue(Field{}, e)
		}
		return strings.Join(parts, "\n")
	case map[string]any:
		var lines []string
		for k, e := range x {
			lines = append(lines, k+"="+formValue(Field{}, e))
		}
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// formBody turns a submitted form into a JSON body for the fields fs. For a
// change (cur != nil) only the fields that differ from cur are sent. Values
// the form cannot turn into their type are errors by field; the API judges
// the rest.
func formBody(ctx context.Context, fs []Field, form url.Values, cur map[string]any) (map[string]any, map[string]string) {
	body, errs := map[string]any{}, map[string]string{}
	for _, f := range fs {
		vals, given := form[f.Name]
		if !given {
			continue
		}
		// text arrives as typed (the API judges white space); browsers
		// submit a textarea's line breaks as CRLF whatever was typed
		typed := strings.ReplaceAll(vals[len(vals)-1], "\r\n", "\n")
		raw := strings.TrimSpace(typed)
		var v any
		switch f.Type {
		case "boolean":
			v = raw == "true" || raw == "on"
		case "integer", "number":
			if raw == "" {
				continue
			}
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				errs[f.Name] = i18n.T(ctx, "Enter a whole number.")
				continue
			}
			v = n
		case "array":
			items := []any{}
			for _, line := range strings.FieldsFunc(strings.Join(vals, "\n"), func(r rune) bool { return r == '\n' || r == ',' }) {
				line = strings.TrimSpace(line)
				if line == "" {
					continue
				}
				if f.ItemType == "integer" {
					n, err := strconv.ParseInt(line, 10, 64)
					if err != nil {
						errs[f.Name] = i18n.T(ctx, "Enter whole numbers, one per line.")
						break
					}
					items = append(items, n)
				} else {
					items = append(items, line)
				}
			}
			v = items
		case "object":
			m := map[string]any{}
			for _, line := range strings.Split(vals[len(vals)-1], "\n") {
				line = strings.TrimSpace(line)
				if line == "" {
					continue
				}
				k, val, ok := strings.Cut(line, "=")
				if !ok {
					errs[f.Name] = i18n.T(ctx, "Write one name=value per line.")
					break
				}
				m[strings.TrimSpace(k)] = strings.TrimSpace(val)
			}
			v = m
		default:
			if raw == "" && (cur == nil || secret(f)) {
				continue // left empty: the API's default
			}
			if f.Format == "date-time" && raw != "" && len(raw) == len("2006-01-02T15:04") {
				raw += ":00Z" // datetime-local has no seconds nor zone
			}
			v = raw
			if f.Format != "date-time" && raw != "" {
				v = typed
			}
		}
		if cur != nil && sameJSON(valueAt(cur, f.Name), v) {
			continue
		}
		body[f.Name] = v
	}
	for k, v := range body { // an object's fields into the object
		if parent, sub, ok := strings.Cut(k, "."); ok {
			delete(body, k)
			obj, _ := body[parent].(map[string]any)
			if obj == nil {
				obj = map[string]any{}
				body[parent] = obj
			}
			obj[sub] = v
		}
	}
	if cur != nil {
		body["version"] = cur["version"]
	}
	return body, errs
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	if string(x) == string(y) {
		return true
	}
	// nil and empty mean the same to a form
	empty := func(s string) bool { return s == "null" || s == `""` || s == "[]" || s == "{}" }
	return empty(string(x)) && empty(string(y))
}

// problem is the API's error shape, split into messages by form field and
// the rest.
type problem struct {
	Status  int
	Message string            // the detail, when no field is named
	Fields  map[string]string // by top-level body field
	Other   []string          // details naming no form field
}

// String is the whole refusal in one line, for where no field is shown.
func (p *problem) String() string {
	parts := []string{p.Message}
	names := make([]string, 0, len(p.Fields))
	for name := range p.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		parts = append(parts, name+": "+p.Fields[name])
	}
	return strings.TrimSpace(strings.Join(append(parts, p.Other...), " "))
}

func parseProblem(status int, body []byte) *problem {
	var em huma.ErrorModel
	p := &problem{Status: status, Fields: map[string]string{}}
	if err := json.Unmarshal(body, &em); err != nil || (em.Detail == "" && len(em.Errors) == 0) {
		p.Message = strings.TrimSpace(string(body))
		return p
	}
	p.Message = em.Detail
	for _, d := range em.Errors {
		loc := d.Location
		if rest, ok := strings.CutPrefix(loc, "body."); ok {
			name := rest // an object's field keeps its path (user.password), a list's item is the list's
			if i := strings.IndexByte(name, '['); i >= 0 {
				name = name[:i]
			}
			msg := d.Message
			if name != rest {
				msg = rest + ": " + msg
			}
			if old, dup := p.Fields[name]; dup {
				msg = old + " " + msg
			}
			p.Fields[name] = msg
			continue
		}
		if loc != "" {
			p.Other = append(p.Other, strings.TrimPrefix(strings.TrimPrefix(loc, "query."), "path.")+": "+d.Message)
		} else {
			p.Other = append(p.Other, d.Message)
		}
	}
	return p
}
