package orchestration

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrNUL is returned for an argument holding a NUL byte, which no argv can
// carry; validation refuses such input before it gets here.
var ErrNUL = errors.New("orchestration: NUL byte in a script argument")

// Script builds a bash script in three sections. Every argument is quoted
// and file contents are shipped base64-encoded, so nothing a user typed is
// ever interpreted by the shell.
//
// Secret values (those of a snapshot's secret fields, and any a backend
// marks with Secret) are in the script that runs, masked in what is stored
// and shown (Masked).
type Script struct {
	head, body, tail []string
	section          *[]string
	staged           bool // files written but not yet renamed into place
	err              error
	secrets          []string
	lane             string // the server's lock name (laneName); "" for the default
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
	s.flush()
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
func (s *Script) Raw(text string) {
	s.flush()
	*s.section = append(*s.section, text)
}

// Mask is what a secret value shows as in stored scripts, output and alerts.
const Mask = "********"

// Secret marks value as secret and returns it: wherever it appears in the
// script, the stored and mailed copies show Mask instead. Mark a value
// before writing it: a file written with WriteFile is masked whole when its
// content holds a marked value and it has to be shipped base64-encoded.
// Values of the fields a schema declares Sensitive() are marked already.
func (s *Script) Secret(value string) string {
	if value != "" && !slices.Contains(s.secrets, value) {
		s.secrets = append(s.secrets, value)
	}
	return value
}

// Secrets returns the values marked secret.
func (s *Script) Secrets() []string { return slices.Clone(s.secrets) }

// Masked renders the script with every secret value masked.
func (s *Script) Masked() string { return MaskSecrets(s.String(), s.secrets) }

// MaskSecrets replaces each of secrets in text, as it is and as Quote
// writes it inside a quoted word, with Mask.
func MaskSecrets(text string, secrets []string) string {
	if m := masker(secrets); m != nil {
		return m.Replace(text)
	}
	return text
}

// masker returns what MaskSecrets does as one Replacer (nil for no
// secrets), for text masked again and again (live output).
func masker(secrets []string) *strings.Replacer {
	var forms []string
	for _, v := range secrets {
		if v == "" {
			continue
		}
		forms = append(forms, v)
		if q := strings.ReplaceAll(v, "'", `'\''`); q != v {
			forms = append(forms, q)
		}
	}
	if len(forms) == 0 {
		return nil
	}
	// longest first, so that a secret holding another is masked whole (a
	// Replacer prefers earlier pairs); one pass whatever the number of
	// secrets: a unit of ten thousand users has twenty thousand forms
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Mask)
	}
	return strings.NewReplacer(pairs...)
}

// Var appends `name=value` with the value quoted; name must be a constant.
func (s *Script) Var(name, value string) {
	if strings.IndexByte(value, 0) >= 0 {
		s.fail(ErrNUL)
		return
	}
	s.flush()
	*s.section = append(*s.section, name+"="+Quote(value))
}

// WriteFile ships content to path with the given octal mode: the file is
// replaced only when its content differs, and then the variable changed is
// set to 1 so that Commit can reload a daemon once.
//
// The new content goes to a staged file beside path; consecutive writes are
// renamed into place together, just before the next command of the script
// or at the end of its section. Comparing and writing use bash builtins only,
// so that ten thousand files in one unit do not cost fifty thousand
// processes; content holding NUL bytes is shipped base64-encoded instead.
func (s *Script) WriteFile(path string, content []byte, mode string) {
	s.WriteFileChecked(path, content, mode)
}

// WriteFileChecked is WriteFile with a check: when the content differs,
// check (an argv, quoted like Cmd's) runs with the staged file's path as its
// last argument before anything is put in place, and its failure fails the
// script with the file untouched (e.g. named-checkzone -q example.com).
func (s *Script) WriteFileChecked(path string, content []byte, mode string, check ...string) {
	if strings.IndexByte(path, 0) >= 0 {
		s.fail(ErrNUL)
		return
	}
	checkWords := ""
	for _, a := range check {
		if strings.IndexByte(a, 0) >= 0 {
			s.fail(ErrNUL)
			return
		}
		checkWords += " " + Quote(a)
	}
	if !validMode(mode) {
		s.fail(fmt.Errorf("orchestration: file mode %q is not octal", mode))
		return
	}
	if bytes.IndexByte(content, 0) < 0 {
		*s.section = append(*s.section, "orchestra_write "+Quote(path)+" "+mode+" "+Quote(string(content))+checkWords)
	} else {
		// base64 text cannot contain the delimiter; its randomness makes that plain.
		b := make([]byte, 8)
		rand.Read(b)
		eof := "ORCHESTRA_EOF_" + hex.EncodeToString(b)
		encoded := wrap(base64.StdEncoding.EncodeToString(content))
		// a secret in base64 is no longer a substring to mask: mask it all
		if slices.ContainsFunc(s.secrets, func(v string) bool { return bytes.Contains(content, []byte(v)) }) {
			s.Secret(encoded)
		}
		*s.section = append(*s.section, fmt.Sprintf("orchestra_write_base64 %s %s%s <<'%s'\n%s\n%s",
			Quote(path), mode, checkWords, eof, encoded, eof))
	}
	s.staged = true
}

// validMode accepts 3 or 4 octal digits.
func validMode(m string) bool {
	if len(m) < 3 || len(m) > 4 {
		return false
	}
	for _, c := range m {
		if c < '0' || c > '7' {
			return false
		}
	}
	return true
}

// flush puts staged files in place before anything else runs.
func (s *Script) flush() {
	if s.staged {
		*s.section = append(*s.section, "orchestra_flush")
		s.staged = false
	}
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
func (s *Script) into(sec *[]string) {
	s.flush()
	s.section = sec
}

// Err returns the first error met while building.
func (s *Script) Err() error { return s.err }

// Empty reports whether the body has no commands: such a unit is not run.
func (s *Script) Empty() bool { return len(s.body) == 0 }

// preamble starts every script: stop at the first failing command, and
// define the helpers WriteFile uses.
//
// Files are staged and put in place by one perl coprocess per script (perl
// is essential on Debian), started at the first staged file or earlier by
// orchestra_start_mv, so that writing a file costs a pipe round trip, not a
// process. It creates <path>.orchestra-new with O_CREAT|O_EXCL|O_NOFOLLOW and
// sets its mode through that descriptor: nothing planted at the name (a
// link, a FIFO, a device) is ever opened, even one that appears after a
// leftover was removed, where bash's noclobber would open a non-regular
// file; and it renames only a regular file with the device and inode of the
// one it made (a link's inode may be the one just freed), so a staged file
// swapped in the meantime for a link is refused, not put in place.
// A script that sets its own EXIT trap takes over removing staged files left
// by a failure. A backend may define orchestra_before_flush: it gets the
// paths about to be put in place (their content is at <path>.orchestra-new)
// and can refuse them all, e.g. to check a batch of zones in one process.
const preamble = `set -euo pipefail
changed=0
orchestra_staged=()
declare -A orchestra_pending=()
# orchestra_stage PATH MODE text CONTENT | orchestra_stage PATH MODE base64 <BASE64
orchestra_stage() {
  local reply b64
  orchestra_perl_collect
  orchestra_start_mv
  if [[ $3 == base64 ]]; then
    IFS= read -r -d '' b64 || true
    printf 'b%s:%s\0%s\0' "$2" "$1" "$b64" >&"${orchestra_mv[1]}"
  else
    printf 'w%s:%s\0%s\0' "$2" "$1" "$4" >&"${orchestra_mv[1]}"
  fi
  IFS= read -r reply <&"${orchestra_mv[0]}" || reply="the file helper stopped"
  if [[ $reply != ok ]]; then
    printf 'orchestra: %s\n' "$reply" >&2
    return 1
  fi
  [[ -v orchestra_pending[$1] ]] || orchestra_staged+=("$1")
  orchestra_pending[$1]=1
}
orchestra_write() {
  local cur
  if [[ ! -v orchestra_pending[$1] && -f $1 ]] && ! IFS= read -r -d '' cur <"$1" && [[ $cur == "$3" ]]; then return 0; fi
  orchestra_stage "$1" "$2" text "$3"
  (( $# < 4 )) || orchestra_check "$1" "${@:4}"
  changed=1
}
orchestra_check() {
  local path=$1
  shift
  if ! "$@" "$path.orchestra-new"; then
    rm -f -- "$path.orchestra-new"
    echo "orchestra: $path not written: $* refused it" >&2
    return 1
  fi
}
orchestra_write_base64() {
  local was=${orchestra_pending[$1]-}
  orchestra_stage "$1" "$2" base64
  if [[ -z $was && -f $1 ]] && cmp -s -- "$1.orchestra-new" "$1"; then
    unset 'orchestra_pending[$1]' 'orchestra_staged[-1]'
    rm -f -- "$1.orchestra-new"
    return 0
  fi
  (( $# < 3 )) || orchestra_check "$1" "${@:3}"
  changed=1
}
orchestra_flush() {
  (( ${#orchestra_staged[@]} )) || return 0
  if declare -F orchestra_before_flush >/dev/null && ! orchestra_before_flush "${orchestra_staged[@]}"; then
    echo "orchestra: the staged files were refused; nothing was put in place" >&2
    return 1
  fi
  orchestra_perl_collect
  printf 'm%s\0' "${orchestra_staged[@]}" >&"${orchestra_mv[1]}"
  printf '\0' >&"${orchestra_mv[1]}"
  orchestra_staged=()
  orchestra_pending=()
  local line failed=0
  while IFS= read -r line <&"${orchestra_mv[0]}"; do
    [[ $line != done ]] || return "$failed"
    printf '%s\n' "$line" >&2
    failed=1
  done
  echo "orchestra_flush: the file helper stopped" >&2
  return 1
}
# orchestra_perl_send CODE [ARG...] has the file helper run CODE (perl,
# with ARGs in @ARGV) without waiting; orchestra_perl_reply waits for its
# answer, in orchestra_perl_out: CODE's value, or why it died (then the
# status is 1). orchestra_perl is both. A backend keeps state there between
# requests (a connection opened while something else runs). A file staged
# or put in place meanwhile collects the answer first.
orchestra_perl_send() {
  orchestra_perl_collect
  orchestra_start_mv
  printf 'p%s:%s\0' "$(( $# - 1 ))" "$1" >&"${orchestra_mv[1]}"
  (( $# < 2 )) || printf '%s\0' "${@:2}" >&"${orchestra_mv[1]}"
  orchestra_perl_pending=1
}
orchestra_perl_collect() {
  [[ -n ${orchestra_perl_pending-} ]] || return 0
  orchestra_perl_pending=
  if ! IFS= read -r -d '' orchestra_perl_answer <&"${orchestra_mv[0]}"; then
    orchestra_perl_answer="1the file helper stopped"
  fi
}
orchestra_perl_reply() {
  orchestra_perl_collect
  orchestra_perl_out=${orchestra_perl_answer:1}
  [[ ${orchestra_perl_answer:0:1} == 0 ]]
}
orchestra_perl() {
  orchestra_perl_send "$@"
  orchestra_perl_reply
}
# orchestra_start_mv starts the file helper, if not yet: a script may start
# it early, so that perl starts while something else runs. Requests are
# NUL-terminated: w|b MODE:PATH then the text or base64 content (answered
# "ok" or with the error), m PATH (put in place), an empty one (answered
# with the errors of the puts since the last, then "done"), and p N:CODE
# then N arguments (answered 0 and CODE's value, or 1 and its error, then NUL).
orchestra_start_mv() {
  [[ ! -v orchestra_mv_PID ]] || return 0
  coproc orchestra_mv { exec perl -e '
use Fcntl; $| = 1; $/ = "\0"; my %made;
while (defined(my $r = <STDIN>)) {
  chomp $r;
  my ($op, $arg) = (substr($r, 0, 1), substr($r, 1));
  if ($op eq "") { print "done\n"; next }
  if ($op eq "p") {
    my ($n, $code) = split /:/, $arg, 2;
    my @args = map { my $a = <STDIN>; chomp $a; $a } 1 .. $n;
    my $v = do { local @ARGV = @args; eval $code };
    print $@ ne "" ? "1$@" : "0" . ($v // ""), "\0";
    next;
  }
  if ($op eq "m") {
    my @st = lstat "$arg.orchestra-new";
    if (!@st || !-f _ || ($made{$arg} // "") ne "$st[0]:$st[1]") { print "$arg.orchestra-new: not the file staged\n" }
    elsif (!rename("$arg.orchestra-new", $arg)) { print "rename $arg: $!\n" }
    delete $made{$arg};
    next;
  }
  my ($m, $p) = split /:/, $arg, 2;
  my $c = <STDIN>; chomp $c;
  if ($op eq "b") { require MIME::Base64; $c = MIME::Base64::decode_base64($c) }
  unlink "$p.orchestra-new";
  my $f;
  if (!sysopen($f, "$p.orchestra-new", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, 0600)) { print "create $p.orchestra-new: $!\n"; next }
  binmode $f;
  my @st = stat $f;
  if (!chmod(oct($m), $f) || !print($f $c) || !close($f)) { print "write $p.orchestra-new: $!\n"; unlink "$p.orchestra-new"; next }
  $made{$p} = "$st[0]:$st[1]";
  print "ok\n";
}'; }
}
orchestra_abandon() {
  local f
  for f in "${orchestra_staged[@]}"; do rm -f -- "$f.orchestra-new"; done
}
trap orchestra_abandon EXIT`

// String renders the script.
func (s *Script) String() string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	b.WriteString(preamble)
	b.WriteString("\n")
	b.WriteString(confineHelpers)
	b.WriteString("\n")
	b.WriteString(laneLock(LaneLockWait.Get(), s.lane))
	b.WriteString("\n")
	for _, sec := range [][]string{s.head, s.body, s.tail} {
		for _, l := range sec {
			b.WriteString(l)
			b.WriteString("\n")
		}
	}
	if s.staged {
		b.WriteString("orchestra_flush\n")
	}
	return b.String()
}
