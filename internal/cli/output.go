package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/orchestra-panel/orchestra/internal/api"
)

// Error is an error answer of the API: its problem's detail and the
// mistakes it lists, by field.
type Error struct {
	Status int
	Detail string
	Fields []FieldError
}

// FieldError is one mistake of a request.
type FieldError struct {
	Field   string // as the command line names it: password, user.username
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Detail)
	for _, f := range e.Fields {
		b.WriteString("\n  ")
		if f.Field != "" {
			b.WriteString(f.Field + ": ")
		}
		b.WriteString(f.Message)
	}
	return b.String()
}

// problem reads an error answer (RFC 9457 problem details).
func problem(res *api.Response) *Error {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Errors []struct {
			Location string `json:"location"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	e := &Error{Status: res.Status}
	if json.Unmarshal(res.Body, &p) != nil {
		e.Detail = strings.TrimSpace(string(res.Body))
	} else {
		e.Detail = p.Detail
		if e.Detail == "" {
			e.Detail = p.Title
		}
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(res.Status)
	}
	for _, d := range p.Errors {
		field := d.Location
		for _, in := range []string{"body", "query", "path", "header"} {
			if field == in {
				field = ""
			}
			field = strings.TrimPrefix(field, in+".")
		}
		e.Fields = append(e.Fields, FieldError{Field: field, Message: d.Message})
	}
	return e
}

// field is one member of a JSON object, in the order the API wrote it.
type field struct {
	name  string
	value json.RawMessage
}

// object reads a JSON object's members in order; false if b is not one.
func object(b []byte) ([]field, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []field
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, false
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, false
		}
		if name != "$schema" {
			out = append(out, field{name, v})
		}
	}
	return out, true
}

// format shows a JSON value as text: strings bare, lists of scalars
// comma-separated, anything else as compact JSON.
func format(v json.RawMessage) string {
	var x any
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	if d.Decode(&x) != nil {
		return string(v)
	}
	switch x := x.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		parts := make([]string, 0, len(x))
		for i, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				var b bytes.Buffer
				json.Compact(&b, v)
				return b.String()
			}
			parts = append(parts, format(mustRaw(x[i])))
		}
		return strings.Join(parts, ",")
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

func mustRaw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// writeFields prints an answer as field: value lines (a list of objects
// as such blocks, a blank line apart); a text of several lines follows its
// field's line.
func writeFields(w io.Writer, body []byte) {
	if fields, ok := object(body); ok {
		for _, f := range fields {
			s := format(f.value)
			if strings.Contains(s, "\n") {
				fmt.Fprintf(w, "%s:\n%s", f.name, s)
				if !strings.HasSuffix(s, "\n") {
					fmt.Fprintln(w)
				}
				continue
			}
			fmt.Fprintf(w, "%s: %s\n", f.name, s)
		}
		return
	}
	var list []json.RawMessage
	if json.Unmarshal(body, &list) == nil {
		for i, o := range list {
			if i > 0 {
				fmt.Fprintln(w)
			}
			if _, ok := object(o); ok {
				writeFields(w, o)
			} else {
				fmt.Fprintln(w, format(o))
			}
		}
		return
	}
	fmt.Fprintln(w, format(body))
}

// writeJSON prints the API's JSON, indented.
func writeJSON(w io.Writer, body []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		_, err = w.Write(body)
		return err
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// maxCell is the width of a table's cell; longer values are cut.
const maxCell = 60

// table prints objects as a table: id, title and the presentation's
// columns.
func (x *run) table(objs []json.RawMessage) {
	cols := []string{"id"}
	for _, c := range append([]string{x.m.Title}, x.m.Columns...) {
		if c != "" && !contains(cols, c) {
			cols = append(cols, c)
		}
	}
	tw := tabwriter.NewWriter(x.env.Stdout, 0, 0, 2, ' ', 0)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = strings.ToUpper(c)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, o := range objs {
		var fields map[string]json.RawMessage
		json.Unmarshal(o, &fields)
		row := make([]string, len(cols))
		for i, c := range cols {
			s := ""
			if v, ok := fields[c]; ok {
				s = format(v)
			}
			s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\t", " ")), " ")
			if utf8.RuneCountInString(s) > maxCell {
				s = string([]rune(s)[:maxCell-1]) + "…"
			}
			row[i] = s
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
