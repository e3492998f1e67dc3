// Command orchestra-bench measures the API under load on each store: it
// seeds a fresh database with many accounts, starts the real `orchestra
// serve` binary on loopback and drives it with wrk (GET one account, a first
// and a deep list page of 50), and reads the server's resident memory when
// idle. It prints req/s and p99 per store and endpoint against the targets
// (p99 under 20 ms, idle RSS under 40 MB).
//
//	go run ./cmd/orchestra-bench [-accounts 100000] [-duration 15s] [-stores sqlite,postgres] [-strict]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Targets of the issue.
const (
	targetP99     = 20 * time.Millisecond
	targetIdleRSS = 40_000_000 // bytes: 40 MB (decimal, the stricter reading)
	pageSize      = 50
	warmup        = 2 * time.Second
	startupIdle   = 3 * time.Second
)

type config struct {
	accounts    int
	duration    time.Duration
	connections int
	threads     int
	stores      []string
	pgAdmin     string
	keep        bool
	strict      bool
	settle      time.Duration
}

func main() {
	var c config
	var stores string
	defAdmin := os.Getenv("ORCHESTRA_TEST_PG_ADMIN")
	if defAdmin == "" {
		defAdmin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	flag.IntVar(&c.accounts, "accounts", 100000, "accounts to seed (besides the superuser)")
	flag.DurationVar(&c.duration, "duration", 15*time.Second, "length of each wrk run (whole seconds)")
	// wrk shares the machine's cores with the server and the database: one
	// thread keeping 4 requests in flight loads the server fully without
	// taking a core from it.
	flag.IntVar(&c.connections, "connections", 4, "wrk connections")
	flag.IntVar(&c.threads, "threads", 1, "wrk threads")
	flag.StringVar(&stores, "stores", "sqlite,postgres", "comma-separated stores to measure: sqlite, postgres")
	flag.StringVar(&c.pgAdmin, "pg-admin", defAdmin, "PostgreSQL URL of a role that may CREATE DATABASE (env ORCHESTRA_TEST_PG_ADMIN)")
	flag.BoolVar(&c.keep, "keep", false, "keep the benchmark databases (and the temporary directory)")
	flag.BoolVar(&c.strict, "strict", false, "exit with status 1 when a target is missed")
	flag.DurationVar(&c.settle, "settle", 30*time.Second, "idle time after the load before RSS is read again")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: orchestra-bench [flags]\n\n"+
			"Seeds a fresh database per store, starts `orchestra serve` and measures it with wrk.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	for _, s := range strings.Split(stores, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.stores = append(c.stores, s)
		}
	}
	if c.accounts < pageSize || c.duration < time.Second || c.connections < 1 || c.threads < 1 ||
		c.threads > c.connections || len(c.stores) == 0 {
		fmt.Fprintln(os.Stderr, "orchestra-bench: need -accounts >= 50, -duration >= 1s, 1 <= -threads <= -connections and a store")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	missed, err := run(ctx, c, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "orchestra-bench: FAILED:", err)
		os.Exit(1)
	}
	if missed > 0 && c.strict {
		fmt.Fprintf(os.Stderr, "orchestra-bench: %d target(s) missed\n", missed)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// endpointResult is one wrk run.
type endpointResult struct {
	Name   string
	Target bool // whether the p99 target applies
	*wrkResult
}

// storeResult is everything measured on one store.
type storeResult struct {
	Store     string
	Seed      *seedResult
	Endpoints []endpointResult
	IdleStart memory // after start-up, no traffic yet
	AfterLoad memory // right after the last wrk run
	IdleAfter memory // after -settle without traffic
}

func run(ctx context.Context, c config, out io.Writer) (int, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return 0, errors.New("wrk not found in PATH (./do bench installs it)")
	}
	tmp, err := os.MkdirTemp("", "orchestra-bench-")
	if err != nil {
		return 0, err
	}
	if c.keep {
		logf("temporary directory (kept): %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	logf("building ./cmd/orchestra")
	bin, err := buildServer(ctx, tmp)
	if err != nil {
		return 0, err
	}
	var results []*storeResult
	for _, kind := range c.stores {
		r, err := benchStore(ctx, c, kind, bin, tmp)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", kind, err)
		}
		results = append(results, r)
	}
	return report(out, c, results), nil
}

func benchStore(ctx context.Context, c config, kind, bin, tmp string) (*storeResult, error) {
	logf("%s: creating database", kind)
	db, err := newDatabase(ctx, kind, tmp, c.pgAdmin)
	if err != nil {
		return nil, err
	}
	var sd *seedResult
	if c.keep {
		defer func() {
			logf("%s: database kept: %s", kind, db.Desc)
			if sd != nil {
				logf("%s: superuser token (Authorization: Bearer): %s", kind, sd.Token)
			}
		}()
	} else {
		defer func() {
			if err := db.drop(); err != nil {
				logf("%s: dropping the database: %v", kind, err)
			}
		}()
	}
	logf("%s: seeding %d accounts", kind, c.accounts)
	sd, err = seed(ctx, db.URL, c.accounts, logf)
	if err != nil {
		return nil, err
	}
	logf("%s: seeded %d accounts in %s", kind, sd.Total, sd.Took.Round(100*time.Millisecond))

	srv, err := startServer(ctx, bin, db.URL, tmp)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	base := "http://" + srv.Addr + "/api/v1"
	res := &storeResult{Store: kind, Seed: sd}

	// Idle memory: no request has touched the data yet (only the readiness
	// probe of the OpenAPI document).
	if err := sleep(ctx, startupIdle); err != nil {
		return nil, err
	}
	if res.IdleStart, err = srv.Memory(); err != nil {
		return nil, err
	}
	logf("%s: idle RSS after start-up: %s", kind, res.IdleStart)

	deep := min(1000, sd.Total/pageSize)
	// The targets are for one account and a list page; a deep page (an
	// offset of 50,000 rows) is measured for information.
	endpoints := []struct {
		name, path string
		target     bool
	}{
		{"GET one account", fmt.Sprintf("/accounts/%d", sd.MiddleID), true},
		{"list page 1 (50)", fmt.Sprintf("/accounts?page=1&page_size=%d", pageSize), true},
		{fmt.Sprintf("list page %d (50)", deep), fmt.Sprintf("/accounts?page=%d&page_size=%d", deep, pageSize), false},
	}
	for _, e := range endpoints {
		if err := verify(ctx, base+e.path, sd); err != nil {
			return nil, fmt.Errorf("%s: %w\nserver log:\n%s", e.path, err, srv.Log())
		}
	}
	wo := wrkOptions{Threads: c.threads, Connections: c.connections, Token: sd.Token}
	for _, e := range endpoints {
		logf("%s: wrk %s (%s warm-up, %s)", kind, e.path, warmup, c.duration)
		if w, err := runWrk(ctx, wo, warmup, base+e.path); err != nil {
			return nil, err
		} else if err := wrkErrors(w); err != nil {
			return nil, fmt.Errorf("warm-up of %s: %w\n%s\nserver log:\n%s", e.path, err, w.Raw, srv.Log())
		}
		w, err := runWrk(ctx, wo, c.duration, base+e.path)
		if err != nil {
			return nil, err
		}
		if err := wrkErrors(w); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s\nserver log:\n%s", e.path, err, w.Raw, srv.Log())
		}
		logf("%s:   %.0f req/s, p50 %s, p99 %s", kind, w.ReqPerSec, w.P50, w.P99)
		res.Endpoints = append(res.Endpoints, endpointResult{Name: e.name + "  " + e.path, Target: e.target, wrkResult: w})
	}
	if res.AfterLoad, err = srv.Memory(); err != nil {
		return nil, err
	}
	logf("%s: RSS after load: %s; idling %s", kind, res.AfterLoad, c.settle)
	if err := sleep(ctx, c.settle); err != nil {
		return nil, err
	}
	if res.IdleAfter, err = srv.Memory(); err != nil {
		return nil, err
	}
	logf("%s: RSS after %s idle: %s", kind, c.settle, res.IdleAfter)
	if log := strings.TrimSpace(srv.Log()); log != "" {
		logf("%s: server log (warnings and errors):\n%s", kind, log)
	}
	return res, nil
}

// wrkErrors fails a run whose responses were not all 2xx, or that timed out.
func wrkErrors(w *wrkResult) error {
	switch {
	case w.Non2xx > 0:
		return fmt.Errorf("wrk saw %d non-2xx responses out of %d", w.Non2xx, w.Requests)
	case w.Timeouts > 0:
		return fmt.Errorf("wrk saw %d timeouts (socket errors: %s)", w.Timeouts, w.SocketErrors)
	case w.Requests == 0:
		return errors.New("wrk made no requests")
	}
	return nil
}

// verify checks that url answers 200 with the expected body before it is
// measured, so the benchmark never times error responses.
func verify(ctx context.Context, url string, sd *seedResult) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+sd.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d, want 200: %s", resp.StatusCode, body)
	}
	if strings.Contains(url, "/accounts?") {
		var page struct {
			Count      int               `json:"count"`
			CountExact bool              `json:"count_exact"`
			Results    []json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("list body: %w", err)
		}
		// Lists count up to 10,000 matches.
		wantCount, wantExact := min(sd.Total, 10_000), sd.Total <= 10_000
		if len(page.Results) != pageSize || page.Count != wantCount || page.CountExact != wantExact {
			return fmt.Errorf("list has %d results and count %d (exact %v), want %d and %d (exact %v)",
				len(page.Results), page.Count, page.CountExact, pageSize, wantCount, wantExact)
		}
		return nil
	}
	var a struct {
		ID int `json:"id"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("account body: %w", err)
	}
	if a.ID != sd.MiddleID {
		return fmt.Errorf("got account %d, want %d", a.ID, sd.MiddleID)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func yesNo(ok bool, missed *int) string {
	if ok {
		return "yes"
	}
	*missed++
	return "NO"
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

// report prints the tables and returns how many targets were missed.
func report(out io.Writer, c config, results []*storeResult) int {
	missed := 0
	fmt.Fprintf(out, "\norchestra-bench: %d accounts (+1 superuser), wrk -t%d -c%d -d%s --latency, loopback, %d CPUs (wrk, server and database share them), %s\n\n",
		c.accounts, c.threads, c.connections, c.duration, runtime.NumCPU(), runtime.Version())
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "store\tendpoint\treq/s\tp50\tp90\tp99\tp99 < %s?\n", ms(targetP99))
	for _, r := range results {
		for _, e := range r.Endpoints {
			verdict := "(not a target)"
			if e.Target {
				verdict = yesNo(e.P99 < targetP99, &missed)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\n", r.Store, e.Name, e.ReqPerSec,
				ms(e.P50), ms(e.P90), ms(e.P99), verdict)
		}
	}
	tw.Flush()
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "store\tresident memory of orchestra serve (VmRSS)\tRSS\tanon\tfile\tRSS < %s?\n", mb(targetIdleRSS))
	for _, r := range results {
		rows := []struct {
			what   string
			m      memory
			target bool
		}{
			{fmt.Sprintf("idle, %s after start-up", startupIdle), r.IdleStart, true},
			{"right after the load", r.AfterLoad, false},
			{fmt.Sprintf("idle, %s after the load", c.settle), r.IdleAfter, true},
		}
		for _, row := range rows {
			verdict := "(not a target)"
			if row.target {
				verdict = yesNo(row.m.RSS < targetIdleRSS, &missed)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Store, row.what, mb(row.m.RSS), mb(row.m.Anon), mb(row.m.File), verdict)
		}
	}
	tw.Flush()
	fmt.Fprintln(out)
	for _, r := range results {
		fmt.Fprintf(out, "%s: seeded in %s\n", r.Store, r.Seed.Took.Round(100*time.Millisecond))
	}
	if missed > 0 {
		fmt.Fprintf(out, "\n%d target(s) missed\n", missed)
	} else {
		fmt.Fprintln(out, "\nall targets met")
	}
	return missed
}
