package dns

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/dns/bindtest"
)

// TestControlChannel: a unit speaks rndc's protocol to the test bed's
// master itself, with the key of its rndc.conf; what it cannot do so (a
// wrong key, server statements, a command that is not plain rndc) goes to
// the rndc program, whose answer then counts.
func TestControlChannel(t *testing.T) {
	bed := bindtest.Load(t)
	conf := filepath.Join(bed.MasterDir, "rndc.conf")
	text, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(bed.MasterDir, "rndc.key"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// the same settings with another secret
	other := strings.Replace(string(key), `secret "`, `secret "b3RoZXI=`, 1)
	wrongKey := write("wrong.conf", strings.Replace(string(text), filepath.Join(bed.MasterDir, "rndc.key"), write("wrong.key", other), 1))
	withServer := write("server.conf", string(text)+"\nserver 127.0.0.11 { key \"orchestra-testbed-master\"; };\n")
	run := func(rndc string, args ...string) (string, error) {
		s := orchestration.NewScript()
		s.Var("rndc", rndc)
		s.Raw(`read -r -a dns_rndc <<<"$rndc"`)
		s.Raw(ctlFunctions)
		s.Cmd(append([]string{"dns_ctl_run"}, args...)...)
		s.Raw(`echo "ctl=$dns_ctl"`)
		cmd := exec.Command("/bin/bash", "-s")
		cmd.Stdin = strings.NewReader(s.String())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, c := range []struct {
		name, rndc string
		args       []string
		ctl        string
		ok         bool
		says       string
	}{
		{"status", "rndc -c " + conf, []string{"status"}, "open", true, "version: BIND"},
		{"a zone named does not serve", "rndc -c " + conf, []string{"reload", "nowhere.invalid"}, "open", false, "not found"},
		{"a wrong key", "rndc -c " + wrongKey, []string{"status"}, "no", false, ""},
		{"server statements", "rndc -c " + withServer, []string{"status"}, "no", true, "version: BIND"},
		{"not plain rndc", "env rndc -c " + conf, []string{"status"}, "no", true, "version: BIND"},
	} {
		out, err := run(c.rndc, c.args...)
		if !strings.Contains(out, "ctl="+c.ctl+"\n") && c.ok || (err == nil) != c.ok || !strings.Contains(out, c.says) {
			t.Errorf("%s: %v\n%s", c.name, err, out)
		}
	}
}
