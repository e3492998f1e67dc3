package settings_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/settings"
)

// memStore is an in-memory Store; err, when set, is returned by every call.
type memStore struct {
	mu  sync.Mutex
	m   map[string]json.RawMessage
	err error
}

func newStore(kv ...string) *memStore {
	s := &memStore{m: map[string]json.RawMessage{}}
	for i := 0; i < len(kv); i += 2 {
		s.m[kv[i]] = json.RawMessage(kv[i+1])
	}
	return s
}

func (s *memStore) All(context.Context) (map[string]json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m), s.err
}

func (s *memStore) Put(_ context.Context, name string, v json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.m[name] = slices.Clone(v)
	return nil
}

func (s *memStore) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	delete(s.m, name)
	return nil
}

func (s *memStore) get(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[name]
	return string(v), ok
}

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func positive(v any) error {
	if v.(int) <= 0 {
		return errors.New("must be positive")
	}
	return nil
}

// fixture registers one setting of each type on a fresh registry.
type fixture struct {
	r      *settings.Registry
	str    settings.Handle[string]
	num    settings.Handle[int]
	flag   settings.Handle[bool]
	list   settings.Handle[[]string]
	dur    settings.Handle[time.Duration]
	secret settings.Handle[string]
}

func newFixture() fixture {
	r := settings.NewRegistry()
	return fixture{
		r:      r,
		str:    r.String("ACCOUNTS_DEFAULT_TYPE", "INDIVIDUAL", "Type given to new accounts.", settings.Choices("INDIVIDUAL", "ASSOCIATION", "COMPANY")),
		num:    r.Int("MAILBOXES_MAX", 10, "Maximum mailboxes.", settings.Validator(positive)),
		flag:   r.Bool("ORDERS_BILL_ON_CREATE", false, "Bill orders when created."),
		list:   r.StringList("DOMAINS_NAMESERVERS", []string{"ns1"}, "Name servers.", settings.Choices("ns1", "ns2", "ns3")),
		dur:    r.Duration("TASKS_TIMEOUT", time.Hour, "Task timeout."),
		secret: r.String("PAYMENTS_API_KEY", "", "Gateway key.", settings.Secret()),
	}
}

func TestRegisterPanics(t *testing.T) {
	tests := []struct {
		name string
		reg  func(r *settings.Registry)
	}{
		{"duplicate", func(r *settings.Registry) { r.Int("A_B", 1, ""); r.Bool("A_B", true, "") }},
		{"lowercase", func(r *settings.Registry) { r.Int("a_b", 1, "") }},
		{"double underscore", func(r *settings.Registry) { r.Int("A__B", 1, "") }},
		{"trailing underscore", func(r *settings.Registry) { r.Int("A_", 1, "") }},
		{"default not in choices", func(r *settings.Registry) { r.String("A_B", "x", "", settings.Choices("y")) }},
		{"list default not in choices", func(r *settings.Registry) { r.StringList("A_B", []string{"x"}, "", settings.Choices("y")) }},
		{"default fails validator", func(r *settings.Registry) { r.Int("A_B", 0, "", settings.Validator(positive)) }},
		{"choice of wrong type", func(r *settings.Registry) { r.Int("A_B", 1, "", settings.Choices("1")) }},
		{"choice of wrong int type", func(r *settings.Registry) { r.Int("A_B", 1, "", settings.Choices(int64(1))) }},
		{"secret default is mask", func(r *settings.Registry) { r.String("A_B", settings.Masked, "", settings.Secret()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.reg(settings.NewRegistry())
		})
	}
}

func TestDefaultsAndInfo(t *testing.T) {
	f := newFixture()
	if f.str.Get() != "INDIVIDUAL" || f.num.Get() != 10 || f.flag.Get() || f.dur.Get() != time.Hour || !slices.Equal(f.list.Get(), []string{"ns1"}) {
		t.Fatal("defaults not effective")
	}
	all := f.r.All()
	var names []string
	for _, in := range all {
		names = append(names, in.Name)
	}
	if !slices.IsSorted(names) || len(names) != 6 {
		t.Fatalf("All() names = %v", names)
	}
	in, ok := f.r.Lookup("DOMAINS_NAMESERVERS")
	if !ok || in.Group != "DOMAINS" || in.Type != "list" || in.Source != settings.SourceDefault || in.Help != "Name servers." || len(in.Choices) != 3 {
		t.Fatalf("Lookup = %+v, %v", in, ok)
	}
	if _, ok := f.r.Lookup("NOPE_NOPE"); ok {
		t.Error("Lookup of unknown name succeeded")
	}
	if f.num.Name() != "MAILBOXES_MAX" {
		t.Error("Handle.Name")
	}
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		stored     []string
		want       int
		wantSource settings.Source
	}{
		{"default", nil, nil, 10, settings.SourceDefault},
		{"env over default", []string{"ORCHESTRA_MAILBOXES_MAX", "20"}, nil, 20, settings.SourceEnv},
		{"database over default", nil, []string{"MAILBOXES_MAX", "30"}, 30, settings.SourceDatabase},
		{"database over env", []string{"ORCHESTRA_MAILBOXES_MAX", "20"}, []string{"MAILBOXES_MAX", "30"}, 30, settings.SourceDatabase},
		{"invalid database falls back to env", []string{"ORCHESTRA_MAILBOXES_MAX", "20"}, []string{"MAILBOXES_MAX", "-1"}, 20, settings.SourceEnv},
		{"other env var ignored", []string{"MAILBOXES_MAX", "20"}, nil, 10, settings.SourceDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			f.r.Logger = slog.New(slog.DiscardHandler)
			if err := f.r.LoadEnv(env(tt.env...)); err != nil {
				t.Fatal(err)
			}
			if err := f.r.Load(t.Context(), newStore(tt.stored...)); err != nil {
				t.Fatal(err)
			}
			in, _ := f.r.Lookup("MAILBOXES_MAX")
			if got := f.num.Get(); got != tt.want || in.Source != tt.wantSource || in.Value != tt.want {
				t.Errorf("Get() = %d, Info = %v from %s; want %d from %s", got, in.Value, in.Source, tt.want, tt.wantSource)
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	tests := []struct {
		key, val string
		want     any // nil when an error is expected
		get      func(f fixture) any
	}{
		{"ACCOUNTS_DEFAULT_TYPE", "COMPANY", "COMPANY", func(f fixture) any { return f.str.Get() }},
		{"ACCOUNTS_DEFAULT_TYPE", "OTHER", nil, nil},
		{"MAILBOXES_MAX", " 42 ", 42, func(f fixture) any { return f.num.Get() }},
		{"MAILBOXES_MAX", "4.2", nil, nil},
		{"MAILBOXES_MAX", "many", nil, nil},
		{"MAILBOXES_MAX", "0", nil, nil}, // validator
		{"ORDERS_BILL_ON_CREATE", "true", true, func(f fixture) any { return f.flag.Get() }},
		{"ORDERS_BILL_ON_CREATE", "0", false, func(f fixture) any { return f.flag.Get() }},
		{"ORDERS_BILL_ON_CREATE", "yes", nil, nil},
		{"DOMAINS_NAMESERVERS", "ns2, ns3,,", []string{"ns2", "ns3"}, func(f fixture) any { return f.list.Get() }},
		{"DOMAINS_NAMESERVERS", "", []string{}, func(f fixture) any { return f.list.Get() }},
		{"DOMAINS_NAMESERVERS", "ns1,evil", nil, nil},
		{"TASKS_TIMEOUT", "90m", 90 * time.Minute, func(f fixture) any { return f.dur.Get() }},
		{"TASKS_TIMEOUT", "90", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.val, func(t *testing.T) {
			f := newFixture()
			key := "ORCHESTRA_" + tt.key
			err := f.r.LoadEnv(env(key, tt.val))
			if tt.want == nil {
				var ie *settings.InvalidError
				if err == nil || !strings.Contains(err.Error(), key) || !errors.As(err, &ie) || ie.Name != tt.key {
					t.Fatalf("err = %v, want InvalidError naming %s", err, key)
				}
				if in, _ := f.r.Lookup(tt.key); in.Source != settings.SourceDefault {
					t.Errorf("invalid env value applied: %+v", in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(f); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Get() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLoadEnvReportsAllAndAppliesValid(t *testing.T) {
	f := newFixture()
	err := f.r.LoadEnv(env("ORCHESTRA_MAILBOXES_MAX", "x", "ORCHESTRA_TASKS_TIMEOUT", "y", "ORCHESTRA_ORDERS_BILL_ON_CREATE", "1"))
	if err == nil || !strings.Contains(err.Error(), "ORCHESTRA_MAILBOXES_MAX") || !strings.Contains(err.Error(), "ORCHESTRA_TASKS_TIMEOUT") {
		t.Fatalf("err = %v", err)
	}
	if !f.flag.Get() {
		t.Error("valid env value not applied")
	}
	// A later LoadEnv without the variable drops the env value.
	if err := f.r.LoadEnv(env()); err != nil || f.flag.Get() {
		t.Errorf("reload: err=%v flag=%v", err, f.flag.Get())
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name, setting, raw string
		wantStored         string // canonical JSON in the store on success
		wantErr            string // "unknown", or a substring of InvalidError.Message
	}{
		{"unknown", "NOPE_NOPE", `1`, "", "unknown"},
		{"int", "MAILBOXES_MAX", `5`, `5`, ""},
		{"int equal to default is stored", "MAILBOXES_MAX", `10`, `10`, ""},
		{"int given as string", "MAILBOXES_MAX", `"5"`, "", "expected an integer"},
		{"int given as float", "MAILBOXES_MAX", `1.5`, "", "expected an integer"},
		{"int null", "MAILBOXES_MAX", `null`, "", "expected an integer"},
		{"int empty", "MAILBOXES_MAX", ``, "", "expected an integer"},
		{"int trailing data", "MAILBOXES_MAX", `5 6`, "", "expected an integer"},
		{"int validator", "MAILBOXES_MAX", `-3`, "", "must be positive"},
		{"string choice", "ACCOUNTS_DEFAULT_TYPE", ` "COMPANY" `, `"COMPANY"`, ""},
		{"string not a choice", "ACCOUNTS_DEFAULT_TYPE", `"OTHER"`, "", `"OTHER" is not one of "INDIVIDUAL", "ASSOCIATION", "COMPANY"`},
		{"string given as number", "ACCOUNTS_DEFAULT_TYPE", `5`, "", "expected a string"},
		{"bool", "ORDERS_BILL_ON_CREATE", `true`, `true`, ""},
		{"bool given as string", "ORDERS_BILL_ON_CREATE", `"true"`, "", "expected a boolean"},
		{"list", "DOMAINS_NAMESERVERS", `["ns2", "ns3"]`, `["ns2","ns3"]`, ""},
		{"empty list", "DOMAINS_NAMESERVERS", `[]`, `[]`, ""},
		{"list element not a choice", "DOMAINS_NAMESERVERS", `["ns2","evil"]`, "", `"evil" is not one of`},
		{"list of numbers", "DOMAINS_NAMESERVERS", `[1]`, "", "expected a list of strings"},
		{"list with null", "DOMAINS_NAMESERVERS", `["ns1",null]`, "", "expected a list of strings"},
		{"list given as string", "DOMAINS_NAMESERVERS", `"ns1"`, "", "expected a list of strings"},
		{"duration", "TASKS_TIMEOUT", `"90m"`, `"1h30m0s"`, ""},
		{"duration given as number", "TASKS_TIMEOUT", `3600`, "", "expected a duration"},
		{"duration unparsable", "TASKS_TIMEOUT", `"soon"`, "", "expected a duration"},
		{"secret", "PAYMENTS_API_KEY", `"s3cret"`, `"s3cret"`, ""},
		{"secret mask echoed back", "PAYMENTS_API_KEY", `"********"`, "", "masked placeholder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			st := newStore()
			before, _ := f.r.Lookup(tt.setting)
			err := f.r.Set(t.Context(), st, tt.setting, json.RawMessage(tt.raw))
			switch {
			case tt.wantErr == "unknown":
				if !errors.Is(err, settings.ErrUnknown) {
					t.Fatalf("err = %v, want ErrUnknown", err)
				}
			case tt.wantErr != "":
				var ie *settings.InvalidError
				if !errors.As(err, &ie) || ie.Name != tt.setting || !strings.Contains(ie.Message, tt.wantErr) {
					t.Fatalf("err = %v, want InvalidError on %s containing %q", err, tt.setting, tt.wantErr)
				}
				if after, _ := f.r.Lookup(tt.setting); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Errorf("rejected value changed the setting: %+v", after)
				}
				if len(st.m) != 0 {
					t.Errorf("rejected value stored: %v", st.m)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := st.get(tt.setting); got != tt.wantStored {
					t.Errorf("stored %s, want %s", got, tt.wantStored)
				}
				if in, _ := f.r.Lookup(tt.setting); in.Source != settings.SourceDatabase {
					t.Errorf("source = %s, want database", in.Source)
				}
			}
		})
	}
}

func TestSetUpdatesGetAndStoreErrors(t *testing.T) {
	f := newFixture()
	st := newStore()
	ctx := t.Context()
	if err := f.r.Set(ctx, st, "DOMAINS_NAMESERVERS", json.RawMessage(`["ns3"]`)); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Set(ctx, st, "TASKS_TIMEOUT", json.RawMessage(`"2m"`)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.list.Get(), []string{"ns3"}) || f.dur.Get() != 2*time.Minute {
		t.Errorf("Get() = %v, %v", f.list.Get(), f.dur.Get())
	}
	st.err = errors.New("db down")
	if err := f.r.Set(ctx, st, "TASKS_TIMEOUT", json.RawMessage(`"5m"`)); !errors.Is(err, st.err) {
		t.Errorf("err = %v, want store error", err)
	}
	if f.dur.Get() != 2*time.Minute {
		t.Error("cache updated although the store failed")
	}
}

func TestReset(t *testing.T) {
	f := newFixture()
	ctx := t.Context()
	st := newStore()
	if err := f.r.LoadEnv(env("ORCHESTRA_MAILBOXES_MAX", "20")); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Set(ctx, st, "MAILBOXES_MAX", json.RawMessage(`30`)); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Set(ctx, st, "ORDERS_BILL_ON_CREATE", json.RawMessage(`true`)); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name   string
		want   any
		source settings.Source
		get    func() any
	}{
		{"MAILBOXES_MAX", 20, settings.SourceEnv, func() any { return f.num.Get() }},
		{"ORDERS_BILL_ON_CREATE", false, settings.SourceDefault, func() any { return f.flag.Get() }},
	} {
		if err := f.r.Reset(ctx, st, step.name); err != nil {
			t.Fatal(err)
		}
		in, _ := f.r.Lookup(step.name)
		if step.get() != step.want || in.Source != step.source {
			t.Errorf("%s after Reset = %v from %s, want %v from %s", step.name, step.get(), in.Source, step.want, step.source)
		}
		if _, ok := st.get(step.name); ok {
			t.Errorf("%s still stored", step.name)
		}
	}
	if err := f.r.Reset(ctx, st, "NOPE_NOPE"); !errors.Is(err, settings.ErrUnknown) {
		t.Errorf("Reset unknown: err = %v", err)
	}
	// Resetting a setting with no stored value is fine.
	if err := f.r.Reset(ctx, st, "MAILBOXES_MAX"); err != nil {
		t.Error(err)
	}
}

func TestLoadSkipsBadRows(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture()
	f.r.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := t.Context()
	st := newStore(
		"GONE_SETTING", `1`,
		"MAILBOXES_MAX", `"lots"`,
		"PAYMENTS_API_KEY", `42`,
		"TASKS_TIMEOUT", `"3m"`,
	)
	if err := f.r.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	if f.num.Get() != 10 || f.dur.Get() != 3*time.Minute {
		t.Errorf("Get() = %d, %v", f.num.Get(), f.dur.Get())
	}
	out := logs.String()
	for _, want := range []string{"GONE_SETTING", "setting=MAILBOXES_MAX", "setting=PAYMENTS_API_KEY"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	// A row deleted elsewhere disappears on the next Load.
	delete(st.m, "TASKS_TIMEOUT")
	if err := f.r.Load(ctx, st); err != nil || f.dur.Get() != time.Hour {
		t.Errorf("reload: err=%v dur=%v", err, f.dur.Get())
	}
	st.err = errors.New("db down")
	if err := f.r.Load(ctx, st); !errors.Is(err, st.err) {
		t.Errorf("err = %v, want store error", err)
	}
}

func TestSecretMasked(t *testing.T) {
	f := newFixture()
	if err := f.r.LoadEnv(env("ORCHESTRA_PAYMENTS_API_KEY", "from-env")); err != nil {
		t.Fatal(err)
	}
	st := newStore()
	for _, src := range []string{"env", "database"} {
		if src == "database" {
			if err := f.r.Set(t.Context(), st, "PAYMENTS_API_KEY", json.RawMessage(`"from-db"`)); err != nil {
				t.Fatal(err)
			}
		}
		in, _ := f.r.Lookup("PAYMENTS_API_KEY")
		listed := f.r.All()
		b, _ := json.Marshal(listed)
		if in.Value != settings.Masked || in.Default != settings.Masked || !in.Secret || string(in.Source) != src {
			t.Errorf("%s: Lookup = %+v", src, in)
		}
		if strings.Contains(string(b), "from-") {
			t.Errorf("%s: secret leaked in listing: %s", src, b)
		}
		if want := "from-" + map[string]string{"env": "env", "database": "db"}[src]; f.secret.Get() != want {
			t.Errorf("%s: Get() = %q, want %q", src, f.secret.Get(), want)
		}
	}
}

func TestInfoJSON(t *testing.T) {
	r := settings.NewRegistry()
	r.Duration("TASKS_TIMEOUT", time.Hour, "Task timeout.", settings.Choices(time.Minute, time.Hour))
	in, _ := r.Lookup("TASKS_TIMEOUT")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"TASKS_TIMEOUT","group":"TASKS","type":"duration","help":"Task timeout.","choices":["1m0s","1h0m0s"],"default":"1h0m0s","value":"1h0m0s","source":"default","secret":false}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	// Info values round-trip through Set.
	raw, _ := json.Marshal(in.Choices[0])
	if err := r.Set(t.Context(), newStore(), "TASKS_TIMEOUT", raw); err != nil {
		t.Error(err)
	}
}

func TestListsAreNotAliased(t *testing.T) {
	r := settings.NewRegistry()
	def := []string{"a", "b"}
	h := r.StringList("X_LIST", def, "")
	def[0] = "changed"
	got := h.Get()
	got[1] = "changed"
	if !slices.Equal(h.Get(), []string{"a", "b"}) {
		t.Errorf("Get() = %v", h.Get())
	}
	if nilDefault := r.StringList("X_EMPTY", nil, ""); nilDefault.Get() == nil {
		t.Error("nil default should read as an empty list")
	}
}

func TestConcurrentAccess(t *testing.T) {
	f := newFixture()
	f.r.Logger = slog.New(slog.DiscardHandler)
	st := newStore()
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				raw := json.RawMessage(fmt.Sprint(1 + (i*200+j)%50))
				if err := f.r.Set(ctx, st, "MAILBOXES_MAX", raw); err != nil {
					t.Error(err)
					return
				}
				if j%50 == 0 {
					_ = f.r.Reset(ctx, st, "MAILBOXES_MAX")
					_ = f.r.Load(ctx, st)
					_ = f.r.LoadEnv(env("ORCHESTRA_DOMAINS_NAMESERVERS", "ns2"))
				}
			}
		})
		wg.Go(func() {
			for range 1000 {
				if n := f.num.Get(); n < 1 || n > 50 {
					t.Errorf("Get() = %d", n)
					return
				}
				_ = f.list.Get()
				if j := len(f.r.All()); j != 6 {
					t.Errorf("All() has %d entries", j)
					return
				}
			}
		})
	}
	wg.Wait()
	// The cache and the store agree after concurrent writers.
	stored, ok := st.get("MAILBOXES_MAX")
	if in, _ := f.r.Lookup("MAILBOXES_MAX"); ok && fmt.Sprint(in.Value) != stored {
		t.Errorf("cache %v, store %s", in.Value, stored)
	}
}

// pkgFlag is registered on the process-wide registry at init, as real
// settings are, so the test can run repeatedly (-count=N).
var pkgFlag = settings.Bool("PKGTEST_FLAG", false, "Package-level test flag.")

func TestPackageLevel(t *testing.T) {
	h := pkgFlag
	if err := settings.LoadEnv(env("ORCHESTRA_PKGTEST_FLAG", "true")); err != nil {
		t.Fatal(err)
	}
	if !h.Get() {
		t.Error("env not applied")
	}
	st := newStore()
	if err := settings.Set(t.Context(), st, "PKGTEST_FLAG", json.RawMessage(`false`)); err != nil || h.Get() {
		t.Errorf("Set: err=%v value=%v", err, h.Get())
	}
	if err := settings.Reset(t.Context(), st, "PKGTEST_FLAG"); err != nil || !h.Get() {
		t.Errorf("Reset: err=%v value=%v", err, h.Get())
	}
	if err := settings.Load(t.Context(), st); err != nil {
		t.Error(err)
	}
	if in, ok := settings.Lookup("PKGTEST_FLAG"); !ok || in.Source != settings.SourceEnv || len(settings.All()) == 0 || settings.Default() == nil {
		t.Errorf("Lookup = %+v", in)
	}
}
