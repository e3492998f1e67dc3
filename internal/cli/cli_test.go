package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	_ "github.com/orchestra-panel/orchestra/internal/accounts" // account rules
	"github.com/orchestra-panel/orchestra/internal/api"
	_ "github.com/orchestra-panel/orchestra/internal/contacts"     // contact rules
	_ "github.com/orchestra-panel/orchestra/internal/services/all" // every service
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// registry reads the models of the API's document as the binary does.
func registry(t *testing.T) *Registry {
	t.Helper()
	st, err := store.Open("sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return Load(api.New(st, api.Config{}).API().OpenAPI())
}

// TestVerbsFromDocument: every model of the document is a command, with
// its standard verbs and its own operations named without the model.
func TestVerbsFromDocument(t *testing.T) {
	r := registry(t)
	want := map[string]map[string]string{ // model → verb → method path
		"system-user": {
			"list": "GET /system-users", "get": "GET /system-users/{id}", "create": "POST /system-users",
			"update": "PATCH /system-users/{id}", "delete": "DELETE /system-users/{id}",
			"set-password": "POST /system-users/{id}/password", "set-permission": "POST /system-users/{id}/permissions",
			"create-link": "POST /system-users/{id}/links", "check-paths": "POST /system-users/{id}/check-paths",
		},
		"domain": {
			"import": "POST /domains/import", "view-zone": "GET /domains/{id}/zone", "get-ds": "GET /domains/{id}/ds",
		},
		"database-user": {"set-password": "POST /database-users/{id}/password", "create": "POST /database-users"},
		"database":      {"update": "PATCH /databases/{id}"},
		"token":         {"delete": "DELETE /tokens/{id}"},
	}
	for model, verbs := range want {
		m := r.Model(model)
		if m == nil {
			t.Errorf("no model %s", model)
			continue
		}
		for name, mp := range verbs {
			v := m.Verb(name)
			if v == nil {
				t.Errorf("%s has no verb %s (has %v)", model, name, m.VerbNames())
				continue
			}
			if got := v.Method + " " + v.Path; got != mp {
				t.Errorf("%s %s is %s, want %s", model, name, got, mp)
			}
			if v.Object != strings.Contains(mp, "{id}") {
				t.Errorf("%s %s: Object %t", model, name, v.Object)
			}
		}
	}
	if got := strings.Join(r.Model("database").VerbNames(), " "); got != "list get create update delete" {
		t.Errorf("database verbs: %s", got)
	}
	if r.Model("database-user").Verb("update") != nil {
		t.Error("database users have no update operation, but a verb")
	}
	for _, m := range r.Models {
		if m.Verb("list") == nil {
			t.Errorf("%s has no list", m.Name)
		}
	}
	// flags: a list's filters and paging, a body's fields with their refs
	list := r.Model("database").Verb("list")
	for _, n := range []string{"page", "page_size", "search", "ordering", "name", "type", "account"} {
		if !hasFlag(list, n, "query") {
			t.Errorf("database list has no --%s", dashed(n))
		}
	}
	create := r.Model("database").Verb("create")
	for _, f := range create.Flags {
		switch f.Name {
		case "users":
			if f.Ref != "database-user" || f.In != "body" {
				t.Errorf("users: %+v", f)
			}
		case "account":
			if f.Ref != "account" {
				t.Errorf("account: %+v", f)
			}
		case "name":
			if !f.Required {
				t.Error("name is not required")
			}
		}
	}
}

func TestActionName(t *testing.T) {
	for _, c := range []struct{ id, model, want string }{
		{"set-system-user-password", "system-user", "set-password"},
		{"create-system-user-link", "system-user", "create-link"},
		{"check-system-user-paths", "system-user", "check-paths"},
		{"import-domain", "domain", "import"},
		{"get-domain-zone", "domain", "get-zone"},
		{"view-zone", "domain", "view-zone"},
		{"set-database-user-password", "database-user", "set-password"},
		{"list-system-users-groups", "system-user", "list-groups"},
		{"system-user", "system-user", "system-user"},
	} {
		if got := actionName(c.id, c.model, c.model+"s"); got != c.want {
			t.Errorf("actionName(%s, %s) = %s, want %s", c.id, c.model, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	r := registry(t)
	list := r.Model("system-user").Verb("list")
	for _, argv := range [][]string{{"--page-size", "5"}, {"--page_size=5"}, {"--page-size=5"}} {
		a, err := parse(r.Model("system-user"), list, argv, nil)
		if err != nil || len(a.values["page_size"]) != 1 || a.values["page_size"][0] != "5" {
			t.Errorf("%v: %v %+v", argv, err, a)
		}
	}
	m := r.Model("system-user")
	update := m.Verb("update")
	for argv, want := range map[string]string{
		"web --is-active":                   "true",
		"web --is-active false":             "false",
		"web --is-active=false":             "false",
		"web --no-is-active":                "false",
		"--is-active true web":              "true",
		"web --shell sftp-only --is-active": "true",
	} {
		a, err := parse(m, update, strings.Fields(argv), nil)
		if err != nil || a.ref != "web" || len(a.values["is_active"]) != 1 || a.values["is_active"][0] != want {
			t.Errorf("%q: %v %+v", argv, err, a)
		}
	}
	if a, err := parse(m, update, []string{"web", "--database", "sqlite:x.db"}, []string{"database"}); err != nil || a.globals["database"] != "sqlite:x.db" {
		t.Errorf("a global flag after the verb: %v %+v", err, a)
	}
	for argv, want := range map[string]string{
		"web --frob 1":  "unknown flag --frob for system-user update; valid flags: ",
		"":              "needs the system user: its id or its username",
		"web other":     `unexpected argument "other"`,
		"web --shell":   "--shell needs a value",
		"web --all":     "unknown flag --all",
		"web --version": "--version needs a value",
	} {
		_, err := parse(m, update, strings.Fields(argv), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", argv, err, want)
		}
	}
}

func TestConvert(t *testing.T) {
	r := registry(t)
	flag := func(model, verb, name string) *Flag {
		for _, f := range r.Model(model).Verb(verb).Flags {
			if f.Name == name {
				return f
			}
		}
		t.Fatalf("%s %s has no %s", model, verb, name)
		return nil
	}
	ctx := context.Background()
	for _, c := range []struct {
		f    *Flag
		vals []string
		want string
	}{
		{flag("database", "create", "users"), []string{"1,2", "3"}, `[1,2,3]`},
		{flag("database", "create", "users"), []string{""}, `[]`},
		{flag("database", "create", "account"), []string{"7"}, `7`},
		{flag("database", "create", "user"), []string{`{"username":"u","password":"p"}`}, `{"password":"p","username":"u"}`},
		{flag("database", "create", "user"), []string{`not json`}, `"not json"`}, // the API says what is wrong
		{flag("system-user", "create", "is_active"), []string{"false"}, `false`},
		{flag("system-user", "create", "is_active"), []string{"maybe"}, `"maybe"`},
		{flag("system-user", "check-paths", "paths"), []string{"/a,/b", "/c"}, `["/a","/b","/c"]`},
		{flag("system-user", "create", "shell"), []string{"/bin/bash"}, `"/bin/bash"`},
		{flag("domain", "create", "records"), []string{`{"type":"A","value":"192.0.2.1"}`, `{"type":"MX","value":"10 mx"}`},
			`[{"type":"A","value":"192.0.2.1"},{"type":"MX","value":"10 mx"}]`},
	} {
		v, err := r.convert(ctx, nil, c.f, c.vals)
		if err != nil {
			t.Errorf("%s %v: %v", c.f.Name, c.vals, err)
			continue
		}
		b, _ := json.Marshal(v)
		if string(b) != c.want {
			t.Errorf("%s %v = %s, want %s", c.f.Name, c.vals, b, c.want)
		}
	}
}

// TestRunInProcess performs verbs through a real API server on both stores:
// references by title in flags and arguments, --data, --all, --version.
func TestRunInProcess(t *testing.T) {
	r := registry(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := api.New(st, api.Config{})
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		do := func(stdin string, args ...string) (string, string, error) {
			var out, errOut bytes.Buffer
			m := r.Model(args[0])
			if m == nil {
				t.Fatalf("no model %s", args[0])
			}
			err := r.Run(ctx, m, args[1:], Env{Program: "orchestra", Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
				Getenv: func(string) string { return "" },
				Connect: func(map[string]string) (Caller, func(), error) {
					return srv, func() {}, nil
				}})
			return out.String(), errOut.String(), err
		}
		ok := func(stdin string, args ...string) string {
			t.Helper()
			out, errOut, err := do(stdin, args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s%s", args, err, out, errOut)
			}
			return out
		}
		ok("", "account", "create", "--username", "ana", "--full-name", "Ana", "--email", "ana@example.com")
		out := ok("", "domain", "create", "--account", "ana", "--data",
			`{"name": "example.com", "records": [{"type": "A", "value": "192.0.2.1"}]}`)
		if !strings.Contains(out, "name: example.com\n") {
			t.Fatalf("domain create: %s", out)
		}
		ok("", "record", "create", "--domain", "example.com", "--type", "TXT", "--value", "hello")
		var recs []struct {
			Type, Value string
			Domain      int
		}
		if err := json.Unmarshal([]byte(ok("", "record", "list", "--domain", "example.com", "--all", "--page-size", "1", "--json")), &recs); err != nil {
			t.Fatal(err)
		}
		if len(recs) < 2 {
			t.Errorf("--all over pages of one: %+v", recs)
		}
		if out := ok("", "domain", "view-zone", "example.com"); !strings.Contains(out, "zone: example.com\n") || !strings.Contains(out, "hello") {
			t.Errorf("view-zone: %s", out)
		}
		// a given version is sent as it is: a stale one is refused
		if _, errOut, err := do("", "system-user", "update", "ana", "--shell", "/bin/bash", "--version", "99"); err == nil {
			t.Errorf("stale --version accepted: %s", errOut)
		} else if e, ok := err.(*Error); !ok || e.Status != http.StatusPreconditionFailed {
			t.Errorf("stale --version: %v", err)
		}
		if out := ok("", "system-user", "update", "ana", "--shell", "/bin/bash", "--version", "1"); !strings.Contains(out, "shell: /bin/bash\n") {
			t.Errorf("update --version: %s", out)
		}
		if _, _, err := do("", "record", "create", "--domain", "nope.example", "--type", "A", "--value", "192.0.2.2"); err == nil ||
			!strings.Contains(err.Error(), "--domain: no domain named nope.example") {
			t.Errorf("unknown domain: %v", err)
		}
		// a record's title is its id: a name is refused before any request
		if _, _, err := do("", "record", "get", "www"); err == nil || !strings.Contains(err.Error(), "is named by its id") {
			t.Errorf("record by name: %v", err)
		}
	})
}
