package crontab

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, ok := range []string{"* * * * *", "30 2 * * 1", " 30  2 * * mon-fri,sun ", "*/5 0-23/2 1,15 JAN-dec Sun-6", "59 23 31 12 7",
		"@reboot", "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "0 0 * * 7"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *", "* * * 13 *",
		"* * * * 8", "5/2 * * * *", "*/0 * * * *", "*/60 * * * *", "a * * * *", "@every 5m", "1-x * * * *", "1,,2 * * * *", "* * * foo *"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q taken", bad)
		}
	}
}

func TestMatches(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		sched, when string
		want        bool
	}{
		{"0 * * * *", "2026-03-02 05:00", true},
		{"0 * * * *", "2026-03-02 05:01", false},
		{"@hourly", "2026-03-02 05:00", true},
		{"*/15 * * * *", "2026-03-02 05:45", true},
		{"*/15 * * * *", "2026-03-02 05:50", false},
		{"30 2 * * mon-fri", "2026-03-02 02:30", true},  // a Monday
		{"30 2 * * mon-fri", "2026-03-01 02:30", false}, // a Sunday
		{"0 0 * * 7", "2026-03-01 00:00", true},         // 7 is Sunday
		{"0 0 1 * mon", "2026-03-01 00:00", true},       // both days given: either will do
		{"0 0 1 * mon", "2026-03-02 00:00", true},
		{"0 0 1 * mon", "2026-03-03 00:00", false},
		{"0 0 29 feb *", "2024-02-29 00:00", true},
		{"0 0 1-10/3 * *", "2026-03-07 00:00", true},
		{"0 0 1-10/3 * *", "2026-03-08 00:00", false},
		{"@reboot", "2026-03-02 00:00", false},
	} {
		s, err := Parse(c.sched)
		if err != nil {
			t.Fatalf("%s: %v", c.sched, err)
		}
		if got := s.Matches(at(c.when)); got != c.want {
			t.Errorf("%s at %s: %v", c.sched, c.when, got)
		}
	}
}
