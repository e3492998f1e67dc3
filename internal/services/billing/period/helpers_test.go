package period

import "github.com/shopspring/decimal"

func mustDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func mustFixed(s string) string {
	if s == "1" {
		return "1.00"
	}
	return mustDec(s).StringFixed(2)
}
