package dns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// localUnit runs units of the master or slave backend locally, with a fake
// rndc that logs its arguments, answers dir/rndc-answer's text (and fails a
// zone's reload when that says so), stays until dir/rndc-release exists
// when dir/rndc-hold does, and fails while dir/rndc-fails exists.
type localUnit struct {
	t   *testing.T
	dir string
	srv orchestration.Server
}

func newLocalUnit(t *testing.T, zonesUnderConf bool) *localUnit {
	t.Helper()
	if _, err := exec.LookPath("named-checkconf"); err != nil {
		t.Skip("named-checkconf is not installed")
	}
	dir := t.TempDir()
	rndc := dir + "/rndc"
	err := os.WriteFile(rndc, []byte("#!/bin/sh\necho \"$*\" >>"+dir+"/rndc.log\n"+
		"[ ! -e "+dir+"/rndc-answer ] || cat "+dir+"/rndc-answer\n"+
		// a zone's reload refused, as rndc says it
		"[ $# -lt 2 ] || ! grep -q failed "+dir+"/rndc-answer 2>/dev/null || exit 1\n"+
		"[ ! -e "+dir+"/rndc-hold ] || while [ ! -e "+dir+"/rndc-release ]; do sleep 0.01; done\n"+
		"[ ! -e "+dir+"/rndc-fails ]\n"), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	zones := dir + "/zones"
	if zonesUnderConf {
		zones = dir + "/conf/zones" // the defaults' layout
	}
	return &localUnit{t: t, dir: dir, srv: orchestration.Server{Name: "local", Settings: map[string]string{
		"DOMAINS_ZONES_DIR": zones, "DOMAINS_CONF_DIR": dir + "/conf", "DOMAINS_NAMED_CONF": dir + "/named.conf",
		"DOMAINS_SLAVE_ZONES_DIR": dir + "/slave", "DOMAINS_RNDC": rndc,
	}}}
}

// op is one operation of a unit: a zone's text to save, or "" to delete it.
type op struct{ name, text string }

// run runs one unit of ops and returns its output, and what rndc was asked.
func (u *localUnit) run(slave bool, ops ...op) (string, []string, error) {
	u.t.Helper()
	os.Remove(u.dir + "/rndc.log")
	s := orchestration.NewScript()
	prepare(slave)(s, u.srv)
	apply := applyMaster
	if slave {
		apply = applySlave
	}
	for _, o := range ops {
		obj := orchestration.Object{Model: "Domain", Snapshot: map[string]any{"name": o.name, "top_id": nil},
			Extra: masterZone{text: o.text, slaves: []string{"192.0.2.53"}}}
		action := orchestration.ActionSave
		if slave {
			obj.Extra = slaveZone{masters: []string{"192.0.2.1"}}
		}
		if o.text == "" {
			action = orchestration.ActionDelete
		}
		if err := apply(s, u.srv, action, obj); err != nil {
			u.t.Fatal(err)
		}
	}
	commit(s, u.srv)
	if s.Err() != nil {
		u.t.Fatal(s.Err())
	}
	// a script that waited for an rndc told to stay would never end
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/bin/bash", "-c", s.String()).CombinedOutput()
	log, _ := os.ReadFile(u.dir + "/rndc.log")
	calls := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(log) == 0 {
		calls = nil
	}
	return string(out), calls, err
}

func (u *localUnit) read(path string) string {
	b, _ := os.ReadFile(filepath.Join(u.dir, path))
	return string(b)
}

func (u *localUnit) zones() string {
	return strings.TrimPrefix(u.srv.Settings["DOMAINS_ZONES_DIR"], u.dir+"/")
}

func zoneText(t *testing.T, name string, records ...Rec) string {
	t.Helper()
	text, _ := Zone{Origin: name, Serial: 2026010100, Names: []Name{{Name: name, Records: records}}}.Render()
	return text
}

// TestMasterScript runs the master backend's units locally, in both
// layouts: each changed zone is loaded by named-checkconf before it is put
// in place, a zone that does not load stays as it was while the others go
// ahead, named reloads only the zones that changed (reconfig when zones
// come or go), and the statements' index is included once.
func TestMasterScript(t *testing.T) {
	for _, underConf := range []bool{true, false} {
		t.Run(map[bool]string{true: "default layout", false: "separate zones directory"}[underConf], func(t *testing.T) {
			u := newLocalUnit(t, underConf)
			good := zoneText(t, "good.example")
			// a domain named like another's statement file
			conf := zoneText(t, "good.example.conf", Rec{Type: "TXT", Value: "conf"})
			bad := zoneText(t, "bad.example") + "www.bad.example. IN A not-an-address\n"

			out, calls, err := u.run(false, op{"good.example", good}, op{"bad.example", bad}, op{"good.example.conf", conf})
			if err == nil || !strings.Contains(out, "bad.example") || !strings.Contains(out, "not-an-address") {
				t.Fatalf("a bad zone in the unit: %v\n%s", err, out)
			}
			if strings.Contains(out, ".orchestra-check") {
				t.Errorf("the error names the check's file, not the zone's:\n%s", out)
			}
			if got := u.read(u.zones() + "/good.example.zone"); got != good {
				t.Errorf("good.example not put in place beside the bad zone: %q", got)
			}
			if got := u.read(u.zones() + "/good.example.conf.zone"); got != conf {
				t.Errorf("good.example.conf: %q", got)
			}
			for _, f := range []string{u.zones() + "/bad.example.zone", "conf/zones/bad.example.conf"} {
				if _, err := os.Stat(filepath.Join(u.dir, f)); err == nil {
					t.Errorf("%s put in place", f)
				}
			}
			m, _ := filepath.Glob(u.dir + "/*/.orchestra-check/*")
			m2, _ := filepath.Glob(u.dir + "/*/*/.orchestra-check/*")
			for _, f := range append(m, m2...) {
				if fi, err := os.Stat(f); err != nil || fi.Size() != 0 {
					t.Errorf("a check file left with content: %s", f)
				}
			}
			if m, _ := filepath.Glob(u.dir + "/*/*.orchestra-new"); len(m) != 0 {
				t.Errorf("staged files left behind: %v", m)
			}
			if !slices.Equal(calls, []string{"reconfig"}) {
				t.Errorf("new zones: rndc %q, want reconfig", calls)
			}
			wantIndex := `include "` + u.dir + `/conf/zones/good.example.conf";` + "\n" +
				`include "` + u.dir + `/conf/zones/good.example.conf.conf";` + "\n"
			if got := u.read("conf/index.conf"); got != wantIndex {
				t.Errorf("index:\n%s\nwant\n%s", got, wantIndex)
			}
			if stmt := u.read("conf/zones/good.example.conf"); !strings.Contains(stmt, `file "`+u.dir+"/"+u.zones()+`/good.example.zone";`) {
				t.Errorf("statement: %s", stmt)
			}

			// nothing changed: nothing asked of named
			if out, calls, err := u.run(false, op{"good.example", good}, op{"good.example.conf", conf}); err != nil || len(calls) != 0 {
				t.Errorf("unchanged zones: %v, rndc %q\n%s", err, calls, out)
			}
			// one zone changed, several times in the unit: reloaded alone, once
			changed := zoneText(t, "good.example", Rec{Type: "A", Value: "192.0.2.7"})
			out, calls, err = u.run(false, op{"good.example", good + "; first\n"}, op{"good.example.conf", conf}, op{"good.example", changed})
			if err != nil || !slices.Equal(calls, []string{"reload good.example"}) {
				t.Errorf("a changed zone: %v, rndc %q, want reload good.example\n%s", err, calls, out)
			}
			if got := u.read(u.zones() + "/good.example.zone"); got != changed {
				t.Errorf("good.example holds %q", got)
			}

			// named did not take it: the next unit, with nothing new, asks again
			os.WriteFile(u.dir+"/rndc-fails", nil, 0o644)
			if _, _, err := u.run(false, op{"good.example", good}); err == nil {
				t.Fatal("rndc failed and the unit succeeded")
			}
			os.Remove(u.dir + "/rndc-fails")
			if out, calls, err := u.run(false, op{"good.example", good}); err != nil || !slices.Equal(calls, []string{"reload good.example"}) {
				t.Errorf("after a failed reload: %v, rndc %q\n%s", err, calls, out)
			}
			// once, when the zone changes again meanwhile
			os.WriteFile(u.dir+"/rndc-fails", nil, 0o644)
			u.run(false, op{"good.example", changed})
			os.Remove(u.dir + "/rndc-fails")
			if out, calls, err := u.run(false, op{"good.example", good}); err != nil || !slices.Equal(calls, []string{"reload good.example"}) {
				t.Errorf("after a failed reload and a change: %v, rndc %q\n%s", err, calls, out)
			}

			// rndc's answer is taken as it comes: the unit does not wait for
			// rndc to exit; any other answer is a failure, and the whole
			// server is reloaded instead
			os.WriteFile(u.dir+"/rndc-answer", []byte("zone reload queued\n"), 0o644)
			os.WriteFile(u.dir+"/rndc-hold", nil, 0o644)
			out, calls, err = u.run(false, op{"good.example", changed})
			os.WriteFile(u.dir+"/rndc-release", nil, 0o644)
			if err != nil || !strings.Contains(out, "zone reload queued") || !slices.Equal(calls, []string{"reload good.example"}) {
				t.Errorf("rndc answering before it exits: %v, rndc %q\n%s", err, calls, out)
			}
			os.Remove(u.dir + "/rndc-hold")
			os.WriteFile(u.dir+"/rndc-answer", []byte("rndc: 'reload' failed: not found\n"), 0o644)
			out, calls, err = u.run(false, op{"good.example", good})
			if err != nil || !strings.Contains(out, "failed: not found") || !slices.Equal(calls, []string{"reload good.example", "reload"}) {
				t.Errorf("rndc refusing a zone's reload: %v, rndc %q\n%s", err, calls, out)
			}
			os.Remove(u.dir + "/rndc-answer")

			// a deleted zone goes with its files; the other stays
			out, calls, err = u.run(false, op{name: "good.example.conf"})
			if err != nil || !slices.Equal(calls, []string{"reconfig"}) {
				t.Errorf("delete: %v, rndc %q\n%s", err, calls, out)
			}
			if _, err := os.Stat(filepath.Join(u.dir, u.zones(), "good.example.conf.zone")); err == nil {
				t.Error("the deleted zone's file is left")
			}
			if got := u.read("conf/index.conf"); got != `include "`+u.dir+`/conf/zones/good.example.conf";`+"\n" {
				t.Errorf("index after the delete: %q", got)
			}
			if u.read(u.zones()+"/good.example.zone") != good {
				t.Error("the other zone went too")
			}
			if named := u.read("named.conf"); named != `include "`+u.dir+`/conf/index.conf";`+"\n" {
				t.Errorf("named.conf: %q", named)
			}

			// many changed zones: one reload of the whole server
			var many []op
			for i := range reloadAll + 1 {
				name := "z" + string(rune('a'+i)) + ".example"
				many = append(many, op{name, zoneText(t, name)})
			}
			u.run(false, many...)
			for i := range many {
				many[i].text += "; changed\n"
			}
			if out, calls, err := u.run(false, many...); err != nil || !slices.Equal(calls, []string{"reload"}) {
				t.Errorf("%d changed zones: %v, rndc %q\n%s", len(many), err, calls, out)
			}
		})
	}
}

// TestSlaveScript: a slave's unit writes statements only, and has named
// reconfigure only when one comes, goes or changes.
func TestSlaveScript(t *testing.T) {
	u := newLocalUnit(t, true)
	out, calls, err := u.run(true, op{"a.example", "x"}, op{"a.example.conf", "x"})
	if err != nil || !slices.Equal(calls, []string{"reconfig"}) {
		t.Fatalf("new zones: %v, rndc %q\n%s", err, calls, out)
	}
	if stmt := u.read("conf/zones/a.example.conf"); !strings.Contains(stmt, "type slave;") ||
		!strings.Contains(stmt, `file "`+u.dir+`/slave/a.example.zone";`) {
		t.Errorf("statement: %s", stmt)
	}
	if _, err := os.Stat(u.dir + "/conf/.orchestra-check"); err == nil {
		t.Error("a slave got the master's check directory")
	}
	if _, calls, err := u.run(true, op{"a.example", "x"}); err != nil || len(calls) != 0 {
		t.Errorf("nothing changed: %v, rndc %q", err, calls)
	}
	if _, calls, err := u.run(true, op{name: "a.example"}); err != nil || !slices.Equal(calls, []string{"reconfig"}) {
		t.Errorf("delete: %v, rndc %q", err, calls)
	}
	if got := u.read("conf/index.conf"); got != `include "`+u.dir+`/conf/zones/a.example.conf.conf";`+"\n" {
		t.Errorf("index: %q", got)
	}
}

// TestPlantedLinks: named writes in the zone directories (a slave's zone
// files; a signed master's journals and signed files), so whoever runs as
// named can plant links there. The units, which run as root, follow none:
// with links planted at every name they use in those directories, a file
// and a directory outside stay as they were, through new zones, changes,
// a reload that fails (the pending note), a batch of more than reloadAll
// zones and deletes.
func TestPlantedLinks(t *testing.T) {
	for _, c := range []struct {
		name             string
		slave, underConf bool
	}{{"master, default layout", false, true}, {"master, separate zones directory", false, false}, {"slave", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			u := newLocalUnit(t, c.underConf)
			outside := t.TempDir()
			victim := outside + "/victim"
			if err := os.WriteFile(victim, []byte("kept\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			zones := u.srv.Settings["DOMAINS_ZONES_DIR"]
			if c.slave {
				zones = u.srv.Settings["DOMAINS_SLAVE_ZONES_DIR"]
			}
			var names []string
			for i := range reloadAll + 2 {
				names = append(names, fmt.Sprintf("z%02d.example", i))
			}
			plant := func() {
				t.Helper()
				if err := os.MkdirAll(zones, 0o755); err != nil {
					t.Fatal(err)
				}
				links := map[string]string{".orchestra-check": outside, ".orchestra-pending": victim}
				for _, n := range names {
					links[n+".zone"] = victim
					links[n+".zone.orchestra-new"] = victim
					links[n+".zone.jnl"] = victim
				}
				for name, target := range links {
					p := filepath.Join(zones, name)
					if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink == 0 {
						continue // the unit's own file
					}
					os.RemoveAll(p)
					if err := os.Symlink(target, p); err != nil {
						t.Fatal(err)
					}
				}
			}
			intact := func(step string) {
				t.Helper()
				if got, err := os.ReadFile(victim); err != nil || string(got) != "kept\n" {
					t.Errorf("%s: the file outside holds %q (%v)", step, got, err)
				}
				entries, err := os.ReadDir(outside)
				if err != nil || len(entries) != 1 {
					var list []string
					for _, e := range entries {
						list = append(list, e.Name())
					}
					t.Errorf("%s: the directory outside holds %q (%v)", step, list, err)
				}
			}
			zonesOf := func(suffix string) []op {
				var ops []op
				for _, n := range names {
					ops = append(ops, op{n, zoneText(t, n) + suffix})
				}
				return ops
			}

			plant()
			out, _, err := u.run(c.slave, zonesOf("")...)
			intact("new zones")
			if err != nil {
				t.Fatalf("new zones: %v\n%s", err, out)
			}
			if !c.slave {
				for _, n := range names {
					if fi, err := os.Lstat(filepath.Join(zones, n+".zone")); err != nil || !fi.Mode().IsRegular() {
						t.Errorf("%s: not a file of its own (%v)", n, err)
					}
				}
			}
			plant()
			os.WriteFile(u.dir+"/rndc-fails", nil, 0o644) // the note of what is still to load stays
			u.run(c.slave, zonesOf("; changed\n")[:2]...)
			intact("a failed reload")
			os.Remove(u.dir + "/rndc-fails")
			plant()
			if out, _, err := u.run(c.slave, zonesOf("; again\n")...); err != nil {
				t.Errorf("a batch of %d changed zones: %v\n%s", len(names), err, out)
			}
			intact("a batch")
			plant()
			var gone []op
			for _, n := range names {
				gone = append(gone, op{name: n})
			}
			if out, _, err := u.run(c.slave, gone...); err != nil {
				t.Errorf("deletes: %v\n%s", err, out)
			}
			intact("deletes")
		})
	}
}
