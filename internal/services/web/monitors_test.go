package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/monitorsample"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// TestWebsiteTraffic: the bytes nginx and Apache serve for a website are
// what their traffic monitors count from its access logs, exactly (nginx
// logs the body's bytes, Apache the response's with its headers), for a
// site with a plain name and one with a hostile but allowed name; a
// second run counts only the requests since the first; the log's times
// are read with their zone offsets, at the window's edges; a visitor's
// request and user name, forged to look like a log's fields, count for
// what was sent; a site whose log is not there prints nothing and one with
// no request in the window 0; and a log that is a link is refused, its
// unit failing with nothing stored.
func TestWebsiteTraffic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := newSiteBed(t, st)
		monitors := []string{web.NginxTrafficMonitor, web.ApacheTrafficMonitor}
		for _, m := range monitors {
			b.Admin.Do("POST", "/routes", map[string]any{"backend": m, "server": b.ServerID}).Want(http.StatusCreated)
		}
		logDir := web.SiteLogs.Get() // the bed's server keeps the default
		logOf := func(backend string, site string) string {
			return logDir + "/" + web.SiteName(b.acc, site) + "." + backend + ".access.log"
		}
		const size = 12_345
		data := strings.Repeat("0123456789abcdef", size/16+1)[:size]
		app := b.app("files", "static", map[string]any{"public_root": "public"}, "public", map[string]string{"data.bin": data})

		// a plain site, one with a hostile but allowed name, a quiet one
		plain := "tr" + b.user[1:]
		plainID, plainHost := b.site(plain, "http")
		b.mount(plainID, app, "/")
		hostile := "0-..-_.nginx.access.log.-" + b.user
		hostileHost := "h" + b.user[1:] + "." + b.dom
		dom := b.cust.Do("POST", "/domains", map[string]any{"name": hostileHost}).Want(http.StatusCreated).ID()
		hostileID := b.Applied(b.cust.Do("POST", "/websites", map[string]any{"name": hostile, "protocol": "http",
			"domains": []int{dom}}).Want(http.StatusCreated)).ID()
		b.sites = append(b.sites, hostileID)
		b.mount(hostileID, app, "/")
		quiet := "q" + b.user[1:]
		quietID, _ := b.site(quiet, "http")
		var logs, errorLogs []string
		for _, s := range []string{plain, hostile, quiet} {
			for _, be := range []string{web.NginxBackend, web.ApacheBackend} {
				logs = append(logs, orchestrationQuote(logOf(be, s)))
				errorLogs = append(errorLogs, orchestrationQuote(strings.TrimSuffix(logOf(be, s), ".access.log")+".error.log"))
			}
		}
		trap := "/tmp/" + b.user + ".traffic-trap"
		t.Cleanup(func() { // the sites first: a reload opens the logs of those left
			for _, id := range []int{plainID, hostileID, quietID} {
				b.Admin.Do("DELETE", fmt.Sprintf("/websites/%d", id), nil)
			}
			b.Root("rm -f -- " + strings.Join(append(logs, errorLogs...), " ") + " " + orchestrationQuote(trap))
		})

		// the sites' logs are there once written: the quiet one's nginx log
		// goes (as if nginx did not serve it)
		lines := map[string]int{} // log → lines expected
		for _, l := range logs {
			lines[l] = 0
		}
		b.waitLines(lines)
		if out, code := b.Root("rm -- " + orchestrationQuote(logOf(web.NginxBackend, quiet))); code != 0 {
			t.Fatal(out)
		}
		delete(lines, orchestrationQuote(logOf(web.NginxBackend, quiet)))

		// served: monitor → site → bytes expected in the run's window
		type served map[string]map[int]int
		serve := func(want served, host string, site int, siteName string, times int, hostileRequest bool) {
			t.Helper()
			for _, s := range b.servers {
				monitor := s.backend + "-traffic"
				for i := 0; i < times; i++ {
					total, body, status := rawGet(t, s.addr, host, "/data.bin", hostileRequest)
					if status != 200 || body != size {
						t.Fatalf("%s: GET /data.bin on %s: %d with %d bytes", s.backend, host, status, body)
					}
					if s.backend == web.NginxBackend {
						want[monitor][site] += body // $body_bytes_sent
					} else {
						want[monitor][site] += total // %O
					}
				}
				lines[orchestrationQuote(logOf(s.backend, siteName))] += times
			}
		}
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		traffic := st.Resource.GetX(ctx, b.Admin.Do("POST", "/resources", map[string]any{"name": "traffic", "label": "Traffic",
			"model": "Website", "unit": "B", "aggregation": "monthly-sum", "monitors": monitors}).Want(http.StatusCreated).ID())
		measure := func(now time.Time, want served, failing int) {
			t.Helper()
			round, err := resources.Measure(ctx, st, b.Ex, traffic, now, time.Minute)
			if err != nil || len(round.Failed) != failing {
				t.Fatalf("measuring at %s: %+v %v", now.Format(time.TimeOnly), round, err)
			}
			for _, m := range monitors {
				got := map[int]string{}
				for _, s := range st.MonitorSample.Query().Where(monitorsample.Monitor(m), monitorsample.CreatedAt(now)).AllX(ctx) {
					got[s.ObjectID] = s.Value.String()
				}
				wantm := map[int]string{}
				for id, v := range want[m] {
					wantm[id] = strconv.Itoa(v)
				}
				if fmt.Sprint(got) != fmt.Sprint(wantm) {
					t.Errorf("at %s, %s counted %v, want %v", now.Format(time.TimeOnly), m, got, wantm)
				}
			}
		}
		used := func(site int) string {
			d, err := st.ResourceData.Query().Where(resourcedata.ResourceID(traffic.ID), resourcedata.ObjectID(site)).Only(ctx)
			if err != nil || d.Used == nil {
				return fmt.Sprint(err)
			}
			return d.Used.String()
		}
		// the time of the log's lines, as nginx writes it in zone
		stamp := func(at time.Time, zone int) string {
			return at.In(time.FixedZone("", zone)).Format("02/Jan/2006:15:04:05 -0700")
		}
		forge := func(at time.Time, zone, bytes int) string {
			return fmt.Sprintf(`203.0.113.9 - - [%s] "GET /forged HTTP/1.1" 200 %d "-" "test"`, stamp(at, zone), bytes)
		}

		// first run: everything until now1
		run1 := served{web.NginxTrafficMonitor: {}, web.ApacheTrafficMonitor: {}}
		serve(run1, plainHost, plainID, plain, 3, false)
		serve(run1, plainHost, plainID, plain, 1, true)
		serve(run1, hostileHost, hostileID, hostile, 2, false)
		b.waitLines(lines)
		now1 := time.Now().UTC().Truncate(time.Second).Add(time.Second)
		// lines of other zones at the window's edges: its last second
		// (counted now), its end (the next run's), a day later (never)
		plainNginx := orchestrationQuote(logOf(web.NginxBackend, plain))
		forged := []string{forge(now1.Add(-time.Second), -8*3600, 1001), forge(now1, 5*3600+1800, 20_002),
			forge(now1.Add(24*time.Hour), 0, 300_003)}
		var q []string
		for _, f := range forged {
			q = append(q, orchestrationQuote(f))
		}
		if out, code := b.Root(fmt.Sprintf("printf '%%s\\n' %s >>%s", strings.Join(q, " "), plainNginx)); code != 0 {
			t.Fatal(out)
		}
		lines[plainNginx] += len(forged)
		b.waitLines(lines)
		run1[web.NginxTrafficMonitor][plainID] += 1001
		run1[web.ApacheTrafficMonitor][quietID] = 0
		if out, _ := b.Root("grep -m1 -vF ' \"GET /data.bin' " + orchestrationQuote(logOf(web.ApacheBackend, plain))); out != "" {
			t.Errorf("Apache logs a request to %s as %q, not in the combined format", plain, out)
		}
		measure(now1, run1, 0)
		for id, want := range map[int]int{
			plainID:   run1[web.NginxTrafficMonitor][plainID] + run1[web.ApacheTrafficMonitor][plainID],
			hostileID: run1[web.NginxTrafficMonitor][hostileID] + run1[web.ApacheTrafficMonitor][hostileID],
			quietID:   0,
		} {
			if got := used(id); got != strconv.Itoa(want) {
				t.Errorf("after the first run, website %d used %s B, want %d", id, got, want)
			}
		}

		// second run: only what came since now1
		for time.Now().Before(now1) {
			time.Sleep(now1.Sub(time.Now()) + time.Millisecond)
		}
		run2 := served{web.NginxTrafficMonitor: {}, web.ApacheTrafficMonitor: {}}
		serve(run2, plainHost, plainID, plain, 2, false)
		serve(run2, hostileHost, hostileID, hostile, 1, true)
		b.waitLines(lines)
		now2 := time.Now().UTC().Truncate(time.Second).Add(time.Second)
		run2[web.NginxTrafficMonitor][plainID] += 20_002
		for _, id := range []int{plainID, hostileID, quietID} {
			run2[web.ApacheTrafficMonitor][id] += 0
			if id != quietID {
				run2[web.NginxTrafficMonitor][id] += 0
			}
		}
		measure(now2, run2, 0)
		for _, id := range []int{plainID, hostileID} {
			want := 0
			for _, run := range []served{run1, run2} {
				want += run[web.NginxTrafficMonitor][id] + run[web.ApacheTrafficMonitor][id]
			}
			if got := used(id); got != strconv.Itoa(want) {
				t.Errorf("after the second run, website %d used %s B, want %d (the month's)", id, got, want)
			}
		}

		// a log that is a link (which only root could make there) is
		// refused, and one holding a line in no log format: their unit
		// fails naming them and stores nothing
		hostileNginx := orchestrationQuote(logOf(web.NginxBackend, hostile))
		if out, code := b.Root(fmt.Sprintf("printf '%%s\\n' %s >%s && rm -- %s && ln -s %s %s && echo combined >>%s",
			orchestrationQuote(forge(now2, 0, 1_000_000)), orchestrationQuote(trap), hostileNginx, orchestrationQuote(trap), hostileNginx,
			plainNginx)); code != 0 {
			t.Fatal(out)
		}
		now3 := now2.Add(time.Minute)
		measure(now3, served{web.ApacheTrafficMonitor: {plainID: 0, hostileID: 0, quietID: 0}}, 1)
		l, err := st.ExecutionLog.Query().Where(executionlog.Backend(web.NginxTrafficMonitor)).Order(ent.Desc(executionlog.FieldID)).First(ctx)
		if err != nil || l.State != "FAILURE" || !strings.Contains(l.Stderr, web.SiteName(b.acc, hostile)+".nginx.access.log: a link: refused") ||
			!strings.Contains(l.Stderr, web.SiteName(b.acc, plain)+".nginx.access.log: lines not in the combined log format: 1 (the first: combined)") {
			t.Errorf("the unit reading a link and a line in no format: %v %+v", err, l)
		}
	})
}

// waitLines waits until each log (quoted path → lines) has its lines.
func (b *siteBed) waitLines(lines map[string]int) {
	b.T.Helper()
	var script strings.Builder
	for l, n := range lines {
		fmt.Fprintf(&script, "[[ -f %s && $(wc -l <%s) -ge %d ]] || echo %s\n", l, l, n, l)
	}
	var out string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if out, _ = b.Root(script.String()); out == "" {
			return
		}
	}
	b.T.Fatalf("logs without their lines after 30s: %s", out)
}

// rawGet sends GET path to addr:80 for host over a connection of its own
// and returns the bytes received in all, those of the body and the
// status. A hostile request has a query and a user name forged to look
// like a log's fields.
func rawGet(t *testing.T, addr, host, path string, hostile bool) (total, body, status int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "80"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var req strings.Builder
	if hostile {
		path += `?x="]%20[01/Jan/2030:00:00:00%20+0000]%20"GET%20/%20HTTP/1.1"%20200%2099999999%20"`
	}
	fmt.Fprintf(&req, "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n", path, host)
	if hostile {
		user := `x" [01/Jan/2030:00:00:00 +0000] "GET / HTTP/1.1" 200 99999999 "-`
		fmt.Fprintf(&req, "Authorization: Basic %s\r\nUser-Agent: \" 200 88888888 \"\r\n", base64.StdEncoding.EncodeToString([]byte(user+":pw")))
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(c, req.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	f := strings.Fields(string(head))
	if !ok || len(f) < 2 {
		t.Fatalf("GET %s on %s: %q", path, addr, resp)
	}
	status, _ = strconv.Atoi(f[1])
	return len(resp), len(rest), status
}
