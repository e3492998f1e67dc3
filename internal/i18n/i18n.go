// Package i18n is the one translation function every user-facing string goes
// through. Message IDs are the English text itself, so the English catalog is
// implicit and other catalogs map English text to translations.
package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

var (
	mu         sync.RWMutex
	bundle     = goi18n.NewBundle(language.English)
	localizers = map[string]*goi18n.Localizer{}
)

// The catalogs: locales/<language>.json maps English text to its
// translation. Every string the panel shows is in each of them; a test
// (internal/web) fails when one is missing.
//
//go:embed locales/*.json
var locales embed.FS

func init() {
	names, err := locales.ReadDir("locales")
	if err != nil {
		panic(err)
	}
	for _, e := range names {
		lang := strings.TrimSuffix(e.Name(), ".json")
		msgs, err := Catalog(lang)
		if err == nil {
			err = AddMessages(lang, msgs)
		}
		if err != nil {
			panic(fmt.Sprintf("i18n: catalog %s: %v", e.Name(), err))
		}
	}
}

// Catalog returns the embedded translations into lang.
func Catalog(lang string) (map[string]string, error) {
	b, err := locales.ReadFile(path.Join("locales", lang+".json"))
	if err != nil {
		return nil, err
	}
	msgs := map[string]string{}
	if err := json.Unmarshal(b, &msgs); err != nil {
		return nil, err
	}
	return msgs, nil
}

// Languages lists the languages the panel speaks besides English.
func Languages() []string { return slices.Clone(languages()) }

var languages = sync.OnceValue(func() []string {
	names, _ := locales.ReadDir("locales")
	var out []string
	for _, e := range names {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(out)
	return out
})

var matcher = sync.OnceValue(func() language.Matcher {
	tags := []language.Tag{language.English}
	for _, l := range languages() {
		tags = append(tags, language.Make(l))
	}
	return language.NewMatcher(tags)
})

// Accepted is the language the panel speaks that best fits an
// Accept-Language header, or "" when the header names none of them.
func Accepted(header string) string {
	if header == "" {
		return ""
	}
	prefs, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(prefs) == 0 {
		return ""
	}
	_, i, conf := matcher().Match(prefs...)
	if conf == language.No {
		return ""
	}
	if i == 0 {
		return "en"
	}
	return languages()[i-1]
}

// M marks msg as a message that is translated where it is shown, not where
// it is written (a table of messages): it returns msg unchanged, and the
// catalog test finds it.
func M(msg string) string { return msg }

type langKey struct{}

// WithLanguage returns a context whose translations use lang (e.g. "en", "es").
func WithLanguage(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, langKey{}, lang)
}

// Language returns the language carried by ctx, "en" by default.
func Language(ctx context.Context) string {
	if l, ok := ctx.Value(langKey{}).(string); ok && l != "" {
		return l
	}
	return "en"
}

// AddMessages registers translations of English message IDs for lang.
func AddMessages(lang string, msgs map[string]string) error {
	tag, err := language.Parse(lang)
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	for id, other := range msgs {
		if err := bundle.AddMessages(tag, &goi18n.Message{ID: id, Other: other}); err != nil {
			return err
		}
	}
	localizers = map[string]*goi18n.Localizer{}
	return nil
}

func localizer(lang string) *goi18n.Localizer {
	mu.RLock()
	l := localizers[lang]
	mu.RUnlock()
	if l != nil {
		return l
	}
	mu.Lock()
	defer mu.Unlock()
	l = goi18n.NewLocalizer(bundle, lang, "en")
	localizers[lang] = l
	return l
}

// T translates msg into the context's language and formats it with args
// (fmt verbs). Untranslated messages fall back to the English text.
func T(ctx context.Context, msg string, args ...any) string {
	return Tl(Language(ctx), msg, args...)
}

// Tl is T with an explicit language.
func Tl(lang string, msg string, args ...any) string {
	out := msg
	if lang != "en" {
		if s, err := localizer(lang).Localize(&goi18n.LocalizeConfig{
			DefaultMessage: &goi18n.Message{ID: msg, Other: msg},
		}); err == nil {
			out = s
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(out, args...)
	}
	return out
}
