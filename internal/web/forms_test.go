package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/database"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/ent/record"
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
			inSet := map[string]bool{}
			for _, f := range set.Fields {
				f, _, _ = strings.Cut(f, ".") // an object's field names the object
				if !inSet[f] {
					inSet[f] = true
					named[f]++
				}
				if !forms[f] {
					t.Errorf("%s: fieldset %q names %s, which no form takes", p.Name, set.Label, f)
				}
			}
		}
		for f := range p.Choices { // offered by forms, or said in words in lists (a bill's type)
			if !forms[f] && !slices.Contains(p.Columns, f) {
				t.Errorf("%s: choices for %s, which no form takes and no list shows", p.Name, f)
			}
		}
		for f, setting := range p.Defaults {
			if !forms[f] || setting == "" {
				t.Errorf("%s: default of %s (%q), which no form takes", p.Name, f, setting)
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
			"/routes/new":  {`<select id="f-backend" name="backend"`, `<option value="unix-user">`, `<option value="mysql">mysql</option>`},
			// backends are named as they are, not in the words of a value they share (the engine mysql)
			"/routes/": {`<select id="filter-backend" name="backend">`, `<option value="mysql">mysql</option>`},
			"/accounts/new": {`<select id="f-type" name="type"`, `<option value="COMPANY">`, `<option value="INDIVIDUAL" selected>`,
				`<select id="f-language" name="language"`, `<option value="EN" selected>`},
			"/domains/new": {`name="refresh" type="text" value="" placeholder="1d"`},
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
		own := "/accounts/" + strconv.Itoa(f.cust.ID)
		if code, _, _ := f.login(t, "cust", "Cust-password-1").get(own + "/delete"); code != http.StatusNotFound {
			t.Errorf("a customer opens the delete page of its own account: %d", code)
		}
		if _, _, page := f.login(t, "cust", "Cust-password-1").get(own); strings.Contains(page, own+"/delete") {
			t.Errorf("a customer's account page offers its deletion")
		}
		_, _, acc := f.login(t, "cust", "Cust-password-1").get(own + "/edit")
		if strings.Contains(acc, `name="type"`) || strings.Contains(acc, `name="is_superuser"`) || !strings.Contains(acc, `name="email"`) {
			t.Errorf("customer's account form:\n%s", acc)
		}
	})
}

// TestReferencesByName: a reference is a select of the viewer's objects by
// name when they are few, else a box that takes a name and offers matches;
// a name the viewer cannot see is an error of its field.
func TestReferencesByName(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st) // the customer has 1 domain, the other account 61
		cust := f.login(t, "cust", "Cust-password-1")
		_, _, page := cust.get("/records/new")
		if !strings.Contains(page, `<select id="f-domain" name="domain"`) ||
			!strings.Contains(page, fmt.Sprintf(`<option value="%d">own.example</option>`, f.ownDomain.ID)) || strings.Contains(page, "other.example") {
			t.Errorf("customer's record form:\n%s", page)
		}
		staff := f.login(t, "admin", "Adm1n-password!")
		_, _, page = staff.get("/records/new")
		if !strings.Contains(page, `list="l-domain"`) || !strings.Contains(page, `hx-get="/domains/pick?field=domain"`) {
			t.Errorf("staff's record form (61 domains):\n%s", page)
		}
		if _, _, opts := staff.get("/domains/pick?field=domain&domain=d05"); !strings.Contains(opts, `<option value="d05.example">`) || strings.Contains(opts, "own.example") {
			t.Errorf("matches for d05: %s", opts)
		}
		if code, _, body := staff.post("/records/new", url.Values{"domain": {"own.example"}, "type": {"TXT"}, "value": {"by name"}}); code != http.StatusSeeOther {
			t.Errorf("a record for a domain given by name: %d %s", code, body)
		}
		if n, _ := st.Record.Query().Where(record.DomainID(f.ownDomain.ID), record.Value("by name")).Count(sys); n != 1 {
			t.Errorf("records added to own.example by name: %d", n)
		}
		code, _, body := cust.post("/records/new", url.Values{"domain": {"other.example"}, "type": {"TXT"}, "value": {"x"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, `No domain is named &#34;other.example&#34;.`) {
			t.Errorf("a customer names another account's domain: %d %s", code, body)
		}
	})
}

// TestFormShowsEveryMistake: a submit with four bad fields shows four
// errors, each beside its field, the schema's and the rules' alike.
func TestFormShowsEveryMistake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		staff := f.login(t, "admin", "Adm1n-password!")
		code, _, page := staff.post("/accounts/new", url.Values{"username": {"9 bad"}, "full_name": {""},
			"email": {"nope"}, "password": {"short"}})
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", code)
		}
		for _, field := range []string{"username", "full_name", "email", "password"} {
			if !strings.Contains(page, `id="f-`+field+`-error"`) {
				t.Errorf("no error beside %s:\n%s", field, page)
			}
		}
	})
}

// TestDatabaseWithNewUserInOneForm: the database form holds the new user's
// fields; one submit makes both, the user granted the database.
func TestDatabaseWithNewUserInOneForm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		cust := f.login(t, "cust", "Cust-password-1")
		_, _, page := cust.get("/databases/new")
		for _, want := range []string{`<legend>New user</legend>`, `name="user.username"`, `name="user.password" type="password"`} {
			if !strings.Contains(page, want) {
				t.Errorf("no %s in the database form:\n%s", want, page)
			}
		}
		code, _, bad := cust.post("/databases/new", url.Values{"name": {"Bad-Name"}, "type": {"mysql"},
			"user.username": {"9-bad"}, "user.password": {"weak"}})
		for _, field := range []string{"name", "user.username", "user.password"} {
			if code != http.StatusUnprocessableEntity || !strings.Contains(bad, `id="f-`+field+`-error"`) {
				t.Errorf("%d: no error beside %s:\n%s", code, field, bad)
			}
		}
		code, loc, body := cust.post("/databases/new", url.Values{"name": {"cust_shop"}, "type": {"mysql"},
			"user.username": {"cust_shop"}, "user.password": {"Heron-shop-7734"}})
		if code != http.StatusSeeOther {
			t.Fatalf("adding a database with a new user: %d %s %s", code, loc, body)
		}
		db, err := st.Database.Query().Where(database.Name("cust_shop")).WithUsers().Only(sys)
		if err != nil || len(db.Edges.Users) != 1 || db.Edges.Users[0].Username != "cust_shop" || db.AccountID != f.cust.ID {
			t.Errorf("the database and its user: %v %+v", err, db)
		}
	})
}

// TestDashboardSaysWhatToDoNext: a panel without servers says so to staff,
// with the page that adds one, and does not claim units succeeded when
// none ran; customers see none of it.
func TestDashboardSaysWhatToDoNext(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		_, _, page := f.login(t, "admin", "Adm1n-password!").get("/")
		for _, want := range []string{"No servers yet", `href="/servers/new"`, "no unit of work has run yet"} {
			if !strings.Contains(page, want) {
				t.Errorf("staff's dashboard lacks %q:\n%s", want, page)
			}
		}
		if strings.Contains(page, "every recent unit of work succeeded") {
			t.Error("the dashboard claims units succeeded")
		}
		if _, _, page = f.login(t, "cust", "Cust-password-1").get("/"); strings.Contains(page, "No servers yet") {
			t.Errorf("a customer is told about servers:\n%s", page)
		}
	})
}

// TestServerPageInWords: a server's buttons say what they do, and a server
// that cannot be reached is told in words, the SSH client's error kept
// beside them for staff.
func TestServerPageInWords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		var srv *ent.Server
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
			srv, err = tx.Server.Create().SetName("nowhere").SetAddress("127.0.0.1").SetSSHPort(1).Save(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		staff := f.login(t, "admin", "Adm1n-password!")
		page := "/servers/" + strconv.Itoa(srv.ID)
		_, _, body := staff.get(page)
		for _, want := range []string{`>Pin host key</a>`, `>Host key</a>`, `>Apply everything again</a>`} {
			if !strings.Contains(body, want) {
				t.Errorf("the server page lacks %s:\n%s", want, body)
			}
		}
		dom := "/domains/" + strconv.Itoa(f.ownDomain.ID)
		if _, _, body := staff.get(dom); strings.Contains(body, dom+"/view/ds") {
			t.Errorf("an unsigned domain offers its DS records:\n%s", body)
		}
		code, _, body := staff.get(page + "/view/host-key")
		if code != http.StatusBadGateway || !strings.Contains(body, "The server could not be reached") ||
			!strings.Contains(body, "nothing answers on its SSH port") || !strings.Contains(body, "connection refused") {
			t.Errorf("an unreachable server's host key: %d\n%s", code, body)
		}
	})
}

// TestHistoryReads: a recorded change shows its fields old → new, and an
// account's page lists the changes to its objects, not those it made; the
// history's filters name the actor once.
func TestHistoryReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		staff := f.login(t, "admin", "Adm1n-password!")
		dom := "/domains/" + strconv.Itoa(f.ownDomain.ID)
		if code, _, body := staff.post(dom+"/edit", url.Values{"version": {"1"}, "refresh": {"2d"}}); code != http.StatusSeeOther {
			t.Fatalf("changing the domain: %d %s", code, body)
		}
		h, err := st.History.Query().Where(history.ObjectType("Domain"), history.ObjectID(f.ownDomain.ID), history.Action("update")).Only(sys)
		if err != nil {
			t.Fatal(err)
		}
		_, _, page := staff.get("/history/" + strconv.Itoa(h.ID))
		if !regexp.MustCompile(`<table class="changes"><tr><th scope="row">Refresh</th><td>[^<]*</td><td aria-hidden="true">→</td><td>2d</td></tr>`).MatchString(page) {
			t.Errorf("the change's fields:\n%s", page)
		}
		_, _, page = staff.get("/accounts/" + strconv.Itoa(f.cust.ID))
		if !strings.Contains(page, "/history/?account="+strconv.Itoa(f.cust.ID)) || strings.Contains(page, "/history/?actor_id=") {
			t.Errorf("the account page's history is not the changes to its objects:\n%s", page)
		}
		_, _, page = staff.get("/history/")
		if strings.Count(page, `>Actor</label>`) != 1 {
			t.Errorf("the history's filters name the actor %d times", strings.Count(page, `>Actor</label>`))
		}
	})
}

// TestSettingsPage: staff see every setting by service and set one, which
// forms then show; a bad value is refused beside it; a reset brings the
// default back; customers have no such page.
func TestSettingsPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		staff := f.login(t, "admin", "Adm1n-password!")
		t.Cleanup(func() { staff.post("/settings/DOMAINS_DEFAULT_REFRESH/reset", nil) })
		_, _, page := staff.get("/settings/")
		for _, want := range []string{"<h2>Domains <span", `id="DOMAINS_DEFAULT_REFRESH"`, `value="1d"`, `href="/settings/"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the settings page lacks %s", want)
			}
		}
		code, _, body := staff.post("/settings/DOMAINS_DEFAULT_REFRESH", url.Values{"type": {"string"}, "value": {"soon"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, `<span class="error" role="alert">`) {
			t.Errorf("a bad refresh: %d", code)
		}
		code, loc, _ := staff.post("/settings/DOMAINS_DEFAULT_REFRESH", url.Values{"type": {"string"}, "value": {"3d"}})
		if code != http.StatusSeeOther {
			t.Fatalf("setting the refresh: %d %s", code, loc)
		}
		// back on the page, the group of the setting just saved is unfolded, and only it
		if _, _, page = staff.get(loc); strings.Count(page, `<details class="group settings" open>`) != 1 {
			t.Errorf("after saving, unfolded groups: %d", strings.Count(page, `<details class="group settings" open>`))
		}
		if _, _, form := staff.get("/domains/new"); !strings.Contains(form, `placeholder="3d"`) {
			t.Errorf("the domain form does not show the new default")
		}
		if _, _, page = staff.get("/settings/"); !strings.Contains(page, "Set here.") || !strings.Contains(page, "Reset to default") {
			t.Errorf("the stored value is not told")
		}
		staff.post("/settings/DOMAINS_DEFAULT_REFRESH/reset", nil)
		if _, _, form := staff.get("/domains/new"); !strings.Contains(form, `placeholder="1d"`) {
			t.Errorf("the reset did not bring the default back")
		}
		cust := f.login(t, "cust", "Cust-password-1")
		if code, _, _ := cust.get("/settings/"); code != http.StatusNotFound {
			t.Errorf("a customer's settings page: %d", code)
		}
		if code, _, _ := cust.post("/settings/DOMAINS_DEFAULT_REFRESH", url.Values{"type": {"string"}, "value": {"9d"}}); code < 400 {
			t.Errorf("a customer sets a setting: %d", code)
		}
	})
}

// TestHelpInTheReadersWords: customers' forms do not name settings (the
// default is shown in the field); staff's do. A record added from its
// domain's page, in the inline row, comes back to that page.
func TestHelpInTheReadersWords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		cust := f.login(t, "cust", "Cust-password-1")
		_, _, page := cust.get("/records/new")
		if strings.Contains(page, "DOMAINS_DEFAULT_TTL") || !strings.Contains(page, "Seconds or an interval like 1h.") {
			t.Errorf("customer's record form names a setting:\n%s", page)
		}
		staff := f.login(t, "admin", "Adm1n-password!")
		if _, _, page = staff.get("/records/new"); !strings.Contains(page, "DOMAINS_DEFAULT_TTL when empty") {
			t.Errorf("staff's record form lost the setting's name:\n%s", page)
		}
		dom := fmt.Sprintf("/domains/%d", f.ownDomain.ID)
		_, _, page = cust.get(dom)
		if !strings.Contains(page, `<form method="post" action="/records/new" class="inline-add"`) ||
			!strings.Contains(page, `id="records-f-value"`) {
			t.Fatalf("no inline record row on the domain's page:\n%s", page)
		}
		code, loc, body := cust.post("/records/new", url.Values{"domain": {strconv.Itoa(f.ownDomain.ID)}, "type": {"TXT"},
			"value": {"inline"}, "back": {dom}})
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, dom+"?") {
			t.Errorf("inline add: %d %s %s", code, loc, body)
		}
		if _, loc, _ = cust.post("/records/new", url.Values{"domain": {strconv.Itoa(f.ownDomain.ID)}, "type": {"TXT"},
			"value": {"elsewhere"}, "back": {"//evil.example/"}}); strings.Contains(loc, "evil") {
			t.Errorf("a back link to another site was followed: %s", loc)
		}
	})
}

// TestDatesArePicked: a date field is a date and time picker.
func TestDatesArePicked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		cust := f.login(t, "cust", "Cust-password-1")
		if _, _, page := cust.get("/autoresponses/new"); !strings.Contains(page, `name="ends_at" type="datetime-local"`) {
			t.Errorf("the autoresponse form's end is no date picker:\n%s", page)
		}
	})
}
