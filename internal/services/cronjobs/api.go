package cronjobs

import (
	"time"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// CronJob is a job as the API shows it (its fields the entity's).
type CronJob struct {
	ID         int       `json:"id"`
	Schedule   string    `json:"schedule"`
	Command    string    `json:"command"`
	IsActive   bool      `json:"is_active"`
	SystemUser int       `json:"system_user"`
	Account    int       `json:"account"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Version    int       `json:"version"`
}

type (
	jobCreate = struct {
		Schedule   string `json:"schedule" maxLength:"128" doc:"When it runs: five crontab fields (minute hour day-of-month month day-of-week, as in 30 2 * * 1) or @daily, @hourly…"`
		Command    string `json:"command" maxLength:"4096" doc:"What runs, with /bin/sh in the user's home; one line."`
		IsActive   *bool  `json:"is_active,omitempty" doc:"An inactive job stays here but is not in the crontab."`
		SystemUser int    `json:"system_user" minimum:"1" doc:"The system user it runs as; it needs a shell." ent:"system_user_id"`
	}
	jobPatch = struct {
		Schedule *string `json:"schedule,omitempty" maxLength:"128"`
		Command  *string `json:"command,omitempty" maxLength:"4096"`
		IsActive *bool   `json:"is_active,omitempty"`
		Version  *int    `json:"version,omitempty"`
	}
	list struct {
		api.ListParams
		Account    int `query:"account" minimum:"0"`
		SystemUser int `query:"system_user" minimum:"0"`
	}
)

func (l list) Filters() []any { return []any{"account_id", l.Account, "system_user_id", l.SystemUser} }

func init() {
	api.Declare(api.Model[ent.CronJob, *ent.CronJobQuery, CronJob, jobCreate, jobPatch, list]{
		Name: "cron-job", Plural: "cron-jobs", Tag: "Cron jobs",
		List: "List cron jobs", Get: "Get a cron job", Create: "Add a cron job", Update: "Change a cron job", Delete: "Remove a cron job",
		CreateExample: map[string]any{"schedule": "30 2 * * *", "command": "php ~/web/cron.php", "system_user": 1},
		UpdateExample: map[string]any{"is_active": false, "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "schedule", "created_at", "account_id"}, Search: []string{"command"}, Default: "id"},
		Presentation: api.Presentation{Name: "cron-job", Fieldsets: []api.Fieldset{api.Set("", "system_user", "schedule", "command", "is_active")},
			Label: "Cron jobs", Singular: "Cron job", Group: "services", Title: "command", Columns: []string{"schedule", "system_user", "is_active", "account"},
			Refs: map[string]string{"system_user": "system-user"}, Toggle: "is_active", Type: "CronJob"},
		Client: func(c *ent.Client) api.Client[ent.CronJob, *ent.CronJobQuery] { return c.CronJob },
	})
}
