package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contact"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/ent/token"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// victim is account B and one object of each kind it owns.
type victim struct {
	account, contact, token, history int
}

// pathObjects maps a collection to B's object that {param} stands for. A new
// endpoint with a path parameter fails this test until it is listed here.
var pathObjects = map[string]func(v victim) string{
	"accounts": func(v victim) string { return strconv.Itoa(v.account) },
	"contacts": func(v victim) string { return strconv.Itoa(v.contact) },
	"tokens":   func(v victim) string { return strconv.Itoa(v.token) },
	"history":  func(v victim) string { return strconv.Itoa(v.history) },
	"settings": func(victim) string { return "ACCOUNTS_DEFAULT_TYPE" },
}

// bodies are valid requests aimed at B, so a refusal can only come from
// authorization. A new write endpoint fails this test until it has one.
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
	"create-contact": func(v victim) any {
		return map[string]any{"account": v.account, "short_name": "Evil", "email": "evil@example.com"}
	},
	"update-contact": func(victim) any { return map[string]any{"city": "Changed", "version": 1} },
	"delete-contact": nil,
	"create-token":   func(v victim) any { return map[string]any{"name": "stolen", "account": v.account} },
	"revoke-token":   nil,
	"logout":         nil,
	"set-setting":    func(victim) any { return map[string]any{"value": "COMPANY"} },
	"reset-setting":  nil,
}

type operation struct {
	id, method, path string
	public           bool
}

// operations lists every operation of the API from its OpenAPI document.
func operations(t *testing.T, e *env) []operation {
	var ops []operation
	for path, item := range e.api.API().OpenAPI().Paths {
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

var param = regexp.MustCompile(`\{[^}]+\}`)

func (o operation) url(t *testing.T, v victim) string {
	parts := strings.Split(strings.TrimPrefix(o.path, "/"), "/")
	obj, ok := pathObjects[parts[0]]
	if param.MatchString(o.path) && !ok {
		t.Fatalf("%s %s: no object for its path parameter; add %q to pathObjects", o.method, o.path, parts[0])
	}
	return param.ReplaceAllStringFunc(o.path, func(string) string { return obj(v) })
}

func (o operation) body(t *testing.T, v victim) any {
	if o.method == "GET" {
		return nil
	}
	b, ok := bodies[o.id]
	if !ok {
		t.Fatalf("%s %s (%s): no sample body; add one to bodies", o.method, o.path, o.id)
	}
	if b == nil {
		return nil
	}
	return b(v)
}

// snapshot is everything B owns, to prove other accounts changed none of it.
func snapshot(t *testing.T, st *store.Store, b int) string {
	ctx := viewer.System(context.Background(), viewer.ChannelSystem)
	acc, err := st.Account.Get(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	cs := st.Contact.Query().Where(contact.AccountID(b)).Order(contact.ByID()).AllX(ctx)
	ts := st.Token.Query().Where(token.AccountID(b)).Order(token.ByID()).AllX(ctx)
	ss := st.Setting.Query().AllX(ctx)
	j, _ := json.Marshal([]any{acc, acc.Password, cs, ts, ss})
	return string(j)
}

// TestAuthorizationMatrix calls every endpoint of the API as anonymous, as
// account A on account B's objects, and as a superuser.
func TestAuthorizationMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.login("admin", adminPassword)
		a := e.makeAccount("a-user", "A-password-1", false)
		b := e.makeAccount("b-user", "B-password-1", false)
		v := victim{account: b.ID}
		v.contact = admin.do("POST", "/contacts", map[string]any{"account": b.ID, "short_name": "B", "email": "b@example.com"}).
			want(http.StatusCreated).id()
		v.token = admin.do("POST", "/tokens", map[string]any{"account": b.ID, "name": "b"}).want(http.StatusCreated).id()
		ctx := viewer.System(context.Background(), viewer.ChannelSystem)
		v.history = st.History.Query().Where(history.AccountID(b.ID)).FirstIDX(ctx)
		asA := e.tokenFor(admin, a.ID)
		asAdmin := e.tokenFor(admin, 1)
		ops := operations(t, e)

		t.Run("anonymous", func(t *testing.T) {
			anon := e.anon()
			for _, o := range ops {
				if o.public {
					continue
				}
				r := anon.do(o.method, o.url(t, v), o.body(t, v))
				if r.status != http.StatusUnauthorized {
					t.Errorf("%s %s as anonymous: status %d, want 401: %s", o.method, o.path, r.status, r.body)
				}
			}
		})

		t.Run("account A on B", func(t *testing.T) {
			before := snapshot(t, st, b.ID)
			for _, o := range ops {
				u := o.url(t, v)
				r := asA.do(o.method, u, o.body(t, v))
				onB := param.MatchString(o.path)
				switch {
				case onB && r.status < 400:
					t.Errorf("%s %s as A reached B's object: status %d: %s", o.method, u, r.status, r.body)
				case !onB && o.method == "GET" && r.status == http.StatusOK:
					checkOwnResults(t, o, r, a.ID)
				case !onB && o.method != "GET" && r.status < 300 && strings.Contains(string(r.body), fmt.Sprintf(`"account":%d`, b.ID)):
					t.Errorf("%s %s as A created something for B: %s", o.method, u, r.body)
				}
			}
			if after := snapshot(t, st, b.ID); after != before {
				t.Errorf("account A changed B's data:\nbefore %s\nafter  %s", before, after)
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
					m["version"] = asAdmin.do("GET", u, nil).want(http.StatusOK).json()["version"]
				}
				r := asAdmin.do(o.method, u, body)
				if r.status >= 400 {
					t.Errorf("%s %s as superuser: status %d: %s", o.method, u, r.status, r.body)
				}
			}
		})
	})
}

// checkOwnResults fails when a list shows A anything that is not A's.
func checkOwnResults(t *testing.T, o operation, r *resp, own int) {
	t.Helper()
	results, ok := r.json()["results"].([]any)
	if !ok {
		results = []any{r.json()} // a single object, such as /auth/me
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
