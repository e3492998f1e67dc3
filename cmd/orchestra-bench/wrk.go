package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what the benchmark reads from wrk's report.
type wrkResult struct {
	Requests      int64
	ReqPerSec     float64
	P50, P90, P99 time.Duration
	Non2xx        int64 // "Non-2xx or 3xx responses"
	SocketErrors  string
	Timeouts      int64
	Raw           string
}

type wrkOptions struct {
	Threads, Connections int
	Token                string
}

// runWrk runs wrk --latency against url for d and parses its report.
func runWrk(ctx context.Context, o wrkOptions, d time.Duration, url string) (*wrkResult, error) {
	secs := int((d + time.Second - 1) / time.Second)
	args := []string{"-t", strconv.Itoa(o.Threads), "-c", strconv.Itoa(o.Connections),
		"-d", strconv.Itoa(secs) + "s", "--latency", "-H", "Authorization: Bearer " + o.Token, url}
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	return r, nil
}

// parseWrk reads wrk 4's text report (with --latency).
func parseWrk(out string) (*wrkResult, error) {
	r := &wrkResult{Raw: out}
	var haveRPS, haveP99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return nil, fmt.Errorf("requests/sec %q: %w", f[1], err)
			}
			r.ReqPerSec, haveRPS = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "90%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return nil, err
			}
			switch f[0] {
			case "50%":
				r.P50 = d
			case "90%":
				r.P90 = d
			case "99%":
				r.P99, haveP99 = d, true
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("non-2xx %q: %w", line, err)
			}
			r.Non2xx = n
		case strings.HasPrefix(line, "Socket errors:"):
			r.SocketErrors = strings.TrimPrefix(line, "Socket errors: ")
			if i := strings.Index(line, "timeout "); i >= 0 {
				r.Timeouts, _ = strconv.ParseInt(strings.TrimSpace(line[i+len("timeout "):]), 10, 64)
			}
		case len(f) >= 2 && f[1] == "requests" && strings.HasPrefix(line, f[0]+" requests in"):
			r.Requests, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	if !haveRPS || !haveP99 {
		return nil, fmt.Errorf("no Requests/sec or 99%% latency in the report (was --latency given?)")
	}
	return r, nil
}

// parseWrkDuration reads wrk's units: us, ms, s, m, h.
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("latency %q: %w", s, err)
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("latency %q: unknown unit", s)
}
