package webtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-crypt/crypt/algorithm/shacrypt"
)

// site is one account's web presence as the backends will write it: a UNIX
// user, a static page and PHP in its home, its PHP-FPM pool and uWSGI app,
// and a virtual host for it on nginx and on Apache, over http and https.
type site struct {
	b      *Bed
	u      *User
	host   string // the site's name
	wpHost string // a WordPress copy's name, if any
	cert   *Cert
	web    string // document root
	static string // index.html's text
	pool   string // pool file
	vassal string // vassal file name
	secret [2]string
}

func (s *site) phpSocket() string   { return filepath.Join(s.b.PHPFPMSockets(), s.u.Name+".sock") }
func (s *site) uwsgiSocket() string { return filepath.Join(s.b.UWSGISockets(), s.u.Name+".sock") }

// newSite makes the user and its files, writes its pool, vassal and
// virtual hosts (and WordPress's, if wordpress), checks and reloads with
// the contract's commands, and takes it all back after the test.
func newSite(t *testing.T, b *Bed, wordpress bool) *site {
	t.Helper()
	u := b.User(t, "wt"+b.Token())
	s := &site{b: b, u: u, host: b.Token() + ".test", web: filepath.Join(u.Home, "web"),
		static: "static page of " + b.Token(), pool: filepath.Join(b.PHPFPMPools(), u.Name+".conf"),
		vassal: u.Name + ".ini", secret: [2]string{"editor", "pw-" + b.Token()}}
	s.cert = b.Cert(t, s.host, "www."+s.host)
	WriteFile(t, u, filepath.Join(s.web, "index.html"), s.static+"\n", 0o644)
	WriteFile(t, u, filepath.Join(s.web, "info.php"), `<?php
header('Content-Type: text/plain');
echo "php euid=", posix_geteuid(), " memory_limit=", ini_get('memory_limit'), "\n";
`, 0o644)
	WriteFile(t, u, filepath.Join(s.web, "private", "index.html"), "private page\n", 0o644)
	WriteFile(t, u, filepath.Join(u.Home, "app", "app.py"), `import os
def application(env, start):
    start('200 OK', [('Content-Type', 'text/plain')])
    return [('uwsgi uid=%d greeting=%s\n' % (os.getuid(), os.environ.get('GREETING', ''))).encode()]
`, 0o600)
	for _, d := range []string{s.web, filepath.Join(s.web, "private"), filepath.Join(u.Home, "app")} {
		if err := os.Chown(d, u.UID, u.GID); err != nil {
			t.Fatal(err)
		}
	}
	// basic authentication: the file is read by the web servers' workers
	h, err := shacrypt.New(shacrypt.WithVariant(shacrypt.VariantSHA512), shacrypt.WithIterations(5000))
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.Hash(s.secret[1])
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, nil, filepath.Join(u.Home, "htpasswd"), s.secret[0]+":"+d.Encode()+"\n", 0o644)
	wpNginx, wpApache := "", ""
	if wordpress {
		s.wpHost = "wp." + s.host
		wp := filepath.Join(u.Home, "wordpress")
		// a site's own copy, without Debian's wp-config.php (which reads
		// /etc/wordpress/config-HOST.php)
		if out, err := exec.Command("cp", "-a", "/usr/share/wordpress", wp).CombinedOutput(); err != nil {
			t.Fatalf("copying WordPress: %v\n%s", err, out)
		}
		if err := os.Remove(filepath.Join(wp, "wp-config.php")); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "-R", "-h", u.Name+":"+u.Name, wp).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		wpNginx = fmt.Sprintf(`
server {
  listen %[1]s:80;
  server_name %[2]s;
  root %[3]s;
  index index.php;
  location ~ \.php$ {
    include snippets/fastcgi-php.conf;
    fastcgi_pass unix:%[4]s;
  }
}
`, b.Nginx, s.wpHost, wp, s.phpSocket())
		wpApache = fmt.Sprintf(`
<VirtualHost %[1]s:80>
  ServerName %[2]s
  DocumentRoot %[3]s
  <Directory %[3]s>
    Require all granted
  </Directory>
  <FilesMatch "\.php$">
    SetHandler "proxy:unix:%[4]s|fcgi://%[5]s"
  </FilesMatch>
</VirtualHost>
`, b.Apache, s.wpHost, wp, s.phpSocket(), u.Name)
	}

	nginxSite := fmt.Sprintf(`server {
  listen %[1]s:80;
  listen %[1]s:443 ssl;
  server_name %[2]s www.%[2]s;
  ssl_certificate %[3]s;
  ssl_certificate_key %[4]s;
  root %[5]s;
  index index.html index.php;
  location ~ \.php$ {
    include snippets/fastcgi-php.conf;
    fastcgi_pass unix:%[6]s;
  }
  location /app/ {
    include uwsgi_params;
    uwsgi_pass unix:%[7]s;
  }
  location /private/ {
    auth_basic "private";
    auth_basic_user_file %[8]s;
  }
}
`, b.Nginx, s.host, s.cert.CertFile, s.cert.KeyFile, s.web, s.phpSocket(), s.uwsgiSocket(),
		filepath.Join(u.Home, "htpasswd")) + wpNginx
	apacheHost := fmt.Sprintf(`  ServerName %[1]s
  ServerAlias www.%[1]s
  DocumentRoot %[2]s
  <Directory %[2]s>
    Require all granted
  </Directory>
  <FilesMatch "\.php$">
    SetHandler "proxy:unix:%[3]s|fcgi://%[4]s"
  </FilesMatch>
  ProxyPass "/app/" "unix:%[5]s|uwsgi://%[4]s-app/"
  <Directory %[2]s/private>
    AuthType Basic
    AuthName "private"
    AuthUserFile %[6]s
    Require valid-user
  </Directory>
`, s.host, s.web, s.phpSocket(), u.Name, s.uwsgiSocket(), filepath.Join(u.Home, "htpasswd"))
	apacheSite := fmt.Sprintf("<VirtualHost %[1]s:80>\n%[2]s</VirtualHost>\n<VirtualHost %[1]s:443>\n%[2]s"+
		"  SSLEngine on\n  SSLCertificateFile %[3]s\n  SSLCertificateKeyFile %[4]s\n</VirtualHost>\n",
		b.Apache, apacheHost, s.cert.CertFile, s.cert.KeyFile) + wpApache

	unlock := b.Lock(t)
	defer unlock()
	t.Cleanup(func() { s.remove(t) })
	s.writePool(t, "128M")
	if err := b.Vassal(s.vassal, s.vassalIni("first")); err != nil {
		t.Fatal(err)
	}
	WriteFile(t, nil, filepath.Join(b.NginxSites(), u.Name+".conf"), nginxSite, 0o644)
	if err := b.CheckNginx(); err != nil {
		t.Fatal(err)
	}
	if err := b.ReloadNginx(); err != nil {
		t.Fatal(err)
	}
	WriteFile(t, nil, filepath.Join(b.ApacheSites(), u.Name+".conf"), apacheSite, 0o644)
	if err := b.CheckApache(); err != nil {
		t.Fatal(err)
	}
	if err := b.ReloadApache(); err != nil {
		t.Fatal(err)
	}
	return s
}

// writePool writes the user's pool with memory_limit set through
// php_admin_value, checks and reloads PHP-FPM.
func (s *site) writePool(t *testing.T, memoryLimit string) {
	t.Helper()
	WriteFile(t, nil, s.pool, fmt.Sprintf(`[%[1]s]
user = %[1]s
group = %[1]s
listen = %[2]s
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = ondemand
pm.max_children = 3
php_admin_value[memory_limit] = %[3]s
`, s.u.Name, s.phpSocket(), memoryLimit), 0o644)
	if err := s.b.CheckPHPFPM(); err != nil {
		t.Fatal(err)
	}
	if err := s.b.ReloadPHPFPM(); err != nil {
		t.Fatal(err)
	}
}

func (s *site) vassalIni(greeting string) string {
	return fmt.Sprintf(`[uwsgi]
plugins = python3
uid = %[1]s
gid = %[1]s
socket = %[2]s
chown-socket = www-data:www-data
chmod-socket = 660
master = true
processes = 1
chdir = %[3]s/app
wsgi-file = %[3]s/app/app.py
env = GREETING=%[4]s
`, s.u.Name, s.uwsgiSocket(), s.u.Home, greeting)
}

// remove takes the site's files back and reloads, before the user goes.
func (s *site) remove(t *testing.T) {
	b := s.b
	unlock := b.Lock(t)
	defer unlock()
	for _, f := range []string{filepath.Join(b.NginxSites(), s.u.Name+".conf"), filepath.Join(b.ApacheSites(), s.u.Name+".conf"), s.pool} {
		os.Remove(f)
	}
	for _, err := range []error{b.ReloadNginx(), b.ReloadApache(), b.ReloadPHPFPM(), b.Vassal(s.vassal, "")} {
		if err != nil {
			t.Error(err)
		}
	}
	// the sockets stay behind: their owners cannot remove them
	os.Remove(s.phpSocket())
	os.Remove(s.uwsgiSocket())
}

var servers = []string{"nginx", "apache"}

func (b *Bed) addr(server string) string {
	if server == "apache" {
		return b.Apache
	}
	return b.Nginx
}

// One site, as the backends will write it, served by nginx and Apache over
// http and https with PHP and a uWSGI app running as its user.
func TestBed(t *testing.T) {
	b := Load(t)
	_, err := os.Stat("/usr/share/wordpress/wp-load.php")
	wordpress := err == nil
	s := newSite(t, b, wordpress)

	// each reload helper returned once the change was live: no waiting
	t.Run("static and PHP as the user", func(t *testing.T) {
		want := fmt.Sprintf("php euid=%d memory_limit=128M\n", s.u.UID)
		for _, srv := range servers {
			if st, body, _ := b.Get(t, b.addr(srv), "http", s.host, "/"); st != 200 || body != s.static+"\n" {
				t.Errorf("%s: / %d %q, want 200 %q", srv, st, body, s.static)
			}
			if st, body, _ := b.Get(t, b.addr(srv), "http", s.host, "/info.php"); st != 200 || body != want {
				t.Errorf("%s: /info.php %d %q, want 200 %q", srv, st, body, want)
			}
			// a name no site has: the bed's own host
			if st, _, h := b.Get(t, b.addr(srv), "http", "nothing-"+s.host, "/"); st != 404 || h.Get("X-Orchestra-Testbed") != srv {
				t.Errorf("%s: unknown host answered %d (%q), want the bed's 404", srv, st, h.Get("X-Orchestra-Testbed"))
			}
		}
	})

	t.Run("uWSGI as the user", func(t *testing.T) {
		want := fmt.Sprintf("uwsgi uid=%d greeting=first\n", s.u.UID)
		for _, srv := range servers {
			if st, body, _ := b.Get(t, b.addr(srv), "http", s.host, "/app/"); st != 200 || body != want {
				t.Errorf("%s: /app/ %d %q, want 200 %q", srv, st, body, want)
			}
		}
	})

	// each server picks the site's certificate by SNI, which verifies
	// against the bed's CA
	t.Run("https with SNI", func(t *testing.T) {
		for _, srv := range servers {
			for _, host := range []string{s.host, "www." + s.host} {
				r, err := b.Fetch(b.addr(srv), "https", host, "/")
				if err != nil {
					t.Errorf("%s: https://%s/: %v", srv, host, err)
					continue
				}
				if r.Status != 200 || r.Body != s.static+"\n" {
					t.Errorf("%s: https://%s/ %d %q", srv, host, r.Status, r.Body)
				}
				if got := r.TLS.PeerCertificates[0]; !got.Equal(s.cert.Leaf) {
					t.Errorf("%s: https://%s/ served %v, want the site's certificate", srv, host, got.DNSNames)
				}
			}
			if st, body, _ := b.Get(t, b.addr(srv), "https", s.host, "/info.php"); st != 200 || !strings.HasPrefix(body, "php euid=") {
				t.Errorf("%s: https /info.php %d %q", srv, st, body)
			}
		}
	})

	t.Run("basic auth", func(t *testing.T) {
		for _, srv := range servers {
			if st, _, h := b.Get(t, b.addr(srv), "http", s.host, "/private/"); st != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s: /private/ without credentials: %d %q, want 401 Basic", srv, st, h.Get("WWW-Authenticate"))
			}
			if st, _, _ := b.GetAuth(t, b.addr(srv), "http", s.host, "/private/", s.secret[0], "wrong"); st != 401 {
				t.Errorf("%s: /private/ with a wrong password: %d, want 401", srv, st)
			}
			if st, body, _ := b.GetAuth(t, b.addr(srv), "https", s.host, "/private/", s.secret[0], s.secret[1]); st != 200 || body != "private page\n" {
				t.Errorf("%s: /private/ with the password: %d %q", srv, st, body)
			}
		}
	})

	// a broken file fails the check with the reason, and the running
	// config keeps serving; Apache's graceful restart refuses it too
	t.Run("broken config refused", func(t *testing.T) {
		unlock := b.Lock(t)
		defer unlock()
		broken := filepath.Join(b.NginxSites(), s.u.Name+"-broken.conf")
		WriteFile(t, nil, broken, "server {\n  listen "+b.Nginx+":80;\n  server_name broken."+s.host+";\n  bogus_directive on;\n}\n", 0o644)
		err := b.CheckNginx()
		os.Remove(broken)
		if err == nil || !strings.Contains(err.Error(), `unknown directive "bogus_directive"`) || !strings.Contains(err.Error(), broken+":4") {
			t.Errorf("nginx -t on a broken site: %v", err)
		}

		broken = filepath.Join(b.ApacheSites(), s.u.Name+"-broken.conf")
		WriteFile(t, nil, broken, "<VirtualHost "+b.Apache+":80>\n  ServerName broken."+s.host+"\n  BogusDirective on\n</VirtualHost>\n", 0o644)
		err = b.CheckApache()
		if err == nil || !strings.Contains(err.Error(), "Invalid command 'BogusDirective'") {
			t.Errorf("apache2 -t on a broken site: %v", err)
		}
		// graceful parses first and signals nothing
		if err := run(append(b.ApacheCmd(), "-k", "graceful")...); err == nil {
			t.Error("apache2 -k graceful took a broken site")
		}
		os.Remove(broken)

		broken = filepath.Join(b.PHPFPMPools(), s.u.Name+"-broken.conf")
		WriteFile(t, nil, broken, "[broken"+b.Token()+"]\nuser = nobody-"+b.Token()+"\nlisten = "+
			filepath.Join(b.PHPFPMSockets(), "broken.sock")+"\npm = ondemand\npm.max_children = 1\n", 0o644)
		err = b.CheckPHPFPM()
		os.Remove(broken)
		if err == nil || !strings.Contains(err.Error(), "nobody-"+b.Token()) {
			t.Errorf("php-fpm -t on a broken pool: %v", err)
		}

		for _, srv := range servers {
			if st, body, _ := b.Get(t, b.addr(srv), "http", s.host, "/"); st != 200 || body != s.static+"\n" {
				t.Errorf("%s: after the broken files: / %d %q", srv, st, body)
			}
			if st, body, _ := b.Get(t, b.addr(srv), "http", s.host, "/info.php"); st != 200 || !strings.HasPrefix(body, "php euid=") {
				t.Errorf("%s: after the broken files: /info.php %d %q", srv, st, body)
			}
		}
	})

	// a copy of Debian's WordPress runs its PHP as the user: without a
	// wp-config.php it sends the browser to its setup page
	t.Run("WordPress", func(t *testing.T) {
		if !wordpress {
			t.Skip("no /usr/share/wordpress (the wordpress package)")
		}
		for _, srv := range servers {
			st, _, h := b.Get(t, b.addr(srv), "http", s.wpHost, "/")
			if st != 302 || !strings.HasSuffix(h.Get("Location"), "/wp-admin/setup-config.php") {
				t.Errorf("%s: WordPress's / %d, Location %q; want a redirect to its setup", srv, st, h.Get("Location"))
				continue
			}
			st, body, _ := b.Get(t, b.addr(srv), "http", s.wpHost, "/wp-admin/setup-config.php")
			if st != 200 || !strings.Contains(body, "WordPress") || !strings.Contains(body, "wp-config.php") {
				t.Errorf("%s: WordPress's setup page %d:\n%.400s", srv, st, body)
			}
		}
	})

	// a changed pool and a rewritten vassal file are live once the
	// contract's waits return
	t.Run("changes live on return", func(t *testing.T) {
		unlock := b.Lock(t)
		s.writePool(t, "96M")
		err := b.Vassal(s.vassal, s.vassalIni("second"))
		unlock()
		if err != nil {
			t.Fatal(err)
		}
		php := fmt.Sprintf("php euid=%d memory_limit=96M\n", s.u.UID)
		app := fmt.Sprintf("uwsgi uid=%d greeting=second\n", s.u.UID)
		for _, srv := range servers {
			if st, body, _ := b.Get(t, b.addr(srv), "http", s.host, "/info.php"); st != 200 || body != php {
				t.Errorf("%s: /info.php %d %q, want 200 %q", srv, st, body, php)
			}
			if st, body, _ := b.Get(t, b.addr(srv), "http", s.host, "/app/"); st != 200 || body != app {
				t.Errorf("%s: /app/ %d %q, want 200 %q", srv, st, body, app)
			}
		}
	})
}
