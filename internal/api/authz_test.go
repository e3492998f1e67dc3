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
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contact"
	"github.com/orchestra-panel/orchestra/internal/store/ent/database"
	"github.com/orchestra-panel/orchestra/internal/store/ent/databaseuser"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/ent/record"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/store/ent/token"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// victim is account B and one object of each kind it owns.
type victim struct {
	account, contact, token, history int
	server, route, log, operation    int
	domain, record                   int
	systemUser                       int
	database, databaseUser           int
}

// pathObjects maps a collection to B's object that {param} stands for. A new
// endpoint with a path parameter fails this test until it is listed here.
var pathObjects = map[string]func(v victim) string{
	"accounts":       func(v victim) string { return strconv.Itoa(v.account) },
	"contacts":       func(v victim) string { return strconv.Itoa(v.contact) },
	"tokens":         func(v victim) string { return strconv.Itoa(v.token) },
	"history":        func(v victim) string { return strconv.Itoa(v.history) },
	"settings":       func(victim) string { return "ACCOUNTS_DEFAULT_TYPE" },
	"servers":        func(v victim) string { return strconv.Itoa(v.server) },
	"routes":         func(v victim) string { return strconv.Itoa(v.route) },
	"logs":           func(v victim) string { return strconv.Itoa(v.log) },
	"operations":     func(v victim) string { return strconv.Itoa(v.operation) },
	"domains":        func(v victim) string { return strconv.Itoa(v.domain) },
	"records":        func(v victim) string { return strconv.Itoa(v.record) },
	"system-users":   func(v victim) string { return strconv.Itoa(v.systemUser) },
	"databases":      func(v victim) string { return strconv.Itoa(v.database) },
	"database-users": func(v victim) string { return strconv.Itoa(v.databaseUser) },
}

// superuserStatus is what a superuser gets from operations that need more
// than this test sets up: the victim server does not answer (502), and no
// server is routed to sign zones (409).
var superuserStatus = map[string]int{"get-server-host-key": http.StatusBadGateway,
	"confirm-server-host-key": http.StatusBadGateway, "get-domain-ds": http.StatusConflict}

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
	"create-server":  func(victim) any { return map[string]any{"name": "mallory.example.com"} },
	"update-server":  func(victim) any { return map[string]any{"description": "Changed", "version": 1} },
	"delete-server":  nil,
	"ping-server":    nil,
	"confirm-server-host-key": func(victim) any {
		return map[string]any{"fingerprint": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	},
	"resync-server": func(victim) any { return map[string]any{"dry_run": true} },
	"orchestrate": func(v victim) any {
		return map[string]any{"model": "Domain", "ids": []int{v.domain}, "dry_run": true}
	},
	"check-route-match": func(victim) any { return map[string]any{"backend": "api-test", "match": "true"} },
	"create-route": func(v victim) any {
		return map[string]any{"backend": "api-test", "server": v.server, "is_active": false}
	},
	"update-route": func(victim) any { return map[string]any{"match": `account.username == "x"`, "version": 1} },
	"delete-route": nil,
	"retry-log":    nil,
	"create-domain": func(v victim) any {
		return map[string]any{"name": "mallory.example", "account": v.account}
	},
	"import-domain": func(v victim) any {
		return map[string]any{"name": "imported.example", "account": v.account, "zone": "www 3600 IN A 192.0.2.7\n"}
	},
	"update-domain": func(victim) any { return map[string]any{"refresh": "2d", "version": 1} },
	"delete-domain": nil,
	"create-record": func(v victim) any {
		return map[string]any{"domain": v.domain, "type": "TXT", "value": "injected"}
	},
	"update-record": func(victim) any { return map[string]any{"value": "192.0.2.99", "version": 1} },
	"delete-record": nil,
	"create-system-user": func(v victim) any {
		return map[string]any{"username": "mallory-sys", "account": v.account}
	},
	"update-system-user":       func(victim) any { return map[string]any{"shell": "/bin/bash", "version": 1} },
	"set-system-user-password": func(victim) any { return map[string]any{"password": "Pwn3d-Secret-9"} },
	"delete-system-user":       nil,
	"set-system-user-permission": func(victim) any {
		return map[string]any{"path": "/home/b-web/x", "access": "rw", "mode": "grant"}
	},
	"create-system-user-link": func(victim) any { return map[string]any{"target": "/home/b-web/x", "name": "link"} },
	"check-system-user-paths": func(victim) any { return map[string]any{"paths": []string{"/home/b-web"}} },
	"create-database": func(v victim) any {
		return map[string]any{"name": "mallory_db", "account": v.account, "users": []int{v.databaseUser}}
	},
	"update-database": func(v victim) any { return map[string]any{"users": []int{}, "version": 1} },
	"delete-database": nil,
	"create-database-user": func(v victim) any {
		return map[string]any{"username": "mallory_db", "password": "Pwn3d-Secret-9", "account": v.account}
	},
	"set-database-user-password": func(victim) any { return map[string]any{"password": "Pwn3d-Secret-9"} },
	"delete-database-user":       nil,
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
	ds := st.Domain.Query().Where(domain.AccountID(b)).Order(domain.ByID()).AllX(ctx)
	rs := st.Record.Query().Where(record.AccountID(b)).Order(record.ByID()).AllX(ctx)
	us := st.SystemUser.Query().Where(systemuser.AccountID(b)).Order(systemuser.ByID()).AllX(ctx)
	pws := make([]string, len(us))
	for i, u := range us {
		pws[i] = u.Password
	}
	dbs := st.Database.Query().Where(database.AccountID(b)).WithUsers().Order(database.ByID()).AllX(ctx)
	dus := st.DatabaseUser.Query().Where(databaseuser.AccountID(b)).Order(databaseuser.ByID()).AllX(ctx)
	for _, u := range dus {
		pws = append(pws, u.Password)
	}
	j, _ := json.Marshal([]any{acc, acc.Password, cs, ts, ss, ds, rs, us, pws, dbs, dus})
	return string(j)
}

// newVictim makes accounts A and B and one object of each kind B owns.
func newVictim(t *testing.T, e *env, admin *client) (a, b *ent.Account, v victim) {
	st := e.st
	a = e.makeAccount("a-user", "A-password-1", false)
	b = e.makeAccount("b-user", "B-password-1", false)
	v = victim{account: b.ID}
	v.contact = admin.do("POST", "/contacts", map[string]any{"account": b.ID, "short_name": "B", "email": "b@example.com"}).
		want(http.StatusCreated).id()
	v.token = admin.do("POST", "/tokens", map[string]any{"account": b.ID, "name": "b"}).want(http.StatusCreated).id()
	ctx := viewer.System(context.Background(), viewer.ChannelSystem)
	v.history = st.History.Query().Where(history.AccountID(b.ID)).FirstIDX(ctx)
	// a server that does not answer, and a route, a log and an
	// operation of B's on another one
	v.server = admin.do("POST", "/servers", map[string]any{"name": "victim", "address": "127.0.0.1", "ssh_port": 1}).
		want(http.StatusCreated).id()
	other := admin.do("POST", "/servers", map[string]any{"name": "other", "address": "127.0.0.1", "ssh_port": 1}).
		want(http.StatusCreated).id()
	v.route = admin.do("POST", "/routes", map[string]any{"backend": "api-test", "server": other, "is_active": false}).
		want(http.StatusCreated).id()
	v.log, v.operation = victimLog(t, st, other, b.ID)
	d := admin.do("POST", "/domains", map[string]any{"name": "victim.example", "account": b.ID, "dnssec": true,
		"records": []map[string]any{{"type": "A", "value": "192.0.2.1"}}}).want(http.StatusCreated)
	v.domain = d.id()
	v.systemUser = admin.do("POST", "/system-users", map[string]any{"username": "b-web", "account": b.ID}).
		want(http.StatusCreated).id()
	v.databaseUser = admin.do("POST", "/database-users", map[string]any{"username": "b_db", "password": "B-db-secret-1",
		"account": b.ID}).want(http.StatusCreated).id()
	v.database = admin.do("POST", "/databases", map[string]any{"name": "b_db", "users": []int{v.databaseUser}}).
		want(http.StatusCreated).id()
	v.record = int(admin.do("GET", fmt.Sprintf("/records?domain=%d", v.domain), nil).want(http.StatusOK).
		json()["results"].([]any)[0].(map[string]any)["id"].(float64))
	return a, b, v
}

// TestAuthorizationMatrix calls every endpoint of the API as anonymous, as
// account A on account B's objects, and as a superuser.
func TestAuthorizationMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.login("admin", adminPassword)
		a, b, v := newVictim(t, e, admin)
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
					theirs, none := asA.do(o.method, u, o.body(t, v)), asA.do(o.method, gone, o.body(t, v))
					if d := answerDiff(theirs, none, u, gone); d != "" {
						t.Errorf("%s %s as A: B's object answers unlike a missing one: %s", o.method, u, d)
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
					m["version"] = asAdmin.do("GET", u, nil).want(http.StatusOK).json()["version"]
				}
				r := asAdmin.do(o.method, u, body)
				if r.status >= 400 && r.status != superuserStatus[o.id] {
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

// answerDiff compares two answers to the same request on two paths: their
// status, their bodies with each path replaced by a placeholder, and their
// headers but the ones every answer varies in.
func answerDiff(x, y *resp, xid, yid string) string {
	if x.status != y.status {
		return fmt.Sprintf("status %d, not %d: %s | %s", x.status, y.status, x.body, y.body)
	}
	xb := strings.ReplaceAll(string(x.body), xid, "ID")
	yb := strings.ReplaceAll(string(y.body), yid, "ID")
	if xb != yb {
		return fmt.Sprintf("body %s, not %s", xb, yb)
	}
	for _, h := range []http.Header{x.header, y.header} {
		h.Del("Date")
		h.Del("Content-Length")
	}
	xh, _ := json.Marshal(x.header)
	yh, _ := json.Marshal(y.header)
	if xs, ys := strings.ReplaceAll(string(xh), xid, "ID"), strings.ReplaceAll(string(yh), yid, "ID"); xs != ys {
		return fmt.Sprintf("headers %s, not %s", xs, ys)
	}
	return ""
}
