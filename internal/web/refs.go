package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// A field holding ids of another model's objects is shown by their names:
// a select of every object the viewer may see when they are few, else a
// box that takes a name and offers matches as one types. What is sent is
// resolved to ids through the API, as the viewer, so a name outside the
// viewer's objects is no name at all.

// pickLimit is how many objects a reference's select lists at most.
const pickLimit = 50

// Option is one choice of a reference's select.
type Option struct {
	Value, Label string
	Selected     bool
}

// isRef says whether f of m holds ids of the model it returns.
func (w *Handler) isRef(r *http.Request, m *Model, f Field) *Model {
	if f.Type != "integer" && !(f.Type == "array" && f.ItemType == "integer") {
		return nil
	}
	ref := w.models.ref(m, f.Name)
	if ref == nil || ref.Staff && !me(r).Staff {
		return nil
	}
	return ref
}

// refInput makes ff, a reference to ref, a select or a name box.
func (w *Handler) refInput(r *http.Request, m, ref *Model, ff *FormField) {
	q := url.Values{"page_size": {strconv.Itoa(pickLimit)}}
	if slices.Contains(ref.Orderable, ref.Title) {
		q.Set("ordering", ref.Title)
	}
	if f, ok := m.RefFilters[ff.Name]; ok {
		more, _ := url.ParseQuery(f)
		maps.Copy(q, more)
	}
	res, _, _ := w.listJSON(r, ref.Slug, q)
	if res == nil {
		return
	}
	ids := lines(ff.Value)
	if res.Count <= pickLimit {
		ff.Input, ff.Multiple = "select", ff.Type == "array"
		for _, o := range res.Results {
			id := formValue(Field{}, o["id"])
			ff.Options = append(ff.Options, Option{id, objectTitle(ref, id, o), slices.Contains(ids, id)})
		}
		return
	}
	ff.Input, ff.Pick = "pick", "/"+ref.Slug+"/pick?field="+url.QueryEscape(ff.Name)
	if ff.Type == "array" {
		ff.Input = "textarea"
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = id
		if _, err := strconv.Atoi(id); err == nil {
			if status, _, body := w.call(r, http.MethodGet, "/"+ref.Slug+"/"+id, nil); status == http.StatusOK {
				var o map[string]any
				if json.Unmarshal(body, &o) == nil {
					names[i] = objectTitle(ref, id, o)
				}
			}
		}
	}
	ff.Value = strings.Join(names, "\n")
}

// resolveRefs replaces, in form, the names given for references of m with
// their ids; a name that names none of the viewer's objects is an error of
// its field.
func (w *Handler) resolveRefs(r *http.Request, m *Model, fs []Field, form url.Values) map[string]string {
	errs := map[string]string{}
	for _, f := range fs {
		ref := w.isRef(r, m, f)
		vals, given := form[f.Name]
		if ref == nil || !given {
			continue
		}
		var out []string
		for _, v := range vals {
			for _, name := range lines(v) {
				if _, err := strconv.Atoi(strings.TrimPrefix(name, "#")); err == nil { // an id, or a title that is one
					name = strings.TrimPrefix(name, "#")
					out = append(out, name)
					continue
				}
				id := w.idOf(r, ref, name)
				if id == "" {
					errs[f.Name] = i18n.T(r.Context(), "No %s is named %q.", inSentence(i18n.T(r.Context(), ref.Singular)), name)
					continue
				}
				out = append(out, id)
			}
		}
		form[f.Name] = []string{strings.Join(out, "\n")}
	}
	return errs
}

// idOf is the id of the object of ref the viewer may see whose title is
// name, or "".
func (w *Handler) idOf(r *http.Request, ref *Model, name string) string {
	res, _, _ := w.listJSON(r, ref.Slug, url.Values{"search": {name}, "page_size": {"100"}})
	if res == nil {
		return ""
	}
	for _, o := range res.Results {
		if formValue(Field{}, o[ref.Title]) == name {
			return formValue(Field{}, o["id"])
		}
	}
	return ""
}

// pick answers a name box's typing with the names of up to 20 matching
// objects of the model, as a datalist's options.
func (w *Handler) pick(rw http.ResponseWriter, r *http.Request) {
	m := w.modelOr404(rw, r)
	if m == nil {
		return
	}
	q := r.URL.Query()
	typed := strings.TrimSpace(q.Get(q.Get("field")))
	var opts []Option
	if typed != "" {
		if res, _, _ := w.listJSON(r, m.Slug, url.Values{"search": {typed}, "page_size": {"20"}}); res != nil {
			for _, o := range res.Results {
				id := formValue(Field{}, o["id"])
				opts = append(opts, Option{Value: objectTitle(m, id, o)})
			}
		}
	}
	render(rw, r, http.StatusOK, pickOptions(opts))
}

// formBodyOf is formBody after the references' names are resolved.
// r.PostForm keeps what was typed, for the form shown again.
func (w *Handler) formBodyOf(r *http.Request, m *Model, fs []Field, cur map[string]any) (map[string]any, map[string]string) {
	form := maps.Clone(r.PostForm)
	refErrs := w.resolveRefs(r, m, fs, form)
	body, errs := formBody(r.Context(), fs, form, cur)
	for f, msg := range refErrs {
		errs[f] = msg
		delete(body, f)
	}
	return body, errs
}

// lines are the non-empty lines (or comma-separated items) of s, trimmed.
func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
