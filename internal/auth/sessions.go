package auth

import (
	"context"
	"time"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/session"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// SessionStore keeps panel sessions in the database (scs.CtxStore), so they
// survive restarts and work with several panel processes.
type SessionStore struct{ Client *ent.Client }

func sys(ctx context.Context) context.Context { return viewer.System(ctx, viewer.ChannelSystem) }

// FindCtx returns the data of an unexpired session.
func (s SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	row, err := s.Client.Session.Query().Where(session.ID(token), session.ExpiryGT(time.Now())).Only(sys(ctx))
	if ent.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return row.Data, true, nil
}

// CommitCtx saves a session.
func (s SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.Client.Session.Create().SetID(token).SetData(b).SetExpiry(expiry).
		OnConflictColumns(session.FieldID).UpdateNewValues().Exec(sys(ctx))
}

// DeleteCtx removes a session.
func (s SessionStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.Client.Session.Delete().Where(session.ID(token)).Exec(sys(ctx))
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
