package main

import (
	"testing"
	"time"
)

const sampleWrk = `Running 15s test @ http://127.0.0.1:40000/api/v1/accounts/50001
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms    1.10ms  30.12ms   90.00%
    Req/Sec     5.40k   300.00     6.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.50ms
     90%    2.80ms
     99%   12.34ms
  161234 requests in 15.00s, 95.00MB read
  Socket errors: connect 0, read 0, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  10748.93
Transfer/sec:      6.33MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(sampleWrk)
	if err != nil {
		t.Fatal(err)
	}
	if r.ReqPerSec != 10748.93 || r.Requests != 161234 || r.Non2xx != 7 || r.Timeouts != 3 {
		t.Errorf("got %+v", r)
	}
	if r.P50 != 812*time.Microsecond || r.P90 != 2800*time.Microsecond || r.P99 != 12340*time.Microsecond {
		t.Errorf("latencies %s %s %s", r.P50, r.P90, r.P99)
	}
	if _, err := parseWrk("Requests/sec: 1.0\n"); err == nil {
		t.Error("a report without --latency should fail")
	}
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"1.00s": time.Second, "2.5m": 150 * time.Second, "20.00ms": 20 * time.Millisecond, "7us": 7 * time.Microsecond} {
		if got, err := parseWrkDuration(in); err != nil || got != want {
			t.Errorf("%s: %s %v", in, got, err)
		}
	}
}
