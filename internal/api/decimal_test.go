package api

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/shopspring/decimal"
)

// TestDecimalSchema: a decimal field is documented as a string of digits
// and travels as one, exactly.
func TestDecimalSchema(t *testing.T) {
	r := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	decimals(r)
	type priced struct {
		Price decimal.Decimal  `json:"price"`
		Old   *decimal.Decimal `json:"old,omitempty"`
	}
	s := r.Schema(reflect.TypeFor[priced](), true, "")
	if s.Ref != "" {
		s = r.SchemaFromRef(s.Ref)
	}
	for _, f := range []string{"price", "old"} {
		p := s.Properties[f]
		if p == nil || p.Type != "string" || p.Pattern == "" {
			t.Errorf("%s: %+v", f, p)
		}
	}
	var in priced
	if err := json.Unmarshal([]byte(`{"price": "1234567.10", "old": 0.1}`), &in); err != nil || in.Price.String() != "1234567.1" || in.Old.String() != "0.1" {
		t.Fatalf("read %+v %v", in, err)
	}
	out, _ := json.Marshal(priced{Price: decimal.RequireFromString("0.30")})
	if string(out) != `{"price":"0.3"}` {
		t.Errorf("written %s", out)
	}
}
