package hostiletest

import (
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/cronjobs"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/services/sshkeys"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
)

// systemUsersSuite drives the unix-user backend: each accepted value is a
// UNIX user on the server, read back from getent passwd and shadow and the
// file system. The rules' documented forms: usernames and shells without
// surrounding space, an empty shell (once trimmed) the default one; the passwd home is the user's own base home, or home
// joined with directory; the shell sftp-only is /usr/sbin/nologin on the
// server (sshd forces internal-sftp for its group); an empty password is *.
var systemUsersSuite = suite{
	name: "systemusers",
	// the users' keys are written as the users; crontab -u names them; the disk monitor finds their homes by name
	backends: []string{systemusers.Backend, sshkeys.Backend, cronjobs.Backend, "unix-user-disk"},
	fields:   map[string][]string{"SystemUser": {"username", "password", "home", "directory", "shell"}},
	run:      runSystemUsers,
}

// unixWant is what the server must hold for a user whose value was saved.
type unixWant struct {
	key, user           string
	home, shell, shadow string
}

func runSystemUsers(t *testing.T, st *store.Store, r *recorder) {
	bed := sshtest.Load(t)
	pool := sharedPool(t, bed.Signer)
	s0 := bed.Servers[0]
	target := sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey}
	// usernames are global on the server: every one holds the tag
	tag := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	canary := "/tmp/orchestra-canary-" + tag
	main := "hm" + tag
	base := fmt.Sprintf(systemusers.Home.Get(), main)
	run(t, pool, target, "rm -f -- "+orchestration.Quote(canary))
	t.Cleanup(func() {
		run(t, pool, target, fmt.Sprintf(`for u in $(getent passwd | cut -d: -f1 | grep -F -- %[1]s); do
  pkill -KILL -u "$u" || true; userdel -r -- "$u" 2>/dev/null || true
done
rm -rf -- /home/*%[1]s* %[2]s`, tag, orchestration.Quote(canary)))
	})
	err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
		srv, err := tx.Server.Create().SetName("shell1").SetAddress(s0.Address).SetSSHPort(s0.Port).SetHostKey(s0.HostKey).Save(ctx)
		if err != nil {
			return err
		}
		for _, b := range []string{sshkeys.Backend, cronjobs.Backend, "unix-user-disk"} {
			if err := tx.Route.Create().SetBackend(b).SetServerID(srv.ID).Exec(ctx); err != nil {
				return err
			}
		}
		return tx.Route.Create().SetBackend(systemusers.Backend).SetServerID(srv.ID).Exec(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	acc, cust := account(t, st, main) // and its main system user, whose base home others live in
	ss := seeds(canary)

	var wants []unixWant
	n := 0
	add := func(key, value string, set func(c *ent.SystemUserCreate)) *ent.SystemUser {
		t.Helper()
		n++
		var u *ent.SystemUser
		if !r.one(cust, key, value, func(ctx context.Context, tx *ent.Tx) (err error) {
			c := tx.SystemUser.Create().SetUsername(fmt.Sprintf("%c%d%s", key[11], n, tag)).SetAccountID(acc)
			set(c)
			u, err = c.Save(ctx)
			return err
		}) {
			return nil
		}
		w := unixWant{key: key, user: u.Username, home: fmt.Sprintf(systemusers.Home.Get(), u.Username),
			shell: u.Shell, shadow: u.Password}
		if u.Home != "" {
			w.home = path.Join(u.Home, u.Directory)
		}
		if w.shadow == "" {
			w.shadow = "*"
		}
		if w.shell == systemusers.ShellSFTP {
			w.shell = "/usr/sbin/nologin"
		}
		wants = append(wants, w)
		return u
	}

	for _, s := range ss {
		for _, w := range []string{"u" + tag + s, s + "u" + tag} {
			if u := add("SystemUser.username", w, func(c *ent.SystemUserCreate) { c.SetUsername(w) }); u != nil && u.Username != strings.TrimSpace(w) {
				t.Errorf("username %q stored as %q", w, u.Username)
			}
		}
		for _, w := range []string{"$6$" + s} {
			if u := add("SystemUser.password", w, func(c *ent.SystemUserCreate) { c.SetPassword(w) }); u != nil && u.Password != w {
				t.Errorf("password %q stored as %q", w, u.Password)
			}
		}
		for _, w := range []string{s, base + "/" + s} {
			if u := add("SystemUser.home", w, func(c *ent.SystemUserCreate) { c.SetHome(w) }); u != nil && u.Home != w {
				t.Errorf("home %q stored as %q", w, u.Home)
			}
		}
		for _, w := range []string{s, "d/" + s} {
			if u := add("SystemUser.directory", w, func(c *ent.SystemUserCreate) { c.SetHome(base).SetDirectory(w) }); u != nil && u.Directory != w {
				t.Errorf("directory %q stored as %q", w, u.Directory)
			}
		}
		if u := add("SystemUser.shell", s, func(c *ent.SystemUserCreate) { c.SetShell(s) }); u != nil && u.Shell != orDefault(s, systemusers.DefaultShell.Get()) {
			t.Errorf("shell %q stored as %q", s, u.Shell)
		}
	}
	// values that must arrive: a real hash, the base home, every shell
	hash, err := systemusers.HashPassword("Hostile-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	add("SystemUser.password", hash, func(c *ent.SystemUserCreate) { c.SetPassword(hash) })
	add("SystemUser.home", base, func(c *ent.SystemUserCreate) { c.SetHome(base) })
	for _, sh := range systemusers.Shells.Get() {
		add("SystemUser.shell", sh, func(c *ent.SystemUserCreate) { c.SetShell(sh) })
	}

	r.phase("writes done")
	ex := startExecutor(t, st, pool)
	settle(t, st, 0)
	r.phase("units done")

	// each user's passwd and shadow lines, and whether its home is a
	// directory, base64-encoded so that nothing on the way alters them
	var script strings.Builder
	for _, w := range wants {
		fmt.Fprintf(&script, "u=%s\n", orchestration.Quote(w.user))
		script.WriteString(`p=$(getent passwd -- "$u" || true); h=$(printf '%s' "$p" | cut -d: -f6)
d=no; [[ -n $h && -d $h ]] && d=yes
printf '%s %s %s\n' "$(printf '%s' "$p" | base64 -w0)" "$(getent shadow -- "$u" | base64 -w0)" "$d"
`)
	}
	lines := strings.Split(strings.TrimSuffix(run(t, pool, target, script.String()), "\n"), "\n")
	if len(lines) != len(wants) {
		t.Fatalf("%d lines for %d users", len(lines), len(wants))
	}
	for i, w := range wants {
		f := strings.Fields(lines[i] + " x x")
		passwd, _ := base64.StdEncoding.DecodeString(f[0])
		shadow, _ := base64.StdEncoding.DecodeString(f[1])
		pw := strings.Split(string(passwd), ":")
		sh := strings.Split(string(shadow), ":")
		switch {
		case len(pw) != 7 || pw[0] != w.user:
			t.Errorf("%s: passwd line %q for %s", w.key, passwd, w.user)
		case pw[5] != w.home || pw[6] != w.shell:
			t.Errorf("%s: %s has home %q and shell %q, want %q and %q", w.key, w.user, pw[5], pw[6], w.home, w.shell)
		case f[2] != "yes":
			t.Errorf("%s: %s's home %q is not a directory", w.key, w.user, w.home)
		case len(sh) != 9 || sh[1] != w.shadow:
			t.Errorf("%s: shadow line %q for %s, want its hash %q", w.key, shadow, w.user, w.shadow)
		default:
			r.arrived(w.key)
		}
	}
	if slices.ContainsFunc(wants, func(w unixWant) bool { return w.key == "SystemUser.directory" }) {
		// directories are made as the base's owner, never as root
		out := run(t, pool, target, fmt.Sprintf(`find %s -mindepth 1 ! -user %s -printf '%%p\n'`, orchestration.Quote(base), main))
		if out != "" {
			t.Errorf("not owned by %s below its home:\n%s", main, out)
		}
	}
	// the disk monitor measures every user, whatever its name: one line each
	units, err := ex.Orchestrate(sys, orchestration.Selection{Model: "SystemUser", Backend: "unix-user-disk", Action: resources.ActionMonitor}, false)
	if err != nil || len(units) != 1 {
		t.Fatalf("the disk monitor: %v %v", units, err)
	}
	logs, err := ex.Await(sys, []int{units[0].LogID})
	if err != nil || logs[0].State != orchestration.StateSuccess {
		t.Fatalf("the disk monitor: %v %v", logs, err)
	}
	values, err := resources.ParseOutput(logs[0].Stdout)
	for _, id := range st.SystemUser.Query().Where(systemuser.AccountID(acc)).IDsX(sys) {
		if _, ok := values[id]; !ok || err != nil {
			t.Errorf("the disk monitor did not measure user %d: %v\n%s", id, err, logs[0].Stdout)
		}
	}
	noCanary(t, pool, target, canary)
}
