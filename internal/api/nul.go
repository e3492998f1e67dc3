package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/i18n"
)

// refuseNUL answers 422, naming every field, when a query parameter or a
// string of the JSON body holds a NUL character. PostgreSQL cannot store
// one in text and no server takes one in a name, a path or a password, so
// it is refused here, once for every operation, before a handler hashes a
// password or a store writes a row.
func (s *Server) refuseNUL(ctx huma.Context, next func(huma.Context)) {
	var details []error
	refuse := func(location string) {
		details = append(details, &huma.ErrorDetail{Location: location,
			Message: i18n.T(ctx.Context(), "Remove the NUL character (\\u0000): it cannot be stored.")})
	}
	u := ctx.URL()
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range q[k] {
			if strings.ContainsRune(k+v, 0) {
				refuse("query." + k)
				break
			}
		}
	}
	if r := ctx.BodyReader(); r != nil {
		data, err := io.ReadAll(r)
		if err != nil {
			// too large or cut short: let the operation's own reading answer
			ctx = bodyContext{ctx, io.MultiReader(bytes.NewReader(data), errReader{err})}
		} else {
			ctx = bodyContext{ctx, bytes.NewReader(data)}
			// the escape is the only way a NUL gets into a valid JSON string
			if bytes.Contains(data, []byte(`\u0000`)) {
				var v any
				if json.Unmarshal(data, &v) == nil {
					nulStrings(v, "body", refuse)
				}
			}
		}
	}
	if len(details) > 0 {
		huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, i18n.T(ctx.Context(), "validation failed"), details...)
		return
	}
	next(ctx)
}

// nulStrings calls refuse with the location of each string in v holding a
// NUL, in huma's notation (body.records[0].value).
func nulStrings(v any, at string, refuse func(string)) {
	switch v := v.(type) {
	case string:
		if strings.ContainsRune(v, 0) {
			refuse(at)
		}
	case []any:
		for i, x := range v {
			nulStrings(x, fmt.Sprintf("%s[%d]", at, i), refuse)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.ContainsRune(k, 0) {
				refuse(at)
				continue
			}
			nulStrings(v[k], at+"."+k, refuse)
		}
	}
}

// bodyContext is a huma.Context whose body has been read already.
type bodyContext struct {
	humaContext
	body io.Reader
}

// humaContext names the embedded interface apart from its Context method.
type humaContext = huma.Context

func (c bodyContext) BodyReader() io.Reader { return c.body }

// Unwrap lets adapters reach the request under this context.
func (c bodyContext) Unwrap() huma.Context { return c.humaContext }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
