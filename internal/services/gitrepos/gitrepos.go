// Package gitrepos is the Git repositories service: bare repositories in a
// system user's ~/git, made and removed as that user on its servers.
package gitrepos

import (
	"cmp"
	"context"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/api/models"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

func init() {
	models.DeclareGitRepository(models.GitRepositoryModel{Name: "git-repository", Plural: "git-repositories", Tag: "Git repositories",
		List: "List Git repositories", Get: "Get a Git repository", Create: "Add a Git repository", Update: "Change a Git repository", Delete: "Remove a Git repository",
		CreateExample: map[string]any{"name": "site", "description": "The shop's code", "system_user": 1},
		UpdateExample: map[string]any{"description": "The old shop", "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "name", "created_at", "account_id"}, Search: []string{"name", "description"}, Default: "name"},
		Presentation: api.Presentation{Name: "git-repository", Label: "Git repositories", Singular: "Git repository", Group: "services", Type: "GitRepository",
			Fieldsets: []api.Fieldset{api.Set("", "system_user", "name", "description")}, Title: "name",
			Columns: []string{"system_user", "description", "account"}, Refs: map[string]string{"system_user": "system-user"}},
	})
	store.RegisterHook("GitRepository", ent.OpCreate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.GitRepositoryFunc(func(ctx context.Context, m *ent.GitRepositoryMutation) (ent.Value, error) {
			var errs validate.Errors
			errs.Check(ctx, m, "name", validate.Is(ctx, validate.Name))
			errs.Check(ctx, m, "description", validate.OneLine(ctx))
			if u, err := systemusers.Adopt(ctx, m); !errs.Merge(err) || errs.Err() != nil {
				return nil, cmp.Or(errs.Err(), err)
			} else if u != nil {
				m.SetOwner(u.Username) // usernames never change; a delete's snapshot names its user
			}
			return next.Mutate(ctx, m)
		})
	})
	orchestration.Register(&orchestration.Backend{Name: "git-repos", Verbose: "Git repositories (git init --bare)", Model: "GitRepository",
		DefaultMatch: "true", After: []string{systemusers.Backend}, Apply: apply})
}

// apply makes, describes or removes a repository as its user (a link it planted leads nowhere it
// could not write already); a user not on the server has nothing to do.
func apply(s *orchestration.Script, _ orchestration.Server, action string, o orchestration.Object) error {
	s.Var("user", o.String("owner"))
	s.Var("action", action)
	s.Var("repo", "git/"+o.String("name")+".git")
	s.Var("description", o.String("description"))
	s.Raw(`if getent passwd "$user" >/dev/null; then
  runuser -u "$user" -- sh -c 'cd "$(getent passwd "$1" | cut -d: -f6)" || exit
    if [ "$2" = delete ]; then rm -rf -- "$3"; exit; fi
    [ -d "$3" ] || git init --bare --quiet "$3" && printf "%s\n" "$4" >"$3/description"' git "$user" "$action" "$repo" "$description"
fi`)
	return nil
}
