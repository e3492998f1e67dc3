package lines

import (
	"cmp"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// forever is the end of an order that is not cancelled.
var forever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// days from a to b (negative when b is before a), for any dates, forever
// included (a time.Duration would overflow).
func days(a, b time.Time) int64 { return (b.Unix() - a.Unix()) / 86400 }

func maxDate(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minDate(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// interval is [ini, end) in days, of a giver's prepaid time when giver is
// set.
type interval struct {
	ini, end time.Time
	giver    *order
}

func (i interval) length() int64 { return max(days(i.ini, i.end), 0) }

// intersect is the part of i within o, with i's giver, if it lasts a day.
func (i interval) intersect(o interval) (interval, bool) {
	x := interval{maxDate(i.ini, o.ini), minDate(i.end, o.end), i.giver}
	return x, x.length() > 0
}

// minus is what of i lies outside o.
func (i interval) minus(o interval) []interval {
	var out []interval
	if i.ini.Before(o.ini) {
		if x := (interval{i.ini, minDate(i.end, o.ini), i.giver}); x.length() > 0 {
			out = append(out, x)
		}
	}
	if i.end.After(o.end) {
		if x := (interval{maxDate(i.ini, o.end), i.end, i.giver}); x.length() > 0 {
			out = append(out, x)
		}
	}
	return out
}

func overlap(c interval, set []interval) int64 {
	var n int64
	for _, s := range set {
		if x, ok := c.intersect(s); ok {
			n += x.length()
		}
	}
	return n
}

// sorted is the pricing and compensation order (the original's
// cmp_billed_until_or_registered_on): billed orders by billed until, the
// latest first; orders never billed by id; the two merged by date (billed
// until against registration), the latest first, a tie to the lower id.
// The original's comparator is not transitive when both kinds mix; this
// merge agrees with it on every pair it orders consistently.
func sorted(ws []*order) []*order {
	var billed, fresh []*order
	for _, w := range ws {
		if w.stored().IsZero() {
			fresh = append(fresh, w)
		} else {
			billed = append(billed, w)
		}
	}
	slices.SortStableFunc(billed, func(a, b *order) int {
		if c := b.stored().Compare(a.stored()); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	slices.SortStableFunc(fresh, func(a, b *order) int { return cmp.Compare(a.ID, b.ID) })
	out := make([]*order, 0, len(ws))
	for len(billed) > 0 && len(fresh) > 0 {
		b, f := billed[0], fresh[0]
		if c := b.stored().Compare(f.Registered); c > 0 || c == 0 && b.ID < f.ID {
			out, billed = append(out, b), billed[1:]
		} else {
			out, fresh = append(out, f), fresh[1:]
		}
	}
	return append(append(out, billed...), fresh...)
}

// compensate (§5.6) covers a receiver's interval with the pool of givers'
// intervals: each time the one overlapping most what is left uncovered
// (ties: the later in the pool). It returns the pool left (unused parts
// and untouched intervals) and the parts used.
func compensate(recv interval, pool []interval) (rest, used []interval) {
	left := []interval{recv}
	cands := slices.Clone(pool)
	for {
		best, most := -1, int64(0)
		for i, c := range cands {
			if n := overlap(c, left); n > 0 && n >= most {
				best, most = i, n
			}
		}
		if best < 0 {
			break
		}
		c := cands[best]
		cands = slices.Delete(cands, best, best+1)
		var parts, still []interval
		for _, l := range left {
			if x, ok := c.intersect(l); ok {
				parts = append(parts, x)
			}
			still = append(still, l.minus(c)...)
		}
		left = still
		used = append(used, parts...)
		// what of c no receiver piece took goes back (the original counted
		// it once per piece left)
		remain := []interval{c}
		for _, p := range parts {
			var next []interval
			for _, m := range remain {
				next = append(next, m.minus(p)...)
			}
			remain = next
		}
		rest = append(rest, remain...)
	}
	return append(rest, cands...), used
}

// applies says whether w's line takes the compensation u: it overlaps
// what the line covers, or it comes after it and lasts more than three
// times the gap before it (the line then stretches to its end).
func applies(u interval, ini, end time.Time) bool {
	if _, ok := u.intersect(interval{ini: ini, end: end}); ok {
		return true
	}
	return u.end.After(end) && u.length() > 3*days(end, u.ini)
}

// assignCompensations (prepay, COMPENSATE) hands the givers' prepaid time
// after their cancellation to the receivers, in sorted order, and cuts
// each giver's billed until back to the start of what it gave. A part a
// receiver's line would not take goes back to the pool, so no giver loses
// credit nobody got (the original cut the giver anyway).
func (r *run) assignCompensations(selected []*order, ini, end time.Time) {
	var givers []*order
	for _, w := range r.all {
		if !w.selected && !w.Cancelled.IsZero() && !w.BilledUntil.IsZero() && w.Cancelled.Before(w.BilledUntil) &&
			w.BilledUntil.After(ini) && w.Registered.Before(end) {
			givers = append(givers, w)
		}
	}
	if len(givers) == 0 {
		return
	}
	var pool []interval
	for _, g := range sorted(givers) {
		pool = append(pool, interval{g.Cancelled, g.BilledUntil, g})
	}
	for _, w := range sorted(selected) {
		recvEnd := forever
		if !w.Cancelled.IsZero() {
			recvEnd = w.Cancelled
		}
		var used []interval
		pool, used = compensate(interval{ini: w.from(), end: recvEnd}, pool)
		for _, u := range used {
			if !applies(u, w.from(), w.newUntil) {
				pool = append(pool, u)
				continue
			}
			w.comps = append(w.comps, u)
			g := u.giver
			if g.cut.IsZero() {
				g.cut = g.BilledUntil
			}
			g.cut = minDate(g.cut, u.ini)
		}
	}
}

// applyCompensations (apply_compensations) sums the sizes of w's
// compensations its line takes; one reaching past the line's end moves
// the end there. onlyBeyond (concurrent pricing) counts only what lies
// past the end, the rest being priced chunk by chunk.
func (r *run) applyCompensations(w *order, onlyBeyond bool) (decimal.Decimal, time.Time, error) {
	dsize := decimal.Zero
	var newEnd time.Time
	ini, beyond := w.from(), w.newUntil
	for _, u := range w.comps {
		cini, cend := u.ini, u.end
		if x, ok := u.intersect(interval{ini: ini, end: beyond}); ok {
			cini, cend = x.ini, x.end
			if u.end.After(beyond) {
				cend, newEnd = u.end, maxDate(newEnd, u.end)
				if onlyBeyond {
					cini = beyond
				}
			} else if onlyBeyond {
				continue
			}
		} else {
			newEnd = maxDate(newEnd, u.end) // past the end by applies' 3× rule
		}
		s, err := r.size(cini, cend)
		if err != nil {
			return decimal.Zero, time.Time{}, err
		}
		dsize = dsize.Add(s)
	}
	return dsize, newEnd, nil
}
