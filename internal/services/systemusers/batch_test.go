package systemusers_test

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/accounts"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	entop "github.com/orchestra-panel/orchestra/internal/store/ent/operation"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

var (
	cli = viewer.System(context.Background(), viewer.ChannelCLI)
	sys = viewer.System(context.Background(), viewer.ChannelSystem)
)

// unixBed is the first test-bed server with a route of the backend, and
// what a test needs to write, run and look at it. Every name the test
// makes on the server starts with its tag.
type unixBed struct {
	t      *testing.T
	st     *store.Store
	pool   *sshpool.Pool
	target sshpool.Target
	srv    *ent.Server
	tag    string
}

func newUnixBed(t *testing.T, st *store.Store, prefix string) *unixBed {
	t.Helper()
	bed := sshtest.Load(t)
	pool, err := sshpool.New(sshpool.Config{Signer: bed.Signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	s0 := bed.Servers[0]
	b := &unixBed{t: t, st: st, pool: pool, target: sshpool.Target{Address: s0.Address, Port: s0.Port, HostKey: s0.HostKey},
		tag: prefix + strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)}
	t.Cleanup(func() {
		b.run(fmt.Sprintf(`for u in $(getent passwd | cut -d: -f1 | grep -- '^%[1]s'); do pkill -KILL -u "$u"; userdel -r -- "$u" 2>/dev/null; done
for g in $(getent group | cut -d: -f1 | grep -- '^%[1]s'); do groupdel -- "$g" 2>/dev/null; done
rm -rf /home/%[1]s*; true`, b.tag))
	})
	err = st.Tx(cli, func(ctx context.Context, tx *ent.Tx) (err error) {
		if b.srv, err = tx.Server.Create().SetName("web").SetAddress(s0.Address).SetSSHPort(s0.Port).
			SetHostKey(s0.HostKey).Save(ctx); err != nil {
			return err
		}
		return tx.Route.Create().SetBackend(systemusers.Backend).SetServerID(b.srv.ID).Exec(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs a script on the server as root.
func (b *unixBed) run(script string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code, err := b.pool.Run(context.Background(), b.target, []byte(script), &out, &errb)
	if err != nil {
		b.t.Fatalf("%s: %v", script, err)
	}
	return out.String(), errb.String(), code
}

// sh runs a script that must succeed and returns its output.
func (b *unixBed) sh(script string) string {
	b.t.Helper()
	out, errs, code := b.run(script)
	if code != 0 {
		b.t.Fatalf("%s: exit %d: %s", script, code, errs)
	}
	return out
}

// executor starts an executor that plans and runs writes as they commit.
func (b *unixBed) executor() *orchestration.Executor {
	ex := orchestration.NewExecutor(b.st, orchestration.ExecutorConfig{Pool: b.pool, Sweep: 100 * time.Millisecond})
	ex.Start()
	b.t.Cleanup(ex.Close)
	return ex
}

// write commits fn and waits for its units: it returns their logs, the
// last one first.
func (b *unixBed) write(ex *orchestration.Executor, ctx context.Context, fn func(ctx context.Context, tx *ent.Tx) error) []*ent.ExecutionLog {
	b.t.Helper()
	ctx, tracker := orchestration.Track(ctx)
	if err := b.st.Tx(ctx, fn); err != nil {
		b.t.Fatal(err)
	}
	out, err := ex.Follow(ctx, tracker.Changes(), 2*time.Minute, false)
	if err != nil {
		b.t.Fatal(err)
	}
	var ids []int
	for _, op := range out.Operations {
		if op.LogID != nil && !slices.Contains(ids, *op.LogID) {
			ids = append(ids, *op.LogID)
		}
	}
	return b.st.ExecutionLog.Query().Where(executionlog.IDIn(ids...)).Order(ent.Desc(executionlog.FieldID)).AllX(sys)
}

// hashOf hashes a password as the API does.
func hashOf(t *testing.T, pw string) string {
	t.Helper()
	h, err := systemusers.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// unixState is what the server holds for the tag: entries by name, and
// the homes.
type unixState struct {
	passwd, shadow, group map[string][]string
	homes                 map[string]string // path: "owner group mode type"
	acl                   map[string]string // home in another user's tree: its ACL entry for the user
}

func (b *unixBed) state(users []*ent.SystemUser) unixState {
	b.t.Helper()
	var script strings.Builder
	fmt.Fprintf(&script, `t=%s
getent passwd | awk -F: -v t="$t" 'index($1, t) == 1'
echo @@
getent shadow | awk -F: -v t="$t" 'index($1, t) == 1'
echo @@
getent group | awk -F: -v t="$t" 'index($1, t) == 1 || $1 == "orchestra-sftp"'
echo @@
for h in /home/"$t"*; do if [[ -e $h ]]; then stat -c '%%n|%%U %%G %%a %%F' -- "$h"; fi; done
echo @@
`, orchestration.Quote(b.tag))
	for _, u := range users {
		if u.Home != "" {
			h := path.Join(u.Home, u.Directory)
			fmt.Fprintf(&script, "if [[ -e %[1]s ]]; then stat -c '%%n|%%U %%G %%a %%F' -- %[1]s; fi\n", orchestration.Quote(h))
		}
	}
	script.WriteString("echo @@\n")
	for _, u := range users {
		if u.Home != "" {
			h := path.Join(u.Home, u.Directory)
			fmt.Fprintf(&script, "printf '%%s|%%s\\n' %[1]s \"$(getfacl -cp -- %[1]s 2>/dev/null | grep -- '^user:'%[2]s':' || true)\"\n",
				orchestration.Quote(h), orchestration.Quote(u.Username))
		}
	}
	parts := strings.Split(b.sh(script.String()), "@@\n")
	if len(parts) != 6 {
		b.t.Fatalf("server state in %d parts", len(parts))
	}
	entries := func(text string) map[string][]string {
		m := map[string][]string{}
		for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if l != "" {
				f := strings.Split(l, ":")
				m[f[0]] = f
			}
		}
		return m
	}
	s := unixState{passwd: entries(parts[0]), shadow: entries(parts[1]), group: entries(parts[2]),
		homes: map[string]string{}, acl: map[string]string{}}
	for _, text := range []string{parts[3], parts[4]} {
		for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if p, rest, ok := strings.Cut(l, "|"); ok {
				s.homes[p] = rest
			}
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(parts[5], "\n"), "\n") {
		if p, rest, ok := strings.Cut(l, "|"); ok {
			s.acl[p] = rest
		}
	}
	return s
}

// members returns the members of a group of the state, those of the tag.
func (b *unixBed) members(s unixState, group string) []string {
	var out []string
	if g, ok := s.group[group]; ok && len(g) == 4 && g[3] != "" {
		for _, m := range strings.Split(g[3], ",") {
			if strings.HasPrefix(m, b.tag) || m == "www-data" {
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return out
}

// matchesDatabase checks that the server holds exactly the system users of
// the tag that the database has, as the backend documents them: passwd and
// shadow entries, the panel's mark, groups both ways, homes. It returns the
// server's state.
func (b *unixBed) matchesDatabase(when string) unixState {
	t := b.t
	t.Helper()
	users := b.st.SystemUser.Query().Where(systemuser.UsernameHasPrefix(b.tag)).WithAccount().WithGroups().
		Order(ent.Asc(systemuser.FieldID)).AllX(sys)
	s := b.state(users)
	mains, byName := map[int]string{}, map[string]*ent.SystemUser{}
	for _, u := range users {
		byName[u.Username] = u
		if u.IsMain {
			mains[u.AccountID] = u.Username
		}
	}
	// who is in each group, by the database
	wantIn := map[string][]string{}
	add := func(group, user string) {
		if !slices.Contains(wantIn[group], user) {
			wantIn[group] = append(wantIn[group], user)
		}
	}
	for _, u := range users {
		add(u.Username, "www-data")
		if m := mains[u.AccountID]; m != "" && m != u.Username {
			add(u.Username, m)
		}
		for _, g := range u.Edges.Groups {
			add(g.Username, u.Username)
		}
		if u.Shell == systemusers.ShellSFTP {
			add("orchestra-sftp", u.Username)
		}
	}
	for _, u := range users {
		n := u.Username
		p, ok := s.passwd[n]
		if !ok {
			t.Errorf("%s: %s is not on the server", when, n)
			continue
		}
		home := fmt.Sprintf(systemusers.Home.Get(), n)
		if u.Home != "" {
			home = path.Join(u.Home, u.Directory)
		}
		shell := map[string]string{systemusers.ShellSFTP: "/usr/sbin/nologin"}[u.Shell]
		if shell == "" {
			shell = u.Shell
		}
		if len(p) != 7 || p[4] != systemusers.Mark+strconv.Itoa(u.ID) || p[5] != home || p[6] != shell {
			t.Errorf("%s: %s's passwd entry %q, want the mark %s%d, home %s, shell %s", when, n, p, systemusers.Mark, u.ID, home, shell)
		}
		if g, ok := s.group[n]; !ok || len(p) != 7 || g[2] != p[3] {
			t.Errorf("%s: %s's own group %q, its passwd entry %q", when, n, g, p)
		}
		active := u.IsActive && u.Edges.Account.IsActive
		hash := u.Password
		if hash == "" {
			hash = "*"
		}
		expire := ""
		if !active {
			hash, expire = "!"+hash, "1"
		}
		if sh := s.shadow[n]; len(sh) != 9 || sh[1] != hash || sh[7] != expire {
			t.Errorf("%s: %s's shadow entry %q, want the hash %q and expiry %q", when, n, sh, hash, expire)
		}
		// the groups it is in
		var got, want []string
		for g := range s.group {
			if slices.Contains(b.members(s, g), n) {
				got = append(got, g)
			}
		}
		for g, in := range wantIn {
			if slices.Contains(in, n) {
				want = append(want, g)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %s is in the groups %v, want %v", when, n, got, want)
		}
		in := slices.Clone(wantIn[n])
		slices.Sort(in)
		if got := b.members(s, n); !slices.Equal(got, in) {
			t.Errorf("%s: %s's group has %v, want %v", when, n, got, in)
		}
		// its home
		if u.Home == "" {
			if got := s.homes[home]; got != n+" "+n+" 750 directory" {
				t.Errorf("%s: %s's home %s: %q", when, n, home, got)
			}
		} else {
			owner := strings.TrimPrefix(u.Home, strings.TrimSuffix(systemusers.Home.Get(), "%s"))
			if got := s.homes[home]; !strings.HasPrefix(got, owner+" "+owner+" ") || !strings.HasSuffix(got, " directory") {
				t.Errorf("%s: %s's home %s: %q, want a directory of %s", when, n, home, got, owner)
			}
			if got := s.acl[home]; got != "user:"+n+":rwx" {
				t.Errorf("%s: %s's ACL entry on %s: %q", when, n, home, got)
			}
		}
	}
	// nothing the database no longer has
	for n := range s.passwd {
		if byName[n] == nil {
			t.Errorf("%s: %s is still on the server", when, n)
		}
	}
	for g := range s.group {
		if g != "orchestra-sftp" && byName[g] == nil {
			t.Errorf("%s: the group %s is still on the server", when, g)
		}
	}
	for h := range s.homes {
		if u := byName[path.Base(h)]; u == nil && path.Dir(h) == path.Dir(fmt.Sprintf(systemusers.Home.Get(), "x")) {
			t.Errorf("%s: the home %s is still on the server", when, h)
		}
	}
	return s
}

// TestBatchMatchesDatabase: writes mixing creates, updates and deletes of
// every kind of user, each applied as one unit, leave the server equal to
// the database; a name deleted and made again in one unit is a new user.
func TestBatchMatchesDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newUnixBed(t, st, "mx")
		ex := b.executor()
		tag := b.tag
		id := map[string]int{}
		create := func(ctx context.Context, tx *ent.Tx, acc int, name string, set func(*ent.SystemUserCreate)) {
			c := tx.SystemUser.Create().SetUsername(tag + name).SetAccountID(acc)
			if set != nil {
				set(c)
			}
			id[name] = c.SaveX(ctx).ID
		}
		var acc int
		main := "/home/" + tag

		// 1. the account, its main user, and one user of each kind
		logs := b.write(ex, accounts.WithClearPassword(cli, "Main-pass-42"), func(ctx context.Context, tx *ent.Tx) error {
			acc = tx.Account.Create().SetUsername(tag).SetPassword("!").SetFullName("Mixed").
				SetEmail(tag + "@example.com").SaveX(ctx).ID
			create(ctx, tx, acc, "a", func(c *ent.SystemUserCreate) {
				c.SetShell(systemusers.ShellBash).SetPassword(hashOf(t, "A-pass-42"))
			})
			create(ctx, tx, acc, "f", func(c *ent.SystemUserCreate) {
				c.SetShell(systemusers.ShellSFTP).SetPassword(hashOf(t, "F-pass-42"))
			})
			create(ctx, tx, acc, "w", func(c *ent.SystemUserCreate) { c.SetHome(main).SetDirectory("sites/w") })
			create(ctx, tx, acc, "g", func(c *ent.SystemUserCreate) { c.AddGroupIDs(id["a"]) })
			create(ctx, tx, acc, "x", func(c *ent.SystemUserCreate) { c.SetIsActive(false).SetPassword(hashOf(t, "X-pass-42")) })
			return nil
		})
		if len(logs) != 1 || logs[0].State != orchestration.StateSuccess {
			t.Fatalf("the first write: %d units, %+v", len(logs), logs)
		}
		before := b.matchesDatabase("after the first write")

		// 2. one unit: creates, updates, deletes, a name made again
		logs = b.write(ex, cli, func(ctx context.Context, tx *ent.Tx) error {
			create(ctx, tx, acc, "n", func(c *ent.SystemUserCreate) {
				c.SetShell(systemusers.ShellSFTP).AddGroupIDs(id["f"]).SetPassword(hashOf(t, "N-pass-42"))
			})
			create(ctx, tx, acc, "v", func(c *ent.SystemUserCreate) { c.SetHome(main).SetDirectory("sites/v/www") })
			tx.SystemUser.UpdateOneID(id["a"]).SetShell(systemusers.ShellSFTP).SetPassword(hashOf(t, "A-pass-43")).ExecX(ctx)
			tx.SystemUser.UpdateOneID(id["g"]).ClearGroups().AddGroupIDs(id["f"]).ExecX(ctx)
			tx.SystemUser.UpdateOneID(id["f"]).SetIsActive(false).ExecX(ctx)
			tx.SystemUser.DeleteOneID(id["w"]).ExecX(ctx)
			tx.SystemUser.DeleteOneID(id["x"]).ExecX(ctx)
			create(ctx, tx, acc, "x", func(c *ent.SystemUserCreate) { c.SetShell(systemusers.ShellBash) })
			return nil
		})
		if len(logs) != 1 || logs[0].State != orchestration.StateSuccess {
			t.Fatalf("the mixed write: %d units, %+v", len(logs), logs)
		}
		if n := logs[0].QueryOperations().CountX(sys); n != 8 {
			t.Errorf("the mixed write's unit has %d operations, want 8", n)
		}
		after := b.matchesDatabase("after the mixed write")
		if x, y := before.passwd[tag+"x"], after.passwd[tag+"x"]; x[2] == y[2] {
			t.Errorf("the user made again got the deleted one's uid %s", y[2])
		}
		if b.sh("test -d "+main+"/sites/w && echo kept") != "kept\n" {
			t.Error("the deleted user's directory in the main user's tree is gone")
		}

		// 3. the account disabled, enabled: every user re-saved in one unit
		for _, active := range []bool{false, true} {
			logs = b.write(ex, cli, func(ctx context.Context, tx *ent.Tx) error {
				return tx.Account.UpdateOneID(acc).SetIsActive(active).Exec(ctx)
			})
			if len(logs) != 1 || logs[0].State != orchestration.StateSuccess {
				t.Fatalf("account active %v: %+v", active, logs)
			}
			b.matchesDatabase(fmt.Sprintf("account active %v", active))
		}

		// 4. the account deleted: nothing of it is left
		logs = b.write(ex, cli, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Account.DeleteOneID(acc).Exec(ctx)
		})
		if len(logs) != 1 || logs[0].State != orchestration.StateSuccess {
			t.Fatalf("the account's deletion: %+v", logs)
		}
		b.matchesDatabase("after the account's deletion")
	})
}

// TestHalfAppliedUnitCompletes: a unit killed in the middle (inside the
// user database run, after it, before it) fails; run again, it completes
// and the server equals the database.
func TestHalfAppliedUnitCompletes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newUnixBed(t, st, "hx")
		tag := b.tag
		lane := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: b.pool, Passive: true})
		lane.Start()
		t.Cleanup(lane.Close)
		planner := orchestration.NewPlanner(st)
		// runs the planned unit, altered by cut, then the unit again
		apply := func(name string, cut func(script string) string, fn func(ctx context.Context, tx *ent.Tx) error) {
			t.Helper()
			if err := st.Tx(cli, fn); err != nil {
				t.Fatal(err)
			}
			if _, err := planner.Plan(sys); err != nil {
				t.Fatal(err)
			}
			l := st.ExecutionLog.Query().Where(executionlog.State(orchestration.StateReceived)).OnlyX(sys)
			if cut != nil {
				secret := cut(l.SecretScript)
				if l.SecretScript == "" || secret == l.SecretScript {
					t.Fatalf("%s: nothing to cut in the unit", name)
				}
				st.ExecutionLog.UpdateOneID(l.ID).SetSecretScript(secret).ExecX(sys)
			}
			if _, err := lane.RunLane(sys, b.srv.ID); err != nil {
				t.Fatal(err)
			}
			l = st.ExecutionLog.GetX(sys, l.ID)
			if cut == nil {
				if l.State != orchestration.StateSuccess {
					t.Fatalf("%s: %s: %s", name, l.State, l.Stderr)
				}
				return
			}
			if l.State != orchestration.StateFailure {
				t.Fatalf("%s: the unit cut short ended %s", name, l.State)
			}
			again, err := planner.Retry(sys, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lane.RunLane(sys, b.srv.ID); err != nil {
				t.Fatal(err)
			}
			if l := st.ExecutionLog.GetX(sys, again.LogID); l.State != orchestration.StateSuccess {
				t.Fatalf("%s, run again: %s: %s", name, l.State, l.Stderr)
			}
			b.matchesDatabase(name)
		}
		var acc int
		apply("the account", nil, func(ctx context.Context, tx *ent.Tx) error {
			acc = tx.Account.Create().SetUsername(tag).SetPassword("!").SetFullName("Half").
				SetEmail(tag + "@example.com").SaveX(ctx).ID
			return nil
		})

		const rename = `rename($tmp, $path) or fail("$path: $!");`
		// the user database run killed after its n-th file is in place
		killedAfter := func(n int) func(string) string {
			return func(s string) string {
				return strings.Replace(s, rename, rename+` kill("KILL", $$) if $path !~ /-\z/ && ++$main::written == `+
					strconv.Itoa(n)+`;`, 1)
			}
		}
		stopBefore := func(line string) func(string) string {
			return func(s string) string { return strings.Replace(s, "\n"+line+"\n", "\n  exit 9\n"+line+"\n", 1) }
		}
		cuts := []struct {
			name string
			cut  func(string) string
		}{
			{"stopped before the homes in the main user's tree", stopBefore(`  for id in "${orchestra_users_trees[@]}"; do "orchestra_user_home_$id"; done`)},
			// from here on units delete too: the deletes write gshadow,
			// group, shadow and passwd, then the saves passwd first
			{"killed after the saves' passwd", killedAfter(5)},
			{"killed among the deletes", killedAfter(2)},
			{"stopped before the user database", stopBefore(`  printf '%s\0' "${orchestra_users[@]}" | perl -e "$orchestra_users_pl"`)},
		}
		// each unit makes a user in its own home and one in the main
		// user's tree, changes the password of the last unit's first and
		// deletes its second, and deletes the first of the one before
		var made [][2]int
		for i, c := range cuts {
			apply(c.name, c.cut, func(ctx context.Context, tx *ent.Tx) error {
				own := tx.SystemUser.Create().SetUsername(fmt.Sprintf("%so%d", tag, i)).SetAccountID(acc).
					SetShell(systemusers.ShellSFTP).SetPassword(hashOf(t, "Own-pass-42")).SaveX(ctx)
				tree := tx.SystemUser.Create().SetUsername(fmt.Sprintf("%st%d", tag, i)).SetAccountID(acc).
					SetHome("/home/" + tag).SetDirectory(fmt.Sprintf("apps/t%d", i)).SaveX(ctx)
				if i > 0 {
					tx.SystemUser.UpdateOneID(made[i-1][0]).SetPassword(hashOf(t, "Own-pass-43")).ExecX(ctx)
					tx.SystemUser.DeleteOneID(made[i-1][1]).ExecX(ctx)
				}
				if i > 1 {
					tx.SystemUser.DeleteOneID(made[i-2][0]).ExecX(ctx)
				}
				made = append(made, [2]int{own.ID, tree.ID})
				return nil
			})
		}
	})
}

// TestForeignNamesRefused: a user or group on the server that the panel
// did not make for a system user (made by hand, a system account, a group,
// a user the panel made for another system user) is neither taken over by
// a save, which fails naming it, nor removed by a delete. Staff hand one
// over by giving it the panel's mark.
func TestForeignNamesRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newUnixBed(t, st, "fx")
		ex := b.executor()
		tag := b.tag
		var acc int
		logs := b.write(ex, cli, func(ctx context.Context, tx *ent.Tx) error {
			acc = tx.Account.Create().SetUsername(tag).SetPassword("!").SetFullName("Foreign").
				SetEmail(tag + "@example.com").SaveX(ctx).ID
			return nil
		})
		if len(logs) != 1 || logs[0].State != orchestration.StateSuccess {
			t.Fatalf("the account: %+v", logs)
		}
		b.sh(fmt.Sprintf(`useradd -M -s /bin/sh %[1]su
useradd --system -M %[1]ss
groupadd %[1]sg
useradd -M -c %[2]s999999999 %[1]so`, tag, systemusers.Mark))
		dump := fmt.Sprintf(`for n in %[1]su %[1]ss %[1]sg %[1]so; do getent passwd $n; getent shadow $n; getent group $n; done; ls -d /home/%[1]s?* 2>/dev/null; true`, tag)
		before := b.sh(dump)

		ids := map[string]int{}
		for _, c := range []struct{ name, want string }{
			{"u", ": a user of that name (uid "},
			{"s", ": a user of that name (uid "},
			{"o", ": a user of that name (uid "},
			{"g", ": a group of that name (gid "},
		} {
			logs := b.write(ex, cli, func(ctx context.Context, tx *ent.Tx) error {
				ids[c.name] = tx.SystemUser.Create().SetUsername(tag + c.name).SetAccountID(acc).
					SetShell(systemusers.ShellBash).SetPassword(hashOf(t, "Taken-pass-42")).SaveX(ctx).ID
				return nil
			})
			if len(logs) != 1 || logs[0].State != orchestration.StateFailure || !strings.Contains(logs[0].Stderr, tag+c.name+c.want) {
				t.Errorf("%s: %d units, want one failing with %q: %+v", c.name, len(logs), c.want, logs)
			}
		}
		if after := b.sh(dump); after != before {
			t.Errorf("refused saves changed the server:\n%s\nwant:\n%s", after, before)
		}

		// deleting the panel's users of those names leaves the server's alone
		logs = b.write(ex, cli, func(ctx context.Context, tx *ent.Tx) error {
			return tx.SystemUser.DeleteOneID(ids["s"]).Exec(ctx)
		})
		if len(logs) != 1 || logs[0].State != orchestration.StateSuccess || !strings.Contains(logs[0].Stdout, tag+"s: left on the server") {
			t.Errorf("the delete of a name the panel did not make: %+v", logs)
		}
		if after := b.sh(dump); after != before {
			t.Errorf("a delete changed what the panel did not make:\n%s\nwant:\n%s", after, before)
		}

		// staff hand a user over with the mark: the save applies then
		b.sh(fmt.Sprintf("usermod -c %s%d %su", systemusers.Mark, ids["u"], tag))
		again, err := ex.Retry(sys, logsOf(t, st, ids["u"]).ID)
		if err != nil {
			t.Fatal(err)
		}
		wait, cancel := context.WithTimeout(sys, 2*time.Minute)
		defer cancel()
		if l, err := ex.Await(wait, []int{again.LogID}); err != nil || len(l) != 1 || l[0].State != orchestration.StateSuccess {
			t.Fatalf("the marked user: %v, %+v", err, l)
		}
		if got := b.sh("getent passwd " + tag + "u | cut -d: -f5-"); got != fmt.Sprintf("%s%d:/home/%su:/bin/bash\n", systemusers.Mark, ids["u"], tag) {
			t.Errorf("the handed over user: %q", got)
		}
	})
}

// logsOf returns the last log with an operation on the system user id.
func logsOf(t *testing.T, st *store.Store, id int) *ent.ExecutionLog {
	t.Helper()
	return st.ExecutionLog.Query().Where(executionlog.HasOperationsWith(entop.ObjectID(id), entop.Model("SystemUser"))).
		Order(ent.Desc(executionlog.FieldID)).FirstX(sys)
}
