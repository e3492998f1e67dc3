package web

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/settings"
)

// Where things live on a web server, and how they are named: what the
// backends of apps (folders, PHP-FPM, uWSGI) and of sites (nginx, Apache)
// agree on. Each setting may be overridden per server (the server's
// settings); the defaults are Debian 12's. Commands are a program and the
// options every call needs; a backend adds the action (-t, -s reload,
// -k graceful). %(version)s in the PHP-FPM settings is the PHP version.
var (
	WebUser = settings.String("WEB_USER", "www-data",
		"User of nginx's workers and Apache's children: the only one that may connect to the apps' sockets.")
	NginxCmd     = settings.String("WEB_NGINX", "nginx", "nginx, as a command (nginx -t, nginx -s reload).")
	NginxPID     = settings.String("WEB_NGINX_PID", "/run/nginx.pid", "nginx master's pid file.")
	NginxSites   = settings.String("WEB_NGINX_SITES", "/etc/nginx/sites-enabled", "Folder of the sites' nginx files, one per site.")
	NginxAddress = settings.String("WEB_NGINX_ADDRESS", "*", "Address nginx's sites listen on (* for all).")
	ApacheCmd    = settings.String("WEB_APACHE", "apache2ctl", "Apache, as a command (apache2ctl -t, apache2ctl -k graceful).")
	ApachePID    = settings.String("WEB_APACHE_PID", "/run/apache2/apache2.pid", "Apache parent's pid file.")
	ApacheSites  = settings.String("WEB_APACHE_SITES", "/etc/apache2/sites-enabled", "Folder of the sites' Apache files, one per site.")
	ApacheAddr   = settings.String("WEB_APACHE_ADDRESS", "*", "Address Apache's sites listen on (* for all).")
	SiteLogs     = settings.String("WEB_LOG_DIR", "/var/log/orchestra-web",
		"Folder of the sites' access and error logs (SITE.access.log, SITE.error.log).")
	SuspendedDir = settings.String("WEB_SUSPENDED_DIR", "/var/lib/orchestra-web/suspended",
		"Folder of the page inactive sites and accounts answer with (its index.html, written by the backends).")
	PHPFPMCmd     = settings.String("WEB_PHPFPM", "php-fpm%(version)s", "PHP-FPM, as a command (php-fpm8.2 -t).")
	PHPFPMPID     = settings.String("WEB_PHPFPM_PID", "/run/php/php%(version)s-fpm.pid", "PHP-FPM master's pid file.")
	PHPFPMPools   = settings.String("WEB_PHPFPM_POOLS", "/etc/php/%(version)s/fpm/pool.d", "Folder of PHP-FPM's pool files.")
	PHPFPMSockets = settings.String("WEB_PHPFPM_SOCKETS", "/run/php", "Folder of the pools' sockets (root's).")
	UWSGIPID      = settings.String("WEB_UWSGI_PID", "/run/uwsgi-emperor.pid", "uWSGI emperor's pid file.")
	UWSGIVassals  = settings.String("WEB_UWSGI_VASSALS", "/etc/uwsgi-emperor/vassals", "Folder of the emperor's vassal files.")
	UWSGISockets  = settings.String("WEB_UWSGI_SOCKETS", "/run/uwsgi/app", "Folder of the vassals' sockets (root's).")
	PoolPer       = settings.String("WEBAPPS_PHPFPM_POOL_PER", "account",
		"account: one PHP-FPM pool per account and PHP version, shared by its apps; app: one pool per app.",
		settings.Choices("account", "app"))
	DeletedDir = settings.String("WEBAPPS_DELETED_DIR", "",
		"Where a deleted app's folder is moved (root's, outside every home); empty: it is removed.")
)

// On returns setting s for server srv, %(version)s replaced by version.
func On(srv orchestration.Server, s settings.Handle[string], version string) string {
	return strings.ReplaceAll(srv.Setting(s.Name(), s.Get()), "%(version)s", version)
}

// ExecUser is the user an account's code runs as (PHP-FPM pools, uWSGI
// vassals): not the account's own, so that the code cannot write the
// account's files but for the folders an app names writable. It is a
// member of the account's main group, through which it reads them.
//
// Names are one-to-one: a plain name (lower-case letters, digits, . _ -,
// starting with a letter or _) of up to 28 characters takes -web; any
// other (longer, or with capitals, which the pools' names may not hold)
// is folded and cut, and a hash of the whole name follows, ending in -w,
// which no name of the first form ends in.
func ExecUser(username string) string {
	if len(username) <= 28 && plain.MatchString(username) {
		return username + "-web"
	}
	return fold(username, 19) + "-" + hash(username)[:8] + "-w"
}

// plain is a name the pools' and vassals' files take as it is.
var plain = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*$`)

// fold is s in lower case, cut to n characters, every other character as
// _, starting with a letter or _.
func fold(s string, n int) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || !(b[0] >= 'a' && b[0] <= 'z' || b[0] == '_') {
		b = append([]byte{'_'}, b...)
	}
	return string(b[:min(len(b), n)])
}

func hash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// appLabel names what belongs to one app of an account (its pool, its
// vassal): the account's and the app's names for people, and a hash of
// both, since "ann" + "b-x" and "ann-b" + "x" read alike; up to 64
// characters, as appconf takes them.
func appLabel(username, app string) string {
	return fold(username+"-"+app, 47) + "-" + hash(username, app)[:16]
}

// PoolName is the PHP-FPM pool of an app (name) of account username with
// PHP version, per WEBAPPS_PHPFPM_POOL_PER (per): per account, its
// execution user and the version (ann-web-php8.2); per app, the app's
// label (ann-blog-0123456789abcdef).
func PoolName(per, username, app, version string) string {
	if per == "app" {
		return appLabel(username, app)
	}
	return ExecUser(username) + "-php" + version
}

// PoolSocket is pool's socket on srv.
func PoolSocket(srv orchestration.Server, pool, version string) string {
	return On(srv, PHPFPMSockets, version) + "/" + pool + ".sock"
}

// VassalName is the uWSGI vassal (file NAME.ini, socket NAME.sock) of app
// of account username: the app's label.
func VassalName(username, app string) string { return appLabel(username, app) }

// VassalSocket is a vassal's socket on srv.
func VassalSocket(srv orchestration.Server, vassal string) string {
	return srv.Setting(UWSGISockets.Name(), UWSGISockets.Get()) + "/" + vassal + ".sock"
}
