package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// JSONView is an operation's answer as a page shows it, in the answer's
// own order: an object as labelled fields, its lists under them; a list of
// objects as a table, or, when they hold lists themselves (a billing run's
// accounts and their lines), as one block each; anything else as text.
type JSONView struct {
	Text    string
	Fields  []JSONField
	Columns []string
	Rows    [][]JSONView
	Blocks  []JSONView
}

// Plain are the fields shown as labelled values.
func (v JSONView) Plain() []JSONField {
	return slices.DeleteFunc(slices.Clone(v.Fields), JSONField.nested)
}

// Nested are the fields shown under them, each a table or blocks.
func (v JSONView) Nested() []JSONField {
	return slices.DeleteFunc(slices.Clone(v.Fields), func(f JSONField) bool { return !f.nested() })
}

func (f JSONField) nested() bool { return f.Value.IsTable() || f.Value.Blocks != nil }

// JSONField is an object's field.
type JSONField struct {
	Label string
	Value JSONView
}

// IsTable says the view is a list of objects.
func (v JSONView) IsTable() bool { return v.Columns != nil }

// jsonView reads a JSON document in order; keys of bookkeeping ($schema)
// are left out.
func jsonView(ctx context.Context, body []byte) (JSONView, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	return readView(ctx, d)
}

func readView(ctx context.Context, d *json.Decoder) (JSONView, error) {
	tok, err := d.Token()
	if err != nil {
		return JSONView{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			var v JSONView
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return v, err
				}
				val, err := readView(ctx, d)
				if err != nil {
					return v, err
				}
				// bookkeeping: the schema, and the page says whether it was a preview
				if key := k.(string); !strings.HasPrefix(key, "$") && key != "committed" {
					v.Fields = append(v.Fields, JSONField{Label: label(ctx, key), Value: val})
				}
			}
			_, err := d.Token()
			return v, err
		}
		var items []JSONView
		for d.More() {
			it, err := readView(ctx, d)
			if err != nil {
				return JSONView{}, err
			}
			items = append(items, it)
		}
		if _, err := d.Token(); err != nil {
			return JSONView{}, err
		}
		return listView(items), nil
	case nil:
		return JSONView{Text: "—"}, nil
	case bool:
		if t {
			return JSONView{Text: i18n.T(ctx, "yes")}, nil
		}
		return JSONView{Text: i18n.T(ctx, "no")}, nil
	case json.Number:
		return JSONView{Text: t.String()}, nil
	default:
		return JSONView{Text: formValue(Field{}, t)}, nil
	}
}

// listView is a list: a table when it holds objects (columns in the order
// first met), else its items as text.
func listView(items []JSONView) JSONView {
	objects := len(items) > 0
	for _, it := range items {
		objects = objects && it.Fields != nil
	}
	if !objects {
		var parts []string
		for _, it := range items {
			parts = append(parts, it.Text)
		}
		return JSONView{Text: strings.Join(parts, ", ")}
	}
	if slices.ContainsFunc(items, func(it JSONView) bool { return len(it.Nested()) > 0 }) {
		return JSONView{Blocks: items} // a table within a table's cell is unreadable
	}
	v := JSONView{Columns: []string{}}
	for _, it := range items {
		for _, f := range it.Fields {
			if !slices.Contains(v.Columns, f.Label) {
				v.Columns = append(v.Columns, f.Label)
			}
		}
	}
	for _, it := range items {
		row := make([]JSONView, len(v.Columns))
		for i, c := range v.Columns {
			row[i] = JSONView{Text: ""}
			for _, f := range it.Fields {
				if f.Label == c {
					row[i] = f.Value
				}
			}
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// previewed is m's previewed operation verb, if it is one.
func (m *Model) previewed(verb string) *api.Previewed {
	for i := range m.Previewed {
		if m.Previewed[i].Verb == verb {
			return &m.Previewed[i]
		}
	}
	return nil
}

// runPreviewed posts ids to p's path, committing or only asking.
func (w *Handler) runPreviewed(r *http.Request, p *api.Previewed, ids []string, commit bool) (int, []byte) {
	nums := []int{}
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil {
			nums = append(nums, n)
		}
	}
	status, _, body := w.call(r, http.MethodPost, p.Path, map[string]any{p.Field: nums, "commit": commit})
	return status, body
}

// PreviewPage asks to run a previewed operation, showing what it would do.
type PreviewPage struct {
	ConfirmPage
	Label   string
	Preview JSONView
}

// confirmPreviewed shows what p would do to ids, and asks.
func (w *Handler) confirmPreviewed(rw http.ResponseWriter, r *http.Request, m *Model, p *api.Previewed, ids []string, back string) {
	ctx := r.Context()
	status, body := w.runPreviewed(r, p, ids, false)
	if status >= 300 {
		w.apiError(rw, r, parseProblem(status, body))
		return
	}
	v, err := jsonView(ctx, body)
	if err != nil {
		w.apiError(rw, r, &problem{Status: http.StatusBadGateway, Message: err.Error()})
		return
	}
	pp := PreviewPage{ConfirmPage: ConfirmPage{Model: m, Verb: p.Verb, IDs: ids, Back: back, Action: "/" + m.Slug + "/bulk",
		Question: i18n.T(ctx, "This is what it would do; nothing has changed yet. Go ahead?")},
		Label: i18n.T(ctx, p.Label), Preview: v}
	render(rw, r, http.StatusOK, previewPage(w.frame(r, i18n.T(ctx, "Preview")+": "+i18n.T(ctx, p.Label)), pp))
}
