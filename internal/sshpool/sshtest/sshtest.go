// Package sshtest gives tests the OpenSSH servers of the test bed
// (testbed/sshd.sh, started by ./do test).
package sshtest

import (
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Server is one test-bed sshd.
type Server struct {
	Address string
	Port    int
	HostKey string // authorized_keys format
}

// Bed is the test bed as the environment describes it.
type Bed struct {
	Servers        []Server
	Signer         ssh.Signer // the panel's key, authorized for root
	KeyPath        string
	KnownHostsPath string
	BenchUser      string // unprivileged user with the panel's key; "" if unset
}

// Load reads the test bed from ORCHESTRA_TEST_SSH_*; the test is skipped
// when they are unset (go test outside ./do test).
func Load(tb testing.TB) *Bed {
	tb.Helper()
	servers := strings.Fields(os.Getenv("ORCHESTRA_TEST_SSH_SERVERS"))
	if len(servers) == 0 {
		tb.Skip("ORCHESTRA_TEST_SSH_SERVERS is unset: run through ./do test, which starts the sshd test bed (testbed/sshd.sh)")
	}
	b := &Bed{
		KeyPath:        os.Getenv("ORCHESTRA_TEST_SSH_KEY"),
		KnownHostsPath: os.Getenv("ORCHESTRA_TEST_SSH_KNOWN_HOSTS"),
		BenchUser:      os.Getenv("ORCHESTRA_TEST_SSH_BENCH_USER"),
	}
	pem, err := os.ReadFile(b.KeyPath)
	if err != nil {
		tb.Fatalf("ORCHESTRA_TEST_SSH_KEY: %v", err)
	}
	if b.Signer, err = ssh.ParsePrivateKey(pem); err != nil {
		tb.Fatal(err)
	}
	kh, err := os.ReadFile(b.KnownHostsPath)
	if err != nil {
		tb.Fatalf("ORCHESTRA_TEST_SSH_KNOWN_HOSTS: %v", err)
	}
	keys := map[string]string{}
	for rest := kh; len(rest) > 0; {
		var hosts []string
		var key ssh.PublicKey
		_, hosts, key, _, rest, err = ssh.ParseKnownHosts(rest)
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		for _, h := range hosts {
			keys[h] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
		}
	}
	for _, s := range servers {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			tb.Fatal(err)
		}
		n, _ := strconv.Atoi(port)
		hk := keys["["+host+"]:"+port]
		if hk == "" {
			tb.Fatalf("no key for %s in %s", s, b.KnownHostsPath)
		}
		b.Servers = append(b.Servers, Server{Address: host, Port: n, HostKey: hk})
	}
	if len(b.Servers) < 2 {
		tb.Fatalf("the test bed has %d servers, want at least 2", len(b.Servers))
	}
	return b
}
