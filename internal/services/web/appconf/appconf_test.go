package appconf

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func pool(dir string) Pool {
	return Pool{Name: "acme-8.2", User: "www-data", Group: "www-data", Socket: dir + "/acme.sock", SocketOwner: "www-data",
		Children: 5, MaxRequests: 400, Timeout: 60,
		Values: map[string]string{"memory_limit": "256M", "disable_functions": "exec,passthru,system", "date.timezone": "Europe/Madrid"},
		Flags:  map[string]bool{"display_errors": false, "allow_url_include": false}}
}

func vassal(dir string) Vassal {
	return Vassal{User: "www-data", Group: "www-data", Dir: dir + "/app", Module: "app:application", Socket: dir + "/app.sock",
		SocketOwner: "www-data", Processes: 2, Timeout: 30, MaxRequests: 500, Plugin: "python3"}
}

// TestRefused: what would read as more than it says is refused.
func TestRefused(t *testing.T) {
	for name, mut := range map[string]func(*Pool){
		"a line break in a value": func(p *Pool) { p.Values["memory_limit"] = "1M\nphp_admin_value[open_basedir] = /" },
		"a quote in a value":      func(p *Pool) { p.Values["memory_limit"] = `1M"` },
		"a variable in a value":   func(p *Pool) { p.Values["error_log"] = "${HOME}/x" },
		"a comment in a value":    func(p *Pool) { p.Values["error_log"] = "x;y" },
		"a bad key":               func(p *Pool) { p.Values["a]b"] = "1" },
		"root":                    func(p *Pool) { p.User = "root" },
		"the global section":      func(p *Pool) { p.Name = "global" },
		"no children":             func(p *Pool) { p.Children = 0 },
	} {
		p := pool("/srv")
		mut(&p)
		if _, err := p.Render(); err == nil {
			t.Errorf("pool with %s: rendered", name)
		}
	}
	for name, mut := range map[string]func(*Vassal){
		"an expansion in the module": func(v *Vassal) { v.Module = "%(home)" },
		"an include in the module":   func(v *Vassal) { v.Module = "@(/etc/shadow)" },
		"an env in the folder":       func(v *Vassal) { v.Dir = "/srv/$(HOME)" },
		"a line break in the module": func(v *Vassal) { v.Module = "app\nuid = root" },
		"root":                       func(v *Vassal) { v.User = "root" },
		"dot-dot in the folder":      func(v *Vassal) { v.Dir = "/srv/../etc" },
	} {
		v := vassal("/srv")
		mut(&v)
		if _, err := v.Render(); err == nil {
			t.Errorf("vassal with %s: rendered", name)
		}
	}
}

func required(t *testing.T, bin string) {
	if _, err := exec.LookPath(bin); err != nil {
		if os.Getenv("ORCHESTRA_TEST_WEB_DIR") != "" {
			t.Fatalf("%s is not installed", bin)
		}
		t.Skipf("%s is not installed (./do ensure_web_testbed installs it)", bin)
	}
}

// TestPHPFPMTakesIt: php-fpm's own check takes a rendered pool.
func TestPHPFPMTakesIt(t *testing.T) {
	required(t, "php-fpm8.2")
	dir := t.TempDir()
	conf, err := pool(dir).Render()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dir+"/pool.conf", []byte(conf), 0o644)
	os.WriteFile(dir+"/php-fpm.conf", []byte("[global]\npid = "+dir+"/fpm.pid\nerror_log = "+dir+"/fpm.log\ninclude = "+dir+"/pool.conf\n"), 0o644)
	if out, err := exec.Command("php-fpm8.2", "-t", "-y", dir+"/php-fpm.conf").CombinedOutput(); err != nil {
		t.Errorf("php-fpm -t refuses the pool: %s\n%s", out, conf)
	}
}

// TestVassalServes: uWSGI runs a rendered vassal as its user and answers
// through its socket.
func TestVassalServes(t *testing.T) {
	required(t, "uwsgi")
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755) // the app's user reads it
	os.Chmod(dir, 0o755)
	os.Mkdir(dir+"/app", 0o755)
	os.WriteFile(dir+"/app/app.py", []byte(`import os
def application(env, start):
    start("200 OK", [("Content-Type", "text/plain")])
    return [("uid %d at %s" % (os.geteuid(), env["PATH_INFO"])).encode()]
`), 0o644)
	conf, err := vassal(dir).Render()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dir+"/app.ini", []byte(conf), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "uwsgi", "--ini", dir+"/app.ini", "--logto", dir+"/uwsgi.log")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // SIGTERM only reloads uWSGI
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() { cancel(); <-exited }()
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, err = uwsgiGet(dir+"/app.sock", "/hello"); err == nil {
			break
		}
		select {
		case <-exited:
			deadline = time.Time{} // it gave up: its log says why
		default:
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "uwsgi.log"))
	if want := "uid 33 at /hello"; got != want { // www-data
		t.Fatalf("the vassal answers %q (%v), want %q; its log:\n%s", got, err, want, log)
	}
	if st, err := os.Stat(dir + "/app.sock"); err != nil || st.Mode().Perm() != 0o660 {
		t.Errorf("the socket: %v %v", st, err)
	}
}

// uwsgiGet sends a GET of path over the uwsgi protocol and returns the body.
func uwsgiGet(sock, path string) (string, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	var vars bytes.Buffer
	for _, kv := range [][2]string{{"REQUEST_METHOD", "GET"}, {"PATH_INFO", path}, {"SERVER_NAME", "x"}, {"SERVER_PORT", "80"},
		{"SERVER_PROTOCOL", "HTTP/1.0"}, {"QUERY_STRING", ""}} {
		for _, s := range kv {
			binary.Write(&vars, binary.LittleEndian, uint16(len(s)))
			vars.WriteString(s)
		}
	}
	head := []byte{0, 0, 0, 0}
	binary.LittleEndian.PutUint16(head[1:3], uint16(vars.Len()))
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(append(head, vars.Bytes()...)); err != nil {
		return "", err
	}
	out, err := io.ReadAll(c)
	_, body, _ := strings.Cut(string(out), "\r\n\r\n")
	return body, err
}
