package vhost

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// site is a website with one of everything.
func site(dir string) Site {
	return Site{
		Name: "acme-shop", Address: "127.0.0.199", Domains: []string{"shop.example", "www.shop.example", "*.shop.example"},
		Protocol: Both, Cert: dir + "/shop.crt", Key: dir + "/shop.key", Active: true, Suspended: dir + "/suspended",
		AccessLog: dir + "/shop.access.log", ErrorLog: dir + "/shop.error.log", Include: dir + "/shop.include.conf", ACMERoot: dir + "/acme",
		Contents: []Content{
			{Path: "/", Kind: PHP, Root: "/home/acme/webapps/shop/public", Socket: dir + "/acme.sock", Front: true, NoExec: []string{"wp-content/uploads"}},
			{Path: "/static/", Kind: Static, Root: "/home/acme/webapps/assets"},
			{Path: "/app", Kind: UWSGI, Socket: dir + "/app.sock"},
		},
		Redirects: []Redirect{{Path: "/old", Target: "https://new.example/x", Permanent: true}},
		Proxies:   []Proxy{{Path: "/api", URL: "http://127.0.0.1:9000/v1", Timeout: 30, Retry: 5}},
		Errors:    []ErrorDoc{{Status: 404, Target: "/404.html"}, {Status: 503, Target: "https://status.example/"}},
		Protected: []Protection{{Path: "/wp-admin", Realm: `Staff "only" \ area`, File: dir + "/shop.htpasswd"}},
		Headers: []Header{{Name: "X-Frame-Options", Value: "SAMEORIGIN"}, {Name: "X-Note", Value: `100% "quoted"`},
			{Path: "/wp-admin", Name: "X-Robots-Tag", Value: "noindex"}},
	}
}

// TestCheck: what no configuration could hold as it is is refused.
func TestCheck(t *testing.T) {
	ok := site("/srv")
	if errs := Check(ok); len(errs) > 0 {
		t.Fatalf("a good site: %v", errs)
	}
	for name, mut := range map[string]func(*Site){
		"newline in a header":       func(s *Site) { s.Headers[0].Value = "a\nb" },
		"variable in a header":      func(s *Site) { s.Headers[0].Value = "$host" },
		"variable in a redirect":    func(s *Site) { s.Redirects[0].Target = "https://x/${X}" },
		"space in a redirect":       func(s *Site) { s.Redirects[0].Target = "https://x/ y" },
		"quote in a proxy URL":      func(s *Site) { s.Proxies[0].URL = `http://x/"; include /etc/passwd; "` },
		"dot-dot in a path":         func(s *Site) { s.Contents[1].Path = "/a/../b" },
		"semicolon in a path":       func(s *Site) { s.Contents[1].Path = "/a;b" },
		"dot-dot in a no-exec":      func(s *Site) { s.Contents[0].NoExec = []string{"../x"} },
		"two contents at one path":  func(s *Site) { s.Contents[1].Path = "/" },
		"a wildcard server name":    func(s *Site) { s.Domains = []string{"*.shop.example"} },
		"a bad domain":              func(s *Site) { s.Domains[1] = "a b" },
		"https without certificate": func(s *Site) { s.Cert = "" },
		"an unknown protocol":       func(s *Site) { s.Protocol = "gopher" },
		"a realm with a line break": func(s *Site) { s.Protected[0].Realm = "a\r\nb" },
		"a bad header name":         func(s *Site) { s.Headers[0].Name = "X Y" },
		"an error status of 200":    func(s *Site) { s.Errors[0].Status = 200 },
	} {
		s := site("/srv")
		mut(&s)
		if len(Check(s)) == 0 {
			t.Errorf("%s: accepted", name)
		}
		if _, err := Nginx(s); err == nil {
			t.Errorf("%s: rendered for nginx", name)
		}
		if _, err := Apache(s); err == nil {
			t.Errorf("%s: rendered for Apache", name)
		}
	}
}

// TestLocations: each path is answered by the longest that covers it.
func TestLocations(t *testing.T) {
	got := map[string]string{}
	for _, l := range site("/srv").locations() {
		what := "404"
		switch {
		case l.redirect != nil:
			what = "redirect " + l.redirect.Path
		case l.proxy != nil:
			what = "proxy " + l.proxy.Path
		case l.content != nil:
			what = l.content.Kind + " " + l.content.Path
		}
		if l.protect != nil {
			what += " protected"
		}
		got[l.path] = what
	}
	want := map[string]string{"/": "php /", "/static": "static /static/", "/app": "uwsgi /app", "/old": "redirect /old",
		"/api": "proxy /api", "/wp-admin": "php / protected"}
	if len(got) != len(want) {
		t.Errorf("locations %v, want %v", got, want)
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %q, want %q", p, got[p], w)
		}
	}
}

// TestServersTakeIt: the servers' own checks take both renderings of a
// site with one of everything, active, suspended, http only and https only.
func TestServersTakeIt(t *testing.T) {
	required := os.Getenv("ORCHESTRA_TEST_WEB_DIR") != ""
	for _, bin := range []string{"nginx", "apache2"} {
		if _, err := exec.LookPath(bin); err != nil {
			if required {
				t.Fatalf("%s is not installed", bin)
			}
			t.Skipf("%s is not installed (./do ensure_web_testbed installs it)", bin)
		}
	}
	dir := t.TempDir()
	writeCert(t, dir+"/shop")
	for _, f := range []string{"shop.include.conf", "shop.htpasswd"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	for name, mut := range map[string]func(*Site){
		"everything": func(*Site) {},
		"suspended":  func(s *Site) { s.Active = false },
		"http":       func(s *Site) { s.Protocol = HTTP },
		"https-only": func(s *Site) { s.Protocol = HTTPSOnly },
		"https":      func(s *Site) { s.Protocol = HTTPS },
	} {
		s := site(dir)
		mut(&s)
		conf, err := Nginx(s)
		if err != nil {
			t.Fatal(err)
		}
		nginxTakes(t, dir, name, conf)
		if conf, err = Apache(s); err != nil {
			t.Fatal(err)
		}
		apacheTakes(t, dir, name, conf)
	}
	s := site(dir)
	conf, _ := Nginx(s)
	for _, want := range []string{`add_header X-Note "100% \"quoted\"" always;`, `auth_basic "Staff \"only\" \\ area";`,
		`listen 127.0.0.199:443 ssl;`, `fastcgi_pass "unix:` + dir + `/acme.sock";`, `rewrite "^/old(/.*)?$" "https://new.example/x$1" permanent;`,
		`proxy_pass "http://127.0.0.1:9000/v1/";`, `uwsgi_param SCRIPT_NAME "/app";`, `location ^~ "/wp-content/uploads/" {`} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx: no %s in\n%s", want, conf)
		}
	}
	conf, _ = Apache(s)
	for _, want := range []string{`Header always set X-Note "100%% \"quoted\""`, `AuthName "Staff \"only\" \\ area"`,
		`<VirtualHost 127.0.0.199:443>`, `Redirect 301 "/old" "https://new.example/x"`, `ProxyPass "/api/" "http://127.0.0.1:9000/v1/" timeout=30 retry=5`,
		`FallbackResource "/index.php"`, `<Directory "/home/acme/webapps/shop/public/wp-content/uploads">`} {
		if !strings.Contains(conf, want) {
			t.Errorf("Apache: no %s in\n%s", want, conf)
		}
	}
}

func nginxTakes(t *testing.T, dir, name, site string) {
	t.Helper()
	d := filepath.Join(dir, "nginx-"+name)
	os.MkdirAll(d, 0o755)
	for _, f := range []string{"mime.types", "fastcgi_params", "uwsgi_params", "proxy_params"} {
		os.Symlink("/etc/nginx/"+f, filepath.Join(d, f))
	}
	os.WriteFile(filepath.Join(d, "site.conf"), []byte(site), 0o644)
	os.WriteFile(filepath.Join(d, "nginx.conf"), []byte(`pid `+d+`/nginx.pid;
error_log `+d+`/error.log;
events {}
http {
    include mime.types;
    client_body_temp_path `+d+`/tmp;
    proxy_temp_path `+d+`/tmp;
    fastcgi_temp_path `+d+`/tmp;
    uwsgi_temp_path `+d+`/tmp;
    scgi_temp_path `+d+`/tmp;
    include `+d+`/site.conf;
}
`), 0o644)
	if out, err := exec.Command("nginx", "-t", "-e", d+"/error.log", "-c", d+"/nginx.conf").CombinedOutput(); err != nil {
		t.Errorf("nginx -t refuses the %s site: %s\n%s", name, out, site)
	}
}

func apacheTakes(t *testing.T, dir, name, site string) {
	t.Helper()
	d := filepath.Join(dir, "apache-"+name)
	os.MkdirAll(d, 0o755)
	var conf strings.Builder
	for _, m := range []string{"mpm_event", "authz_core", "authz_user", "authn_core", "authn_file", "auth_basic", "alias", "dir",
		"mime", "headers", "rewrite", "proxy", "proxy_fcgi", "proxy_http", "proxy_uwsgi", "ssl", "socache_shmcb"} {
		conf.WriteString("LoadModule " + m + "_module /usr/lib/apache2/modules/mod_" + m + ".so\n")
	}
	conf.WriteString("ServerName localhost\nDefaultRuntimeDir " + d + "\nPidFile " + d + "/apache2.pid\nMutex file:" + d + " default\n" +
		"ErrorLog " + d + "/error.log\nLogFormat \"%h %l %u %t \\\"%r\\\" %>s %O\" combined\nListen 127.0.0.199:80\nListen 127.0.0.199:443\n" +
		"Include " + d + "/site.conf\n")
	os.WriteFile(filepath.Join(d, "site.conf"), []byte(site), 0o644)
	os.WriteFile(filepath.Join(d, "apache2.conf"), []byte(conf.String()), 0o644)
	if out, err := exec.Command("apache2", "-t", "-f", d+"/apache2.conf").CombinedOutput(); err != nil {
		t.Errorf("apache2 -t refuses the %s site: %s\n%s", name, out, site)
	}
}

// writeCert writes a self-signed certificate and its key to base.crt and base.key.
func writeCert(t *testing.T, base string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shop.example"},
		DNSNames: []string{"shop.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(base+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(base+".key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
}
