package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/services/dns"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/orchestra-panel/orchestra/internal/web"
)

var sys = viewer.System(context.Background(), viewer.ChannelCLI)

// widget is a model the engine has never heard of: registering its API
// operations with a presentation is all it takes to appear in the pages.
type widget struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Colour  string `json:"colour" enum:"red,green"`
	Version int    `json:"version"`
}

func registerWidgets(a *api.Server) {
	widgets := map[int]*widget{1: {ID: 1, Name: "sprocket", Colour: "red", Version: 1}}
	list := huma.Operation{OperationID: "list-widgets", Method: http.MethodGet, Path: api.Prefix + "/widgets",
		Extensions: map[string]any{api.ModelExtension: api.Presentation{Name: "widget", Label: "Widgets", Singular: "Widget",
			Group: "services", Title: "name", Columns: []string{"colour"}, Orderable: []string{"id"}}}}
	huma.Register(a.API(), list, func(ctx context.Context, in *struct {
		Colour string `query:"colour" enum:"red,green"`
	}) (*struct{ Body api.Page[widget] }, error) {
		out := api.Page[widget]{CountExact: true, Page: 1, PageSize: 50}
		for _, w := range widgets {
			if in.Colour == "" || w.Colour == in.Colour {
				out.Results = append(out.Results, *w)
			}
		}
		out.Count = len(out.Results)
		return &struct{ Body api.Page[widget] }{out}, nil
	})
	huma.Register(a.API(), huma.Operation{OperationID: "get-widget", Method: http.MethodGet, Path: api.Prefix + "/widgets/{id}"},
		func(ctx context.Context, in *api.IDPath) (*struct{ Body widget }, error) {
			w, ok := widgets[in.ID]
			if !ok {
				return nil, huma.Error404NotFound("no such widget")
			}
			return &struct{ Body widget }{*w}, nil
		})
	huma.Register(a.API(), huma.Operation{OperationID: "create-widget", Method: http.MethodPost, Path: api.Prefix + "/widgets",
		DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *struct {
			Body struct {
				Name   string `json:"name" minLength:"3" maxLength:"20"`
				Colour string `json:"colour,omitempty" enum:"red,green"`
			}
		}) (*struct{ Body widget }, error) {
			w := &widget{ID: len(widgets) + 1, Name: in.Body.Name, Colour: in.Body.Colour, Version: 1}
			widgets[w.ID] = w
			return &struct{ Body widget }{*w}, nil
		})
}

type fixture struct {
	srv                 *httptest.Server
	api                 *api.Server
	staff, cust, other  *ent.Account
	ownDomain, otherDom *ent.Domain
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	a := api.New(st, api.Config{Version: "test"})
	registerWidgets(a)
	top := http.NewServeMux()
	top.Handle(api.Prefix+"/", a)
	top.Handle("/", web.New(a))
	f := &fixture{srv: httptest.NewServer(top), api: a}
	t.Cleanup(f.srv.Close)
	f.staff = account(t, st, "admin", "Adm1n-password!", true)
	f.cust = account(t, st, "cust", "Cust-password-1", false)
	f.other = account(t, st, "other", "Other-password-1", false)
	err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
		if f.ownDomain, err = tx.Domain.Create().SetName("own.example").SetAccountID(f.cust.ID).Save(ctx); err != nil {
			return err
		}
		if f.otherDom, err = tx.Domain.Create().SetName("other.example").SetAccountID(f.other.ID).Save(ctx); err != nil {
			return err
		}
		for i := range 60 {
			if err := tx.Domain.Create().SetName(fmt.Sprintf("d%02d.example", i)).SetAccountID(f.other.ID).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) login(t *testing.T, user, pw string) *browser {
	b := newBrowser(t, f.srv.URL)
	if code, _, body := b.post("/login", url.Values{"username": {user}, "password": {pw}}); code != http.StatusSeeOther {
		t.Fatalf("login %s: %d %s", user, code, body)
	}
	return b
}

var rowRE = regexp.MustCompile(`<input type="checkbox" name="ids" value="(\d+)"`)

func rows(body string) []string {
	var ids []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestModelPages: the change lists page, sort, search (also field=value)
// and filter; forms show the API's errors beside their fields and store
// nothing then; bulk actions ask first.
func TestModelPages(t *testing.T) {
	_ = dns.MasterBackend // routes name the DNS backends
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		b := f.login(t, "admin", "Adm1n-password!")

		code, _, body := b.get("/domains/")
		if code != http.StatusOK || len(rows(body)) != 50 || !strings.Contains(body, "Page 1 of 2") || !strings.Contains(body, `rel="next"`) {
			t.Fatalf("first page: %d, %d rows\n%s", code, len(rows(body)), body)
		}
		if _, _, body = b.get("/domains/?page=2"); len(rows(body)) != 12 {
			t.Errorf("second page: %d rows", len(rows(body)))
		}
		_, _, body = b.get("/domains/?o=-name")
		if !strings.Contains(body, `class="sort desc"`) || strings.Index(body, "own.example") > strings.Index(body, "d59.example") {
			t.Errorf("descending by name: own.example should come first")
		}
		if _, _, body = b.get("/domains/?q=" + url.QueryEscape("account="+strconv.Itoa(f.cust.ID))); len(rows(body)) != 1 ||
			!strings.Contains(body, "own.example") {
			t.Errorf("account=%d: %d rows", f.cust.ID, len(rows(body)))
		}
		if _, _, body = b.get("/domains/?q=d1"); len(rows(body)) != 10 {
			t.Errorf("search d1: %d rows", len(rows(body)))
		}
		if _, _, body = b.get("/domains/?account=" + strconv.Itoa(f.cust.ID)); len(rows(body)) != 1 ||
			!strings.Contains(body, `href="/domains/new?account=`+strconv.Itoa(f.cust.ID)+`"`) {
			t.Errorf("the account filter, and adding for that account: %d rows", len(rows(body)))
		}
		if code, _, body = b.get("/domains/?o=nonsense"); code != http.StatusOK || !strings.Contains(body, "Cannot order by") {
			t.Errorf("a bad ordering: %d", code)
		}

		// add: the API's error beside the field, nothing stored
		before, _ := st.Domain.Query().Count(sys)
		code, _, body = b.post("/domains/new", url.Values{"name": {"not a domain"}, "account": {strconv.Itoa(f.cust.ID)}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-name-error"`) ||
			!strings.Contains(body, `value="not a domain"`) {
			t.Errorf("bad domain name: %d\n%s", code, body)
		}
		code, _, body = b.post("/domains/new", url.Values{"name": {"new.example"}, "account": {"x"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-account-error"`) {
			t.Errorf("a number that is not: %d", code)
		}
		if after, _ := st.Domain.Query().Count(sys); after != before {
			t.Errorf("refused forms stored domains: %d → %d", before, after)
		}
		code, loc, _ := b.post("/domains/new", url.Values{"name": {"new.example"}, "account": {strconv.Itoa(f.cust.ID)}})
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/domains/") {
			t.Fatalf("add: %d %s", code, loc)
		}
		d, err := st.Domain.Query().Where(domain.Name("new.example")).Only(sys)
		if err != nil || d.AccountID != f.cust.ID {
			t.Fatalf("added domain: %v %+v", err, d)
		}
		// the object page names its account, lists its records, offers its actions
		_, _, body = b.get(loc)
		for _, want := range []string{">cust</a>", `href="/records/new?domain=` + strconv.Itoa(d.ID), "/view/zone", "History"} {
			if !strings.Contains(body, want) {
				t.Errorf("domain page lacks %s", want)
			}
		}

		// change: only what changed is sent; a stale version is refused
		code, loc, body = b.post(fmt.Sprintf("/domains/%d/edit", d.ID), url.Values{"version": {"1"}, "refresh": {"2d"}})
		if code != http.StatusSeeOther {
			t.Fatalf("change: %d %s", code, body)
		}
		if d, _ = st.Domain.Get(sys, d.ID); d.Refresh != "2d" {
			t.Errorf("refresh: %q", d.Refresh)
		}
		code, _, body = b.post(fmt.Sprintf("/domains/%d/edit", d.ID), url.Values{"version": {"1"}, "refresh": {"3d"}})
		if code < 400 || !strings.Contains(body, `role="alert"`) {
			t.Errorf("a stale change: %d", code)
		}

		// bulk: a confirmation first, then done
		sus, _ := st.SystemUser.Query().IDs(sys)
		form := url.Values{"action": {"disable"}}
		for _, id := range sus {
			form.Add("ids", strconv.Itoa(id))
		}
		code, _, body = b.post("/system-users/bulk", form)
		if code != http.StatusOK || !strings.Contains(body, "Disable these") || !strings.Contains(body, `name="confirm" value="yes"`) {
			t.Errorf("bulk confirmation: %d\n%s", code, body)
		}
		if n, _ := st.SystemUser.Query().Where(systemuser.IsActive(false)).Count(sys); n != 0 {
			t.Errorf("the confirmation page disabled %d users", n)
		}
		form.Set("confirm", "yes")
		if code, _, body = b.post("/system-users/bulk", form); code != http.StatusOK {
			t.Errorf("bulk disable: %d %s", code, body)
		}
		if n, _ := st.SystemUser.Query().Where(systemuser.IsActive(false)).Count(sys); n != len(sus) || n == 0 {
			t.Errorf("disabled %d of %d", n, len(sus))
		}
		code, _, _ = b.post("/domains/bulk", url.Values{"action": {"delete"}, "ids": {strconv.Itoa(d.ID)}, "confirm": {"yes"}})
		if exists, _ := st.Domain.Query().Where(domain.ID(d.ID)).Exist(sys); code != http.StatusOK || exists {
			t.Errorf("bulk delete: %d, still there: %v", code, exists)
		}
		if code, _, _ = b.post("/domains/bulk", url.Values{"action": {"explode"}, "ids": {"1"}}); code != http.StatusUnprocessableEntity {
			t.Errorf("an unknown bulk action: %d", code)
		}

		// an action with a form: the account's password
		code, _, body = b.post(fmt.Sprintf("/accounts/%d/do/password", f.cust.ID), url.Values{"password": {"short"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-password-error"`) {
			t.Errorf("weak password: %d\n%s", code, body)
		}
		if code, _, _ = b.post(fmt.Sprintf("/accounts/%d/do/password", f.cust.ID), url.Values{"password": {"Brand-new-Pass-42"}}); code != http.StatusOK {
			t.Errorf("set password: %d", code)
		}
		f.login(t, "cust", "Brand-new-Pass-42")

		// a route's match, checked as it is typed
		_, _, body = b.post("/routes/check", url.Values{"backend": {dns.MasterBackend}, "match": {"name =="}})
		if !strings.Contains(body, `class="error"`) {
			t.Errorf("a broken match: %s", body)
		}
		_, _, body = b.post("/routes/check", url.Values{"backend": {dns.MasterBackend}, "match": {`domain.name endsWith ".org"`}})
		if !strings.Contains(body, `class="ok"`) {
			t.Errorf("a good match: %s", body)
		}
		if _, _, body = b.get("/routes/new"); !strings.Contains(body, `hx-post="/routes/check"`) {
			t.Errorf("the route form does not check as it is typed")
		}

		// a model the engine was never told about
		if _, _, body = b.get("/"); !strings.Contains(body, `href="/widgets/"`) {
			t.Errorf("the widgets are not on the dashboard")
		}
		if _, _, body = b.get("/widgets/?colour=red"); !strings.Contains(body, "sprocket") {
			t.Errorf("widgets list: %s", body)
		}
		if code, _, body = b.post("/widgets/new", url.Values{"name": {"x"}, "colour": {"green"}}); code != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-name-error"`) {
			t.Errorf("a short widget name: %d", code)
		}
		if code, loc, _ = b.post("/widgets/new", url.Values{"name": {"gadget"}, "colour": {"green"}}); code != http.StatusSeeOther {
			t.Errorf("add widget: %d", code)
		}
		if _, _, body = b.get(loc); !strings.Contains(body, "gadget") || !strings.Contains(body, "green") {
			t.Errorf("widget page: %s", body)
		}

		// global search
		if _, _, body = b.get("/search?q=other"); !strings.Contains(body, "other.example") || !strings.Contains(body, `href="/accounts/`) {
			t.Errorf("search: %s", body)
		}
	})
}

// TestCustomerPanel: the same pages, scoped to the customer's account; other
// accounts' objects are not found, also by URL, and staff pages do not exist.
func TestCustomerPanel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		c := f.login(t, "cust", "Cust-password-1")
		code, _, body := c.get("/domains/")
		if code != http.StatusOK || len(rows(body)) != 1 || !strings.Contains(body, "own.example") {
			t.Errorf("own domains: %d rows", len(rows(body)))
		}
		other := strconv.Itoa(f.otherDom.ID)
		for _, path := range []string{"/domains/" + other, "/domains/" + other + "/edit", "/domains/" + other + "/delete",
			"/domains/" + other + "/view/zone", "/accounts/" + strconv.Itoa(f.other.ID), "/servers/", "/routes/new", "/logs/"} {
			if code, _, body := c.get(path); code != http.StatusNotFound || strings.Contains(body, "other.example") {
				t.Errorf("%s: %d", path, code)
			}
		}
		c.post("/domains/"+other+"/edit", url.Values{"version": {"1"}, "refresh": {"9d"}})
		c.post("/domains/bulk", url.Values{"action": {"delete"}, "ids": {other}, "confirm": {"yes"}})
		if d, err := st.Domain.Get(sys, f.otherDom.ID); err != nil || d.Refresh == "9d" {
			t.Errorf("the customer changed another account's domain: %v %+v", err, d)
		}
		// a customer's form has no account field: one posted anyway is ignored
		c.post("/domains/new", url.Values{"name": {"sneaky.example"}, "account": {strconv.Itoa(f.other.ID)}})
		if n, _ := st.Domain.Query().Where(domain.Name("sneaky.example"), domain.AccountIDNEQ(f.cust.ID)).Count(sys); n != 0 {
			t.Errorf("a domain was added for another account")
		}
		if _, _, body = c.get("/search?q=example"); strings.Contains(body, "other.example") || !strings.Contains(body, "own.example") {
			t.Errorf("search: %s", body)
		}
		if _, _, body = c.get("/"); strings.Contains(body, "/servers/") || strings.Contains(body, "Administration") {
			t.Errorf("staff navigation shown to a customer")
		}
		// their own tokens: the secret shown once
		code, _, body = c.post("/tokens/new", url.Values{"name": {"deploy"}})
		if code != http.StatusCreated || !strings.Contains(body, "not shown again") {
			t.Errorf("token: %d %s", code, body)
		}
	})
}

// TestLanguageAndExpiry: pages speak the account's language; an expired
// session goes back to the login page, and from there to where it was.
func TestLanguageAndExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		if err := i18n.AddMessages("es", map[string]string{"Dashboard": "Panel", "Domains": "Dominios"}); err != nil {
			t.Fatal(err)
		}
		f := newFixture(t, st)
		staff := f.login(t, "admin", "Adm1n-password!")
		staff.do(t, http.MethodPut, "/api/v1/settings/ACCOUNTS_LANGUAGES", `{"value": ["EN", "ES"]}`)
		t.Cleanup(func() { // the sessions are gone by then
			f.login(t, "admin", "Adm1n-password!").do(t, http.MethodDelete, "/api/v1/settings/ACCOUNTS_LANGUAGES", "")
		})
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Account.UpdateOneID(f.cust.ID).SetLanguage("ES").Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		c := f.login(t, "cust", "Cust-password-1")
		if _, _, body := c.get("/"); !strings.Contains(body, "<h1>Panel</h1>") || !strings.Contains(body, `lang="es"`) ||
			!strings.Contains(body, "Dominios") {
			t.Errorf("Spanish dashboard:\n%s", body)
		}
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			_, err := tx.Session.Delete().Exec(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		code, loc, _ := c.get("/domains/?q=own")
		if code != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape("/domains/?q=own") {
			t.Fatalf("expired session: %d %s", code, loc)
		}
		code, loc, _ = c.post("/login", url.Values{"username": {"cust"}, "password": {"Cust-password-1"}, "next": {"/domains/?q=own"}})
		if code != http.StatusSeeOther || loc != "/domains/?q=own&done=in" {
			t.Errorf("back after login: %d %s", code, loc)
		}
		if _, loc, _ = c.post("/login", url.Values{"username": {"cust"}, "password": {"Cust-password-1"}, "next": {"//evil.example/"}}); loc != "/?done=in" {
			t.Errorf("next to another site: %s", loc)
		}
	})
}

func (b *browser) do(t *testing.T, method, path, body string) {
	req, _ := http.NewRequest(method, b.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, path, res.StatusCode)
	}
}
