// Command orchestra is the hosting control panel: one binary that serves the
// API and panel, migrates the database and administers accounts.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	_ "github.com/orchestra-panel/orchestra/internal/accounts" // account rules
	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/auth"
	_ "github.com/orchestra-panel/orchestra/internal/contacts" // contact rules
	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/mailer"
	"github.com/orchestra-panel/orchestra/internal/metrics"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	_ "github.com/orchestra-panel/orchestra/internal/services/all" // every service
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/sshpool"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/orchestra-panel/orchestra/internal/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// CLI is the command line; every flag also reads an ORCHESTRA_* variable.
type CLI struct {
	Database  string `help:"Database URL: postgres://user:pass@host/db, or sqlite:<path> for the embedded store." env:"ORCHESTRA_DATABASE_URL" default:"sqlite:var/orchestra.db"`
	LogLevel  string `help:"Log level: debug, info, warn or error." env:"ORCHESTRA_LOG_LEVEL" default:"info" enum:"debug,info,warn,error"`
	SSHKey    string `help:"Private key the panel logs into servers with; an ed25519 key is generated there (with a .pub beside it, to authorize on servers) if the file does not exist." env:"ORCHESTRA_SSH_KEY" default:"var/id_ed25519"`
	SecretKey string `help:"Key (32 bytes) the private keys the panel keeps are encrypted with; generated there if the file does not exist. Back it up with the database: without it they cannot be read." env:"ORCHESTRA_SECRET_KEY" default:"var/secret.key"`

	Serve           ServeCmd           `cmd:"" help:"Migrate the database and serve the API (default)." default:"withargs"`
	Migrate         MigrateCmd         `cmd:"" help:"Apply pending database migrations."`
	Createsuperuser CreatesuperuserCmd `cmd:"" help:"Create a superuser account."`
	DNS             DNSCmd             `cmd:"" name:"dns" help:"Import zone files and print zones."`
	Orchestrate     OrchestrateCmd     `cmd:"" help:"Apply objects to their servers as they are now (resync); --dry-run prints the scripts."`
	Version         VersionCmd         `cmd:"" help:"Print the version."`
	Config          ConfigCmd          `cmd:"" help:"Print the effective configuration, secrets masked."`
}

func main() {
	var cli CLI
	models, err := modelCommands(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "orchestra:", err)
		os.Exit(1)
	}
	kctx := kong.Parse(&cli, append([]kong.Option{kong.Name("orchestra"),
		kong.Description("Orchestra hosting control panel. Every model the API declares is a command too: " +
			"orchestra <model> list|get|create|update|delete|<action> (orchestra <model> --help)."),
		kong.UsageOnError(), kong.Bind(&cli)}, models...)...)
	var level slog.Level
	_ = level.UnmarshalText([]byte(cli.LogLevel))
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	err = kctx.Run()
	var me modelError
	if errors.As(err, &me) {
		// as the API lists them: one field's mistake a line
		fmt.Fprintf(os.Stderr, "orchestra: error: %v\n", me.err)
		os.Exit(1)
	}
	kctx.FatalIfErrorf(err)
}

// open connects to the database, applies migrations and loads settings.
func open(ctx context.Context, cli *CLI) (*store.Store, error) {
	if err := settings.LoadOSEnv(); err != nil {
		return nil, err
	}
	st, err := store.Open(cli.Database)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	if err := settings.Load(ctx, api.SettingStore{Store: st}); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// loadSecretKey loads the key secrets are sealed with (internal/sealed),
// making it when the file does not exist, for the processes that write or
// apply objects holding one: the panel, orchestrate and the model commands.
func loadSecretKey(cli *CLI) error {
	k, err := sealed.LoadOrCreateKey(cli.SecretKey)
	if err != nil {
		return err
	}
	sealed.Use(k)
	return nil
}

// migrate applies the store's migrations and the job queue's.
func migrate(ctx context.Context, st *store.Store) error {
	n, err := st.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if n > 0 {
		slog.Info("applied migrations", "count", n)
	}
	if err := jobs.Migrate(ctx, st); err != nil {
		return fmt.Errorf("migrate the job queue: %w", err)
	}
	return nil
}

// ServeCmd serves the API.
type ServeCmd struct {
	Listen        string        `help:"Address to listen on." env:"ORCHESTRA_LISTEN" default:"127.0.0.1:8080"`
	SecureCookies bool          `help:"Mark session cookies Secure (serve over HTTPS)." env:"ORCHESTRA_SECURE_COOKIES"`
	TrustProxy    bool          `help:"Take client addresses from X-Forwarded-For (only behind a proxy): the right-most one that is not a trusted proxy." env:"ORCHESTRA_TRUST_PROXY"`
	TrustedProxy  []string      `help:"Addresses or CIDR ranges of the proxies whose X-Forwarded-For entries are believed, with --trust-proxy (default: loopback and private ranges)." env:"ORCHESTRA_TRUSTED_PROXIES" sep:","`
	SessionIdle   time.Duration `help:"Log out sessions idle this long." env:"ORCHESTRA_SESSION_IDLE" default:"2h"`
	SessionMax    time.Duration `help:"Log out sessions this old." env:"ORCHESTRA_SESSION_LIFETIME" default:"12h"`
	NoSuperuser   bool          `help:"Do not create a first superuser when there is none." env:"ORCHESTRA_NO_FIRST_SUPERUSER"`
}

// Run serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(cli *CLI) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := loadSecretKey(cli); err != nil {
		return err
	}
	st, err := open(ctx, cli)
	if err != nil {
		return err
	}
	defer st.Close()
	if !c.NoSuperuser {
		if err := firstSuperuser(ctx, st, os.Stdout); err != nil {
			return err
		}
	}
	signer, err := sshpool.LoadOrCreateKey(cli.SSHKey)
	if err != nil {
		return err
	}
	pool, err := sshpool.New(sshpool.Config{Signer: signer, IdleTimeout: 10 * time.Minute})
	if err != nil {
		return err
	}
	defer pool.Close()
	ex := orchestration.NewExecutor(st, orchestration.ExecutorConfig{Pool: pool,
		// a slow mail server must not hold a lane up
		Alert: func(ctx context.Context, a orchestration.Alert) { go mailer.Alert(ctx, a) }})
	queue, err := jobs.New(st, ex)
	if err != nil {
		return err
	}
	ex.Start()
	defer ex.Close()
	if err := queue.Start(ctx); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		queue.Stop(stopCtx)
	}()
	proxies, err := c.trustedProxies()
	if err != nil {
		return err
	}
	// the same on every start of this panel: a restart takes over at once
	// the Idempotency-Keys of requests the previous process died with
	host, _ := os.Hostname()
	srv := api.New(st, api.Config{Version: version, SecureCookies: c.SecureCookies, TrustProxy: c.TrustProxy,
		TrustedProxies: proxies, SessionIdle: c.SessionIdle, SessionLifetime: c.SessionMax, Executor: ex,
		Instance: host + " " + c.Listen})
	go srv.Maintain(ctx, 10*time.Minute)
	// Migrations and the first superuser's password hash are start-up peaks;
	// hand their memory back now rather than when the scavenger gets to it.
	debug.FreeOSMemory()
	// the API under its prefix, the web interface everywhere else
	top := http.NewServeMux()
	top.Handle(api.Prefix+"/", srv)
	top.Handle("GET /metrics", metrics.Handler(st)) // METRICS_TOKEN
	top.Handle("/", web.New(srv))
	handler := trimWhenIdle(ctx, top, 20*time.Second)
	hs := &http.Server{Addr: c.Listen, Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	// listen before saying so: whoever waits for "serving" may connect
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	slog.Info("serving", "url", "http://"+c.Listen+"/", "api", "http://"+c.Listen+api.Prefix+"/docs", "database", maskURL(cli.Database))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}

// trustedProxies parses --trusted-proxy: CIDR ranges or single addresses.
func (c *ServeCmd) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxy {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		} else {
			return nil, fmt.Errorf("--trusted-proxy %q: not an address or CIDR range", s)
		}
	}
	return out, nil
}

// trimWhenIdle returns the memory left over from a burst of requests (Go's
// heap, the database driver's caches) to the system once no request has
// arrived for period: a panel is idle most of the time. It looks every
// quarter period, so the trim comes at most a quarter period late.
func trimWhenIdle(ctx context.Context, next http.Handler, period time.Duration) http.Handler {
	var last atomic.Int64 // time of the latest request, in Unix nanoseconds
	var dirty atomic.Bool // a request arrived since the last trim
	go func() {
		t := time.NewTicker(period / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if dirty.Load() && time.Since(time.Unix(0, last.Load())) >= period {
				dirty.Store(false)
				debug.FreeOSMemory()
			}
		}
	}()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last.Store(time.Now().UnixNano())
		dirty.Store(true)
		next.ServeHTTP(w, r)
	})
}

// firstSuperuser creates "admin" with a random password when no superuser
// exists, so a fresh install can be logged into; the password is printed
// once and never stored in clear.
func firstSuperuser(ctx context.Context, st *store.Store, out io.Writer) error {
	sys := viewer.System(ctx, viewer.ChannelCLI)
	exists, err := st.Account.Query().Where(account.IsSuperuser(true)).Exist(sys)
	if err != nil || exists {
		return err
	}
	name := "admin"
	if taken, err := st.Account.Query().Where(account.Username(name)).Exist(sys); err != nil {
		return err
	} else if taken {
		fmt.Fprintln(out, "No superuser exists; create one with: orchestra createsuperuser --username <name> --email <address>")
		return nil
	}
	pw := randomPassword()
	if err := createSuperuser(sys, st, name, "admin@localhost.localdomain", "Administrator", pw); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nCreated superuser %q with password: %s\nLog in and change it (POST %s/auth/password); it is not shown again.\n\n", name, pw, api.Prefix)
	return nil
}

func randomPassword() string {
	b := make([]byte, 15)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func createSuperuser(ctx context.Context, st *store.Store, username, email, fullName, pw string) error {
	if msg := auth.PasswordProblem(pw, username); msg != "" {
		return fmt.Errorf("password %s", msg)
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	return st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Account.Create().SetUsername(username).SetEmail(email).SetFullName(fullName).
			SetPassword(hash).SetIsSuperuser(true).SetType("STAFF").Exec(ctx)
	})
}

// MigrateCmd applies migrations.
type MigrateCmd struct{}

// Run migrates.
func (MigrateCmd) Run(cli *CLI) error {
	ctx := context.Background()
	st, err := store.Open(cli.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if err := jobs.Migrate(ctx, st); err != nil {
		return fmt.Errorf("migrate the job queue: %w", err)
	}
	fmt.Printf("applied %d migration(s)\n", n)
	return nil
}

// CreatesuperuserCmd creates a superuser.
type CreatesuperuserCmd struct {
	Username string `help:"Username." required:""`
	Email    string `help:"E-mail address." required:""`
	FullName string `help:"Full name." default:"Administrator"`
	Password string `help:"Password (prefer the environment variable)." env:"ORCHESTRA_SUPERUSER_PASSWORD"`
}

// Run creates the superuser, generating a password when none is given.
func (c *CreatesuperuserCmd) Run(cli *CLI) error {
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	st, err := open(ctx, cli)
	if err != nil {
		return err
	}
	defer st.Close()
	pw, generated := c.Password, false
	if pw == "" {
		pw, generated = randomPassword(), true
	}
	if err := createSuperuser(ctx, st, c.Username, c.Email, c.FullName, pw); err != nil {
		return err
	}
	if generated {
		fmt.Printf("Created superuser %q with password: %s\n", c.Username, pw)
	} else {
		fmt.Printf("Created superuser %q\n", c.Username)
	}
	return nil
}

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run() error { fmt.Println("orchestra", version); return nil }

// ConfigCmd prints the effective configuration.
type ConfigCmd struct{}

// Run prints the command-line configuration and the settings registry
// (environment overrides included; stored values need the database).
func (ConfigCmd) Run(cli *CLI, k *kong.Context) error {
	if err := settings.LoadOSEnv(); err != nil {
		return err
	}
	fmt.Printf("ORCHESTRA_DATABASE_URL=%s\n", maskURL(cli.Database))
	fmt.Printf("ORCHESTRA_LOG_LEVEL=%s\n", cli.LogLevel)
	s := cli.Serve
	fmt.Printf("ORCHESTRA_LISTEN=%s\nORCHESTRA_SECURE_COOKIES=%t\nORCHESTRA_TRUST_PROXY=%t\nORCHESTRA_TRUSTED_PROXIES=%s\nORCHESTRA_SESSION_IDLE=%s\nORCHESTRA_SESSION_LIFETIME=%s\n",
		s.Listen, s.SecureCookies, s.TrustProxy, strings.Join(s.TrustedProxy, ","), s.SessionIdle, s.SessionMax)
	fmt.Println("\n# settings (source: default, env or database)")
	if st, err := store.Open(cli.Database); err == nil {
		defer st.Close()
		if pending, err := st.Pending(context.Background()); err == nil && pending == 0 {
			if err := settings.Load(context.Background(), api.SettingStore{Store: st}); err != nil {
				return err
			}
		}
	}
	for _, i := range settings.All() {
		fmt.Printf("%s=%v  # %s\n", settings.EnvPrefix+i.Name, i.Value, i.Source)
	}
	return nil
}

// maskURL hides the password of a database URL.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "********")
	}
	return strings.Replace(u.String(), "%2A%2A%2A%2A%2A%2A%2A%2A", "********", 1)
}
