package web_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestFieldsetsNameEveryField: every model's fieldsets name each field its
// forms take, once, and nothing else, so a form's order is declared, not
// alphabetical.
func TestFieldsetsNameEveryField(t *testing.T) {
	doc := api.New(storetest.SQLite(t), api.Config{Version: "test"}).API().OpenAPI()
	body := func(op *huma.Operation) map[string]bool {
		fields := map[string]bool{}
		if op == nil || op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil {
			return fields
		}
		s := op.RequestBody.Content["application/json"].Schema
		if s.Ref != "" {
			s = doc.Components.Schemas.SchemaFromRef(s.Ref)
		}
		for name := range s.Properties {
			if name != "$schema" && name != "version" {
				fields[name] = true
			}
		}
		return fields
	}
	n := 0
	for path, item := range doc.Paths {
		if item.Get == nil {
			continue
		}
		p, ok := item.Get.Extensions[api.ModelExtension].(api.Presentation)
		if !ok || p.ReadOnly {
			continue
		}
		forms := body(item.Post)
		if one := doc.Paths[path+"/{id}"]; one != nil {
			for f := range body(one.Patch) {
				forms[f] = true
			}
		}
		if len(forms) == 0 {
			continue
		}
		n++
		named := map[string]int{}
		for _, set := range p.Fieldsets {
			for _, f := range set.Fields {
				named[f]++
				if !forms[f] {
					t.Errorf("%s: fieldset %q names %s, which no form takes", p.Name, set.Label, f)
				}
			}
		}
		for f := range forms {
			if named[f] != 1 {
				t.Errorf("%s: %s is in %d fieldsets (forms: %s)", p.Name, f, named[f], strings.Join(keys(forms), ", "))
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d models with forms", n)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestFormsFollowFieldsets: a form shows its fields in the declared order,
// under their legends, and a customer's leaves out what only staff set.
func TestFormsFollowFieldsets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		_, _, staff := f.login(t, "admin", "Adm1n-password!").get("/system-users/new")
		order := []string{`name="account"`, `name="username"`, `name="password"`, `<legend>Home directory</legend>`, `name="home"`, `name="directory"`}
		at := 0
		for _, s := range order {
			i := strings.Index(staff[at:], s)
			if i < 0 {
				t.Fatalf("staff's form: %s missing or out of order %v:\n%s", s, order, staff)
			}
			at += i
		}
		if _, _, acc := f.login(t, "admin", "Adm1n-password!").get("/accounts/" + strconv.Itoa(f.cust.ID) + "/edit"); !strings.Contains(acc, `<legend>Staff</legend>`) || !strings.Contains(acc, `name="type"`) {
			t.Errorf("staff's account form:\n%s", acc)
		}
		for path, want := range map[string][]string{
			"/records/new": {`<select id="f-type" name="type"`, `<option value="TXT">`},
			"/routes/new":  {`<select id="f-backend" name="backend"`, `<option value="unix-user">`},
			"/accounts/new": {`<select id="f-type" name="type"`, `<option value="COMPANY">`,
				`<select id="f-language" name="language"`, `<option value="EN"`},
		} {
			_, _, page := f.login(t, "admin", "Adm1n-password!").get(path)
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Errorf("%s: no %s", path, w)
				}
			}
		}
		_, _, cust := f.login(t, "cust", "Cust-password-1").get("/system-users/new")
		if strings.Contains(cust, `name="account"`) || !strings.Contains(cust, `name="username"`) {
			t.Errorf("customer's form:\n%s", cust)
		}
		_, _, acc := f.login(t, "cust", "Cust-password-1").get("/accounts/" + strconv.Itoa(f.cust.ID) + "/edit")
		if strings.Contains(acc, `name="type"`) || strings.Contains(acc, `name="is_superuser"`) || !strings.Contains(acc, `name="email"`) {
			t.Errorf("customer's account form:\n%s", acc)
		}
	})
}
