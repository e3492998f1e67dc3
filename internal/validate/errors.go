// Package validate holds the field validators shared by every model and the
// error type that carries field-level validation failures to the API and UI.
package validate

import (
	"errors"
	"slices"
	"strings"
)

// FieldError is one failed rule on one field. Field uses the API's JSON name.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Errors collects field errors; a nil or empty Errors means valid.
type Errors []FieldError

// Add records a failure of field.
func (e *Errors) Add(field, msg string) { *e = append(*e, FieldError{Field: field, Message: msg}) }

// Has reports whether field already failed, so later rules can skip it.
func (e Errors) Has(field string) bool {
	for _, f := range e {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Err returns e as an error, or nil when nothing failed.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Field + ": " + f.Message
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// Fail is the error of one failed rule on one field.
func Fail(field, msg string) error { return Errors{{Field: field, Message: msg}} }

// Merge adds err's field errors to e, but for the fields e names already
// and those in skip, so that one answer lists every field's mistake once;
// it reports whether err was field errors (or nil).
func (e *Errors) Merge(err error, skip ...string) bool {
	var more Errors
	if !errors.As(err, &more) {
		return err == nil
	}
	for _, f := range more {
		if !e.Has(f.Field) && !slices.Contains(skip, f.Field) {
			*e = append(*e, f)
		}
	}
	return true
}
