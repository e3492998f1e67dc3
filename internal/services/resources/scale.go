package resources

import (
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/shopspring/decimal"
)

// Scale compiles a resource's scale, an expression of numbers (10**9,
// 1024 * 1024), once, and gives its positive value: used values are the
// samples divided by it (bytes to GB).
func Scale(text string) (decimal.Decimal, error) {
	p, err := expr.Compile(text, expr.Env(map[string]any{}), expr.AsFloat64())
	if err != nil {
		return decimal.Zero, err
	}
	out, err := expr.Run(p, map[string]any{})
	if err != nil {
		return decimal.Zero, err
	}
	v := decimal.NewFromFloat(out.(float64))
	if !v.IsPositive() {
		return decimal.Zero, fmt.Errorf("the scale is %s: it must be above zero", v)
	}
	return v, nil
}
