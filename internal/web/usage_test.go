package web

import "testing"

func TestThreeDigits(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.017600000000000001: "0.0176", 55.00000000000001: "55", 1234567: "1230000", 1.1: "1.1", 999.9: "1000"} {
		if got := threeDigits(v); got != want {
			t.Errorf("threeDigits(%v) = %s, want %s", v, got, want)
		}
	}
}
