package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/billing"
	"github.com/orchestra-panel/orchestra/internal/services/bills"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/ent/order"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/store/ent/token"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/shopspring/decimal"
)

// victim is account B, the core objects it has, and one object of each
// model a customer may own, made from the models' create examples: a model
// declared later is in the matrix without an edit here.
type victim struct {
	account, token, history       int
	server, route, log, operation int
	objects                       map[string]int    // collection (domains) → B's object
	titles                        map[string]string // model name → its object's title
	ids                           map[string]int    // model name → B's object
	cs                            map[string]*collection
	doc                           *huma.OpenAPI
	made                          []string // B's declared objects' collections, in the order made
}

// coreObjects maps the collections that are not declared models to B's
// object that {param} stands for.
var coreObjects = map[string]func(v victim) string{
	"accounts":   func(v victim) string { return strconv.Itoa(v.account) },
	"tokens":     func(v victim) string { return strconv.Itoa(v.token) },
	"history":    func(v victim) string { return strconv.Itoa(v.history) },
	"settings":   func(victim) string { return "ACCOUNTS_DEFAULT_TYPE" },
	"servers":    func(v victim) string { return strconv.Itoa(v.server) },
	"routes":     func(v victim) string { return strconv.Itoa(v.route) },
	"logs":       func(v victim) string { return strconv.Itoa(v.log) },
	"operations": func(v victim) string { return strconv.Itoa(v.operation) },
}

// superuserStatus is what a superuser gets from operations that need more
// than this test sets up: the victim server does not answer (502), no
// server is routed to sign zones (409), and the victim's address has its
// one autoresponse already (409), B has the plan contracted already (422)
// and its invoice contact (409), the rate of its service, plan and quantity
// exists (409), and B's bill is open (amending, sending: 409) with no
// seller's contact (closing: 409).
var superuserStatus = map[string]int{"get-server-host-key": http.StatusBadGateway,
	"confirm-server-host-key": http.StatusBadGateway, "get-domain-ds": http.StatusConflict,
	"create-autoresponse": http.StatusConflict, "create-contracted-plan": http.StatusUnprocessableEntity,
	"create-rate": http.StatusConflict, "create-bill-contact": http.StatusConflict, "amend-bill": http.StatusConflict,
	"close-bill": http.StatusConflict, "send-bill": http.StatusConflict}

// bodies are valid requests aimed at B, so a refusal can only come from
// authorization, for the operations that are not a declared model's create
// or update and have no example request, or whose example cannot aim at B.
// A new write operation fails this test until it has an example or a body.
var bodies = map[string]func(v victim) any{
	"login": func(victim) any { return map[string]any{"username": "nobody", "password": "x"} },
	"change-password": func(victim) any {
		return map[string]any{"current_password": adminPassword, "password": "N3w-admin-pass"}
	},
	"create-account": func(victim) any {
		return map[string]any{"username": "mallory", "full_name": "M", "email": "m@example.com"}
	},
	"update-account":       func(victim) any { return map[string]any{"full_name": "Changed", "version": 1} },
	"delete-account":       nil,
	"set-account-password": func(victim) any { return map[string]any{"password": "Pwn3d-Secret-9"} },
	"create-token":         func(v victim) any { return map[string]any{"name": "stolen", "account": v.account} },
	"revoke-token":         nil,
	"logout":               nil,
	"set-setting":          func(victim) any { return map[string]any{"value": "COMPANY"} },
	"reset-setting":        nil,
	"create-server":        func(victim) any { return map[string]any{"name": "mallory.example.com"} },
	"update-server":        func(victim) any { return map[string]any{"description": "Changed", "version": 1} },
	"delete-server":        nil,
	"ping-server":          nil,
	"confirm-server-host-key": func(victim) any {
		return map[string]any{"fingerprint": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	},
	"resync-server": func(victim) any { return map[string]any{"dry_run": true} },
	"orchestrate": func(v victim) any {
		return map[string]any{"model": "Domain", "ids": []int{v.ids["domain"]}, "dry_run": true}
	},
	"check-route-match": func(victim) any { return map[string]any{"backend": "api-test", "match": "true"} },
	"create-route": func(v victim) any {
		return map[string]any{"backend": "api-test", "server": v.server, "is_active": false}
	},
	"update-route": func(victim) any { return map[string]any{"match": `account.username == "x"`, "version": 1} },
	"delete-route": nil,
	"retry-log":    nil,
	"import-domain": func(v victim) any {
		return map[string]any{"name": "imported.example", "account": v.account, "zone": "www 3600 IN A 192.0.2.7\n"}
	},
	// paths inside B's own system user's home
	"set-system-user-permission": func(v victim) any {
		return map[string]any{"path": "/home/" + v.titles["system-user"] + "/x", "access": "rw", "mode": "grant"}
	},
	"create-system-user-link": func(v victim) any {
		return map[string]any{"target": "/home/" + v.titles["system-user"] + "/x", "name": "link"}
	},
	"check-system-user-paths": func(v victim) any {
		return map[string]any{"paths": []string{"/home/" + v.titles["system-user"]}}
	},
}

type operation struct {
	id, method, path string
	public           bool
}

// operations lists every operation of the API from its OpenAPI document.
func operations(t *testing.T, e *env) []operation {
	var ops []operation
	for path, item := range e.API.API().OpenAPI().Paths {
		add := func(method string, o *huma.Operation) {
			if o == nil {
				return
			}
			ops = append(ops, operation{id: o.OperationID, method: method, path: strings.TrimPrefix(path, api.Prefix),
				public: o.Security != nil && len(o.Security) == 0})
		}
		add("GET", item.Get)
		add("POST", item.Post)
		add("PUT", item.Put)
		add("PATCH", item.Patch)
		add("DELETE", item.Delete)
	}
	// Reads first, deletions last, so each call finds the objects in place.
	rank := map[string]int{"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}
	sort.Slice(ops, func(i, j int) bool {
		if rank[ops[i].method] != rank[ops[j].method] {
			return rank[ops[i].method] < rank[ops[j].method]
		}
		if ops[i].method == "DELETE" { // the account, owner of the rest, goes last
			return ops[i].path+ops[i].id > ops[j].path+ops[j].id
		}
		return ops[i].path+ops[i].id < ops[j].path+ops[j].id
	})
	if len(ops) < 15 {
		t.Fatalf("only %d operations found in the registry", len(ops))
	}
	return ops
}

// deleteInOrder puts the deletions of declared models' objects first, the
// last made first: what names another object (a key its system user) goes
// before it, or the cascade would take it away first.
func deleteInOrder(ops []operation, made []string) {
	rank := func(o operation) int {
		coll := strings.Split(strings.TrimPrefix(o.path, "/"), "/")[0]
		if i := slices.Index(made, coll); i >= 0 {
			return len(made) - i
		}
		return len(made) + 1 // core collections after, in their order (the account last)
	}
	first := slices.IndexFunc(ops, func(o operation) bool { return o.method == "DELETE" }) // deletions are last
	if first < 0 {
		return
	}
	dels := ops[first:]
	sort.SliceStable(dels, func(i, j int) bool { return rank(dels[i]) < rank(dels[j]) })
}

var param = regexp.MustCompile(`\{[^}]+\}`)

func (o operation) url(t *testing.T, v victim) string {
	parts := strings.Split(strings.TrimPrefix(o.path, "/"), "/")
	obj, ok := coreObjects[parts[0]]
	if id, declared := v.objects[parts[0]]; declared {
		obj, ok = func(victim) string { return strconv.Itoa(id) }, true
	}
	if param.MatchString(o.path) && !ok {
		t.Fatalf("%s %s: no object for its path parameter: declare the model (with a create example) or add %q to coreObjects",
			o.method, o.path, parts[0])
	}
	return param.ReplaceAllStringFunc(o.path, func(string) string { return obj(v) })
}

// body is o's request aimed at B: from bodies, else a declared model's
// create or update example with its references pointed at B's objects (and
// the account at B where the body names one), else o's example request.
func (o operation) body(t *testing.T, v victim) any {
	if o.method == "GET" {
		return nil
	}
	if b, ok := bodies[o.id]; ok {
		if b == nil {
			return nil
		}
		return b(v)
	}
	for _, c := range v.cs {
		switch {
		case c.delete != nil && c.delete.OperationID == o.id:
			return nil
		case c.create != nil && c.create.OperationID == o.id, c.update != nil && c.update.OperationID == o.id:
			op := c.create
			if c.update != nil && c.update.OperationID == o.id {
				op = c.update
			}
			body := exampleBody(op)
			if body == nil {
				t.Fatalf("%s %s (%s): no example request: declare one", o.method, o.path, o.id)
			}
			resolve(body, refs(v.cs, c, body), v.ids)
			if op == c.create && hasField(v.doc, op, "account") {
				body["account"] = v.account
			}
			return body
		}
	}
	if one := v.op(o); one != nil {
		if body := exampleBody(one); body != nil {
			return body
		}
		if one.RequestBody == nil {
			return nil
		}
	}
	t.Fatalf("%s %s (%s): no sample body; declare an example request or add one to bodies", o.method, o.path, o.id)
	return nil
}

// op is the document's operation o.
func (v victim) op(o operation) *huma.Operation {
	for path, item := range v.doc.Paths {
		if strings.TrimPrefix(path, api.Prefix) != o.path {
			continue
		}
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op != nil && op.OperationID == o.id {
				return op
			}
		}
	}
	return nil
}

// hasField tells whether o's request body has a top-level field name.
func hasField(doc *huma.OpenAPI, o *huma.Operation, name string) bool {
	if o.RequestBody == nil || o.RequestBody.Content["application/json"] == nil {
		return false
	}
	sch := o.RequestBody.Content["application/json"].Schema
	if sch == nil {
		return false
	}
	if sch.Ref != "" {
		sch = doc.Components.Schemas.SchemaFromRef(sch.Ref)
	}
	_, ok := sch.Properties[name]
	return ok
}

// snapshot is everything B owns, to prove other accounts changed none of it:
// its account, tokens and the settings from the store, and every object of
// B's in each model's list, as a superuser reads it (a version moves with
// any change, a password's included).
func snapshot(t *testing.T, st *store.Store, admin *client, v victim) string {
	ctx := viewer.System(context.Background(), viewer.ChannelSystem)
	acc, err := st.Account.Get(ctx, v.account)
	if err != nil {
		t.Fatal(err)
	}
	ts := st.Token.Query().Where(token.AccountID(v.account)).Order(token.ByID()).AllX(ctx)
	ss := st.Setting.Query().AllX(ctx)
	shot := []any{acc, acc.Password, ts, ss}
	names := slices.Sorted(maps.Keys(v.cs))
	for _, name := range names {
		c := v.cs[name]
		if name == "account" {
			continue
		}
		var theirs []any
		for _, x := range admin.Do("GET", c.path+"?page_size=500", nil).Want(http.StatusOK).JSON()["results"].([]any) {
			obj := x.(map[string]any)
			staffs := ent.Meta[c.p.Type].Owner == "" // B's is the victim object
			if !staffs && obj["account"] == float64(v.account) || staffs && obj["id"] == float64(v.ids[name]) {
				theirs = append(theirs, x)
			}
		}
		if _, declared := v.ids[name]; declared && len(theirs) == 0 {
			t.Fatalf("the snapshot finds none of B's %s objects", name)
		}
		shot = append(shot, name, theirs)
	}
	j, _ := json.Marshal(shot)
	return string(j)
}

// newVictim makes accounts A and B, B's core objects, and one object of
// each model a customer may own, created by B from the create examples
// with their titles prefixed by "b" (the examples themselves stay free for
// the superuser's creates).
func newVictim(t *testing.T, e *env, admin *client) (a, b *ent.Account, v victim) {
	st := e.Store
	a = e.MakeAccount("a-user", "A-password-1", false)
	b = e.MakeAccount("b-user", "B-password-1", false)
	v = victim{account: b.ID, objects: map[string]int{}, titles: map[string]string{}, ids: map[string]int{"account": b.ID},
		cs: collections(t, e), doc: e.API.API().OpenAPI()}
	v.token = admin.Do("POST", "/tokens", map[string]any{"account": b.ID, "name": "b"}).Want(http.StatusCreated).ID()
	ctx := viewer.System(context.Background(), viewer.ChannelSystem)
	v.history = st.History.Query().Where(history.AccountID(b.ID)).FirstIDX(ctx)
	// a server that does not answer, and a route, a log and an
	// operation of B's on another one
	v.server = admin.Do("POST", "/servers", map[string]any{"name": "victim", "address": "127.0.0.1", "ssh_port": 1}).
		Want(http.StatusCreated).ID()
	other := admin.Do("POST", "/servers", map[string]any{"name": "other", "address": "127.0.0.1", "ssh_port": 1}).
		Want(http.StatusCreated).ID()
	v.route = admin.Do("POST", "/routes", map[string]any{"backend": "api-test", "server": other, "is_active": false}).
		Want(http.StatusCreated).ID()
	v.log, v.operation = victimLog(t, st, other, b.ID)
	asB := e.TokenFor(admin, b.ID)
	for _, c := range createOrder(t, v.cs, customerModels(t, v.cs)) {
		body := exampleBody(c.create)
		if body == nil {
			t.Fatalf("POST %s (%s) has no example request: declare one", c.path, c.create.OperationID)
		}
		resolve(body, refs(v.cs, c, body), v.ids)
		key := c.p.Title
		if _, ok := body[key].(string); !ok {
			key = "name" // a title made from fields (an address from its name and domain)
		}
		if title, ok := body[key].(string); ok {
			body[key] = "b" + title
		}
		r := asB.Do("POST", c.path, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("B's %s from the create example, its title prefixed with b: %d %s", c.p.Name, r.Status, r.Body)
		}
		id := r.ID()
		v.ids[c.p.Name], v.objects[strings.TrimPrefix(c.path, "/")] = id, id
		v.made = append(v.made, strings.TrimPrefix(c.path, "/"))
		v.titles[c.p.Name], _ = r.JSON()[c.p.Title].(string)
	}
	// staff's declared models (resources, billing's) and the customers'
	// objects only staff create (a contracted plan, B's): one a superuser
	// makes from the create example, its name and title prefixed by "b"
	var staffs []*collection
	for _, name := range slices.Sorted(maps.Keys(v.cs)) {
		c := v.cs[name]
		if c.create == nil || coreObjects[strings.TrimPrefix(c.path, "/")] != nil {
			continue
		}
		if owner := ent.Meta[c.p.Type].Owner; c.p.Staff && owner == "" || owner == "account_id" && staffCreates(c) {
			staffs = append(staffs, c)
		}
	}
	for _, c := range createOrder(t, v.cs, staffs) {
		body := exampleBody(c.create)
		resolve(body, refs(v.cs, c, body), v.ids)
		for _, k := range []string{c.p.Title, "name"} {
			if s, ok := body[k].(string); ok {
				body[k] = "b" + s
			}
		}
		owned := ent.Meta[c.p.Type].Owner == "account_id"
		if owned {
			body["account"] = b.ID
		}
		id := admin.Do("POST", c.path, body).Want(http.StatusCreated).ID()
		v.ids[c.p.Name], v.objects[strings.TrimPrefix(c.path, "/")] = id, id
		v.made = append(v.made, strings.TrimPrefix(c.path, "/")) // a rate deleted before its service
	}
	// orders are opened by the billing service's consumer of the change
	// stream, as every panel runs it: for B's objects of the staff's service
	for {
		n, err := orchestration.Consume(ctx, st, billing.ConsumerName)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	// and a billing run bills them: B's open invoice
	if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		ids, err := tx.Order.Query().Where(order.AccountID(b.ID)).IDs(ctx)
		if err != nil {
			return err
		}
		_, err = bills.Run(ctx, tx, ids, bills.Options{}, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// usage is made by measuring: B's system user's of the staff's resource
	if rid, ok := v.ids["resource"]; ok {
		if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.ResourceData.Create().SetResourceID(rid).SetObjectID(v.ids["system-user"]).SetAccountID(b.ID).
				SetUsed(decimal.NewFromInt(3)).SetAllocated(10).Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
	}
	// models whose objects the panel makes (no create operation: a mail
	// domain's DKIM key): B's first one, which the writes above made; they
	// count as made last, so that they are deleted before what made them
	for _, name := range slices.Sorted(maps.Keys(v.cs)) {
		c := v.cs[name]
		if c.create != nil || ent.Meta[c.p.Type].Owner != "account_id" {
			continue
		}
		for _, x := range admin.Do("GET", c.path+"?page_size=500", nil).Want(http.StatusOK).JSON()["results"].([]any) {
			if obj := x.(map[string]any); obj["account"] == float64(b.ID) {
				id := int(obj["id"].(float64))
				v.ids[c.p.Name], v.objects[strings.TrimPrefix(c.path, "/")] = id, id
				v.made = append(v.made, strings.TrimPrefix(c.path, "/"))
				v.titles[c.p.Name], _ = obj[c.p.Title].(string)
				break
			}
		}
		if _, ok := v.ids[c.p.Name]; !ok {
			t.Fatalf("B has no %s: the panel makes them from other objects, and none of B's made one", c.p.Name)
		}
	}
	return a, b, v
}

// TestAuthorizationMatrix calls every endpoint of the API as anonymous, as
// account A on account B's objects, and as a superuser.
func TestAuthorizationMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		a, b, v := newVictim(t, e, admin)
		asA := e.TokenFor(admin, a.ID)
		asAdmin := e.TokenFor(admin, 1)
		ops := operations(t, e)
		deleteInOrder(ops, v.made)

		t.Run("anonymous", func(t *testing.T) {
			anon := e.Anon()
			for _, o := range ops {
				if o.public {
					continue
				}
				r := anon.Do(o.method, o.url(t, v), o.body(t, v))
				if r.Status != http.StatusUnauthorized {
					t.Errorf("%s %s as anonymous: status %d, want 401: %s", o.method, o.path, r.Status, r.Body)
				}
			}
		})

		t.Run("account A on B", func(t *testing.T) {
			before := snapshot(t, st, admin, v)
			for _, o := range ops {
				u := o.url(t, v)
				r := asA.Do(o.method, u, o.body(t, v))
				onB := param.MatchString(o.path)
				switch {
				case onB && r.Status < 400:
					t.Errorf("%s %s as A reached B's object: status %d: %s", o.method, u, r.Status, r.Body)
				case !onB && o.method == "GET" && r.Status == http.StatusOK:
					checkOwnResults(t, o, r, a.ID)
				case !onB && o.method != "GET" && r.Status < 300 && strings.Contains(string(r.Body), fmt.Sprintf(`"account":%d`, b.ID)):
					t.Errorf("%s %s as A created something for B: %s", o.method, u, r.Body)
				}
			}
			if after := snapshot(t, st, admin, v); after != before {
				t.Errorf("account A changed B's data:\nbefore %s\nafter  %s", before, after)
			}
		})

		// Another account's object must be indistinguishable from a missing
		// one in every answer, or ids could be probed.
		t.Run("B's objects look missing to A", func(t *testing.T) {
			ctx := viewer.System(context.Background(), viewer.ChannelSystem)
			main := st.SystemUser.Query().Where(systemuser.AccountID(b.ID), systemuser.IsMain(true)).OnlyIDX(ctx)
			const missing = 987654
			for _, o := range ops {
				if !strings.Contains(o.path, "{id}") {
					continue
				}
				objects := []string{o.url(t, v)}
				if strings.HasPrefix(o.path, "/system-users/") {
					objects = append(objects, strings.Replace(o.path, "{id}", strconv.Itoa(main), 1))
				}
				gone := strings.Replace(o.path, "{id}", strconv.Itoa(missing), 1)
				for _, u := range objects {
					theirs, none := asA.Do(o.method, u, o.body(t, v)), asA.Do(o.method, gone, o.body(t, v))
					if d := answerDiff(theirs, none, u, gone); d != "" {
						t.Errorf("%s %s as A: B's object answers unlike a missing one: %s", o.method, u, d)
					}
				}
			}
			// and so do B's objects named in a create's body, one reference
			// at a time (the others stay B's: both answers name them)
			for _, o := range ops {
				for _, c := range v.cs {
					if c.create == nil || c.create.OperationID != o.id {
						continue
					}
					body := o.body(t, v).(map[string]any)
					delete(body, "account")
					for f, model := range refs(v.cs, c, exampleBody(c.create)) { // before resolve: the example's numbers
						none := maps.Clone(body)
						if _, many := body[f].([]int); many {
							none[f] = []int{missing}
						} else {
							none[f] = missing
						}
						theirs, gone := asA.Do(o.method, o.path, body), asA.Do(o.method, o.path, none)
						// B's id in both (another reference of B's may have the same)
						if d := answerDiff(withWord(theirs, v.ids[model]), withWord(withWord(gone, missing), v.ids[model]), "ID", "ID"); d != "" {
							t.Errorf("%s %s as A with %s of B's: unlike a missing one: %s", o.method, o.path, f, d)
						}
					}
				}
			}
		})

		t.Run("superuser", func(t *testing.T) {
			for _, o := range ops {
				if o.public {
					continue
				}
				u := o.url(t, v)
				body := o.body(t, v)
				if m, ok := body.(map[string]any); ok && m["version"] != nil {
					// Earlier calls changed the object: send its current version.
					m["version"] = asAdmin.Do("GET", u, nil).Want(http.StatusOK).JSON()["version"]
				}
				r := asAdmin.Do(o.method, u, body)
				if r.Status >= 400 && r.Status != superuserStatus[o.id] {
					t.Errorf("%s %s as superuser: status %d: %s", o.method, u, r.Status, r.Body)
				}
			}
		})
	})
}

// checkOwnResults fails when a list shows A anything that is not A's.
func checkOwnResults(t *testing.T, o operation, r *resp, own int) {
	t.Helper()
	results, ok := r.JSON()["results"].([]any)
	if !ok {
		results = []any{r.JSON()} // a single object, such as /auth/me
	}
	for _, x := range results {
		obj := x.(map[string]any)
		owner, ok := obj["account"]
		if _, isAccount := obj["username"]; !ok && isAccount {
			owner, ok = obj["id"]
		}
		if !ok {
			t.Errorf("%s %s: results carry no account to check; teach checkOwnResults", o.method, o.path)
			return
		}
		if owner != float64(own) {
			t.Errorf("%s %s as A lists an object of account %v: %v", o.method, o.path, owner, obj)
		}
	}
}

// withWord is r with the number id written ID where it stands as a word in
// the body (not in 127.0.0.1 nor /v1/).
func withWord(r *resp, id int) *resp {
	c := *r
	c.Body = regexp.MustCompile(`(^|[\s\[,:])`+strconv.Itoa(id)+`(\D|$)`).ReplaceAll(r.Body, []byte("${1}ID${2}"))
	return &c
}

// answerDiff compares two answers to the same request on two paths: their
// status, their bodies with each path replaced by a placeholder, and their
// headers but the ones every answer varies in.
func answerDiff(x, y *resp, xid, yid string) string {
	if x.Status != y.Status {
		return fmt.Sprintf("status %d, not %d: %s | %s", x.Status, y.Status, x.Body, y.Body)
	}
	xb := strings.ReplaceAll(string(x.Body), xid, "ID")
	yb := strings.ReplaceAll(string(y.Body), yid, "ID")
	if xb != yb {
		return fmt.Sprintf("body %s, not %s", xb, yb)
	}
	for _, h := range []http.Header{x.Header, y.Header} {
		h.Del("Date")
		h.Del("Content-Length")
	}
	xh, _ := json.Marshal(x.Header)
	yh, _ := json.Marshal(y.Header)
	if xs, ys := strings.ReplaceAll(string(xh), xid, "ID"), strings.ReplaceAll(string(yh), yid, "ID"); xs != ys {
		return fmt.Sprintf("headers %s, not %s", xs, ys)
	}
	return ""
}
