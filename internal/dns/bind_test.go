package dns

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// TestMasterScriptChecksZones runs the master backend's script locally: a
// batch of zones is put in place only if named-checkconf -z loads them all,
// and the statements' index is included once.
func TestMasterScriptChecksZones(t *testing.T) {
	if _, err := exec.LookPath("named-checkconf"); err != nil {
		t.Skip("named-checkconf is not installed")
	}
	dir := t.TempDir()
	srv := orchestration.Server{Name: "local", Settings: map[string]string{
		"DOMAINS_ZONES_DIR": dir + "/zones", "DOMAINS_CONF_DIR": dir + "/conf", "DOMAINS_NAMED_CONF": dir + "/named.conf",
		"DOMAINS_RELOAD": "touch " + dir + "/reloaded",
	}}
	good, _ := Zone{Origin: "good.example", Serial: 2026010100, Names: []Name{{Name: "good.example"}}}.Render()
	run := func(zones map[string]string) (string, error) {
		s := orchestration.NewScript()
		prepare(false)(s, srv)
		for _, name := range []string{"good.example", "bad.example"} {
			if text, ok := zones[name]; ok {
				o := orchestration.Object{Model: "Domain", Snapshot: map[string]any{"name": name, "top_id": nil},
					Extra: masterZone{text: text}}
				if err := applyMaster(s, srv, orchestration.ActionSave, o); err != nil {
					t.Fatal(err)
				}
			}
		}
		commit(s, srv)
		out, err := exec.Command("/bin/bash", "-c", s.String()).CombinedOutput()
		return string(out), err
	}

	out, err := run(map[string]string{"good.example": good, "bad.example": good + "www IN A not-an-address\n"})
	if err == nil || !strings.Contains(out, "bad.example") {
		t.Fatalf("a bad zone in the batch: %v\n%s", err, out)
	}
	if m, _ := filepath.Glob(dir + "/zones/*"); len(m) != 0 {
		t.Errorf("files put in place or left behind: %v", m)
	}
	if _, err := os.Stat(dir + "/reloaded"); err == nil {
		t.Error("reloaded after a refused batch")
	}

	for range 2 {
		if out, err := run(map[string]string{"good.example": good}); err != nil {
			t.Fatalf("good zone: %v\n%s", err, out)
		}
	}
	if b, _ := os.ReadFile(dir + "/zones/good.example"); string(b) != good {
		t.Errorf("zone file holds %q", b)
	}
	named, _ := os.ReadFile(dir + "/named.conf")
	if string(named) != `include "`+dir+`/conf/index.conf";`+"\n" {
		t.Errorf("named.conf: %q", named)
	}
	index, _ := os.ReadFile(dir + "/conf/index.conf")
	if string(index) != `include "`+dir+`/conf/zones/good.example.conf";`+"\n" {
		t.Errorf("index: %q", index)
	}
}
