// Package webtest gives tests the web test bed (testbed/web.sh): nginx on
// 127.0.0.14 and Apache 2.4 on 127.0.0.15 (ports 80 and 443), PHP-FPM 8.2
// and a uWSGI emperor, whose sites, pools and vassals are written the way
// the panel's web backends write them.
//
// The contract (DIR is ORCHESTRA_TEST_WEB_DIR; testbed/web.sh's header says
// it all, ServerSettings gives it as WEB_* settings):
//
//	DIR/nginx/sites/NAME.conf     server blocks; listen 127.0.0.14:80, 127.0.0.14:443 ssl
//	DIR/apache/sites/NAME.conf    <VirtualHost 127.0.0.15:80> and :443 blocks
//	DIR/php-fpm/pools/NAME.conf   [NAME] pools, socket DIR/php-fpm/run/NAME.sock
//	                              (listen.owner/group www-data, mode 0660)
//	DIR/uwsgi/vassals/NAME.ini    vassals (uid, gid, plugins = python3), socket in
//	                              DIR/uwsgi/run (chown-socket www-data:www-data)
//	check    nginx -e DIR/nginx/error.log -c DIR/nginx/nginx.conf -t;
//	         apache2 -f DIR/apache/apache2.conf -t; php-fpm8.2 -y DIR/php-fpm/php-fpm.conf -t
//	reload   nginx ... -s reload; apache2 -f ... -k graceful;
//	         kill -USR2 $(cat DIR/php-fpm/php-fpm.pid); uWSGI: none (the
//	         emperor follows the vassal files: a later mtime reloads)
//
// Every reload returns before the new config is live: the Reload* and
// Vassal helpers run the contract's waits (ReloadWorkers,
// ReloadPHPFPMScript, VassalScript), which backends follow too, so a
// request sent once they return meets the new config.
package webtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// WebUser is the user nginx's workers and Apache's children run as: it owns
// the PHP-FPM and uWSGI sockets, and needs search permission on homes.
const WebUser = "www-data"

// Wait is how long helpers wait for the daemons to take a change.
const Wait = 30 * time.Second

// Bed is the web test bed as one test uses it.
type Bed struct {
	Dir    string // the state directory, DIR above
	Nginx  string // the address nginx listens on (ports 80 and 443)
	Apache string // the address Apache listens on (ports 80 and 443)
	CA     string // the test CA's certificate (PEM)
	roots  *x509.CertPool
	token  string
}

// Load returns the test bed, skipping the test when ./do test did not start
// it (failing it when ORCHESTRA_TEST_BROWSER_REQUIRED says every test bed
// must be there, as ./do test does).
func Load(tb testing.TB) *Bed {
	tb.Helper()
	b := &Bed{Dir: os.Getenv("ORCHESTRA_TEST_WEB_DIR"), Nginx: os.Getenv("ORCHESTRA_TEST_WEB_NGINX"),
		Apache: os.Getenv("ORCHESTRA_TEST_WEB_APACHE"), CA: os.Getenv("ORCHESTRA_TEST_WEB_CA")}
	if b.Dir == "" || b.Nginx == "" || b.Apache == "" || b.CA == "" {
		const msg = "ORCHESTRA_TEST_WEB_* unset: run through ./do test, which starts the web test bed (testbed/web.sh)"
		if os.Getenv("ORCHESTRA_TEST_BROWSER_REQUIRED") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	if os.Geteuid() != 0 {
		// as the backends over SSH: the sites, pools and vassals are root's
		tb.Skip("the web test bed's files are written as root")
	}
	ca, err := os.ReadFile(b.CA)
	if err != nil {
		tb.Fatal(err)
	}
	b.roots = x509.NewCertPool()
	if !b.roots.AppendCertsFromPEM(ca) {
		tb.Fatalf("no certificate in %s", b.CA)
	}
	b.token = Token()
	return b
}

// Token is a fresh lowercase name part, a letter first: put it in user,
// site and host names so that runs and parallel tests do not meet.
func Token() string {
	var r [5]byte
	rand.Read(r[:])
	return "t" + hex.EncodeToString(r[:])
}

// Token is unique to the test.
func (b *Bed) Token() string { return b.token }

// Paths of the contract.
func (b *Bed) NginxSites() string    { return filepath.Join(b.Dir, "nginx", "sites") }
func (b *Bed) ApacheSites() string   { return filepath.Join(b.Dir, "apache", "sites") }
func (b *Bed) PHPFPMPools() string   { return filepath.Join(b.Dir, "php-fpm", "pools") }
func (b *Bed) PHPFPMSockets() string { return filepath.Join(b.Dir, "php-fpm", "run") }
func (b *Bed) UWSGIVassals() string  { return filepath.Join(b.Dir, "uwsgi", "vassals") }
func (b *Bed) UWSGISockets() string  { return filepath.Join(b.Dir, "uwsgi", "run") }
func (b *Bed) NginxPID() string      { return filepath.Join(b.Dir, "nginx", "nginx.pid") }
func (b *Bed) ApachePID() string     { return filepath.Join(b.Dir, "apache", "apache2.pid") }
func (b *Bed) PHPFPMPID() string     { return filepath.Join(b.Dir, "php-fpm", "php-fpm.pid") }
func (b *Bed) EmperorPID() string    { return filepath.Join(b.Dir, "uwsgi", "emperor.pid") }

// Log is the path of one of the daemons' logs: "nginx/error.log",
// "nginx/access.log", "apache/error.log", "apache/access.log",
// "php-fpm/php-fpm.log" or "uwsgi/emperor.log".
func (b *Bed) Log(name string) string { return filepath.Join(b.Dir, name) }

// NginxCmd is nginx with the options every command needs (add -t, -s reload).
func (b *Bed) NginxCmd() []string {
	return []string{"nginx", "-e", b.Log("nginx/error.log"), "-c", filepath.Join(b.Dir, "nginx", "nginx.conf")}
}

// ApacheCmd is apache2 with its config (add -t, -k graceful).
func (b *Bed) ApacheCmd() []string {
	return []string{"apache2", "-f", filepath.Join(b.Dir, "apache", "apache2.conf")}
}

// PHPFPMCmd is php-fpm8.2 with its config (add -t).
func (b *Bed) PHPFPMCmd() []string {
	return []string{"php-fpm8.2", "-y", filepath.Join(b.Dir, "php-fpm", "php-fpm.conf")}
}

// ServerSettings are a web server's settings (WEB_*) that point the panel's
// web backends at the bed: the commands are the program with its options,
// to which a backend adds the action (-t, -s reload, -k graceful).
func (b *Bed) ServerSettings() map[string]string {
	return map[string]string{
		"WEB_USER":           WebUser,
		"WEB_NGINX":          strings.Join(b.NginxCmd(), " "),
		"WEB_NGINX_PID":      b.NginxPID(),
		"WEB_NGINX_SITES":    b.NginxSites(),
		"WEB_NGINX_ADDRESS":  b.Nginx,
		"WEB_APACHE":         strings.Join(b.ApacheCmd(), " "),
		"WEB_APACHE_PID":     b.ApachePID(),
		"WEB_APACHE_SITES":   b.ApacheSites(),
		"WEB_APACHE_ADDRESS": b.Apache,
		"WEB_PHPFPM":         strings.Join(b.PHPFPMCmd(), " "),
		"WEB_PHPFPM_PID":     b.PHPFPMPID(),
		"WEB_PHPFPM_POOLS":   b.PHPFPMPools(),
		"WEB_PHPFPM_SOCKETS": b.PHPFPMSockets(),
		"WEB_UWSGI_PID":      b.EmperorPID(),
		"WEB_UWSGI_VASSALS":  b.UWSGIVassals(),
		"WEB_UWSGI_SOCKETS":  b.UWSGISockets(),
	}
}

// Lock takes the bed's lock (flock on DIR/lock) until the returned func or
// the end of the test: hold it around edits of the sites, pools and vassals
// and the checks and reloads that follow, which tests in several packages
// share (a broken file another test is checking would fail their reload).
// The Check* and Reload* helpers do not take it.
func (b *Bed) Lock(tb testing.TB) (unlock func()) {
	tb.Helper()
	f, err := os.OpenFile(filepath.Join(b.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		tb.Fatal(err)
	}
	done := false
	unlock = func() {
		if !done {
			done = true
			f.Close()
		}
	}
	tb.Cleanup(unlock)
	return unlock
}

// CheckNginx runs nginx -t; the error holds its output.
func (b *Bed) CheckNginx() error { return run(append(b.NginxCmd(), "-t")...) }

// CheckApache runs apache2 -t; the error holds its output.
func (b *Bed) CheckApache() error { return run(append(b.ApacheCmd(), "-t")...) }

// CheckPHPFPM runs php-fpm8.2 -t; the error holds its output.
func (b *Bed) CheckPHPFPM() error { return run(append(b.PHPFPMCmd(), "-t")...) }

// ReloadWorkers is the contract's reload of nginx and Apache, as bash:
// PIDFILE RELOAD-COMMAND... reloads and returns once the master's live
// children are all new (zombies serve no one; Apache starts its new
// children at its once-a-second maintenance), failing if the master ended.
const ReloadWorkers = `pidfile=$1; shift
master=$(cat "$pidfile") || exit 1
old=$(pgrep -P "$master")
"$@" || exit 1
renewed() { live=$(ps --ppid "$master" -o pid=,stat= | awk '$2 !~ /^Z/ { print $1 }'); [[ -n $live ]] && { [[ -z $old ]] || ! grep -qxF "$old" <<<"$live"; }; }
while kill -0 "$master" 2>/dev/null && ! renewed; do sleep 0.1; done
kill -0 "$master" 2>/dev/null || { echo "the master process $master ended (see its error log)" >&2; exit 1; }`

// ReloadPHPFPMScript is the contract's reload of PHP-FPM, as bash: PIDFILE
// sends USR2 and returns once the master wrote its pid file anew.
const ReloadPHPFPMScript = `f=$1
pid=$(cat "$f") || exit 1
old=$(stat -c %.9Y "$f")
kill -USR2 "$pid" || exit 1
while kill -0 "$pid" 2>/dev/null && [[ $(stat -c %.9Y "$f" 2>/dev/null) == "$old" || $(cat "$f" 2>/dev/null) != "$pid" ]]; do sleep 0.1; done
kill -0 "$pid" 2>/dev/null || { echo "PHP-FPM ($pid) ended: a broken pool?" >&2; exit 1; }`

// VassalScript is the contract's way to add, change or remove a uWSGI
// vassal, as bash: EMPEROR-PIDFILE VASSAL-FILE [NEW-CONTENT-FILE] puts the
// new content in place (none: removes the vassal) with an mtime later, in
// whole seconds, than the file it replaces, and returns once the emperor
// runs it with new workers only (or, removed, runs it no more).
const VassalScript = `emperor=$(cat "$1") || exit 1; f=$2; src=$3
vassal() { pgrep -P "$emperor" -f -- "--ini $f\$"; }
master=$(vassal); old=""
[[ -z $master ]] || old=$(pgrep -P "$master")
if [[ -z $src ]]; then
  rm -f "$f"
  while [[ -n $(vassal) ]]; do sleep 0.1; done
  exit 0
fi
before=$(stat -c %Y "$f" 2>/dev/null || echo 0)
cp "$src" "$f.new" && chmod 0644 "$f.new" && mv -f "$f.new" "$f" || exit 1
(($(stat -c %Y "$f") > before)) || touch -d "@$((before + 1))" "$f"
until master=$(vassal) && workers=$(pgrep -P "$master") && ! grep -qxF "$old" <<<"$workers"; do sleep 0.1; done`

// ReloadNginx reloads nginx (nginx -s reload) and waits until the new
// config is live.
func (b *Bed) ReloadNginx() error {
	return bash(ReloadWorkers, append([]string{b.NginxPID()}, append(b.NginxCmd(), "-s", "reload")...)...)
}

// ReloadApache restarts Apache gracefully (apache2 -k graceful) and waits
// until the new config is live.
func (b *Bed) ReloadApache() error {
	return bash(ReloadWorkers, append([]string{b.ApachePID()}, append(b.ApacheCmd(), "-k", "graceful")...)...)
}

// ReloadPHPFPM reloads PHP-FPM (USR2) and waits until its new pools listen.
func (b *Bed) ReloadPHPFPM() error { return bash(ReloadPHPFPMScript, b.PHPFPMPID()) }

// Vassal installs content as the uWSGI vassal file name (NAME.ini) and
// waits until the emperor runs it, with new workers if it ran already;
// content "" removes it and waits until it no longer runs.
func (b *Bed) Vassal(name, content string) error {
	f := filepath.Join(b.UWSGIVassals(), name)
	if content == "" {
		return bash(VassalScript, b.EmperorPID(), f)
	}
	src, err := os.CreateTemp("", "vassal-*.ini")
	if err != nil {
		return err
	}
	defer os.Remove(src.Name())
	if _, err := src.WriteString(content); err != nil {
		src.Close()
		return err
	}
	if err := src.Close(); err != nil {
		return err
	}
	return bash(VassalScript, b.EmperorPID(), f, src.Name())
}

func bash(script string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", append([]string{"-c", script, "bash"}, args...)...).CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("%s: the change is not live after %v\n%s", strings.Join(args, " "), Wait, out)
	}
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// User is a UNIX user made by Bed.User.
type User struct {
	Name     string
	UID, GID int
	Home     string // /home/NAME
}

// User makes a throwaway UNIX user name with its home /home/NAME as the
// panel's system users backend leaves it (0750 NAME:NAME), plus what a web
// backend adds: search permission for WebUser (ACL u:www-data:x). Removed
// with its home after the test: remove its pools and vassals before.
func (b *Bed) User(tb testing.TB, name string) *User {
	tb.Helper()
	home := "/home/" + name
	if err := run("useradd", "--create-home", "--home-dir", home, "--user-group", "--shell", "/usr/sbin/nologin", name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := run("userdel", "--remove", name); err != nil {
			tb.Errorf("removing test user %s: %v", name, err)
		}
	})
	if err := os.Chmod(home, 0o750); err != nil {
		tb.Fatal(err)
	}
	if err := run("setfacl", "-m", "u:"+WebUser+":x", home); err != nil {
		tb.Fatal(err)
	}
	u, err := user.Lookup(name)
	if err != nil {
		tb.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &User{Name: name, UID: uid, GID: gid, Home: home}
}

// WriteFile writes content to path (as root: the directories it makes are
// 0755) and gives it to u (nil: root) with mode.
func WriteFile(tb testing.TB, u *User, path, content string, mode os.FileMode) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		tb.Fatal(err)
	}
	if u != nil {
		if err := os.Chown(path, u.UID, u.GID); err != nil {
			tb.Fatal(err)
		}
	}
}

// Cert is a certificate issued by Bed.Cert.
type Cert struct {
	CertFile, KeyFile string // PEM files in a directory of the test's
	CertPEM, KeyPEM   []byte
	Leaf              *x509.Certificate
}

// Cert issues a certificate for names (DNS names or IP addresses) signed by
// the bed's CA, with a new P-256 key, in files of the test's own temporary
// directory (removed after the test: issue it before writing the site that
// uses it, whose removal comes first).
func (b *Bed) Cert(tb testing.TB, names ...string) *Cert {
	tb.Helper()
	caCert, caKey, err := b.loadCA()
	if err != nil {
		tb.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	c := &Cert{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), Leaf: leaf}
	dir := tb.TempDir()
	c.CertFile, c.KeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(c.CertFile, c.CertPEM, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(c.KeyFile, c.KeyPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return c
}

// loadCA reads the CA's certificate and key (DIR/ca/ca.key, root's).
func (b *Bed) loadCA() (*x509.Certificate, any, error) {
	certPEM, err := os.ReadFile(b.CA)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(filepath.Dir(b.CA), "ca.key"))
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("the bed's CA files hold no PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		if k, err2 := x509.ParseECPrivateKey(kb.Bytes); err2 == nil {
			return cert, k, nil
		}
		return nil, nil, err
	}
	return cert, key, nil
}

// Response is what a server answered.
type Response struct {
	Status int
	Body   string
	Header http.Header
	TLS    *tls.ConnectionState // https: the verified connection
}

// Fetch sends GET scheme://host/path to server (Bed.Nginx or Bed.Apache,
// port 80 or 443): the Host header and, over https, the SNI are host, and
// the certificate must verify for host against the bed's CA. auth is a
// user and a password for basic authentication, or nothing. Redirects are
// not followed; each request has a connection of its own.
func (b *Bed) Fetch(server, scheme, host, path string, auth ...string) (*Response, error) {
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	addr := net.JoinHostPort(server, port)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
		TLSClientConfig:   &tls.Config{RootCAs: b.roots, ServerName: host},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(http.MethodGet, scheme+"://"+host+path, nil)
	if err != nil {
		return nil, err
	}
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Body: string(body), Header: resp.Header, TLS: resp.TLS}, nil
}

// Get is Fetch without authentication, failing the test if no answer came.
func (b *Bed) Get(tb testing.TB, server, scheme, host, path string) (status int, body string, header http.Header) {
	tb.Helper()
	r, err := b.Fetch(server, scheme, host, path)
	if err != nil {
		tb.Fatalf("GET %s://%s%s on %s: %v", scheme, host, path, server, err)
	}
	return r.Status, r.Body, r.Header
}

// GetAuth is Get with basic authentication.
func (b *Bed) GetAuth(tb testing.TB, server, scheme, host, path, login, password string) (status int, body string, header http.Header) {
	tb.Helper()
	r, err := b.Fetch(server, scheme, host, path, login, password)
	if err != nil {
		tb.Fatalf("GET %s://%s%s on %s as %s: %v", scheme, host, path, server, login, err)
	}
	return r.Status, r.Body, r.Header
}

// WaitGet fetches until ok accepts the answer (for what a backend does not
// wait for itself), failing the test after Wait.
func (b *Bed) WaitGet(tb testing.TB, server, scheme, host, path string, ok func(*Response) bool) *Response {
	tb.Helper()
	var last string
	for deadline := time.Now().Add(Wait); ; time.Sleep(100 * time.Millisecond) {
		r, err := b.Fetch(server, scheme, host, path)
		if err == nil && ok(r) {
			return r
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d %q", r.Status, r.Body)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("GET %s://%s%s on %s: still %s after %v", scheme, host, path, server, last, Wait)
		}
	}
}
