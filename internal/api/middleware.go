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
	"strconv"
	"strings"
	"time"

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

// clientAddr is the address login throttling counts against.
// ClientAddr is the client's address, from X-Forwarded-For behind a trusted proxy.
func (s *Server) ClientAddr(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
		defer func() {
			// Server errors are not remembered: the client should be able to retry.
			if rec.status == 0 || rec.status >= 500 {
				s.st.IdempotencyKey.DeleteOneID(row.ID).Exec(context.WithoutCancel(sys))
				return
			}
			err := s.st.IdempotencyKey.UpdateOneID(row.ID).SetStatus(rec.status).
				SetContentType(w.Header().Get("Content-Type")).SetLocation(w.Header().Get("Location")).
				SetBody(rec.body.Bytes()).Exec(context.WithoutCancel(sys))
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
