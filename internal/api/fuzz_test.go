package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// The fuzzers post arbitrary bytes as the body of a create, as a logged-in
// superuser, on one SQLite store per fuzzing process. Whatever the body:
//   - the answer is never a 5xx;
//   - a 201's object reads back (GET by id) as it was returned, and the
//     create is in the history;
//   - any other answer left the history unchanged.
//
// Run: go test -run=^$ -fuzz=FuzzAccountCreate -fuzztime=30s ./internal/api/

// fuzzStrings are awkward values every seed corpus combines with its fields.
var fuzzStrings = []string{
	`it's "quoted"`, `$(id)`, "`id`", "; rm -rf / #", "a\nb\r\nc", "tab\there", "nul\x00byte", "\x01\x1f\x7f",
	strings.Repeat("x", 300), strings.Repeat("é", 300), "Núria Pérez 山田 🎉", "\u202eevil", "\ufeffbom",
	"<script>alert(1)</script>", "%s%n%x", "../../etc/passwd", "  padded  ", "", " ",
}

func FuzzAccountCreate(f *testing.F) {
	f.Add([]byte(`{"username":"fuzz","full_name":"Fuzz","email":"fuzz@example.com"}`))
	f.Add([]byte(`{"username":"fuzz.pw","full_name":"Fuzz","email":"fuzz@example.com","password":"Str0ng-pass-phrase"}`))
	f.Add([]byte(`{"username":"fuzz-all","password":"Str0ng-pass-phrase","short_name":"F","full_name":"Fuzz All",` +
		`"email":"all@example.com","type":"COMPANY","language":"EN","comments":"c","is_superuser":false,` +
		`"is_active":false,"date_joined":"2001-02-03T04:05:06Z"}`))
	f.Add([]byte(`{"username":"offset","full_name":"O","email":"o@example.com","date_joined":"2001-02-03T04:05:06+05:00"}`))
	f.Add([]byte(`{"username":"  fuzz_trim  ","full_name":"  Trim  ","email":" trim@example.com "}`))
	f.Add([]byte(`{"username":"old","full_name":"Old","email":"old@example.com","date_joined":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"username":"nano","full_name":"N","email":"n@example.com","date_joined":"9999-12-31T23:59:59.999999999Z"}`))
	f.Add([]byte(`{"username":"admin","full_name":"Dup","email":"dup@example.com"}`))
	f.Add([]byte(`{"username":"n\u0000ul","full_name":"x","email":"x@example.com"}`))
	f.Add([]byte(`{"username":"fuzz2","full_name":"x","email":"x@example.com","comments":"\u0000"}`))
	f.Add([]byte(`{"username":1,"full_name":["x"],"email":{"a":"b"},"is_active":"yes","date_joined":5}`))
	f.Add([]byte(`{"username":"n","full_name":"x","email":"x@example.com","extra":{"nested":{"deep":[1,{"a":null}]}}}`))
	f.Add([]byte(`{"username":"n","full_name":"x","email":"x@example.com","username":"other"}`))
	f.Add([]byte(`{"username":null,"full_name":null,"email":null}`))
	f.Add([]byte(`{"username":"n","full_name":"x","email":"x@example.com","is_superuser":1e400}`))
	f.Add([]byte(`[{"username":"n"}]`))
	f.Add([]byte(`{"username":`))
	f.Add([]byte(``))
	f.Add([]byte(`null`))
	f.Add([]byte("{\"username\":\"\xff\xfe\",\"full_name\":\"x\",\"email\":\"x@example.com\"}"))
	for i, s := range fuzzStrings {
		for _, field := range []string{"username", "full_name", "short_name", "email", "comments", "password", "type", "date_joined"} {
			b := map[string]any{"username": fmt.Sprintf("seed%d%s", i, field), "full_name": "Seed", "email": "seed@example.com"}
			b[field] = s
			j, _ := json.Marshal(b)
			f.Add(j)
		}
	}
	e := newEnv(f, storetest.SQLite(f))
	admin := e.Login("admin", adminPassword)
	f.Fuzz(func(t *testing.T, body []byte) { fuzzCreate(t, e, admin, "/accounts", body) })
}

func FuzzContactCreate(f *testing.F) {
	f.Add([]byte(`{"account":1,"short_name":"Fuzz","email":"fuzz@example.com"}`))
	f.Add([]byte(`{"account":1,"short_name":"Full","full_name":"Full Contact","email":"full@example.com",` +
		`"email_usage":["BILLING","TECH"],"phone":"931234567","phone2":"+34 931 234 567","address":"Carrer Major 1",` +
		`"city":"Barcelona","zipcode":"08001","country":"ES"}`))
	f.Add([]byte(`{"account":1,"short_name":"GB","email":"gb@example.com","zipcode":"SW1A1AA","country":"GB"}`))
	f.Add([]byte(`{"account":1,"short_name":"  Trim  ","email":" t@example.com ","city":" Girona ","zipcode":" 17001 "}`))
	f.Add([]byte(`{"account":1,"short_name":"Fuzz","email":"fuzz@example.com","email_usage":[]}`))
	f.Add([]byte(`{"account":1,"short_name":"Fuzz","email":"fuzz@example.com","email_usage":["ADMIN","ADMIN"]}`))
	f.Add([]byte(`{"account":1,"short_name":"Fuzz","email":"fuzz@example.com","email_usage":["\u0000"]}`))
	f.Add([]byte(`{"account":1,"short_name":"Fuzz","email":"fuzz@example.com","phone":"\uff19\uff13\uff11\uff12\uff13\uff14\uff15\uff16\uff17"}`))
	f.Add([]byte(`{"account":1,"short_name":"Fuzz","email":"fuzz@example.com","address":"A","zipcode":"sw1a1aa","country":"gb"}`))
	f.Add([]byte(`{"account":999,"short_name":"Fuzz","email":"fuzz@example.com"}`))
	f.Add([]byte(`{"account":-1,"short_name":"Fuzz","email":"fuzz@example.com"}`))
	f.Add([]byte(`{"account":9223372036854775807,"short_name":"Fuzz","email":"fuzz@example.com"}`))
	f.Add([]byte(`{"account":"1","short_name":5,"email":true,"email_usage":{"a":1},"phone":[1]}`))
	f.Add([]byte(`{"account":1,"short_name":"Fuzz","email":"fuzz@example.com","nested":{"a":[{"b":{"c":null}}]}}`))
	f.Add([]byte(`{"account":1.0,"short_name":"Fuzz","email":"fuzz@example.com"}`))
	f.Add([]byte(`{"account":1e0,"short_name":"Fuzz","email":"fuzz@example.com"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"account":1,`))
	f.Add([]byte(`"contact"`))
	for i, s := range fuzzStrings {
		for _, field := range []string{"short_name", "full_name", "email", "phone", "address", "city", "zipcode", "country"} {
			b := map[string]any{"account": 1, "short_name": fmt.Sprintf("Seed %d", i), "email": "seed@example.com"}
			b[field] = s
			j, _ := json.Marshal(b)
			f.Add(j)
		}
		j, _ := json.Marshal(map[string]any{"account": 1, "short_name": "Seed", "email": "seed@example.com", "email_usage": []string{s}})
		f.Add(j)
	}
	e := newEnv(f, storetest.SQLite(f))
	admin := e.Login("admin", adminPassword)
	f.Fuzz(func(t *testing.T, body []byte) { fuzzCreate(t, e, admin, "/contacts", body) })
}

// fuzzCreate posts body to path and checks the invariants above. It only
// uses t, never env's testing.TB (the F), which must not be called from a
// fuzz target.
func fuzzCreate(t *testing.T, e *env, c *client, path string, body []byte) {
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	before := historyAt(t, e.Store)
	status, got := raw(t, c, "POST", path, bytes.NewReader(body), jsonCT)
	after := historyAt(t, e.Store)
	switch {
	case status >= 500:
		t.Fatalf("POST %s %q: status %d: %s", path, body, status, got)
	case status == http.StatusCreated:
		var obj struct {
			ID       int
			Username string
		}
		if err := json.Unmarshal(got, &obj); err != nil || obj.ID == 0 {
			t.Fatalf("POST %s %q: 201 without an id: %s", path, body, got)
		}
		st, back := raw(t, c, "GET", fmt.Sprintf("%s/%d", path, obj.ID), nil, nil)
		if st != http.StatusOK {
			t.Fatalf("POST %s %q: created object does not read back: %d %s", path, body, st, back)
		}
		sameObject(t, fmt.Sprintf("POST %s %q: created and read back", path, body), got, back)
		// an account brings its main system user, whose creation is recorded too
		want := before + 1
		if strings.HasSuffix(path, "/accounts") && !slices.Contains(systemusers.Reserved.Get(), obj.Username) {
			want++
		}
		if after != want {
			t.Errorf("POST %s %q: created, but history went from %d to %d entries", path, body, before, after)
		}
	case status >= 200 && status < 300:
		t.Fatalf("POST %s %q: status %d, want 201 or an error: %s", path, body, status, got)
	default:
		if after != before {
			t.Fatalf("POST %s %q: refused with %d but history went from %d to %d entries: %s", path, body, status, before, after, got)
		}
	}
}
