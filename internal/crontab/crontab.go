// Package crontab reads schedules the way Debian's cron does: five fields
// (minute hour day-of-month month day-of-week) of numbers, names, ranges,
// lists and steps, or one of the @ forms. Cron jobs are written with it
// and resources are measured on it.
package crontab

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed schedule: the minutes, hours, days, months and
// weekdays it runs on.
type Schedule struct {
	sets     [5][]bool
	reboot   bool // @reboot: at start-up only, never by the clock
	anyDay   bool // day-of-month is *
	anyWeek  bool // day-of-week is *
	Original string
}

var (
	limits = [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}
	names  = [5][]string{3: strings.Fields("jan feb mar apr may jun jul aug sep oct nov dec"), 4: strings.Fields("sun mon tue wed thu fri sat")}
	macros = map[string]string{"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
		"@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}
	// ErrSchedule is a schedule cron would not take.
	ErrSchedule = errors.New("crontab: not five crontab fields nor an @ form")
)

// Parse reads s (fields separated by any white space).
func Parse(s string) (*Schedule, error) {
	f := strings.Fields(s)
	sch := &Schedule{Original: s}
	if len(f) == 1 && f[0] == "@reboot" {
		sch.reboot = true
		return sch, nil
	}
	if len(f) == 1 {
		m, ok := macros[f[0]]
		if !ok {
			return nil, ErrSchedule
		}
		f = strings.Fields(m)
	}
	if len(f) != 5 {
		return nil, ErrSchedule
	}
	for i, field := range f {
		set := make([]bool, limits[i][1]+1)
		for item := range strings.SplitSeq(field, ",") {
			span, stepText, stepped := strings.Cut(item, "/")
			lo, hi := limits[i][0], limits[i][1]
			if span != "*" {
				a, b, ranged := strings.Cut(span, "-")
				var ok bool
				if lo, ok = value(i, a); !ok {
					return nil, ErrSchedule
				}
				hi = lo
				if ranged {
					if hi, ok = value(i, b); !ok {
						return nil, ErrSchedule
					}
				} else if stepped {
					return nil, ErrSchedule // cron takes a step after * or a range only
				}
			}
			step := 1
			if stepped {
				n, err := strconv.Atoi(stepText)
				if err != nil || n < 1 || n > limits[i][1] {
					return nil, ErrSchedule
				}
				step = n
			}
			for v := lo; v <= hi; v += step {
				set[v] = true
			}
		}
		sch.sets[i] = set
	}
	if sch.sets[4][7] {
		sch.sets[4][0] = true // 7 is Sunday too
	}
	sch.anyDay, sch.anyWeek = f[2] == "*", f[4] == "*"
	return sch, nil
}

func value(i int, v string) (int, bool) {
	if n, err := strconv.Atoi(v); err == nil {
		return n, n >= limits[i][0] && n <= limits[i][1]
	}
	if k := slices.Index(names[i], strings.ToLower(v)); k >= 0 {
		return k + limits[i][0], true
	}
	return 0, false
}

// Matches reports whether the schedule runs in t's minute (in t's zone).
// As cron, when both days are restricted either one will do.
func (s *Schedule) Matches(t time.Time) bool {
	if s.reboot {
		return false
	}
	day, week := s.sets[2][t.Day()], s.sets[4][int(t.Weekday())]
	days := day && week
	if !s.anyDay && !s.anyWeek {
		days = day || week
	}
	return s.sets[0][t.Minute()] && s.sets[1][t.Hour()] && s.sets[3][int(t.Month())] && days
}
