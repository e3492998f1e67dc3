package orchestration

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// Usage is an object's use of one resource as expressions read it, in the
// resource's unit: 0 when not measured, or not limited.
type Usage struct {
	Used      float64 `expr:"used"`
	Allocated float64 `expr:"allocated"`
}

// Snapshots reads the objects ids of model as column → value maps, as
// changes record them.
func Snapshots(ctx context.Context, tx *ent.Tx, dialect, model string, ids []int) (map[int]map[string]any, error) {
	m := modelOf(model)
	if m == nil {
		return nil, fmt.Errorf("no model %q", model)
	}
	return m.snapshots(ctx, tx, dialect, ids)
}

// CompileObject compiles an expression over an object of model and its
// resources (mailbox.resources.disk.allocated), named after its model or
// obj, with opts saying what it must give: billing's match, metric and
// description.
func CompileObject(model, text string, opts ...expr.Option) (*vm.Program, error) {
	m := modelOf(model)
	if m == nil {
		return nil, fmt.Errorf("no model %q", model)
	}
	zero := reflect.New(m.withResources).Elem().Interface()
	p, err := expr.Compile(text, append([]expr.Option{expr.Env(map[string]any{m.varName: zero, "obj": zero})}, opts...)...)
	if err != nil {
		return nil, errors.New(envTypeDump.ReplaceAllString(err.Error(), m.varName+" has no field $1 (fields: "+m.fieldList()+", resources)"))
	}
	return p, nil
}

// RunObject runs p, compiled by CompileObject for model, on an object's
// snapshot and its resources.
func RunObject(p *vm.Program, model string, snapshot map[string]any, resources map[string]Usage) (any, error) {
	m := modelOf(model)
	if m == nil {
		return nil, fmt.Errorf("no model %q", model)
	}
	cols, err := m.value(snapshot)
	if err != nil {
		return nil, err
	}
	v := reflect.New(m.withResources).Elem()
	c := reflect.ValueOf(cols)
	for i := range c.NumField() {
		v.Field(i).Set(c.Field(i))
	}
	v.FieldByName("Resources").Set(reflect.ValueOf(resources))
	obj := v.Interface()
	return expr.Run(p, map[string]any{m.varName: obj, "obj": obj})
}
