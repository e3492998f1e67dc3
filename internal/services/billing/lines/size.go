package lines

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/services/billing/period"
)

// sizeKey is a stretch in a unit, by day numbers.
type sizeKey struct {
	ini, end int64
	unit     period.Period
}

// sizes memoizes period.Size, a pure function of the dates that a run
// asks for again and again (the same periods and days for every account)
// and that costs a decimal division. Bounded: dropped whole when full.
var (
	sizes     atomic.Pointer[sync.Map]
	sizeCount atomic.Int64
)

const sizeCap = 1 << 16

func init() { sizes.Store(new(sync.Map)) }

// size is how many periods [ini, end) is, in the run's unit.
func (r *run) size(ini, end time.Time) (decimal.Decimal, error) {
	k := sizeKey{ini.Unix() / 86400, end.Unix() / 86400, r.unit}
	m := sizes.Load()
	if v, ok := m.Load(k); ok {
		return v.(decimal.Decimal), nil
	}
	s, err := period.Size(ini, end, r.unit)
	if err != nil {
		return s, err
	}
	if sizeCount.Add(1) > sizeCap {
		sizes.Store(new(sync.Map))
		sizeCount.Store(0)
		m = sizes.Load()
	}
	m.Store(k, s)
	return s, nil
}

// cents is x rounded half to even to cents (RoundBank(2)): at no cost when
// x is in cents already, in int64 arithmetic when its coefficient fits (a
// run rounds a million products of prices, sizes and metrics).
func cents(x decimal.Decimal) decimal.Decimal {
	e := x.Exponent()
	if e >= -2 {
		return x
	}
	if e < -18 || x.NumDigits() > 18 {
		return x.RoundBank(2)
	}
	c, p := x.CoefficientInt64(), pow10[-2-e]
	q, r := c/p, c%p
	if r < 0 {
		r = -r
	}
	if up := 2 * r; up > p || up == p && q%2 != 0 {
		if c < 0 {
			q--
		} else {
			q++
		}
	}
	return decimal.New(q, -2)
}

var pow10 = func() (t [17]int64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return
}()

// numKey is a decimal as a map key without formatting it, when its
// coefficient fits an int64 (two spellings of a value are two keys: a
// miss, never a wrong hit).
type numKey struct {
	coef int64
	exp  int32
	big  string // the decimal's text otherwise
}

func keyOf(x decimal.Decimal) numKey {
	if x.NumDigits() <= 18 {
		return numKey{coef: x.CoefficientInt64(), exp: x.Exponent()}
	}
	return numKey{big: x.String()}
}
