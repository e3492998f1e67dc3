package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildServer compiles ./cmd/orchestra of the module into dir.
func buildServer(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run orchestra-bench inside the orchestra module")
	}
	bin := filepath.Join(dir, "orchestra")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/orchestra")
	cmd.Dir = filepath.Dir(gomod)
	// as released: static, without the C library's pages in memory
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/orchestra: %w", err)
	}
	return bin, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// server is a running `orchestra serve`.
type server struct {
	cmd  *exec.Cmd
	Addr string
	log  string
	done chan error
}

// startServer runs `orchestra serve` on a free loopback port against dsn
// and waits until it answers HTTP.
func startServer(ctx context.Context, bin, dsn, tmp string) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.CreateTemp(tmp, "serve-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr)
	cmd.Env = append(os.Environ(),
		"ORCHESTRA_DATABASE_URL="+dsn,
		"ORCHESTRA_LISTEN="+addr,
		"ORCHESTRA_NO_FIRST_SUPERUSER=1",
		"ORCHESTRA_LOG_LEVEL=warn", // no per-start info lines; warnings and errors still land in the log
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, Addr: addr, log: logf.Name(), done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()

	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("orchestra serve exited during start-up (%v):\n%s", err, s.Log())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		// Any HTTP answer means it is serving. A path no route matches costs
		// nothing; the OpenAPI document would be rendered and cached, and
		// inflate the idle memory being measured.
		resp, err := client.Get("http://" + addr + "/api/v1/orchestra-bench-ready")
		if err == nil {
			resp.Body.Close()
			client.CloseIdleConnections()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("orchestra serve did not answer on %s within 60s:\n%s", addr, s.Log())
		}
	}
}

// Log returns what the server wrote (its tail).
func (s *server) Log() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// Stop sends SIGTERM, then SIGKILL if the server lingers.
func (s *server) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		s.done <- <-s.done
	}
}

// memory is a process's resident memory, in bytes.
type memory struct {
	RSS, Anon, File int64
}

func (m memory) String() string {
	return fmt.Sprintf("%s (anon %s, file %s)", mb(m.RSS), mb(m.Anon), mb(m.File))
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

// Memory reads VmRSS, RssAnon and RssFile from /proc/<pid>/status.
func (s *server) Memory() (memory, error) {
	return readMemory(s.cmd.Process.Pid)
}

func readMemory(pid int) (memory, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &m.RSS
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		default:
			continue
		}
		fields := strings.Fields(val) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return memory{}, fmt.Errorf("/proc/%d/status: cannot read %s: %q", pid, key, val)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return memory{}, err
		}
		*dst = kb * 1024
	}
	if m.RSS == 0 {
		return m, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return m, sc.Err()
}
