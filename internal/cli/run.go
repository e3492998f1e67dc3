package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/api"
)

// Caller performs an API request (api.Server.Call); path is under
// api.Prefix.
type Caller interface {
	Call(ctx context.Context, method, path string, body []byte, header http.Header) (*api.Response, error)
}

// Env is what a command reads, writes and reaches the API through.
type Env struct {
	Program        string // as typed: orchestra
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Globals are the program's own flags taking a value, accepted after
	// the model too when the verb has no flag so named (--database).
	Globals []string
	// Connect reaches the API once the command line is understood (help
	// and mistakes need no database), with the globals given after the
	// model; done releases what it opened.
	Connect func(globals map[string]string) (c Caller, done func(), err error)
}

// PasswordEnv is the variable a password is read from when no flag gives it.
const PasswordEnv = "ORCHESTRA_PASSWORD"

// orchestraHeaders begins the headers the command prints (on standard
// error): a write's changes, operations and outcome, a list's count of
// changes not planned yet (see docs/api.md).
const orchestraHeaders = "Orchestra-"

// Run performs argv (a verb, its <ref> and flags) on model m.
func (r *Registry) Run(ctx context.Context, m *Model, argv []string, env Env) error {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(argv) == 0 {
		return fmt.Errorf("%s needs a verb: %s (%s %s --help)", m.Name, strings.Join(m.VerbNames(), ", "), env.Program, m.Name)
	}
	if argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help" {
		if len(argv) > 1 && argv[0] == "help" {
			if v := m.Verb(argv[1]); v != nil {
				r.verbHelp(env.Stdout, env.Program, m, v)
				return nil
			}
		}
		r.modelHelp(env.Stdout, env.Program, m)
		return nil
	}
	v := m.Verb(argv[0])
	if v == nil {
		return fmt.Errorf("unknown verb %q for %s; valid verbs: %s", argv[0], m.Name, strings.Join(m.VerbNames(), ", "))
	}
	a, err := parse(m, v, argv[1:], env.Globals)
	if err != nil {
		return err
	}
	if a.help {
		r.verbHelp(env.Stdout, env.Program, m, v)
		return nil
	}
	c, done, err := env.Connect(a.globals)
	if err != nil {
		return err
	}
	defer done()
	x := &run{r: r, m: m, v: v, a: a, env: env, c: c}
	return x.do(ctx)
}

// run is one verb being performed.
type run struct {
	r   *Registry
	m   *Model
	v   *Verb
	a   *args
	env Env
	c   Caller
}

func (x *run) do(ctx context.Context) error {
	var id int
	if x.v.Object {
		var err error
		if id, err = x.r.lookup(ctx, x.c, x.m, x.a.ref); err != nil {
			return err
		}
	}
	path := strings.Replace(x.v.Path, "{id}", strconv.Itoa(id), 1)
	query, err := x.query(ctx)
	if err != nil {
		return err
	}
	if x.v.Name == "list" { // the collection's GET: no action takes a standard verb's name
		return x.list(ctx, path, query)
	}
	var body []byte
	if x.v.Body {
		if body, err = x.body(ctx); err != nil {
			return err
		}
	}
	header := http.Header{}
	if x.v.Method != http.MethodGet {
		// the answer comes once the write is saved; the panel applies it
		header.Set("Prefer", "respond-async")
	}
	if x.v.Name == "update" && !bodyHas(body, "version") {
		// based on the version as it is now
		res, err := x.call(ctx, http.MethodGet, strings.Replace(x.m.Path+"/{id}", "{id}", strconv.Itoa(id), 1), nil, nil)
		if err != nil {
			return err
		}
		if et := res.Header.Get("ETag"); et != "" {
			header.Set("If-Match", et)
		}
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	res, err := x.call(ctx, x.v.Method, path, body, header)
	if err != nil {
		return err
	}
	return x.show(res)
}

// call performs a request and turns an error answer into an error.
func (x *run) call(ctx context.Context, method, path string, body []byte, header http.Header) (*api.Response, error) {
	res, err := x.c.Call(ctx, method, path, body, header)
	if err != nil {
		return nil, err
	}
	if res.Status >= 400 {
		e := problem(res)
		if res.Status == http.StatusNotFound && x.v.Object && strings.HasPrefix(path, x.m.Path+"/") {
			e.Detail = fmt.Sprintf("no %s %s (%s)", strings.ToLower(x.m.Singular), x.a.ref, strings.TrimSuffix(e.Detail, "."))
		}
		return nil, e
	}
	return res, nil
}

// query is the verb's query parameters, from its flags.
func (x *run) query(ctx context.Context) (url.Values, error) {
	q := url.Values{}
	for _, f := range x.a.order {
		if f.In != "query" {
			continue
		}
		for _, val := range x.a.values[f.Name] {
			if f.Ref != "" {
				if n, err := x.r.lookupModel(ctx, x.c, f.Ref, val); err != nil {
					return nil, fmt.Errorf("%s: %w", f.Option(), err)
				} else {
					val = strconv.Itoa(n)
				}
			}
			q.Add(f.Name, val)
		}
	}
	return q, nil
}

// body is the verb's JSON body: --data, then each flag given, converted by
// its schema, and a password read when no flag gives it.
func (x *run) body(ctx context.Context) ([]byte, error) {
	body := map[string]any{}
	if x.a.data != "" {
		text := x.a.data
		if strings.HasPrefix(text, "@") {
			b, err := os.ReadFile(text[1:])
			if err != nil {
				return nil, fmt.Errorf("--data: %w", err)
			}
			text = string(b)
		}
		d := json.NewDecoder(strings.NewReader(text))
		d.UseNumber()
		if err := d.Decode(&body); err != nil || body == nil {
			return nil, fmt.Errorf("--data: not a JSON object: %v", err)
		}
	}
	for _, f := range x.a.order {
		if f.In != "body" {
			continue
		}
		v, err := x.r.convert(ctx, x.c, f, x.a.values[f.Name])
		if err != nil {
			return nil, err
		}
		body[f.Name] = v
	}
	if f := x.passwordFlag(); f != nil {
		if _, ok := body[f.Name]; !ok {
			pw, ok, err := x.readPassword(f.Required)
			if err != nil {
				return nil, err
			}
			if ok {
				body[f.Name] = pw
			}
		}
	}
	if x.v.Name == "update" {
		n := len(body)
		if _, ok := body["version"]; ok {
			n--
		}
		if n == 0 {
			return nil, fmt.Errorf("nothing to change: give one of %s", strings.Join(bodyFlags(x.v), ", "))
		}
	}
	return json.Marshal(body)
}

func bodyFlags(v *Verb) []string {
	var out []string
	for _, f := range v.Flags {
		if f.In == "body" && f.Name != "version" {
			out = append(out, f.Option())
		}
	}
	return out
}

// passwordFlag is the body's password field, if it has one.
func (x *run) passwordFlag() *Flag {
	for _, f := range x.v.Flags {
		if f.In == "body" && f.Name == "password" {
			return f
		}
	}
	return nil
}

// readPassword reads a password from PasswordEnv or the first line of
// standard input; an optional one (a new account's) only from a pipe or a
// file, not from a terminal.
func (x *run) readPassword(required bool) (string, bool, error) {
	if pw := x.env.Getenv(PasswordEnv); pw != "" {
		return pw, true, nil
	}
	if x.env.Stdin == nil {
		if required {
			return "", false, fmt.Errorf("no password: give --password, set %s or write it on standard input", PasswordEnv)
		}
		return "", false, nil
	}
	if f, ok := x.env.Stdin.(*os.File); ok && !required {
		// not from a terminal, which would wait for it
		if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 && !fi.Mode().IsRegular() {
			return "", false, nil
		}
	}
	line, err := bufio.NewReader(x.env.Stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if required {
			if err != nil && !errors.Is(err, io.EOF) {
				return "", false, fmt.Errorf("no password: %w", err)
			}
			return "", false, fmt.Errorf("no password: give --password, set %s or write it on standard input", PasswordEnv)
		}
		return "", false, nil
	}
	return line, true, nil
}

// convert turns a flag's values into its JSON value by its schema: numbers,
// booleans, lists (repeated or comma-separated), objects as JSON. A value
// that does not convert is sent as it is, for the API to refuse with the
// other mistakes; a reference to another model may be its title.
func (r *Registry) convert(ctx context.Context, c Caller, f *Flag, vals []string) (any, error) {
	s := f.Schema
	if s == nil {
		return vals[len(vals)-1], nil
	}
	if s.Type == "array" {
		items := r.resolve(s.Items)
		out := []any{}
		for _, val := range vals {
			parts := []string{val}
			if items == nil || items.Type != "object" {
				parts = strings.Split(val, ",")
			}
			for _, p := range parts {
				if strings.TrimSpace(p) == "" {
					continue
				}
				v, err := r.scalar(ctx, c, f, items, p)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
		}
		return out, nil
	}
	return r.scalar(ctx, c, f, s, vals[len(vals)-1])
}

func (r *Registry) scalar(ctx context.Context, c Caller, f *Flag, s *huma.Schema, val string) (any, error) {
	t := ""
	if s != nil {
		t = s.Type
	}
	switch t {
	case "string":
		return val, nil
	case "integer":
		v := strings.TrimSpace(val)
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return json.Number(v), nil
		}
		if f.Ref != "" {
			n, err := r.lookupModel(ctx, c, f.Ref, val)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Option(), err)
			}
			return n, nil
		}
	case "number":
		v := strings.TrimSpace(val)
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return json.Number(v), nil
		}
	case "boolean":
		if b, err := strconv.ParseBool(strings.TrimSpace(val)); err == nil {
			return b, nil
		}
	default: // objects, and anything else, as JSON
		var v any
		d := json.NewDecoder(strings.NewReader(val))
		d.UseNumber()
		if err := d.Decode(&v); err == nil {
			return v, nil
		}
	}
	return val, nil
}

// lookupModel resolves ref among the objects of the model named name.
func (r *Registry) lookupModel(ctx context.Context, c Caller, name, ref string) (int, error) {
	m := r.byName[name]
	if m == nil {
		if n, err := strconv.Atoi(ref); err == nil {
			return n, nil
		}
		return 0, fmt.Errorf("%q is not an id", ref)
	}
	return r.lookup(ctx, c, m, ref)
}

// lookup resolves ref, an id or an object's title, to an id: a title is
// looked for through the list (its filter named as the title field, else
// its search) and must match exactly one object.
func (r *Registry) lookup(ctx context.Context, c Caller, m *Model, ref string) (int, error) {
	if n, err := strconv.Atoi(ref); err == nil && n > 0 && strconv.Itoa(n) == ref {
		return n, nil
	}
	list := m.Verb("list")
	singular := strings.ToLower(m.Singular)
	if m.Title == "" || m.Title == "id" || list == nil {
		return 0, fmt.Errorf("%q: %s is named by its id", ref, article(singular))
	}
	q := url.Values{}
	switch {
	case hasFlag(list, m.Title, "query"):
		q.Set(m.Title, ref)
	case hasFlag(list, "search", "query"):
		q.Set("search", ref)
	}
	var ids []int
	err := r.pages(ctx, c, m, list, q, func(obj json.RawMessage) {
		var fields map[string]json.RawMessage
		if json.Unmarshal(obj, &fields) != nil {
			return
		}
		var title string
		var id int
		if json.Unmarshal(fields[m.Title], &title) == nil && title == ref && json.Unmarshal(fields["id"], &id) == nil {
			ids = append(ids, id)
		}
	})
	if err != nil {
		return 0, err
	}
	switch len(ids) {
	case 0:
		return 0, fmt.Errorf("no %s named %s", singular, ref)
	case 1:
		return ids[0], nil
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return 0, fmt.Errorf("%d %s named %s (ids %s): give the id", len(ids), strings.ToLower(m.Label), ref, strings.Join(s, ", "))
}

func hasFlag(v *Verb, name, in string) bool {
	for _, f := range v.Flags {
		if f.Name == name && f.In == in {
			return true
		}
	}
	return false
}

// page is a list's answer.
type page struct {
	Count      int               `json:"count"`
	CountExact bool              `json:"count_exact"`
	Page       int               `json:"page"`
	PageSize   int               `json:"page_size"`
	Results    []json.RawMessage `json:"results"`
}

// pages walks a list from the page q names (the first by default) to the
// last, in pages as large as the list allows unless q sets their size.
func (r *Registry) pages(ctx context.Context, c Caller, m *Model, list *Verb, q url.Values, each func(json.RawMessage)) error {
	q = cloneValues(q)
	if q.Get("page_size") == "" && hasFlag(list, "page_size", "query") {
		size := 100
		for _, f := range list.Flags {
			if f.Name == "page_size" && f.Schema != nil && f.Schema.Maximum != nil {
				size = int(*f.Schema.Maximum)
			}
		}
		q.Set("page_size", strconv.Itoa(size))
	}
	n, _ := strconv.Atoi(q.Get("page"))
	n = max(n, 1)
	for {
		q.Set("page", strconv.Itoa(n))
		p, _, err := r.page(ctx, c, m, list, q)
		if err != nil {
			return err
		}
		for _, o := range p.Results {
			each(o)
		}
		if len(p.Results) == 0 || len(p.Results) < p.PageSize || p.CountExact && n*p.PageSize >= p.Count {
			return nil
		}
		n++
	}
}

// page reads one page of a list.
func (r *Registry) page(ctx context.Context, c Caller, m *Model, list *Verb, q url.Values) (*page, *api.Response, error) {
	path := list.Path
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	res, err := c.Call(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	if res.Status >= 400 {
		return nil, nil, problem(res)
	}
	var p page
	if err := json.Unmarshal(res.Body, &p); err != nil {
		return nil, nil, fmt.Errorf("list of %s: %w", strings.ToLower(m.Label), err)
	}
	return &p, res, nil
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string{}, v...)
	}
	return out
}

// list prints a page of objects, or all of them with --all.
func (x *run) list(ctx context.Context, path string, q url.Values) error {
	if x.a.all {
		var objs []json.RawMessage
		if err := x.r.pages(ctx, x.c, x.m, x.v, q, func(o json.RawMessage) { objs = append(objs, o) }); err != nil {
			return err
		}
		if x.a.json {
			if objs == nil {
				objs = []json.RawMessage{}
			}
			b, _ := json.Marshal(objs)
			return writeJSON(x.env.Stdout, b)
		}
		x.table(objs)
		return nil
	}
	p, res, err := x.r.page(ctx, x.c, x.m, x.v, q)
	if err != nil {
		return err
	}
	defer x.headers(res)
	if x.a.json {
		return writeJSON(x.env.Stdout, res.Body)
	}
	x.table(p.Results)
	label := strings.ToLower(x.m.Label)
	switch {
	case p.Count == 0:
		fmt.Fprintf(x.env.Stderr, "no %s\n", label)
	case p.PageSize > 0 && (p.Page-1)*p.PageSize+len(p.Results) < p.Count || !p.CountExact:
		more := ""
		if !p.CountExact {
			more = "+"
		}
		fmt.Fprintf(x.env.Stderr, "page %d: %d of %d%s %s; --page %d for the next, --all for all\n",
			p.Page, len(p.Results), p.Count, more, label, p.Page+1)
	}
	return nil
}

// show prints a verb's answer: its JSON with --json, else its fields.
func (x *run) show(res *api.Response) error {
	defer x.headers(res)
	if x.a.json {
		if len(bytes.TrimSpace(res.Body)) == 0 {
			return nil
		}
		return writeJSON(x.env.Stdout, res.Body)
	}
	ref := x.a.ref
	title := ""
	if fields, ok := object(res.Body); ok {
		for _, f := range fields {
			if f.name == x.m.Title {
				title = format(f.value)
			}
		}
	}
	if title == "" {
		title = ref
	}
	switch {
	case x.v.Method == http.MethodDelete:
		fmt.Fprintf(x.env.Stdout, "deleted %s %s\n", strings.ToLower(x.m.Singular), ref)
		return nil
	case x.v.Object && x.onlyPassword():
		fmt.Fprintf(x.env.Stdout, "password of %s set\n", title)
		return nil
	case len(bytes.TrimSpace(res.Body)) == 0:
		fmt.Fprintf(x.env.Stdout, "%s %s %s: done\n", x.m.Name, x.v.Name, ref)
		return nil
	}
	writeFields(x.env.Stdout, res.Body)
	return nil
}

// onlyPassword tells whether the verb's body is a password alone.
func (x *run) onlyPassword() bool {
	n := 0
	for _, f := range x.v.Flags {
		if f.In == "body" {
			if f.Name != "password" {
				return false
			}
			n++
		}
	}
	return n == 1
}

// headers prints what a write's answer says of its orchestration, and
// the command that follows it (the answer's monitor link).
func (x *run) headers(res *api.Response) {
	var names []string
	for h := range res.Header {
		if strings.HasPrefix(h, orchestraHeaders) {
			names = append(names, h)
		}
	}
	sort.Strings(names)
	for _, h := range names {
		fmt.Fprintf(x.env.Stderr, "%s: %s\n", h, strings.Join(res.Header.Values(h), ", "))
	}
	if cmd := x.monitor(res.Header.Values("Link")); cmd != "" {
		fmt.Fprintf(x.env.Stderr, "follow with: %s\n", cmd)
	}
}

// monitor turns a rel="monitor" link to a model's list into its command.
func (x *run) monitor(links []string) string {
	for _, l := range links {
		for rest := strings.TrimSpace(l); strings.HasPrefix(rest, "<"); {
			// <target>; params, <target>; params: a target may hold commas
			target, after, ok := strings.Cut(rest[1:], ">")
			if !ok {
				break
			}
			params := after
			if i := strings.Index(after, ",<"); i >= 0 {
				params, rest = after[:i], strings.TrimSpace(after[i+1:])
			} else if i := strings.Index(after, ", <"); i >= 0 {
				params, rest = after[:i], strings.TrimSpace(after[i+1:])
			} else {
				rest = ""
			}
			if !strings.Contains(params, `rel="monitor"`) {
				continue
			}
			u, err := url.Parse(target)
			if err != nil {
				continue
			}
			path := strings.TrimPrefix(u.Path, api.Prefix)
			for _, m := range x.r.Models {
				if m.Path != path || m.Verb("list") == nil {
					continue
				}
				cmd := []string{x.env.Program, m.Name, "list"}
				q := u.Query()
				keys := make([]string, 0, len(q))
				for k := range q {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					for _, v := range q[k] {
						cmd = append(cmd, "--"+dashed(k), v)
					}
				}
				return strings.Join(cmd, " ")
			}
		}
	}
	return ""
}

func bodyHas(body []byte, field string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, ok := m[field]
	return ok
}

func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
