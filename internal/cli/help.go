package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
)

// Summary is a model's one-line help: its verbs.
func (m *Model) Summary() string {
	return m.Label + ": " + strings.Join(m.VerbNames(), ", ") + "."
}

// modelHelp prints a model's verbs.
func (r *Registry) modelHelp(w io.Writer, program string, m *Model) {
	fmt.Fprintf(w, "Usage: %s %s <verb> [<ref>] [flags]\n\n", program, m.Name)
	fmt.Fprintf(w, "%s, as the API serves them (%s%s).", m.Label, api.Prefix, m.Path)
	if hint := titleHint(m); hint != "" {
		fmt.Fprintf(w, " <ref> is %s's id%s.", article(strings.ToLower(m.Singular)), hint)
	} else {
		fmt.Fprintf(w, " <ref> is %s's id.", article(strings.ToLower(m.Singular)))
	}
	fmt.Fprint(w, "\n\nVerbs:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range m.Verbs {
		use := v.Name
		if v.Object {
			use += " <ref>"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", use, v.Summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun \"%s %s <verb> --help\" for a verb's flags.\n", program, m.Name)
}

// verbHelp prints a verb's flags with their documentation.
func (r *Registry) verbHelp(w io.Writer, program string, m *Model, v *Verb) {
	use := program + " " + m.Name + " " + v.Name
	if v.Object {
		use += " <ref>"
	}
	fmt.Fprintf(w, "Usage: %s [flags]\n\n", use)
	if v.Summary != "" {
		fmt.Fprintf(w, "%s.\n", strings.TrimSuffix(v.Summary, "."))
	}
	if v.Description != "" {
		fmt.Fprintf(w, "%s\n", v.Description)
	}
	if v.Object {
		fmt.Fprintf(w, "\n<ref> is the %s's id%s.\n", strings.ToLower(m.Singular), titleHint(m))
	}
	switch v.Name {
	case "update":
		fmt.Fprintln(w, "The update is based on the object's current version unless --version gives the one you read.")
	case "list":
		fmt.Fprintln(w, "Filters naming another model's object take its id or its title.")
	}
	fmt.Fprint(w, "\nFlags:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range v.Flags {
		opt := f.Option() + placeholder(r, f)
		if f.Schema != nil && f.Schema.Type == "boolean" {
			opt = "--[no-]" + dashed(f.Name)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", opt, r.flagDoc(m, f))
	}
	if v.Body {
		fmt.Fprintf(tw, "  --data=JSON\t%s\n", "The body as a JSON object (@file reads it from a file); flags set fields over it.")
	}
	if v.Name == "list" {
		fmt.Fprintf(tw, "  --all\t%s\n", "Every page.")
	}
	fmt.Fprintf(tw, "  --json\t%s\n", "Print the API's JSON.")
	fmt.Fprintf(tw, "  -h, --help\t%s\n", "Show this help.")
	tw.Flush()
}

// placeholder shows what a flag takes.
func placeholder(r *Registry, f *Flag) string {
	s := f.Schema
	if s == nil {
		return "=VALUE"
	}
	switch s.Type {
	case "boolean":
		return ""
	case "integer", "number", "string":
		return "=" + strings.ToUpper(s.Type)
	case "array":
		t := "VALUE"
		if it := r.resolve(s.Items); it != nil && it.Type != "" {
			t = strings.ToUpper(it.Type)
		}
		if it := r.resolve(s.Items); it != nil && it.Type == "object" {
			return "=JSON (repeatable)"
		}
		return "=" + t + ",…"
	}
	return "=JSON"
}

// flagDoc is a flag's documentation: its schema's, with what it accepts.
func (r *Registry) flagDoc(m *Model, f *Flag) string {
	var parts []string
	if f.Doc != "" {
		parts = append(parts, strings.TrimSuffix(f.Doc, "."))
	}
	s := f.Schema
	if s != nil {
		if len(s.Enum) > 0 {
			parts = append(parts, "one of "+enumList(s.Enum))
		} else if s.Items != nil && len(r.resolve(s.Items).Enum) > 0 {
			parts = append(parts, "each one of "+enumList(r.resolve(s.Items).Enum))
		}
		if s.Default != nil {
			parts = append(parts, fmt.Sprintf("default %v", s.Default))
		}
		if s.Format != "" && s.Format != "int64" && s.Format != "int32" {
			parts = append(parts, s.Format)
		}
		if s.Type == "object" || s.Type == "" {
			parts = append(parts, "a JSON value"+props(r, s))
		}
	}
	if f.Ref != "" {
		if m := r.byName[f.Ref]; m != nil && m.Title != "" && m.Title != "id" {
			parts = append(parts, fmt.Sprintf("%s's id or %s", article(strings.ToLower(m.Singular)), m.Title))
		}
	}
	if f.In == "query" && f.Name == "ordering" && len(m.Orderable) > 0 {
		parts = append(parts, "by "+strings.Join(m.Orderable, ", "))
	}
	if f.In == "body" && f.Name == "password" {
		parts = append(parts, "when not given, read from "+PasswordEnv+" or the first line of standard input")
	}
	doc := strings.Join(parts, "; ")
	if f.Required {
		doc = "(required) " + doc
	}
	return strings.TrimSpace(doc)
}

func enumList(e []any) string {
	s := make([]string, len(e))
	for i, v := range e {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// props names an object's properties.
func props(r *Registry, s *huma.Schema) string {
	if len(s.Properties) == 0 {
		return ""
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		if n != "$schema" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return " with " + strings.Join(names, ", ")
}

// article puts a or an before s.
func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}
