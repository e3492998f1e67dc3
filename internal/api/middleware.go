package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/idempotencykey"
	"github.com/orchestra-panel/orchestra/internal/store/ent/predicate"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// writeProblem writes the API's error shape outside huma's handlers.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
}

func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				slog.ErrorContext(r.Context(), "api: panic", "panic", p, "path", r.URL.Path)
				writeProblem(w, http.StatusInternalServerError, "Internal error; it has been logged.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies over max bytes with 413 before anything reads them.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeProblem(w, http.StatusRequestEntityTooLarge, i18n.T(r.Context(), "The request body is larger than %d bytes.", max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// DefaultTrustedProxies are the proxies believed when TrustProxy is on and
// none are configured: loopback and the private ranges.
func DefaultTrustedProxies() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

// ClientAddr is the client's address: the peer's, or with TrustProxy the
// right-most address of X-Forwarded-For (the peer appended last) that is not
// a trusted proxy. Entries left of it were written by the client and prove
// nothing; entries right of it were appended by proxies we trust.
func (s *Server) ClientAddr(r *http.Request) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	if !s.cfg.TrustProxy {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for a := range strings.SplitSeq(h, ",") {
			hops = append(hops, strings.TrimSpace(a))
		}
	}
	hops = append(hops, peer)
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// not an address: what the trusted proxy to its right saw, as is
			return hops[i]
		}
		if !s.trustedProxy(a) {
			return a.String()
		}
	}
	// every hop is a proxy: the left-most is the nearest to the client
	a, _ := parseHop(hops[0])
	return a.String()
}

// parseHop reads an X-Forwarded-For entry: an address, perhaps with a port.
func parseHop(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

type addrKey struct{}

// idempotencyTTL is how long a key's response is remembered.
const idempotencyTTL = 24 * time.Hour

// A request holding its key renews the lease every idempotencyRenew; a key
// whose lease ran out belongs to a process that died (or stalled for that
// long) and a retry takes it over.
var (
	idempotencyLease = 30 * time.Second
	idempotencyRenew = 10 * time.Second
)

// heldHook, when set (by tests), runs once a request holds its key, before
// it is served.
var heldHook atomic.Pointer[func(r *http.Request)]

// keyHolder names this process in the keys it holds: its instance, the same
// across restarts, and an id of this start.
type keyHolder struct {
	instance string
	id       string
}

func newKeyHolder(instance string) keyHolder {
	if instance == "" {
		instance, _ = os.Hostname()
	}
	if len(instance) > 255 {
		instance = instance[:255]
	}
	b := make([]byte, 8)
	rand.Read(b)
	return keyHolder{instance: instance, id: hex.EncodeToString(b)}
}

// abandoned tells whether the in-progress key k was left by a request that
// is no longer running: an earlier life of this instance held it, or its
// holder stopped renewing the lease (keys from before leases have none).
func (h keyHolder) abandoned(k *ent.IdempotencyKey, now time.Time) bool {
	if k.Status != 0 || k.Holder == h.id {
		return false
	}
	return k.Instance == h.instance || k.HeldUntil == nil || k.HeldUntil.Before(now)
}

// recorder captures a response so it can be replayed.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// idempotent makes an authenticated POST carrying an Idempotency-Key run
// once: a retry with the same key and body gets the first response again; the
// same key with a different body, or while the first is still running, is
// refused; a key whose request died with its process is the retry's (see
// holdKey). Keys are per account, so callers never see each other's replies.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), addrKey{}, s.ClientAddr(r)))
		key := r.Header.Get("Idempotency-Key")
		v, authed := viewer.From(r.Context())
		if r.Method != http.MethodPost || key == "" || !authed {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if len(key) > 255 {
			writeProblem(w, http.StatusBadRequest, i18n.T(ctx, "The Idempotency-Key header must be at most 255 characters."))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeProblem(w, http.StatusRequestEntityTooLarge, i18n.T(ctx, "The request body is larger than %d bytes.", mbe.Limit))
				return
			}
			writeProblem(w, http.StatusBadRequest, i18n.T(ctx, "The request body could not be read."))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.RequestURI()+"\n"), body...))
		fp := hex.EncodeToString(sum[:])
		scope := "account:" + strconv.Itoa(v.AccountID)
		sys := viewer.System(ctx, viewer.ChannelSystem)

		row, status, err := s.holdKey(sys, scope, key, fp)
		if err != nil {
			slog.ErrorContext(ctx, "idempotency key", "err", err)
			writeProblem(w, http.StatusInternalServerError, i18n.T(ctx, "Internal error; it has been logged."))
			return
		}
		switch {
		case status == holdInProgress:
			writeProblem(w, http.StatusConflict, i18n.T(ctx, "A request with this Idempotency-Key is in progress; retry later."))
			return
		case status == holdOtherRequest:
			writeProblem(w, http.StatusUnprocessableEntity, i18n.T(ctx, "This Idempotency-Key was already used for a different request."))
			return
		case status == holdDone && row.Withheld != "":
			// the first answer held a secret, shown once and not kept
			if row.Location != "" {
				w.Header().Set("Location", row.Location)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			writeProblem(w, http.StatusConflict, i18n.T(ctx,
				"This request was already performed; its answer held a secret (%s) that is shown only once and not kept. The Location header names what it created.",
				row.Withheld))
			return
		case status == holdDone:
			if row.ContentType != "" {
				w.Header().Set("Content-Type", row.ContentType)
			}
			if row.Location != "" {
				w.Header().Set("Location", row.Location)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(row.Status)
			w.Write(row.Body)
			return
		}
		stopRenewing := s.renewKey(sys, row.ID)
		rec := &recorder{ResponseWriter: w}
		secrets := &withheld{}
		r = r.WithContext(context.WithValue(ctx, withheldKey{}, secrets))
		defer func() {
			stopRenewing()
			mine := []predicate.IdempotencyKey{idempotencykey.ID(row.ID), idempotencykey.Holder(s.holder.id)}
			bg := context.WithoutCancel(sys)
			// Server errors are not remembered: the client should be able to retry.
			if rec.status == 0 || rec.status >= 500 {
				s.st.IdempotencyKey.Delete().Where(mine...).Exec(bg)
				return
			}
			u := s.st.IdempotencyKey.Update().Where(mine...).SetStatus(rec.status).
				SetContentType(w.Header().Get("Content-Type")).SetLocation(w.Header().Get("Location")).ClearHeldUntil()
			if len(secrets.fields) > 0 {
				u.SetWithheld(strings.Join(secrets.fields, ", "))
			} else {
				u.SetBody(rec.body.Bytes())
			}
			n, err := u.Save(bg)
			if err != nil {
				slog.ErrorContext(ctx, "idempotency key", "err", err)
			} else if n == 0 {
				slog.WarnContext(ctx, "idempotency key taken over while its request ran (its lease ran out)", "key", key)
			}
		}()
		if f := heldHook.Load(); f != nil {
			(*f)(r)
		}
		next.ServeHTTP(rec, r)
	})
}

// What holdKey found.
const (
	holdNew          = iota // the key is this request's now
	holdInProgress          // a running request holds it
	holdOtherRequest        // it was used for a different request
	holdDone                // its answer is recorded: replay it
)

// holdKey makes the key this request's: a new row, or one a dead request
// left (see keyHolder.abandoned), taken over with a compare-and-set on its
// holder so that of concurrent retries one wins. Otherwise it returns the
// row as it is and why the request cannot run.
func (s *Server) holdKey(ctx context.Context, scope, key, fp string) (*ent.IdempotencyKey, int, error) {
	now, err := s.st.Now(ctx) // leases run by the database's clock
	if err != nil {
		return nil, 0, err
	}
	row, err := s.st.IdempotencyKey.Create().SetScope(scope).SetKey(key).SetFingerprint(fp).
		SetCreatedAt(now).SetHolder(s.holder.id).SetInstance(s.holder.instance).
		SetHeldUntil(now.Add(idempotencyLease)).Save(ctx)
	if !ent.IsConstraintError(err) {
		return row, holdNew, err
	}
	prev, err := s.st.IdempotencyKey.Query().Where(idempotencykey.Scope(scope), idempotencykey.Key(key)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return nil, holdInProgress, nil // finished with a server error and deleted just now: retry
	case err != nil:
		return nil, 0, err
	case prev.Fingerprint != fp:
		return prev, holdOtherRequest, nil
	case prev.Status != 0:
		return prev, holdDone, nil
	case !s.holder.abandoned(prev, now):
		return prev, holdInProgress, nil
	}
	n, err := s.st.IdempotencyKey.Update().
		Where(idempotencykey.ID(prev.ID), idempotencykey.Status(0), idempotencykey.Holder(prev.Holder)).
		SetHolder(s.holder.id).SetInstance(s.holder.instance).SetHeldUntil(now.Add(idempotencyLease)).
		SetCreatedAt(now).Save(ctx)
	if err != nil || n == 0 {
		return prev, holdInProgress, err // another retry took it over first
	}
	slog.InfoContext(ctx, "idempotency key taken over from a request that died", "key", key,
		"holder", prev.Holder, "instance", prev.Instance)
	return prev, holdNew, nil
}

// renewKey renews the lease of the key row id while its request runs,
// until the returned function is called.
func (s *Server) renewKey(ctx context.Context, id int) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(idempotencyRenew)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			now, err := s.st.Now(context.WithoutCancel(ctx))
			if err == nil {
				_, err = s.st.IdempotencyKey.Update().
					Where(idempotencykey.ID(id), idempotencykey.Holder(s.holder.id)).
					SetHeldUntil(now.Add(idempotencyLease)).Save(context.WithoutCancel(ctx))
			}
			if err != nil {
				slog.WarnContext(ctx, "renewing an idempotency key", "err", err)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

func (s *Server) expireIdempotencyKeys(ctx context.Context) error {
	_, err := s.st.IdempotencyKey.Delete().
		Where(idempotencykey.CreatedAtLT(time.Now().Add(-idempotencyTTL))).
		Exec(viewer.System(ctx, viewer.ChannelSystem))
	return err
}

// withheld collects the secret fields of a response, so the idempotency
// store keeps none of them.
type withheld struct{ fields []string }

type withheldKey struct{}

// noteSecrets is a huma transformer: it tells the idempotency middleware
// which fields of a response body are marked `secret:"true"` and set.
func noteSecrets(ctx huma.Context, _ string, v any) (any, error) {
	if w, ok := ctx.Context().Value(withheldKey{}).(*withheld); ok {
		w.fields = secretFields(reflect.ValueOf(v), "", w.fields)
	}
	return v, nil
}

// secretFields appends the JSON names of the set secret fields of v,
// descending into embedded and nested structs.
func secretFields(v reflect.Value, prefix string, out []string) []string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return out
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return out
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		switch {
		case f.Tag.Get("secret") == "true":
			if !v.Field(i).IsZero() {
				out = append(out, prefix+name)
			}
		case f.Anonymous:
			out = secretFields(v.Field(i), prefix, out)
		default:
			out = secretFields(v.Field(i), prefix+name+".", out)
		}
	}
	return out
}
