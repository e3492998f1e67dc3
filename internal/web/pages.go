package web

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// The model pages: list, object, add, change, delete, actions, views and
// bulk actions. Every read and write is an in-process API call as the
// viewer, so the API's validation and authorization are the pages' own.

const pageSize = 50

// Cell is one value as a table or an object page shows it.
type Cell struct {
	Label string
	Text  string
	Href  string
	Class string
	Pre   bool // preformatted (scripts, output, zones)
	// Changes are a recorded change's fields, old → new.
	Changes []FieldChange
}

// FieldChange is one field of a recorded change.
type FieldChange struct{ Field, Old, New string }

// Row is one object in a list.
type Row struct {
	ID    string
	Href  string
	Cells []Cell
}

// Column heads a list's column; Sort is the ordering its link applies.
type Column struct {
	Label  string
	Sort   string // the list's URL sorted by this column ("" when it cannot be)
	Sorted string // "asc", "desc" or ""
}

// FilterView is a list filter as the filter form shows it.
type FilterView struct {
	Field Field
	Label string
	Value string
	Named bool // its choices are names registered in code, shown as they are
}

// Say is how the filter's select shows choice v.
func (fv FilterView) Say(ctx context.Context, v string) string {
	if fv.Named {
		return v
	}
	return valueLabel(ctx, v)
}

// Table is a list of objects of a model.
type Table struct {
	Model   *Model
	Columns []Column
	Rows    []Row
	Live    string // a per-row action whose answer is shown in a last column (ping)
}

// ListPage is a model's change list.
type ListPage struct {
	Table
	Query      string
	Filters    []FilterView
	Ordering   string
	Count      int
	CountExact bool
	Page       int
	Pages      int
	Prev, Next string
	Bulk       []string
	CanAdd     bool
	AddHref    string
	Ops        string
	Problem    string
}

// nav is a link of the navigation, grouped.
type navGroup struct {
	Title string
	Links []navLink
}

type navLink struct{ Label, Href string }

func (w *Handler) navFor(r *http.Request) []navGroup {
	ctx := r.Context()
	m := me(r)
	titles := map[string]string{"services": i18n.T(ctx, "Services"), "accounts": i18n.T(ctx, "Accounts"),
		"activity": i18n.T(ctx, "Activity"), "administration": i18n.T(ctx, "Administration")}
	var out []navGroup
	for _, md := range w.models.order {
		if md.Staff && !m.Staff || md.Nested {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Title != titles[md.Group] {
			out = append(out, navGroup{Title: titles[md.Group]})
		}
		g := &out[len(out)-1]
		g.Links = append(g.Links, navLink{i18n.T(ctx, md.Label), "/" + md.Slug + "/"})
	}
	// in the reader's alphabetical order
	c := collate.New(language.Make(i18n.Language(ctx)), collate.IgnoreCase)
	for i := range out {
		slices.SortStableFunc(out[i].Links, func(a, b navLink) int { return c.CompareString(a.Label, b.Label) })
	}
	return out
}

// call performs an API request as the viewer of r.
func (w *Handler) call(r *http.Request, method, path string, body any, header ...string) (int, http.Header, []byte) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	resp, err := w.api.Call(r.Context(), method, path, b, h)
	if err != nil {
		return http.StatusInternalServerError, nil, []byte(err.Error())
	}
	return resp.Status, resp.Header, resp.Body
}

// getJSON reads an API resource into a map.
func (w *Handler) getJSON(r *http.Request, path string) (map[string]any, int, []byte) {
	status, _, body := w.call(r, http.MethodGet, path, nil)
	if status != http.StatusOK {
		return nil, status, body
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, http.StatusInternalServerError, []byte(err.Error())
	}
	return obj, status, body
}

// modelOr404 is the model of the path. Whether the viewer may see its
// objects is the API's to say, as each page calls it.
// fetch reads an object (or view) of the API for a page; when the API
// refuses, it shows why and returns nil.
func (w *Handler) fetch(rw http.ResponseWriter, r *http.Request, path string) map[string]any {
	obj, status, body := w.getJSON(r, path)
	if obj == nil {
		w.apiError(rw, r, parseProblem(status, body))
	}
	return obj
}

// listResult is one page of an API list.
type listResult struct {
	Count      int              `json:"count"`
	CountExact bool             `json:"count_exact"`
	Results    []map[string]any `json:"results"`
}

// listJSON reads one page of the list of slug.
func (w *Handler) listJSON(r *http.Request, slug string, params url.Values) (*listResult, int, []byte) {
	status, _, body := w.call(r, http.MethodGet, "/"+slug+"?"+params.Encode(), nil)
	if status != http.StatusOK {
		return nil, status, body
	}
	var res listResult
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, http.StatusInternalServerError, []byte(err.Error())
	}
	return &res, status, body
}

// sortedCells are the cells of an API answer's fields: first, then the rest
// by name. Nested lists of other objects (a log's operations) have pages of
// their own and are left out.
func (w *Handler) sortedCells(r *http.Request, m *Model, obj map[string]any, first ...string) []Cell {
	rank := map[string]int{}
	for i, f := range slices.Backward(first) { // the first mention counts
		rank[f] = i - len(first)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		if k != "$schema" && k != "operations" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	sort.SliceStable(keys, func(i, j int) bool { return rank[keys[i]] < rank[keys[j]] })
	cells := make([]Cell, 0, len(keys))
	for _, k := range keys {
		cells = append(cells, w.cell(r, m, k, obj[k]))
	}
	return cells
}

// objectTitle names an object on its pages.
func objectTitle(m *Model, id string, obj map[string]any) string {
	if t := formValue(Field{}, obj[m.Title]); m.Title != "id" && t != "" {
		return t
	}
	var parts []string
	for _, f := range m.Caption {
		if v := formValue(Field{}, obj[f]); v != "" {
			parts = append(parts, v)
		}
	}
	if c := strings.Join(parts, " "); c != "" {
		if len([]rune(c)) > 60 {
			c = string([]rune(c)[:59]) + "…"
		}
		return c
	}
	return "#" + id
}

// withQuery is the page's query with key set to value.
func withQuery(q url.Values, key, value string) url.Values {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	v.Set(key, value)
	return v
}

func (w *Handler) modelOr404(rw http.ResponseWriter, r *http.Request) *Model {
	m := w.models.model(r.PathValue("model"))
	if m == nil {
		w.notFound(rw, r)
		return nil
	}
	return m
}

func (w *Handler) notFound(rw http.ResponseWriter, r *http.Request) {
	w.apiError(rw, r, &problem{Status: http.StatusNotFound, Message: i18n.T(r.Context(), "There is no such page, or it is not yours.")})
}

// apiError shows a refused request as a page.
func (w *Handler) apiError(rw http.ResponseWriter, r *http.Request, p *problem) {
	ctx := r.Context()
	title := i18n.T(ctx, "Not found")
	switch p.Status {
	case http.StatusForbidden, http.StatusNotFound:
		// staff-only and other accounts' objects alike: their existence is not told
		p.Status, p.Message = http.StatusNotFound, i18n.T(ctx, "There is no such page, or it is not yours.")
	default:
		title = i18n.T(ctx, "Refused")
		switch {
		case p.Status == http.StatusBadGateway:
			title = i18n.T(ctx, "The server could not be reached")
		case p.Status >= 500:
			title = i18n.T(ctx, "Something went wrong")
		}
	}
	render(rw, r, p.Status, errorPage(w.frame(r, title), p))
}

// frame is what every page's frame needs.
func (w *Handler) frame(r *http.Request, title string) Frame {
	return Frame{Title: title, Me: me(r), Nav: w.navFor(r), Flash: flash(r)}
}

// Frame is the page frame's data.
type Frame struct {
	Title string
	Me    *Me
	Nav   []navGroup
	Flash string // what the last step did ("Saved.")
}

// flashes are the messages a redirect may ask the next page to show, by
// the ?done= it adds; only these, so that a link cannot make a page say
// anything else.
var flashes = map[string]string{"saved": "Saved.", "in": "You are logged in.", "out": "You have logged out."}

func flash(r *http.Request) string {
	if msg, ok := flashes[r.URL.Query().Get("done")]; ok {
		return i18n.T(r.Context(), msg)
	}
	return ""
}

// withDone is the path u asking its page to say what done did.
func withDone(u, done string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "done=" + done
}

// cell renders the JSON value v of field f of model m.
func (w *Handler) cell(r *http.Request, m *Model, f string, v any) Cell {
	ctx := r.Context()
	c := Cell{Label: label(r.Context(), f)}
	if ref := w.models.ref(m, f); ref != nil && v != nil {
		ids, ok := v.([]any)
		if !ok {
			ids = []any{v}
		}
		var parts []string
		for i, id := range ids {
			s := formValue(Field{}, id)
			if i >= 10 {
				parts = append(parts, "…")
				break
			}
			parts = append(parts, w.refTitle(r, ref, s))
			if len(ids) == 1 && (!ref.Staff || me(r).Staff) { // no link a customer cannot follow
				c.Href = "/" + ref.Slug + "/" + s
			}
		}
		c.Text = strings.Join(parts, ", ")
		return c
	}
	switch x := v.(type) {
	case nil:
		c.Text = "—"
	case bool:
		c.Text, c.Class = i18n.T(ctx, "no"), "no"
		if x {
			c.Text, c.Class = i18n.T(ctx, "yes"), "yes"
		}
	case string:
		c.Text = x
		if slices.Contains(m.Money, f) {
			if d, err := decimal.NewFromString(x); err == nil {
				c.Text = d.StringFixed(2)
			}
		}
		if m.Item != nil && m.Item.Properties[f] != nil && m.Item.Properties[f].Format == "date-time" {
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				c.Text = t.Local().Format("2006-01-02 15:04:05")
				if t.Equal(t.UTC().Truncate(24 * time.Hour)) {
					c.Text = t.UTC().Format(time.DateOnly) // a day (an order's, a bill line's), stored as its midnight
				}
			}
		}
		if f == "state" {
			c.Class = "state state-" + x
		} else if ch, chosen := m.Choices[f]; chosen && !ch.Named || f == "action" || f == "channel" {
			c.Text = valueLabel(ctx, x) // a code among choices, in words (registered names, backends, stay as named)
		} else if f == "object_type" || f == "model" {
			for _, other := range w.models.order {
				if other.Type == x {
					c.Text = i18n.T(ctx, other.Singular) // a model's type name, as people name it
				}
			}
		}
		c.Pre = strings.Contains(x, "\n")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formValue(Field{}, e)
		}
		c.Text = strings.Join(parts, ", ")
	case map[string]any:
		if f == "changes" { // a recorded change: field, old → new
			for _, name := range slices.Sorted(maps.Keys(x)) {
				ch := FieldChange{Field: label(ctx, name), Old: "—", New: "—"}
				if on, ok := x[name].(map[string]any); ok {
					if v, ok := on["old"]; ok && v != nil {
						ch.Old = formValue(Field{}, v)
					}
					if v, ok := on["new"]; ok && v != nil {
						ch.New = formValue(Field{}, v)
					}
					if _, ok := on["old"]; !ok {
						if _, ok := on["new"]; !ok {
							ch.Old, ch.New = "", i18n.T(ctx, "changed") // a secret says only that
						}
					}
				}
				c.Changes = append(c.Changes, ch)
			}
			break
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		c.Text, c.Pre = string(b), true
	default:
		if s := formValue(Field{}, v); !strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "[") {
			c.Text = s
		} else {
			b, _ := json.MarshalIndent(v, "", "  ")
			c.Text, c.Pre = string(b), true
		}
	}
	return c
}

// label is a field's name as people read it.
func label(ctx context.Context, f string) string {
	if s := humanize(f); s != "" {
		return i18n.T(ctx, s)
	}
	return ""
}

// humanize is a field's or a verb's name as English words: host_key and
// host-key are "Host key".
func humanize(f string) string {
	f = f[strings.LastIndex(f, ".")+1:] // an object's field: its own name
	if w, ok := words[f]; ok {
		return w
	}
	words := strings.FieldsFunc(strings.TrimSuffix(f, "_id"), func(r rune) bool { return r == '_' || r == '-' })
	for i, w := range words {
		if acronyms[w] {
			words[i] = strings.ToUpper(w)
		}
	}
	s := strings.Join(words, " ")
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// words name the fields whose names are not words.
var words = map[string]string{"repr": "Object", "object_repr": "Object"}

// languageNames are languages as their speakers name them.
var languageNames = map[string]string{"EN": "English", "ES": "Español", "CA": "Català"}

var (
	settingName   = regexp.MustCompile(`\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b`)
	sentenceBreak = regexp.MustCompile(`[.;] `)
)

// help is a field's help in the reader's words: customers are not told
// which setting gives a default (the form shows the default itself), so the
// parts of it naming one are left out for them.
func help(r *http.Request, desc string) string {
	if desc == "" {
		return ""
	}
	s := i18n.T(r.Context(), desc)
	if !settingName.MatchString(s) || me(r) == nil || me(r).Staff {
		return s
	}
	var kept []string
	for _, part := range sentenceBreak.Split(strings.TrimSuffix(s, "."), -1) {
		if !settingName.MatchString(part) {
			kept = append(kept, part)
		}
	}
	if len(kept) == 0 {
		return ""
	}
	return strings.Join(kept, "; ") + "."
}

// valueLabel is a choice's value as people read it.
func valueLabel(ctx context.Context, v string) string {
	if n, ok := languageNames[v]; ok {
		return n
	}
	if w, ok := api.ValueWords(v); ok {
		return i18n.T(ctx, w)
	}
	return v
}

var acronyms = map[string]bool{"id": true, "ttl": true, "ds": true, "os": true, "ssh": true, "dns": true,
	"dnssec": true, "ip": true, "url": true, "ms": true}

type refKey struct{}

// refTitles remembers, for one request, the names of objects cells refer to.
type refTitles map[string]string

// refTitle names object id of model m, as the viewer may see it ("#id" when
// they may not, or it is gone).
func (w *Handler) refTitle(r *http.Request, m *Model, id string) string {
	memo, _ := r.Context().Value(refKey{}).(refTitles)
	key := m.Slug + "/" + id
	if t, ok := memo[key]; ok {
		return t
	}
	t := "#" + id
	if m.Title != "id" || len(m.Caption) > 0 { // named as on its own page (a record by its type and value)
		if obj, _, _ := w.getJSON(r, "/"+m.Slug+"/"+url.PathEscape(id)); obj != nil {
			t = objectTitle(m, id, obj)
		}
	}
	if memo != nil {
		memo[key] = t
	}
	return t
}

// columns are the fields a list shows the viewer of r: a customer's lists
// leave out what is staff's (the owner: it is always theirs).
func (m *Model) columns(r *http.Request) []string {
	cols := append([]string{m.Title}, m.Columns...)
	if me(r).Staff {
		return cols
	}
	return slices.DeleteFunc(cols, func(f string) bool { return slices.Contains(m.StaffFields, f) })
}

func (m *Model) orderField(f string) string {
	for _, o := range m.Orderable {
		if o == f {
			return f
		}
		if o == f+"_id" {
			return o
		}
	}
	return ""
}

// table fills rows of m from API objects.
func (w *Handler) table(r *http.Request, m *Model, objs []map[string]any) Table {
	t := Table{Model: m}
	for _, a := range m.Actions {
		if a.Verb == "ping" && a.Body == nil {
			t.Live = a.Verb
		}
	}
	for _, o := range objs {
		id := formValue(Field{}, o["id"])
		if id == "" {
			id = formValue(Field{}, o["name"])
		}
		row := Row{ID: id, Href: "/" + m.Slug + "/" + url.PathEscape(id)}
		for _, f := range m.columns(r) {
			row.Cells = append(row.Cells, w.cell(r, m, f, o[f]))
		}
		if row.Cells[0].Text == "" || row.Cells[0].Text == "—" {
			row.Cells[0].Text = "#" + id
		}
		row.Cells[0].Href = row.Href
		t.Rows = append(t.Rows, row)
	}
	return t
}

// parseQuery splits a search box's text into field=value filters of m and
// the free text.
func parseQuery(m *Model, q string) (map[string]string, string) {
	filters := map[string]string{}
	var free []string
	for _, tok := range strings.Fields(q) {
		if k, v, ok := strings.Cut(tok, "="); ok && k != "" {
			for _, f := range m.Filters {
				if f.Name == k {
					filters[k] = v
					ok = false
				}
			}
			if !ok {
				continue
			}
		}
		free = append(free, tok)
	}
	return filters, strings.Join(free, " ")
}

func (w *Handler) list(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	filters, free := parseQuery(m, q.Get("q"))
	api := url.Values{}
	for _, f := range m.Filters {
		if v := q.Get(f.Name); v != "" {
			filters[f.Name] = v
		}
	}
	for k, v := range filters {
		api.Set(k, v)
	}
	if free != "" {
		api.Set("search", free)
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	api.Set("page", strconv.Itoa(page))
	api.Set("page_size", strconv.Itoa(pageSize))
	ordering := q.Get("o")
	if ordering != "" {
		api.Set("ordering", ordering)
	}
	lp := ListPage{Query: q.Get("q"), Ordering: ordering, Page: page, Ops: q.Get("changes")}
	res, status, body := w.listJSON(r, m.Slug, api)
	if res == nil {
		p := parseProblem(status, body)
		if status != http.StatusUnprocessableEntity {
			w.apiError(rw, r, p)
			return
		}
		lp.Problem, res = p.String(), &listResult{} // a bad filter or ordering: said above an empty list
	}
	lp.Table = w.table(r, m, res.Results)
	lp.Count, lp.CountExact = res.Count, res.CountExact
	lp.Pages = max((res.Count+pageSize-1)/pageSize, 1)
	link := func(p int) string { return "?" + withQuery(q, "page", strconv.Itoa(p)).Encode() }
	if page > 1 {
		lp.Prev = link(page - 1)
	}
	if page < lp.Pages || (!res.CountExact && len(res.Results) == pageSize) {
		lp.Next = link(page + 1)
	}
	for _, f := range m.columns(r) {
		c := Column{Label: label(r.Context(), f)}
		if o := m.orderField(f); o != "" {
			next := o
			switch ordering {
			case o:
				c.Sorted, next = "asc", "-"+o
			case "-" + o:
				c.Sorted = "desc"
			}
			v := withQuery(q, "o", next)
			v.Del("page")
			c.Sort = "?" + v.Encode()
		}
		lp.Columns = append(lp.Columns, c)
	}
	for _, f := range m.Filters {
		if !me(r).Staff && slices.Contains(m.StaffFields, f.Name) {
			continue
		}
		c, chosen := m.Choices[f.Name]
		if chosen && len(f.Enum) == 0 {
			f.Enum = choices(c) // a select of the choices (a web app's kinds)
		}
		lp.Filters = append(lp.Filters, FilterView{Field: f, Label: label(r.Context(), f.Name), Value: filters[f.Name], Named: c.Named})
	}
	lp.Bulk = w.bulkActions(r, m)
	lp.CanAdd = m.Create != nil && (!m.StaffCreate || me(r).Staff)
	lp.AddHref = "/" + m.Slug + "/new"
	if a := q.Get("account"); a != "" {
		lp.AddHref += "?account=" + url.QueryEscape(a)
	}
	render(rw, r, http.StatusOK, listPage(w.frame(r, i18n.T(ctx, m.Label)), lp))
}

// bulkActions are the actions a list offers on chosen objects.
func (w *Handler) bulkActions(r *http.Request, m *Model) []string {
	var out []string
	if m.Toggle != "" && m.Update != nil {
		out = append(out, "disable", "enable")
	}
	if m.Applied && me(r).Staff {
		out = append(out, "resync")
	}
	if w.canDelete(r, m) {
		out = append(out, "delete")
	}
	if me(r).Staff {
		for _, p := range m.Previewed {
			out = append(out, p.Verb)
		}
	}
	return out
}

// ObjectPage is one object with what can be done to it.
type ObjectPage struct {
	Model     *Model
	ID        string
	Title     string
	Cells     []Cell
	Created   []Cell // shown once, after creating
	Actions   []Action
	Views     []Action
	Downloads []Action
	Related   []Related
	CanEdit   bool
	CanDel    bool
	Live      bool // the object is still changing: refresh
	History   string
	Ops       string
	Resync    bool
	Setup     *ServerSetup // a server's setup steps, for staff
	Usage     []UsageBar   // its use of each resource measuring it
	Monthly   *Monthly     // an account's: what it pays a month
	Chart     *Chart       // a usage's history
}

// Related is a list of another model's objects that point at this one.
type Related struct {
	Table
	More   string
	Add    string
	Count  int
	Header string
	// Inline is a short add form under the list (a domain's records): the
	// fields but the one naming this object, posted to Add's model with
	// Parent set, coming back here.
	Inline       []FormField
	InlineAction string
	Parent       Option // the field naming this object, and its id
	Back         string
}

func (w *Handler) object(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	id := r.PathValue("id")
	obj := w.fetch(rw, r, "/"+m.Slug+"/"+url.PathEscape(id))
	if obj == nil {
		return
	}
	op := w.objectPage(r, m, id, obj)
	if r.Header.Get("HX-Request") == "true" && r.URL.Query().Get("part") == "fields" {
		render(rw, r, http.StatusOK, objectFields(op)) // a running log's refresh: its fields only
		return
	}
	op.Ops = r.URL.Query().Get("changes")
	op.Related = w.related(r, m, id)
	if m.Name == "server" && me(r).Staff {
		op.Setup = w.serverSetup(r, id, obj)
	}
	op.Usage = w.usageBars(r, m, id)
	if m.Type == "Account" {
		op.Monthly = w.monthly(r, id)
	}
	if m.Name == "usage" {
		op.Chart = w.usageChart(r, id, obj)
	}
	render(rw, r, http.StatusOK, objectPage(w.frame(r, op.Title), op))
}

func (w *Handler) objectPage(r *http.Request, m *Model, id string, obj map[string]any) ObjectPage {
	ctx := r.Context()
	offOn := func(a Action) bool { // not for this object, or not for this viewer
		return a.When != "" && obj[a.When] != true || a.Staff && !me(r).Staff
	}
	op := ObjectPage{Model: m, ID: id, CanEdit: m.Update != nil && (me(r).Staff || !m.StaffUpdate && len(m.form(m.Update, false)) > 0), CanDel: w.canDelete(r, m),
		Actions: slices.DeleteFunc(slices.Clone(m.Actions), offOn), Views: slices.DeleteFunc(slices.Clone(m.Views), offOn),
		Downloads: slices.DeleteFunc(slices.Clone(m.Downloads), offOn),
		Resync:    m.Applied && me(r).Staff}
	if m.Open != "" && obj[m.Open] != true { // closed for good: amended, not changed
		op.CanEdit, op.CanDel = false, false
	}
	op.Title = i18n.T(ctx, m.Singular) + " " + objectTitle(m, id, obj)
	first := []string{"id", m.Title}
	for _, set := range m.Fieldsets {
		first = append(first, set.Fields...)
	}
	shown := obj
	if !me(r).Staff { // what is staff's, as in lists
		shown = maps.Clone(obj)
		for _, f := range m.StaffFields {
			delete(shown, f)
		}
	}
	op.Cells = w.sortedCells(r, m, shown, first...)
	if s, ok := obj["state"].(string); ok && !finalState(s) {
		op.Live = true
	}
	if m.Type != "" && me(r).Staff {
		op.History = "/history/?object_type=" + url.QueryEscape(m.Type) + "&object_id=" + url.QueryEscape(id)
	}
	return op
}

// related lists, for the object id of m, the first objects of each model
// that points at it: a filter of that model's list names m.
func (w *Handler) related(r *http.Request, m *Model, id string) []Related {
	ctx := r.Context()
	var out []Related
	for _, other := range w.models.order {
		if other == m || (other.Staff && !me(r).Staff) {
			continue
		}
		// the filter named as m first: a history's account (changes to the
		// account's objects) before its actor (changes made by it)
		filters := slices.Clone(other.Filters)
		if i := slices.IndexFunc(filters, func(f Field) bool { return f.Name == m.Name }); i > 0 {
			filters[0], filters[i] = filters[i], filters[0]
		}
		for _, f := range filters {
			if w.models.ref(other, f.Name) != m {
				continue
			}
			res, _, _ := w.listJSON(r, other.Slug, url.Values{f.Name: {id}, "page_size": {strconv.Itoa(relatedRows)}})
			if res == nil {
				break
			}
			t := w.table(r, other, res.Results)
			if i := slices.Index(other.columns(r), f.Name); i > 0 { // the column naming this object says nothing here
				for j := range t.Rows {
					t.Rows[j].Cells = slices.Delete(t.Rows[j].Cells, i, i+1)
				}
			}
			rel := Related{Table: t, Count: res.Count, Header: i18n.T(ctx, other.Label),
				More: "/" + other.Slug + "/?" + f.Name + "=" + url.QueryEscape(id)}
			rel.Live = "" // no pinging from another object's page
			if other.Create != nil && other.Create.Properties[f.Name] != nil && (!other.StaffCreate || me(r).Staff) {
				rel.Add = "/" + other.Slug + "/new?" + f.Name + "=" + url.QueryEscape(id)
				w.inlineAdd(r, &rel, other, f.Name, id, "/"+m.Slug+"/"+url.PathEscape(id))
			}
			out = append(out, rel)
			break
		}
	}
	return out
}

// relatedRows is how many objects of each related list an object's page
// shows; "All N" leads to the rest.
const relatedRows = 5

// inlineMax is the most fields an add form may have to be shown inline.
const inlineMax = 5

// inlineAdd gives rel an inline add form when other's objects are made of a
// few plain fields besides the one naming the parent (a record: type, name,
// value, TTL); others are added on their own page.
func (w *Handler) inlineAdd(r *http.Request, rel *Related, other *Model, parent, id, back string) {
	var fs []Field
	all := other.form(other.Create, me(r).Staff)
	for _, f := range ofKind(all, other.chosenKind(all, "")) {
		if f.Name == parent {
			continue
		}
		if strings.Contains(f.Name, ".") || f.Type == "object" || f.Type == "array" || secret(f) || w.isRef(r, other, f) != nil {
			return
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 || len(fs) > inlineMax {
		return
	}
	rel.Inline = w.formFields(r, other, fs, defaults(fs, nil, other.Toggle), nil)
	for i := range rel.Inline {
		rel.Inline[i].Description = "" // the full form explains; this row stays one line
		rel.Inline[i].Prefix = other.Slug + "-"
		if rel.Inline[i].Input == "textarea" {
			rel.Inline[i].Input = "text"
		}
	}
	rel.InlineAction = "/" + other.Slug + "/new"
	rel.Parent = Option{Value: parent, Label: id}
	rel.Back = back
}

func finalState(s string) bool {
	switch s {
	case orchestration.StateReceived, orchestration.StateStarted, orchestration.StatePending:
		return false
	}
	return true
}

// FormPage is an add, change or action form.
type FormPage struct {
	Model   *Model
	Action  string // where it posts
	Submit  string
	Fields  []FormField
	Problem *problem
	Check   string // where a live check posts, if any
	Back    string
	Version string // of the object a change form was made from
}

// FormGroup is a run of a form's fields under one legend (none for the
// main group).
type FormGroup struct {
	Legend string
	Fields []FormField
}

// groups splits fs where a field opens a fieldset.
func groups(fs []FormField) []FormGroup {
	var out []FormGroup
	for i, f := range fs {
		if i == 0 || f.Legend != "" {
			out = append(out, FormGroup{Legend: f.Legend})
		}
		out[len(out)-1].Fields = append(out[len(out)-1].Fields, f)
	}
	return out
}

// FormField is a field with its value and error.
type FormField struct {
	Field
	Label string
	Value string
	Error string
	Input string // text, number, checkbox, select, textarea, password, datetime-local, pick
	// Options of a reference's select (Multiple for a list of them); Pick
	// is where a reference's name box finds matches.
	Options     []Option
	Multiple    bool
	Pick        string
	Placeholder string // the default an empty field takes
	Reload      string // a choice that changes the form: where the form is fetched again with it
	Prefix      string // of its element ids, where a page has several forms
}

// ID is the id of the field's input.
func (ff FormField) ID() string { return ff.Prefix + "f-" + ff.Name }

func (w *Handler) formFields(r *http.Request, m *Model, fs []Field, vals map[string]string, p *problem) []FormField {
	if p != nil { // a field's part the form has no field for (a kind's setting): beside the field
		for _, name := range slices.Sorted(maps.Keys(p.Fields)) {
			top, _, nested := strings.Cut(name, ".")
			if !nested || slices.ContainsFunc(fs, func(f Field) bool { return f.Name == name }) ||
				!slices.ContainsFunc(fs, func(f Field) bool { return f.Name == top }) {
				continue
			}
			msg := name + ": " + p.Fields[name]
			if old := p.Fields[top]; old != "" {
				msg = old + " " + msg
			}
			p.Fields[top] = msg
			delete(p.Fields, name)
		}
	}
	var out []FormField
	for _, f := range fs {
		ff := FormField{Field: f, Label: label(r.Context(), f.Name), Value: vals[f.Name]}
		ff.Description = help(r, f.Description)
		if len(f.Enum) > 0 && ff.Value != "" && !slices.Contains(f.Enum, ff.Value) {
			ff.Enum = append(slices.Clip(f.Enum), ff.Value) // a value no longer offered stays as it is
		}
		if p != nil {
			ff.Error = p.Fields[f.Name]
		}
		switch {
		case f.Type == "boolean":
			ff.Input = "checkbox"
		case len(f.Enum) > 0:
			ff.Input = "select"
		case f.Type == "integer" || f.Type == "number":
			ff.Input = "number"
		case f.Type == "array" || f.Type == "object" || f.MaxLength > 2048: // long texts: expressions, zones, values (not URLs nor paths)
			ff.Input = "textarea"
		case secret(f):
			ff.Input = "password"
		case f.Format == "date-time":
			ff.Input = "datetime-local"
		default:
			ff.Input = "text"
		}
		if ref := w.isRef(r, m, f); ref != nil {
			w.refInput(r, m, ref, &ff)
		}
		if f.Name == kindType && len(m.Kinds) > 0 && ff.Input == "select" {
			ff.Reload = "/" + m.Slug + "/new" // the chosen kind's settings
		}
		if ch, ok := m.Choices[f.Name]; ok && ch.Named && ff.Input == "select" {
			for _, e := range ff.Enum { // registered names (backends), offered as named
				ff.Options = append(ff.Options, Option{Value: e, Label: e, Selected: e == ff.Value})
			}
		}
		if name, ok := m.Defaults[f.Name]; ok && ff.Value == "" {
			// what an empty field becomes: chosen, or shown in it
			if in, ok := settings.Default().Lookup(name); ok {
				if ff.Input == "select" {
					ff.Value = fmt.Sprint(in.Value)
				} else {
					ff.Placeholder = fmt.Sprint(in.Value)
				}
			}
		}
		out = append(out, ff)
	}
	if p != nil {
		known := map[string]bool{}
		for _, f := range fs {
			known[f.Name] = true
		}
		for name, msg := range p.Fields {
			if !known[name] {
				p.Other = append(p.Other, label(r.Context(), name)+": "+msg)
			}
		}
	}
	return out
}

func defaults(fs []Field, q url.Values, toggle string) map[string]string {
	vals := map[string]string{}
	for _, f := range fs {
		if v := q.Get(f.Name); v != "" {
			vals[f.Name] = v
		} else if f.Default != nil {
			vals[f.Name] = formValue(f, f.Default)
		} else if f.Name == toggle {
			vals[f.Name] = "true"
		}
	}
	return vals
}

func submitted(fs []Field, form url.Values) map[string]string {
	vals := map[string]string{}
	for _, f := range fs {
		if v, ok := form[f.Name]; ok && !secret(f) {
			vals[f.Name] = v[len(v)-1]
		}
	}
	return vals
}

func (w *Handler) addForm(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	if m.Create == nil || (m.Staff || m.StaffCreate) && !me(r).Staff {
		w.notFound(rw, r)
		return
	}
	fs := m.form(m.Create, me(r).Staff)
	kind := m.chosenKind(fs, r.URL.Query().Get(kindType))
	fs = ofKind(fs, kind)
	vals := defaults(fs, r.URL.Query(), m.Toggle)
	if kind != "" {
		vals[kindType] = kind
	}
	w.renderForm(rw, r, http.StatusOK, m, i18n.T(r.Context(), "Add %s", inSentence(i18n.T(r.Context(), m.Singular))),
		"/"+m.Slug+"/new", fs, vals, nil)
}

func (w *Handler) renderForm(rw http.ResponseWriter, r *http.Request, status int, m *Model, title, action string, fs []Field, vals map[string]string, p *problem) {
	if p != nil && len(p.Fields) > 0 {
		p.Message = i18n.T(r.Context(), "Correct the fields marked below.") // each error is beside its field
	}
	fp := FormPage{Model: m, Action: action, Submit: i18n.T(r.Context(), "Save"), Problem: p, Back: "/" + m.Slug + "/"}
	fp.Fields = w.formFields(r, m, fs, vals, p)
	fp.Version = vals["version"]
	if m.Check != nil {
		fp.Check = "/" + m.Slug + "/check"
	}
	render(rw, r, status, formPage(w.frame(r, title), fp))
}

// opsQuery carries the changes a write made to the page shown next, which
// follows their operations.
func opsQuery(h http.Header) string {
	if ids := h.Get("Orchestra-Changes"); ids != "" {
		return "?changes=" + url.QueryEscape(ids)
	}
	return ""
}

func (w *Handler) add(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	if m.Create == nil {
		w.notFound(rw, r)
		return
	}
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		w.apiError(rw, r, &problem{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	fs := m.form(m.Create, me(r).Staff)
	fs = ofKind(fs, m.chosenKind(fs, r.PostForm.Get(kindType)))
	title := i18n.T(ctx, "Add %s", inSentence(i18n.T(ctx, m.Singular)))
	body, errs := w.formBodyOf(r, m, fs, nil)
	if len(errs) > 0 {
		w.renderForm(rw, r, http.StatusUnprocessableEntity, m, title, "/"+m.Slug+"/new", fs, submitted(fs, r.PostForm),
			&problem{Status: 422, Fields: errs})
		return
	}
	status, hdr, resp := w.call(r, http.MethodPost, "/"+m.Slug, body, "Prefer", "respond-async")
	if status >= 300 {
		p := parseProblem(status, resp)
		if status == http.StatusNotFound || status == http.StatusForbidden {
			w.apiError(rw, r, p)
			return
		}
		w.renderForm(rw, r, status, m, title, "/"+m.Slug+"/new", fs, submitted(fs, r.PostForm), p)
		return
	}
	var obj map[string]any
	_ = json.Unmarshal(resp, &obj)
	id := formValue(Field{}, obj["id"])
	if m.Created != nil {
		// something in the answer is shown only now
		op := w.objectPage(r, m, id, obj)
		for _, f := range fields(m.Created) {
			if _, inItem := m.Item.Properties[f.Name]; !inItem {
				op.Created = append(op.Created, w.cell(r, m, f.Name, obj[f.Name]))
			}
		}
		op.Ops = hdr.Get("Orchestra-Changes")
		render(rw, r, http.StatusCreated, objectPage(w.frame(r, op.Title), op))
		return
	}
	next := "/" + m.Slug + "/" + url.PathEscape(id)
	if back := r.PostFormValue("back"); back != "" && safeNext(back) == back {
		next = back // added from its parent's page: back there
	}
	http.Redirect(rw, r, withDone(next+opsQuery(hdr), "saved"), http.StatusSeeOther)
}

func (w *Handler) editForm(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	if m.Update == nil {
		w.notFound(rw, r)
		return
	}
	id := r.PathValue("id")
	obj := w.fetch(rw, r, "/"+m.Slug+"/"+url.PathEscape(id))
	if obj == nil {
		return
	}
	fs := ofKind(m.form(m.Update, me(r).Staff), formValue(Field{}, obj[kindType]))
	vals := map[string]string{"version": formValue(Field{}, obj["version"])}
	for _, f := range fs {
		vals[f.Name] = formValue(f, valueAt(obj, f.Name))
		if f.Format == "date-time" && len(vals[f.Name]) > 16 {
			vals[f.Name] = vals[f.Name][:16]
		}
	}
	w.renderForm(rw, r, http.StatusOK, m, w.changeTitle(r, m, id, obj), "/"+m.Slug+"/"+url.PathEscape(id)+"/edit", fs, vals, nil)
}

func (w *Handler) changeTitle(r *http.Request, m *Model, id string, obj map[string]any) string {
	return i18n.T(r.Context(), "Change %s %s", inSentence(i18n.T(r.Context(), m.Singular)), objectTitle(m, id, obj))
}

func (w *Handler) edit(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	if m.Update == nil {
		w.notFound(rw, r)
		return
	}
	id := r.PathValue("id")
	path := "/" + m.Slug + "/" + url.PathEscape(id)
	obj := w.fetch(rw, r, path)
	if obj == nil {
		return
	}
	if err := r.ParseForm(); err != nil {
		w.apiError(rw, r, &problem{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	fs := ofKind(m.form(m.Update, me(r).Staff), formValue(Field{}, obj[kindType]))
	title := w.changeTitle(r, m, id, obj)
	patch, errs := w.formBodyOf(r, m, fs, obj)
	if len(errs) > 0 {
		w.renderForm(rw, r, http.StatusUnprocessableEntity, m, title, path+"/edit", fs, withVersion(submitted(fs, r.PostForm), r),
			&problem{Status: 422, Fields: errs})
		return
	}
	// the version the form was made from: a change made meanwhile is not overwritten
	if v := r.PostForm.Get("version"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			patch["version"] = n
		}
	}
	status, hdr, resp := w.call(r, http.MethodPatch, path, patch, "Prefer", "respond-async")
	if status >= 300 {
		w.renderForm(rw, r, status, m, title, path+"/edit", fs, withVersion(submitted(fs, r.PostForm), r), parseProblem(status, resp))
		return
	}
	http.Redirect(rw, r, withDone(path+opsQuery(hdr), "saved"), http.StatusSeeOther)
}

func withVersion(vals map[string]string, r *http.Request) map[string]string {
	vals["version"] = r.PostForm.Get("version")
	return vals
}

// ConfirmPage asks before a destructive or wide change.
type ConfirmPage struct {
	Model    *Model
	Action   string
	Verb     string
	Question string
	Objects  []Row
	IDs      []string
	Back     string
}

func (w *Handler) deleteForm(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	if !w.canDelete(r, m) {
		w.notFound(rw, r)
		return
	}
	id := r.PathValue("id")
	w.confirm(rw, r, m, "delete", []string{id}, "/"+m.Slug+"/"+url.PathEscape(id))
}

// canDelete says whether the viewer may delete objects of m: not a
// customer its own account, nor what only staff delete.
func (w *Handler) canDelete(r *http.Request, m *Model) bool {
	return m.Delete && (!m.OwnRow && !m.StaffDelete || me(r).Staff)
}

func (w *Handler) confirm(rw http.ResponseWriter, r *http.Request, m *Model, verb string, ids []string, back string) {
	ctx := r.Context()
	var objs []map[string]any
	for _, id := range ids {
		obj := w.fetch(rw, r, "/"+m.Slug+"/"+url.PathEscape(id))
		if obj == nil {
			return
		}
		objs = append(objs, obj)
	}
	questions := map[string][2]string{
		"delete": {"Delete this object? What it owns is deleted with it, and removed from the servers.",
			"Delete these %d objects? What they own is deleted with them, and removed from the servers."},
		"disable": {"Disable this object?", "Disable these %d objects?"},
		"enable":  {"Enable this object?", "Enable these %d objects?"},
		"resync":  {"Apply this object again on its servers?", "Apply these %d objects again on their servers?"},
	}
	q := questions[verb]
	cp := ConfirmPage{Model: m, Verb: verb, Question: plural(ctx, len(ids), q[0], q[1]), IDs: ids, Back: back,
		Action: "/" + m.Slug + "/bulk", Objects: w.table(r, m, objs).Rows}
	render(rw, r, http.StatusOK, confirmPage(w.frame(r, i18n.T(ctx, "Are you sure?")), cp))
}

// BulkResult reports a bulk action, object by object.
type BulkResult struct {
	Model   *Model
	Verb    string
	Result  *JSONView // a previewed operation's answer
	Done    []string
	Failed  []string
	Ops     string
	Back    string
	Summary string
}

func (w *Handler) bulk(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		w.apiError(rw, r, &problem{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	verb, ids := r.PostForm.Get("action"), r.PostForm["ids"]
	allowed := false
	for _, a := range w.bulkActions(r, m) {
		allowed = allowed || a == verb
	}
	back := safeNext(r.PostForm.Get("back"))
	if back == "/" {
		back = "/" + m.Slug + "/"
	}
	if !allowed || len(ids) == 0 || len(ids) > 500 {
		render(rw, r, http.StatusUnprocessableEntity, errorPage(w.frame(r, i18n.T(ctx, "Refused")),
			&problem{Status: 422, Message: i18n.T(ctx, "Choose an action and at least one object (at most 500).")}))
		return
	}
	p := m.previewed(verb)
	if r.PostForm.Get("confirm") != "yes" {
		if p != nil {
			w.confirmPreviewed(rw, r, m, p, ids, back)
			return
		}
		w.confirm(rw, r, m, verb, ids, back)
		return
	}
	res := BulkResult{Model: m, Verb: verb, Back: back}
	var ops []string
	switch {
	case p != nil:
		status, body := w.runPreviewed(r, p, ids, true)
		if status >= 300 {
			res.Failed = append(res.Failed, parseProblem(status, body).String())
			break
		}
		v, err := jsonView(ctx, body)
		if err != nil {
			res.Failed = append(res.Failed, err.Error())
			break
		}
		res.Result = &v
		res.Summary = i18n.T(ctx, "Done: %s.", i18n.T(ctx, p.Label))
	}
	switch verb {
	case "resync":
		if p != nil {
			break
		}
		var nums []int
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil {
				nums = append(nums, n)
			}
		}
		status, _, body := w.call(r, http.MethodPost, "/orchestrate", map[string]any{"model": m.Type, "ids": nums})
		if status >= 300 {
			res.Failed = append(res.Failed, parseProblem(status, body).String())
			break
		}
		var units []struct {
			Log   int    `json:"log"`
			State string `json:"state"`
		}
		_ = json.Unmarshal(body, &units)
		for _, id := range ids {
			res.Done = append(res.Done, "#"+id)
		}
		var logs []string
		for _, u := range units {
			if u.Log != 0 {
				logs = append(logs, strconv.Itoa(u.Log))
			}
		}
		if len(logs) > 0 {
			res.Back = "/logs/?ids=" + strings.Join(logs, ",")
		}
		res.Summary = plural(ctx, len(units), "One unit of work planned.", "%d units of work planned.")
	default:
		if p != nil {
			break
		}
		for _, id := range ids {
			path := "/" + m.Slug + "/" + url.PathEscape(id)
			var status int
			var hdr http.Header
			var body []byte
			if verb == "delete" {
				status, hdr, body = w.call(r, http.MethodDelete, path, nil, "Prefer", "respond-async")
			} else {
				obj, st, b := w.getJSON(r, path)
				if obj == nil {
					status, body = st, b
				} else {
					status, hdr, body = w.call(r, http.MethodPatch, path,
						map[string]any{m.Toggle: verb == "enable", "version": obj["version"]}, "Prefer", "respond-async")
				}
			}
			if status >= 300 {
				res.Failed = append(res.Failed, "#"+id+": "+parseProblem(status, body).String())
				continue
			}
			res.Done = append(res.Done, "#"+id)
			if o := hdr.Get("Orchestra-Changes"); o != "" {
				ops = append(ops, o)
			}
		}
	}
	res.Ops = strings.Join(ops, ",")
	status := http.StatusOK
	if len(res.Done) == 0 && res.Result == nil {
		status = http.StatusUnprocessableEntity
	}
	render(rw, r, status, bulkPage(w.frame(r, i18n.T(ctx, "Done")), res))
}

// actionForm shows an action's form, or its button when it takes nothing.
func (w *Handler) actionForm(rw http.ResponseWriter, r *http.Request) {
	m, a, id, obj := w.actionOf(rw, r)
	if m == nil {
		return
	}
	w.renderAction(rw, r, http.StatusOK, m, a, id, obj, nil, nil, nil)
}

func (w *Handler) actionOf(rw http.ResponseWriter, r *http.Request) (*Model, *Action, string, map[string]any) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return nil, nil, "", nil
	}
	verb := r.PathValue("verb")
	var a *Action
	for i := range m.Actions {
		if m.Actions[i].Verb == verb {
			a = &m.Actions[i]
		}
	}
	if a == nil || a.Staff && !me(r).Staff {
		w.notFound(rw, r)
		return nil, nil, "", nil
	}
	id := r.PathValue("id")
	obj := w.fetch(rw, r, "/"+m.Slug+"/"+url.PathEscape(id))
	if obj == nil {
		return nil, nil, "", nil
	}
	return m, a, id, obj
}

// ActionPage is an action's form and, once done, its answer.
type ActionPage struct {
	FormPage
	Summary string
	Result  []Cell
	Done    bool
	Ops     string
}

func (w *Handler) renderAction(rw http.ResponseWriter, r *http.Request, status int, m *Model, a *Action, id string, obj map[string]any, vals map[string]string, p *problem, result []Cell) {
	ctx := r.Context()
	path := "/" + m.Slug + "/" + url.PathEscape(id)
	if p != nil && len(p.Fields) > 0 {
		p.Message = i18n.T(ctx, "Correct the fields marked below.")
	}
	ap := ActionPage{FormPage: FormPage{Model: m, Action: path + "/do/" + a.Verb, Submit: i18n.T(r.Context(), a.Label), Problem: p, Back: path},
		Summary: i18n.T(ctx, a.Summary), Result: result, Done: result != nil}
	if a.Body != nil {
		fs := formFields(a.Body)
		if vals == nil {
			vals = defaults(fs, r.URL.Query(), "")
		}
		ap.Fields = w.formFields(r, m, fs, vals, p)
	}
	render(rw, r, status, actionPage(w.frame(r, i18n.T(ctx, a.Label)+": "+objectTitle(m, id, obj)), ap))
}

func (w *Handler) action(rw http.ResponseWriter, r *http.Request) {
	m, a, id, obj := w.actionOf(rw, r)
	if m == nil {
		return
	}
	if err := r.ParseForm(); err != nil {
		w.apiError(rw, r, &problem{Status: http.StatusBadRequest, Message: err.Error()})
		return
	}
	var body any
	var fs []Field
	if a.Body != nil {
		fs = formFields(a.Body)
		b, errs := w.formBodyOf(r, m, fs, nil)
		if len(errs) > 0 {
			w.renderAction(rw, r, http.StatusUnprocessableEntity, m, a, id, obj, submitted(fs, r.PostForm),
				&problem{Status: 422, Fields: errs}, nil)
			return
		}
		body = b
	}
	path := "/" + m.Slug + "/" + url.PathEscape(id) + "/" + a.Verb
	status, hdr, resp := w.call(r, http.MethodPost, path, body, "Prefer", "respond-async")
	cellOnly := r.URL.Query().Get("cell") == "1"
	if status >= 300 {
		p := parseProblem(status, resp)
		if cellOnly {
			render(rw, r, http.StatusOK, cellView(Cell{Text: p.Message, Class: "state state-FAILURE"}))
			return
		}
		w.renderAction(rw, r, status, m, a, id, obj, submitted(fs, r.PostForm), p, nil)
		return
	}
	var out any
	_ = json.Unmarshal(resp, &out)
	result := []Cell{}
	switch x := out.(type) {
	case map[string]any:
		result = w.sortedCells(r, m, x)
	case nil:
	case []any:
		if logs, ok := plannedLogs(x); ok { // units of work: how many, and their logs
			result = append(result, Cell{Label: i18n.T(r.Context(), "Units of work"),
				Text: plural(r.Context(), len(x), "One unit of work planned.", "%d units of work planned."),
				Href: "/logs/?ids=" + strings.Join(logs, ",")})
			break
		}
		result = append(result, w.cell(r, m, "result", x))
	default:
		result = append(result, w.cell(r, m, "result", x))
	}
	if cellOnly {
		render(rw, r, http.StatusOK, cellView(summarise(r, out)))
		return
	}
	ap := hdr.Get("Orchestra-Changes")
	if ap != "" && len(result) == 0 {
		http.Redirect(rw, r, "/"+m.Slug+"/"+url.PathEscape(id)+opsQuery(hdr), http.StatusSeeOther)
		return
	}
	w.renderActionDone(rw, r, m, a, id, obj, result, ap)
}

func (w *Handler) renderActionDone(rw http.ResponseWriter, r *http.Request, m *Model, a *Action, id string, obj map[string]any, result []Cell, ops string) {
	ctx := r.Context()
	path := "/" + m.Slug + "/" + url.PathEscape(id)
	ap := ActionPage{FormPage: FormPage{Model: m, Back: path}, Summary: i18n.T(ctx, a.Summary), Result: result, Done: true, Ops: ops}
	render(rw, r, http.StatusOK, actionPage(w.frame(r, i18n.T(ctx, a.Label)+": "+objectTitle(m, id, obj)), ap))
}

// plannedLogs reads an answer that lists planned units of work: the logs
// that follow them.
func plannedLogs(units []any) ([]string, bool) {
	var logs []string
	for _, u := range units {
		m, ok := u.(map[string]any)
		if !ok || m["backend"] == nil || m["server"] == nil {
			return nil, false
		}
		if n, ok := m["log"].(float64); ok {
			logs = append(logs, strconv.Itoa(int(n)))
		}
	}
	return logs, len(units) > 0
}

// summarise turns a ping-like answer into one cell: reachable or not.
func summarise(r *http.Request, out any) Cell {
	ctx := r.Context()
	x, _ := out.(map[string]any)
	if ok, isBool := x["reachable"].(bool); isBool {
		if ok {
			return Cell{Text: i18n.T(ctx, "reachable, %s ms", formValue(Field{}, x["latency_ms"])), Class: "state state-SUCCESS"}
		}
		return Cell{Text: i18n.T(ctx, "unreachable: %s", formValue(Field{}, x["error"])), Class: "state state-FAILURE"}
	}
	b, _ := json.Marshal(out)
	return Cell{Text: string(b)}
}

// view shows what a GET /slug/{id}/verb answers (a zone, DS records, a key).
func (w *Handler) view(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	verb, id := r.PathValue("verb"), r.PathValue("id")
	var a *Action
	for i := range m.Views {
		if m.Views[i].Verb == verb {
			a = &m.Views[i]
		}
	}
	if a == nil {
		w.notFound(rw, r)
		return
	}
	obj := w.fetch(rw, r, "/"+m.Slug+"/"+url.PathEscape(id))
	if obj == nil {
		return
	}
	res := w.fetch(rw, r, "/"+m.Slug+"/"+url.PathEscape(id)+"/"+verb)
	if res == nil {
		return
	}
	w.renderActionDone(rw, r, m, a, id, obj, w.sortedCells(r, m, res), "")
}

// download passes on what a GET /slug/{id}/verb answers in its download's
// media type (a bill's PDF), as a file.
func (w *Handler) download(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	verb, id := r.PathValue("verb"), r.PathValue("id")
	i := slices.IndexFunc(m.Downloads, func(a Action) bool { return a.Verb == verb })
	if i < 0 {
		w.notFound(rw, r)
		return
	}
	media := m.Downloads[i].Media
	status, h, body := w.call(r, http.MethodGet, "/"+m.Slug+"/"+url.PathEscape(id)+"/"+verb, nil, "Accept", media)
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), media) {
		w.apiError(rw, r, parseProblem(status, body))
		return
	}
	rw.Header().Set("Content-Type", media)
	if d := h.Get("Content-Disposition"); d != "" {
		rw.Header().Set("Content-Disposition", d)
	}
	rw.Header().Set("Cache-Control", "private, no-store")
	rw.Write(body)
}

// check answers a form's live check (a route's match as it is typed).
func (w *Handler) check(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil || m.Check == nil {
		w.notFound(rw, r)
		return
	}
	ctx := r.Context()
	_ = r.ParseForm()
	// only the fields the check takes, from the whole form
	body, _ := w.formBodyOf(r, m, ofKind(m.form(m.Check, me(r).Staff), r.PostForm.Get(kindType)), nil)
	status, _, resp := w.call(r, http.MethodPost, "/"+m.Slug+"/check", body)
	var out map[string]any
	if status >= 300 || json.Unmarshal(resp, &out) != nil {
		render(rw, r, http.StatusOK, checkResult(false, parseProblem(status, resp).String()))
		return
	}
	valid, _ := out["valid"].(bool)
	msg, _ := out["error"].(string)
	if valid {
		msg = i18n.T(ctx, "The expression is valid.")
	}
	render(rw, r, http.StatusOK, checkResult(valid, msg))
}

// OpsView is the operations of a write's changes, refreshed until they end.
type OpsView struct {
	Changes string
	Rows    []Row
	Live    bool
	State   string
}

// operations renders the operations of ?ids= (a fragment htmx refreshes).
func (w *Handler) operations(rw http.ResponseWriter, r *http.Request) {
	render(rw, r, http.StatusOK, opsFragment(w.opsView(r, r.URL.Query().Get("changes"))))
}

// opsView shows the operations of a write's changes; it stays live while
// one of them is not final or a change is not planned yet.
func (w *Handler) opsView(r *http.Request, changes string) OpsView {
	ctx := r.Context()
	ov := OpsView{Changes: changes}
	if changes == "" {
		return ov
	}
	m := w.models.byName["operation"]
	status, hdr, body := w.call(r, http.MethodGet, "/"+m.Slug+"?"+url.Values{"changes": {changes}, "page_size": {"100"}}.Encode(), nil)
	var res listResult
	if status != http.StatusOK || json.Unmarshal(body, &res) != nil {
		return ov
	}
	ov.Live = hdr.Get("Orchestra-Unplanned") != "" && hdr.Get("Orchestra-Unplanned") != "0"
	failed, skipped := 0, 0
	for _, o := range res.Results {
		st, _ := o["state"].(string)
		if !finalState(st) {
			ov.Live = true
		}
		switch st {
		case "FAILURE", "ERROR", "TIMEOUT", "ABORTED":
			failed++
		case "SKIPPED": // no route took it
			skipped++
		}
		row := Row{ID: formValue(Field{}, o["id"])}
		for _, f := range []string{"action", "repr", "backend", "state", "log"} {
			c := w.cell(r, m, f, o[f])
			if f == "log" && !me(r).Staff {
				c.Href = ""
			}
			row.Cells = append(row.Cells, c)
		}
		ov.Rows = append(ov.Rows, row)
	}
	// customers read one sentence: backends, servers and states are staff's
	staff := me(r).Staff
	switch {
	case ov.Live:
		ov.State = i18n.T(ctx, "Being applied…")
	case len(ov.Rows) == 0:
		ov.State = i18n.T(ctx, "Saved; nothing to apply on the servers.")
	case failed > 0 && staff:
		ov.State = i18n.T(ctx, "Saved, but not applied: %s failed; their logs say why.", plural(ctx, failed, "one operation", "%d operations"))
	case failed > 0:
		ov.State = i18n.T(ctx, "Saved, but applying it on the servers failed; the failure is listed for our staff.")
	case skipped == len(ov.Rows) && staff:
		ov.State = i18n.T(ctx, "Saved; no route sends it to a server, so nothing was applied (add routes under Routes).")
	case skipped == len(ov.Rows):
		ov.State = i18n.T(ctx, "Saved.")
	default:
		ov.State = i18n.T(ctx, "Applied on the servers.")
	}
	if !staff {
		ov.Rows = nil
	}
	return ov
}

// plural is one or many (a format with %d), translated, for n.
func plural(ctx context.Context, n int, one, many string) string {
	if n == 1 {
		return i18n.T(ctx, one)
	}
	return i18n.T(ctx, many, n)
}

// search looks for text in every model the viewer may list.
func (w *Handler) search(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var results []Related
	if q != "" {
		for _, m := range w.models.order {
			if m.Staff && !me(r).Staff || m.ReadOnly {
				continue
			}
			res, _, _ := w.listJSON(r, m.Slug, url.Values{"search": {q}, "page_size": {"5"}})
			if res == nil || res.Count == 0 {
				continue
			}
			results = append(results, Related{Table: w.table(r, m, res.Results), Count: res.Count,
				Header: i18n.T(ctx, m.Label), More: "/" + m.Slug + "/?q=" + url.QueryEscape(q)})
		}
	}
	render(rw, r, http.StatusOK, searchPage(w.frame(r, i18n.T(ctx, "Search")), q, results))
}

func pluralCount(ctx context.Context, n int, exact bool) string {
	if !exact {
		return i18n.T(ctx, "more than %d", n)
	}
	return fmt.Sprint(n)
}

// bulkLabel names a bulk action.
func bulkLabel(ctx context.Context, verb string) string {
	switch verb {
	case "delete":
		return i18n.T(ctx, "delete")
	case "disable":
		return i18n.T(ctx, "disable")
	case "enable":
		return i18n.T(ctx, "enable")
	case "resync":
		return i18n.T(ctx, "apply again")
	}
	return i18n.T(ctx, verb) // a previewed operation's, declared with i18n.M
}

// inSentence is a model's name inside a sentence: its first letter lower
// case, but for an acronym (SSH key, API token).
func inSentence(name string) string {
	r := []rune(name)
	if len(r) > 1 && unicode.IsUpper(r[0]) && unicode.IsUpper(r[1]) {
		return name
	}
	return strings.ToLower(string(r[:1])) + string(r[1:])
}
