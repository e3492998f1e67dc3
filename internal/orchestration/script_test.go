package orchestration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hostile are strings a shell would act on if they were not data.
var hostile = []string{
	`it's "quoted"`, `$(touch /tmp/orchestra-pwned)`, "`touch /tmp/orchestra-pwned`", "; rm -rf / #",
	"a\nb\r\nc", "tab\there", `\`, `\\n`, "$HOME ${PATH} $1 $@ $$", "!!", "~root", "*", "?", "[a-z]",
	"a | b && c || d > e < f", "--help", "-rf", "Núria 山田 🎉", "\u202eevil", "'", `"`, "''", "",
	"ORCHESTRA_EOF_0000000000000000", strings.Repeat("x", 5000),
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
	if m, _ := filepath.Glob(filepath.Join(dir, "*.orchestra.*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
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
