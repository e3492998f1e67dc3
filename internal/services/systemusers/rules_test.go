package systemusers_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// fields returns the fields err names (validate.Errors), or nil.
func fields(err error) []string {
	var errs validate.Errors
	if !errors.As(err, &errs) {
		return nil
	}
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

// TestRulesBelowEveryCaller: what the API used to check in its handlers
// (homes, groups of another account, a custom action's arguments, who may
// plan what) is answered the same to a store write or a planner call made
// as the CLI or a job does, and as a customer.
func TestRulesBelowEveryCaller(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		sys := viewer.System(context.Background(), viewer.ChannelCLI)
		var a, b *ent.Account
		err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
			if a, err = tx.Account.Create().SetUsername("rulea").SetPassword("!").SetFullName("A").SetEmail("a@example.com").Save(ctx); err != nil {
				return err
			}
			b, err = tx.Account.Create().SetUsername("ruleb").SetPassword("!").SetFullName("B").SetEmail("b@example.com").Save(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		mainOf := func(acc *ent.Account) *ent.SystemUser {
			return st.SystemUser.Query().Where(systemuser.AccountID(acc.ID), systemuser.IsMain(true)).OnlyX(sys)
		}
		ma, mb := mainOf(a), mainOf(b)
		create := func(ctx context.Context, acc int, set func(*ent.SystemUserCreate)) error {
			return st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				c := tx.SystemUser.Create().SetUsername("rulex").SetAccountID(acc).SetShell(systemusers.ShellNone)
				set(c)
				return c.Exec(ctx)
			})
		}
		cust := viewer.With(context.Background(), viewer.Viewer{AccountID: a.ID, Username: "rulea", Channel: viewer.ChannelAPI})
		for _, ctx := range []context.Context{sys, cust} {
			for _, c := range []struct {
				set   func(*ent.SystemUserCreate)
				field string
			}{
				{func(c *ent.SystemUserCreate) { c.SetHome("/etc") }, "home"},
				{func(c *ent.SystemUserCreate) { c.SetHome("/home/ruleb") }, "home"},
				{func(c *ent.SystemUserCreate) { c.SetHome("/home/rulea/x") }, "home"},
				{func(c *ent.SystemUserCreate) { c.SetHome("/home/rulea").SetDirectory("../ruleb") }, "directory"},
				{func(c *ent.SystemUserCreate) { c.SetHome("/home/rulea").SetDirectory("a\nb") }, "directory"},
				{func(c *ent.SystemUserCreate) { c.AddGroupIDs(mb.ID) }, "groups"},
				{func(c *ent.SystemUserCreate) { c.AddGroupIDs(1 << 30) }, "groups"},
			} {
				if got := fields(create(ctx, a.ID, c.set)); !slices.Equal(got, []string{c.field}) {
					t.Errorf("errors %v, want %s", got, c.field)
				}
			}
		}
		if err := create(cust, a.ID, func(c *ent.SystemUserCreate) { c.SetHome("/home/rulea").SetDirectory("web").AddGroupIDs(ma.ID) }); err != nil {
			t.Fatalf("a user in the main user's home: %v", err)
		}
		// a user others live in cannot go alone; another account's main
		// user is not found, as a missing one
		var y, z *ent.SystemUser
		err = st.Tx(sys, func(ctx context.Context, tx *ent.Tx) (err error) {
			if y, err = tx.SystemUser.Create().SetUsername("ruley").SetAccountID(a.ID).Save(ctx); err != nil {
				return err
			}
			z, err = tx.SystemUser.Create().SetUsername("rulez").SetAccountID(a.ID).SetHome("/home/ruley").Save(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		del := func(ctx context.Context, ids ...int) error {
			return st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				if len(ids) == 1 {
					return tx.SystemUser.DeleteOneID(ids[0]).Exec(ctx)
				}
				_, err := tx.SystemUser.Delete().Where(systemuser.IDIn(ids...)).Exec(ctx)
				return err
			})
		}
		var conflict *validate.Conflict
		if err := del(cust, y.ID); !errors.As(err, &conflict) {
			t.Errorf("deleting a user others live in: %v", err)
		}
		if err := del(cust, mb.ID); !ent.IsNotFound(err) {
			t.Errorf("another account's main user: %v, want not found", err)
		}
		if err := del(cust, y.ID, z.ID); err != nil {
			t.Errorf("a user with those living in it: %v", err)
		}

		p := orchestration.NewPlanner(st)
		sel := func(id int, args map[string]string) orchestration.Selection {
			return orchestration.Selection{Model: "SystemUser", IDs: []int{id}, Backend: systemusers.Backend,
				Action: systemusers.ActionSetPermission, Args: args}
		}
		for _, ctx := range []context.Context{sys, cust} {
			_, err := p.Orchestrate(ctx, sel(ma.ID, map[string]string{"path": "/etc", "access": "rwx", "mode": "give"}), false)
			if got := fields(err); !slices.Equal(got, []string{"path", "access", "mode"}) {
				t.Errorf("bad arguments: %v (%v)", got, err)
			}
			_, err = p.Orchestrate(ctx, sel(ma.ID, map[string]string{"path": "/home/ruleb", "access": "r", "mode": "grant"}), false)
			if got := fields(err); !slices.Equal(got, []string{"path"}) {
				t.Errorf("another account's home: %v (%v)", got, err)
			}
		}
		if _, err := p.Orchestrate(sys, sel(ma.ID, map[string]string{"path": "/home/rulea/web", "access": "r", "mode": "grant"}), true); err != nil {
			t.Errorf("a grant inside the account: %v", err)
		}
		// a customer: its own objects by id, custom actions only
		ok := map[string]string{"path": "/home/rulea", "access": "r", "mode": "grant"}
		if _, err := p.Orchestrate(cust, sel(ma.ID, ok), true); !errors.As(err, new(*authz.Forbidden)) {
			t.Errorf("a dry run as a customer: %v, want forbidden", err)
		}
		if _, err := p.Orchestrate(cust, sel(mb.ID, ok), false); !ent.IsNotFound(err) {
			t.Errorf("another account's user: %v, want not found", err)
		}
		if _, err := p.Orchestrate(cust, sel(1<<30, ok), false); !ent.IsNotFound(err) {
			t.Errorf("a missing user: %v, want not found", err)
		}
		var forbidden *authz.Forbidden
		for _, s := range []orchestration.Selection{
			{Model: "SystemUser", IDs: []int{ma.ID}},
			{Model: "SystemUser", IDs: []int{ma.ID}, Action: orchestration.ActionDelete},
			{Model: "SystemUser", Action: systemusers.ActionSetPermission, Args: ok},
		} {
			if _, err := p.Orchestrate(cust, s, false); !errors.As(err, &forbidden) {
				t.Errorf("%+v as a customer: %v, want forbidden", s, err)
			}
		}
		if _, err := p.Orchestrate(context.Background(), sel(ma.ID, ok), true); !errors.Is(err, authz.ErrAnonymous) {
			t.Errorf("no viewer: %v", err)
		}
	})
}
