package cli

import (
	"fmt"
	"sort"
	"strings"
)

// args is a verb's command line, understood.
type args struct {
	ref     string              // the object, for a verb on one
	values  map[string][]string // by the flag's API name, as given
	order   []*Flag             // flags as first given
	data    string              // --data
	json    bool                // --json
	all     bool                // --all, for list
	help    bool                // --help
	globals map[string]string   // the program's own flags given after the model
}

// parse reads a verb's arguments: its <ref>, if it acts on one object,
// then flags as --name value, --name=value, a boolean's --name alone (or
// --no-name), in any order; -- ends the flags.
func parse(m *Model, v *Verb, argv []string, globals []string) (*args, error) {
	a := &args{values: map[string][]string{}, globals: map[string]string{}}
	byOption := map[string]*Flag{}
	for _, f := range v.Flags {
		byOption[dashed(f.Name)] = f
	}
	isGlobal := func(n string) bool {
		for _, g := range globals {
			if g == n {
				return true
			}
		}
		return false
	}
	var positional []string
	flags := true
	for i := 0; i < len(argv); i++ {
		s := argv[i]
		if !flags || s == "-" || !strings.HasPrefix(s, "-") {
			positional = append(positional, s)
			continue
		}
		if s == "--" {
			flags = false
			continue
		}
		if s == "-h" {
			a.help = true
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(s, "-"), "=")
		name = dashed(name)
		next := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(argv) {
				return "", fmt.Errorf("--%s needs a value", name)
			}
			i++
			return argv[i], nil
		}
		f := byOption[name]
		switch {
		case f != nil && f.Schema != nil && f.Schema.Type == "boolean":
			switch {
			case hasValue:
			case i+1 < len(argv) && (argv[i+1] == "true" || argv[i+1] == "false"):
				i++
				value = argv[i]
			default:
				value = "true"
			}
			a.set(f, value)
		case f != nil:
			val, err := next()
			if err != nil {
				return nil, err
			}
			a.set(f, val)
		case strings.HasPrefix(name, "no-") && byOption[name[3:]] != nil && byOption[name[3:]].Schema != nil &&
			byOption[name[3:]].Schema.Type == "boolean" && !hasValue:
			a.set(byOption[name[3:]], "false")
		case name == "help":
			a.help = true
		case name == "json" && !hasValue:
			a.json = true
		case name == "all" && !hasValue && v.Name == "list":
			a.all = true
		case name == "data" && v.Body:
			val, err := next()
			if err != nil {
				return nil, err
			}
			a.data = val
		case isGlobal(name):
			val, err := next()
			if err != nil {
				return nil, err
			}
			a.globals[name] = val
		default:
			return nil, fmt.Errorf("unknown flag --%s for %s %s; valid flags: %s", name, m.Name, v.Name,
				strings.Join(validFlags(v), ", "))
		}
	}
	if a.help {
		return a, nil
	}
	switch {
	case v.Object && len(positional) == 0:
		return nil, fmt.Errorf("%s %s needs the %s: its id%s", m.Name, v.Name, strings.ToLower(m.Singular), titleHint(m))
	case v.Object && len(positional) > 1, !v.Object && len(positional) > 0:
		extra := positional
		if v.Object {
			extra = positional[1:]
		}
		return nil, fmt.Errorf("%s %s: unexpected argument %q (flags start with --; see --help)", m.Name, v.Name, extra[0])
	case v.Object:
		a.ref = positional[0]
	}
	return a, nil
}

func (a *args) set(f *Flag, value string) {
	if _, ok := a.values[f.Name]; !ok {
		a.order = append(a.order, f)
	}
	a.values[f.Name] = append(a.values[f.Name], value)
}

// given tells whether the flag named name was given.
func (a *args) given(name string) bool {
	_, ok := a.values[name]
	return ok
}

// validFlags lists the flags a verb takes, as typed.
func validFlags(v *Verb) []string {
	var out []string
	for _, f := range v.Flags {
		out = append(out, f.Option())
	}
	sort.Strings(out)
	if v.Body {
		out = append(out, "--data")
	}
	if v.Name == "list" {
		out = append(out, "--all")
	}
	return append(out, "--json", "--help")
}

// titleHint says what else names an object than its id.
func titleHint(m *Model) string {
	if m.Title == "" || m.Title == "id" {
		return ""
	}
	return " or its " + m.Title
}
