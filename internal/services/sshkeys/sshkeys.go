// Package sshkeys is the SSH keys service: public keys a system user logs in
// with, written to its ~/.ssh/authorized_keys on the servers it lives on.
package sshkeys

import (
	"context"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/sshkey"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// Backend is the backend's name, as routes name it.
const Backend = "ssh-keys"

func init() {
	store.RegisterHook("SSHKey", ent.OpCreate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.SSHKeyFunc(func(ctx context.Context, m *ent.SSHKeyMutation) (ent.Value, error) {
			if err := check(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	// The backend applies a system user: authorized_keys holds all its keys,
	// so a key's change (its removal too) writes its user's file again.
	orchestration.Register(&orchestration.Backend{
		Name: Backend, Verbose: "SSH keys (authorized_keys)", Model: "SystemUser", DefaultMatch: "true",
		Actions: []string{orchestration.ActionSave}, // a deleted user's home goes with it
		Related: []orchestration.Related{{Model: "SSHKey", Resolve: func(_ context.Context, _ *ent.Tx, o orchestration.Object) ([]int, error) {
			return []int{o.Int("system_user_id")}, nil
		}}},
		IgnoreFields: []string{"password", "shell", "is_active", "groups"},
		After:        []string{systemusers.Backend}, // the user and its home first
		Load:         load, Apply: apply,
	})
}

// check keeps a key one plain authorized_keys line (no options: they could
// run commands or open tunnels) of a system user of the key's account.
func check(ctx context.Context, m *ent.SSHKeyMutation) error {
	var errs validate.Errors
	errs.Check(ctx, m, "name", func(s string) string {
		if strings.TrimSpace(s) == "" {
			return i18n.T(ctx, "This field is required.")
		}
		return ""
	})
	errs.Check(ctx, m, "key", func(s string) string {
		k, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(s))
		switch {
		case err != nil || len(strings.TrimSpace(string(rest))) > 0 || strings.ContainsAny(s, "\r\n"):
			return i18n.T(ctx, "Enter one public key as ssh-keygen writes it: its type, the key and an optional comment.")
		case len(options) > 0:
			return i18n.T(ctx, "Options are not allowed before the key.")
		}
		m.SetKey(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + strings.TrimRight(" "+comment, " "))
		return ""
	})
	if errs.Has("key") || errs.Has("name") {
		return errs.Err()
	}
	_, err := systemusers.Adopt(ctx, m)
	return err
}

// load reads the user's keys.
func load(ctx context.Context, tx *ent.Tx, o *orchestration.Object) error {
	all, err := tx.SSHKey.Query().Where(sshkey.SystemUserID(o.ID)).Order(sshkey.ByID()).Select(sshkey.FieldKey).Strings(ctx)
	o.Extra = all
	return err
}

// apply writes the user's authorized_keys as the user itself: a link it
// planted in its home leads nowhere it could not write already. A user
// without keys and without the file is left alone (a new user, one whose
// unit has not run yet).
func apply(s *orchestration.Script, _ orchestration.Server, _ string, o orchestration.Object) error {
	content := ""
	for _, line := range o.Extra.([]string) {
		content += line + "\n"
	}
	s.Var("user", o.String("username"))
	s.Var("keys", content)
	s.Raw(`if [[ -n $keys ]] || getent passwd "$user" >/dev/null; then
  runuser -u "$user" -- sh -c 'h=$(getent passwd "$1" | cut -d: -f6) && [ -n "$h" ] && cd "$h" || { [ -z "$2" ]; exit; }
    [ -n "$2" ] || [ -e .ssh/authorized_keys ] || exit 0
    umask 077 && mkdir -p .ssh && printf %s "$2" >.ssh/authorized_keys.new && mv -f .ssh/authorized_keys.new .ssh/authorized_keys' keys "$user" "$keys"
fi`)
	return nil
}
