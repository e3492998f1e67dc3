package api

import (
	"reflect"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"
)

// decimalText is how the API documents an exact decimal (money, usage): a
// string of digits, so that no client reads it as a float. Bodies may
// send it as a string or a number; answers always give a string.
type decimalText string

// Schema implements huma.SchemaProvider.
func (decimalText) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: "string", Pattern: `^-?[0-9]{1,15}(\.[0-9]{1,6})?$`, Examples: []any{"12.50"},
		Description: "An exact decimal number, as a string."}
}

// decimals makes the schemas of decimal.Decimal fields decimalText's.
func decimals(r huma.Registry) {
	r.RegisterTypeAlias(reflect.TypeFor[decimal.Decimal](), reflect.TypeFor[decimalText]())
}
