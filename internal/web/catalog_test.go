package web

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/i18n/extract"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	_ "github.com/orchestra-panel/orchestra/internal/services/all" // every service's strings
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// shown lists what the pages translate that no source line spells out as a
// message: what every model, field, action, setting and backend declares.
func shown(g *registry) map[string]string {
	out := map[string]string{}
	add := func(where, s string) {
		if s != "" {
			if _, ok := out[s]; !ok {
				out[s] = where
			}
		}
	}
	var schema func(where string, s *huma.Schema)
	schema = func(where string, s *huma.Schema) {
		for _, f := range fields(s) {
			add(where, humanize(f.Name))
			add(where, f.Description)
		}
	}
	for _, m := range g.order {
		where := "model " + m.Name
		add(where, m.Label)
		add(where, m.Singular)
		for _, fs := range m.Fieldsets {
			add(where, fs.Label)
			for _, f := range fs.Fields {
				add(where, humanize(f))
			}
		}
		for _, c := range m.Columns {
			add(where, humanize(c))
		}
		for _, s := range []*huma.Schema{m.Item, m.Create, m.Update, m.Created} {
			schema(where, s)
		}
		for _, k := range m.Kinds {
			add(where, k.Label)
			for _, f := range k.Fields {
				add(where, humanize(f.Name))
				add(where, f.Description)
			}
		}
		for _, f := range m.Filters {
			add(where, humanize(f.Name))
			add(where, f.Description)
		}
		for _, a := range slices.Concat(m.Actions, m.Views, m.Downloads) {
			add(where, a.Label)
			add(where, a.Summary)
			if a.Body != nil {
				schema(where, a.Body)
			}
		}
	}
	for _, s := range settings.All() {
		add("setting "+s.Name, s.Help)
		add("setting "+s.Name, humanize(strings.ToLower(s.Group)))
	}
	for _, b := range orchestration.Backends() {
		add("backend "+b.Name, b.Verbose)
	}
	return out
}

var verbRE = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// TestEveryStringTranslated: each catalog holds every message the sources
// translate and every label the declarations give, with the same format
// verbs. ORCHESTRA_I18N_MISSING=file writes what is missing as JSON.
func TestEveryStringTranslated(t *testing.T) {
	msgs, err := extract.Messages("../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 100 {
		t.Fatalf("only %d messages found in the sources", len(msgs))
	}
	g := buildRegistry(api.New(storetest.SQLite(t), api.Config{Version: "test"}).API().OpenAPI())
	for s, where := range shown(g) {
		if _, ok := msgs[s]; !ok {
			msgs[s] = where
		}
	}
	langs := i18n.Languages()
	for _, want := range []string{"ca", "es"} {
		if !slices.Contains(langs, want) {
			t.Errorf("no %s catalog", want)
		}
	}
	missing := map[string]map[string]string{}
	for _, lang := range langs {
		cat, err := i18n.Catalog(lang)
		if err != nil {
			t.Fatal(err)
		}
		for msg, where := range msgs {
			tr, ok := cat[msg]
			switch {
			case !ok || tr == "":
				if missing[lang] == nil {
					missing[lang] = map[string]string{}
				}
				missing[lang][msg] = where
			case !slices.Equal(verbRE.FindAllString(msg, -1), verbRE.FindAllString(tr, -1)):
				t.Errorf("%s: %q is %q: the format verbs differ", lang, msg, tr)
			}
		}
		for msg := range cat {
			if _, ok := msgs[msg]; !ok {
				t.Logf("%s: %q is no longer shown", lang, msg)
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	if file := os.Getenv("ORCHESTRA_I18N_MISSING"); file != "" {
		b, _ := json.MarshalIndent(missing, "", "  ")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range langs {
		var list []string
		for msg, where := range missing[lang] {
			list = append(list, fmt.Sprintf("  %q (%s)", msg, where))
		}
		slices.Sort(list)
		if len(list) > 0 {
			t.Errorf("the %s catalog lacks %d messages:\n%s", lang, len(list), strings.Join(list, "\n"))
		}
	}
}
