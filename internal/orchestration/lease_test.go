package orchestration

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLaneLockOnServer runs the lock every script takes, with bash on this
// machine: a second script waits while the first one's process lives, goes
// on once it has ended (even killed, with no release step run), and gives
// up with the busy mark after the wait.
func TestLaneLockOnServer(t *testing.T) {
	dir := t.TempDir()
	// not the test bed's own /run/orchestra-lane
	lock := strings.Replace(laneLock(time.Second, ""), "lock=/run/orchestra-lane", "lock="+dir+"/lane", 1)
	if !strings.Contains(lock, dir) {
		t.Fatal("the lock's path moved")
	}
	script := func(body string) *exec.Cmd {
		return exec.Command("bash", "-c", "set -euo pipefail\n"+lock+"\n"+body)
	}
	first := script(`echo held; exec sleep 600`)
	out, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "held\n" {
		t.Fatalf("the first script: %q, %v", line, err)
	}
	var stderr bytes.Buffer
	second := script(`echo ran`)
	second.Stderr = &stderr
	o, err := second.Output()
	if code := second.ProcessState.ExitCode(); code != laneBusyExit || strings.Contains(string(o), "ran") ||
		!strings.Contains(stderr.String(), laneBusyMark) {
		t.Fatalf("while the first runs: exit %d (%v), %q, %q", code, err, o, stderr.String())
	}
	first.Process.Kill()
	first.Wait()
	if o, err := script(`echo ran`).Output(); err != nil || string(o) != "ran\n" {
		t.Fatalf("after the first was killed: %q, %v", o, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lane")); err != nil {
		t.Fatal(err)
	}
}
