package hostiletest

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/services/cronjobs"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// cronJobsSuite drives the crontab backend: jobs whose commands and
// schedules are the seeds, for the account's main user; what the rules
// accept is in the user's crontab byte for byte (a % escaped), in order.
// The rules' documented forms: a command without surrounding space, a
// schedule's fields one space apart.
var cronJobsSuite = suite{
	name:     "cronjobs",
	backends: []string{cronjobs.Backend},
	fields:   map[string][]string{"CronJob": {"command", "schedule"}},
	run:      runCronJobs,
}

func init() { suites = append(suites, cronJobsSuite) }

func runCronJobs(t *testing.T, st *store.Store, r *recorder) {
	bed := sshtest.Load(t)
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary, main := "/tmp/orchestra-canary-"+tag, "hc"+tag
	t.Cleanup(func() {
		run(t, pool, target, fmt.Sprintf("crontab -u %[1]s -r; pkill -KILL -u %[1]s; userdel -r %[1]s 2>/dev/null; rm -f %[2]s; true", main, canary))
	})
	addServer(t, st, "cron1", s0, nil, systemusers.Backend, cronjobs.Backend)
	_, cust := account(t, st, main)
	user, err := st.SystemUser.Query().Only(cust)
	if err == nil {
		err = st.Tx(cust, func(ctx context.Context, tx *ent.Tx) error {
			return tx.SystemUser.UpdateOne(user).SetShell(systemusers.ShellBash).Exec(ctx)
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	var lines, fields []string
	add := func(field, schedule, command, value string) {
		var j *ent.CronJob
		if r.one(cust, "CronJob."+field, value, func(ctx context.Context, tx *ent.Tx) (err error) {
			j, err = tx.CronJob.Create().SetSchedule(schedule).SetCommand(command).SetSystemUserID(user.ID).Save(ctx)
			return err
		}) {
			lines = append(lines, j.Schedule+" "+strings.ReplaceAll(j.Command, "%", `\%`)+"\n")
			fields = append(fields, "CronJob."+field)
		}
	}
	for _, s := range seeds(canary) {
		add("command", "@daily", s, s)
		add("schedule", s, "true", s)
		add("schedule", "1 2 3 4 "+s, "true", s)
	}
	for _, s := range []string{" @reboot\t", "\t*/5  0-23/2\n1,15 JAN-dec Sun-6 ", "59 23 31 12 7"} {
		add("schedule", s, "true", s)
	}
	r.phase("writes done")
	startExecutor(t, st, pool)
	settle(t, st, 0)
	r.phase("units done")
	got, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(run(t, pool, target,
		fmt.Sprintf("crontab -u %s -l | base64 -w0", main))))
	if want := strings.Join(lines, ""); string(got) != want {
		t.Errorf("the crontab holds %q, want %q", got, want)
	} else {
		for _, f := range fields {
			r.arrived(f)
		}
	}
	noCanary(t, pool, target, canary)
}
