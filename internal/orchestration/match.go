package orchestration

import (
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// A route's match is an expr-lang expression over the object, named after
// its model (`database.type == "mysql"`) or `obj`; it is compiled against the
// model's typed fields when the route is saved, so a misspelt field or a
// type mismatch is refused then, with the compiler's message.

// CompileMatch compiles a route's match for backend's model.
func CompileMatch(backend, match string) (*vm.Program, error) {
	b, ok := Lookup(backend)
	if !ok {
		return nil, fmt.Errorf("unknown backend %q", backend)
	}
	m := modelOf(b.Model)
	if m == nil {
		return nil, fmt.Errorf("backend %q: model %q has no table", backend, b.Model)
	}
	if match == "" {
		match = "true"
	}
	return compileExpr(m, match)
}

// compileExpr compiles a boolean expression over model m's fields.
func compileExpr(m *model, text string) (*vm.Program, error) {
	p, err := expr.Compile(text, expr.Env(matchEnv(m, nil)), expr.AsBool())
	if err != nil {
		return nil, errors.New(envTypeDump.ReplaceAllString(err.Error(), m.varName+" has no field $1 (fields: "+m.fieldList()+")"))
	}
	return p, nil
}

// envTypeDump is how expr names the generated env type in an error.
var envTypeDump = regexp.MustCompile(`type struct \{.*\} has no field (\w+)`)

// matchEnv is the environment of an expression: the object under its model's
// name and as obj.
func matchEnv(m *model, v any) map[string]any {
	if v == nil {
		v = mustZero(m)
	}
	return map[string]any{m.varName: v, "obj": v}
}

func mustZero(m *model) any {
	v, _ := m.value(map[string]any{})
	return v
}

// matcher caches compiled matches by (backend, expression).
type matcher struct {
	mu    sync.Mutex
	progs map[[2]string]*vm.Program
}

// matches runs a route's match on obj. A match that no longer compiles
// (the model changed under it) matches nothing and says why.
func (c *matcher) matches(backend, match string, obj Object) (bool, error) {
	c.mu.Lock()
	if c.progs == nil {
		c.progs = map[[2]string]*vm.Program{}
	}
	key := [2]string{backend, match}
	p, ok := c.progs[key]
	c.mu.Unlock()
	if !ok {
		var err error
		if p, err = CompileMatch(backend, match); err != nil {
			return false, err
		}
		c.mu.Lock()
		c.progs[key] = p
		c.mu.Unlock()
	}
	m := modelOf(obj.Model)
	v, err := m.value(obj.Snapshot)
	if err != nil {
		return false, err
	}
	out, err := expr.Run(p, matchEnv(m, v))
	if err != nil {
		return false, err
	}
	return out.(bool), nil
}
