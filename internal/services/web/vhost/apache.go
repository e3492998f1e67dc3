package vhost

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Apache renders s as Apache 2.4 virtual hosts (mod_proxy_fcgi for PHP,
// mod_proxy_uwsgi for Python, mod_rewrite, mod_headers, mod_ssl).
func Apache(s Site) (string, error) {
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
	head := func(port string) {
		w(0, "<VirtualHost %s:%s>", s.Address, port)
		w(1, "ServerName %s", quote(s.Domains[0]))
		for _, d := range s.Domains[1:] {
			w(1, "ServerAlias %s", quote(d))
		}
		if s.AccessLog != "" {
			w(1, "CustomLog %s %s", quote(s.AccessLog), quote(`%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"`))
		}
		if s.ErrorLog != "" {
			w(1, "ErrorLog %s", quote(s.ErrorLog))
		}
		if s.ACMERoot != "" {
			w(1, "Alias /.well-known/acme-challenge/ %s", quote(s.ACMERoot+"/.well-known/acme-challenge/"))
			w(1, "<Directory %s>", quote(s.ACMERoot+"/.well-known/acme-challenge"))
			w(2, "Require all granted")
			w(1, "</Directory>")
			w(1, "ProxyPass /.well-known/acme-challenge/ !")
		}
		if port == "443" {
			w(1, "SSLEngine on")
			w(1, "SSLCertificateFile %s", quote(s.Cert))
			w(1, "SSLCertificateKeyFile %s", quote(s.Key))
		}
	}
	w(0, "# website %s: written by the panel, every edit is lost", s.Name)
	if redirect {
		head("80")
		w(1, "RewriteEngine On")
		w(1, "RewriteCond %%{REQUEST_URI} !^/\\.well-known/acme-challenge/")
		w(1, "RewriteRule ^ https://%%{HTTP_HOST}%%{REQUEST_URI} [R=301,L]")
		w(0, "</VirtualHost>")
		http = false
	}
	for _, port := range []string{"80", "443"} {
		if port == "80" && !http || port == "443" && !https {
			continue
		}
		head(port)
		if !s.Active {
			w(1, "DocumentRoot %s", quote(s.Suspended))
			w(1, "<Directory %s>", quote(s.Suspended))
			w(2, "Require all granted")
			w(1, "</Directory>")
			w(1, "ErrorDocument 503 /index.html")
			w(1, "RewriteEngine On")
			w(1, "RewriteCond %%{REQUEST_URI} !=/index.html")
			w(1, "RewriteCond %%{REQUEST_URI} !^/\\.well-known/acme-challenge/")
			w(1, "RewriteRule ^ - [R=503,L]")
			w(0, "</VirtualHost>")
			continue
		}
		apacheSite(w, s)
		w(0, "</VirtualHost>")
	}
	return b.String(), nil
}

// apacheSite is the body of an active site's virtual host.
func apacheSite(w func(int, string, ...any), s Site) {
	if s.Include != "" {
		w(1, "Include %s", quote(s.Include))
	}
	siteHeaders, _ := s.headers("/")
	for _, h := range siteHeaders {
		// mod_headers reads % as a format: %% is one
		w(1, "Header always set %s %s", h.Name, quote(strings.ReplaceAll(h.Value, "%", "%%")))
	}
	for _, e := range s.Errors {
		w(1, "ErrorDocument %d %s", e.Status, quote(e.Target))
	}
	// longest first: ProxyPass and Alias take the first that matches
	for _, l := range s.locations() {
		path := clean(l.path)
		switch {
		case l.redirect != nil && clean(l.redirect.Path) == path:
			code := map[bool]string{true: "301", false: "302"}[l.redirect.Permanent]
			to := strings.TrimSuffix(l.redirect.Target, "/")
			if path == "/" {
				to += "/" // Redirect appends what follows the path: "/x" after "/" is "x"
			}
			w(1, "Redirect %s %s %s", code, quote(path), quote(to))
		case l.proxy != nil && clean(l.proxy.Path) == path:
			to := quote(strings.TrimSuffix(l.proxy.URL, "/") + "/")
			opts := ""
			if l.proxy.Timeout > 0 {
				opts = fmt.Sprintf(" timeout=%d", l.proxy.Timeout)
			}
			if l.proxy.Retry > 0 {
				opts += fmt.Sprintf(" retry=%d", l.proxy.Retry)
			}
			w(1, "ProxyPass %s %s%s", quote(strings.TrimSuffix(path, "/")+"/"), to, opts)
			w(1, "ProxyPassReverse %s %s", quote(strings.TrimSuffix(path, "/")+"/"), to)
		case l.content != nil && clean(l.content.Path) == path:
			apacheContent(w, s, *l.content)
		}
		if p := l.protect; p != nil && clean(p.Path) == path {
			open, end := apacheLocation(path)
			w(1, "%s", open)
			w(2, "AuthType Basic")
			w(2, "AuthName %s", quote(p.Realm))
			w(2, "AuthUserFile %s", quote(p.File))
			w(2, "Require valid-user")
			w(1, "%s", end)
		}
	}
	apacheHeaders(w, s)
}

// apacheHeaders sets the headers of locations, shortest first: a later
// <Location> overrides an earlier one.
func apacheHeaders(w func(int, string, ...any), s Site) {
	var paths []string
	for _, h := range s.Headers {
		if p := clean(h.Path); p != "/" && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	slices.SortFunc(paths, func(a, b string) int { return cmp.Or(len(a)-len(b), strings.Compare(a, b)) })
	for _, p := range paths {
		open, end := apacheLocation(p)
		w(1, "%s", open)
		for _, h := range s.Headers {
			if clean(h.Path) == p {
				w(2, "Header always set %s %s", h.Name, quote(strings.ReplaceAll(h.Value, "%", "%%")))
			}
		}
		w(1, "%s", end)
	}
}

// apacheLocation opens and closes a section for the URL path p and what
// lies below it, as nginx's prefix locations do: <Location "/private">
// would also take /privateX. Paths hold only [A-Za-z0-9._~@+-/], of which
// . and + mean more in a regular expression (written as classes: Apache
// keeps a quoted backslash as it is).
func apacheLocation(p string) (open, end string) {
	if p == "/" {
		return `<Location "/">`, "</Location>"
	}
	re := strings.NewReplacer(".", "[.]", "+", "[+]").Replace(strings.TrimSuffix(p, "/"))
	return "<LocationMatch " + quote("^"+re+"(/|$)") + ">", "</LocationMatch>"
}

// apacheContent mounts c.
func apacheContent(w func(int, string, ...any), s Site, c Content) {
	path := clean(c.Path)
	if c.Kind == UWSGI {
		w(1, "ProxyPass %s %s", quote(path), quote("unix:"+c.Socket+"|uwsgi://"+s.Name+path))
		return
	}
	if path == "/" {
		w(1, "DocumentRoot %s", quote(c.Root))
	} else {
		w(1, "Alias %s %s", quote(path), quote(c.Root))
	}
	w(1, "<Directory %s>", quote(c.Root))
	// a link leads only to what its owner owns; no .htaccess: the
	// configuration is the panel's
	w(2, "Options SymLinksIfOwnerMatch")
	w(2, "AllowOverride None")
	w(2, "Require all granted")
	if c.Kind == PHP {
		w(2, "DirectoryIndex index.php index.html")
		w(2, "<FilesMatch \\.php$>")
		// a name of its own per socket: Apache pools connections by it
		w(3, "SetHandler %s", quote("proxy:unix:"+c.Socket+"|fcgi://"+s.Name+"-"+strings.ReplaceAll(strings.Trim(path, "/"), "/", "-")))
		w(2, "</FilesMatch>")
		if c.Front {
			w(2, "FallbackResource %s", quote(strings.TrimSuffix(path, "/")+"/index.php"))
		}
	} else {
		w(2, "DirectoryIndex index.html index.htm")
	}
	w(1, "</Directory>")
	for _, d := range c.NoExec {
		// no PHP runs where the site's code may write
		w(1, "<Directory %s>", quote(c.Root+"/"+d))
		w(2, "<FilesMatch \\.php$>")
		w(3, "SetHandler none")
		w(3, "Require all denied")
		w(2, "</FilesMatch>")
		w(1, "</Directory>")
	}
}
