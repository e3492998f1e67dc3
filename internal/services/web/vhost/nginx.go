package vhost

import (
	"fmt"
	"strings"
)

// Nginx renders s as server blocks for nginx's http context.
func Nginx(s Site) (string, error) {
	if err := checked(s); err != nil {
		return "", err
	}
	var b strings.Builder
	w := func(indent int, format string, a ...any) {
		b.WriteString(strings.Repeat("    ", indent))
		fmt.Fprintf(&b, format, a...)
		b.WriteByte('\n')
	}
	http, https, redirect := s.listens()
	names := make([]string, len(s.Domains))
	for i, d := range s.Domains {
		names[i] = quote(d)
	}
	head := func(ports ...string) {
		for _, port := range ports {
			w(1, "listen %s;", s.Address+":"+port)
		}
		w(1, "server_name %s;", strings.Join(names, " "))
		if s.AccessLog != "" {
			w(1, "access_log %s;", quote(s.AccessLog))
		}
		if s.ErrorLog != "" {
			w(1, "error_log %s;", quote(s.ErrorLog))
		}
		if s.ACMERoot != "" {
			w(1, "location ^~ /.well-known/acme-challenge/ {")
			w(2, "root %s;", quote(s.ACMERoot))
			w(1, "}")
		}
	}
	w(0, "# website %s: written by the panel, every edit is lost", s.Name)
	if redirect {
		w(0, "server {")
		head("80")
		w(1, "location / {")
		w(2, "return 301 https://$host$request_uri;")
		w(1, "}")
		w(0, "}")
		http = false
	}
	if !http && !https {
		return b.String(), nil
	}
	w(0, "server {")
	switch {
	case http && https:
		head("80", "443 ssl")
	case http:
		head("80")
	default:
		head("443 ssl")
	}
	if https {
		w(1, "ssl_certificate %s;", quote(s.Cert))
		w(1, "ssl_certificate_key %s;", quote(s.Key))
	}
	// a link is followed only to what its owner owns: no site serves
	// another's files through a link its customer planted
	w(1, "disable_symlinks if_not_owner;")
	if !s.Active {
		w(1, "error_page 503 /index.html;")
		w(1, "location = /index.html {")
		w(2, "root %s;", quote(s.Suspended))
		w(1, "}")
		w(1, "location / {")
		w(2, "return 503;")
		w(1, "}")
		w(0, "}")
		return b.String(), nil
	}
	if s.Include != "" {
		w(1, "include %s;", quote(s.Include))
	}
	siteHeaders, _ := s.headers("/")
	for _, h := range siteHeaders {
		w(1, "add_header %s %s always;", h.Name, quote(h.Value))
	}
	for _, e := range s.Errors {
		w(1, "error_page %d %s;", e.Status, quote(e.Target))
	}
	for _, l := range s.locations() {
		if l.path != "/" {
			// the folder's own path: to it with a slash, as Apache's mod_dir
			w(1, "location = %s {", quote(l.path))
			nginxHeaders(w, s, l.path)
			if l.redirect != nil {
				nginxBody(w, l)
			} else {
				w(2, "return 301 %s;", quote(l.path+"/"))
			}
			w(1, "}")
		}
		w(1, "location %s {", quote(strings.TrimSuffix(l.path, "/")+"/"))
		nginxHeaders(w, s, l.path)
		nginxBody(w, l)
		w(1, "}")
	}
	w(0, "}")
	return b.String(), nil
}

// nginxHeaders sets the headers of a location under which some apply
// that the whole site does not have: all of them, since a location's
// add_header hides the server's.
func nginxHeaders(w func(int, string, ...any), s Site, p string) {
	site, located := s.headers(p)
	if len(located) == 0 {
		return
	}
	for _, h := range append(site, located...) {
		w(2, "add_header %s %s always;", h.Name, quote(h.Value))
	}
}

// nginxBody is what answers under l.
func nginxBody(w func(int, string, ...any), l location) {
	if p := l.protect; p != nil {
		w(2, "auth_basic %s;", quote(p.Realm))
		w(2, "auth_basic_user_file %s;", quote(p.File))
	}
	base := strings.TrimSuffix(l.path, "/")
	switch {
	case l.redirect != nil:
		code := map[bool]string{true: "permanent", false: "redirect"}[l.redirect.Permanent]
		w(2, "rewrite %s %s %s;", quote("^"+regexQuote(base)+"(/.*)?$"), quote(strings.TrimSuffix(l.redirect.Target, "/")+"$1"), code)
	case l.proxy != nil:
		w(2, "include proxy_params;")
		w(2, "proxy_pass %s;", quote(strings.TrimSuffix(l.proxy.URL, "/")+rel(l.path, l.proxy.Path)+"/"))
		if l.proxy.Timeout > 0 {
			w(2, "proxy_read_timeout %ds;", l.proxy.Timeout)
		}
	case l.content == nil:
		w(2, "return 404;")
	case l.content.Kind == UWSGI:
		w(2, "include uwsgi_params;")
		w(2, "uwsgi_pass %s;", quote("unix:"+l.content.Socket))
		if c := clean(l.content.Path); c != "/" {
			w(2, "uwsgi_param SCRIPT_NAME %s;", quote(c))
			w(2, "uwsgi_modifier1 30;") // PATH_INFO without SCRIPT_NAME
		}
	default:
		c := l.content
		if l.path != "/" {
			w(2, "alias %s;", quote(c.Root+rel(l.path, c.Path)+"/"))
		} else {
			w(2, "root %s;", quote(c.Root))
		}
		if c.Kind == Static {
			w(2, "index index.html index.htm;")
			return
		}
		w(2, "index index.php index.html;")
		if c.Front {
			w(2, "try_files $uri $uri/ %s;", quote(strings.TrimSuffix(clean(c.Path), "/")+"/index.php$is_args$args"))
		}
		// no PHP runs where the site's code may write
		for _, d := range c.NoExec {
			if folder := strings.TrimSuffix(clean(c.Path), "/") + "/" + d; under(folder, l.path) {
				w(2, "location ^~ %s {", quote(folder+"/"))
				w(3, "alias %s;", quote(c.Root+"/"+d+"/"))
				w(3, "location ~ \\.php$ {")
				w(4, "return 403;")
				w(3, "}")
				w(2, "}")
			}
		}
		w(2, "location ~ \\.php$ {")
		w(3, "if (!-f $request_filename) {")
		w(4, "return 404;")
		w(3, "}")
		w(3, "include fastcgi_params;")
		w(3, "fastcgi_param SCRIPT_FILENAME $request_filename;")
		w(3, "fastcgi_pass %s;", quote("unix:"+c.Socket))
		w(2, "}")
	}
}

// rel is path p below base: "" at base itself, else starting with "/".
func rel(p, base string) string {
	if base = clean(base); base == "/" {
		return strings.TrimSuffix(p, "/")
	}
	return p[len(base):]
}

// regexQuote escapes what a PCRE pattern would read as syntax in a path.
func regexQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "+", `\+`).Replace(s)
}
