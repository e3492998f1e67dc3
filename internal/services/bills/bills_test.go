package bills_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"
	"github.com/orchestra-panel/orchestra/internal/services/billing"
	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
	"github.com/orchestra-panel/orchestra/internal/services/bills"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/order"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var sys = viewer.System(context.Background(), viewer.ChannelSystem)

func consumeAll(t *testing.T, st *store.Store) {
	t.Helper()
	for {
		n, err := orchestration.Consume(sys, st, billing.ConsumerName)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestBillingRun: a customer's domains become orders the moment they are
// made; a run previews every line and changes nothing, then bills them to
// one open invoice with the plan's discount; a second run finds nothing
// left; undoing the open bill gives the orders back; closing needs the
// invoice contacts and gives the final number; an amendment reverses it;
// customers read their bills and change none.
func TestBillingRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		custID := e.MakeAccount("cust", "Cust-password-1", false).ID
		cust := e.Login("cust", "Cust-password-1")
		svc := admin.Do("POST", "/services", map[string]any{"description": "Domain", "model": "Domain", "nominal_price": "10",
			"billing_period": "MONTHLY", "tax": 21, "order_description": `"Domain " + domain.name`}).Want(http.StatusCreated).ID()
		basic := admin.Do("POST", "/plans", map[string]any{"name": "basic", "is_default": true}).Want(http.StatusCreated).ID()
		// the first domain free, the rest at the nominal price (concurrent)
		admin.Do("POST", "/rates", map[string]any{"service": svc, "plan": basic, "quantity": 0, "price": "0"}).Want(http.StatusCreated)
		admin.Do("POST", "/rates", map[string]any{"service": svc, "plan": basic, "quantity": 2, "price": "10"}).Want(http.StatusCreated)
		for _, n := range []string{"a.example", "b.example"} {
			cust.Do("POST", "/domains", map[string]any{"name": n}).Want(http.StatusCreated)
		}
		consumeAll(t, st)
		// registered on 1 November, billed on 1 December (prepay: to 1 January)
		orders, err := st.Order.Query().Where(order.ServiceID(svc)).Order(ent.Asc(order.FieldID)).All(sys)
		if err != nil || len(orders) != 2 {
			t.Fatalf("the domains' orders: %v %v", orders, err)
		}
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			q := `UPDATE "orders" SET "registered_on" = $1`
			if tx.Dialect() != "postgres" {
				q = `UPDATE "orders" SET "registered_on" = ?`
			}
			_, err := tx.ExecContext(ctx, q, day("2026-11-01"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ids := []int{orders[0].ID, orders[1].ID}

		// what the account pays a month: the first domain free, the second
		// 10.00, with 21% tax
		monthly := cust.Do("GET", fmt.Sprintf("/accounts/%d/monthly", custID), nil).Want(http.StatusOK).JSON()
		if monthly["total"] != "12.1" || len(monthly["services"].([]any)) != 1 {
			t.Errorf("the account's monthly cost: %v", monthly)
		}
		e.MakeAccount("other", "Other-password-1", false)
		e.Login("other", "Other-password-1").Do("GET", fmt.Sprintf("/accounts/%d/monthly", custID), nil).Want(http.StatusNotFound)

		run := func(commit bool) map[string]any {
			return admin.Do("POST", "/orders/bill", map[string]any{"orders": ids, "billing_point": "2026-12-01", "commit": commit}).
				Want(http.StatusOK).JSON()
		}
		// 1 Nov → 1 Jan = 2 months each: a.example 2 × 10 = 20.00 less the
		// free first unit (PLAN −20.00); b.example 20.00; +21% = 24.20
		preview := run(false)
		accts := preview["accounts"].([]any)
		if preview["committed"] != false || len(accts) != 1 {
			t.Fatalf("the preview: %v", preview)
		}
		acct := accts[0].(map[string]any)
		lines := acct["lines"].([]any)
		var got []string
		for _, l := range lines {
			l := l.(map[string]any)
			s := fmt.Sprintf("%s %s→%s %s %s", l["description"], l["start_on"], l["end_on"], l["quantity"], l["subtotal"])
			for _, d := range l["discounts"].([]any) {
				d := d.(map[string]any)
				s += fmt.Sprintf(" %s %s", d["type"], d["total"])
			}
			got = append(got, s)
		}
		// amounts to the cent, as the bill prints them
		want := "Domain a.example 2026-11-01→2027-01-01 2 20.00 PLAN -20.00|Domain b.example 2026-11-01→2027-01-01 2 20.00"
		if strings.Join(got, "|") != want || acct["total"] != "24.20" {
			t.Errorf("the preview's lines:\n got %s (total %v)\nwant %s (total 24.20)", strings.Join(got, "|"), acct["total"], want)
		}
		if n, _ := st.Bill.Query().Count(sys); n != 0 {
			t.Fatal("a preview made bills")
		}
		if o, _ := st.Order.Get(sys, ids[0]); o.BilledUntil != nil {
			t.Fatal("a preview billed an order")
		}

		done := run(true)
		billID := int(done["accounts"].([]any)[0].(map[string]any)["bills"].([]any)[0].(float64))
		b := admin.Do("GET", fmt.Sprintf("/bills/%d", billID), nil).Want(http.StatusOK).JSON()
		if b["type"] != "INVOICE" || b["is_open"] != true || b["total"] != "24.2" || !strings.HasPrefix(b["number"].(string), "OI2026") {
			t.Errorf("the run's bill: %v", b)
		}
		if o, _ := st.Order.Get(sys, ids[0]); o.BilledUntil == nil || !o.BilledUntil.Equal(day("2027-01-01")) {
			t.Errorf("the order is not billed until 1 January: %v", o)
		}
		if again := run(false); len(again["accounts"].([]any)) != 0 {
			t.Errorf("a second run finds lines: %v", again)
		}

		// undo: the open bill goes, the orders are to bill again
		cust.Do("DELETE", fmt.Sprintf("/bills/%d", billID), nil).Want(http.StatusForbidden)
		admin.Do("DELETE", fmt.Sprintf("/bills/%d", billID), nil).Want(http.StatusNoContent)
		if o, _ := st.Order.Get(sys, ids[0]); o.BilledUntil != nil || o.BilledOn != nil {
			t.Errorf("undoing left the order billed: %v", o)
		}
		done = run(true)
		billID = int(done["accounts"].([]any)[0].(map[string]any)["bills"].([]any)[0].(float64))

		// closing needs both invoice contacts
		closed := admin.Do("POST", fmt.Sprintf("/bills/%d/close", billID), nil).Want(http.StatusConflict).JSON()
		if d := fmt.Sprint(closed["detail"]); !strings.Contains(d, "the account") || !strings.Contains(d, "main account") {
			t.Errorf("closing without contacts: %v", closed)
		}
		bad := cust.Do("POST", "/bill-contacts", map[string]any{"address": " ", "zipcode": "8", "country": "Spain", "vat": ""}).
			Want(http.StatusUnprocessableEntity).FieldErrors()
		if slices.Sort(bad); strings.Join(bad, ",") != "body.address,body.country,body.vat,body.zipcode" {
			t.Errorf("a bad invoice contact's errors: %v", bad)
		}
		cust.Do("POST", "/bill-contacts", map[string]any{"address": "Carrer Gran 1", "zipcode": "08001", "vat": "12345678Z"}).Want(http.StatusCreated)
		admin.Do("POST", "/bill-contacts", map[string]any{"account": 1, "name": "Hosting SL", "address": "Carrer Major 2", "zipcode": "08002", "vat": "B00000000"}).
			Want(http.StatusCreated)
		cust.Do("POST", fmt.Sprintf("/bills/%d/close", billID), nil).Want(http.StatusForbidden)
		b = admin.Do("POST", fmt.Sprintf("/bills/%d/close", billID), nil).Want(http.StatusOK).JSON()
		// the year's first closed invoice: open numbers are a sequence of their own
		if b["is_open"] != false || b["number"] != fmt.Sprintf("I%d0001", time.Now().Year()) || b["due_on"] == nil {
			t.Errorf("the closed bill: %v", b)
		}
		admin.Do("DELETE", fmt.Sprintf("/bills/%d", billID), nil).Want(http.StatusConflict)

		// its document: the HTML frozen at close, and its PDF as the customer reads it
		html := string(cust.Do("GET", fmt.Sprintf("/bills/%d/document", billID), nil).Want(http.StatusOK).Body)
		for _, want := range []string{b["number"].(string), "Domain a.example", "Hosting SL", "12345678Z"} {
			if !strings.Contains(html, want) {
				t.Errorf("the bill's HTML lacks %q", want)
			}
		}
		cust.Header = http.Header{"Accept": {"application/pdf"}}
		pdf := cust.Do("GET", fmt.Sprintf("/bills/%d/document", billID), nil).Want(http.StatusOK)
		cust.Header = nil
		if ct := pdf.Header.Get("Content-Type"); ct != "application/pdf" {
			t.Fatalf("the PDF's type: %s", ct)
		}
		text := pdfText(t, pdf.Body)
		for _, want := range []string{b["number"].(string), "Domain a.example", "Domain b.example", "24.20", "21% VAT", "4.20", "Page 1 of 1"} {
			if !strings.Contains(text, want) {
				t.Errorf("the PDF's text lacks %q:\n%s", want, text)
			}
		}
		admin.Do("PATCH", fmt.Sprintf("/bills/%d", billID), map[string]any{"comments": "late", "version": b["version"]}).Want(http.StatusConflict)

		// the amendment reverses it
		am := admin.Do("POST", fmt.Sprintf("/bills/%d/amend", billID), map[string]any{}).Want(http.StatusCreated).JSON()
		if am["type"] != "AMENDMENTINVOICE" || am["total"] != "-24.2" || am["amend_of"] != float64(billID) {
			t.Errorf("the amendment: %v", am)
		}

		// customers read theirs
		list := cust.Do("GET", "/bills", nil).Want(http.StatusOK).JSON()["results"].([]any)
		if len(list) != 2 {
			t.Errorf("the customer's bills: %v", list)
		}
		ls := cust.Do("GET", fmt.Sprintf("/bill-lines?bill=%d", billID), nil).Want(http.StatusOK).JSON()["results"].([]any)
		if len(ls) != 2 || ls[0].(map[string]any)["total"] != "0" {
			t.Errorf("the customer's bill lines: %v", ls)
		}
	})
}

// pdfText is a PDF's text, as pdftotext lays it out.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("ORCHESTRA_TEST_BROWSER_REQUIRED") == "" {
			t.Skip("no pdftotext")
		}
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "bill.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestRunCancelled: an order cancelled mid-period after being billed in
// advance is credited as its service says: DISCOUNT cuts the next run at
// the cancellation (nothing more to charge), REFUND credits the paid time
// after it on the next run.
func TestRunCancelled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		cust := e.MakeAccount("cust", "Cust-password-1", false)
		for _, c := range []struct {
			onCancel string
			want     string
		}{
			{"DISCOUNT", ""},
			// billed 1 Dec → 1 Jan at 31.00, cancelled 11 Dec: 11 Dec → 1 Jan = 21/31 = 0.68 (half-even 0.677…)
			// month refunded: −31.00 × 0.68 = −21.08
			{"REFUND", "-21.08"},
		} {
			var out []bills.AccountRun
			err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
				s := tx.Service.Create().SetDescription("Plan " + c.onCancel).SetModel("Account").SetNominalPrice(dec("31")).
					SetBillingPeriod("MONTHLY").SetOnCancel(c.onCancel).SaveX(ctx)
				o := tx.Order.Create().SetAccountID(cust.ID).SetServiceID(s.ID).SetModel("Account").SetObjectID(cust.ID).
					SetRegisteredOn(day("2026-11-01")).SetBilledOn(day("2026-12-01")).SetBilledUntil(day("2027-01-01")).
					SetCancelledOn(day("2026-12-11")).SetDescription("Plan").SaveX(ctx)
				var err error
				out, err = bills.Run(ctx, tx, []int{o.ID}, bills.Options{Today: day("2026-12-20")}, true)
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", c.onCancel, err)
			}
			total := ""
			if len(out) > 0 {
				total = out[0].Lines[0].Total.StringFixed(2)
			}
			if total != c.want && !(c.want == "" && len(out) == 0) {
				t.Errorf("%s: the next run charges %q, want %q (%v)", c.onCancel, total, c.want, out)
			}
		}
	})
}

// TestRunCompensates: a service deleted mid-period and made again (a new
// order) under COMPENSATE: the next run charges the new order from its
// registration and credits the time the cancelled one had paid, and the
// cancelled one's paid time is used up.
func TestRunCompensates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		cust := e.MakeAccount("cust", "Cust-password-1", false)
		var out []bills.AccountRun
		var giver *ent.Order
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			s := tx.Service.Create().SetDescription("Mailbox").SetModel("Account").SetNominalPrice(dec("31")).
				SetBillingPeriod("MONTHLY").SetOnCancel("COMPENSATE").SaveX(ctx)
			giver = tx.Order.Create().SetAccountID(cust.ID).SetServiceID(s.ID).SetModel("Account").SetObjectID(cust.ID).
				SetRegisteredOn(day("2026-11-01")).SetBilledOn(day("2026-12-01")).SetBilledUntil(day("2027-01-01")).
				SetCancelledOn(day("2026-12-11")).SetDescription("Mailbox old").SaveX(ctx)
			r := tx.Order.Create().SetAccountID(cust.ID).SetServiceID(s.ID).SetModel("Account").SetObjectID(cust.ID).
				SetRegisteredOn(day("2026-12-11")).SetDescription("Mailbox new").SaveX(ctx)
			var err error
			out, err = bills.Run(ctx, tx, []int{r.ID}, bills.Options{Today: day("2026-12-20")}, true)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// 11 Dec → 1 Jan = 21/31 = 0.68 × 31.00 = 21.08, all of it credited
		// from the old order's paid 11 Dec → 1 Jan
		if len(out) != 1 || len(out[0].Lines) != 1 {
			t.Fatalf("the run: %+v", out)
		}
		l := out[0].Lines[0]
		if l.Subtotal.StringFixed(2) != "21.08" || len(l.Discounts) != 1 || l.Discounts[0].Type != "COMPENSATION" ||
			l.Discounts[0].Total.StringFixed(2) != "-21.08" || l.Total.StringFixed(2) != "0.00" {
			t.Errorf("the new order's line: %+v", l)
		}
		g, err := st.Order.Get(sys, giver.ID)
		if err != nil || g.BilledUntil == nil || !g.BilledUntil.Equal(day("2026-12-11")) {
			t.Errorf("the cancelled order's paid time is not used up: %v %v", g, err)
		}
	})
}

// TestCustomerServicesBilled: a customer's mailbox, database and website
// become orders the moment they are made, through the API as the customer
// makes them; a run bills a month of each on one invoice; the website
// deleted, the next run refunds the month it had paid (its service says
// REFUND).
func TestCustomerServicesBilled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		admin := e.Admin()
		e.MakeAccount("cust", "Cust-password-1", false)
		cust := e.Login("cust", "Cust-password-1")
		for model, s := range map[string][2]string{"Mailbox": {"2", "DISCOUNT"}, "Database": {"3", "DISCOUNT"}, "Website": {"5", "REFUND"}} {
			admin.Do("POST", "/services", map[string]any{"description": model, "model": model, "nominal_price": s[0], "billing_period": "MONTHLY",
				"on_cancel": s[1], "ignore_period": "", "order_description": fmt.Sprintf("%q + obj.name", model+" ")}).Want(http.StatusCreated)
		}
		dom := cust.Do("POST", "/domains", map[string]any{"name": "cust.example"}).Want(http.StatusCreated).ID()
		cust.Do("POST", "/mailboxes", map[string]any{"name": "custbox", "password": "Mailbox-secret-71"}).Want(http.StatusCreated)
		cust.Do("POST", "/databases", map[string]any{"name": "custdb", "type": "mysql", "user": map[string]any{"username": "custdb", "password": "Database-secret-72"}}).Want(http.StatusCreated)
		site := cust.Do("POST", "/websites", map[string]any{"name": "www", "domains": []int{dom}}).Want(http.StatusCreated).ID()
		consumeAll(t, st)
		list := cust.Do("GET", "/orders?page_size=50", nil).Want(http.StatusOK).JSON()["results"].([]any)
		var ids []int
		var descs []string
		var registered time.Time
		for _, o := range list {
			o := o.(map[string]any)
			ids = append(ids, int(o["id"].(float64)))
			descs = append(descs, o["description"].(string))
			registered, _ = time.Parse(time.RFC3339, o["registered_on"].(string))
		}
		slices.Sort(descs)
		if strings.Join(descs, "|") != "Database custdb|Mailbox custbox|Website www" {
			t.Fatalf("the customer's orders: %v", descs)
		}
		// one whole month from the day they were registered (the 31st's
		// month ends on the next month's last day)
		month := period.AddMonths(registered.UTC(), 1)
		run := admin.Do("POST", "/orders/bill", map[string]any{"orders": ids, "billing_point": month.Format(time.DateOnly), "fixed_point": true, "commit": true}).
			Want(http.StatusOK).JSON()
		acct := run["accounts"].([]any)[0].(map[string]any)
		var lines []string
		for _, l := range acct["lines"].([]any) {
			l := l.(map[string]any)
			lines = append(lines, fmt.Sprintf("%s %s %s", l["description"], l["quantity"], l["total"]))
		}
		slices.Sort(lines)
		if strings.Join(lines, "|") != "Database custdb 1 3.00|Mailbox custbox 1 2.00|Website www 1 5.00" || acct["total"] != "10.00" {
			t.Errorf("a month of each: %v (total %v)", lines, acct["total"])
		}
		cust.Do("DELETE", fmt.Sprintf("/websites/%d", site), nil).Want(http.StatusNoContent)
		consumeAll(t, st)
		refund := admin.Do("POST", "/orders/bill", map[string]any{"orders": ids, "commit": true}).Want(http.StatusOK).JSON()
		accts := refund["accounts"].([]any)
		if len(accts) != 1 || len(accts[0].(map[string]any)["lines"].([]any)) != 1 {
			t.Fatalf("the run after the website went: %v", refund)
		}
		l := accts[0].(map[string]any)["lines"].([]any)[0].(map[string]any)
		if l["description"] != "Website www" || l["total"] != "-5.00" {
			t.Errorf("the website's month is not refunded: %v", l)
		}
	})
}
