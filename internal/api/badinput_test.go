package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Bad input: every field rule of accounts and contacts, wrong JSON types,
// malformed and oversized bodies, and bad list parameters. A refused request
// must name the offending field(s) in errors[].location, never be a 5xx, and
// leave the store exactly as it was.

// badCase is one request that must be refused.
type badCase struct {
	name   string
	body   any
	status int      // 422 when zero
	want   []string // the exact set of errors[].location
	msg    string   // when set, some error message must contain it
}

// obj returns a copy of base with the given key/value pairs set; a nil
// value deletes the key.
func obj(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

// state is what a refused request must leave untouched.
type state struct {
	history, accounts, contacts int
	objects                     map[string]string // GET path -> body
}

func envState(e *env, c *client, paths ...string) state {
	e.T.Helper()
	s := state{
		history:  e.HistoryCount(),
		accounts: listCount(c, "/accounts"),
		contacts: listCount(c, "/contacts"),
		objects:  map[string]string{},
	}
	for _, p := range paths {
		s.objects[p] = string(c.Do("GET", p, nil).Want(http.StatusOK).Body)
	}
	return s
}

func listCount(c *client, path string) int {
	c.Env().T.Helper()
	return int(c.Do("GET", path+"?page_size=1", nil).Want(http.StatusOK).JSON()["count"].(float64))
}

// refused sends bc and checks the status, the error locations and that
// nothing changed (history, object counts, and the objects at paths).
func refused(t *testing.T, e *env, c *client, method, path string, bc badCase, paths ...string) {
	t.Helper()
	status := bc.status
	if status == 0 {
		status = http.StatusUnprocessableEntity
	}
	before := envState(e, c, paths...)
	r := c.Do(method, path, bc.body)
	if r.Status != status {
		t.Errorf("%s: %s %s: status %d, want %d: %s", bc.name, method, path, r.Status, status, r.Body)
	} else if got := locations(r); !slices.Equal(got, sorted(bc.want)) {
		t.Errorf("%s: error locations %q, want %q: %s", bc.name, got, sorted(bc.want), r.Body)
	} else if bc.msg != "" && !bytes.Contains(r.Body, []byte(bc.msg)) {
		t.Errorf("%s: no error message mentions %q: %s", bc.name, bc.msg, r.Body)
	}
	if after := envState(e, c, paths...); !reflect.DeepEqual(before, after) {
		t.Errorf("%s: refused request changed the store: before %+v, after %+v", bc.name, before, after)
	}
}

// locations is resp.fieldErrors, sorted and without repeats.
func locations(r *resp) []string {
	return slices.Compact(sorted(r.FieldErrors()))
}

func sorted(l []string) []string {
	l = slices.Clone(l)
	slices.Sort(l)
	return l
}

func TestBadAccountCreate(t *testing.T) {
	valid := map[string]any{"username": "newuser", "full_name": "New User", "email": "new@example.com", "password": "Str0ng-pass-phrase"}
	cases := []badCase{
		{name: "username empty", body: obj(valid, "username", ""), want: []string{"body.username"}},
		{name: "username blank", body: obj(valid, "username", "   "), want: []string{"body.username"}},
		{name: "username 33 chars", body: obj(valid, "username", strings.Repeat("u", 33)), want: []string{"body.username"}},
		{name: "username with space", body: obj(valid, "username", "new user"), want: []string{"body.username"}},
		{name: "username with slash", body: obj(valid, "username", "a/b"), want: []string{"body.username"}},
		{name: "username with unicode letter", body: obj(valid, "username", "ñame"), want: []string{"body.username"}},
		{name: "username with @", body: obj(valid, "username", "new@user"), want: []string{"body.username"}},
		{name: "username with shell", body: obj(valid, "username", "$(id)"), want: []string{"body.username"}},
		{name: "username with NUL", body: obj(valid, "username", "new\x00user"), want: []string{"body.username"}},
		{name: "username like an option", body: obj(valid, "username", "-rf"), want: []string{"body.username"}},
		{name: "username dot dot", body: obj(valid, "username", ".."), want: []string{"body.username"}},
		{name: "username a system user cannot have", body: obj(valid, "username", "007"), want: []string{"body.username"}},
		{name: "username taken", body: obj(valid, "username", "admin"), status: http.StatusConflict, want: []string{"body.username"}},
		{name: "username taken after trim", body: obj(valid, "username", " admin "), status: http.StatusConflict, want: []string{"body.username"}},
		{name: "username missing", body: obj(valid, "username", nil), want: []string{"body.username"}, msg: "This field is required."},
		{name: "full_name missing", body: obj(valid, "full_name", nil), want: []string{"body.full_name"}, msg: "This field is required."},
		{name: "full_name empty", body: obj(valid, "full_name", ""), want: []string{"body.full_name"}},
		{name: "full_name blank after trim", body: obj(valid, "full_name", " \t\n "), want: []string{"body.full_name"}},
		{name: "full_name 257 chars", body: obj(valid, "full_name", strings.Repeat("f", 257)), want: []string{"body.full_name"}},
		{name: "full_name with NUL", body: obj(valid, "full_name", "New\x00User"), want: []string{"body.full_name"}},
		{name: "short_name 65 chars", body: obj(valid, "short_name", strings.Repeat("s", 65)), want: []string{"body.short_name"}},
		{name: "comments with NUL", body: obj(valid, "comments", "a\x00b"), want: []string{"body.comments"}},
		{name: "email missing", body: obj(valid, "email", nil), want: []string{"body.email"}, msg: "This field is required."},
		{name: "email empty", body: obj(valid, "email", ""), want: []string{"body.email"}},
		{name: "email no @", body: obj(valid, "email", "new.example.com"), want: []string{"body.email"}},
		{name: "email two @", body: obj(valid, "email", "a@b@example.com"), want: []string{"body.email"}},
		{name: "email no dot in domain", body: obj(valid, "email", "new@localhost"), want: []string{"body.email"}},
		{name: "email display name", body: obj(valid, "email", "New <new@example.com>"), want: []string{"body.email"}},
		{name: "email non-ASCII", body: obj(valid, "email", "ñ@example.com"), want: []string{"body.email"}},
		{name: "email with space", body: obj(valid, "email", "new user@example.com"), want: []string{"body.email"}},
		{name: "type unknown", body: obj(valid, "type", "NOPE"), want: []string{"body.type"}},
		{name: "type lower case", body: obj(valid, "type", "individual"), want: []string{"body.type"}},
		{name: "type 33 chars", body: obj(valid, "type", strings.Repeat("T", 33)), want: []string{"body.type"}},
		{name: "language not offered", body: obj(valid, "language", "FR"), want: []string{"body.language"}},
		{name: "language lower case", body: obj(valid, "language", "en"), want: []string{"body.language"}},
		{name: "language 3 chars", body: obj(valid, "language", "ENG"), want: []string{"body.language"}},
		{name: "password too short", body: obj(valid, "password", "Ab1-"), want: []string{"body.password"}},
		{name: "password one class", body: obj(valid, "password", "abcdefghij"), want: []string{"body.password"}},
		{name: "password common", body: obj(valid, "password", "Password-1"), want: []string{"body.password"}},
		{name: "password like username", body: obj(valid, "password", "newuser1"), want: []string{"body.password"}},
		{name: "password too few characters", body: obj(valid, "password", "aA1aA1aA1"), want: []string{"body.password"}},
		{name: "password 257 chars", body: obj(valid, "password", strings.Repeat("aB3-", 64)+"x"), want: []string{"body.password"}},
		{name: "date_joined not a date", body: obj(valid, "date_joined", "yesterday"), want: []string{"body.date_joined"}},
		// Wrong JSON types.
		{name: "username number", body: obj(valid, "username", 42), want: []string{"body.username"}},
		{name: "email number", body: obj(valid, "email", 5), want: []string{"body.email"}},
		{name: "full_name null", body: obj(valid, "full_name", json.RawMessage("null")), want: []string{"body.full_name"}},
		{name: "is_superuser string", body: obj(valid, "is_superuser", "yes"), want: []string{"body.is_superuser"}},
		{name: "is_active string", body: obj(valid, "is_active", "true"), want: []string{"body.is_active"}},
		{name: "type list", body: obj(valid, "type", []string{"STAFF"}), want: []string{"body.type"}},
		{name: "comments object", body: obj(valid, "comments", map[string]any{"a": 1}), want: []string{"body.comments"}},
		{name: "unknown field", body: obj(valid, "bogus", 1), want: []string{"body.bogus"}},
		{name: "read-only field id", body: obj(valid, "id", 77), want: []string{"body.id"}},
		{name: "read-only field version", body: obj(valid, "version", 9), want: []string{"body.version"}},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		for _, bc := range cases {
			refused(t, e, admin, "POST", "/accounts", bc)
		}
		// The valid body itself is accepted, so each case fails for its own reason.
		admin.Do("POST", "/accounts", valid).Want(http.StatusCreated)
	})
}

func TestBadAccountUpdate(t *testing.T) {
	cases := []badCase{
		{name: "username taken", body: map[string]any{"username": "admin", "version": 1}, status: http.StatusConflict, want: []string{"body.username"}},
		{name: "username invalid", body: map[string]any{"username": "a b", "version": 1}, want: []string{"body.username"}},
		{name: "full_name blank", body: map[string]any{"full_name": "  ", "version": 1}, want: []string{"body.full_name"}},
		{name: "email invalid", body: map[string]any{"email": "nope", "version": 1}, want: []string{"body.email"}},
		{name: "type unknown", body: map[string]any{"type": "NOPE", "version": 1}, want: []string{"body.type"}},
		{name: "language unknown", body: map[string]any{"language": "XX", "version": 1}, want: []string{"body.language"}},
		{name: "comments with NUL", body: map[string]any{"comments": "\x00", "version": 1}, want: []string{"body.comments"}},
		{name: "password is not patchable", body: map[string]any{"password": "Str0ng-pass-phrase", "version": 1}, want: []string{"body.password"}},
		{name: "version string", body: map[string]any{"full_name": "X", "version": "1"}, want: []string{"body.version"}},
		{name: "unknown field", body: map[string]any{"bogus": 1, "version": 1}, want: []string{"body.bogus"}},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		bob := e.MakeAccount("bob", "Bob-password-1", false)
		path := fmt.Sprintf("/accounts/%d", bob.ID)
		for _, bc := range cases {
			refused(t, e, admin, "PATCH", path, bc, path)
		}
	})
}

func TestBadContactCreate(t *testing.T) {
	valid := map[string]any{"account": 1, "short_name": "Contact", "email": "c@example.com"}
	addr := obj(valid, "address", "Carrer Major 1", "city", "Barcelona", "zipcode", "08001", "country", "ES")
	cases := []badCase{
		{name: "account missing", body: obj(valid, "account", nil), want: []string{"body.account"}},
		{name: "account zero", body: obj(valid, "account", 0), want: []string{"body.account"}},
		{name: "account does not exist", body: obj(valid, "account", 999), want: []string{"body.account"}},
		{name: "account negative", body: obj(valid, "account", -1), want: []string{"body.account"}},
		{name: "account string", body: obj(valid, "account", "1"), want: []string{"body.account"}},
		{name: "account fraction", body: obj(valid, "account", 1.5), want: []string{"body.account"}},
		{name: "short_name missing", body: obj(valid, "short_name", nil), want: []string{"body.short_name"}, msg: "This field is required."},
		{name: "short_name empty", body: obj(valid, "short_name", ""), want: []string{"body.short_name"}},
		{name: "short_name blank after trim", body: obj(valid, "short_name", " \t "), want: []string{"body.short_name"}},
		{name: "short_name 129 chars", body: obj(valid, "short_name", strings.Repeat("s", 129)), want: []string{"body.short_name"}},
		{name: "short_name with NUL", body: obj(valid, "short_name", "C\x00"), want: []string{"body.short_name"}},
		{name: "full_name 257 chars", body: obj(valid, "full_name", strings.Repeat("f", 257)), want: []string{"body.full_name"}},
		{name: "email missing", body: obj(valid, "email", nil), want: []string{"body.email"}, msg: "This field is required."},
		{name: "email empty", body: obj(valid, "email", ""), want: []string{"body.email"}},
		{name: "email invalid", body: obj(valid, "email", "c at example.com"), want: []string{"body.email"}},
		{name: "email number", body: obj(valid, "email", 5), want: []string{"body.email"}},
		{name: "email_usage empty list", body: obj(valid, "email_usage", []string{}), want: []string{"body.email_usage"}},
		{name: "email_usage unknown value", body: obj(valid, "email_usage", []string{"ADMIN", "SPAM"}), want: []string{"body.email_usage"}},
		{name: "email_usage lower case", body: obj(valid, "email_usage", []string{"admin"}), want: []string{"body.email_usage"}},
		{name: "email_usage empty string", body: obj(valid, "email_usage", []string{""}), want: []string{"body.email_usage"}},
		{name: "email_usage duplicate", body: obj(valid, "email_usage", []string{"ADMIN", "TECH", "ADMIN"}), want: []string{"body.email_usage"}},
		{name: "email_usage 7 items", body: obj(valid, "email_usage", []string{"SUPPORT", "ADMIN", "BILLING", "TECH", "ADDS", "EMERGENCY", "ADMIN"}), want: []string{"body.email_usage"}},
		{name: "email_usage object", body: obj(valid, "email_usage", map[string]any{}), want: []string{"body.email_usage"}},
		{name: "email_usage string", body: obj(valid, "email_usage", "ADMIN"), want: []string{"body.email_usage"}},
		{name: "email_usage numbers", body: obj(valid, "email_usage", []int{1}), want: []string{"body.email_usage[0]"}},
		{name: "phone too short", body: obj(valid, "phone", "12"), want: []string{"body.phone"}},
		{name: "phone letters", body: obj(valid, "phone", "call me"), want: []string{"body.phone"}},
		{name: "phone invalid for ES", body: obj(valid, "phone", "031234567"), want: []string{"body.phone"}},
		{name: "phone 33 chars", body: obj(valid, "phone", strings.Repeat("9", 33)), want: []string{"body.phone"}},
		{name: "phone2 invalid", body: obj(valid, "phone2", "+1 555"), want: []string{"body.phone2"}},
		{name: "address without city and zipcode", body: obj(valid, "address", "Carrer Major 1"), want: []string{"body.city", "body.zipcode"}},
		{name: "address without zipcode", body: obj(addr, "zipcode", nil), want: []string{"body.zipcode"}},
		{name: "address without city", body: obj(addr, "city", nil), want: []string{"body.city"}},
		{name: "address with blank city", body: obj(addr, "city", "   "), want: []string{"body.city"}},
		{name: "address with NUL", body: obj(addr, "address", "Carrer\x00Major"), want: []string{"body.address"}},
		{name: "zipcode with unknown country", body: obj(valid, "zipcode", "08001", "country", "XX"), want: []string{"body.country"}},
		{name: "zipcode ES out of range", body: obj(valid, "zipcode", "99999", "country", "ES"), want: []string{"body.zipcode"}},
		{name: "zipcode ES province 53", body: obj(valid, "zipcode", "53001"), want: []string{"body.zipcode"}},
		{name: "zipcode ES 4 digits", body: obj(valid, "zipcode", "0800", "country", "ES"), want: []string{"body.zipcode"}},
		{name: "zipcode ES default country", body: obj(valid, "zipcode", "0800"), want: []string{"body.zipcode"}},
		{name: "zipcode lower case", body: obj(valid, "zipcode", "sw1a1aa", "country", "GB"), want: []string{"body.zipcode"}},
		{name: "zipcode with space", body: obj(valid, "zipcode", "SW1A 1AA", "country", "GB"), want: []string{"body.zipcode"}},
		{name: "zipcode with comma", body: obj(valid, "zipcode", "08,001"), want: []string{"body.zipcode"}},
		{name: "zipcode GB wrong format", body: obj(valid, "zipcode", "08001", "country", "GB"), want: []string{"body.zipcode"}},
		{name: "zipcode too short", body: obj(valid, "zipcode", "AB", "country", "AD"), want: []string{"body.zipcode"}},
		{name: "zipcode 11 chars", body: obj(valid, "zipcode", "12345678901", "country", "AD"), want: []string{"body.zipcode"}},
		{name: "country unknown", body: obj(valid, "country", "XX"), want: []string{"body.country"}},
		{name: "country lower case", body: obj(valid, "country", "es"), want: []string{"body.country"}},
		{name: "country alpha-3", body: obj(valid, "country", "ESP"), want: []string{"body.country"}},
		{name: "unknown field", body: obj(valid, "bogus", 1), want: []string{"body.bogus"}},
		{name: "read-only field id", body: obj(valid, "id", 5), want: []string{"body.id"}},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		for _, bc := range cases {
			refused(t, e, admin, "POST", "/contacts", bc)
		}
		admin.Do("POST", "/contacts", valid).Want(http.StatusCreated)
		admin.Do("POST", "/contacts", addr).Want(http.StatusCreated)
	})
}

func TestBadContactUpdate(t *testing.T) {
	v := func(kv ...any) map[string]any { return obj(map[string]any{"version": 1}, kv...) }
	cases := []badCase{
		{name: "short_name empty", body: v("short_name", ""), want: []string{"body.short_name"}},
		{name: "short_name blank after trim", body: v("short_name", "   "), want: []string{"body.short_name"}},
		{name: "short_name with NUL", body: v("short_name", "\x00"), want: []string{"body.short_name"}},
		{name: "email invalid", body: v("email", "nope@"), want: []string{"body.email"}},
		{name: "email empty", body: v("email", ""), want: []string{"body.email"}},
		{name: "email_usage empty list", body: v("email_usage", []string{}), want: []string{"body.email_usage"}},
		{name: "email_usage unknown value", body: v("email_usage", []string{"SPAM"}), want: []string{"body.email_usage"}},
		{name: "email_usage duplicate", body: v("email_usage", []string{"TECH", "TECH"}), want: []string{"body.email_usage"}},
		{name: "email_usage string", body: v("email_usage", "ADMIN"), want: []string{"body.email_usage"}},
		{name: "phone invalid", body: v("phone", "123"), want: []string{"body.phone"}},
		{name: "phone2 invalid", body: v("phone2", "abc"), want: []string{"body.phone2"}},
		// The contact has an address, city, zipcode 08001 and country ES.
		{name: "address kept, city and zipcode cleared", body: v("city", "", "zipcode", ""), want: []string{"body.city", "body.zipcode"}},
		{name: "new address without city and zipcode", body: v("address", "Other 2", "city", " ", "zipcode", " "), want: []string{"body.city", "body.zipcode"}},
		{name: "city cleared", body: v("city", ""), want: []string{"body.city"}},
		{name: "zipcode cleared", body: v("zipcode", ""), want: []string{"body.zipcode"}},
		{name: "country cleared under a zipcode", body: v("country", ""), want: []string{"body.country"}},
		{name: "country unknown", body: v("country", "XX"), want: []string{"body.country"}},
		{name: "country changed, zipcode no longer fits", body: v("country", "GB"), want: []string{"body.zipcode"}},
		{name: "zipcode ES out of range", body: v("zipcode", "99999"), want: []string{"body.zipcode"}},
		{name: "zipcode ES 4 digits", body: v("zipcode", "0800"), want: []string{"body.zipcode"}},
		{name: "zipcode lower case", body: v("zipcode", "sw1a1aa", "country", "GB"), want: []string{"body.zipcode"}},
		{name: "account is not patchable", body: v("account", 1), want: []string{"body.account"}},
		{name: "unknown field", body: v("bogus", 1), want: []string{"body.bogus"}},
		{name: "version string", body: map[string]any{"city": "Girona", "version": "1"}, want: []string{"body.version"}},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		id := admin.Do("POST", "/contacts", map[string]any{
			"account": 1, "short_name": "Contact", "email": "c@example.com", "address": "Carrer Major 1",
			"city": "Barcelona", "zipcode": "08001", "country": "ES",
		}).Want(http.StatusCreated).ID()
		path := fmt.Sprintf("/contacts/%d", id)
		for _, bc := range cases {
			refused(t, e, admin, "PATCH", path, bc, path)
		}
		// Fixing both fields together is fine.
		admin.Do("PATCH", path, v("country", "GB", "zipcode", "SW1A1AA")).Want(http.StatusOK)
	})
}

// TestMalformedBodies sends bodies that are not the expected JSON object:
// they are refused with 400 or 422, never a 5xx, and change nothing.
func TestMalformedBodies(t *testing.T) {
	bodies := []struct{ name, body string }{
		{"empty", ""},
		{"truncated", `{"username":`},
		{"open brace", `{`},
		{"array", `[]`},
		{"null", `null`},
		{"string", `"alice"`},
		{"number", `42`},
		{"two objects", `{"a":1}{"b":2}`},
		{"trailing comma", `{"username":"x",}`},
		{"single quotes", `{'username':'x'}`},
		{"NaN", `{"account":NaN}`},
		{"huge number", `{"account":1e400}`},
		{"unterminated string", `{"username":"x`},
		{"bad escape", `{"username":"\x"}`},
		{"invalid UTF-8", "{\"username\":\"\xff\xfe\"}"},
		{"BOM", "\ufeff{}"},
		{"deep nesting", `{"bogus":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		cid := admin.Do("POST", "/contacts", map[string]any{"account": 1, "short_name": "C", "email": "c@example.com"}).
			Want(http.StatusCreated).ID()
		targets := [][2]string{{"POST", "/accounts"}, {"POST", "/contacts"}, {"PATCH", "/accounts/1"}, {"PATCH", fmt.Sprintf("/contacts/%d", cid)}}
		for _, tg := range targets {
			paths := []string{"/accounts/1", fmt.Sprintf("/contacts/%d", cid)}
			before := envState(e, admin, paths...)
			for _, b := range bodies {
				if tg[0] == "PATCH" {
					admin.Header.Set("If-Match", `"1"`)
				}
				r := admin.Do(tg[0], tg[1], b.body)
				admin.Header.Del("If-Match")
				if r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity {
					t.Errorf("%s %s with %s body: status %d, want 400 or 422: %.300s", tg[0], tg[1], b.name, r.Status, r.Body)
				}
			}
			if after := envState(e, admin, paths...); !reflect.DeepEqual(before, after) {
				t.Errorf("%s %s: malformed bodies changed the store: before %+v, after %+v", tg[0], tg[1], before, after)
			}
		}
	})
}

// raw sends body with the given headers through c, without the JSON helper,
// so the test controls Content-Type and Content-Length.
func raw(t testing.TB, c *client, method, path string, body io.Reader, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.Env().Srv.URL+api.Prefix+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.HTTP().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// onlyReader hides the length of its reader, so the request is chunked.
type onlyReader struct{ io.Reader }

func TestOversizedBody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		big := `{"username":"big","full_name":"` + strings.Repeat("a", 1<<20) + `","email":"big@example.com"}`
		jsonCT := http.Header{"Content-Type": {"application/json"}}
		idem := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"big-1"}}
		before := envState(e, admin)
		for _, tc := range []struct {
			name   string
			body   func() io.Reader
			header http.Header
		}{
			{"with Content-Length", func() io.Reader { return strings.NewReader(big) }, jsonCT},
			{"chunked", func() io.Reader { return onlyReader{strings.NewReader(big)} }, jsonCT},
			{"chunked with Idempotency-Key", func() io.Reader { return onlyReader{strings.NewReader(big)} }, idem},
		} {
			for _, path := range []string{"/accounts", "/contacts"} {
				status, body := raw(t, admin, "POST", path, tc.body(), tc.header)
				if status != http.StatusRequestEntityTooLarge {
					t.Errorf("%s %s: status %d, want 413: %.300s", path, tc.name, status, body)
				}
			}
		}
		if after := envState(e, admin); !reflect.DeepEqual(before, after) {
			t.Errorf("oversized bodies changed the store: before %+v, after %+v", before, after)
		}
		// Just under the limit is read (and refused only for its content).
		under := `{"username":"big","full_name":"x","email":"big@example.com","comments":"` + strings.Repeat("c", 1<<20-200) + `"}`
		if status, body := raw(t, admin, "POST", "/accounts", strings.NewReader(under), jsonCT); status != http.StatusUnprocessableEntity {
			t.Errorf("body under 1 MiB: status %d, want 422 (comments too long): %.300s", status, body)
		}
	})
}

// TestContentType: a body is read as JSON when it says it is JSON (or says
// nothing); any other media type is refused with 415 and changes nothing.
func TestContentType(t *testing.T) {
	cases := []struct {
		ct     string
		status int
	}{
		{"", http.StatusCreated},
		{"application/json", http.StatusCreated},
		{"application/json; charset=utf-8", http.StatusCreated},
		{"application/merge-patch+json", http.StatusCreated},
		{"text/plain", http.StatusUnsupportedMediaType},
		{"application/xml", http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"multipart/form-data; boundary=x", http.StatusUnsupportedMediaType},
		{"garbage/", http.StatusUnsupportedMediaType},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		for i, c := range cases {
			body := fmt.Sprintf(`{"username":"ct%d","full_name":"CT","email":"ct@example.com"}`, i)
			h := http.Header{}
			if c.ct != "" {
				h.Set("Content-Type", c.ct)
			}
			before := envState(e, admin)
			status, b := raw(t, admin, "POST", "/accounts", strings.NewReader(body), h)
			if status != c.status {
				t.Errorf("Content-Type %q: status %d, want %d: %.300s", c.ct, status, c.status, b)
			}
			after := envState(e, admin)
			if status == http.StatusCreated {
				after.history -= 2 // the account and its main system user
				after.accounts--
			}
			if !reflect.DeepEqual(before, after) {
				t.Errorf("Content-Type %q: store changed beyond the new account: before %+v, after %+v", c.ct, before, after)
			}
		}
	})
}

func TestBadListParams(t *testing.T) {
	cases := []struct {
		path string
		want string
	}{
		{"/accounts?ordering=password", "query.ordering"},
		{"/accounts?ordering=-password", "query.ordering"},
		{"/accounts?ordering=username,password", "query.ordering"},
		{"/accounts?ordering=-", "query.ordering"},
		{"/accounts?ordering=--id", "query.ordering"},
		{"/accounts?ordering=username;DROP%20TABLE%20accounts", "query.ordering"},
		{"/accounts?ordering=" + strings.Repeat("id,", 67), "query.ordering"},
		{"/accounts?page=0", "query.page"},
		{"/accounts?page=-1", "query.page"},
		{"/accounts?page=abc", "query.page"},
		{"/accounts?page=1.5", "query.page"},
		{"/accounts?page=99999999999999999999999", "query.page"},
		{"/accounts?page_size=0", "query.page_size"},
		{"/accounts?page_size=501", "query.page_size"},
		{"/accounts?page_size=100000", "query.page_size"},
		{"/accounts?is_active=maybe", "query.is_active"},
		{"/accounts?is_active=1", "query.is_active"},
		{"/accounts?is_superuser=TRUE", "query.is_superuser"},
		{"/accounts?username=" + strings.Repeat("u", 33), "query.username"},
		{"/accounts?language=ENG", "query.language"},
		{"/accounts?search=" + strings.Repeat("s", 201), "query.search"},
		{"/contacts?ordering=password", "query.ordering"},
		{"/contacts?ordering=email_usage", "query.ordering"},
		{"/contacts?page=0", "query.page"},
		{"/contacts?page_size=100000", "query.page_size"},
		{"/contacts?account=-1", "query.account"},
		{"/contacts?account=abc", "query.account"},
		{"/contacts?email_usage=SPAM", "query.email_usage"},
		{"/contacts?country=ESP", "query.country"},
		{"/history?ordering=changes", "query.ordering"},
		{"/history?page=0", "query.page"},
		{"/tokens?page_size=100000", "query.page_size"},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		for _, c := range cases {
			r := admin.Do("GET", c.path, nil)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("GET %.80s: status %d, want 422: %.300s", c.path, r.Status, r.Body)
				continue
			}
			if got := locations(r); !slices.Equal(got, []string{c.want}) {
				t.Errorf("GET %.80s: error locations %q, want [%s]", c.path, got, c.want)
			}
		}
		// Odd but valid parameters are answered, not failed.
		for _, p := range []string{
			"/accounts?search=%25", "/accounts?search=_", "/accounts?search=%27%20OR%201%3D1--", "/accounts?search=%5C",
			"/accounts?search=%C3%B1", "/accounts?ordering=-username,id", "/accounts?ordering=%20username%20,",
			"/accounts?page=1000000", "/contacts?search=%25_%5C", "/contacts?email_usage=TECH", "/contacts?country=XX",
		} {
			admin.Do("GET", p, nil).Want(http.StatusOK)
		}
	})
}

// TestHugePage is a page number whose offset overflows int64.
func TestHugePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		for _, p := range []string{"/accounts?page=9223372036854775807&page_size=500", "/accounts?page=18446744073709552&page_size=500"} {
			r := admin.Do("GET", p, nil)
			if r.Status >= 500 {
				t.Errorf("GET %s: status %d: %s", p, r.Status, r.Body)
			} else if r.Status == http.StatusOK && len(r.JSON()["results"].([]any)) != 0 {
				t.Errorf("GET %s: a page far past the end has results: %s", p, r.Body)
			}
		}
	})
}

// sameObject fails unless a and b are the same JSON object, apart from
// $schema and with times compared as instants to the microsecond (what
// PostgreSQL keeps).
func sameObject(t testing.TB, what string, a, b []byte) {
	t.Helper()
	na, err1 := normalize(a)
	nb, err2 := normalize(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: not JSON objects: %s / %s", what, a, b)
	}
	if !reflect.DeepEqual(na, nb) {
		t.Errorf("%s differ:\n%s\n%s", what, a, b)
	}
}

func normalize(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "$schema")
	for k, v := range m {
		if s, ok := v.(string); ok && (strings.HasSuffix(k, "_at") || k == "date_joined") {
			if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
				m[k] = tm.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
			}
		}
	}
	return m, nil
}

// created checks a 201 and that the object reads back as returned.
func created(t *testing.T, c *client, path string, body any) map[string]any {
	t.Helper()
	r := c.Do("POST", path, body).Want(http.StatusCreated)
	back := c.Do("GET", fmt.Sprintf("%s/%d", path, r.ID()), nil).Want(http.StatusOK)
	sameObject(t, path+" as created and as read back", r.Body, back.Body)
	return r.JSON()
}

func TestValidEdgeCases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		acc := func(username string, kv ...any) map[string]any {
			return obj(map[string]any{"username": username, "full_name": "Edge Case", "email": "edge@example.com"}, kv...)
		}
		for _, u := range []string{"j.doe", "j-doe", "j_doe", "J.Doe-9_x", "a", "john.doe_2-b", strings.Repeat("z", 32), "_007"} {
			if got := created(t, admin, "/accounts", acc(u))["username"]; got != u {
				t.Errorf("username %q stored as %q", u, got)
			}
		}
		a := created(t, admin, "/accounts", acc("  padded  ", "full_name", "  Jane Doe \t", "short_name", " Jane ", "email", " jane@example.com "))
		if a["username"] != "padded" || a["full_name"] != "Jane Doe" || a["short_name"] != "Jane" || a["email"] != "jane@example.com" {
			t.Errorf("surrounding spaces not trimmed: %v", a)
		}
		if a["type"] != "INDIVIDUAL" || a["language"] != "EN" {
			t.Errorf("defaults not applied: type %v, language %v", a["type"], a["language"])
		}
		a = created(t, admin, "/accounts", acc("typed", "type", "ASSOCIATION", "language", "EN", "password", "Str0ng-pass-phrase",
			"comments", "$(rm -rf /) `id` 'quote\" \n\t<script>", "date_joined", "2001-02-03T04:05:06Z", "is_active", false))
		if a["type"] != "ASSOCIATION" || a["comments"] != "$(rm -rf /) `id` 'quote\" \n\t<script>" || a["is_active"] != false {
			t.Errorf("account stored as %v", a)
		}
		created(t, admin, "/accounts", acc("unicode", "full_name", "Núria Pérez-Çàrdenas 山田", "short_name", "Núria"))

		con := func(kv ...any) map[string]any {
			return obj(map[string]any{"account": 1, "short_name": "Edge", "email": "edge@example.com"}, kv...)
		}
		c := created(t, admin, "/contacts", con("address", "Carrer Major 1", "city", "Barcelona", "zipcode", "08001", "country", "ES"))
		if c["zipcode"] != "08001" || c["country"] != "ES" || c["city"] != "Barcelona" {
			t.Errorf("contact stored as %v", c)
		}
		c = created(t, admin, "/contacts", con("address", "Carrer Major 1", "city", "Barcelona", "zipcode", "08001"))
		if c["country"] != "ES" || len(c["email_usage"].([]any)) != 6 {
			t.Errorf("defaults not applied: %v", c)
		}
		if c := created(t, admin, "/contacts", con("phone", "931234567", "phone2", "+34 931 234 567")); c["phone"] != "931234567" {
			t.Errorf("phone stored as %v", c["phone"])
		}
		created(t, admin, "/contacts", con("zipcode", "SW1A1AA", "country", "GB"))
		created(t, admin, "/contacts", con("zipcode", "AD500", "country", "AD")) // no per-country format
		created(t, admin, "/contacts", con("zipcode", "52001"))                  // Melilla, the last province
		c = created(t, admin, "/contacts", con("email_usage", []string{"BILLING", "TECH"}, "short_name", "  Trimmed  ", "city", " Girona "))
		if !reflect.DeepEqual(c["email_usage"], []any{"BILLING", "TECH"}) || c["short_name"] != "Trimmed" || c["city"] != "Girona" {
			t.Errorf("contact stored as %v", c)
		}
		if n := listCount(admin, "/contacts"); n != 7 {
			t.Errorf("%d contacts, want 7", n)
		}
	})
}

// TestMultibyteLengths: length limits count characters, so a name of
// accented letters up to the limit is valid.
func TestMultibyteLengths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		created(t, admin, "/accounts", map[string]any{"username": "multi", "full_name": strings.Repeat("é", 256),
			"short_name": strings.Repeat("ñ", 64), "email": "m@example.com"})
		created(t, admin, "/contacts", map[string]any{"account": 1, "short_name": strings.Repeat("é", 128),
			"full_name": strings.Repeat("ü", 256), "email": "m@example.com", "city": strings.Repeat("à", 128)})
	})
}

// historyAt counts history entries straight from the store, for use where
// env's testing.TB must not be called (inside a fuzz target).
func historyAt(t testing.TB, st *store.Store) int {
	n, err := st.History.Query().Count(viewer.System(context.Background(), viewer.ChannelSystem))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTimeOffsets: times given with a UTC offset are stored and read back
// as the same instant, and do not break the lists they appear in.
func TestTimeOffsets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.Login("admin", adminPassword)
		check := func(r *resp, status int) *resp {
			t.Helper()
			if r.Status != status {
				t.Errorf("%s %s: status %d, want %d: %.300s", r.Method, r.Path, r.Status, status, r.Body)
			}
			return r
		}
		a := check(admin.Do("POST", "/accounts", map[string]any{"username": "offset", "full_name": "Offset", "email": "o@example.com",
			"date_joined": "2001-02-03T04:05:06+05:00"}), http.StatusCreated)
		if back := check(admin.Do("GET", fmt.Sprintf("/accounts/%d", a.ID()), nil), http.StatusOK); back.Status == http.StatusOK {
			sameObject(t, "account with an offset date_joined, as created and as read back", a.Body, back.Body)
		}
		check(admin.Do("GET", "/accounts", nil), http.StatusOK)
		tok := check(admin.Do("POST", "/tokens", map[string]any{"name": "offset", "account": 1, "expires_at": "2099-01-02T03:04:05-07:00"}),
			http.StatusCreated)
		check(admin.Do("GET", "/tokens", nil), http.StatusOK)
		c := e.Anon()
		c.Bearer = tok.JSON()["token"].(string)
		check(c.Do("GET", "/auth/me", nil), http.StatusOK)
	})
}
