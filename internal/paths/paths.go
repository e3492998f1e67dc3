// Package paths is the one place a path a customer typed is checked before a
// root script acts on it. At save time a path must lie, as text, in a base
// its account owns (a system user's home, later a mailbox's or a web app's
// folder); on the server the script helpers of orchestration
// (Script.Enter, Script.MkdirAs, Script.CheckPath) make sure no root command
// follows a link out of that base. See docs/backends.md, "Paths a customer
// gives".
package paths

import (
	"context"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// MaxLen is the longest path accepted (PATH_MAX less room for what
// backends append).
const MaxLen = 1024

// MaxName is the longest name of one file system entry (NAME_MAX).
const MaxName = 255

// Base is a directory tree an account owns on its servers, and the UNIX
// user that owns it: on the server, what is made in it is made as Owner.
type Base struct {
	Path  string
	Owner string
}

// Provider returns the bases an account owns. Services register one for
// each kind of place they give accounts (system users' homes, …).
type Provider func(ctx context.Context, client *ent.Client, account int) ([]Base, error)

var (
	mu        sync.RWMutex
	providers = map[string]Provider{}
)

// Register adds the provider called name; service packages call it from
// init.
func Register(name string, p Provider) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := providers[name]; dup {
		panic("paths: provider registered twice: " + name)
	}
	providers[name] = p
}

// Owned returns every base account owns, whoever the viewer in ctx is.
func Owned(ctx context.Context, client *ent.Client, account int) ([]Base, error) {
	ctx = viewer.System(ctx, viewer.ChannelSystem)
	mu.RLock()
	names := slices.Sorted(maps.Keys(providers))
	list := make([]Provider, len(names))
	for i, n := range names {
		list[i] = providers[n]
	}
	mu.RUnlock()
	var out []Base
	for _, p := range list {
		bases, err := p(ctx, client, account)
		if err != nil {
			return nil, err
		}
		out = append(out, bases...)
	}
	return out, nil
}

// Within returns the innermost of bases that p lies in (p is the base or
// below it), as text: the server checks the physical place again.
func Within(bases []Base, p string) (Base, bool) {
	best, found := Base{}, false
	for _, b := range bases {
		if (p == b.Path || strings.HasPrefix(p, strings.TrimSuffix(b.Path, "/")+"/")) && (!found || len(b.Path) > len(best.Path)) {
			best, found = b, true
		}
	}
	return best, found
}

// AbsProblem says what is wrong with p as an absolute path on a server, or
// "" when nothing is: absolute, clean (no ., .., // or trailing /), at most
// MaxLen bytes, valid UTF-8 without control characters (a newline would
// split a line-based config, and no daemon takes such names).
func AbsProblem(ctx context.Context, p string) string {
	if msg := textProblem(ctx, p); msg != "" {
		return msg
	}
	if !path.IsAbs(p) || path.Clean(p) != p {
		return i18n.T(ctx, "Enter an absolute, clean path: starting with /, without .., . or //.")
	}
	return ""
}

// RelProblem says what is wrong with p as a path below a directory, or "":
// relative, clean, never climbing out (..), with AbsProblem's character
// rules.
func RelProblem(ctx context.Context, p string) string {
	if msg := textProblem(ctx, p); msg != "" {
		return msg
	}
	if path.IsAbs(p) || path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return i18n.T(ctx, "Enter a path inside the directory, such as webapps/blog, without .., . or a leading /.")
	}
	return ""
}

// NameProblem says what is wrong with n as one name in a directory (a
// link's name), or "".
func NameProblem(ctx context.Context, n string) string {
	if msg := textProblem(ctx, n); msg != "" {
		return msg
	}
	if strings.Contains(n, "/") || n == "." || n == ".." {
		return i18n.T(ctx, "Enter a single name, without / (not . or ..).")
	}
	return ""
}

func textProblem(ctx context.Context, p string) string {
	switch {
	case p == "":
		return i18n.T(ctx, "This field is required.")
	case len(p) > MaxLen:
		return i18n.T(ctx, "Enter at most %d bytes.", MaxLen)
	case !utf8.ValidString(p):
		return i18n.T(ctx, "Enter valid UTF-8 text.")
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return i18n.T(ctx, "Enter a path without control characters (newlines, tabs, NUL…).")
	}
	for _, name := range strings.Split(p, "/") {
		if len(name) > MaxName {
			return i18n.T(ctx, "Each name in a path has at most %d bytes.", MaxName)
		}
	}
	return ""
}
