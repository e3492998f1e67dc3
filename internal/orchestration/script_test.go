package orchestration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// hostile are strings a shell would act on if they were not data.
var hostile = []string{
	`it's "quoted"`, `$(touch /tmp/orchestra-pwned)`, "`touch /tmp/orchestra-pwned`", "; rm -rf / #",
	"a\nb\r\nc", "tab\there", `\`, `\\n`, "$HOME ${PATH} $1 $@ $$", "!!", "~root", "*", "?", "[a-z]",
	"a | b && c || d > e < f", "--help", "-rf", "Núria 山田 🎉", "\u202eevil", "'", `"`, "''", "",
	"ORCHESTRA_EOF_0000000000000000", strings.Repeat("x", 5000),
}

// bashOutput runs a script with bash locally and returns its output, both
// streams, and how it ended.
func bashOutput(script string) (string, error) {
	cmd := exec.Command("/bin/bash", "-s")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runBash runs a script with bash locally, as a server would.
func runBash(t *testing.T, script string) (string, string) {
	t.Helper()
	cmd := exec.Command("/bin/bash", "-s")
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash: %v\nstderr: %s\nscript:\n%s", err, errb.String(), script)
	}
	return out.String(), errb.String()
}

func TestQuoteArrivesAsData(t *testing.T) {
	s := NewScript()
	for _, h := range hostile {
		s.Cmd("printf", "%s\\0", h)
	}
	out, _ := runBash(t, s.String())
	got := strings.Split(out, "\x00")
	got = got[:len(got)-1]
	if len(got) != len(hostile) {
		t.Fatalf("%d words back, want %d: %q", len(got), len(hostile), out)
	}
	for i := range hostile {
		if got[i] != hostile[i] {
			t.Errorf("word %d: got %q, want %q", i, got[i], hostile[i])
		}
	}
	if _, err := os.Stat("/tmp/orchestra-pwned"); err == nil {
		t.Fatal("a hostile string ran as code")
	}
}

func TestVarAndNUL(t *testing.T) {
	s := NewScript()
	s.Var("v", "$(id) 'x'\n")
	s.Raw(`printf '%s' "$v"`)
	if out, _ := runBash(t, s.String()); out != "$(id) 'x'\n" {
		t.Errorf("var holds %q", out)
	}
	s = NewScript()
	s.Cmd("echo", "a\x00b")
	if s.Err() != ErrNUL {
		t.Errorf("NUL accepted: %v", s.Err())
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "it's a $(file)")
	content := []byte(strings.Join(hostile, "\n") + "\x00\xff binary")
	write := func() string {
		s := NewScript()
		s.WriteFile(path, content, "0640")
		s.Raw(`echo "changed=$changed"`)
		out, _ := runBash(t, s.String())
		return strings.TrimSpace(out)
	}
	if got := write(); got != "changed=1" {
		t.Errorf("first write: %s", got)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(b, content) {
		t.Fatalf("file holds %q (%v)", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if got := write(); got != "changed=0" {
		t.Errorf("same content written again: %s", got)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.orchestra-new")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestWriteFileText covers the builtin path (content without NUL): the file
// is in place for the next command, only a real difference counts as a
// change (a trailing newline, a NUL after a common prefix), modes with
// execute bits hold, and a link planted at the staged name is not followed.
func TestWriteFileText(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b $(x)")
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	os.Symlink(victim, b+".orchestra-new")
	run := func(ca, cb string) string {
		s := NewScript()
		s.WriteFile(a, []byte(ca), "0600")
		s.WriteFile(b, []byte(cb), "0755")
		s.Cmd("cat", a, b) // staged files are in place before the next command
		s.Raw(`echo "changed=$changed"`)
		out, _ := runBash(t, s.String())
		return out
	}
	text := strings.Join(hostile, "\n")
	if got := run(text, "x\n"); got != text+"x\nchanged=1\n" {
		t.Errorf("first run: %q", got)
	}
	if got := run(text, "x\n"); !strings.HasSuffix(got, "changed=0\n") {
		t.Errorf("same content: %q", got)
	}
	if got := run(text, "x"); !strings.HasSuffix(got, "changed=1\n") {
		t.Errorf("trailing newline removed: %q", got)
	}
	os.WriteFile(a, []byte(text+"\x00tail"), 0o600)
	if got := run(text, "x"); !strings.HasSuffix(got, "changed=1\n") {
		t.Errorf("NUL after the same prefix: %q", got)
	}
	for p, want := range map[string]os.FileMode{a: 0o600, b: 0o755} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	if v, _ := os.ReadFile(victim); string(v) != "keep" {
		t.Errorf("write followed a planted link: victim holds %q", v)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.orchestra-new")); len(m) != 0 {
		t.Errorf("staged files left: %v", m)
	}
	s := NewScript()
	s.WriteFile(a, nil, "u+x")
	if s.Err() == nil {
		t.Error("a symbolic mode was accepted")
	}
}

// TestWriteFileFailureLeavesNothing: a script failing after staged writes
// leaves neither the staged files nor a half-written target.
func TestWriteFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := NewScript()
	s.WriteFile(filepath.Join(dir, "f"), []byte("new"), "0644")
	s.WriteFile(filepath.Join(dir, "missing", "g"), []byte("new"), "0644")
	cmd := exec.Command("/bin/bash", "-s")
	cmd.Stdin = strings.NewReader(s.String())
	if err := cmd.Run(); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
}

func FuzzScriptQuoting(f *testing.F) {
	for _, h := range hostile {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, word string) {
		if strings.IndexByte(word, 0) >= 0 {
			t.Skip()
		}
		s := NewScript()
		s.Cmd("printf", "%s", word)
		if out, _ := runBash(t, s.String()); out != word {
			t.Fatalf("got %q, want %q", out, word)
		}
	})
}

// TestWriteFileTwice: the last write of a path in a script wins, also when
// it restores what the file held before the script, and a rename that fails
// fails the script with its reason.
func TestWriteFileTwice(t *testing.T) {
	dir := t.TempDir()
	p, q := filepath.Join(dir, "p"), filepath.Join(dir, "q")
	os.WriteFile(p, []byte("old"), 0o644)
	os.WriteFile(q, []byte("old\x00"), 0o644)
	s := NewScript()
	s.WriteFile(p, []byte("new"), "0644")
	s.WriteFile(q, []byte("new\x00"), "0644")
	s.WriteFile(p, []byte("old"), "0644")
	s.WriteFile(q, []byte("old\x00"), "0644")
	s.Raw(`echo "changed=$changed"`)
	s.WriteFile(p, []byte("newer"), "0644")
	if out, _ := runBash(t, s.String()); out != "changed=1\n" {
		t.Errorf("output %q", out)
	}
	for path, want := range map[string]string{p: "newer", q: "old\x00"} {
		if b, _ := os.ReadFile(path); string(b) != want {
			t.Errorf("%s holds %q, want %q", path, b, want)
		}
	}
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "x"), nil, 0o644)
	s = NewScript()
	s.WriteFile(filepath.Join(dir, "d"), []byte("x"), "0644")
	s.Raw("echo after")
	out, err := bashOutput(s.String())
	if err == nil || !strings.Contains(out, "rename "+filepath.Join(dir, "d")) || strings.Contains(out, "after") {
		t.Errorf("rename over a directory: %v, %q", err, out)
	}
}

// TestWriteFileChecked: a check that refuses the new content leaves the
// file as it was and fails the script; one that accepts it lets it in.
func TestWriteFileChecked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "conf")
	os.WriteFile(p, []byte("good"), 0o644)
	for _, content := range []string{"bad", "bad\x00"} {
		s := NewScript()
		s.WriteFileChecked(p, []byte(content), "0644", "bash", "-c", `! grep -q bad "$1"`, "check")
		s.Raw("echo after")
		out, err := bashOutput(s.String())
		if err == nil || strings.Contains(out, "after") || !strings.Contains(out, "refused") {
			t.Errorf("%q: %v %q", content, err, out)
		}
		if b, _ := os.ReadFile(p); string(b) != "good" {
			t.Errorf("%q: the file holds %q", content, b)
		}
	}
	s := NewScript()
	s.WriteFileChecked(p, []byte("fine"), "0644", "grep", "-q", "fine")
	runBash(t, s.String())
	if b, _ := os.ReadFile(p); string(b) != "fine" {
		t.Errorf("accepted content not written: %q", b)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.orchestra-new")); len(m) != 0 {
		t.Errorf("staged files left: %v", m)
	}
}

// TestBeforeFlush: a backend's orchestra_before_flush sees the staged
// paths and can refuse the batch, leaving every file as it was.
func TestBeforeFlush(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("old"), 0o644)
	for _, refuse := range []bool{true, false} {
		s := NewScript()
		s.Raw(`orchestra_before_flush() { printf '%s\n' "$@" >` + Quote(filepath.Join(dir, "seen")) + `; ! grep -qs bad "${@/%/.orchestra-new}"; }`)
		content := "good"
		if refuse {
			content = "bad"
		}
		s.WriteFile(a, []byte(content), "0644")
		s.WriteFile(b, []byte("b"), "0644")
		s.Raw("echo after")
		out, err := bashOutput(s.String())
		seen, _ := os.ReadFile(filepath.Join(dir, "seen"))
		if string(seen) != a+"\n"+b+"\n" {
			t.Errorf("the hook saw %q", seen)
		}
		got, _ := os.ReadFile(a)
		if refuse && (err == nil || strings.Contains(out, "after") || string(got) != "old") {
			t.Errorf("refused batch: %v %q, a holds %q", err, out, got)
		}
		if !refuse && (err != nil || string(got) != "good") {
			t.Errorf("accepted batch: %v %q, a holds %q", err, out, got)
		}
		if _, err := os.Stat(b); refuse == (err == nil) {
			t.Errorf("refuse=%v: b exists: %v", refuse, err == nil)
		}
	}
}

// A secret reaches the shell intact and is masked in the stored copy in
// every form a backend may write it: an argv word, a quoted variable, file
// content as text and as base64.
func TestSecretsMasked(t *testing.T) {
	dir := t.TempDir()
	s := NewScript()
	hash := s.Secret(`$6$rounds=5000$salt'quote$hashHASH/.`)
	s.Secret("") // nothing to mask
	s.Var("hash", hash)
	s.Raw(`printf '%s\n' "$hash"`)
	s.Cmd("printf", "%s\n", hash)
	s.WriteFile(filepath.Join(dir, "text"), []byte("user:"+hash+"\n"), "0600")
	s.WriteFile(filepath.Join(dir, "binary"), []byte("user\x00"+hash+"\n"), "0600")

	out, _ := runBash(t, s.String())
	if want := hash + "\n" + hash + "\n"; out != want {
		t.Errorf("the shell got %q, want %q", out, want)
	}
	for name, want := range map[string]string{"text": "user:" + hash + "\n", "binary": "user\x00" + hash + "\n"} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
			t.Errorf("%s file: %q", name, got)
		}
	}

	masked := s.Masked()
	for _, leak := range []string{hash, "hashHASH", "salt"} {
		if strings.Contains(masked, leak) {
			t.Errorf("masked script holds %q:\n%s", leak, masked)
		}
	}
	if n := strings.Count(masked, Mask); n != 4 {
		t.Errorf("%d masks, want 4 (variable, argv, text file, base64 file):\n%s", n, masked)
	}
	if !strings.Contains(masked, "orchestra_write_base64") || !strings.Contains(masked, "user:") {
		t.Errorf("masking took more than the secrets:\n%s", masked)
	}
	if got := MaskSecrets("echo "+hash+" again", s.Secrets()); got != "echo "+Mask+" again" {
		t.Errorf("output masked as %q", got)
	}
}

func TestWithoutPartialSecret(t *testing.T) {
	secrets := []string{"$6$abcdef", "zz"}
	for text, want := range map[string]string{
		"":                 "",
		"line\n":           "line\n",
		"hash: $6$ab":      "hash: ",
		"hash: $6$abcdef":  "hash: $6$abcdef", // whole: masked by MaskSecrets
		"z":                "",
		"$6$abcdef and $6": "$6$abcdef and ",
	} {
		if got := withoutPartialSecret(text, secrets); got != want {
			t.Errorf("%q: got %q, want %q", text, got, want)
		}
	}
}

// TestStagedNamePlanted: a link to a FIFO planted again and again at the
// staged name, also between the removal of a leftover and the creation, is
// never opened: each write either lands in a new regular file or fails, and
// nothing reaches the FIFO. bash's noclobber would open it.
func TestStagedNamePlanted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "zone")
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// held open so that a writer would not block but leave what it wrote
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	defer func() { close(stop); <-done }()
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			os.Remove(path + ".orchestra-new")
			os.Symlink(fifo, path+".orchestra-new")
		}
	}()
	written, refused := 0, 0
	for i := range 40 {
		content := fmt.Sprintf("content %d\n", i)
		s := NewScript()
		s.WriteFile(path, []byte(content), "0644")
		out, err := bashOutput(s.String())
		if err != nil {
			// refused at creation, at the check before the rename, or by
			// the rename of a staged file removed meanwhile
			if !strings.Contains(out, path) {
				t.Fatalf("write %d failed for another reason: %v %q", i, err, out)
			}
			refused++
			continue
		}
		written++
		if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("write %d: %s is not a regular file: %v %v", i, path, fi, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("write %d: %s holds %q", i, path, b)
		}
	}
	buf := make([]byte, 4096)
	if n, _ := r.Read(buf); n > 0 {
		t.Errorf("the planted FIFO received %q", buf[:n])
	}
	t.Logf("%d written, %d refused", written, refused)
}

// TestStagedFileSwapped: a staged file replaced by a link before it is put
// in place is refused; the target keeps its content and the link's target
// is untouched.
func TestStagedFileSwapped(t *testing.T) {
	dir := t.TempDir()
	p, victim := filepath.Join(dir, "conf"), filepath.Join(dir, "victim")
	os.WriteFile(p, []byte("old"), 0o644)
	os.WriteFile(victim, []byte("keep"), 0o600)
	for _, content := range []string{"new", "new\x00"} {
		s := NewScript()
		s.WriteFileChecked(p, []byte(content), "0755", "bash", "-c", `rm -f -- "$1" && ln -s -- "$0" "$1"`, victim)
		s.Raw("echo after")
		out, err := bashOutput(s.String())
		if err == nil || strings.Contains(out, "after") || !strings.Contains(out, "not the file staged") {
			t.Errorf("%q: %v %q", content, err, out)
		}
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
			t.Errorf("%q: %s became %v (%v)", content, p, fi.Mode(), err)
		}
		if b, _ := os.ReadFile(p); string(b) != "old" {
			t.Errorf("%q: %s holds %q", content, p, b)
		}
		if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o600 {
			t.Errorf("%q: the victim's mode became %v", content, fi.Mode().Perm())
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep" {
			t.Errorf("%q: the victim holds %q", content, b)
		}
	}
}

// TestPerlInHelper: a backend runs perl in the file helper with arguments
// as data, keeps state there between requests, sees its errors, and
// staging goes on around it.
func TestPerlInHelper(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	s := NewScript()
	s.Raw(`orchestra_perl_send '$main::seen = join("|", @ARGV); 1' "a b" "it's" '$(x)'`)
	s.WriteFile(p, []byte("content"), "0600")
	s.Raw(`orchestra_perl_reply; echo "sent: $?"`)
	s.WriteFile(p, []byte("content 2"), "0600")
	s.Raw(`orchestra_perl '$main::seen'; echo "kept: $orchestra_perl_out"`)
	s.Raw(`if orchestra_perl 'die "refused\n"'; then echo "died: no"; else echo "died: $orchestra_perl_out"; fi`)
	s.Raw(`orchestra_perl 'scalar @ARGV'; echo "no arguments: $orchestra_perl_out"`)
	out, _ := runBash(t, s.String())
	want := "sent: 0\nkept: a b|it's|$(x)\ndied: refused\n\nno arguments: 0\n"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if b, _ := os.ReadFile(p); string(b) != "content 2" {
		t.Errorf("the file holds %q", b)
	}
}
