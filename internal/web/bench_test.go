package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/orchestra-panel/orchestra/internal/web"
)

// BenchmarkPages times the server side of the main pages with 100,000
// domains (of 1,000 accounts) in the list, for staff and for a customer:
//
//	./do test -run '^$' -bench Pages -benchtime 50x ./internal/web/
func BenchmarkPages(b *testing.B) {
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		a := api.New(st, api.Config{Version: "bench"})
		top := http.NewServeMux()
		top.Handle(api.Prefix+"/", a)
		top.Handle("/", web.New(a))
		srv := httptest.NewServer(top)
		defer srv.Close()
		staff := account(b, st, "admin", "Adm1n-password!", true)
		cust := account(b, st, "cust", "Cust-password-1", false)
		first, owned := seedDomains(b, st, 1000, 100_000, cust.ID)

		for _, who := range []struct{ name, user, pw string }{{"staff", "admin", "Adm1n-password!"}, {"customer", "cust", "Cust-password-1"}} {
			c := newBrowser(b, srv.URL)
			if code, _, _ := c.post("/login", map[string][]string{"username": {who.user}, "password": {who.pw}}); code != http.StatusSeeOther {
				b.Fatalf("login %s: %d", who.user, code)
			}
			pages := []string{"/", "/domains/", "/domains/?page=1000", "/domains/?q=d0999", "/domains/?o=-name",
				"/domains/?q=account%3D" + strconv.Itoa(cust.ID), "/domains/" + strconv.Itoa(owned), "/domains/new",
				"/accounts/" + strconv.Itoa(cust.ID), "/search?q=d09999"}
			if who.name == "staff" {
				pages = append(pages, "/domains/"+strconv.Itoa(first), "/accounts/"+strconv.Itoa(staff.ID), "/accounts/")
			}
			for _, p := range pages {
				b.Run(who.name+" "+p, func(b *testing.B) {
					req, _ := http.NewRequest("GET", srv.URL+p, nil)
					for b.Loop() {
						res, err := c.c.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != http.StatusOK {
							b.Fatalf("%s: status %d", p, res.StatusCode)
						}
					}
				})
			}
		}
	})
}

// seedDomains adds n domains spread over accounts new accounts, and 100
// more for the account own; it returns the first domain's id and one of own's.
func seedDomains(b testing.TB, st *store.Store, accounts, n, own int) (first, owned int) {
	ctx := orchestration.WithoutChanges(audit.Without(viewer.System(context.Background(), viewer.ChannelCLI)))
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		ids := make([]int, 0, accounts)
		for i := 0; i < accounts; i += 500 {
			bulk := make([]*ent.AccountCreate, 0, 500)
			for j := i; j < min(i+500, accounts); j++ {
				bulk = append(bulk, tx.Account.Create().SetUsername(fmt.Sprintf("user%05d", j)).
					SetFullName(fmt.Sprintf("User %d", j)).SetEmail(fmt.Sprintf("u%d@example.com", j)).SetPassword("!"))
			}
			accs, err := tx.Account.CreateBulk(bulk...).Save(ctx)
			if err != nil {
				return err
			}
			for _, a := range accs {
				ids = append(ids, a.ID)
			}
		}
		// plain INSERTs: the domain hook's checks (parents, subdomains) make
		// adding 100,000 one by one quadratic, and a seed needs none of them
		for i := 0; i < n+100; i += 1000 {
			var sb strings.Builder
			sb.WriteString("INSERT INTO domains (created_at, updated_at, name, serial, account_id) VALUES ")
			for j := i; j < min(i+1000, n+100); j++ {
				acc := ids[j%len(ids)]
				if j >= n {
					acc = own
				}
				if j > i {
					sb.WriteString(", ")
				}
				fmt.Fprintf(&sb, "(CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'd%06d.example', 2026010101, %d)", j, acc)
			}
			if _, err := tx.ExecContext(ctx, sb.String()); err != nil {
				return err
			}
		}
		var err error
		if first, err = tx.Domain.Query().Aggregate(ent.Min(domain.FieldID)).Int(ctx); err != nil {
			return err
		}
		owned, err = tx.Domain.Query().Where(domain.AccountID(own)).FirstID(ctx)
		if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return first, owned
}
