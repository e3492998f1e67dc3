package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// formOf turns an example request into a form: ids named by reference go to
// the customer's objects of that model (ids), lists one item per line.
func formOf(ex any, refs map[string]string, models map[string]bool, ids map[string]int) url.Values {
	j, _ := json.Marshal(ex)
	var body map[string]any
	json.Unmarshal(j, &body)
	form := url.Values{}
	for f, v := range body {
		model := refs[f]
		if models[f] {
			model = f
		}
		switch x := v.(type) {
		case string:
			form.Set(f, x)
		case bool:
			form.Set(f, strconv.FormatBool(x))
		case float64:
			if model != "" {
				x = float64(ids[model])
			}
			form.Set(f, strconv.Itoa(int(x)))
		case []any:
			if model != "" {
				form.Set(f, strconv.Itoa(ids[model]))
			}
		}
	}
	return form
}

// TestCustomerOwnsItsObjectsInPages: for every model a customer may own (the
// OpenAPI document's models owned by an account, per ent.Meta, with a create
// operation), the customer adds an object through its form with the create
// example, sees it, edits it with the update example and deletes it.
func TestCustomerOwnsItsObjectsInPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		c := f.login(t, "cust", "Cust-password-1")
		doc := f.api.API().OpenAPI()
		type model struct {
			slug                  string
			p                     api.Presentation
			create, update, patch *huma.Operation
		}
		var ms []model
		names := map[string]bool{}
		for path, item := range doc.Paths {
			if item.Get == nil {
				continue
			}
			p, ok := item.Get.Extensions[api.ModelExtension].(api.Presentation)
			if !ok || item.Post == nil || ent.Meta[p.Type].Owner != "account_id" || strings.HasSuffix(item.Post.Summary, "(staff)") {
				continue
			}
			m := model{slug: strings.TrimPrefix(path, api.Prefix), p: p, create: item.Post}
			if one := doc.Paths[path+"/{id}"]; one != nil {
				m.update = one.Patch
			}
			ms = append(ms, m)
			names[p.Name] = true
		}
		if len(ms) < 5 {
			t.Fatalf("only %d models a customer may own", len(ms))
		}
		// each after those its example names (a mail address after its mailbox)
		deps := map[string][]string{}
		for _, m := range ms {
			if ex := m.create.RequestBody.Content["application/json"].Example; ex != nil {
				j, _ := json.Marshal(ex)
				var body map[string]any
				json.Unmarshal(j, &body)
				for f := range body {
					for _, o := range ms {
						if o.p.Name != m.p.Name && (f == o.p.Name || m.p.Refs[f] == o.p.Name) {
							deps[m.p.Name] = append(deps[m.p.Name], o.p.Name)
						}
					}
				}
			}
		}
		placed := map[string]bool{}
		var ordered []model
		for len(ordered) < len(ms) {
			before := len(ordered)
			for _, m := range ms {
				if !placed[m.p.Name] && !slices.ContainsFunc(deps[m.p.Name], func(d string) bool { return !placed[d] }) {
					placed[m.p.Name] = true
					ordered = append(ordered, m)
				}
			}
			if len(ordered) == before {
				t.Fatalf("the examples name each other in a circle: %v", deps)
			}
		}
		ms = ordered
		ids := map[string]int{"domain": f.ownDomain.ID}
		for _, m := range ms {
			mt := m.create.RequestBody.Content["application/json"]
			if mt == nil || mt.Example == nil {
				t.Fatalf("POST %s has no example request", m.slug)
			}
			form := formOf(mt.Example, m.p.Refs, names, ids)
			if m.p.Name == "domain" {
				form.Set("name", "new-"+form.Get("name")) // the fixture owns one already
			}
			code, loc, body := c.post(m.slug+"/new", form)
			id := 0
			switch {
			case code == http.StatusSeeOther && strings.HasPrefix(loc, m.slug+"/"):
				path, done, _ := strings.Cut(loc, "?")
				id, _ = strconv.Atoi(strings.TrimPrefix(path, m.slug+"/"))
				if done != "done=saved" {
					t.Errorf("adding a %s says nothing: %s", m.p.Name, loc)
				}
			case code == http.StatusCreated: // a secret shown once: the newest is ours
				var page struct{ Results []struct{ ID int } }
				_, _, list := c.get("/api/v1" + m.slug + "?ordering=-id")
				json.Unmarshal([]byte(list), &page)
				if len(page.Results) > 0 {
					id = page.Results[0].ID
				}
			}
			if id == 0 {
				t.Errorf("customer adds a %s through its form %v: %d %s %s", m.p.Name, form, code, loc, body)
				continue
			}
			ids[m.p.Name] = id
			one := fmt.Sprintf("%s/%d", m.slug, id)
			if code, _, _ := c.get(one); code != http.StatusOK {
				t.Errorf("GET %s: %d", one, code)
			}
			if m.update != nil {
				mt := m.update.RequestBody.Content["application/json"]
				if mt == nil || mt.Example == nil {
					t.Fatalf("PATCH %s/{id} has no example request", m.slug)
				}
				form := formOf(mt.Example, m.p.Refs, names, ids)
				var cur struct{ Version int }
				_, _, obj := c.get("/api/v1" + one)
				json.Unmarshal([]byte(obj), &cur)
				form.Set("version", strconv.Itoa(cur.Version))
				if code, loc, body := c.post(one+"/edit", form); code != http.StatusSeeOther || loc != one+"?done=saved" {
					t.Errorf("customer edits %s %v: %d %s %s", one, form, code, loc, body)
				}
			}
		}
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			id, ok := ids[m.p.Name]
			if !ok || m.p.Name == "domain" && id == f.ownDomain.ID {
				continue
			}
			c.post(m.slug+"/bulk", url.Values{"action": {"delete"}, "ids": {strconv.Itoa(id)}, "confirm": {"yes"}})
			if code, _, _ := c.get(fmt.Sprintf("/api/v1%s/%d", m.slug, id)); code != http.StatusNotFound {
				t.Errorf("customer deletes %s %d through the bulk action: still there (%d)", m.p.Name, id, code)
			}
		}
	})
}
