package hostiletest

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
)

// gitReposSuite drives the git-repos backend: repositories named by the
// seeds and described by them, for the account's main user; what the rules
// accept is a repository in ~/git whose description file is the value and a
// line break. Then links the user planted (~/git/x.git to a root-owned
// folder, ~/git itself to /etc) lead its unit to fail, the targets as they were.
var gitReposSuite = suite{
	name:     "gitrepos",
	backends: []string{"git-repos"},
	fields:   map[string][]string{"GitRepository": {"name", "description"}},
	run:      runGitRepos,
}

func init() {
	suites = append(suites, gitReposSuite)
	skipped["GitRepository.owner"] = "the system user's name, set by the rules (the systemusers suite's usernames)"
}

func runGitRepos(t *testing.T, st *store.Store, r *recorder) {
	bed := sshtest.Load(t)
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary, main, victim := "/tmp/orchestra-canary-"+tag, "hg"+tag, "/tmp/orchestra-victim-"+tag
	t.Cleanup(func() {
		run(t, pool, target, fmt.Sprintf("pkill -KILL -u %[1]s; userdel -r %[1]s 2>/dev/null; rm -rf %[2]s %[3]s; true", main, canary, victim))
	})
	addServer(t, st, "git1", s0, nil, systemusers.Backend, "git-repos")
	_, cust := account(t, st, main)
	user, err := st.SystemUser.Query().Only(cust)
	if err != nil {
		t.Fatal(err)
	}
	var check, fields []string
	add := func(field, name, description, value string) {
		var g *ent.GitRepository
		if r.one(cust, "GitRepository."+field, value, func(ctx context.Context, tx *ent.Tx) (err error) {
			g, err = tx.GitRepository.Create().SetName(name).SetDescription(description).SetSystemUserID(user.ID).Save(ctx)
			return err
		}) {
			check = append(check, fmt.Sprintf("base64 -w0 %s/git/%s.git/description; echo", orchestration.Quote("/home/"+main), orchestration.Quote(g.Name)))
			fields = append(fields, "GitRepository."+field)
		}
	}
	for i, s := range seeds(canary) {
		add("name", s, "d", s)
		add("description", fmt.Sprintf("d%d", i), s, s)
	}
	r.phase("writes done")
	startExecutor(t, st, pool)
	last := settle(t, st, 0)
	r.phase("units done")
	var want []string
	for _, g := range st.GitRepository.Query().Order(ent.Asc("id")).AllX(sys) {
		want = append(want, base64.StdEncoding.EncodeToString([]byte(g.Description+"\n")))
	}
	if got := strings.Fields(run(t, pool, target, strings.Join(check, "\n"))); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("descriptions on the server %q, want %q", got, want)
	} else {
		for _, f := range fields {
			r.arrived(f)
		}
	}
	noCanary(t, pool, target, canary)

	// links the user planted lead its units nowhere it cannot write
	home := "/home/" + main
	run(t, pool, target, fmt.Sprintf("install -d -m 0755 %[1]s && runuser -u %[2]s -- ln -s %[1]s %[3]s/git/x.git", victim, main, home))
	for i, name := range []string{"x", "y"} {
		if i == 1 {
			run(t, pool, target, fmt.Sprintf("mv %[1]s/git %[1]s/git.old && runuser -u %[2]s -- ln -s /etc %[1]s/git", home, main))
		}
		if err := st.Tx(cust, func(ctx context.Context, tx *ent.Tx) error {
			return tx.GitRepository.Create().SetName(name).SetSystemUserID(user.ID).Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
			l, err := st.ExecutionLog.Query().Where(executionlog.IDGT(last)).Only(sys)
			if err == nil && l.State == orchestration.StateFailure {
				last = l.ID
				break
			} else if err == nil && l.State != orchestration.StateReceived && l.State != orchestration.StateStarted || time.Now().After(deadline) {
				t.Fatalf("the unit through a planted link: %v %v", l, err)
			}
		}
	}
	if out := run(t, pool, target, fmt.Sprintf("ls -A %s; ls -d /etc/y.git 2>/dev/null; true", victim)); out != "" {
		t.Errorf("a planted link's target was written: %q", out)
	}
}
