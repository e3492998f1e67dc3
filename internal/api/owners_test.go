package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// collection is a model as the OpenAPI document declares it: its list
// operation's presentation and the operations on its objects.
type collection struct {
	path                   string // /domains
	p                      api.Presentation
	create, update, delete *huma.Operation
}

// collections reads every model of the API from its OpenAPI document.
func collections(t *testing.T, e *env) map[string]*collection {
	t.Helper()
	doc := e.API.API().OpenAPI()
	out := map[string]*collection{}
	for path, item := range doc.Paths {
		if item.Get == nil {
			continue
		}
		p, ok := item.Get.Extensions[api.ModelExtension].(api.Presentation)
		if !ok {
			continue
		}
		c := &collection{path: strings.TrimPrefix(path, api.Prefix), p: p, create: item.Post}
		if one := doc.Paths[path+"/{id}"]; one != nil {
			c.update, c.delete = one.Patch, one.Delete
		}
		out[p.Name] = c
	}
	if len(out) < 5 {
		t.Fatalf("only %d models in the OpenAPI document", len(out))
	}
	return out
}

// exampleBody is a fresh copy of o's example request, nil if it has none.
func exampleBody(o *huma.Operation) map[string]any {
	if o == nil || o.RequestBody == nil || o.RequestBody.Content["application/json"] == nil {
		return nil
	}
	j, err := json.Marshal(o.RequestBody.Content["application/json"].Example)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	json.Unmarshal(j, &m)
	return m
}

// refs returns the model each top-level field of body names by id (its
// Presentation.Name, or a Ref of the collection it is sent to).
func refs(cs map[string]*collection, own *collection, body map[string]any) map[string]string {
	out := map[string]string{}
	for f, v := range body {
		model := own.p.Refs[f]
		if _, ok := cs[f]; ok {
			model = f
		}
		switch v.(type) {
		case float64, []any:
			if model != "" {
				out[f] = model
			}
		}
	}
	return out
}

// resolve points body's references at the objects in ids (model → id).
func resolve(body map[string]any, rs map[string]string, ids map[string]int) {
	for f, model := range rs {
		switch body[f].(type) {
		case float64:
			body[f] = ids[model]
		case []any:
			body[f] = []int{ids[model]}
		}
	}
}

// customerModels are the models whose objects a customer may own: owned
// by an account (ent.Meta) and created through the API.
func customerModels(t *testing.T, cs map[string]*collection) []*collection {
	var out []*collection
	for _, c := range cs {
		if c.create != nil && ent.Meta[c.p.Type].Owner == "account_id" && !staffCreates(c) {
			out = append(out, c)
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d models a customer may own", len(out))
	}
	slices.SortFunc(out, func(a, b *collection) int { return strings.Compare(a.p.Name, b.p.Name) })
	return out
}

// staffCreates: only staff create c's objects, for an account (a contracted
// plan).
func staffCreates(c *collection) bool { return strings.HasSuffix(c.create.Summary, "(staff)") }

// createOrder sorts models so that each comes after those its create
// example names.
func createOrder(t *testing.T, cs map[string]*collection, models []*collection) []*collection {
	var out []*collection
	done := map[string]bool{"account": true}
	for len(out) < len(models) {
		progress := false
		for _, c := range models {
			if done[c.p.Name] {
				continue
			}
			ready := true
			for _, m := range refs(cs, c, exampleBody(c.create)) {
				ready = ready && done[m]
			}
			if ready {
				out, done[c.p.Name], progress = append(out, c), true, true
			}
		}
		if !progress {
			t.Fatalf("the create examples name each other in a cycle")
		}
	}
	return out
}

// sameFields fails unless every field sent reads back as sent, where the
// object shows a field of that name (passwords are never shown).
func sameFields(t *testing.T, what string, sent map[string]any, got map[string]any) {
	t.Helper()
	for f, v := range sent {
		back, shown := got[f]
		if !shown || f == "version" {
			continue
		}
		j, _ := json.Marshal(v)
		var want any
		json.Unmarshal(j, &want)
		if _, isObj := want.(map[string]any); isObj {
			continue
		}
		if list, ok := want.([]any); ok && len(list) > 0 {
			if _, isObj := list[0].(map[string]any); isObj {
				continue // nested objects (a domain's records) are objects of their own
			}
		}
		if !reflect.DeepEqual(back, want) {
			t.Errorf("%s: %s reads back as %v, sent %v", what, f, back, want)
		}
	}
}

// TestCustomerOwnsItsObjects: for every model a customer may own (from the
// OpenAPI document and ent.Meta), the customer creates an object with the
// create operation's example, reads it and finds it in its list, changes it
// with the update example and deletes it; its own account it reads and
// changes. A model without an example fails here until it declares one.
func TestCustomerOwnsItsObjects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		cust := e.MakeAccount("cust", "Cust-password-1", false)
		as := e.TokenFor(admin, cust.ID)
		cs := collections(t, e)
		ids := map[string]int{"account": cust.ID}
		order := createOrder(t, cs, customerModels(t, cs))
		for _, c := range order {
			body := exampleBody(c.create)
			if body == nil {
				t.Fatalf("POST %s (%s) has no example request: declare one with example()", c.path, c.create.OperationID)
			}
			resolve(body, refs(cs, c, body), ids)
			r := as.Do("POST", c.path, body)
			if r.Status != http.StatusCreated {
				t.Fatalf("customer POST %s %v: %d %s", c.path, body, r.Status, r.Body)
			}
			id := r.ID()
			ids[c.p.Name] = id
			one := fmt.Sprintf("%s/%d", c.path, id)
			got := as.Do("GET", one, nil).Want(http.StatusOK).JSON()
			sameFields(t, "customer's new "+c.p.Name, body, got)
			if got["account"] != float64(cust.ID) {
				t.Errorf("customer's new %s belongs to account %v", c.p.Name, got["account"])
			}
			list := as.Do("GET", c.path+"?page_size=500", nil).Want(http.StatusOK).JSON()["results"].([]any)
			if !slices.ContainsFunc(list, func(x any) bool { return x.(map[string]any)["id"] == float64(id) }) {
				t.Errorf("GET %s: the customer's own %s %d is not listed", c.path, c.p.Name, id)
			}
		}
		for _, c := range order {
			if c.update == nil {
				continue
			}
			one := fmt.Sprintf("%s/%d", c.path, ids[c.p.Name])
			body := exampleBody(c.update)
			if body == nil {
				t.Fatalf("PATCH %s/{id} (%s) has no example request: declare one with example()", c.path, c.update.OperationID)
			}
			resolve(body, refs(cs, c, body), ids)
			body["version"] = as.Do("GET", one, nil).Want(http.StatusOK).JSON()["version"]
			r := as.Do("PATCH", one, body)
			if r.Status != http.StatusOK {
				t.Errorf("customer PATCH %s %v: %d %s", one, body, r.Status, r.Body)
				continue
			}
			sameFields(t, "customer's changed "+c.p.Name, body, as.Do("GET", one, nil).Want(http.StatusOK).JSON())
		}
		// their account: read and changed, never created or deleted
		acc := cs["account"]
		one := fmt.Sprintf("/accounts/%d", cust.ID)
		body := exampleBody(acc.update)
		body["version"] = as.Do("GET", one, nil).Want(http.StatusOK).JSON()["version"]
		as.Do("PATCH", one, body).Want(http.StatusOK)
		sameFields(t, "customer's account", body, as.Do("GET", one, nil).Want(http.StatusOK).JSON())
		// deletions in reverse: what names another object goes first
		for i := len(order) - 1; i >= 0; i-- {
			c := order[i]
			if c.delete == nil {
				continue
			}
			one := fmt.Sprintf("%s/%d", c.path, ids[c.p.Name])
			if r := as.Do("DELETE", one, nil); r.Status != http.StatusNoContent {
				t.Errorf("customer DELETE %s: %d %s", one, r.Status, r.Body)
				continue
			}
			as.Do("GET", one, nil).Want(http.StatusNotFound)
		}
	})
}
