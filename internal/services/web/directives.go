package web

import (
	"cmp"
	"context"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/auth"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/kinds"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/certificate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/websitecontent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/websitedirective"
	"github.com/orchestra-panel/orchestra/internal/validate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// Directives are the kinds of website directive (WEBSITES_DIRECTIVES
// offers a subset).
var Directives = kinds.NewFamily("website directive", "WEBSITES_DIRECTIVES").Of("WebsiteDirective")

// Kinds of directive.
const (
	DirRedirect   = "redirect"
	DirProxy      = "proxy"
	DirError      = "error-document"
	DirProtection = "protection"
	DirHeaders    = "headers"
	DirInclude    = "include"
	DirSSL        = "ssl"
)

// locationKinds take over their location: no content and no other such
// directive of the site may have it.
var locationKinds = []string{DirRedirect, DirProxy}

// RedirectSettings send a location's requests elsewhere.
type RedirectSettings struct {
	Location string `json:"location" maxLength:"256" doc:"The URL path redirected, such as /old; / for the whole site."`
	Target   string `json:"target" maxLength:"2048" doc:"Where to: a URL (https://example.com/new) or a path of this site (/new)."`
}

// ProxySettings pass a location's requests to another web server.
type ProxySettings struct {
	Location string `json:"location" maxLength:"256" doc:"The URL path passed on, such as /api."`
	URL      string `json:"url" maxLength:"2048" doc:"The http:// or https:// address requests go to."`
	Timeout  int    `json:"timeout" minimum:"0" maximum:"3600" doc:"Seconds to wait for its answer; 0: the web server's default."`
	Retry    int    `json:"retry" minimum:"0" maximum:"3600" doc:"Seconds Apache leaves the server alone after it failed; 0: Apache's default (nginx tries it again at once)."`
}

// ErrorDocumentSettings answer an error status with a page of one's own.
type ErrorDocumentSettings struct {
	Status int    `json:"status" minimum:"400" maximum:"599" doc:"The HTTP status, such as 404."`
	Target string `json:"target" maxLength:"2048" doc:"The page: a path of this site (/errors/404.html) or a URL."`
}

// ProtectionSettings ask for a user and password before a location.
type ProtectionSettings struct {
	Location string            `json:"location" maxLength:"256" doc:"The URL path protected, such as /private."`
	Realm    string            `json:"realm" maxLength:"128" doc:"The name browsers show when they ask for the password."`
	Users    map[string]string `json:"users" maxProperties:"100" doc:"User names and their passwords (or htpasswd hashes). Passwords are kept only as hashes and never shown: a user is shown with an empty password, and an empty one keeps the user's password."`
}

// HeadersSettings add response headers below a location.
type HeadersSettings struct {
	Location string            `json:"location" maxLength:"256" doc:"The URL path whose answers get the headers; / for the whole site."`
	Headers  map[string]string `json:"headers" maxProperties:"50" doc:"Header names and values, such as X-Frame-Options: DENY."`
}

// SSLSettings pick the certificate a site presents over https.
type SSLSettings struct {
	Certificate int `json:"certificate" minimum:"0" doc:"A certificate of the account's that covers the site's names; 0: automatic, the panel obtains one for the site's names (Let's Encrypt) and renews it."`
}

// SSLPick is the certificate SSL directive d picks (0: automatic); ok is
// false for another kind of directive.
func SSLPick(d *ent.WebsiteDirective) (id int, ok bool) {
	if d.Type != DirSSL {
		return 0, false
	}
	v, err := kinds.Value[SSLSettings](Directives, DirSSL, d.Settings)
	if err != nil {
		return 0, false // the rules keep it from being stored
	}
	return v.Certificate, true
}

// CertificateKeyPurpose is what a certificate's private key is sealed for
// (internal/sealed): the certificates service seals it, the site backends
// open it.
const CertificateKeyPurpose = "Certificate.private_key"

// IncludeSettings are configuration text of staff's for the site.
type IncludeSettings struct {
	Text string `json:"text" maxLength:"65536" doc:"Configuration lines included in the site's configuration, as the web server reads them."`
}

func init() {
	kinds.Register(Directives, kinds.Kind[RedirectSettings]{Name: DirRedirect, Label: "Redirect",
		Defaults: func() RedirectSettings { return RedirectSettings{Location: "/"} },
		Check: func(ctx context.Context, s *RedirectSettings, errs *validate.Errors) {
			checkLocation(ctx, &s.Location, errs)
			if msg := targetProblem(ctx, s.Target, true); msg != "" {
				errs.Add("target", msg)
			}
		}})
	kinds.Register(Directives, kinds.Kind[ProxySettings]{Name: DirProxy, Label: "Proxy",
		Defaults: func() ProxySettings { return ProxySettings{Location: "/"} },
		Check: func(ctx context.Context, s *ProxySettings, errs *validate.Errors) {
			checkLocation(ctx, &s.Location, errs)
			if msg := targetProblem(ctx, s.URL, false); msg != "" {
				errs.Add("url", msg)
			}
		}})
	kinds.Register(Directives, kinds.Kind[ErrorDocumentSettings]{Name: DirError, Label: "Error document",
		Defaults: func() ErrorDocumentSettings { return ErrorDocumentSettings{Status: 404} },
		Check: func(ctx context.Context, s *ErrorDocumentSettings, errs *validate.Errors) {
			if msg := targetProblem(ctx, s.Target, true); msg != "" {
				errs.Add("target", msg)
			}
		}})
	kinds.Register(Directives, kinds.Kind[ProtectionSettings]{Name: DirProtection, Label: "Password protection",
		Defaults: func() ProtectionSettings { return ProtectionSettings{Location: "/", Realm: "Private"} },
		Check:    checkProtection})
	kinds.Register(Directives, kinds.Kind[HeadersSettings]{Name: DirHeaders, Label: "Response headers",
		Defaults: func() HeadersSettings {
			return HeadersSettings{Location: "/", Headers: map[string]string{"X-Content-Type-Options": "nosniff"}}
		},
		Check: func(ctx context.Context, s *HeadersSettings, errs *validate.Errors) {
			checkLocation(ctx, &s.Location, errs)
			if len(s.Headers) == 0 {
				errs.Add("headers", i18n.T(ctx, "Give at least one header."))
			}
			seen := map[string]bool{}
			for _, n := range slices.Sorted(maps.Keys(s.Headers)) {
				switch v := s.Headers[n]; {
				case !headerName.MatchString(n):
					errs.Add("headers", i18n.T(ctx, "%q is not a header name (letters, digits and - only).", n))
				case seen[strings.ToLower(n)]:
					errs.Add("headers", i18n.T(ctx, "%s is given twice.", n))
				case len(v) > 1024 || strings.ContainsFunc(v, isControl) || strings.ContainsAny(v, "$\\"):
					// $: the web servers would read a variable; \: an escape (nginx, not Apache)
					errs.Add("headers", i18n.T(ctx, "The value of %s must be one line of at most 1024 characters, without control characters, $ or \\.", n))
				}
				if errs.Has("headers") {
					break
				}
				seen[strings.ToLower(n)] = true
			}
		}})
	kinds.Register(Directives, kinds.Kind[IncludeSettings]{Name: DirInclude, Label: "Include (staff)",
		Check: func(ctx context.Context, s *IncludeSettings, errs *validate.Errors) {
			if msg := validate.Required(ctx, strings.TrimSpace(s.Text)); msg != "" {
				errs.Add("text", msg)
			} else if msg := validate.NoNull(ctx, s.Text); msg != "" {
				errs.Add("text", msg)
			}
		}})
	kinds.Register(Directives, kinds.Kind[SSLSettings]{Name: DirSSL, Label: "SSL certificate"})
	store.RegisterHook("WebsiteDirective", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.WebsiteDirectiveFunc(func(ctx context.Context, m *ent.WebsiteDirectiveMutation) (ent.Value, error) {
			if err := checkDirective(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("WebsiteDirective", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.WebsiteDirectiveFunc(func(ctx context.Context, m *ent.WebsiteDirectiveMutation) (ent.Value, error) {
			if !staff(ctx) {
				ids, err := m.IDs(ctx)
				if err != nil {
					return nil, err
				}
				inc, err := m.Client().WebsiteDirective.Query().Where(websitedirective.IDIn(ids...),
					websitedirective.Type(DirInclude)).Exist(ctx)
				if err != nil {
					return nil, err
				}
				if inc {
					return nil, validate.Fail("type", i18n.T(ctx, "Only staff add, change or remove include directives."))
				}
			}
			return next.Mutate(ctx, m)
		})
	})
	api.SayValues(Directives.Labels()) // pages say the kinds by their labels
}

var (
	// headerName is an HTTP field name (RFC 9110's token), less the
	// characters no web server's configuration takes unquoted.
	headerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)
	// htpasswdUser is a name of a password file: no colon, no space.
	htpasswdUser = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	// passwordHash is a hash htpasswd files take (bcrypt, Apache's MD5 or
	// SHA-1): a value sent as one is kept as it is.
	passwordHash = regexp.MustCompile(`^(\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}|\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}|\{SHA\}[A-Za-z0-9+/]{27}=)$`)
)

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func staff(ctx context.Context) bool {
	v, _ := viewer.From(ctx)
	return v.Unrestricted()
}

func checkLocation(ctx context.Context, l *string, errs *validate.Errors) {
	*l = normalPath(*l)
	if msg := pathProblem(ctx, *l); msg != "" {
		errs.Add("location", msg)
	}
}

// targetProblem says what is wrong with a URL (http or https, a host, no
// white space, quotes or control characters) or, when path is true, a
// path of the site; or "".
func targetProblem(ctx context.Context, s string, path bool) string {
	if s == "" {
		return i18n.T(ctx, "This field is required.")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return isControl(r) || strings.ContainsRune(" \"'\\<>`{}|^$", r) || r > 0x7e }) {
		return i18n.T(ctx, "Enter the address without spaces, quotes, $ or control characters (encode them, as %%20).")
	}
	if path && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		if path {
			return i18n.T(ctx, "Enter an http:// or https:// address, or a path of this site starting with /.")
		}
		return i18n.T(ctx, "Enter an http:// or https:// address.")
	}
	return ""
}

// checkProtection checks a protected location's users and hashes the
// passwords sent in clear text (bcrypt, as htpasswd -B does), so that only
// hashes are stored.
func checkProtection(ctx context.Context, s *ProtectionSettings, errs *validate.Errors) {
	checkLocation(ctx, &s.Location, errs)
	if s.Realm == "" || strings.ContainsFunc(s.Realm, func(r rune) bool { return isControl(r) || r == '"' || r == '\\' || r == '$' }) {
		errs.Add("realm", i18n.T(ctx, "Enter a name without quotes, backslashes, $ or control characters."))
	}
	if len(s.Users) == 0 {
		errs.Add("users", i18n.T(ctx, "Give at least one user and password."))
	}
	for _, name := range slices.Sorted(maps.Keys(s.Users)) {
		pw := s.Users[name]
		if !htpasswdUser.MatchString(name) {
			errs.Add("users", i18n.T(ctx, "%q is not a user name (letters, digits and . _ @ - only).", name))
			return
		}
		if pw == "" || passwordHash.MatchString(pw) {
			continue // kept (see keepHashes) or given as a hash
		}
		if msg := auth.PasswordProblem(pw, name); msg != "" {
			errs.Add("users", i18n.T(ctx, "The password of %s %s.", name, i18n.T(ctx, msg)))
			return
		}
		if len(pw) > 72 || strings.ContainsFunc(pw, isControl) {
			errs.Add("users", i18n.T(ctx, "The password of %s must be at most 72 bytes, without control characters.", name))
			return
		}
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
		if err != nil {
			errs.Add("users", err.Error())
			return
		}
		s.Users[name] = "$2y$" + strings.TrimPrefix(string(h), "$2a$")
	}
}

// keepHashes moves a protection's password hashes out of its settings into
// the directive's secret password_hashes: the settings keep the user names,
// each with "" (an answer, the history and a kept snapshot never hold a
// hash). A user sent with "" keeps its password; a new one must have one.
func keepHashes(ctx context.Context, m *ent.WebsiteDirectiveMutation, users map[string]string, s map[string]any, errs *validate.Errors) error {
	var old map[string]string
	if m.Op().Is(ent.OpUpdateOne) {
		var err error
		if old, err = m.OldPasswordHashes(ctx); err != nil {
			return err
		}
	}
	hashes, names := map[string]string{}, map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(users)) {
		h := cmp.Or(users[name], old[name])
		if h == "" && !errs.Has("settings.users") {
			errs.Add("settings.users", i18n.T(ctx, "Give %s a password.", name))
		}
		hashes[name], names[name] = h, ""
	}
	s["users"] = names
	m.SetPasswordHashes(hashes)
	return nil
}

func checkDirective(ctx context.Context, m *ent.WebsiteDirectiveMutation) error {
	if err := oneAtATime(ctx, m, "directives"); err != nil || m.Op().Is(ent.OpUpdate) {
		return err
	}
	validate.TrimFields(m, "type")
	var errs validate.Errors
	site, err := siteOf(ctx, m, &errs)
	if err != nil {
		return err
	}
	kept(ctx, m, &errs, "type", "type", i18n.T(ctx, "A directive keeps its type. Add a new one instead."))
	typ, _ := validate.String(ctx, m, "type")
	if typ == DirInclude && !staff(ctx) {
		errs.Add("type", i18n.T(ctx, "Only staff add, change or remove include directives."))
	}
	var old map[string]any
	if m.Op().Is(ent.OpUpdateOne) {
		old, _ = m.OldSettings(ctx)
	}
	sent, sentOK := m.Settings()
	var stored map[string]any
	if typ == "" {
		errs.Add("type", i18n.T(ctx, "Choose one of: %s.", strings.Join(Directives.Enabled(), ", ")))
	} else if sentOK || m.Op().Is(ent.OpCreate) {
		raw := maps.Clone(old)
		if raw == nil {
			raw = map[string]any{}
		}
		maps.Copy(raw, sent)
		s, v, err := decode(ctx, Directives, typ, raw, &errs)
		if err != nil {
			return err
		}
		if p, ok := v.(*ProtectionSettings); ok && s != nil {
			if err := keepHashes(ctx, m, p.Users, s, &errs); err != nil {
				return err
			}
		}
		if s != nil {
			stored = s
			m.SetSettings(s)
		}
	}
	if err := errs.Err(); err != nil || site == nil || stored == nil {
		return err
	}
	self, _ := m.ID()
	return uniqueDirective(ctx, m.Client(), site.ID, self, typ, stored)
}

// uniqueDirective holds the original's cross rules: a redirect's or
// proxy's location is no content's path nor another such directive's;
// one protection per location, one error document per status, one include
// per site. Headers directives add up.
func uniqueDirective(ctx context.Context, client *ent.Client, site, self int, typ string, s map[string]any) error {
	loc, _ := s["location"].(string)
	if slices.Contains(locationKinds, typ) {
		if taker, err := locationTaken(ctx, client, site, loc, self); err != nil {
			return err
		} else if taker != "" {
			return &validate.Conflict{Field: "settings.location", Message: i18n.T(ctx, "A %s directive of this website takes %s already.", taker, loc)}
		}
		mounted, err := client.WebsiteContent.Query().Where(websitecontent.WebsiteID(site), websitecontent.Path(loc)).Exist(sys(ctx))
		if err != nil {
			return err
		}
		if mounted {
			return &validate.Conflict{Field: "settings.location", Message: i18n.T(ctx, "A web app of this website is at %s already.", loc)}
		}
		return nil
	}
	siblings, err := client.WebsiteDirective.Query().Where(websitedirective.WebsiteID(site), websitedirective.IDNEQ(self),
		websitedirective.Type(typ)).All(sys(ctx))
	if err != nil {
		return err
	}
	for _, d := range siblings {
		switch typ {
		case DirProtection:
			if l, _ := d.Settings["location"].(string); l == loc {
				return &validate.Conflict{Field: "settings.location", Message: i18n.T(ctx, "This website has a %s directive for %s already.", typ, loc)}
			}
		case DirError:
			if d.Settings["status"] == s["status"] {
				return &validate.Conflict{Field: "settings.status", Message: i18n.T(ctx, "This website has an error document for that status already.")}
			}
		case DirInclude:
			return &validate.Conflict{Field: "type", Message: i18n.T(ctx, "This website has an include directive already: change it instead.")}
		case DirSSL:
			return &validate.Conflict{Field: "type", Message: i18n.T(ctx, "This website has an SSL certificate directive already: change it instead.")}
		}
	}
	if typ == DirSSL {
		return sslCertificate(ctx, client, site, s)
	}
	return nil
}

// sslCertificate checks that an SSL directive's certificate is one of the
// site's account (another account's is missing, as it is to its owner).
func sslCertificate(ctx context.Context, client *ent.Client, site int, s map[string]any) error {
	v, err := kinds.Value[SSLSettings](Directives, DirSSL, s)
	if err != nil || v.Certificate == 0 {
		return err
	}
	w, err := client.Website.Get(sys(ctx), site)
	if err != nil {
		return err
	}
	ok, err := client.Certificate.Query().Where(certificate.ID(v.Certificate), certificate.AccountID(w.AccountID)).Exist(sys(ctx))
	if err != nil {
		return err
	}
	if !ok {
		return validate.Fail("settings.certificate", i18n.T(ctx, "No certificate %d of this website's account.", v.Certificate))
	}
	return nil
}
