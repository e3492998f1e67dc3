package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/webapp"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/orchestra-panel/orchestra/internal/web"
)

// TestKindSettingsForm: a model with kinds (web apps) shows the settings of
// the kind chosen as fields of their own, its kinds by their labels; a
// choice fetches the form again with the other kind's fields; what is sent
// is that kind's settings; a change form shows the object's kind's fields
// with their values, and a mistake in one is shown beside it.
func TestKindSettingsForm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		a := api.New(st, api.Config{Version: "test"})
		top := http.NewServeMux()
		top.Handle(api.Prefix+"/", a)
		top.Handle("/", web.New(a))
		srv := httptest.NewServer(top)
		defer srv.Close()
		cust := account(t, st, "kindcust", "Cust-password-1", false)
		b := newBrowser(t, srv.URL)
		if code, _, _ := b.post("/login", url.Values{"username": {"kindcust"}, "password": {"Cust-password-1"}}); code != http.StatusSeeOther {
			t.Fatal("login", code)
		}
		has := func(what, body string, want bool, parts ...string) {
			t.Helper()
			for _, p := range parts {
				if strings.Contains(body, p) != want {
					t.Errorf("%s: %q present %v, want %v", what, p, !want, want)
				}
			}
		}
		_, _, body := b.get("/webapps/new")
		has("the add form", body, true, `<option value="static" selected>Static files</option>`, `<option value="php">PHP</option>`,
			`name="settings.public_root"`, `hx-get="/webapps/new"`)
		has("the add form", body, false, `name="settings.memory_limit"`, `name="settings"`)
		_, _, body = b.get("/webapps/new?type=php&name=blog&settings.public_root=web")
		has("the form for PHP", body, true, `name="settings.memory_limit"`, `name="settings.display_errors"`,
			`name="settings.enable_functions"`, `value="blog"`, `value="web"`)
		has("the form for PHP", body, false, `name="settings.module"`)

		code, loc, body := b.post("/webapps/new", url.Values{"name": {"blog"}, "type": {"php"}, "settings.memory_limit": {"256M"},
			"settings.public_root": {"web"}, "settings.display_errors": {"false", "true"}, "settings.module": {"not.mine"}})
		if code != http.StatusSeeOther {
			t.Fatalf("adding: %d %s", code, body)
		}
		var app *ent.WebApp
		err := st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) (err error) {
			app, err = tx.WebApp.Query().Where(webapp.Name("blog")).Only(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if s := app.Settings; s["memory_limit"] != "256M" || s["public_root"] != "web" || s["display_errors"] != true || s["module"] != nil || s["timeout"] == nil {
			t.Errorf("stored settings %v (went to %s)", s, loc)
		}
		edit := "/webapps/" + strconv.Itoa(app.ID) + "/edit"
		_, _, body = b.get(edit)
		has("the change form", body, true, `name="settings.memory_limit"`, `value="256M"`, `value="web"`)
		has("the change form", body, false, `name="settings.module"`, `name="settings"`)
		code, _, body = b.post(edit, url.Values{"version": {strconv.Itoa(app.Version)}, "settings.memory_limit": {"lots"}, "settings.public_root": {"../out"}})
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("a bad change: %d", code)
		}
		has("the refused change", body, true, `id="f-settings.memory_limit-error"`, `id="f-settings.public_root-error"`)

		// the list filters by kind, in words
		_, _, body = b.get("/webapps/")
		has("the list's filter", body, true, `<select id="filter-type" name="type">`, `<option value="static">Static files</option>`)

		// a website's domains: host names only, protocols in words
		err = st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) error {
			for _, n := range []string{"kind.example", "_dmarc.kind.example", "sel._domainkey.kind.example"} {
				if err := tx.Domain.Create().SetName(n).SetAccountID(cust.ID).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_, _, body = b.get("/websites/new")
		has("the website form", body, true, `>kind.example</option>`, `<option value="https-only">HTTPS, with HTTP redirected to it</option>`)
		has("the website form", body, false, `_dmarc`, `_domainkey`)
	})
}
