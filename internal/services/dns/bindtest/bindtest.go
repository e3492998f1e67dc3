// Package bindtest gives tests the BIND test bed (testbed/bind9.sh): a
// master named on the first SSH test-bed server's address and a slave on
// the second's, each managed over SSH in a directory of its own per test.
package bindtest

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/sshpool/sshtest"
)

// Bed is the BIND test bed as one test uses it.
type Bed struct {
	SSH                 *sshtest.Bed
	Master, Slave       string // addresses named listens on
	MasterDir, SlaveDir string
	token               string
}

// Load returns the test bed, skipping the test when ./do test did not start
// it; files the test's zones leave on the servers are removed after it.
func Load(tb testing.TB) *Bed {
	tb.Helper()
	ssh := sshtest.Load(tb)
	b := &Bed{SSH: ssh, Master: os.Getenv("ORCHESTRA_TEST_BIND_MASTER"), Slave: os.Getenv("ORCHESTRA_TEST_BIND_SLAVE"),
		MasterDir: os.Getenv("ORCHESTRA_TEST_BIND_MASTER_DIR"), SlaveDir: os.Getenv("ORCHESTRA_TEST_BIND_SLAVE_DIR"),
		token: fmt.Sprintf("t%d", time.Now().UnixNano())}
	if b.MasterDir == "" || b.SlaveDir == "" {
		tb.Skip("ORCHESTRA_TEST_BIND_* unset: run through ./do test, which starts the BIND test bed (testbed/bind9.sh)")
	}
	tb.Cleanup(func() {
		// the servers' zones.conf outlive the test: take this test's include out
		for _, dir := range []string{b.MasterDir, b.SlaveDir} {
			conf := b.confDir(dir)
			exec.Command("sed", "-i", `\#`+conf+`/index.conf#d`, dir+"/zones.conf").Run()
			os.RemoveAll(conf)
			exec.Command("rndc", "-c", dir+"/rndc.conf", "reconfig").Run()
		}
	})
	return b
}

// Token is unique to the test: put it in zone names.
func (b *Bed) Token() string { return b.token }

func (b *Bed) confDir(dir string) string { return dir + "/orchestra-" + b.token }

// MasterSettings and SlaveSettings are the per-server settings that point
// the bind9 backends at the test bed's instances.
func (b *Bed) MasterSettings() map[string]string { return b.settings(b.MasterDir) }

// SlaveSettings: see MasterSettings.
func (b *Bed) SlaveSettings() map[string]string { return b.settings(b.SlaveDir) }

// settings lay the zones out under the test's own directory as the
// defaults do under /etc/bind/orchestra: zone files in the statements'
// directory (DOMAINS_ZONES_DIR is DOMAINS_CONF_DIR/zones).
func (b *Bed) settings(dir string) map[string]string {
	conf := b.confDir(dir)
	return map[string]string{
		"DOMAINS_ZONES_DIR": conf + "/zones", "DOMAINS_CONF_DIR": conf, "DOMAINS_NAMED_CONF": dir + "/zones.conf",
		"DOMAINS_SLAVE_ZONES_DIR": conf + "/slave", "DOMAINS_RNDC": "rndc -c " + dir + "/rndc.conf",
	}
}

// Dig asks server for name's records of type in short form, sorted.
func Dig(tb testing.TB, server, name, typ string, more ...string) string {
	tb.Helper()
	args := append([]string{"+short", "+norec", "+time=2", "+tries=1", "@" + server, name, typ}, more...)
	out, err := exec.Command("dig", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// Status is the rcode of server's answer for name's SOA (NOERROR, REFUSED…).
func Status(tb testing.TB, server, name string) string {
	tb.Helper()
	out, _ := exec.Command("dig", "+norec", "+time=2", "+tries=1", "@"+server, name, "SOA").CombinedOutput()
	if _, rest, ok := strings.Cut(string(out), "status: "); ok {
		status, _, _ := strings.Cut(rest, ",")
		return status
	}
	return strings.TrimSpace(string(out))
}

// Eventually retries check until it holds or 10 seconds pass (a slave
// transfers after a NOTIFY, a signer needs a moment).
func Eventually(tb testing.TB, what string, check func() (string, bool)) {
	tb.Helper()
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var ok bool
		if last, ok = check(); ok {
			return
		}
	}
	tb.Fatalf("%s: still %q after 10 s", what, last)
}

// TXT asks server for name's TXT records and returns each as the bytes its
// character strings carry, joined, sorted: what a resolver's client reads.
func TXT(tb testing.TB, server, name string) []string {
	tb.Helper()
	var out []string
	for _, line := range strings.Split(Dig(tb, server, name, "TXT"), "\n") {
		if line == "" {
			continue
		}
		var b []byte
		in := false
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case c == '"':
				in = !in
			case !in:
				// the space between two strings
			case c == '\\' && i+3 < len(line) && isDigit(line[i+1]) && isDigit(line[i+2]) && isDigit(line[i+3]):
				b = append(b, (line[i+1]-'0')*100+(line[i+2]-'0')*10+line[i+3]-'0')
				i += 3
			case c == '\\' && i+1 < len(line):
				b = append(b, line[i+1])
				i++
			default:
				b = append(b, c)
			}
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
