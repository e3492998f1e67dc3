package gitrepos_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestGitRepositoriesOverAPI: a customer's repository is one its user pushes to on the server,
// described as typed; a bad name, a two-line description and a name taken are refused; removed, it is gone.
func TestGitRepositoriesOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := apitest.OnTestBed(t, st, "unix-user", "git-repos")
		user := apitest.Unique("g")
		as, _ := bed.Customer(user)
		su := int(as.Do("GET", "/system-users", nil).JSON()["results"].([]any)[0].(map[string]any)["id"].(float64))
		desc := `The shop's "code" $(touch /x) \n`
		r := as.Do("POST", "/git-repositories", map[string]any{"name": "site", "description": desc, "system_user": su}).Want(http.StatusCreated)
		for _, bad := range [][3]string{{"../x", "", "body.name"}, {"ok", "two\nlines", "body.description"}} {
			r := as.Do("POST", "/git-repositories", map[string]any{"name": bad[0], "description": bad[1], "system_user": su})
			if f := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(f) != 1 || f[0] != bad[2] {
				t.Errorf("%q: %d %s", bad, r.Status, r.Body)
			}
		}
		as.Do("POST", "/git-repositories", map[string]any{"name": "site", "system_user": su}).Want(http.StatusConflict)
		push := fmt.Sprintf(`cd "$(mktemp -d)" && chmod 1777 . && runuser -u %s -- sh -c 'git init -q w && cd w &&
			git -c user.name=T -c user.email=t@example.com commit -q --allow-empty -m first && git push -q ~/git/site.git HEAD:main &&
			git -C ~/git/site.git log --format=%%s main && cat ~/git/site.git/description' 2>&1`, user)
		if out, code := bed.Root(push); code != 0 || out != "first\n"+desc+"\n" || r.Header.Get("Orchestra-Outcome") != "SUCCESS" {
			t.Fatalf("push: %d %q (%v)", code, out, r.Header)
		}
		as.Do("PATCH", fmt.Sprintf("/git-repositories/%d", r.ID()), map[string]any{"description": "old", "version": 1}).Want(http.StatusOK)
		if out, _ := bed.Root(fmt.Sprintf("cat ~%s/git/site.git/description", user)); out != "old\n" {
			t.Errorf("description after the change: %q", out)
		}
		as.Do("DELETE", fmt.Sprintf("/git-repositories/%d", r.ID()), nil).Want(http.StatusNoContent)
		if out, _ := bed.Root(fmt.Sprintf("ls -A ~%s/git", user)); out != "" {
			t.Errorf("after removal ~/git holds %q", out)
		}
	})
}
