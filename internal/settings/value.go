package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// expected describes each type in error messages.
var expected = map[Type]string{
	TypeString:     "a string",
	TypeInt:        "an integer",
	TypeBool:       "a boolean",
	TypeStringList: "a list of strings",
	TypeDuration:   `a duration string such as "1h30m"`,
}

func invalid(s *Setting, format string, args ...any) *InvalidError {
	return &InvalidError{Name: s.Name, Message: fmt.Sprintf(format, args...)}
}

// decode parses JSON of s's type and validates it. Go's json errors are
// replaced by messages fit for an admin.
func decode(s *Setting, raw json.RawMessage) (any, error) {
	mismatch := invalid(s, "expected %s", expected[s.Type])
	// json.Unmarshal accepts null for every type by leaving the zero value.
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, mismatch
	}
	var v any
	switch s.Type {
	case TypeString:
		var x string
		if json.Unmarshal(raw, &x) != nil {
			return nil, mismatch
		}
		v = x
	case TypeInt:
		var x int
		if json.Unmarshal(raw, &x) != nil {
			return nil, mismatch
		}
		v = x
	case TypeBool:
		var x bool
		if json.Unmarshal(raw, &x) != nil {
			return nil, mismatch
		}
		v = x
	case TypeStringList:
		var ptrs []*string // pointers so null elements are caught
		if json.Unmarshal(raw, &ptrs) != nil || slices.Contains(ptrs, nil) {
			return nil, mismatch
		}
		x := make([]string, len(ptrs))
		for i, p := range ptrs {
			x[i] = *p
		}
		v = x
	case TypeDuration:
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return nil, mismatch
		}
		d, err := time.ParseDuration(str)
		if err != nil {
			return nil, mismatch
		}
		v = d
	default:
		return nil, invalid(s, "unsupported type %s", s.Type)
	}
	if err := check(s, v); err != nil {
		return nil, err
	}
	return v, nil
}

// parseEnv parses an environment string; lists are comma-separated with
// blanks trimmed and empty elements dropped.
func parseEnv(s *Setting, str string) (any, error) {
	var v any
	var err error
	switch s.Type {
	case TypeString:
		v = str
	case TypeInt:
		v, err = strconv.Atoi(strings.TrimSpace(str))
	case TypeBool:
		v, err = strconv.ParseBool(strings.TrimSpace(str))
	case TypeStringList:
		l := []string{}
		for p := range strings.SplitSeq(str, ",") {
			if p = strings.TrimSpace(p); p != "" {
				l = append(l, p)
			}
		}
		v = l
	case TypeDuration:
		v, err = time.ParseDuration(strings.TrimSpace(str))
	}
	if err != nil {
		return nil, invalid(s, "expected %s", expected[s.Type])
	}
	return v, nil
}

// check validates a typed value: Go type, choices, the masked placeholder
// and the Validate func.
func check(s *Setting, v any) error {
	ok := false
	switch v.(type) {
	case string:
		ok = s.Type == TypeString
	case int:
		ok = s.Type == TypeInt
	case bool:
		ok = s.Type == TypeBool
	case []string:
		ok = s.Type == TypeStringList
	case time.Duration:
		ok = s.Type == TypeDuration
	}
	if !ok {
		return invalid(s, "expected %s, got %T", expected[s.Type], v)
	}
	if len(s.Choices) > 0 {
		elems := []any{v}
		if l, isList := v.([]string); isList {
			elems = elems[:0]
			for _, x := range l {
				elems = append(elems, x)
			}
		}
		for _, x := range elems {
			if !slices.Contains(s.Choices, x) {
				return invalid(s, "%s is not one of %s", show(x), choiceList(s.Choices))
			}
		}
	}
	// A client echoing a listing back must not overwrite the real secret.
	if s.Secret && v == any(Masked) {
		return invalid(s, "the masked placeholder %q cannot be stored", Masked)
	}
	if s.Validate != nil {
		if err := s.Validate(v); err != nil {
			return invalid(s, "%s", err.Error())
		}
	}
	return nil
}

// elemTypeOK reports whether a choice fits t (for lists: one element).
func elemTypeOK(t Type, c any) bool {
	switch c.(type) {
	case string:
		return t == TypeString || t == TypeStringList
	case int:
		return t == TypeInt
	case bool:
		return t == TypeBool
	case time.Duration:
		return t == TypeDuration
	}
	return false
}

func choiceList(cs []any) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = show(c)
	}
	return strings.Join(parts, ", ")
}

// show renders a value as JSON, so strings appear quoted in messages.
func show(v any) string {
	b, _ := json.Marshal(jsonValue(v))
	return string(b)
}

// jsonValue converts a value to its JSON form: durations become strings such
// as "1h0m0s" (accepted back by Set), lists are copied.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Duration:
		return x.String()
	case []string:
		return slices.Clone(x)
	}
	return v
}
