package orchestration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	_ "github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/auth"
	_ "github.com/orchestra-panel/orchestra/internal/contacts"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/change"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Test backends: an account's directory and a contact file on a server.
func init() {
	orchestration.Register(&orchestration.Backend{
		Name: "test-account-dir", Model: "Account", IgnoreFields: []string{"comments"},
		Apply: func(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
			dir := srv.Setting("TEST_ROOT", "/tmp/orchestra-test") + "/" + o.String("username")
			if action == orchestration.ActionDelete {
				s.Cmd("rm", "-rf", "--", dir)
			} else {
				s.Cmd("mkdir", "-p", "--", dir)
				s.WriteFile(dir+"/full_name", []byte(o.String("full_name")), "0644")
			}
			return nil
		},
	})
	orchestration.Register(&orchestration.Backend{
		Name: "test-contact", Model: "Contact",
		Apply: func(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
			s.Cmd("echo", action, o.String("short_name"))
			return nil
		},
	})
}

func changes(t *testing.T, st *store.Store) []*ent.Change {
	t.Helper()
	// the main system user every account brings (internal/services/systemusers, linked
	// in through the API) has changes of its own, tested there
	cs, err := st.Change.Query().Where(change.ModelNEQ("SystemUser")).Order(ent.Asc(change.FieldID)).
		All(viewer.System(context.Background(), viewer.ChannelSystem))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func createAccount(t *testing.T, st *store.Store, ctx context.Context, username string, superuser bool) *ent.Account {
	t.Helper()
	hash, _ := auth.HashPassword("Str0ng-pass-phrase")
	var a *ent.Account
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
		a, err = tx.Account.Create().SetUsername(username).SetPassword(hash).SetFullName(username + " full").
			SetEmail(username + "@example.com").SetIsSuperuser(superuser).Save(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestChangeCapture(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		cli := viewer.System(context.Background(), viewer.ChannelCLI)

		// A CLI-channel write.
		admin := createAccount(t, st, cli, "admin", true)
		cs := changes(t, st)
		if len(cs) != 1 || cs[0].Model != "Account" || cs[0].ObjectID != admin.ID || cs[0].Action != "save" ||
			cs[0].Channel != viewer.ChannelCLI || cs[0].Snapshot["username"] != "admin" || cs[0].Snapshot["is_superuser"] != true {
			t.Fatalf("CLI create: changes %+v", cs)
		}

		// An API write.
		srv := httptest.NewServer(api.New(st, api.Config{Version: "test"}))
		defer srv.Close()
		c := &http.Client{}
		tok := ""
		{
			var tk *ent.Token
			_ = tk
			body, _ := json.Marshal(map[string]any{"username": "admin", "password": "Str0ng-pass-phrase"})
			res, err := http.Post(srv.URL+api.Prefix+"/auth/login", "application/json", bytes.NewReader(body))
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("login: %v %v", err, res)
			}
			cookie := res.Header.Get("Set-Cookie")
			res.Body.Close()
			req, _ := http.NewRequest("POST", srv.URL+api.Prefix+"/tokens", bytes.NewReader([]byte(`{"name":"t"}`)))
			req.Header.Set("Cookie", cookie)
			req.Header.Set("Content-Type", "application/json")
			res, err = c.Do(req)
			if err != nil || res.StatusCode != 201 {
				t.Fatalf("token: %v %v", err, res)
			}
			var out map[string]any
			json.NewDecoder(res.Body).Decode(&out)
			res.Body.Close()
			tok = out["token"].(string)
		}
		post := func(path string, body any) map[string]any {
			b, _ := json.Marshal(body)
			req, _ := http.NewRequest("POST", srv.URL+api.Prefix+path, bytes.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			res, err := c.Do(req)
			if err != nil || res.StatusCode != 201 {
				t.Fatalf("POST %s: %v %v", path, err, res)
			}
			defer res.Body.Close()
			var out map[string]any
			json.NewDecoder(res.Body).Decode(&out)
			return out
		}
		acc := post("/accounts", map[string]any{"username": "alice", "full_name": "Alice", "email": "a@example.com"})
		aliceID := int(acc["id"].(float64))
		post("/contacts", map[string]any{"account": aliceID, "short_name": "Alice's contact", "email": "c@example.com"})
		post("/contacts", map[string]any{"account": aliceID, "short_name": "Second", "email": "d@example.com"})
		cs = changes(t, st)
		if len(cs) != 4 || cs[1].Model != "Account" || cs[1].ObjectID != aliceID || cs[1].Channel != viewer.ChannelAPI ||
			cs[1].Actor != "admin" || cs[2].Model != "Contact" || cs[2].Snapshot["account_id"] != float64(aliceID) ||
			cs[2].AccountID == nil || *cs[2].AccountID != aliceID {
			t.Fatalf("API writes: changes %+v", cs[1:])
		}

		// A bulk update: one change per row, with the fields set.
		bob := createAccount(t, st, cli, "bob", false)
		n := len(changes(t, st))
		err := st.Tx(cli, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Account.Update().Where(account.IsSuperuser(false)).SetFullName("Renamed").Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		cs = changes(t, st)[n:]
		if len(cs) != 2 || cs[0].Snapshot["full_name"] != "Renamed" || cs[1].Snapshot["full_name"] != "Renamed" ||
			len(cs[0].Fields) == 0 {
			t.Fatalf("bulk update: changes %+v", cs)
		}
		seen := map[int]bool{cs[0].ObjectID: true, cs[1].ObjectID: true}
		if !seen[aliceID] || !seen[bob.ID] {
			t.Fatalf("bulk update changed %v, want alice and bob", seen)
		}

		// A rolled-back transaction leaves none.
		n = len(changes(t, st))
		err = st.Tx(cli, func(ctx context.Context, tx *ent.Tx) error {
			if err := tx.Account.UpdateOneID(bob.ID).SetFullName("Never").Exec(ctx); err != nil {
				return err
			}
			return errors.New("changed my mind")
		})
		if err == nil || len(changes(t, st)) != n {
			t.Fatalf("rolled back: %v, %d changes, want %d", err, len(changes(t, st)), n)
		}

		// A cascading delete: the account and each of its contacts, contacts
		// first, snapshots as they were.
		err = st.Tx(cli, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Account.DeleteOneID(aliceID).Exec(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
		cs = changes(t, st)[n:]
		if len(cs) != 3 || cs[0].Model != "Contact" || cs[1].Model != "Contact" || cs[2].Model != "Account" ||
			cs[2].Action != "delete" || cs[0].Action != "delete" || cs[2].Snapshot["username"] != "alice" ||
			cs[0].Snapshot["short_name"] != "Alice's contact" {
			t.Fatalf("cascading delete: changes %+v", cs)
		}
		for _, c := range cs {
			if c.PlannedAt != nil {
				t.Errorf("change %d already planned", c.ID)
			}
		}
	})
}

func asErrors(err error, target *validate.Errors) bool { return errors.As(err, target) }
