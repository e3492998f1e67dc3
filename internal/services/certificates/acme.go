package certificates

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge/dns01"
	"github.com/go-acme/lego/v5/lego"
	legolog "github.com/go-acme/lego/v5/log"
	"github.com/go-acme/lego/v5/registration"
	mdns "github.com/miekg/dns"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/acmeaccount"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/record"
	"github.com/orchestra-panel/orchestra/internal/store/ent/server"
	"github.com/orchestra-panel/orchestra/internal/store/ent/website"
)

func init() {
	// lego tells every step of an order at Info; the panel's log keeps its
	// warnings (an order's outcome is the certificate's state)
	legolog.SetDefault(slog.New(warnings{}))
}

// warnings passes lego's warnings and errors to the panel's log.
type warnings struct{ attrs []slog.Attr }

func (warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w warnings) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(w.attrs...)
	return slog.Default().Handler().Handle(ctx, r)
}
func (w warnings) WithAttrs(a []slog.Attr) slog.Handler {
	return warnings{append(slices.Clone(w.attrs), a...)}
}
func (w warnings) WithGroup(string) slog.Handler { return w }

// accountPurpose is what the ACME account's key is sealed for.
const accountPurpose = "ACMEAccount.private_key"

// user is the panel's ACME account, as lego asks for it.
type user struct {
	email string
	reg   *acme.ExtendedAccount
	key   crypto.Signer
}

func (u *user) GetEmail() string                       { return u.email }
func (u *user) GetRegistration() *acme.ExtendedAccount { return u.reg }
func (u *user) GetPrivateKey() crypto.Signer           { return u.key }

// accountMu makes one account per directory in a process; the unique
// directory keeps it one across panels.
var accountMu sync.Mutex

// account is the panel's account at the directory, registered the first
// time it is needed.
func account(ctx context.Context, st *store.Store, dir string, client *http.Client) (*user, error) {
	accountMu.Lock()
	defer accountMu.Unlock()
	row, err := st.ACMEAccount.Query().Where(acmeaccount.Directory(dir)).Only(ctx)
	if err == nil && row.Location != "" {
		return openAccount(row)
	}
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	u := &user{email: Email.Get(), key: key}
	cfg := lego.NewConfig(u)
	cfg.CADirURL, cfg.HTTPClient = dir, client
	lc, err := lego.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("the ACME directory %s: %w", dir, err)
	}
	reg, err := lc.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true})
	if err != nil {
		return nil, fmt.Errorf("registering the panel's ACME account at %s: %w", dir, err)
	}
	u.reg = reg
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	seal, err := sealed.Seal(accountPurpose, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		return nil, err
	}
	err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		if _, err := tx.ACMEAccount.Delete().Where(acmeaccount.Directory(dir)).Exec(ctx); err != nil {
			return err
		}
		return tx.ACMEAccount.Create().SetDirectory(dir).SetEmail(u.email).SetLocation(reg.Location).
			SetPrivateKey(seal).Exec(ctx)
	})
	return u, err
}

func openAccount(row *ent.ACMEAccount) (*user, error) {
	b, err := sealed.Open(accountPurpose, row.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("the panel's ACME account key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("the panel's ACME account key does not read")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("the panel's ACME account key is no signing key")
	}
	return &user{email: row.Email, key: signer, reg: &acme.ExtendedAccount{Location: row.Location}}, nil
}

// forget drops the account at dir (the CA no longer knows it).
func forget(ctx context.Context, st *store.Store, dir string) error {
	return st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		_, err := tx.ACMEAccount.Delete().Where(acmeaccount.Directory(dir)).Exec(ctx)
		return err
	})
}

var (
	clientMu  sync.Mutex
	clientFor string // the CA file the cached client trusts
	client    *http.Client
)

// httpClient talks to the directory, trusting CERTIFICATES_ACME_CA_FILE
// when it is set.
func httpClient() (*http.Client, error) {
	clientMu.Lock()
	defer clientMu.Unlock()
	file := CAFile.Get()
	if client != nil && clientFor == file {
		return client, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if file != "" {
		pemText, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("CERTIFICATES_ACME_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemText) {
			return nil, fmt.Errorf("CERTIFICATES_ACME_CA_FILE %s holds no PEM certificate", file)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	tr.MaxIdleConnsPerHost = 64
	client, clientFor = &http.Client{Transport: tr, Timeout: 2 * time.Minute}, file
	return client, nil
}

// order obtains c's names from the directory: a new key and its chain.
func order(ctx context.Context, st *store.Store, ex *orchestration.Executor, c *ent.Certificate) (*certificate.Resource, error) {
	hc, err := httpClient()
	if err != nil {
		return nil, err
	}
	dir := Directory.Get()
	for attempt := 0; ; attempt++ {
		u, err := account(ctx, st, dir, hc)
		if err != nil {
			return nil, err
		}
		cfg := lego.NewConfig(u)
		cfg.CADirURL, cfg.HTTPClient = dir, hc
		cfg.Certificate.Timeout = 2 * time.Minute
		lc, err := lego.NewClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("the ACME directory %s: %w", dir, err)
		}
		if c.Source == DNS01 {
			p := &dnsProvider{st: st, ex: ex, cert: c, servers: map[string][]string{}}
			err = lc.Challenge.SetDNS01Provider(p, dns01.WrapPreCheck(p.live))
		} else {
			err = lc.Challenge.SetHTTP01Provider(&httpProvider{st: st, ex: ex, cert: c})
		}
		if err != nil {
			return nil, err
		}
		res, err := lc.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: c.Names, Bundle: true,
			KeyType: certcrypto.KeyType(strings.ToUpper(c.KeyType))})
		var problem *acme.ProblemDetails
		if attempt == 0 && errors.As(err, &problem) && problem.Type == acme.AccountDoesNotExistErrorType {
			if err := forget(ctx, st, dir); err != nil {
				return nil, err
			}
			continue // the CA forgot the account (a new directory behind the URL): register again
		}
		return res, err
	}
}

// httpProvider answers HTTP-01 challenges through the web servers of the
// account's websites serving the name: the site backends put the answer
// where every site serves /.well-known/acme-challenge/ from.
type httpProvider struct {
	st   *store.Store
	ex   *orchestration.Executor
	cert *ent.Certificate

	once  sync.Once
	sites []*ent.Website
	names map[int][]string // site → its domains' names
	err   error
}

func (p *httpProvider) Present(ctx context.Context, name, token, keyAuth string) error {
	return p.put(ctx, name, token+" "+keyAuth)
}

func (p *httpProvider) CleanUp(ctx context.Context, name, token, _ string) error {
	return p.put(ctx, name, token)
}

// put places (or, a token alone, removes) a challenge's answer on the web
// servers of the sites serving name, with the other orders' of the moment.
func (p *httpProvider) put(ctx context.Context, name, line string) error {
	ids, err := p.servingSites(sys(ctx), name)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("no active website of the account serves %s, so HTTP-01 cannot prove it (use dns-01)", name)
	}
	return challengesOf(p.ex).place(ctx, ids, line, name)
}

// servingSites are the account's active websites serving name (a wildcard
// of theirs too), and the certificate's own site; the account's sites are
// read once per order.
func (p *httpProvider) servingSites(ctx context.Context, name string) ([]int, error) {
	p.once.Do(func() {
		p.sites, p.err = p.st.Website.Query().Where(website.AccountID(p.cert.AccountID), website.IsActive(true)).All(ctx)
		if p.err == nil {
			p.names, p.err = web.DomainNamesOf(ctx, p.st.Client, p.sites)
		}
	})
	var ids []int
	for _, s := range p.sites {
		if slices.Contains(p.names[s.ID], name) || slices.Contains(p.names[s.ID], "*."+parent(name)) ||
			p.cert.WebsiteID != nil && *p.cert.WebsiteID == s.ID {
			ids = append(ids, s.ID)
		}
	}
	return ids, p.err
}

// challenges places the HTTP-01 answers of the orders in flight, a group
// at a time: while one group's unit runs, the next gathers, so that a
// server's lane runs a unit for many orders instead of one for each. The
// answers are written to the folder every site of a server serves them
// from, so a group goes to the servers of all its sites.
type challenges struct {
	ex      *orchestration.Executor
	mu      sync.Mutex
	next    *group
	running bool
}

// group is the challenges one unit per server places.
type group struct {
	sites map[int]bool
	lines []string
	names []string
	done  chan struct{}
	err   error
}

var challengers sync.Map // *orchestration.Executor → *challenges

func challengesOf(ex *orchestration.Executor) *challenges {
	c, _ := challengers.LoadOrStore(ex, &challenges{ex: ex})
	return c.(*challenges)
}

// place adds line for sites to the next group and waits until it is placed.
func (c *challenges) place(ctx context.Context, sites []int, line, name string) error {
	c.mu.Lock()
	if c.next == nil {
		c.next = &group{sites: map[int]bool{}, done: make(chan struct{})}
	}
	g := c.next
	for _, id := range sites {
		g.sites[id] = true
	}
	g.lines, g.names = append(g.lines, line), append(g.names, name)
	if !c.running {
		c.running = true
		go c.flush()
	}
	c.mu.Unlock()
	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush places groups until none is waiting.
func (c *challenges) flush() {
	for {
		c.mu.Lock()
		g := c.next
		c.next = nil
		if g == nil {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		g.err = c.run(g)
		close(g.done)
	}
}

func (c *challenges) run(g *group) error {
	ctx, cancel := context.WithTimeout(sys(context.Background()), 2*time.Minute)
	defer cancel()
	units, err := c.ex.Orchestrate(ctx, orchestration.Selection{Model: "Website", IDs: slices.Sorted(maps.Keys(g.sites)),
		Action: web.ActionACMEChallenge, Args: map[string]string{"tokens": strings.Join(g.lines, "\n")}}, false)
	if err != nil {
		return err
	}
	var logs []int
	for _, u := range units {
		if u.LogID != 0 {
			logs = append(logs, u.LogID)
		}
	}
	names := strings.Join(slices.Compact(slices.Sorted(slices.Values(g.names))), ", ")
	if len(logs) == 0 {
		return fmt.Errorf("no web server serves the websites of %s (no route of the nginx or apache backend matches them)", names)
	}
	done, err := c.ex.Await(ctx, logs)
	if err != nil {
		return err
	}
	for _, l := range done {
		if l.State != orchestration.StateSuccess {
			return fmt.Errorf("placing the challenges of %s on server %d: %s %s", names, l.ServerID, l.State, strings.TrimSpace(l.Stderr))
		}
	}
	return nil
}

func parent(name string) string {
	_, p, _ := strings.Cut(name, ".")
	return p
}

// dnsProvider answers DNS-01 challenges with TXT records in the name's
// zone, through the DNS service: once every server the zone is published
// on answers with the record (live), the CA is told to look.
type dnsProvider struct {
	st   *store.Store
	ex   *orchestration.Executor
	cert *ent.Certificate

	mu      sync.Mutex
	servers map[string][]string // challenge name → the zone's servers (host:port)
}

// challengeName is _acme-challenge.NAME, without the final dot.
func challengeName(name string) string { return "_acme-challenge." + strings.TrimPrefix(name, "*.") }

// challengeValue is the record's text for a key authorization (RFC 8555 §8.4).
func challengeValue(keyAuth string) string {
	sum := sha256.Sum256([]byte(keyAuth))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (p *dnsProvider) Present(ctx context.Context, name, _, keyAuth string) error {
	fqdn, value := challengeName(name), challengeValue(keyAuth)
	ops, err := p.write(ctx, func(ctx context.Context, tx *ent.Tx) error {
		d, err := tx.Domain.Query().Where(domain.Name(fqdn)).Only(ctx)
		if ent.IsNotFound(err) {
			d, err = tx.Domain.Create().SetName(fqdn).SetAccountID(p.cert.AccountID).Save(ctx)
		}
		if err != nil {
			return err
		}
		if d.AccountID != p.cert.AccountID {
			return fmt.Errorf("%s is another account's", fqdn)
		}
		return tx.Record.Create().SetDomainID(d.ID).SetAccountID(d.AccountID).SetType("TXT").SetValue(value).Exec(ctx)
	})
	if err != nil {
		return fmt.Errorf("publishing %s: %w", fqdn, err)
	}
	var ids []int
	for _, op := range ops {
		if op.ServerID != nil && !slices.Contains(ids, *op.ServerID) {
			ids = append(ids, *op.ServerID)
		}
	}
	srvs, err := p.st.Server.Query().Where(server.IDIn(ids...)).All(sys(ctx))
	if err != nil {
		return err
	}
	if len(srvs) == 0 {
		return fmt.Errorf("the zone of %s is on no server (no route of a DNS backend matches it)", name)
	}
	var addrs []string
	for _, s := range srvs {
		host := s.Address
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(DNSPort.Get())))
	}
	p.mu.Lock()
	p.servers[fqdn+"."] = addrs
	p.mu.Unlock()
	return nil
}

func (p *dnsProvider) CleanUp(ctx context.Context, name, _, keyAuth string) error {
	fqdn, value := challengeName(name), challengeValue(keyAuth)
	_, err := p.write(ctx, func(ctx context.Context, tx *ent.Tx) error {
		d, err := tx.Domain.Query().Where(domain.Name(fqdn), domain.AccountID(p.cert.AccountID)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := tx.Record.Delete().Where(record.DomainID(d.ID), record.Type("TXT"), record.Value(value)).Exec(ctx); err != nil {
			return err
		}
		left, err := tx.Record.Query().Where(record.DomainID(d.ID)).Exist(ctx)
		if err != nil || left {
			return err
		}
		return tx.Domain.DeleteOne(d).Exec(ctx)
	})
	return err
}

// Timeout bounds lego's wait for live.
func (p *dnsProvider) Timeout() (timeout, interval time.Duration) {
	return DNSTimeout.Get(), 500 * time.Millisecond
}

// write commits fn as the system and waits until the zone's units ran.
func (p *dnsProvider) write(ctx context.Context, fn func(context.Context, *ent.Tx) error) ([]*ent.Operation, error) {
	tctx, tracker := orchestration.Track(sys(ctx))
	if err := p.st.Tx(tctx, fn); err != nil {
		return nil, err
	}
	outcome, err := p.ex.Follow(ctx, tracker.Changes(), DNSTimeout.Get(), false)
	if err != nil {
		return nil, err
	}
	switch outcome.State {
	case orchestration.StateSuccess, orchestration.StateNothing, "":
		return outcome.Operations, nil
	}
	return outcome.Operations, fmt.Errorf("the zone's servers did not take the change (%s)", outcome.State)
}

// live tells lego the record is out once every server of its zone answers
// with it (asked directly, no recursion: no cache can lie).
func (p *dnsProvider) live(ctx context.Context, _, fqdn, value string, _ dns01.PreCheckFunc) (bool, error) {
	p.mu.Lock()
	addrs := p.servers[mdns.Fqdn(fqdn)]
	p.mu.Unlock()
	if len(addrs) == 0 {
		return false, fmt.Errorf("no server known for %s", fqdn)
	}
	c := &mdns.Client{Timeout: 3 * time.Second}
	for _, a := range addrs {
		m := new(mdns.Msg)
		m.SetQuestion(mdns.Fqdn(fqdn), mdns.TypeTXT)
		m.RecursionDesired = false
		r, _, err := c.ExchangeContext(ctx, m, a)
		if err != nil || r.Rcode != mdns.RcodeSuccess {
			return false, nil
		}
		found := false
		for _, rr := range r.Answer {
			if t, ok := rr.(*mdns.TXT); ok && strings.Join(t.Txt, "") == value {
				found = true
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}
