package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/kinds"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/paths"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/services/web/vhost"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/certificate"
	"github.com/orchestra-panel/orchestra/internal/store/ent/website"
	"github.com/orchestra-panel/orchestra/internal/store/ent/websitecontent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/websitedirective"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// The website backends: one virtual host file per website, for nginx
// (backend nginx) and for Apache 2.4 (backend apache), rendered by package
// vhost from the website, its contents (the web apps it mounts), its
// directives, and whether it and its account are active.
//
// On a server, for a website NAME of account ID (SiteName: ID-NAME):
//
//	SITES/ID-NAME.conf                 the virtual host (WEB_NGINX_SITES, WEB_APACHE_SITES)
//	FILES/include/ID-NAME.conf         staff's include directive, which the site includes
//	FILES/htpasswd/ID-NAME/DIRECTIVE   a protected location's users (bcrypt hashes);
//	                                   FILES/htpasswd is root:WEB_USER 0750, so that only
//	                                   the web server reads them
//	WEB_LOG_DIR/ID-NAME.BACKEND.access.log  its logs (and .error.log), apart
//	                                   for nginx and Apache on one server
//	WEB_SUSPENDED_DIR/index.html       the page of inactive sites and accounts
//
// FILES is WEB_NGINX_FILES or WEB_APACHE_FILES: outside the sites' folder,
// whose every file the server may read as configuration (Debian's nginx
// includes sites-enabled/*).
//
// A unit keeps what it replaces, puts the files in place, runs the
// server's check (nginx -t, apache2 -t; for Apache first the certificate
// and key pairs, which its check does not load) and on a refusal puts
// everything back and fails with the checker's words; else it reloads once
// and returns when the reload is live (golive.go).
//
// The web server reads the folders it serves: for each static or PHP
// content the unit gives WEB_USER search permission on the folders from
// the account's home down to the served one (and nothing more there), and
// read permission on what is below it, default ACLs included, so that
// what the app adds later is readable too. It enters the served folder
// physically and refuses one that leads out of the home (a link the
// customer planted); the read grant is made as the folder's owner, so the
// kernel stops it at whatever the owner does not own. A site whose folder
// is refused, or which cannot be written (https without a certificate, a
// value its server cannot hold), keeps its previous file; the others go
// live, and the unit then fails naming it.

// Backend names, as routes name them.
const (
	NginxBackend  = "nginx"
	ApacheBackend = "apache"
)

// ActionACMEChallenge puts ACME HTTP-01 challenges' answers where every
// site serves /.well-known/acme-challenge/ from (FILES/acme, one folder
// per server, whatever the site), or takes them away. Its argument
// "tokens" has a line per challenge: "TOKEN CONTENT" puts it, "TOKEN"
// alone removes it; one unit places the challenges of many orders. Only
// the panel asks.
const ActionACMEChallenge = "acme_challenge"

// acmeLine is a line of the tokens argument.
var acmeLine = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}( [A-Za-z0-9_.-]{1,1000})?$`)

// ACMETokens are the challenges' lines, parsed: token → content ("": remove).
func ACMETokens(arg string) (map[string]string, error) {
	out := map[string]string{}
	for _, l := range strings.Split(arg, "\n") {
		if !acmeLine.MatchString(l) {
			return nil, fmt.Errorf("web: an ACME challenge's line is a token (letters, digits, - and _) and its content, not %q", l)
		}
		token, content, _ := strings.Cut(l, " ")
		out[token] = content
	}
	return out, nil
}

// checkChallenge keeps the challenges' lines file names and words.
func checkChallenge(ctx context.Context, _ *ent.Tx, action string, o orchestration.Object) error {
	if action != ActionACMEChallenge {
		return nil
	}
	if v, _ := viewer.From(ctx); !v.Unrestricted() {
		return &authz.Forbidden{Message: i18n.M("Only the panel answers ACME challenges.")}
	}
	_, err := ACMETokens(o.Args["tokens"])
	return err
}

// openCertKey opens a certificate's sealed private key.
func openCertKey(v string) (string, error) {
	b, err := sealed.Open(CertificateKeyPurpose, v)
	return string(b), err
}

// Settings of the site backends (per server, as the rest of layout.go).
var (
	DefaultCert = settings.String("WEB_DEFAULT_CERT", "",
		"Certificate (PEM file on the server) of the websites served over https, until websites have certificates of their own; empty: such websites are not written.")
	DefaultKey = settings.String("WEB_DEFAULT_KEY", "",
		"Private key (PEM file on the server, root's) of WEB_DEFAULT_CERT.")
	NginxFiles = settings.String("WEB_NGINX_FILES", "",
		"Folder of the nginx sites' other files: include/ (staff's include directives) and htpasswd/ (protected locations' users, readable by WEB_USER only); empty: orchestra beside WEB_NGINX_SITES.")
	ApacheFiles = settings.String("WEB_APACHE_FILES", "",
		"Folder of the Apache sites' other files, as WEB_NGINX_FILES; empty: orchestra beside WEB_APACHE_SITES.")
)

// SuspendedPage is the page inactive websites and accounts answer with.
const SuspendedPage = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>This site is suspended</title></head>
<body><h1>This site is suspended</h1><p>Please contact its owner or the hosting provider.</p></body>
</html>
`

// SiteName is the name a website's files have on a server: its account's
// id and its name (unique per account; an id has no "-", so it is unique
// on the server too). Only the row is needed, so that a delete, which is
// not loaded, names the same files.
func SiteName(accountID int, name string) string { return fmt.Sprintf("%d-%s", accountID, name) }

// daemon is what differs between the two backends.
type daemon struct {
	name, verbose string
	render        func(vhost.Site) (string, error)
	cmd, pid      settings.Handle[string]
	sites, addr   settings.Handle[string]
	files         settings.Handle[string]
	reload        []string // what the command takes to reload
	pairs         bool     // check certificate and key pairs first (Apache)
}

var daemons = []*daemon{
	{name: NginxBackend, verbose: "Website (nginx)", render: vhost.Nginx, cmd: NginxCmd, pid: NginxPID,
		sites: NginxSites, addr: NginxAddress, files: NginxFiles, reload: []string{"-s", "reload"}},
	{name: ApacheBackend, verbose: "Website (Apache 2.4)", render: vhost.Apache, cmd: ApacheCmd, pid: ApachePID,
		sites: ApacheSites, addr: ApacheAddr, files: ApacheFiles, reload: []string{"-k", "graceful"}, pairs: true},
}

// appBackends are the backends of what sites serve (an app's folder, its
// pool or vassal, the account's users): planned together, they run first.
var appBackends = []string{systemusers.Backend, AppBackend, PHPFPMBackend, UWSGIBackend}

func init() {
	for _, d := range daemons {
		orchestration.Register(&orchestration.Backend{
			Name: d.name, Verbose: d.verbose, Model: "Website", DefaultMatch: "true",
			Related: []orchestration.Related{
				{Model: "WebsiteContent", Resolve: ownSite},
				{Model: "WebsiteDirective", Resolve: ownSite},
				// an app's settings are its folder, PHP version, writable folders
				{Model: "WebApp", Fields: []string{"settings"}, Resolve: mountingSites},
				// an inactive account's sites answer with the suspended page
				{Model: "Account", Fields: []string{"is_active"}, Resolve: accountSites},
				// an inactive site gives up the names active ones serve
				{Model: "Website", Resolve: inactiveSharing},
				// a certificate issued or renewed goes to the sites presenting it
				{Model: "Certificate", Fields: []string{"certificate"}, Resolve: presentingSites},
			},
			Actions:   []string{orchestration.ActionSave, orchestration.ActionDelete, ActionACMEChallenge},
			Check:     checkChallenge,
			After:     appBackends,
			UnitScale: 10, // a unit's end checks the whole configuration and reloads
			LoadMany:  loadSites,
			Prepare:   d.prepare, Apply: d.apply, Commit: d.commit,
		})
	}
}

// presentingSites are the websites whose SSL directive picks certificate o,
// or asked for it (automatic).
func presentingSites(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
	var ids []int
	if o.Snapshot["website_id"] != nil {
		ids = append(ids, o.Int("website_id"))
	}
	dirs, err := tx.WebsiteDirective.Query().Where(websitedirective.AccountID(o.Int("account_id")),
		websitedirective.Type(DirSSL)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if id, ok := SSLPick(d); ok && id == o.ID {
			ids = append(ids, d.WebsiteID)
		}
	}
	return ids, nil
}

func ownSite(_ context.Context, _ *ent.Tx, o orchestration.Object) ([]int, error) {
	return []int{o.Int("website_id")}, nil
}

func mountingSites(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
	return tx.WebsiteContent.Query().Where(websitecontent.WebappID(o.ID)).Unique(true).
		Select(websitecontent.FieldWebsiteID).Ints(ctx)
}

func accountSites(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
	return tx.Website.Query().Where(website.AccountID(o.ID)).IDs(ctx)
}

// inactiveSharing are the inactive websites that serve one of the domains
// of a website that changed: which of their names an active site takes
// may have changed with it.
func inactiveSharing(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
	var ids []int
	list, _ := o.Snapshot["domains"].([]any) // the snapshot's copy of the row, also of a deleted site
	for _, v := range list {
		if f, ok := v.(float64); ok {
			ids = append(ids, int(f))
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return tx.Website.Query().Where(servingAny(ids), website.IsActive(false), website.IDNEQ(o.ID)).IDs(ctx)
}

// siteLoaded is what a website's file needs beside its row.
type siteLoaded struct {
	username string // the account's, its main system user's
	active   bool   // the site and its account
	protocol string
	domains  []string // the server name first
	contents []*ent.WebsiteContent
	dirs     []*ent.WebsiteDirective
	bases    []paths.Base     // the account's homes, for links
	ssl      bool             // it has an SSL directive
	cert     *ent.Certificate // the certificate it picks or asked for, if any
}

// loadSites reads the unit's websites, accounts, domains, contents and
// their apps and directives: a query for each, whatever the number of sites.
func loadSites(ctx context.Context, tx *ent.Tx, objs []*orchestration.Object) ([]error, error) {
	ids := make([]int, len(objs))
	for i, o := range objs {
		ids[i] = o.ID
	}
	sites, err := tx.Website.Query().Where(website.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int]*ent.Website{}
	var accIDs []int
	for _, s := range sites {
		byID[s.ID] = s
		if !slices.Contains(accIDs, s.AccountID) {
			accIDs = append(accIDs, s.AccountID)
		}
	}
	accs, err := tx.Account.Query().Where(account.IDIn(accIDs...)).
		Select(account.FieldUsername, account.FieldIsActive).All(ctx)
	if err != nil {
		return nil, err
	}
	accByID := map[int]*ent.Account{}
	for _, a := range accs {
		accByID[a.ID] = a
	}
	names, err := DomainNamesOf(ctx, tx.Client(), sites)
	if err != nil {
		return nil, err
	}
	contents, err := tx.WebsiteContent.Query().Where(websitecontent.WebsiteIDIn(ids...)).WithWebapp().
		Order(ent.Asc(websitecontent.FieldPath)).All(ctx)
	if err != nil {
		return nil, err
	}
	dirs, err := tx.WebsiteDirective.Query().Where(websitedirective.WebsiteIDIn(ids...)).
		Order(ent.Asc(websitedirective.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	// the names inactive sites give up: those an active site serves on a
	// port of theirs (a site prepared beside the one it will replace)
	var inactive []*ent.Website
	for _, s := range sites {
		if !s.IsActive {
			inactive = append(inactive, s)
		}
	}
	taken := map[int][]string{} // inactive site → names taken
	if len(inactive) > 0 {
		var doms []int
		for _, s := range inactive {
			doms = append(doms, s.Domains...)
		}
		others, err := tx.Website.Query().Where(servingAny(doms), website.IsActive(true)).All(ctx)
		if err != nil {
			return nil, err
		}
		otherNames, err := DomainNamesOf(ctx, tx.Client(), others)
		if err != nil {
			return nil, err
		}
		for _, s := range inactive {
			for _, o := range others {
				if slices.ContainsFunc(ports(o.Protocol), func(p int) bool { return slices.Contains(ports(s.Protocol), p) }) {
					taken[s.ID] = append(taken[s.ID], otherNames[o.ID]...)
				}
			}
		}
	}
	loaded := map[int]*siteLoaded{}
	for _, s := range sites {
		acc := accByID[s.AccountID]
		if acc == nil {
			continue
		}
		doms := slices.DeleteFunc(slices.Clone(names[s.ID]), func(n string) bool { return slices.Contains(taken[s.ID], n) })
		// the server name is the first that is no wildcard
		if i := slices.IndexFunc(doms, func(n string) bool { return !strings.HasPrefix(n, "*.") }); i > 0 {
			doms = append([]string{doms[i]}, slices.Delete(doms, i, i+1)...)
		}
		loaded[s.ID] = &siteLoaded{username: acc.Username, active: s.IsActive && acc.IsActive,
			protocol: cmp.Or(s.Protocol, HTTP), domains: doms}
	}
	links := map[int]bool{} // accounts with links to their homes
	for _, c := range contents {
		if l := loaded[c.WebsiteID]; l != nil && c.Edges.Webapp != nil {
			l.contents = append(l.contents, c)
			if c.Edges.Webapp.Type == AppLink {
				links[c.AccountID] = true
			}
		}
	}
	for _, d := range dirs {
		if l := loaded[d.WebsiteID]; l != nil {
			l.dirs = append(l.dirs, d)
		}
	}
	if err := loadCertificates(ctx, tx, ids, loaded); err != nil {
		return nil, err
	}
	for acc := range links {
		bases, err := paths.Owned(ctx, tx.Client(), acc)
		if err != nil {
			return nil, err
		}
		for _, s := range sites {
			if s.AccountID == acc && loaded[s.ID] != nil {
				loaded[s.ID].bases = bases
			}
		}
	}
	errs := make([]error, len(objs))
	for i, o := range objs {
		if l := loaded[o.ID]; l != nil {
			o.Extra = l
		} else {
			errs[i] = fmt.Errorf("website %d: %w", o.ID, &ent.NotFoundError{})
		}
	}
	return errs, nil
}

// loadCertificates gives the sites with an SSL directive the certificate
// it picks, or the one the panel obtains for them (automatic).
func loadCertificates(ctx context.Context, tx *ent.Tx, ids []int, loaded map[int]*siteLoaded) error {
	picks := map[int][]int{} // certificate → sites
	for id, l := range loaded {
		for _, d := range l.dirs {
			if cert, ok := SSLPick(d); ok {
				l.ssl = true
				if cert != 0 {
					picks[cert] = append(picks[cert], id)
				}
			}
		}
	}
	certs, err := tx.Certificate.Query().Where(certificate.Or(certificate.IDIn(slices.Collect(maps.Keys(picks))...),
		certificate.WebsiteIDIn(ids...))).All(ctx)
	if err != nil {
		return err
	}
	for _, c := range certs {
		for _, id := range picks[c.ID] {
			loaded[id].cert = c
		}
		if c.WebsiteID != nil && loaded[*c.WebsiteID] != nil && loaded[*c.WebsiteID].cert == nil {
			loaded[*c.WebsiteID].cert = c
		}
	}
	return nil
}

// files is the folder of the daemon's other files on srv.
func (d *daemon) filesDir(srv orchestration.Server) string {
	if f := srv.Setting(d.files.Name(), d.files.Get()); f != "" {
		return f
	}
	return path.Join(path.Dir(srv.Setting(d.sites.Name(), d.sites.Get())), "orchestra")
}

// siteHelpers are the units' shell functions beside golive.go's.
const siteHelpers = `web_failed=() web_rmdirs=()
declare -A web_pairs=()
# web_fail MESSAGE: the site keeps its file; the unit fails at its end,
# once the others are live
web_fail() { web_failed+=("$1"); web_ok=0; }
# web_grant SITE OWNER BASE FOLDER: the web server may read FOLDER (made as
# OWNER if missing) and search the folders from it up to BASE, and nothing
# more. As confine.go's Enter, MkdirAs and Traverse, without their
# processes per folder (a unit may serve a thousand sites): FOLDER is
# entered physically and refused unless it lies in BASE; what is done as
# the owner runs with its ids (orchestra_as); the folders above
# are granted once per unit, as "." after cd -P .., never by name
web_grant() {
  if ! web_grant_in "$2" "$3" "$4"; then web_fail "website $1: its folder $4 cannot be served (see above)"; fi
  cd /
}
declare -A web_bases=() web_passed=()
web_grant_in() {
  local base here
  if [[ ! -v web_bases[$2] ]]; then
    base=$(cd -P -- "$2" 2>/dev/null && pwd -P) || { echo "orchestra: $2 is not a directory" >&2; return 1; }
    web_bases[$2]=$base
  fi
  base=${web_bases[$2]}
  [[ -d $3 ]] || orchestra_as "$1" mkdir -p -- "$3" || return 1
  cd -P -- "$3" 2>/dev/null || { echo "orchestra: $3: no such directory" >&2; return 1; }
  here=$PWD
  if [[ $here != "$base"/* ]]; then
    echo "orchestra: $3 leads out of $2: refused" >&2
    return 1
  fi
  # as the owner: the kernel refuses what a planted link leads to
  orchestra_as "$1" setfacl -R -P -m "u:$web_user:rX,d:u:$web_user:rX" -- . 2>/dev/null || true
  while [[ $here != "$base" ]]; do
    cd -P .. || return 1
    here=$PWD
    [[ $here == "$base" || $here == "$base"/* ]] || return 1
    [[ ! -v web_passed[$here] ]] || break
    web_search || return 1
    web_passed[$here]=1
  done
}
# web_search: the web server may search ".", keeping its other permissions
web_search() {
  local cur
  cur=$(getfacl -cpn -- . 2>/dev/null | awk -F: -v u="$web_uid" '$1 == "user" && $2 == u { print $3 }')
  [[ $cur != ??x ]] || return 0
  if [[ -n $cur ]]; then cur=${cur:0:2}x; else cur=--x; fi
  setfacl -m "u:$web_user:$cur" -- .
}
# web_prune DIR NAME...: removes the files of DIR but the NAMEs (back on a refusal)
web_prune() {
  local dir=$1 f
  shift
  [[ -d $dir && ! -L $dir ]] || return 0
  for f in "$dir"/*; do
    [[ -e $f || -L $f ]] || continue
    [[ " $* " == *" ${f##*/} "* ]] || web_remove "$f"
  done
}
web_rmdir_later() { web_rmdirs+=("$1"); }
# web_token FILE TEXT: an ACME challenge's answer, served at once (no reload)
web_token() {
  local t
  t=$(mktemp -- "$1.XXXXXXXX") && printf '%s' "$2" >"$t" && chmod 0644 -- "$t" && mv -fT -- "$t" "$1"
}
# web_pair CERT KEY: a pair Apache loads at its restart
web_pair() { web_pairs[$1]=$2; }
# web_apache_check CMD...: the certificate and key pairs, which apache2 -t
# does not load (a graceful restart meeting a wrong pair ends Apache), then CMD
web_apache_check() {
  local c
  for c in "${!web_pairs[@]}"; do
    if [[ $(openssl x509 -noout -pubkey -in "$c" 2>&1) != "$(openssl pkey -pubout -in "${web_pairs[$c]}" 2>&1)" ]]; then
      echo "orchestra: the certificate $c and the key ${web_pairs[$c]} do not match" >&2
      return 1
    fi
  done
  "$@"
}`

func (d *daemon) prepare(s *orchestration.Script, srv orchestration.Server) {
	BeginConfig(s)
	s.Var("web_user", srv.Setting(WebUser.Name(), WebUser.Get()))
	s.Raw(siteHelpers)
	s.Raw(`web_uid=$(id -u -- "$web_user")`)
	suspended := srv.Setting(SuspendedDir.Name(), SuspendedDir.Get())
	files := d.filesDir(srv)
	s.Cmd("install", "-d", "-m", "0755", "--", suspended, srv.Setting(SiteLogs.Name(), SiteLogs.Get()))
	s.Cmd("install", "-d", "-m", "0755", "--", files)
	s.Cmd("install", "-d", "-m", "0750", "--", files+"/include")
	s.Cmd("install", "-d", "-m", "0750", "-g", srv.Setting(WebUser.Name(), WebUser.Get()), "--", files+"/htpasswd")
	s.Cmd("install", "-d", "-m", "0700", "--", files+"/certs")
	s.Cmd("install", "-d", "-m", "0755", "--", files+"/acme", files+"/acme/.well-known", files+"/acme/.well-known/acme-challenge")
	s.WriteFile(suspended+"/index.html", []byte(SuspendedPage), "0644")
}

func (d *daemon) commit(s *orchestration.Script, srv orchestration.Server) {
	s.Raw(`if ((${#web_failed[@]})); then printf 'orchestra: %s\n' "${web_failed[@]}" >&2; fi`)
	cmd := strings.Fields(srv.Setting(d.cmd.Name(), d.cmd.Get()))
	check := append(slices.Clone(cmd), "-t")
	if d.pairs {
		check = append([]string{"web_apache_check"}, check...)
	}
	reload := []string{"web_reload_workers", srv.Setting(d.pid.Name(), d.pid.Get())}
	reload = append(append(reload, cmd...), d.reload...)
	quoted := make([]string, len(reload))
	for i, w := range reload {
		quoted[i] = orchestration.Quote(w)
	}
	GoLive(s, check, strings.Join(quoted, " "))
	s.Raw(`if ((${#web_rmdirs[@]})); then rmdir -- "${web_rmdirs[@]}" 2>/dev/null || true; fi
if ((${#web_failed[@]})); then exit 1; fi`)
}

// paths of a site's files on srv
func (d *daemon) conf(srv orchestration.Server, name string) string {
	return srv.Setting(d.sites.Name(), d.sites.Get()) + "/" + name + ".conf"
}
func (d *daemon) include(srv orchestration.Server, name string) string {
	return d.filesDir(srv) + "/include/" + name + ".conf"
}
func (d *daemon) htpasswd(srv orchestration.Server, name string) string {
	return d.filesDir(srv) + "/htpasswd/" + name
}

// certFiles are the files of a site's own certificate chain and key.
func (d *daemon) certFiles(srv orchestration.Server, name string) (chain, key string) {
	base := d.filesDir(srv) + "/certs/" + name
	return base + ".pem", base + ".key"
}

// remove takes a site's files away (back if the check refuses the rest).
func (d *daemon) remove(s *orchestration.Script, srv orchestration.Server, name string) {
	RemoveConfig(s, d.conf(srv, name))
	RemoveConfig(s, d.include(srv, name))
	chain, key := d.certFiles(srv, name)
	RemoveConfig(s, chain)
	RemoveConfig(s, key)
	s.Cmd("web_prune", d.htpasswd(srv, name))
	s.Cmd("web_rmdir_later", d.htpasswd(srv, name))
}

func (d *daemon) apply(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	if action == ActionACMEChallenge {
		tokens, err := ACMETokens(o.Args["tokens"])
		if err != nil {
			return err
		}
		// the folder is the server's: once per unit, whatever its sites
		s.Raw(`if [[ -z ${web_acme_done:-} ]]; then web_acme_done=1`)
		dir := d.filesDir(srv) + "/acme/.well-known/acme-challenge/"
		for _, token := range slices.Sorted(maps.Keys(tokens)) {
			if tokens[token] == "" {
				s.Cmd("rm", "-f", "--", dir+token)
			} else {
				s.Cmd("web_token", dir+token, tokens[token])
			}
		}
		s.Raw("fi")
		return nil
	}
	name := SiteName(o.Int("account_id"), o.String("name"))
	if action == orchestration.ActionDelete {
		d.remove(s, srv, name)
		return nil
	}
	l, ok := o.Extra.(*siteLoaded)
	if !ok {
		return fmt.Errorf("website %d was not loaded", o.ID)
	}
	if len(l.domains) == 0 || strings.HasPrefix(l.domains[0], "*.") {
		d.remove(s, srv, name) // served nowhere until it has a name
		return nil
	}
	site, out, problem := d.describe(srv, name, l)
	var text string
	if problem == "" {
		var err error
		if text, err = d.render(site); err != nil {
			problem = err.Error()
		}
	}
	var key string
	if problem == "" && out.key != "" {
		var err error
		if key, err = openCertKey(out.key); err != nil {
			problem = "its certificate's key: " + err.Error()
		}
	}
	if problem != "" {
		s.Cmd("web_fail", fmt.Sprintf("website %s (%s): %s", o.String("name"), name, problem))
		return nil
	}
	s.Raw("web_ok=1")
	for _, g := range out.grants {
		s.Cmd("web_grant", name, g.base.Owner, g.base.Path, g.folder)
	}
	s.Raw("if ((web_ok)); then")
	if out.include != "" {
		s.WriteFile(site.Include, []byte(out.include), "0640")
	} else {
		RemoveConfig(s, d.include(srv, name))
	}
	dir := d.htpasswd(srv, name)
	keep := []string{"web_prune", dir}
	if len(out.htpasswd) > 0 {
		s.Cmd("install", "-d", "-m", "0755", "--", dir)
		for _, f := range slices.Sorted(maps.Keys(out.htpasswd)) {
			s.WriteFile(dir+"/"+f, []byte(s.Secret(out.htpasswd[f])), "0644") // hashes: masked in the stored script
			keep = append(keep, f)
		}
	}
	s.Cmd(keep...)
	if len(out.htpasswd) == 0 {
		s.Cmd("web_rmdir_later", dir)
	}
	chain, keyFile := d.certFiles(srv, name)
	if out.chain != "" {
		s.WriteFile(chain, []byte(out.chain), "0644")
		s.WriteFile(keyFile, []byte(s.Secret(key)), "0600")
	} else {
		RemoveConfig(s, chain)
		RemoveConfig(s, keyFile)
	}
	if d.pairs && site.Cert != "" {
		s.Cmd("web_pair", site.Cert, site.Key)
	}
	s.WriteFile(d.conf(srv, name), []byte(text), "0644")
	s.Raw("fi")
	return nil
}

// grant is a folder the web server reads, in base.
type grant struct {
	base   paths.Base
	folder string
}

// siteFiles are what a site's file needs on the server beside it.
type siteFiles struct {
	grants   []grant
	include  string            // the include directive's text
	htpasswd map[string]string // file name in the site's folder → content
	chain    string            // its own certificate's PEM chain
	key      string            // and key, sealed
}

// describe maps a website onto vhost's description, or says why it cannot.
func (d *daemon) describe(srv orchestration.Server, name string, l *siteLoaded) (vhost.Site, siteFiles, string) {
	logs := srv.Setting(SiteLogs.Name(), SiteLogs.Get())
	site := vhost.Site{Name: name, Address: srv.Setting(d.addr.Name(), d.addr.Get()), Domains: l.domains,
		Protocol: l.protocol, Active: l.active, Suspended: srv.Setting(SuspendedDir.Name(), SuspendedDir.Get()),
		AccessLog: logs + "/" + d.accessLog(name), ErrorLog: logs + "/" + name + "." + d.name + ".error.log"}
	var out siteFiles
	site.ACMERoot = d.filesDir(srv) + "/acme"
	switch {
	case l.protocol == HTTP:
	case l.ssl && l.cert != nil && l.cert.Certificate != "" && l.cert.PrivateKey != "":
		site.Cert, site.Key = d.certFiles(srv, name)
		out.chain, out.key = l.cert.Certificate, l.cert.PrivateKey
	case l.ssl: // until its certificate is issued
		site.AwaitingCert = true
	default:
		site.Cert, site.Key = srv.Setting(DefaultCert.Name(), DefaultCert.Get()), srv.Setting(DefaultKey.Name(), DefaultKey.Get())
		if site.Cert == "" || site.Key == "" {
			return site, out, fmt.Sprintf("it is served over %s, but it has no SSL certificate directive and the server no default certificate (WEB_DEFAULT_CERT and WEB_DEFAULT_KEY are not set)", l.protocol)
		}
	}
	home := paths.Base{Path: fmt.Sprintf(systemusers.Home.Get(), l.username), Owner: l.username}
	per := srv.Setting(PoolPer.Name(), PoolPer.Get())
	for _, c := range l.contents {
		app := c.Edges.Webapp
		vc := vhost.Content{Path: c.Path}
		var public string
		var writable []string
		base, folder := home, Directory(l.username, app.Name)
		switch app.Type {
		case AppStatic:
			st, err := AppSettings[StaticSettings](app)
			if err != nil {
				return site, out, err.Error()
			}
			vc.Kind, public = vhost.Static, st.PublicRoot
		case AppPython:
			vc.Kind, vc.Socket = vhost.UWSGI, VassalSocket(srv, VassalName(l.username, app.Name))
			site.Contents = append(site.Contents, vc)
			continue
		case AppPHP, AppWordPress, AppLink:
			php := phpOf(app)
			if php == nil {
				return site, out, fmt.Sprintf("the PHP settings of web app %s do not decode", app.Name)
			}
			vc.Front = app.Type == AppWordPress
			if app.Type == AppLink {
				v, err := AppSettings[LinkSettings](app)
				if err != nil {
					return site, out, err.Error()
				}
				b, in := paths.Within(l.bases, v.Target)
				if !in {
					return site, out, fmt.Sprintf("the folder %s of web app %s is in none of the account's homes", v.Target, app.Name)
				}
				base, folder = b, v.Target
			}
			vc.Kind, public, writable = vhost.PHP, php.PublicRoot, php.Writable
			vc.Socket = PoolSocket(srv, PoolName(per, l.username, app.Name, php.Version), php.Version)
		default:
			return site, out, fmt.Sprintf("web app %s is of a kind (%s) no site serves", app.Name, app.Type)
		}
		if public != "" {
			folder += "/" + public
		}
		vc.Root = folder
		// no PHP where the app's code may write: its writable folders below
		// the served one, or everywhere if that one is writable
		for _, w := range writable {
			switch {
			case public == "":
				vc.NoExec = append(vc.NoExec, w)
			case strings.HasPrefix(w, public+"/"):
				vc.NoExec = append(vc.NoExec, strings.TrimPrefix(w, public+"/"))
			case w == public || strings.HasPrefix(public, w+"/"):
				vc.Kind, vc.Socket, vc.Front, vc.NoExec = vhost.Static, "", false, nil
			}
			if vc.Kind == vhost.Static {
				break
			}
		}
		site.Contents = append(site.Contents, vc)
		out.grants = append(out.grants, grant{base: base, folder: folder})
	}
	for _, dir := range l.dirs {
		if err := directive(&site, &out, dir, d.include(srv, name), d.htpasswd(srv, name)); err != nil {
			return site, out, err.Error()
		}
	}
	return site, out, ""
}

// directive adds d to site.
func directive(site *vhost.Site, out *siteFiles, d *ent.WebsiteDirective, include, htpasswd string) error {
	var err error
	switch d.Type {
	case DirRedirect:
		var v *RedirectSettings
		if v, err = kinds.Value[RedirectSettings](Directives, d.Type, d.Settings); err == nil {
			site.Redirects = append(site.Redirects, vhost.Redirect{Path: v.Location, Target: v.Target})
		}
	case DirProxy:
		var v *ProxySettings
		if v, err = kinds.Value[ProxySettings](Directives, d.Type, d.Settings); err == nil {
			site.Proxies = append(site.Proxies, vhost.Proxy{Path: v.Location, URL: v.URL, Timeout: v.Timeout, Retry: v.Retry})
		}
	case DirError:
		var v *ErrorDocumentSettings
		if v, err = kinds.Value[ErrorDocumentSettings](Directives, d.Type, d.Settings); err == nil {
			site.Errors = append(site.Errors, vhost.ErrorDoc{Status: v.Status, Target: v.Target})
		}
	case DirProtection:
		var v *ProtectionSettings
		if v, err = kinds.Value[ProtectionSettings](Directives, d.Type, d.Settings); err == nil {
			file := fmt.Sprint(d.ID)
			var b strings.Builder
			for _, u := range slices.Sorted(maps.Keys(v.Users)) {
				b.WriteString(u + ":" + cmp.Or(d.PasswordHashes[u], v.Users[u]) + "\n") // a row from before password_hashes holds its hashes in settings
			}
			if out.htpasswd == nil {
				out.htpasswd = map[string]string{}
			}
			out.htpasswd[file] = b.String()
			site.Protected = append(site.Protected, vhost.Protection{Path: v.Location, Realm: v.Realm, File: htpasswd + "/" + file})
		}
	case DirHeaders:
		var v *HeadersSettings
		if v, err = kinds.Value[HeadersSettings](Directives, d.Type, d.Settings); err == nil {
			for _, n := range slices.Sorted(maps.Keys(v.Headers)) {
				site.Headers = append(site.Headers, vhost.Header{Path: v.Location, Name: n, Value: v.Headers[n]})
			}
		}
	case DirInclude:
		var v *IncludeSettings
		if v, err = kinds.Value[IncludeSettings](Directives, d.Type, d.Settings); err == nil {
			out.include = v.Text
			if !strings.HasSuffix(out.include, "\n") {
				out.include += "\n"
			}
			site.Include = include
		}
	case DirSSL: // the certificate, in describe
	default:
		err = errors.New("a directive of a kind no site serves: " + d.Type)
	}
	return err
}
