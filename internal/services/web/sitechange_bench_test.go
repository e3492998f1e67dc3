package web_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// BenchmarkSiteChange: one website change (a header directive's value),
// from the request that commits it until each web server answers with the
// new value, as a visitor would see it; the p50 and the slowest of 20
// changes, per server (issue target: p50 under 1 s). Apache starts the
// children of a graceful restart at its once-a-second maintenance, so its
// figure holds that tick.
//
//	go test -run '^$' -bench SiteChange -benchtime 1x ./internal/services/web/
func BenchmarkSiteChange(b *testing.B) {
	const changes = 20
	storetest.Each(b, func(b *testing.B, st *store.Store) {
		sb := newSiteBed(b, st)
		// nginx and Apache as two servers, as they would be: each server's
		// units run in order, so one server's Apache would hold its nginx
		// back (both are the bed's, on this machine, through its second sshd)
		s1 := sb.SSH.Servers[1]
		set := sb.Admin.Do("GET", fmt.Sprintf("/servers/%d", sb.ServerID), nil).JSON()["settings"]
		apacheSrv := sb.Admin.Do("POST", "/servers", map[string]any{"name": "apache", "address": s1.Address, "ssh_port": s1.Port,
			"host_key": s1.HostKey, "settings": set}).Want(http.StatusCreated).ID()
		for _, r := range sb.Admin.Do("GET", "/routes?page_size=100", nil).JSON()["results"].([]any) {
			if r := r.(map[string]any); r["backend"] == web.ApacheBackend {
				sb.Admin.Do("DELETE", fmt.Sprintf("/routes/%v", r["id"]), nil).Want(http.StatusNoContent)
			}
		}
		sb.Admin.Do("POST", "/routes", map[string]any{"backend": web.ApacheBackend, "server": apacheSrv}).Want(http.StatusCreated)
		app := sb.app("rev", "static", nil, "", map[string]string{"index.html": "rev"})
		site, host := sb.site("rev", "http")
		sb.mount(site, app, "/")
		dir := sb.Applied(sb.directive(sb.cust, site, "headers", map[string]any{"location": "/", "headers": map[string]any{"X-Rev": "0"}})).ID()
		async := sb.TokenFor(sb.Admin, sb.acc)
		async.Header.Set("Prefer", "respond-async")
		for _, s := range sb.servers {
			var took []time.Duration
			for i := 1; i <= changes; i++ {
				v := sb.cust.Do("GET", fmt.Sprintf("/website-directives/%d", dir), nil).JSON()["version"]
				rev := s.backend + strconv.Itoa(i)
				t0 := time.Now()
				async.Do("PATCH", fmt.Sprintf("/website-directives/%d", dir), map[string]any{"version": v,
					"settings": map[string]any{"headers": map[string]any{"X-Rev": rev}}}).Want(http.StatusOK)
				for {
					r, err := sb.web.Fetch(s.addr, "http", host, "/")
					if err == nil && r.Header.Get("X-Rev") == rev {
						break
					}
					if time.Since(t0) > time.Minute {
						b.Fatalf("%s: X-Rev %s not served after a minute (%v)", s.backend, rev, err)
					}
					time.Sleep(20 * time.Millisecond)
				}
				took = append(took, time.Since(t0))
			}
			slices.Sort(took)
			b.ReportMetric(took[len(took)/2].Seconds(), s.backend+"-p50-s")
			b.ReportMetric(took[len(took)-1].Seconds(), s.backend+"-max-s")
		}
	})
}
