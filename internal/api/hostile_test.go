package api_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// hostileValues are sent, one field at a time, in every request body: awkward
// strings and JSON of the wrong type.
var hostileValues = []any{
	"nul\x00byte", "\x01\x1f\x7f", "a\nb\r\nc\td", strings.Repeat("x", 5000), "Núria 山田 🎉\u202e\ufeff",
	`it's "quoted"; $(id) ` + "`id` \\", "  padded  ", "/etc/../x", 12345, []any{"x"}, map[string]any{"a": 1},
}

// TestHostileBodies sends every operation's body (from the authorization
// matrix) with each field, in turn, replaced by each hostile value, as a
// superuser, on both stores. No answer is a 5xx; a NUL is refused with a
// 422 naming the field; a 422 names a field; a refusal changes nothing; an accepted value reads back as
// sent (surrounding white space may be trimmed, names folded to lower case).
func TestHostileBodies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		_, _, v := newVictim(t, e, admin)
		as := e.TokenFor(admin, 1)
		nested := map[string]bool{}
		defer func() {
			// the examples hold objects (a directive's settings, a zone's records): they are tried
			if !nested["settings.location"] || !nested["records[0].value"] {
				t.Errorf("nested fields tried: %v", slices.Sorted(maps.Keys(nested)))
			}
		}()
		for _, o := range operations(t, e) {
			if o.method == "GET" || o.method == "DELETE" {
				continue
			}
			base, ok := o.body(t, v).(map[string]any)
			if !ok {
				continue
			}
			fields := map[string]bool{}
			for f := range base {
				fields[f] = true
			}
			for _, f := range schemaFields(e, o) {
				fields[f] = true
			}
			names := make([]string, 0, len(fields))
			for f := range fields {
				if f != "version" {
					names = append(names, f)
				}
			}
			sort.Strings(names)
			u := o.url(t, v)
			// and each field of an object the body holds (settings, a
			// user), of the first of a list of objects (records), by path
			for _, f := range slices.Clone(names) {
				switch x := base[f].(type) {
				case map[string]any:
					for k := range x {
						names, nested[f+"."+k] = append(names, f+"."+k), true
					}
				case []any:
					if m, ok := firstObject(x); ok {
						for k := range m {
							names, nested[f+"[0]."+k] = append(names, f+"[0]."+k), true
						}
					}
				}
			}
			for _, f := range names {
				for _, hv := range hostileValues {
					body := withValue(base, f, hv)
					if _, ok := base["version"]; ok {
						if r := as.Do("GET", u, nil); r.Status == http.StatusOK {
							body["version"] = r.JSON()["version"]
						}
					}
					before := e.HistoryCount()
					r := as.Do(o.method, u, body)
					checkHostile(t, e, as, o, u, f, hv, body, r, before)
				}
			}
		}
	})
}

// firstObject is the first of a list, when it is an object.
func firstObject(list []any) (map[string]any, bool) {
	if len(list) == 0 {
		return nil, false
	}
	m, ok := list[0].(map[string]any)
	return m, ok
}

// withValue is a copy of base with the field at path (name, name.key or
// name[0].key) set to v; what it copies on the way is copied, not shared.
func withValue(base map[string]any, path string, v any) map[string]any {
	body := maps.Clone(base)
	top, key, nested := strings.Cut(path, ".")
	if !nested {
		body[path] = v
		return body
	}
	if list, ok := strings.CutSuffix(top, "[0]"); ok {
		l := slices.Clone(body[list].([]any))
		first, _ := firstObject(l)
		first = maps.Clone(first)
		first[key] = v
		l[0] = first
		body[list] = l
		return body
	}
	m := maps.Clone(body[top].(map[string]any))
	m[key] = v
	body[top] = m
	return body
}

// schemaFields are the top-level properties of o's request body schema.
func schemaFields(e *env, o operation) []string {
	item := e.API.API().OpenAPI().Paths["/api/v1"+o.path]
	op := item.Post
	switch o.method {
	case "PUT":
		op = item.Put
	case "PATCH":
		op = item.Patch
	}
	if op == nil || op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil {
		return nil
	}
	s := op.RequestBody.Content["application/json"].Schema
	if s != nil && s.Ref != "" {
		s = e.API.API().OpenAPI().Components.Schemas.SchemaFromRef(s.Ref)
	}
	var out []string
	if s != nil {
		for name := range s.Properties {
			if name != "$schema" {
				out = append(out, name)
			}
		}
	}
	return out
}

func checkHostile(t *testing.T, e *env, as *client, o operation, u, f string, hv any, body map[string]any, r *resp, before int) {
	t.Helper()
	j, _ := json.Marshal(hv)
	what := o.method + " " + u + " with " + f + "=" + string(j)
	if len(what) > 200 {
		what = what[:200] + "…"
	}
	switch {
	case r.Status >= 500 && r.Status != superuserStatus[o.id]:
		t.Errorf("%s: status %d: %s", what, r.Status, r.Body)
	case r.Status >= 400:
		if after := e.HistoryCount(); after != before {
			t.Errorf("%s: refused with %d, but the history went from %d to %d entries", what, r.Status, before, after)
		}
		s, isString := hv.(string)
		if isString && strings.ContainsRune(s, 0) {
			if r.Status != http.StatusUnprocessableEntity || !slices.Contains(r.FieldErrors(), "body."+f) {
				t.Errorf("%s: a NUL must be refused with a 422 naming body.%s: %d %s", what, f, r.Status, r.Body)
			}
		}
		// a value may make a related field wrong (an address needs a city):
		// the 422 names a field, not necessarily this one
		if r.Status == http.StatusUnprocessableEntity && !slices.ContainsFunc(r.FieldErrors(), func(l string) bool {
			return strings.HasPrefix(l, "body")
		}) {
			t.Errorf("%s: the 422 names no field: %s", what, r.Body)
		}
	case r.Status < 300:
		s, isString := hv.(string)
		if !isString {
			return
		}
		if strings.ContainsRune(s, 0) {
			t.Errorf("%s: a NUL was accepted (%d); PostgreSQL cannot store it", what, r.Status)
			return
		}
		read := u
		if loc := r.Header.Get("Location"); loc != "" {
			read = strings.TrimPrefix(loc, "/api/v1")
		} else if o.method == "POST" {
			return // an action: nothing of its own to read back
		}
		back := as.Do("GET", read, nil)
		if back.Status != http.StatusOK {
			return
		}
		got, shown := back.JSON()[f].(string)
		if !shown {
			return
		}
		if got != s && got != strings.TrimSpace(s) && got != strings.ToLower(strings.TrimSpace(s)) {
			t.Errorf("%s: accepted, but %s reads back as %q", what, f, got)
		}
	}
}
