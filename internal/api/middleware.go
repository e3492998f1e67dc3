package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/idempotencykey"
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
// refused. Keys are per account, so callers never see each other's replies.
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

		row, err := s.st.IdempotencyKey.Create().SetScope(scope).SetKey(key).SetFingerprint(fp).
			SetCreatedAt(time.Now()).Save(sys)
		if ent.IsConstraintError(err) {
			prev, err := s.st.IdempotencyKey.Query().
				Where(idempotencykey.Scope(scope), idempotencykey.Key(key)).Only(sys)
			switch {
			case err != nil:
				writeProblem(w, http.StatusConflict, i18n.T(ctx, "A request with this Idempotency-Key is in progress; retry later."))
			case prev.Fingerprint != fp:
				writeProblem(w, http.StatusUnprocessableEntity, i18n.T(ctx, "This Idempotency-Key was already used for a different request."))
			case prev.Status == 0:
				writeProblem(w, http.StatusConflict, i18n.T(ctx, "A request with this Idempotency-Key is in progress; retry later."))
			case prev.Withheld != "":
				// the first answer held a secret, shown once and not kept
				if prev.Location != "" {
					w.Header().Set("Location", prev.Location)
				}
				w.Header().Set("Idempotent-Replayed", "true")
				writeProblem(w, http.StatusConflict, i18n.T(ctx,
					"This request was already performed; its answer held a secret (%s) that is shown only once and not kept. The Location header names what it created.",
					prev.Withheld))
			default:
				if prev.ContentType != "" {
					w.Header().Set("Content-Type", prev.ContentType)
				}
				if prev.Location != "" {
					w.Header().Set("Location", prev.Location)
				}
				w.Header().Set("Idempotent-Replayed", "true")
				w.WriteHeader(prev.Status)
				w.Write(prev.Body)
			}
			return
		}
		if err != nil {
			slog.ErrorContext(ctx, "idempotency key", "err", err)
			writeProblem(w, http.StatusInternalServerError, i18n.T(ctx, "Internal error; it has been logged."))
			return
		}
		rec := &recorder{ResponseWriter: w}
		secrets := &withheld{}
		r = r.WithContext(context.WithValue(ctx, withheldKey{}, secrets))
		defer func() {
			// Server errors are not remembered: the client should be able to retry.
			if rec.status == 0 || rec.status >= 500 {
				s.st.IdempotencyKey.DeleteOneID(row.ID).Exec(context.WithoutCancel(sys))
				return
			}
			u := s.st.IdempotencyKey.UpdateOneID(row.ID).SetStatus(rec.status).
				SetContentType(w.Header().Get("Content-Type")).SetLocation(w.Header().Get("Location"))
			if len(secrets.fields) > 0 {
				u.SetWithheld(strings.Join(secrets.fields, ", "))
			} else {
				u.SetBody(rec.body.Bytes())
			}
			err := u.Exec(context.WithoutCancel(sys))
			if err != nil {
				slog.ErrorContext(ctx, "idempotency key", "err", err)
			}
		}()
		next.ServeHTTP(rec, r)
	})
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
