package web

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/kinds"
	"github.com/orchestra-panel/orchestra/internal/paths"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// AppTypes are the kinds of web app (WEBAPPS_TYPES offers a subset).
var AppTypes = kinds.NewFamily("web app", "WEBAPPS_TYPES").Of("WebApp")

// decode is f.Decode, its mistakes added to errs (every one at once,
// named settings.<field>).
func decode(ctx context.Context, f *kinds.Family, typ string, raw map[string]any, errs *validate.Errors) (map[string]any, any, error) {
	stored, v, err := f.Decode(ctx, typ, raw, "type", "settings")
	var found validate.Errors
	if !errors.As(err, &found) {
		return stored, v, err
	}
	errs.Merge(err)
	return nil, nil, nil
}

// Kinds of web app.
const (
	AppStatic    = "static"
	AppPHP       = "php"
	AppPython    = "python"
	AppLink      = "symbolic-link"
	AppWordPress = "wordpress"
)

// StaticSettings are a static app's: files served as they are.
type StaticSettings struct {
	PublicRoot string `json:"public_root" maxLength:"1024" doc:"The folder inside the app that is served, such as public; empty: the app's folder itself."`
}

// PHPSettings are a PHP app's (and a link's and WordPress's): PHP-FPM's
// pool and the php.ini values it sets.
type PHPSettings struct {
	PublicRoot           string   `json:"public_root" maxLength:"1024" doc:"The folder inside the app that is served, such as public; empty: the app's folder itself."`
	Version              string   `json:"version" maxLength:"16" doc:"PHP version, one of WEBAPPS_PHP_VERSIONS."`
	Timeout              int      `json:"timeout" minimum:"1" maximum:"999" doc:"Seconds a request may run."`
	Processes            int      `json:"processes" minimum:"1" maximum:"99" doc:"PHP processes that may run at once."`
	MemoryLimit          string   `json:"memory_limit" pattern:"^[0-9]{1,3}M$" doc:"Memory a script may use, such as 128M."`
	UploadMaxFilesize    string   `json:"upload_max_filesize" pattern:"^[0-9]{1,3}M$" doc:"Largest file a form may upload, such as 2M."`
	PostMaxSize          string   `json:"post_max_size" pattern:"^[0-9]{1,3}M$" doc:"Largest form a request may send, such as 8M; raised to upload_max_filesize when smaller."`
	EnableFunctions      []string `json:"enable_functions" maxItems:"100" doc:"PHP functions of WEBAPPS_PHP_DISABLED_FUNCTIONS this app may use."`
	DisableFunctions     []string `json:"disable_functions" maxItems:"100" doc:"More PHP functions this app may not use."`
	AllowURLFopen        bool     `json:"allow_url_fopen" doc:"PHP's file functions may open URLs."`
	AllowURLInclude      bool     `json:"allow_url_include" doc:"include and require may load code from URLs."`
	DisplayErrors        bool     `json:"display_errors" doc:"Errors are shown on the pages (for development only)."`
	OutputBuffering      bool     `json:"output_buffering" doc:"PHP buffers a page's output before sending it."`
	SessionAutoStart     bool     `json:"session_auto_start" doc:"Every request starts a session."`
	DateTimezone         string   `json:"date_timezone" maxLength:"64" doc:"PHP's date.timezone, such as Europe/Madrid; empty: the server's."`
	MaxInputVars         int      `json:"max_input_vars" minimum:"1" maximum:"9999" doc:"Most input variables a request may have."`
	MaxInputTime         int      `json:"max_input_time" minimum:"0" maximum:"999" doc:"Seconds a request's input may take to arrive."`
	DefaultSocketTimeout int      `json:"default_socket_timeout" minimum:"1" maximum:"999" doc:"Seconds a socket waits for data."`
	Writable             []string `json:"writable" maxItems:"20" doc:"Folders inside the app its code may write (uploads, caches); no PHP runs in them."`
}

// PythonSettings are a Python app's: a uWSGI application.
type PythonSettings struct {
	PublicRoot string `json:"public_root" maxLength:"1024" doc:"The folder inside the app with its static files; empty: the app's folder itself."`
	Module     string `json:"module" maxLength:"256" doc:"The WSGI module and callable, such as app.wsgi:application."`
	Version    string `json:"version" maxLength:"16" doc:"Python version, one of WEBAPPS_PYTHON_VERSIONS."`
	Processes  int    `json:"processes" minimum:"1" maximum:"99" doc:"Processes that may run at once."`
	Timeout    int    `json:"timeout" minimum:"1" maximum:"999" doc:"Seconds a request may run."`
}

// LinkSettings are a symbolic link's: the app's folder is a link to a
// folder of the account's homes, served as a PHP app.
type LinkSettings struct {
	PHPSettings
	Target string `json:"target" maxLength:"1024" doc:"The folder the app links to, inside one of the account's homes; kept once the app is made."`
}

// WordPressSettings are a WordPress app's PHP settings.
type WordPressSettings struct {
	PHPSettings
}

func phpDefaults() PHPSettings {
	return PHPSettings{Version: DefaultPHPVersion.Get(), Timeout: 30, Processes: DefaultProcesses.Get(),
		MemoryLimit: "128M", UploadMaxFilesize: "2M", PostMaxSize: "8M", EnableFunctions: []string{},
		DisableFunctions: []string{}, AllowURLFopen: true, MaxInputVars: 1000, MaxInputTime: 60,
		DefaultSocketTimeout: 60, Writable: []string{}}
}

func init() {
	kinds.Register(AppTypes, kinds.Kind[StaticSettings]{Name: AppStatic, Label: "Static files",
		Check: func(ctx context.Context, s *StaticSettings, errs *validate.Errors) {
			checkPublicRoot(ctx, s.PublicRoot, errs)
		}})
	kinds.Register(AppTypes, kinds.Kind[PHPSettings]{Name: AppPHP, Label: "PHP", Defaults: phpDefaults, Check: checkPHP})
	kinds.Register(AppTypes, kinds.Kind[PythonSettings]{Name: AppPython, Label: "Python (WSGI)",
		Defaults: func() PythonSettings {
			return PythonSettings{Module: "wsgi:application", Version: DefaultPythonVersion.Get(), Processes: DefaultProcesses.Get(), Timeout: 30}
		},
		Check: func(ctx context.Context, s *PythonSettings, errs *validate.Errors) {
			checkPublicRoot(ctx, s.PublicRoot, errs)
			if !wsgiModule.MatchString(s.Module) {
				errs.Add("module", i18n.T(ctx, "Enter a Python module and, after a colon, its WSGI callable, such as app.wsgi:application."))
			}
			checkVersion(ctx, "version", s.Version, PythonVersions.Get(), errs)
		}})
	kinds.Register(AppTypes, kinds.Kind[LinkSettings]{Name: AppLink, Label: "Symbolic link",
		Defaults: func() LinkSettings { return LinkSettings{PHPSettings: phpDefaults()} },
		Check: func(ctx context.Context, s *LinkSettings, errs *validate.Errors) {
			checkPHP(ctx, &s.PHPSettings, errs)
			if msg := paths.AbsProblem(ctx, s.Target); msg != "" {
				errs.Add("target", msg)
			}
		}})
	kinds.Register(AppTypes, kinds.Kind[WordPressSettings]{Name: AppWordPress, Label: "WordPress",
		Defaults: func() WordPressSettings {
			s := WordPressSettings{PHPSettings: phpDefaults()}
			s.Writable = []string{"wp-content/uploads"} // media uploads; no PHP runs there
			return s
		},
		Check: func(ctx context.Context, s *WordPressSettings, errs *validate.Errors) {
			checkPHP(ctx, &s.PHPSettings, errs)
		}})
	api.SayValues(AppTypes.Labels()) // pages say the kinds by their labels
}

var (
	// wsgiModule is a dotted module path and an optional callable.
	wsgiModule = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$`)
	// timezone is an IANA zone's shape (Area/Location, UTC).
	timezone = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_+-]*)(/[A-Za-z0-9_+-]+){0,2}$`)
)

func checkPublicRoot(ctx context.Context, p string, errs *validate.Errors) {
	if p == "" {
		return
	}
	if msg := servedFolder(ctx, p); msg != "" {
		errs.Add("public_root", msg)
	}
}

// servedName is what a folder's name may hold in a web server's
// configuration (vhost writes nothing else).
var servedName = regexp.MustCompile(`^[A-Za-z0-9._@+-]+$`)

// servedFolder is what is wrong with p, a folder inside an app that the web
// servers' configurations name (served or writable), or "".
func servedFolder(ctx context.Context, p string) string {
	if msg := paths.RelProblem(ctx, p); msg != "" {
		return msg
	}
	for _, part := range strings.Split(p, "/") {
		if !servedName.MatchString(part) {
			return i18n.T(ctx, "Use only letters, digits and . _ @ + - in the folder's names: the web servers' configuration names it.")
		}
	}
	return ""
}

func checkVersion(ctx context.Context, field, v string, offered []string, errs *validate.Errors) {
	if !slices.Contains(offered, v) {
		errs.Add(field, i18n.T(ctx, "Select a valid choice: %q is not one of %s.", v, strings.Join(offered, ", ")))
	}
}

// megabytes is the number of a value such as 128M.
func megabytes(s string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(s, "M"))
	return n
}

// checkPHP adds what PHP's settings' tags cannot say; post_max_size is
// raised to upload_max_filesize when smaller, as the original did.
func checkPHP(ctx context.Context, s *PHPSettings, errs *validate.Errors) {
	checkPublicRoot(ctx, s.PublicRoot, errs)
	checkVersion(ctx, "version", s.Version, PHPVersions.Get(), errs)
	if megabytes(s.PostMaxSize) < megabytes(s.UploadMaxFilesize) {
		s.PostMaxSize = s.UploadMaxFilesize
	}
	for _, f := range []struct {
		name string
		list *[]string
	}{{"enable_functions", &s.EnableFunctions}, {"disable_functions", &s.DisableFunctions}} {
		if *f.list == nil {
			*f.list = []string{}
		}
		for _, fn := range *f.list {
			if !phpFunction.MatchString(fn) {
				errs.Add(f.name, i18n.T(ctx, "%q is not a PHP function name (letters, digits and _).", fn))
				break
			}
		}
	}
	if s.DateTimezone != "" && !timezone.MatchString(s.DateTimezone) {
		errs.Add("date_timezone", i18n.T(ctx, "Enter a time zone such as Europe/Madrid, or leave it empty."))
	}
	if s.Writable == nil {
		s.Writable = []string{}
	}
	for _, w := range s.Writable {
		if msg := servedFolder(ctx, w); msg != "" {
			errs.Add("writable", i18n.T(ctx, "%q: %s", w, msg))
			break
		}
	}
}

// EffectiveDisabledFunctions are the PHP functions an app may not use: its
// own disable_functions and WEBAPPS_PHP_DISABLED_FUNCTIONS less those it
// enables, as the original computed them.
func EffectiveDisabledFunctions(s *PHPSettings) []string {
	out := slices.Clone(s.DisableFunctions)
	for _, f := range DisabledFunctions.Get() {
		if !slices.Contains(s.EnableFunctions, f) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
