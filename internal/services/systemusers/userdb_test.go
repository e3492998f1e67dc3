package systemusers

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// userDBRoot is a directory standing for / with a small user database: the
// server's own accounts, www-data, a foreign user and a foreign group, and
// a panel user (id 7) in them.
func userDBRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the user database program chowns homes: run as root (./do test)")
	}
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl")
	}
	root := t.TempDir()
	files := map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n" +
			"sys1:x:999:999::/nonexistent:/usr/sbin/nologin\nforeign:x:1000:1000::/home/foreign:/bin/sh\n" +
			"old:x:1001:1001:" + Mark + "7:/home/old:/bin/bash\n+@nis::::::\n",
		"shadow": "root:*:19000:0:99999:7:::\nwww-data:*:19000:0:99999:7:::\nsys1:!:19000::::::\n" +
			"foreign:!:19000:0:99999:7:::\nold:$6$x$y:19000:0:99999:7:::\n",
		"group": "root:x:0:\nwww-data:x:33:\nsys1:x:999:\nforeign:x:1000:\nold:x:1001:www-data\nlonely:x:1002:\n" +
			"orchestra-sftp:x:998:foreign\n",
		"gshadow": "root:*::\nwww-data:*::\nsys1:!::\nforeign:!::\nold:!::www-data\nlonely:!::\norchestra-sftp:!::foreign\n",
		"subuid":  "old:100000:65536\nforeign:165536:65536\nold:231072:65536\n",
		"login.defs": "UID_MIN 1000\nUID_MAX 60000\nGID_MIN 1000\nGID_MAX 60000\n" +
			"PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nPASS_WARN_AGE 7\n",
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "home", "old"), 0o750); err != nil {
		t.Fatal(err)
	}
	return root
}

// runUserDB runs program (userDB or an altered copy) on root with records
// (NUL-terminated fields); it returns stdout, stderr and whether it
// succeeded.
func runUserDB(t *testing.T, program, root string, records ...string) (string, string, bool) {
	t.Helper()
	var in bytes.Buffer
	for _, r := range records {
		in.WriteString(r)
		in.WriteByte(0)
	}
	cmd := exec.Command("perl", "-e", program, root)
	cmd.Stdin = &in
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err == nil
}

// userDBFiles reads the database files of root, each as its sorted lines
// with the members of groups sorted: the state, whatever the order things
// were written in.
func userDBFiles(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range []string{"passwd", "shadow", "group", "gshadow", "subuid"} {
		b, err := os.ReadFile(filepath.Join(root, "etc", name))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if f := strings.Split(l, ":"); (name == "group" || name == "gshadow") && len(f) == 4 {
				m := strings.Split(f[3], ",")
				slices.Sort(m)
				f[3] = strings.Join(m, ",")
				l = strings.Join(f, ":")
			}
			lines = append(lines, l)
		}
		slices.Sort(lines)
		out[name] = lines
	}
	return out
}

// batch is a unit of every kind: the panel user old (id 7) deleted and a
// new one of the same name made (id 8), users in their own homes and in
// another's tree, groups, an inactive user, members added.
var batch = []string{
	"D", "7", "old",
	"D", "9", "foreign", // not the panel's: left as it is
	"S", "8", "old", "/home/old", "1", "/bin/bash", "", "$6$a$" + strings.Repeat("b", 86), "1", "www-data",
	"S", "10", "web", "/home/old/site", "", "/usr/sbin/nologin", "old orchestra-sftp", "", "", "www-data old",
	"S", "11", "ftp", "/home/ftp", "1", "/dev/null", "web lonely missing", "*", "1", "www-data old",
}

// TestUserDBBatch: a unit applied in one run gives the database it should,
// and running it again changes nothing.
func TestUserDBBatch(t *testing.T) {
	root := userDBRoot(t)
	out, errs, ok := runUserDB(t, userDB, root, batch...)
	if !ok {
		t.Fatalf("run: %s", errs)
	}
	if out != "system users: 3 saved (3 new), 1 removed\n" {
		t.Errorf("output %q", out)
	}
	got := userDBFiles(t, root)
	want := map[string][]string{
		"passwd": {"+@nis::::::", "foreign:x:1000:1000::/home/foreign:/bin/sh",
			// a new uid for the new old: 1001 was the deleted one's
			"ftp:x:1004:1005:" + Mark + "11:/home/ftp:/dev/null",
			"old:x:1002:1003:" + Mark + "8:/home/old:/bin/bash",
			"root:x:0:0:root:/root:/bin/bash", "sys1:x:999:999::/nonexistent:/usr/sbin/nologin",
			"web:x:1003:1004:" + Mark + "10:/home/old/site:/usr/sbin/nologin",
			"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin"},
		// the gid of lonely (1002) is taken: the new groups get the next ones
		"group": {"foreign:x:1000:", "ftp:x:1005:old,www-data", "lonely:x:1002:ftp", "old:x:1003:web,www-data",
			"orchestra-sftp:x:998:foreign,web", "root:x:0:", "sys1:x:999:", "web:x:1004:ftp,old,www-data", "www-data:x:33:"},
		"gshadow": {"foreign:!::", "ftp:!::old,www-data", "lonely:!::ftp", "old:!::web,www-data",
			"orchestra-sftp:!::foreign,web", "root:*::", "sys1:!::", "web:!::ftp,old,www-data", "www-data:*::"},
		"subuid": {"foreign:165536:65536"},
	}
	for _, f := range []string{"passwd", "group", "gshadow", "subuid"} {
		if !slices.Equal(got[f], want[f]) {
			t.Errorf("%s:\n%s\nwant:\n%s", f, strings.Join(got[f], "\n"), strings.Join(want[f], "\n"))
		}
	}
	shadow := strings.Join(got["shadow"], "\n")
	for _, re := range []string{"ftp:\\*:[0-9]+:0:99999:7:::", "old:\\$6\\$a\\$b{86}:[0-9]+:0:99999:7:::",
		"web:!\\*:[0-9]+:0:99999:7::1:"} {
		if !matchLine(shadow, re) {
			t.Errorf("shadow has no line %s:\n%s", re, shadow)
		}
	}
	if strings.Contains(shadow, "$6$x$y") {
		t.Errorf("the deleted user's shadow entry is left:\n%s", shadow)
	}
	for _, h := range []string{"home/old", "home/ftp"} {
		fi, err := os.Lstat(filepath.Join(root, h))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
			t.Errorf("%s: %v %v", h, fi, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "home/old/site")); err == nil {
		t.Error("a home in another user's tree was made by root")
	}

	again, errs, ok := runUserDB(t, userDB, root, batch...)
	if !ok {
		t.Fatalf("again: %s", errs)
	}
	if after := userDBFiles(t, root); !maps.EqualFunc(got, after, slices.Equal) {
		t.Errorf("running it again changed the database (%s):\n%v\n%v", again, got, after)
	}
}

func matchLine(text, re string) bool {
	for _, l := range strings.Split(text, "\n") {
		if ok, _ := regexp.MatchString("^"+re+"$", l); ok {
			return true
		}
	}
	return false
}

// withoutIDs returns files with the numbers of the users and groups made
// replaced by names (the user's own group; uid), after checking that they
// are unique: a run cut short after the deletes may give the new users the
// numbers the deleted ones freed.
func withoutIDs(t *testing.T, files map[string][]string) map[string][]string {
	t.Helper()
	groupOf, uids := map[string]string{}, map[string]bool{}
	out := map[string][]string{}
	for _, l := range files["group"] {
		f := strings.Split(l, ":")
		if groupOf[f[2]] != "" {
			t.Errorf("gid %s twice", f[2])
		}
		groupOf[f[2]] = f[0]
		f[2] = "gid"
		out["group"] = append(out["group"], strings.Join(f, ":"))
	}
	for _, l := range files["passwd"] {
		f := strings.Split(l, ":")
		if len(f) == 7 {
			if uids[f[2]] {
				t.Errorf("uid %s twice", f[2])
			}
			uids[f[2]] = true
			f[2], f[3] = "uid", groupOf[f[3]]
		}
		out["passwd"] = append(out["passwd"], strings.Join(f, ":"))
	}
	for _, k := range []string{"shadow", "gshadow", "subuid"} {
		out[k] = files[k]
	}
	return out
}

// TestUserDBCutShort: the run killed after any of the files it writes, then
// run again, ends as a run that was never cut short.
func TestUserDBCutShort(t *testing.T) {
	ref := userDBRoot(t)
	if _, errs, ok := runUserDB(t, userDB, ref, batch...); !ok {
		t.Fatalf("reference run: %s", errs)
	}
	want := withoutIDs(t, userDBFiles(t, ref))
	const rename = `rename($tmp, $path) or fail("$path: $!");`
	if !strings.Contains(userDB, rename) {
		t.Fatal("the program no longer renames files as this test expects")
	}
	for cut := 1; ; cut++ {
		root := userDBRoot(t)
		// killed right after the cut-th file is put in place
		cutShort := strings.Replace(userDB, rename, rename+` kill("KILL", $$) if $path !~ /-\z/ && ++$main::written == `+
			strconv.Itoa(cut)+`;`, 1)
		_, _, ok := runUserDB(t, cutShort, root, batch...)
		if ok {
			if cut < 5 {
				t.Fatalf("the run was cut short only after %d files", cut-1)
			}
			t.Logf("cut short after each of %d files", cut-1)
			break // nothing left to cut
		}
		if _, errs, ok := runUserDB(t, userDB, root, batch...); !ok {
			t.Fatalf("cut after %d files, run again: %s", cut, errs)
		}
		if got := withoutIDs(t, userDBFiles(t, root)); !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("cut after %d files, run again:\n%v\nwant:\n%v", cut, got, want)
		}
	}
}

// TestUserDBRefusesForeign: a save of a name the panel did not make (a
// user, a system account, a user made for another system user, a group) is
// refused, naming it, and nothing is written.
func TestUserDBRefusesForeign(t *testing.T) {
	root := userDBRoot(t)
	before := userDBFiles(t, root)
	for _, c := range []struct{ id, name, want string }{
		{"20", "foreign", "foreign: a user of that name (uid 1000) exists on the server and was not made by the panel"},
		{"21", "sys1", "sys1: a user of that name (uid 999) exists"},
		{"22", "old", "old: a user of that name (uid 1001) exists"}, // made for id 7
		{"23", "lonely", "lonely: a group of that name (gid 1002) exists on the server and is not the own group of a panel user"},
	} {
		_, errs, ok := runUserDB(t, userDB, root,
			"S", "30", "fresh", "/home/fresh", "1", "/bin/bash", "", "", "1", "www-data", // would be made
			"S", c.id, c.name, "/home/"+c.name, "1", "/bin/bash", "", "", "1", "www-data")
		if ok || !strings.Contains(errs, c.want) {
			t.Errorf("%s: succeeded %v: %s", c.name, ok, errs)
		}
	}
	if after := userDBFiles(t, root); !maps.EqualFunc(before, after, slices.Equal) {
		t.Errorf("refused runs changed the database:\n%v\n%v", before, after)
	}
}

// TestUserDBPlantedHome: an own base home that is a link (planted before the
// user was saved, pointing at a directory of the server's) is refused, and
// the link's target keeps its owner and mode.
func TestUserDBPlantedHome(t *testing.T) {
	root := userDBRoot(t)
	target := filepath.Join(root, "etc", "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(root, "home", "planted")); err != nil {
		t.Fatal(err)
	}
	_, errs, ok := runUserDB(t, userDB, root, "S", "40", "planted", "/home/planted", "1", "/bin/bash", "", "", "1", "www-data")
	if ok || !strings.Contains(errs, "/home/planted is a link: refused") {
		t.Errorf("a linked home: succeeded %v: %s", ok, errs)
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 || fi.Mode().Perm() != 0o755 {
		t.Errorf("the link's target became %d:%d %v", st.Uid, st.Gid, fi.Mode().Perm())
	}
}
