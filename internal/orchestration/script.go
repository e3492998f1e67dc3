package orchestration

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrNUL is returned for an argument holding a NUL byte, which no argv can
// carry; validation refuses such input before it gets here.
var ErrNUL = errors.New("orchestration: NUL byte in a script argument")

// Script builds a bash script in three sections. Every argument is quoted
// and file contents are shipped base64-encoded, so nothing a user typed is
// ever interpreted by the shell.
type Script struct {
	head, body, tail []string
	section          *[]string
	err              error
}

// NewScript returns an empty script writing to its body.
func NewScript() *Script {
	s := &Script{}
	s.section = &s.body
	return s
}

// Quote returns s as one shell word.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:@+,%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Cmd appends a command; each argument is quoted.
func (s *Script) Cmd(argv ...string) {
	words := make([]string, len(argv))
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			s.fail(ErrNUL)
			return
		}
		words[i] = Quote(a)
	}
	*s.section = append(*s.section, strings.Join(words, " "))
}

// Raw appends constant shell text written by a backend's author; never pass
// user data to it.
func (s *Script) Raw(text string) { *s.section = append(*s.section, text) }

// Var appends `name=value` with the value quoted; name must be a constant.
func (s *Script) Var(name, value string) {
	if strings.IndexByte(value, 0) >= 0 {
		s.fail(ErrNUL)
		return
	}
	*s.section = append(*s.section, name+"="+Quote(value))
}

// WriteFile ships content to path with the given octal mode: the file is
// replaced only when its content differs, and then the variable changed is
// set to 1 so that Commit can reload a daemon once.
func (s *Script) WriteFile(path string, content []byte, mode string) {
	if strings.IndexByte(path, 0) >= 0 {
		s.fail(ErrNUL)
		return
	}
	// base64 text cannot contain the delimiter; its randomness makes that plain.
	b := make([]byte, 8)
	rand.Read(b)
	eof := "ORCHESTRA_EOF_" + hex.EncodeToString(b)
	s.Raw(fmt.Sprintf("if orchestra_write %s %s <<'%s'\n%s\n%s\nthen changed=1; fi",
		Quote(path), Quote(mode), eof, wrap(base64.StdEncoding.EncodeToString(content)), eof))
}

func wrap(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteByte('\n')
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func (s *Script) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// into directs what follows to one section.
func (s *Script) into(sec *[]string) { s.section = sec }

// Err returns the first error met while building.
func (s *Script) Err() error { return s.err }

// Empty reports whether the body has no commands: such a unit is not run.
func (s *Script) Empty() bool { return len(s.body) == 0 }

// preamble starts every script: stop at the first failing command, and
// define the helper WriteFile uses.
const preamble = `set -euo pipefail
changed=0
orchestra_write() {
  local tmp
  tmp=$(mktemp "$1.orchestra.XXXXXX")
  base64 -d > "$tmp"
  chmod "$2" "$tmp"
  if [ -e "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mv -f "$tmp" "$1"
}`

// String renders the script.
func (s *Script) String() string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	b.WriteString(preamble)
	b.WriteString("\n")
	for _, sec := range [][]string{s.head, s.body, s.tail} {
		for _, l := range sec {
			b.WriteString(l)
			b.WriteString("\n")
		}
	}
	return b.String()
}
