package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/paths"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/database"
	"github.com/orchestra-panel/orchestra/internal/store/ent/databaseuser"
	"github.com/orchestra-panel/orchestra/internal/store/ent/webapp"
)

// The web app backends: an app's folder (webapp), its PHP-FPM pool
// (php-fpm) and its uWSGI vassal (uwsgi). See docs/services/web.md,
// "Backends: apps".
//
// On a server, for an app APP of the account whose main system user is
// USER (its home HOME, SYSTEMUSERS_HOME):
//
//	HOME/webapps/APP                   the folder (WEBAPPS_BASE_DIR), USER's;
//	                                   a symbolic-link app's is a link
//	POOLS/POOL.conf                    its pool (WEB_PHPFPM_POOLS): per account
//	                                   and PHP version, or per app (PoolName)
//	VASSALS/VASSAL.ini                 a Python app's vassal (WEB_UWSGI_VASSALS)
//	ExecUser(USER)                     the UNIX user pools and vassals run as
//
// Deletes are not loaded: the snapshot of a web app carries its account's
// username (account_username, filled in when it is taken, before the
// account goes with a cascade), which names all of the above.

// Backend names, as routes name them.
const (
	AppBackend    = "webapp"
	PHPFPMBackend = "php-fpm"
	UWSGIBackend  = "uwsgi"
)

// Settings of the app backends (each may be overridden per server).
var (
	WordPressFiles = settings.String("WEBAPPS_WORDPRESS_FILES", "/usr/share/wordpress",
		"Folder of WordPress's files (Debian's wordpress package), copied into a new WordPress app, links followed.")
	WordPressContent = settings.String("WEBAPPS_WORDPRESS_CONTENT", "/var/lib/wordpress/wp-content",
		"Folder of WordPress's wp-content (Debian's), copied over the app's wp-content, links followed.")
	WordPressDBHost = settings.String("WEBAPPS_WORDPRESS_DB_HOST", "localhost",
		"DB_HOST of WordPress apps' wp-config.php: where the web servers reach MariaDB (localhost, or HOST:PORT).")
)

// accountUsername is the key of a web app's snapshot that holds its
// account's username.
const accountUsername = "account_username"

func init() {
	orchestration.RegisterFill("WebApp", fillUsernames)
	orchestration.Register(&orchestration.Backend{
		Name: AppBackend, Verbose: "Web app folder", Model: "WebApp", DefaultMatch: "true",
		After: []string{systemusers.Backend},
		Load:  loadApp, Prepare: prepareApp, Apply: applyApp,
	})
}

// fillUsernames adds each app's account's username to its snapshot.
func fillUsernames(ctx context.Context, tx *ent.Tx, snaps map[int]map[string]any) error {
	var ids []int
	for _, s := range snaps {
		if id, ok := s["account_id"].(int); ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	accs, err := tx.Account.Query().Where(account.IDIn(ids...)).Select(account.FieldUsername).All(sys(ctx))
	if err != nil {
		return err
	}
	names := map[int]string{}
	for _, a := range accs {
		names[a.ID] = a.Username
	}
	for _, s := range snaps {
		if id, ok := s["account_id"].(int); ok && names[id] != "" {
			s[accountUsername] = names[id]
		}
	}
	return nil
}

// usernameOf is the username of o's account, from its snapshot.
func usernameOf(o orchestration.Object) (string, error) {
	u := o.String(accountUsername)
	if u == "" || paths.NameProblem(context.Background(), u) != "" {
		return "", fmt.Errorf("web app %d: its snapshot names no account (%q)", o.ID, u)
	}
	if slices.Contains(systemusers.Reserved.Get(), u) {
		return "", fmt.Errorf("web app %d: its account %s has no system user (a name of the servers' own)", o.ID, u)
	}
	return u, nil
}

// homeOf is the home of the account's main system user, the base its
// apps' folders are made in, as it.
func homeOf(username string) paths.Base {
	return paths.Base{Path: fmt.Sprintf(systemusers.Home.Get(), username), Owner: username}
}

// appOf is the app of o, as its snapshot has it.
func appOf(o orchestration.Object) *ent.WebApp {
	a := &ent.WebApp{ID: o.ID, Name: o.String("name"), AccountID: o.Int("account_id"), Type: o.String("type")}
	a.Settings, _ = o.Snapshot["settings"].(map[string]any)
	return a
}

// phpOf is the PHP settings of a, when its kind runs PHP.
func phpOf(a *ent.WebApp) *PHPSettings {
	switch a.Type {
	case AppPHP:
		s, _ := AppSettings[PHPSettings](a)
		return s
	case AppLink:
		if s, _ := AppSettings[LinkSettings](a); s != nil {
			return &s.PHPSettings
		}
	case AppWordPress:
		if s, _ := AppSettings[WordPressSettings](a); s != nil {
			return &s.PHPSettings
		}
	}
	return nil
}

// appLoaded is what the folder of an app needs beside its row.
type appLoaded struct {
	bases []paths.Base // the account's, for a link's target
	// a WordPress app's database and user (empty when they are gone)
	db, dbUser string
}

func loadApp(ctx context.Context, tx *ent.Tx, o *orchestration.Object) error {
	l := &appLoaded{}
	var err error
	switch o.String("type") {
	case AppLink:
		l.bases, err = paths.Owned(ctx, tx.Client(), o.Int("account_id"))
	case AppWordPress:
		if id := o.Int("database_id"); id != 0 {
			if l.db, err = tx.Database.Query().Where(database.ID(id)).Select(database.FieldName).String(sys(ctx)); ent.IsNotFound(err) {
				err = nil
			}
		}
		if id := o.Int("database_user_id"); id != 0 && err == nil {
			if l.dbUser, err = tx.DatabaseUser.Query().Where(databaseuser.ID(id)).Select(databaseuser.FieldUsername).String(sys(ctx)); ent.IsNotFound(err) {
				err = nil
			}
		}
	}
	o.Extra = l
	return err
}

// appHelpers are the folder backend's shell functions. Every one enters
// the place it acts on physically (orchestra_enter) and acts on "." or a
// name there, never following a link out of the home.
const appHelpers = `# webapp_absent USER PATH: nothing is at PATH, as USER sees it
webapp_absent() { ! orchestra_as "$1" test -e "$2" && ! orchestra_as "$1" test -L "$2"; }
# webapp_dir USER HOME DIR: makes DIR as USER and enters it; a new folder
# gets USER's mode 0750 (an existing one keeps its own)
webapp_dir() {
  local fresh=
  if webapp_absent "$1" "$3"; then fresh=1; fi
  orchestra_mkdir_as "$1" "$2" "$3"
  if [[ -n $fresh ]]; then orchestra_as "$1" chmod 0750 .; fi
}
# webapp_link USER HOME DIR TARGET: DIR is a link to TARGET, made as USER
# in DIR's folder; a folder or file there is left as it is
webapp_link() {
  orchestra_mkdir_as "$1" "$2" "$(dirname -- "$3")"
  orchestra_as "$1" bash -c 'if [[ -L $2 ]]; then [[ $(readlink -- "$2") == "$1" ]] || ln -sfn -- "$1" "$2"
elif [[ -e $2 ]]; then echo "orchestra: $PWD/$2 is not a link: left as it is" >&2; exit 1
else ln -s -- "$1" "$2"; fi' link "$4" "$(basename -- "$3")"
  cd /
}
# webapp_writable EXEC USER: after entering a writable folder, EXEC may
# write in it and USER and EXEC in what is made there (default entries);
# links are not followed (-P)
webapp_writable() { setfacl -R -P -m "u:$1:rwX,d:u:$1:rwX,d:u:$2:rwX" -- .; }
# webapp_wordpress USER FILES CONTENT: copies WordPress into the folder
# entered, as USER, when it is empty (or a copy was cut short)
webapp_wordpress() {
  [[ -z $(ls -A) || -e .orchestra-installing ]] || return 0
  [[ -d $2 && -f $2/wp-settings.php ]] || { echo "orchestra: no WordPress in $2: install Debian's wordpress package" >&2; return 1; }
  orchestra_as "$1" bash -c 'set -e; umask 022; : >.orchestra-installing
cp -rL -- "$1"/. .
rm -f -- wp-config.php
if [[ -d $2 ]]; then cp -rL -- "$2"/. wp-content/; fi
rm -f -- .orchestra-installing' wordpress "$2" "$3"
}
# webapp_put_config USER NAME MODE: NAME in the folder entered holds what
# comes on standard input (a secret: never an argument), written as USER
webapp_put_config() {
  orchestra_as "$1" bash -c 'set -e; umask 077; t=$(mktemp .orchestra-new.XXXXXXXX)
trap '\''rm -f -- "$t"'\'' EXIT
cat >"$t"
if [[ -f $1 && ! -L $1 ]] && cmp -s -- "$t" "$1"; then exit 0; fi
chmod "$2" -- "$t"; mv -fT -- "$t" "$1"' config "$2" "$3"
}
# webapp_remove HOME DIR KEEP LINK: removes what the panel made at DIR (a
# link only, for LINK), or moves it to $webapp_deleted/KEEP.DATE; whatever
# leads out of HOME is left
webapp_remove() {
  [[ -d $1 && ! -L $1 ]] || return 0 # the home went with the account
  if ! orchestra_enter "$1" "$(dirname -- "$2")" 2>/dev/null; then
    echo "orchestra: $2 left: its folder is gone or leads out of $1"
    return 0
  fi
  local name
  name=$(basename -- "$2")
  if [[ -L $name ]]; then
    rm -f -- "$name"
  elif [[ -d $name && -z $4 ]]; then
    if [[ -n $webapp_deleted ]]; then
      install -d -m 0700 -- "$webapp_deleted"
      setfacl -R -P -b -- "$name" 2>/dev/null || true
      mv -- "$name" "$webapp_deleted/$3.$(date +%Y%m%d%H%M%S)"
    else
      rm -rf -- "$name"
    fi
  fi
  cd /
}`

func prepareApp(s *orchestration.Script, srv orchestration.Server) {
	s.Var("webapp_deleted", srv.Setting(DeletedDir.Name(), DeletedDir.Get()))
	prepareExec(s, srv)
	s.Raw(appHelpers)
}

func applyApp(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	user, err := usernameOf(o)
	if err != nil {
		return err
	}
	app := appOf(o)
	if msg := paths.NameProblem(context.Background(), app.Name); msg != "" {
		return fmt.Errorf("web app %d: its name %q: %s", o.ID, app.Name, msg)
	}
	base, dir := homeOf(user), Directory(user, app.Name)
	if _, in := paths.Within([]paths.Base{base}, dir); !in || dir == base.Path {
		return fmt.Errorf("web app %s: its folder %s is not inside %s (WEBAPPS_BASE_DIR)", app.Name, dir, base.Path)
	}
	if action == orchestration.ActionDelete {
		link := ""
		if app.Type == AppLink {
			link = "1"
		}
		s.Cmd("webapp_remove", base.Path, dir, user+"."+app.Name, link)
		return nil
	}
	l, _ := o.Extra.(*appLoaded)
	if l == nil {
		return fmt.Errorf("web app %d was not loaded", o.ID)
	}
	s.Var("user", user)
	switch app.Type {
	case AppLink:
		st, err := AppSettings[LinkSettings](app)
		if err != nil {
			return err
		}
		tb, in := paths.Within(l.bases, st.Target)
		if !in || paths.AbsProblem(context.Background(), st.Target) != "" {
			return fmt.Errorf("web app %s: its target %s is not inside the homes of the account's system users", app.Name, st.Target)
		}
		s.Cmd("webapp_link", user, base.Path, dir, st.Target)
		// its writable folders lie in the target, as its owner makes them
		return writable(s, srv, user, tb, st.Target, st.Writable)
	case AppStatic, AppPHP, AppPython, AppWordPress:
	default:
		return fmt.Errorf("web app %s: unknown type %q", app.Name, app.Type)
	}
	s.Cmd("webapp_dir", user, base.Path, dir)
	var public string
	switch app.Type {
	case AppWordPress:
		s.Cmd("webapp_wordpress", user, srv.Setting(WordPressFiles.Name(), WordPressFiles.Get()),
			srv.Setting(WordPressContent.Name(), WordPressContent.Get()))
		if err := wpConfig(s, srv, o, l); err != nil {
			return err
		}
		if p := phpOf(app); p != nil {
			public = p.PublicRoot
		}
	case AppPython:
		st, err := AppSettings[PythonSettings](app)
		if err != nil {
			return err
		}
		public = st.PublicRoot
		if file, ok := wsgiPlaceholder(st.Module); ok {
			// a new app answers before its code comes: a vassal whose
			// module does not load never goes live
			s.Raw(`if [[ -z $(ls -A) ]]; then`)
			s.Cmd("orchestra_mkdir_as", user, base.Path, path.Join(dir, path.Dir(file)))
			s.Var("webapp_wsgi", placeholderCode)
			s.Raw(`printf '%s' "$webapp_wsgi" | webapp_put_config "$user" ` + orchestration.Quote(path.Base(file)) + ` 0644
fi`)
		}
	default:
		if p := phpOf(app); p != nil {
			public = p.PublicRoot
		} else if st, err := AppSettings[StaticSettings](app); err == nil {
			public = st.PublicRoot
		}
	}
	s.Leave()
	if public != "" {
		if msg := paths.RelProblem(context.Background(), public); msg != "" {
			return fmt.Errorf("web app %s: public_root %q: %s", app.Name, public, msg)
		}
		s.Cmd("webapp_dir", user, base.Path, path.Join(dir, public))
		s.Leave()
	}
	if p := phpOf(app); p != nil {
		return writable(s, srv, user, base, dir, p.Writable)
	}
	return nil
}

// writable makes the writable folders of an app whose folder is dir
// (inside base), writable by the account's execution user.
func writable(s *orchestration.Script, srv orchestration.Server, user string, base paths.Base, dir string, list []string) error {
	if len(list) == 0 {
		return nil
	}
	exec := ExecUser(user)
	s.Cmd("web_exec_user", exec, user)
	for _, w := range list {
		if msg := paths.RelProblem(context.Background(), w); msg != "" {
			return fmt.Errorf("writable folder %q: %s", w, msg)
		}
		s.Cmd("orchestra_mkdir_as", base.Owner, base.Path, path.Join(dir, w))
		s.Traverse(exec, base)
		s.Cmd("webapp_writable", exec, base.Owner)
		s.Leave()
	}
	return nil
}

// wsgiPlaceholder is the file of module (relative to the app's folder)
// that a new Python app gets, when the module is a plain one.
func wsgiPlaceholder(module string) (string, bool) {
	mod, callable, _ := strings.Cut(module, ":")
	if callable != "" && callable != "application" || !wsgiModule.MatchString(module) {
		return "", false
	}
	for _, part := range strings.Split(mod, ".") {
		if len(part)+len(".py") > paths.MaxName {
			return "", false // no such file can be
		}
	}
	return strings.ReplaceAll(mod, ".", "/") + ".py", true
}

// placeholderCode answers until the app's own code replaces it.
const placeholderCode = `# Written by the panel for a new app: replace it with your application.
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"This Python app has no code yet.\n"]
`

// wpConfig writes a WordPress app's wp-config.php (after webapp_dir): its
// database, user and password, and keys derived from the password, so that
// the file is the same at every save; 0640, the account's, which its
// execution user reads as a member of its group.
func wpConfig(s *orchestration.Script, srv orchestration.Server, o orchestration.Object, l *appLoaded) error {
	if l.db == "" || l.dbUser == "" || o.String("database_password") == "" {
		s.Raw(`echo "orchestra: the WordPress app has no database any more: wp-config.php left as it is"`)
		return nil
	}
	pw, err := sealed.Open(DatabasePurpose, o.String("database_password"))
	if err != nil {
		return fmt.Errorf("web app %s: its database password: %w", o.String("name"), err)
	}
	s.Secret(string(pw))
	var b strings.Builder
	q := func(v string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'" }
	b.WriteString("<?php\n// Written by the panel at every change of the app: edits are lost.\n")
	for _, kv := range [][2]string{{"DB_NAME", l.db}, {"DB_USER", l.dbUser}, {"DB_PASSWORD", string(pw)},
		{"DB_HOST", srv.Setting(WordPressDBHost.Name(), WordPressDBHost.Get())}, {"DB_CHARSET", "utf8mb4"}, {"DB_COLLATE", ""}} {
		fmt.Fprintf(&b, "define(%s, %s);\n", q(kv[0]), q(kv[1]))
	}
	for _, k := range []string{"AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT",
		"LOGGED_IN_SALT", "NONCE_SALT"} {
		m := hmac.New(sha256.New, pw)
		m.Write([]byte("wordpress " + k))
		fmt.Fprintf(&b, "define(%s, %s);\n", q(k), q(s.Secret(hex.EncodeToString(m.Sum(nil)))))
	}
	b.WriteString("$table_prefix = 'wp_';\n")
	b.WriteString("define('WP_DEBUG', false);\n")
	b.WriteString("if (!defined('ABSPATH')) {\n\tdefine('ABSPATH', __DIR__ . '/');\n}\n")
	b.WriteString("require_once ABSPATH . 'wp-settings.php';\n")
	s.Var("webapp_wpconfig", b.String())
	s.Raw(`printf '%s' "$webapp_wpconfig" | webapp_put_config "$user" wp-config.php 0640`)
	return nil
}

// accountApps are the apps of the accounts of objs (by account id), for
// the backends whose files hold several apps.
func accountApps(ctx context.Context, tx *ent.Tx, objs []*orchestration.Object) (map[int][]*ent.WebApp, error) {
	var ids []int
	for _, o := range objs {
		if id := o.Int("account_id"); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	apps, err := tx.WebApp.Query().Where(webapp.AccountIDIn(ids...)).Order(ent.Asc(webapp.FieldID)).All(sys(ctx))
	if err != nil {
		return nil, err
	}
	out := map[int][]*ent.WebApp{}
	for _, a := range apps {
		out[a.AccountID] = append(out[a.AccountID], a)
	}
	return out, nil
}
