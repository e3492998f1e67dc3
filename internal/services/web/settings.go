// Package web is the web hosting service: web apps (an application's folder
// and how it runs: static files, PHP, Python, a link, WordPress) and
// websites (domains and protocols, web apps mounted at paths, directives).
// This package holds their models' rules and API; the backends that write
// nginx, Apache, PHP-FPM and uWSGI configurations come apart.
package web

import (
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/settings"
)

// Protocols a website is served over.
const (
	HTTP      = "http"       // port 80
	HTTPS     = "https"      // port 443
	HTTPBoth  = "http/https" // both
	HTTPSOnly = "https-only" // 443, and 80 redirecting to it
)

// Protocols lists them all.
var Protocols = []string{HTTP, HTTPS, HTTPBoth, HTTPSOnly}

// Settings of web apps and websites, after the original's.
var (
	BaseDir = settings.String("WEBAPPS_BASE_DIR", "%(home)s/webapps/%(app_name)s",
		"A web app's folder: %(home)s is the home of its account's main system user, %(app_name)s the app's name.",
		settings.Validator(func(v any) error {
			s := v.(string)
			if !strings.Contains(s, "%(app_name)s") || !strings.HasPrefix(s, "%(home)s/") && !strings.HasPrefix(s, "/") {
				return errors.New("an absolute path (or one under %(home)s) with %(app_name)s in it")
			}
			return nil
		}))
	PHPVersions = settings.StringList("WEBAPPS_PHP_VERSIONS", []string{"8.2"},
		"PHP versions web apps may choose (those the web servers have; Debian 12 ships 8.2).",
		settings.Validator(versionList))
	DefaultPHPVersion = settings.String("WEBAPPS_DEFAULT_PHP_VERSION", "8.2",
		"PHP version of new PHP apps that name none; one of WEBAPPS_PHP_VERSIONS.", settings.Validator(version))
	PythonVersions = settings.StringList("WEBAPPS_PYTHON_VERSIONS", []string{"3.11"},
		"Python versions Python apps may choose (uWSGI's plugins; Debian 12 ships 3.11).", settings.Validator(versionList))
	DefaultPythonVersion = settings.String("WEBAPPS_DEFAULT_PYTHON_VERSION", "3.11",
		"Python version of new Python apps that name none; one of WEBAPPS_PYTHON_VERSIONS.", settings.Validator(version))
	DefaultProcesses = settings.Int("WEBAPPS_DEFAULT_PROCESSES", 3,
		"Processes (PHP-FPM children, uWSGI workers) of new apps that name none.", settings.Validator(func(v any) error {
			if n := v.(int); n < 1 || n > 99 {
				return errors.New("from 1 to 99")
			}
			return nil
		}))
	DisabledFunctions = settings.StringList("WEBAPPS_PHP_DISABLED_FUNCTIONS", []string{
		"exec", "passthru", "shell_exec", "system", "proc_open", "popen", "curl_multi_exec", "show_source",
		"pcntl_exec", "proc_close", "proc_get_status", "proc_nice", "proc_terminate", "ini_alter", "virtual",
		"openlog", "escapeshellcmd", "escapeshellarg", "dl", "fsockopen", "pfsockopen", "stream_socket_client",
		"getmxrr", "str_rot13"},
		"PHP functions disabled in every PHP app, but those an app enables (enable_functions).",
		settings.Validator(func(v any) error {
			for _, f := range v.([]string) {
				if !phpFunction.MatchString(f) {
					return errors.New("PHP function names only: letters, digits and _")
				}
			}
			return nil
		}))
	OfferedProtocols = settings.StringList("WEBSITES_PROTOCOLS", Protocols,
		"Protocols websites may choose: http, https, http/https, https-only.", settings.Choices(Protocols...))
	DefaultProtocol = settings.String("WEBSITES_DEFAULT_PROTOCOL", HTTP,
		"Protocol of new websites that name none.", settings.Choices(Protocols...))
)

var (
	versionRe   = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,2}$`)
	phpFunction = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func version(v any) error {
	if !versionRe.MatchString(v.(string)) {
		return errors.New("a version number, such as 8.2")
	}
	return nil
}

func versionList(v any) error {
	l := v.([]string)
	if len(l) == 0 {
		return errors.New("at least one version")
	}
	if slices.ContainsFunc(l, func(s string) bool { return version(s) != nil }) {
		return errors.New("version numbers, such as 8.2")
	}
	return nil
}
