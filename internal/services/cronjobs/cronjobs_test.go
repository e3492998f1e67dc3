package cronjobs_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestCronJobsOverAPI: a customer's jobs are its user's crontab on the
// server, byte for byte; a bad schedule, a command of two lines and a user
// without a shell are refused; an inactive job and a deleted user's leave.
func TestCronJobsOverAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := apitest.OnTestBed(t, st, "unix-user", "crontab")
		user := apitest.Unique("c")
		as, _ := bed.Customer(user)
		su := int(as.Do("GET", "/system-users", nil).JSON()["results"].([]any)[0].(map[string]any)["id"].(float64))
		tab := func(u string) string { out, _ := bed.Root("crontab -l -u " + u + " 2>&1"); return out }
		for _, bad := range [][3]any{{"61 * * * *", "true", "body.schedule"}, {"@daily", "true\nrm -rf ~", "body.command"},
			{"@daily", "true", "body.system_user"}} { // the user has no shell yet
			r := as.Do("POST", "/cron-jobs", map[string]any{"schedule": bad[0], "command": bad[1], "system_user": su})
			if f := r.FieldErrors(); r.Status != http.StatusUnprocessableEntity || len(f) != 1 || f[0] != bad[2] {
				t.Errorf("%q: %d %s", bad, r.Status, r.Body)
			}
		}
		as.Do("PATCH", fmt.Sprintf("/system-users/%d", su), map[string]any{"shell": "/bin/bash", "version": 1}).Want(http.StatusOK)
		cmd := `date +%F >> "$HOME/it's run.log" \ # 'quoted'`
		r := as.Do("POST", "/cron-jobs", map[string]any{"schedule": " 30  2 * * mon-fri,sun ", "command": cmd, "system_user": su}).Want(http.StatusCreated)
		as.Do("POST", "/cron-jobs", map[string]any{"schedule": "@reboot", "command": "echo up", "system_user": su}).Want(http.StatusCreated)
		if want := "30 2 * * mon-fri,sun " + strings.ReplaceAll(cmd, "%", `\%`) + "\n@reboot echo up\n"; r.Header.Get("Orchestra-Outcome") != "SUCCESS" || tab(user) != want {
			t.Fatalf("crontab %q, want %q (%v)", tab(user), want, r.Header)
		}
		as.Do("PATCH", fmt.Sprintf("/cron-jobs/%d", r.ID()), map[string]any{"is_active": false, "version": 1}).Want(http.StatusOK)
		if got := tab(user); got != "@reboot echo up\n" {
			t.Errorf("after deactivating: %q", got)
		}
		other := "w" + user
		ou := as.Do("POST", "/system-users", map[string]any{"username": other, "shell": "/bin/bash"}).Want(http.StatusCreated).ID()
		as.Do("POST", "/cron-jobs", map[string]any{"schedule": "@hourly", "command": "true", "system_user": ou}).Want(http.StatusCreated)
		as.Do("DELETE", fmt.Sprintf("/system-users/%d", ou), nil).Want(http.StatusNoContent)
		if out, _ := bed.Root("ls /var/spool/cron/crontabs/" + other + " 2>&1"); !strings.Contains(out, "No such file") || tab(user) != "@reboot echo up\n" {
			t.Errorf("after deleting %s: %s; %s's crontab %q", other, out, user, tab(user))
		}
	})
}
