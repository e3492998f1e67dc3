// Package settings is a typed registry of runtime settings. Each setting is
// declared once in Go with a type, default and help text; its effective value
// comes from the database, else the environment (ORCHESTRA_<NAME>), else the
// default. Values are parsed and validated, never evaluated, and source files
// are never rewritten.
//
// Declare settings as package-level variables so they are registered before
// LoadEnv and Load run at startup:
//
//	var DefaultType = settings.String("ACCOUNTS_DEFAULT_TYPE", "INDIVIDUAL",
//		"Type given to new accounts.", settings.Choices("INDIVIDUAL", "ASSOCIATION"))
//
//	t := DefaultType.Get()
package settings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EnvPrefix is prepended to a setting's name to form its environment variable.
const EnvPrefix = "ORCHESTRA_"

// Masked replaces secret values in every listing.
const Masked = "********"

// Type is the value type of a setting.
type Type int

const (
	TypeString     Type = iota // string
	TypeInt                    // int
	TypeBool                   // bool
	TypeStringList             // []string
	TypeDuration               // time.Duration
)

// String returns the name used in Info and the API.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeBool:
		return "bool"
	case TypeStringList:
		return "list"
	case TypeDuration:
		return "duration"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Source tells where an effective value came from.
type Source string

const (
	SourceDefault  Source = "default"
	SourceEnv      Source = "env"
	SourceDatabase Source = "database"
)

// Setting is the declaration of one setting.
type Setting struct {
	Name     string // UPPER_SNAKE, e.g. ACCOUNTS_DEFAULT_TYPE
	Group    string // prefix of Name before the first underscore, unless set by an Option
	Type     Type
	Default  any    // Go value of Type
	Help     string // English; translated by the UI layer
	Choices  []any  // allowed values; for lists, allowed elements
	Validate func(value any) error
	Secret   bool // value is shown as Masked in listings
}

// Option customises a Setting at registration.
type Option func(*Setting)

// Choices restricts values (or, for lists, each element) to vals. The element
// type must match the setting's type, which is checked at registration.
func Choices[T comparable](vals ...T) Option {
	return func(s *Setting) {
		for _, v := range vals {
			s.Choices = append(s.Choices, v)
		}
	}
}

// Validator adds a check run after type and choices checks. fn receives the
// typed value (string, int, bool, []string or time.Duration) as any.
func Validator(fn func(value any) error) Option { return func(s *Setting) { s.Validate = fn } }

// Secret masks the value in listings (passwords, API keys).
func Secret() Option { return func(s *Setting) { s.Secret = true } }

// Store persists database values as JSON. Delete of a missing name is not an error.
type Store interface {
	All(ctx context.Context) (map[string]json.RawMessage, error)
	Put(ctx context.Context, name string, value json.RawMessage) error
	Delete(ctx context.Context, name string) error
}

// ErrUnknown is wrapped by errors about names that are not registered (API: 404).
var ErrUnknown = errors.New("unknown setting")

// InvalidError reports a value that does not fit its setting (API: 422).
type InvalidError struct {
	Name    string
	Message string
}

func (e *InvalidError) Error() string { return "setting " + e.Name + ": " + e.Message }

// Info describes a setting and its effective value for the API. Values are in
// their JSON form (durations as strings) and masked for secrets.
type Info struct {
	Name    string `json:"name"`
	Group   string `json:"group"`
	Type    string `json:"type"`
	Help    string `json:"help"`
	Choices []any  `json:"choices,omitempty"`
	Default any    `json:"default"`
	Value   any    `json:"value"`
	Source  Source `json:"source"`
	Secret  bool   `json:"secret"`
}

// state is an effective value, swapped atomically so Get never locks.
type state struct {
	value  any
	source Source
}

type entry struct {
	Setting
	// env and db are guarded by Registry.writeMu.
	env, db       any
	hasEnv, hasDB bool
	cur           atomic.Pointer[state]
}

// refresh recomputes the effective value: database > env > default.
// Per-server overrides will hook in here, taking precedence over db, with a
// server-keyed lookup beside cur and a Handle.GetFor(server) accessor.
func (e *entry) refresh() {
	switch {
	case e.hasDB:
		e.cur.Store(&state{e.db, SourceDatabase})
	case e.hasEnv:
		e.cur.Store(&state{e.env, SourceEnv})
	default:
		e.cur.Store(&state{e.Default, SourceDefault})
	}
}

func (e *entry) info() Info {
	st := e.cur.Load()
	in := Info{
		Name: e.Name, Group: e.Group, Type: e.Type.String(), Help: e.Help,
		Default: jsonValue(e.Default), Value: jsonValue(st.value), Source: st.source, Secret: e.Secret,
	}
	for _, c := range e.Choices {
		in.Choices = append(in.Choices, jsonValue(c))
	}
	if e.Secret {
		in.Default, in.Value = Masked, Masked
	}
	return in
}

// Registry holds settings and their effective values. Most code uses the
// package-level functions, which delegate to a process-wide registry; tests
// use NewRegistry for isolation.
type Registry struct {
	// Logger receives warnings about ignored stored values; nil means
	// slog.Default(). Set it before use.
	Logger *slog.Logger

	mu      sync.RWMutex // guards entries
	entries map[string]*entry
	// writeMu serialises Set/Reset/Load/LoadEnv so the store and the cache
	// agree, without blocking readers during store I/O.
	writeMu sync.Mutex
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{entries: map[string]*entry{}} }

var defaultRegistry = NewRegistry()

// Default returns the process-wide registry used by the package-level functions.
func Default() *Registry { return defaultRegistry }

func (r *Registry) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Registry) lookup(name string) *entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.entries[name]
}

func (r *Registry) snapshot() []*entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	es := make([]*entry, 0, len(r.entries))
	for _, e := range r.entries {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b *entry) int { return strings.Compare(a.Name, b.Name) })
	return es
}

// Handle reads a registered setting's effective value.
type Handle[T any] struct{ e *entry }

// Get returns the effective value: one atomic load, no locking. Lists are
// copied so callers cannot modify the shared value.
func (h Handle[T]) Get() T {
	v := h.e.cur.Load().value
	if l, ok := v.([]string); ok {
		return any(slices.Clone(l)).(T)
	}
	return v.(T)
}

// Name returns the setting's name.
func (h Handle[T]) Name() string { return h.e.Name }

var nameRE = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// register panics on any declaration error: these are programmer errors
// that must surface at init, not when an admin first edits the setting.
func register[T any](r *Registry, t Type, name string, def T, help string, opts []Option) Handle[T] {
	s := Setting{Name: name, Type: t, Default: def, Help: help}
	if l, ok := any(def).([]string); ok {
		s.Default = slices.Clone(l) // do not alias the caller's slice
	}
	for _, o := range opts {
		o(&s)
	}
	if !nameRE.MatchString(s.Name) {
		panic(fmt.Sprintf("settings: invalid name %q: want UPPER_SNAKE", s.Name))
	}
	if s.Group == "" {
		s.Group, _, _ = strings.Cut(s.Name, "_")
	}
	for _, c := range s.Choices {
		if !elemTypeOK(s.Type, c) {
			panic(fmt.Sprintf("settings: %s: choice %v (%T) does not match type %s", s.Name, c, c, s.Type))
		}
	}
	if err := check(&s, s.Default); err != nil {
		panic(fmt.Sprintf("settings: invalid default: %v", err))
	}
	e := &entry{Setting: s}
	e.refresh()

	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.entries[s.Name]; dup {
		panic("settings: duplicate setting " + s.Name)
	}
	r.entries[s.Name] = e
	return Handle[T]{e}
}

// String registers a string setting.
func (r *Registry) String(name, def, help string, opts ...Option) Handle[string] {
	return register(r, TypeString, name, def, help, opts)
}

// Int registers an int setting.
func (r *Registry) Int(name string, def int, help string, opts ...Option) Handle[int] {
	return register(r, TypeInt, name, def, help, opts)
}

// Bool registers a bool setting.
func (r *Registry) Bool(name string, def bool, help string, opts ...Option) Handle[bool] {
	return register(r, TypeBool, name, def, help, opts)
}

// StringList registers a list-of-strings setting. A nil default becomes empty.
func (r *Registry) StringList(name string, def []string, help string, opts ...Option) Handle[[]string] {
	if def == nil {
		def = []string{}
	}
	return register(r, TypeStringList, name, def, help, opts)
}

// Duration registers a duration setting.
func (r *Registry) Duration(name string, def time.Duration, help string, opts ...Option) Handle[time.Duration] {
	return register(r, TypeDuration, name, def, help, opts)
}

// LoadEnv reads ORCHESTRA_<NAME> for every setting through lookup. Unset
// variables clear earlier env values. All bad variables are reported together,
// each naming the variable; valid ones are still applied.
func (r *Registry) LoadEnv(lookup func(string) (string, bool)) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	var errs []error
	for _, e := range r.snapshot() {
		key := EnvPrefix + e.Name
		s, ok := lookup(key)
		e.env, e.hasEnv = nil, false
		if ok {
			v, err := parseEnv(&e.Setting, s)
			if err == nil {
				err = check(&e.Setting, v)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("settings: environment variable %s: %w", key, err))
			} else {
				e.env, e.hasEnv = v, true
			}
		}
		e.refresh()
	}
	return errors.Join(errs...)
}

// Load replaces database values with those in st. Unknown names and invalid
// values are skipped with a warning so a stale row cannot stop the panel.
func (r *Registry) Load(ctx context.Context, st Store) error {
	r.writeMu.Lock() // held across All so a concurrent Set is not overwritten by a stale read
	defer r.writeMu.Unlock()
	stored, err := st.All(ctx)
	if err != nil {
		return fmt.Errorf("settings: load: %w", err)
	}
	var unknown []string
	for name := range stored {
		if r.lookup(name) == nil {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		r.logger().WarnContext(ctx, "settings: ignoring stored values of unknown settings", "names", unknown)
	}
	for _, e := range r.snapshot() {
		e.db, e.hasDB = nil, false
		if raw, ok := stored[e.Name]; ok {
			v, err := decode(&e.Setting, raw)
			if err != nil {
				// The raw value is not logged: it may be a secret.
				r.logger().WarnContext(ctx, "settings: ignoring invalid stored value", "setting", e.Name, "error", err.Error())
			} else {
				e.db, e.hasDB = v, true
			}
		}
		e.refresh()
	}
	return nil
}

// Set validates raw (JSON of the setting's type), stores it in canonical form
// and makes it effective. A value equal to the default is still stored, as an
// explicit choice. Errors wrap ErrUnknown or are *InvalidError; others come
// from st.
func (r *Registry) Set(ctx context.Context, st Store, name string, raw json.RawMessage) error {
	e := r.lookup(name)
	if e == nil {
		return fmt.Errorf("%w %q", ErrUnknown, name)
	}
	v, err := decode(&e.Setting, raw)
	if err != nil {
		return err
	}
	canon, err := json.Marshal(jsonValue(v))
	if err != nil {
		return fmt.Errorf("settings: encode %s: %w", name, err)
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if err := st.Put(ctx, name, canon); err != nil {
		return fmt.Errorf("settings: store %s: %w", name, err)
	}
	e.db, e.hasDB = v, true
	e.refresh()
	return nil
}

// Reset deletes the stored value so the env value or default applies again.
func (r *Registry) Reset(ctx context.Context, st Store, name string) error {
	e := r.lookup(name)
	if e == nil {
		return fmt.Errorf("%w %q", ErrUnknown, name)
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if err := st.Delete(ctx, name); err != nil {
		return fmt.Errorf("settings: delete %s: %w", name, err)
	}
	e.db, e.hasDB = nil, false
	e.refresh()
	return nil
}

// All describes every setting, sorted by name.
func (r *Registry) All() []Info {
	es := r.snapshot()
	out := make([]Info, len(es))
	for i, e := range es {
		out[i] = e.info()
	}
	return out
}

// Lookup describes one setting.
func (r *Registry) Lookup(name string) (Info, bool) {
	e := r.lookup(name)
	if e == nil {
		return Info{}, false
	}
	return e.info(), true
}

// Package-level functions delegate to Default().

func String(name, def, help string, opts ...Option) Handle[string] {
	return defaultRegistry.String(name, def, help, opts...)
}

func Int(name string, def int, help string, opts ...Option) Handle[int] {
	return defaultRegistry.Int(name, def, help, opts...)
}

func Bool(name string, def bool, help string, opts ...Option) Handle[bool] {
	return defaultRegistry.Bool(name, def, help, opts...)
}

func StringList(name string, def []string, help string, opts ...Option) Handle[[]string] {
	return defaultRegistry.StringList(name, def, help, opts...)
}

func Duration(name string, def time.Duration, help string, opts ...Option) Handle[time.Duration] {
	return defaultRegistry.Duration(name, def, help, opts...)
}

func LoadEnv(lookup func(string) (string, bool)) error { return defaultRegistry.LoadEnv(lookup) }

// LoadOSEnv is LoadEnv(os.LookupEnv).
func LoadOSEnv() error { return defaultRegistry.LoadEnv(os.LookupEnv) }

func Load(ctx context.Context, st Store) error { return defaultRegistry.Load(ctx, st) }

func Set(ctx context.Context, st Store, name string, raw json.RawMessage) error {
	return defaultRegistry.Set(ctx, st, name, raw)
}

func Reset(ctx context.Context, st Store, name string) error {
	return defaultRegistry.Reset(ctx, st, name)
}

func All() []Info { return defaultRegistry.All() }

func Lookup(name string) (Info, bool) { return defaultRegistry.Lookup(name) }
