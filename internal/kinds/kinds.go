// Package kinds is the one mechanism for models with kinds (web apps,
// SaaS services, website directives, miscellaneous services, payment
// methods, monitors): a model has a `type` and settings that depend on it.
// A kind is registered by name in its family with a Go struct for its
// settings; the struct's tags (huma's: minimum, enum, pattern, doc, …) are
// its schema, which validates what is sent, is stored as JSON with the
// defaults filled in, and describes the kind in the OpenAPI document so the
// pages can render its fields. A setting of the family enables kinds; a new
// kind is one file that calls Register.
package kinds

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// Family is the kinds one model's `type` can take.
type Family struct {
	name    string
	model   string // the ent type whose settings column holds the kinds' settings
	enabled settings.Handle[[]string]
	reg     huma.Registry // the kinds' schemas, for validation

	mu    sync.RWMutex
	kinds map[string]*kind
	order []string
}

type kind struct {
	name, label string
	typ         reflect.Type
	schema      *huma.Schema
	defaults    func() any
	check       func(ctx context.Context, v any, errs *validate.Errors)
}

// Kind describes one kind, with settings S (a struct: its JSON fields are
// the settings).
type Kind[S any] struct {
	Name  string // stored in the model's type field; [a-z][a-z0-9-]*
	Label string // what people read, translated when shown
	// Defaults returns the settings a kind starts from; nil: S's zero value.
	Defaults func() S
	// Check adds what the schema cannot say (e.g. a value another field
	// bounds), naming fields as the settings' JSON names.
	Check func(ctx context.Context, s *S, errs *validate.Errors)
}

var kindName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// NewFamily returns the family name (e.g. "web app"); the setting, a list
// named setting, enables kinds by name (empty: every registered kind).
func NewFamily(name, setting string) *Family {
	f := &Family{name: name, kinds: map[string]*kind{},
		reg: huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)}
	f.enabled = settings.StringList(setting, nil,
		fmt.Sprintf("The kinds of %s offered, by name; empty: all of them.", name),
		settings.Validator(func(v any) error {
			f.mu.RLock()
			defer f.mu.RUnlock()
			for _, n := range v.([]string) {
				if f.kinds[n] == nil {
					return fmt.Errorf("no kind of %s is called %q (there are: %s)", name, n, strings.Join(f.order, ", "))
				}
			}
			return nil
		}))
	return f
}

var (
	familiesMu sync.Mutex
	families   = map[string]*Family{}
)

// Of records model (an ent type name) as the one whose settings column
// holds f's settings, for what goes through every model's settings (the
// hostile-input coverage check); it returns f.
func (f *Family) Of(model string) *Family {
	familiesMu.Lock()
	defer familiesMu.Unlock()
	f.model, families[model] = model, f
	return f
}

// For returns the family of model's settings, or nil.
func For(model string) *Family {
	familiesMu.Lock()
	defer familiesMu.Unlock()
	return families[model]
}

// TextSettings are the JSON names of the settings that hold text (a
// string, or a list or map of them) in any of f's kinds, sorted.
func (f *Family) TextSettings() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	seen := map[string]bool{}
	for _, k := range f.kinds {
		for i := range k.typ.NumField() {
			sf := k.typ.Field(i)
			t := sf.Type
			if t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if name, _, _ := strings.Cut(sf.Tag.Get("json"), ","); t.Kind() == reflect.String && name != "" && name != "-" {
				seen[name] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Register adds k to f. It panics on a bad or taken name, or settings that
// are not a struct: both are programming errors, found at start-up.
func Register[S any](f *Family, k Kind[S]) {
	t := reflect.TypeFor[S]()
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("kinds: %s %q: settings must be a struct, not %s", f.name, k.Name, t))
	}
	if !kindName.MatchString(k.Name) {
		panic(fmt.Sprintf("kinds: %s: bad kind name %q", f.name, k.Name))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.kinds[k.Name]; ok {
		panic(fmt.Sprintf("kinds: %s %q registered twice", f.name, k.Name))
	}
	kd := &kind{name: k.Name, label: k.Label, typ: t, schema: huma.SchemaFromType(f.reg, t),
		defaults: func() any {
			var s S
			if k.Defaults != nil {
				s = k.Defaults()
			}
			return &s
		}}
	if k.Check != nil {
		kd.check = func(ctx context.Context, v any, errs *validate.Errors) { k.Check(ctx, v.(*S), errs) }
	}
	f.kinds[k.Name] = kd
	f.order = append(f.order, k.Name)
}

// Labels are the kinds' labels by name (English; translated where shown).
func (f *Family) Labels() map[string]string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string]string, len(f.kinds))
	for n, k := range f.kinds {
		out[n] = k.label
	}
	return out
}

// Enabled lists the kinds offered, in the order they were registered.
func (f *Family) Enabled() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	on := f.enabled.Get()
	var out []string
	for _, n := range f.order {
		if len(on) == 0 || slices.Contains(on, n) {
			out = append(out, n)
		}
	}
	return out
}

// Decode checks settings sent for a kind: the kind must be offered, and
// raw (nil: none sent) must fit its schema once laid over its defaults, and
// its Check. Every problem is reported at once, as validate.Errors naming
// typeField or settingsField.<setting>. It returns the settings to store
// (every field, defaults included) and their typed value (*S).
func (f *Family) Decode(ctx context.Context, name string, raw map[string]any, typeField, settingsField string) (map[string]any, any, error) {
	var errs validate.Errors
	f.mu.RLock()
	k := f.kinds[name]
	f.mu.RUnlock()
	if on := f.Enabled(); k == nil || !slices.Contains(on, name) {
		errs.Add(typeField, i18n.T(ctx, "Choose one of: %s.", strings.Join(on, ", ")))
		return nil, nil, errs
	}
	merged, err := toMap(k.defaults())
	if err != nil {
		return nil, nil, err
	}
	for key, v := range raw {
		merged[key] = v
	}
	res := &huma.ValidateResult{}
	huma.Validate(f.reg, k.schema, huma.NewPathBuffer([]byte(settingsField), 0), huma.ModeWriteToServer, merged, res)
	for _, e := range res.Errors {
		if d, ok := e.(*huma.ErrorDetail); ok {
			errs.Add(d.Location, validate.Plain(ctx, d.Message))
		} else {
			errs.Add(settingsField, e.Error())
		}
	}
	// the kind's own check runs even on what the schema refused, on what
	// decodes, so that one answer tells every mistake
	v := k.defaults()
	b, err := json.Marshal(merged)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil && len(errs) == 0 {
		errs.Add(settingsField, err.Error())
	}
	if k.check != nil {
		var more validate.Errors
		k.check(ctx, v, &more)
		for _, e := range more {
			if field := settingsField + "." + e.Field; !errs.Has(field) {
				errs.Add(field, e.Message)
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	stored, err := toMap(v)
	if err != nil {
		return nil, nil, err
	}
	return stored, v, nil
}

// Value returns the typed settings of a stored kind, as Decode would
// (a stored value is taken as it is: it was checked when it was saved).
func Value[S any](f *Family, name string, stored map[string]any) (*S, error) {
	f.mu.RLock()
	k := f.kinds[name]
	f.mu.RUnlock()
	if k == nil {
		return nil, fmt.Errorf("kinds: %s: no kind %q", f.name, name)
	}
	v, ok := k.defaults().(*S)
	if !ok {
		return nil, fmt.Errorf("kinds: %s %q: settings are %s", f.name, name, k.typ)
	}
	b, err := json.Marshal(stored)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	return v, err
}

// Describe adds the schema of every kind's settings to r (the API's
// registry, as <Family><Kind>Settings) and returns the schema of a settings
// field: an object whose shape depends on the type, its kinds listed in the
// x-orchestra-kinds extension (kind → label and $ref), for the pages and
// for clients. Types the settings use are added under their own names.
func (f *Family) Describe(r huma.Registry) *huma.Schema {
	f.mu.RLock()
	defer f.mu.RUnlock()
	all := r.Map()
	for name, s := range f.reg.Map() {
		if _, ok := all[name]; !ok {
			all[name] = s
		}
	}
	list := map[string]any{}
	for _, n := range f.order {
		k := f.kinds[n]
		name := camel(f.name) + camel(n) + "Settings"
		all[name] = k.schema
		list[n] = map[string]any{"label": k.label, "$ref": "#/components/schemas/" + name}
	}
	return &huma.Schema{Type: huma.TypeObject, AdditionalProperties: true,
		Description: fmt.Sprintf("Settings of the %s's type (see x-orchestra-kinds).", f.name),
		Extensions:  map[string]any{"x-orchestra-kinds": list}}
}

func camel(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		switch {
		case r == ' ' || r == '-':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	return m, json.Unmarshal(b, &m)
}
