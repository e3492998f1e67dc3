package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/session"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// SessionAccountKey is the session value holding the logged-in account's id.
const SessionAccountKey = "account_id"

// SessionStore keeps panel sessions in the database (scs.CtxStore), so they
// survive restarts and work with several panel processes. Rows are keyed by
// the SHA-256 of the token: whoever reads the table cannot present it as a
// cookie. The session's data must be encoded with scs.GobCodec, which the
// store reads to note the account (see EndSessions).
type SessionStore struct{ Client *ent.Client }

func sys(ctx context.Context) context.Context { return viewer.System(ctx, viewer.ChannelSystem) }

// SessionKey is the stored form of a session token. Tokens carry 256 random
// bits (scs), so a plain SHA-256 is enough.
func SessionKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// FindCtx returns the data of an unexpired session.
func (s SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	row, err := s.Client.Session.Query().Where(session.ID(SessionKey(token)), session.ExpiryGT(time.Now())).Only(sys(ctx))
	if ent.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return row.Data, true, nil
}

// CommitCtx saves a session, with the account it is logged in as.
func (s SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	var acc *int
	if _, values, err := (scs.GobCodec{}).Decode(b); err == nil {
		if id, ok := values[SessionAccountKey].(int); ok && id != 0 {
			acc = &id
		}
	}
	return s.Client.Session.Create().SetID(SessionKey(token)).SetData(b).SetExpiry(expiry).SetNillableAccountID(acc).
		OnConflictColumns(session.FieldID).UpdateNewValues().Exec(sys(ctx))
}

// DeleteCtx removes a session.
func (s SessionStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.Client.Session.Delete().Where(session.ID(SessionKey(token))).Exec(sys(ctx))
	return err
}

// Find, Commit and Delete satisfy scs.Store; scs calls the Ctx variants.
func (s SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit saves a session.
func (s SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete removes a session.
func (s SessionStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// DeleteExpired removes sessions past their expiry.
func (s SessionStore) DeleteExpired(ctx context.Context) error {
	_, err := s.Client.Session.Delete().Where(session.ExpiryLTE(time.Now())).Exec(sys(ctx))
	return err
}

type currentSessionKey struct{}

// WithSession marks ctx as a request of the session with token: a password
// change made in it keeps that session and ends the account's others.
func WithSession(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, currentSessionKey{}, SessionKey(token))
}

type endedKey struct{}

// CountEndedSessions returns ctx and a counter to which the password changes
// made in it add the number of sessions they ended.
func CountEndedSessions(ctx context.Context) (context.Context, *int) {
	n := new(int)
	return context.WithValue(ctx, endedKey{}, n), n
}

func init() {
	store.RegisterHook("Account", ent.OpUpdate|ent.OpUpdateOne, endSessions)
}

// endSessions ends the other sessions of every account whose panel password
// a write changes, whatever changes it (the API, the web interface, the
// CLI): whoever knew the old password may hold one. It runs in the write's
// transaction. API tokens are not revoked: they are managed on their own.
func endSessions(next ent.Mutator) ent.Mutator {
	return hook.AccountFunc(func(ctx context.Context, m *ent.AccountMutation) (ent.Value, error) {
		if _, changed := m.Password(); !changed {
			return next.Mutate(ctx, m)
		}
		ids, err := m.IDs(ctx)
		if err != nil {
			return nil, err
		}
		v, err := next.Mutate(ctx, m)
		if err != nil || len(ids) == 0 {
			return v, err
		}
		q := m.Client().Session.Delete().Where(session.AccountIDIn(ids...))
		if cur, ok := ctx.Value(currentSessionKey{}).(string); ok {
			q.Where(session.IDNEQ(cur))
		}
		n, err := q.Exec(sys(ctx))
		if err != nil {
			return nil, err
		}
		if c, ok := ctx.Value(endedKey{}).(*int); ok {
			*c += n
		}
		return v, nil
	})
}
