package orchestration

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/server"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// OSChoices are the operating systems a server may run.
var OSChoices = []string{"LINUX"}

var settingName = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,127}$`)

// A server is checked when it is saved (see validateServer), and one with
// units still to run cannot be deleted: they would be lost.
func init() {
	store.RegisterHook("Server", ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.ServerFunc(func(ctx context.Context, m *ent.ServerMutation) (ent.Value, error) {
			if err := validateServer(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("Server", ent.OpDelete|ent.OpDeleteOne, func(next ent.Mutator) ent.Mutator {
		return hook.ServerFunc(func(ctx context.Context, m *ent.ServerMutation) (ent.Value, error) {
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			busy, err := m.Client().ExecutionLog.Query().Where(executionlog.ServerIDIn(ids...),
				executionlog.StateIn(StateReceived, StateStarted)).Exist(ctx)
			if err != nil {
				return nil, err
			}
			if busy {
				return nil, &validate.Conflict{Field: "id", Message: i18n.T(ctx,
					"The server has units of work still to run; wait for them or disable the server first.")}
			}
			return next.Mutate(ctx, m)
		})
	})
}

// validateServer: the address (or the name, when there is no address) is a
// host name or an IP address, the pinned host key parses and is kept
// without its comment, setting overrides are named like settings.
func validateServer(ctx context.Context, m *ent.ServerMutation) error {
	validate.TrimFields(m, "name", "address", "ssh_user", "host_key")
	var errs validate.Errors
	required := func(s string) string { return validate.Required(ctx, s) }
	length := func(n int) func(string) string {
		return func(s string) string { return validate.Length(ctx, s, n) }
	}
	host := func(s string) string {
		if s != "" && validate.Hostname(s) != nil && validate.IP(s) != nil {
			return i18n.T(ctx, "Enter a host name or an IP address.")
		}
		return ""
	}
	errs.Check(ctx, m, "name", required, length(256), func(s string) string {
		if strings.ContainsAny(s, " \t\r\n") {
			return i18n.T(ctx, "A server name has no spaces.")
		}
		return ""
	})
	errs.Check(ctx, m, "address", length(256), host)
	if addr, ok := validate.String(ctx, m, "address"); ok && addr == "" && !errs.Has("name") {
		errs.Check(ctx, m, "name", func(s string) string {
			if host(s) != "" {
				return i18n.T(ctx, "Without an address the name must be the server's host name or IP address.")
			}
			return ""
		})
	}
	errs.Check(ctx, m, "ssh_user", required, length(32), func(s string) string {
		if validate.Username(s) != nil {
			return i18n.T(ctx, "Enter a valid user name: letters, digits and . - _ only.")
		}
		return ""
	})
	errs.Check(ctx, m, "host_key", length(4096), func(s string) string {
		if s == "" {
			return ""
		}
		key, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(s))
		if err != nil || strings.TrimSpace(string(rest)) != "" {
			return i18n.T(ctx, "Enter one public key as in known_hosts or authorized_keys, e.g. \"ssh-ed25519 AAAA...\".")
		}
		m.SetHostKey(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))))
		return ""
	})
	errs.Check(ctx, m, "description")
	errs.Check(ctx, m, "os", func(s string) string {
		if !slices.Contains(OSChoices, s) {
			return i18n.T(ctx, "Select a valid choice: %q is not one of %s.", s, strings.Join(OSChoices, ", "))
		}
		return ""
	})
	if set, ok := m.Settings(); ok {
		for k, v := range set {
			if !settingName.MatchString(k) {
				errs.Add("settings", i18n.T(ctx, "%q is not a setting name (upper-case letters, digits and _).", k))
				break
			}
			if msg := validate.NoNull(ctx, v) + validate.ValidText(ctx, v); msg != "" {
				errs.Add("settings", k+": "+msg)
				break
			}
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if name, ok := m.Name(); ok {
		q := m.Client().Server.Query().Where(server.NameEQ(name))
		if id, ok := m.ID(); ok {
			q = q.Where(server.IDNEQ(id))
		}
		taken, err := q.Exist(ctx)
		if err != nil {
			return err
		}
		if taken {
			return &validate.Conflict{Field: "name", Message: i18n.T(ctx, "A server with this name already exists.")}
		}
	}
	return nil
}

// target is how the pool reaches a server; a server without an address is
// reached by its name.
func target(srv *ent.Server) sshpool.Target {
	addr := srv.Address
	if addr == "" {
		addr = srv.Name
	}
	return sshpool.Target{Name: srv.Name, Address: addr, Port: srv.SSHPort, User: srv.SSHUser, HostKey: srv.HostKey}
}

// PingResult is whether a server answered over SSH, and how.
type PingResult struct {
	Reachable bool
	Uptime    time.Duration // the server's, from /proc/uptime
	Latency   time.Duration // connecting (when not pooled yet) and running
	Error     string        // why it is not reachable
}

// PublicKey is the key the panel logs in to servers with.
func (e *Executor) PublicKey() ssh.PublicKey { return e.cfg.Pool.PublicKey() }

// Ping runs a trivial command on srv, within the pinned host key rules.
func (e *Executor) Ping(ctx context.Context, srv *ent.Server) PingResult {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	up, latency, err := e.cfg.Pool.Ping(ctx, target(srv))
	if err != nil {
		return PingResult{Latency: latency, Error: err.Error()}
	}
	secs, _ := strconv.ParseFloat(up, 64)
	return PingResult{Reachable: true, Uptime: time.Duration(secs * float64(time.Second)).Round(time.Second), Latency: latency}
}

// HostKey reads the key srv presents now (without trusting it), for staff to
// compare with the pinned one and confirm.
func HostKey(ctx context.Context, srv *ent.Server) (string, error) {
	t := target(srv)
	return sshpool.FetchHostKey(ctx, t.Address, srv.SSHPort)
}
