package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	_ "github.com/orchestra-panel/orchestra/internal/services/all" // every service's API
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/orchestra-panel/orchestra/internal/web"
)

type browser struct {
	t   testing.TB
	c   *http.Client
	url string
}

func newBrowser(t testing.TB, url string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, url: url, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	res, err := b.c.Get(b.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(body)
}

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(body)
}

func account(t testing.TB, st *store.Store, name, password string, staff bool) *ent.Account {
	t.Helper()
	hash, _ := auth.HashPassword(password)
	var a *ent.Account
	err := st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) (err error) {
		a, err = tx.Account.Create().SetUsername(name).SetPassword(hash).SetFullName(name).SetEmail(name + "@example.com").
			SetIsSuperuser(staff).Save(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestLoginDashboardLogout: the anonymous are sent to the login page; a
// wrong password is refused there; staff see the administration counts, a
// customer only their own; logging out ends the session (also for the API,
// which shares it).
func TestLoginDashboardLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		a := api.New(st, api.Config{Version: "test"})
		top := http.NewServeMux()
		top.Handle(api.Prefix+"/", a)
		top.Handle("/", web.New(a))
		srv := httptest.NewServer(top)
		defer srv.Close()
		account(t, st, "admin", "Adm1n-password!", true)
		account(t, st, "cust", "Cust-password-1", false)
		other := account(t, st, "other", "Other-password-1", false)
		err := st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) error {
			return tx.Domain.Create().SetName("other.example").SetAccountID(other.ID).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		// units of a server: the failed ones are listed, newest first
		var failed []string
		err = st.Tx(viewer.System(context.Background(), viewer.ChannelCLI), func(ctx context.Context, tx *ent.Tx) error {
			s, err := tx.Server.Create().SetName("ns-dashboard").SetAddress("192.0.2.9").Save(ctx)
			if err != nil {
				return err
			}
			for _, state := range []string{orchestration.StateFailure, orchestration.StateSuccess, orchestration.StateError,
				orchestration.StateTimeout, orchestration.StateSuccess} {
				now := time.Now()
				l, err := tx.ExecutionLog.Create().SetBackend("web-test").SetServerID(s.ID).SetState(state).
					SetCreatedAt(now).SetUpdatedAt(now).Save(ctx)
				if err != nil {
					return err
				}
				if state != orchestration.StateSuccess {
					failed = append([]string{fmt.Sprintf(`<a href="/logs/%d">%d</a>`, l.ID, l.ID)}, failed...)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		b := newBrowser(t, srv.URL)
		if st, loc, _ := b.get("/"); st != http.StatusSeeOther || loc != "/login" {
			t.Fatalf("anonymous dashboard: %d → %q", st, loc)
		}
		if st, _, body := b.get("/login"); st != http.StatusOK || !strings.Contains(body, `<label for="password">`) {
			t.Fatalf("login page: %d %s", st, body)
		}
		if st, _, body := b.post("/login", url.Values{"username": {"admin"}, "password": {"wrong"}}); st != http.StatusUnauthorized ||
			!strings.Contains(body, "Wrong username or password") || !strings.Contains(body, `value="admin"`) {
			t.Fatalf("wrong password: %d %s", st, body)
		}
		if st, loc, _ := b.post("/login", url.Values{"username": {"admin"}, "password": {"Adm1n-password!"}}); st != http.StatusSeeOther || loc != "/?done=in" {
			t.Fatalf("login: %d → %q", st, loc)
		}
		code, _, body := b.get("/")
		if code != http.StatusOK || !strings.Contains(body, "Administration") || !strings.Contains(body, "Recent failures") {
			t.Fatalf("staff dashboard: %d %s", code, body)
		}
		at := -1
		for _, f := range failed {
			i := strings.Index(body, f)
			if i < 0 || i < at {
				t.Errorf("failure %s missing or out of order:\n%s", f, body)
			}
			at = i
		}
		if strings.Count(body, "<td>ns-dashboard</td>") != 3 || strings.Contains(body, "state-SUCCESS") {
			t.Errorf("recent failures: 3 of ns-dashboard and no success wanted:\n%s", body)
		}
		// the session is the API's too
		if st, _, _ := b.get(api.Prefix + "/auth/me"); st != http.StatusOK {
			t.Errorf("API with the web session: %d", st)
		}
		if st, loc, _ := b.post("/logout", nil); st != http.StatusSeeOther || loc != "/login?done=out" {
			t.Fatalf("logout: %d → %q", st, loc)
		}
		if _, _, body := b.get("/login?done=out"); !strings.Contains(body, `<p class="flash" role="status">You have logged out.</p>`) {
			t.Errorf("the login page after logging out:\n%s", body)
		}
		if _, _, body := b.get("/login?done=%3Cscript%3E"); strings.Contains(body, `class="flash"`) {
			t.Errorf("a link makes the login page say something")
		}
		if st, _, _ := b.get(api.Prefix + "/auth/me"); st != http.StatusUnauthorized {
			t.Errorf("API after logout: %d", st)
		}

		c := newBrowser(t, srv.URL)
		c.post("/login", url.Values{"username": {"cust"}, "password": {"Cust-password-1"}})
		_, _, body = c.get("/")
		if strings.Contains(body, "Administration") || strings.Contains(body, "Recent failures") {
			t.Errorf("a customer sees staff sections:\n%s", body)
		}
		// the other account's domain is not counted: zero domains of one's own
		if !strings.Contains(body, `<span class="count">0</span> Domains`) {
			t.Errorf("customer's domain count:\n%s", body)
		}
		// one's own password: errors beside their fields, then changed
		for _, tc := range []struct {
			form  url.Values
			field string
		}{
			{url.Values{"current_password": {"wrong"}, "password": {"N3w-cust-pass!"}, "confirm": {"N3w-cust-pass!"}}, "current_password"},
			{url.Values{"current_password": {"Cust-password-1"}, "password": {"N3w-cust-pass!"}, "confirm": {"other"}}, "confirm"},
			{url.Values{"current_password": {"Cust-password-1"}, "password": {"short"}, "confirm": {"short"}}, "password"},
		} {
			code, _, body := c.post("/password", tc.form)
			if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="`+tc.field+`-error"`) {
				t.Errorf("%v: %d, no error on %s:\n%s", tc.form, code, tc.field, body)
			}
		}
		code, _, body = c.post("/password", url.Values{"current_password": {"Cust-password-1"}, "password": {"N3w-cust-pass!"},
			"confirm": {"N3w-cust-pass!"}})
		if code != http.StatusOK || !strings.Contains(body, "Your password has been changed.") {
			t.Errorf("password change: %d %s", code, body)
		}
		if code, _, _ := newBrowser(t, srv.URL).post("/login", url.Values{"username": {"cust"}, "password": {"N3w-cust-pass!"}}); code != http.StatusSeeOther {
			t.Errorf("login with the new password: %d", code)
		}

		// assets are embedded
		if st, _, js := c.get("/static/htmx.min.js"); st != http.StatusOK || !strings.Contains(js, "htmx") {
			t.Errorf("htmx: %d", st)
		}
	})
}
