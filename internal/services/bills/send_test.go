package bills_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/services/bills"
	"github.com/orchestra-panel/orchestra/internal/services/mail/mailtest"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestSendBill: a closed bill goes through the mailer and the real
// Postfix to the account's billing contact only, its PDF attached; the
// PDF's text holds the number, the line and the total; the bill is marked
// sent. An open bill is not sent.
func TestSendBill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := mailtest.Load(t)
		billing := bed.Mailbox(t, "bill"+bed.Token(), "Bill-password-1", 0)
		tech := bed.Mailbox(t, "tech"+bed.Token(), "Tech-password-1", 0)
		host, port, _ := net.SplitHostPort(bed.SMTP)
		env := map[string]string{"ORCHESTRA_MAIL_SMTP_HOST": host, "ORCHESTRA_MAIL_SMTP_PORT": port, "ORCHESTRA_MAIL_SMTP_TLS": "none",
			"ORCHESTRA_MAIL_FROM": "billing@" + bed.Domain}
		if err := settings.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { settings.LoadEnv(func(string) (string, bool) { return "", false }) })

		e := apitest.New(t, st)
		admin := e.Admin()
		cust := e.MakeAccount("cust", "Cust-password-1", false)
		var billID int
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
			tx.Contact.Create().SetAccountID(cust.ID).SetShortName("Accounts").SetEmail(billing.Address).SetEmailUsage([]string{"BILLING"}).ExecX(ctx)
			tx.Contact.Create().SetAccountID(cust.ID).SetShortName("Tech").SetEmail(tech.Address).SetEmailUsage([]string{"TECH"}).ExecX(ctx)
			for _, a := range []int{cust.ID, 1} {
				tx.BillContact.Create().SetAccountID(a).SetAddress("Carrer Gran 1").SetZipcode("08001").SetVat("B1234567" + fmt.Sprint(a)).ExecX(ctx)
			}
			b := tx.Bill.Create().SetAccountID(cust.ID).SetType("INVOICE").SetNumber("OI20269000").SetTotal(dec("0")).SaveX(ctx)
			tx.BillLine.Create().SetBillID(b.ID).SetAccountID(cust.ID).SetDescription("Mailbox sales@example.com").SetSubtotal(dec("30")).
				SetTax(21).SetStartOn(day("2026-12-01")).SetEndOn(day("2027-01-01")).SetVerboseQuantity("1").SetCreatedOn(day("2026-12-01")).ExecX(ctx)
			billID = b.ID
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		admin.Do("POST", fmt.Sprintf("/bills/%d/send", billID), nil).Want(http.StatusConflict) // open
		if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error { return bills.Recompute(ctx, tx, billID) }); err != nil {
			t.Fatal(err)
		}
		closed := admin.Do("POST", fmt.Sprintf("/bills/%d/close", billID), nil).Want(http.StatusOK).JSON()
		number := closed["number"].(string)
		sent := admin.Do("POST", fmt.Sprintf("/bills/%d/send", billID), nil).Want(http.StatusOK).JSON()
		if fmt.Sprint(sent["to"]) != "["+billing.Address+"]" {
			t.Errorf("sent to %v, want the billing contact only", sent["to"])
		}
		c, err := bed.Login(t, billing.Name, billing.Password)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.WaitForSubject("INBOX", "Invoice "+number, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		pdf := attachment(t, got.Body, number+".pdf")
		text := pdfText(t, pdf)
		for _, want := range []string{number, "Mailbox sales@example.com", "36.30", "21% VAT"} {
			if !strings.Contains(text, want) {
				t.Errorf("the mailed PDF lacks %q:\n%s", want, text)
			}
		}
		if b := admin.Do("GET", fmt.Sprintf("/bills/%d", billID), nil).Want(http.StatusOK).JSON(); b["is_sent"] != true {
			t.Error("the bill is not marked sent")
		}
		tc, err := bed.Login(t, tech.Name, tech.Password)
		if err != nil {
			t.Fatal(err)
		}
		if has, err := tc.Has("INBOX", "Invoice "+number); err != nil || has {
			t.Errorf("the technical contact got the bill too (%v)", err)
		}
	})
}

// attachment is the file name's content in a MIME message.
func attachment(t *testing.T, raw, name string) []byte {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			t.Fatalf("no attachment %s in:\n%s", name, raw)
		} else if err != nil {
			t.Fatal(err)
		}
		if p.FileName() != name {
			continue
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
			if err != nil {
				t.Fatal(err)
			}
		}
		return data
	}
}
