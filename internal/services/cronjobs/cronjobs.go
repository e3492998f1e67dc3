// Package cronjobs is the cron jobs service: commands a system user's
// crontab runs on a schedule, written with crontab -u on its servers.
package cronjobs

import (
	"cmp"
	"context"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/crontab"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/cronjob"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// Backend is the backend's name, as routes name it.
const Backend = "crontab"

// Spool is where cron keeps crontabs: a deleted user's goes (userdel leaves it).
var Spool = settings.String("CRONJOBS_SPOOL", "/var/spool/cron/crontabs", "Folder of the servers' crontabs, one file per user.")

func init() {
	store.RegisterHook("CronJob", ent.OpCreate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.CronJobFunc(func(ctx context.Context, m *ent.CronJobMutation) (ent.Value, error) {
			var errs validate.Errors
			errs.Check(ctx, m, "schedule", func(s string) string {
				if !scheduleOK(s) {
					return i18n.T(ctx, "Enter five crontab fields (minute, hour, day of month, month, day of week) or one of @reboot, @hourly, @daily, @weekly, @monthly, @yearly.")
				}
				m.SetSchedule(strings.Join(strings.Fields(s), " "))
				return ""
			})
			errs.Check(ctx, m, "command", func(s string) string {
				s = strings.TrimSpace(s) // cron drops what leads; what trails would be invisible
				switch {
				case strings.ContainsAny(s, "\r\n\x00"):
					return i18n.T(ctx, "Enter the command on one line.")
				case strings.HasPrefix(s, "*"):
					return i18n.T(ctx, "A command cannot start with *: cron takes it for a sixth schedule field.")
				}
				m.SetCommand(s)
				return validate.Required(ctx, s)
			})
			if err := errs.Err(); err != nil {
				return nil, err
			}
			// cron runs /bin/sh whatever the login shell: a user without one gets no jobs
			if u, err := systemusers.Adopt(ctx, m); err != nil || u != nil && !loginShell(u.Shell) {
				return nil, cmp.Or(err, validate.Fail("system_user", i18n.T(ctx, "This system user has no shell: give it one to run cron jobs.")))
			}
			return next.Mutate(ctx, m)
		})
	})
	// a crontab holds all its user's jobs: a job's change writes it again
	orchestration.Register(&orchestration.Backend{
		Name: Backend, Verbose: "Cron jobs (crontab)", Model: "SystemUser", DefaultMatch: "true",
		Related: []orchestration.Related{{Model: "CronJob", Resolve: func(_ context.Context, _ *ent.Tx, o orchestration.Object) ([]int, error) {
			return []int{o.Int("system_user_id")}, nil
		}}},
		IgnoreFields: []string{"password", "groups", "home", "directory"},
		After:        []string{systemusers.Backend},
		LoadMany:     load, Apply: apply,
	})
}

// load gives each user its crontab: its active jobs, none for a user
// without a shell; one query for the unit's users.
func load(ctx context.Context, tx *ent.Tx, objs []*orchestration.Object) ([]error, error) {
	ids := make([]int, len(objs))
	for i, o := range objs {
		ids[i] = o.ID
	}
	jobs, err := tx.CronJob.Query().Where(cronjob.SystemUserIDIn(ids...), cronjob.IsActive(true)).Order(cronjob.ByID()).All(ctx)
	if err != nil {
		return nil, err
	}
	tabs := map[int]string{}
	for _, j := range jobs {
		tabs[j.SystemUserID] += j.Schedule + " " + strings.ReplaceAll(j.Command, "%", `\%`) + "\n" // a bare % ends the command
	}
	for _, o := range objs {
		o.Extra = ""
		if o.Bool("is_active") && loginShell(o.String("shell")) {
			o.Extra = tabs[o.ID]
		}
	}
	return make([]error, len(objs)), nil
}

func apply(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	s.Var("user", o.String("username"))
	if action == orchestration.ActionDelete {
		s.Var("spool", srv.Setting(Spool.Name(), Spool.Get()))
		s.Raw(`rm -f -- "$spool/$user"`)
		return nil
	}
	s.Var("tab", o.Extra.(string))
	s.Raw(`if [[ -n $tab ]]; then printf %s "$tab" | crontab -u "$user" -
elif crontab -u "$user" -l >/dev/null 2>&1; then crontab -u "$user" -r; fi`)
	return nil
}

func loginShell(sh string) bool { return sh != systemusers.ShellNone && sh != systemusers.ShellSFTP }

// scheduleOK reports whether s is a schedule Debian's cron takes.
func scheduleOK(s string) bool {
	_, err := crontab.Parse(s)
	return err == nil
}
