package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/resources"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/shopspring/decimal"
)

func init() {
	resources.RegisterMonitor(resources.Monitor{Backend: &orchestration.Backend{Name: "test-domain-monitor", Model: "Domain",
		Apply: func(*orchestration.Script, orchestration.Server, string, orchestration.Object) error { return nil }}})
}

// TestUsagePages: a customer's object page shows its usage of each
// resource as a meter of its allocation, its account page the sums per
// resource, and the usage's page a chart; customers are offered no change.
func TestUsagePages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		var usage int
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			r := tx.Resource.Create().SetName("records").SetLabel("Domain records").SetModel("Domain").SetUnit("records").
				SetMonitors([]string{"test-domain-monitor"}).SaveX(ctx)
			for i, d := range []*ent.Domain{f.ownDomain, tx.Domain.Create().SetName("two.example").SetAccountID(f.cust.ID).SaveX(ctx)} {
				id := tx.ResourceData.Create().SetResourceID(r.ID).SetObjectID(d.ID).SetAccountID(f.cust.ID).
					SetUsed(decimal.RequireFromString([]string{"12.500", "40"}[i])).SetAllocated(30).SetExceeded(i == 1).SaveX(ctx).ID
				if i == 0 {
					usage = id
				}
				tx.MonitorSample.Create().SetMonitor("test-domain-monitor").SetObjectID(d.ID).SetCreatedAt(time.Now().Add(-time.Hour)).SetValue(decimal.NewFromInt(12)).ExecX(ctx)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		b := f.login(t, "cust", "Cust-password-1")
		_, _, page := b.get(fmt.Sprintf("/domains/%d", f.ownDomain.ID))
		if !strings.Contains(page, `<meter min="0" max="30"`) || !strings.Contains(page, "12.5 of 30 records") {
			t.Errorf("the domain's page shows no usage meter:\n%s", page)
		}
		_, _, page = b.get(fmt.Sprintf("/accounts/%d", f.cust.ID))
		if !strings.Contains(page, "52.5 of 60 records · 2 objects (Domains)") || !strings.Contains(page, "over its allocation") {
			t.Errorf("the account's page sums no usage:\n%s", page)
		}
		code, _, page := b.get(fmt.Sprintf("/usage/%d", usage))
		if code != http.StatusOK || !strings.Contains(page, `<svg viewBox="0 0 640 220" role="img"`) || !strings.Contains(page, `<circle cx=`) || strings.Contains(page, "/edit") {
			t.Errorf("the usage's page (%d):\n%s", code, page)
		}
		for _, internal := range []string{"<dt>Object</dt>", "<dt>Resource</dt>", "<dt>Name</dt>"} {
			if strings.Contains(page, internal) {
				t.Errorf("the customer's usage page shows %s, staff's only:\n%s", internal, page)
			}
		}
		_, _, page = f.login(t, "admin", "Adm1n-password!").get(fmt.Sprintf("/usage/%d", usage))
		for _, detail := range []string{"<dt>Object</dt>", "<dt>Resource</dt>", "<dt>Name</dt>"} {
			if !strings.Contains(page, detail) {
				t.Errorf("staff's usage page leaves out %s:\n%s", detail, page)
			}
		}
	})
}

// TestAccountMonthly: an account's page says what it pays a month for the
// services it has, in the currency of bills, taxes included.
func TestAccountMonthly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			s := tx.Service.Create().SetDescription("Hosting plan").SetModel("Account").SetNominalPrice(decimal.RequireFromString("10")).
				SetBillingPeriod("MONTHLY").SetTax(21).SaveX(ctx)
			return tx.Order.Create().SetAccountID(f.cust.ID).SetServiceID(s.ID).SetModel("Account").SetObjectID(f.cust.ID).
				SetRegisteredOn(time.Now().AddDate(0, -1, 0)).SetDescription("Hosting plan").Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		_, _, page := f.login(t, "cust", "Cust-password-1").get(fmt.Sprintf("/accounts/%d", f.cust.ID))
		if !strings.Contains(page, "Monthly cost") || !strings.Contains(page, "<strong>12.10 €</strong>") || !strings.Contains(page, "Hosting plan") {
			t.Errorf("the account's page says nothing of what it pays a month:\n%s", page)
		}
	})
}

// TestBillOrdersPreviewed: staff choose orders in their list and bill
// them: a preview shows every line and changes nothing; going ahead makes
// the bill. Customers are not offered it.
func TestBillOrdersPreviewed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		var oid int
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			s := tx.Service.Create().SetDescription("Hosting plan").SetModel("Account").SetNominalPrice(decimal.RequireFromString("10")).
				SetBillingPeriod("MONTHLY").SetTax(21).SaveX(ctx)
			oid = tx.Order.Create().SetAccountID(f.cust.ID).SetServiceID(s.ID).SetModel("Account").SetObjectID(f.cust.ID).
				SetRegisteredOn(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)).SetDescription("Hosting plan for cust").SaveX(ctx).ID
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		_, _, page := f.login(t, "cust", "Cust-password-1").get("/orders/")
		if strings.Contains(page, `value="bill"`) {
			t.Error("a customer is offered to bill orders")
		}
		b := f.login(t, "admin", "Adm1n-password!")
		if _, _, page = b.get("/orders/"); !strings.Contains(page, `value="bill"`) {
			t.Errorf("staff are not offered to bill orders:\n%s", page)
		}
		form := url.Values{"action": {"bill"}, "ids": {strconv.Itoa(oid)}}
		code, _, page := b.post("/orders/bulk", form)
		if code != http.StatusOK || !strings.Contains(page, "Hosting plan for cust") || !strings.Contains(page, "nothing has changed yet") {
			t.Fatalf("the preview (%d):\n%s", code, page)
		}
		if n, _ := st.Bill.Query().Count(sys); n != 0 {
			t.Fatal("the preview made a bill")
		}
		form.Set("confirm", "yes")
		if code, _, page = b.post("/orders/bulk", form); code != http.StatusOK || !strings.Contains(page, "Hosting plan for cust") {
			t.Fatalf("billing (%d):\n%s", code, page)
		}
		bs, _ := st.Bill.Query().All(sys)
		if len(bs) != 1 {
			t.Fatalf("billing made %d bills, want 1", len(bs))
		}
		// the customer downloads the bill's PDF from its page; no one else can
		billURL := fmt.Sprintf("/bills/%d", bs[0].ID)
		cust := f.login(t, "cust", "Cust-password-1")
		if _, _, page = cust.get(billURL); !strings.Contains(page, `href="`+billURL+`/download/document"`) || !strings.Contains(page, "Download PDF") {
			t.Errorf("the customer's bill page offers no PDF:\n%s", page)
		}
		if !strings.Contains(page, "<dd>24.20</dd>") || !strings.Contains(page, `data-label="Subtotal">20.00<`) {
			t.Errorf("the bill's amounts are not to the cent (24.20, a line of 20.00):\n%s", page)
		}
		if strings.Contains(page, "INVOICE") || !strings.Contains(page, "Invoice") {
			t.Errorf("the bill's type is not in words:\n%s", page)
		}
		if !strings.Contains(page, "Hosting plan for cust") {
			t.Errorf("the customer's bill page does not show its line:\n%s", page)
		}
		if _, _, home := cust.get("/"); strings.Contains(home, `href="/bill-lines/"`) || !strings.Contains(home, `href="/bills/"`) {
			t.Errorf("the navigation should offer bills and leave their lines to the bills' pages:\n%s", home)
		}
		if code, _, pdf := cust.get(billURL + "/download/document"); code != http.StatusOK || !strings.HasPrefix(pdf, "%PDF-") {
			t.Errorf("the customer's PDF (%d): %.40q", code, pdf)
		}
		if code, _, pdf := f.login(t, "other", "Other-password-1").get(billURL + "/download/document"); code != http.StatusNotFound || strings.HasPrefix(pdf, "%PDF-") {
			t.Errorf("another customer downloads the bill: %d", code)
		}
		if code, _, _ := cust.get(billURL + "/download/nothing"); code != http.StatusNotFound {
			t.Errorf("an unknown download: %d", code)
		}
		// staff change or delete an open bill; a closed one is amended instead
		if _, _, page = b.get(billURL); !strings.Contains(page, `href="`+billURL+`/edit"`) || !strings.Contains(page, `href="`+billURL+`/delete"`) {
			t.Errorf("staff are not offered to change or delete an open bill:\n%s", page)
		}
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Bill.UpdateOneID(bs[0].ID).SetIsOpen(false).Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		if _, _, page = b.get(billURL); strings.Contains(page, `href="`+billURL+`/edit"`) || strings.Contains(page, `href="`+billURL+`/delete"`) {
			t.Errorf("staff are offered to change or delete a closed bill:\n%s", page)
		}
	})
}
