package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// A create's or an update's body is checked against its schema by a
// middleware of its operation, not by huma: huma's refusal would come alone,
// and a person filling a form would meet the rules' mistakes one submit
// later. The handler gets the schema's mistakes, runs the rules too (in a
// transaction rolled back) and answers every field's mistake at once.

// bodyCheck checks the bodies of one operation.
type bodyCheck struct {
	s            *Server
	method, path string
	once         sync.Once
	schema       *huma.Schema
}

type bodyErrsKey struct{}

// checkBody makes o's body, of type B, checked by a middleware of its own
// in place of huma: a body that breaks its schema reaches the handler with
// its mistakes (bodyErrors) if it still decodes into B; else it is answered
// here, every mistake located. What huma answered stays as it was: 415 for
// a body that is not JSON, 400 for one that does not parse, 413.
func checkBody[B any](s *Server, o *huma.Operation) {
	o.SkipValidateBody = true
	b := &bodyCheck{s: s, method: o.Method, path: o.Path}
	limit := o.MaxBodyBytes
	if limit == 0 {
		limit = 1 << 20 // huma's default
	}
	o.Middlewares = append(o.Middlewares, func(ctx huma.Context, next func(huma.Context)) {
		if ct := ctx.Header("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
				huma.WriteErr(s.api, ctx, http.StatusUnsupportedMediaType, "unknown content type: "+ct)
				return
			}
		}
		var raw []byte
		if r := ctx.BodyReader(); r != nil {
			var err error
			if raw, err = io.ReadAll(io.LimitReader(r, limit)); err != nil {
				huma.WriteErr(s.api, ctx, http.StatusBadRequest, "cannot read request body")
				return
			}
		}
		ctx = bodyContext{ctx, bytes.NewReader(raw)}
		if len(raw) == 0 || int64(len(raw)) >= limit {
			next(ctx) // huma answers: required, or too large
			return
		}
		errs, err := b.errors(ctx.Context(), raw)
		if err != nil {
			huma.WriteErr(s.api, ctx, http.StatusBadRequest, err.Error())
			return
		}
		if len(errs) > 0 && json.Unmarshal(raw, new(B)) != nil {
			details := make([]error, len(errs))
			for i, f := range errs {
				details[i] = &huma.ErrorDetail{Location: "body." + f.Field, Message: f.Message}
			}
			huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, i18n.T(ctx.Context(), "validation failed"), details...)
			return
		}
		next(huma.WithValue(ctx, bodyErrsKey{}, errs))
	})
}

// bodyErrors are the mistakes checkBody found in the request's body.
func bodyErrors(ctx context.Context) validate.Errors {
	errs, _ := ctx.Value(bodyErrsKey{}).(validate.Errors)
	return errs
}

// errors are raw's mistakes against the body's schema, by field (required
// fields absent named as fields); nil when there are none. A body that is
// not JSON at all is an error.
func (b *bodyCheck) errors(ctx context.Context, raw []byte) (validate.Errors, error) {
	oapi := b.s.api.OpenAPI()
	b.once.Do(func() {
		if item := oapi.Paths[b.path]; item != nil {
			o := map[string]*huma.Operation{http.MethodPost: item.Post, http.MethodPatch: item.Patch, http.MethodPut: item.Put}[b.method]
			if o != nil && o.RequestBody != nil {
				if mt := o.RequestBody.Content["application/json"]; mt != nil {
					b.schema = mt.Schema
				}
			}
		}
	})
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	if b.schema == nil {
		return nil, nil
	}
	res := &huma.ValidateResult{}
	huma.Validate(oapi.Components.Schemas, b.schema, huma.NewPathBuffer([]byte("body"), 0), huma.ModeWriteToServer, v, res)
	var errs validate.Errors
	for _, e := range res.Errors {
		d, ok := e.(*huma.ErrorDetail)
		if !ok {
			continue
		}
		field := strings.TrimPrefix(strings.TrimPrefix(d.Location, "body"), ".")
		msg := validate.Plain(ctx, d.Message)
		if prop, ok := requiredProperty(d.Message); ok {
			field = strings.TrimPrefix(field+"."+prop, ".")
			msg = i18n.T(ctx, "This field is required.")
		}
		if !errs.Has(field) {
			errs = append(errs, validate.FieldError{Field: field, Message: msg})
		}
	}
	return errs, nil
}

// requiredProperty is the property huma's message says is missing.
func requiredProperty(msg string) (string, bool) {
	pre, post, _ := strings.Cut(validation.MsgExpectedRequiredProperty, "%s")
	rest, ok := strings.CutPrefix(msg, pre)
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, post)
}
