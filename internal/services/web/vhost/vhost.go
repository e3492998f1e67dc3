// Package vhost renders a website's virtual host for nginx and for Apache
// 2.4 from one description of what it serves, so that a site behaves the
// same on either server. Every value reaches the file quoted, and Check
// refuses, whatever the rules upstream let through, a value that quoting
// cannot keep in its place: a line break, a control character, a variable
// the server would expand.
package vhost

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Protocols a site may have.
const (
	HTTP      = "http"
	HTTPS     = "https"
	Both      = "http/https"
	HTTPSOnly = "https-only" // http redirects to https
)

// Content kinds.
const (
	Static = "static"
	PHP    = "php"
	UWSGI  = "uwsgi"
)

// Site is one website on one server.
type Site struct {
	Name      string   // unique on the server: what its files and logs are named after
	Address   string   // the address it listens on
	Domains   []string // the first is the server name, the rest its aliases
	Protocol  string
	Cert, Key string // PEM files, for https
	// AwaitingCert: https is not served until its certificate is issued;
	// port 80 answers the ACME challenges and serves the site (http/https)
	// or redirects the rest to https (https, https-only).
	AwaitingCert bool
	Active       bool   // false: every request gets the suspended page
	Suspended    string // the folder of the suspended page (its index.html)
	AccessLog    string
	ErrorLog     string
	Include      string // a file of the site's own extra configuration, which must exist
	ACMERoot     string // /.well-known/acme-challenge/ is served from ACMERoot/.well-known/acme-challenge/
	Contents     []Content
	Redirects    []Redirect
	Proxies      []Proxy
	Errors       []ErrorDoc
	Protected    []Protection
	Headers      []Header
}

// Content is an app mounted at a path of the site.
type Content struct {
	Path   string // "/" or "/blog"
	Kind   string // Static, PHP or UWSGI
	Root   string // the folder served (Static, PHP)
	Socket string // PHP-FPM's or uWSGI's UNIX socket
	Front  bool   // PHP: a path that is no file goes to the folder's index.php
	NoExec []string
}

// Redirect sends the requests under Path to Target, the rest of the path
// appended.
type Redirect struct {
	Path, Target string
	Permanent    bool
}

// Proxy passes the requests under Path to URL.
type Proxy struct {
	Path, URL string
	Timeout   int // seconds; 0: the server's default
	// Retry is how long Apache leaves a backend that failed before trying
	// it again (0: its default, 60 s); nginx never sets aside a lone
	// backend, so it has no such wait.
	Retry int
}

// ErrorDoc answers Status with Target: a path of the site or a URL.
type ErrorDoc struct {
	Status int
	Target string
}

// Protection asks for a login under Path, checked against an htpasswd File.
type Protection struct{ Path, Realm, File string }

// Header is a response header set on every answer under Path ("" or "/":
// the whole site).
type Header struct{ Path, Name, Value string }

var (
	siteName   = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	urlPath    = regexp.MustCompile(`^(/[A-Za-z0-9._~@+-]+)*/?$`)
	filePath   = regexp.MustCompile(`^(/[A-Za-z0-9._@+-]+)+$`)
	domainName = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	httpURL    = regexp.MustCompile(`^https?://[^\s"\\]+$`)
)

// Check lists what in s no configuration can hold as it is.
func Check(s Site) []error {
	var errs []error
	wrong := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !siteName.MatchString(s.Name) {
		wrong("site name %q", s.Name)
	}
	if len(s.Domains) == 0 || strings.HasPrefix(s.Domains[0], "*") {
		wrong("a site needs a server name that is no wildcard first")
	}
	for _, d := range s.Domains {
		if !domainName.MatchString(d) {
			wrong("domain %q", d)
		}
	}
	switch s.Protocol {
	case HTTP:
	case HTTPS, Both, HTTPSOnly:
		if (s.Cert == "" || s.Key == "") && !s.AwaitingCert {
			wrong("https without a certificate and its key")
		}
	default:
		wrong("protocol %q", s.Protocol)
	}
	for _, f := range []string{s.Cert, s.Key, s.Suspended, s.AccessLog, s.ErrorLog, s.Include, s.ACMERoot} {
		if f != "" && !filePath.MatchString(f) {
			wrong("file path %q", f)
		}
	}
	if !s.Active && s.Suspended == "" {
		wrong("an inactive site needs the suspended page's folder")
	}
	seen := map[string]bool{}
	path := func(p string) {
		if !urlPath.MatchString(p) || slices.Contains(strings.Split(p, "/"), "..") {
			wrong("URL path %q", p)
		}
		if seen[clean(p)] {
			wrong("two things at %q", p)
		}
		seen[clean(p)] = true
	}
	for _, c := range s.Contents {
		path(c.Path)
		switch {
		case c.Kind != Static && c.Kind != PHP && c.Kind != UWSGI:
			wrong("content kind %q", c.Kind)
		case c.Kind == UWSGI && !filePath.MatchString(c.Socket), c.Kind == PHP && !filePath.MatchString(c.Socket):
			wrong("socket %q", c.Socket)
		case c.Kind != UWSGI && !filePath.MatchString(c.Root):
			wrong("folder %q", c.Root)
		}
		for _, d := range c.NoExec {
			if !filePath.MatchString("/"+d) || slices.Contains(strings.Split(d, "/"), "..") {
				wrong("folder %q", d)
			}
		}
	}
	for _, r := range s.Redirects {
		path(r.Path)
		if !httpURL.MatchString(r.Target) && !urlPath.MatchString(r.Target) || strings.Contains(r.Target, "$") {
			wrong("redirect target %q", r.Target)
		}
	}
	for _, p := range s.Proxies {
		path(p.Path)
		if !httpURL.MatchString(p.URL) || strings.Contains(p.URL, "$") {
			wrong("proxy URL %q", p.URL)
		}
	}
	for _, e := range s.Errors {
		if e.Status < 400 || e.Status > 599 || !httpURL.MatchString(e.Target) && !urlPath.MatchString(e.Target) || strings.Contains(e.Target, "$") {
			wrong("error document %d %q", e.Status, e.Target)
		}
	}
	for _, p := range s.Protected {
		if !urlPath.MatchString(p.Path) || !filePath.MatchString(p.File) || !plain(p.Realm) {
			wrong("protection of %q", p.Path)
		}
	}
	for _, h := range s.Headers {
		if !headerName.MatchString(h.Name) || !plain(h.Value) || h.Path != "" && !urlPath.MatchString(h.Path) {
			wrong("header %q", h.Name)
		}
	}
	return errs
}

// plain is text that stays one quoted string in both servers' files: no
// control character, no variable ($ in nginx, ${ in Apache).
func plain(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '$' })
}

// clean is a URL path without its trailing slash ("/" stays).
func clean(p string) string { return cmp.Or(strings.TrimRight(p, "/"), "/") }

// under reports whether path p is at or below base.
func under(p, base string) bool {
	return base == "/" || p == base || strings.HasPrefix(p, base+"/")
}

// quote is s as one double-quoted string of either server's files.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// location is what answers under one path: the longest content, redirect,
// proxy and protection that cover it.
type location struct {
	path     string
	content  *Content
	redirect *Redirect
	proxy    *Proxy
	protect  *Protection
}

// locations are the site's paths, longest first, each with what covers it.
func (s Site) locations() []location {
	var paths []string
	add := func(p string) {
		if p = clean(p); !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	for _, c := range s.Contents {
		add(c.Path)
	}
	for _, r := range s.Redirects {
		add(r.Path)
	}
	for _, p := range s.Proxies {
		add(p.Path)
	}
	for _, p := range s.Protected {
		add(p.Path)
	}
	for _, h := range s.Headers {
		if h.Path != "" {
			add(h.Path)
		}
	}
	slices.SortFunc(paths, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	out := make([]location, 0, len(paths))
	for _, p := range paths {
		l := location{path: p}
		longest := -1
		cover := func(q string) bool {
			if q = clean(q); under(p, q) && len(q) > longest {
				longest = len(q)
				return true
			}
			return false
		}
		// the longest of contents, redirects and proxies answers; the
		// longest protection applies to whatever does
		for i := range s.Contents {
			if cover(s.Contents[i].Path) {
				l.content, l.redirect, l.proxy = &s.Contents[i], nil, nil
			}
		}
		for i := range s.Redirects {
			if cover(s.Redirects[i].Path) {
				l.content, l.redirect, l.proxy = nil, &s.Redirects[i], nil
			}
		}
		for i := range s.Proxies {
			if cover(s.Proxies[i].Path) {
				l.content, l.redirect, l.proxy = nil, nil, &s.Proxies[i]
			}
		}
		longest = -1
		for i := range s.Protected {
			if cover(s.Protected[i].Path) {
				l.protect = &s.Protected[i]
			}
		}
		out = append(out, l)
	}
	return out
}

// headers are the headers of answers under p: the site's, then those of
// the locations that cover p, shortest first.
func (s Site) headers(p string) (site, located []Header) {
	for _, h := range s.Headers {
		if clean(h.Path) == "/" {
			site = append(site, h)
		} else if under(p, clean(h.Path)) {
			located = append(located, h)
		}
	}
	slices.SortStableFunc(located, func(a, b Header) int { return len(clean(a.Path)) - len(clean(b.Path)) })
	return site, located
}

// listens are the site's ports: plain http and https, and whether plain
// http only redirects.
func (s Site) listens() (http, https, redirect bool) {
	http, https, redirect = s.Protocol != HTTPS, s.Protocol != HTTP, s.Protocol == HTTPSOnly
	if s.AwaitingCert && https {
		https, redirect = false, s.Protocol != Both
	}
	return http, https, redirect
}

func checked(s Site) error {
	if errs := Check(s); len(errs) > 0 {
		return fmt.Errorf("vhost %s: %w", s.Name, errs[0])
	}
	return nil
}
