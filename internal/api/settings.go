package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/audit"
	"github.com/orchestra-panel/orchestra/internal/authz"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/setting"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// SettingStore keeps setting values in the database. Writes run as the
// caller, so they are authorised (staff only) and recorded in the history.
type SettingStore struct{ Store *store.Store }

// All returns every stored value.
func (s SettingStore) All(ctx context.Context) (map[string]json.RawMessage, error) {
	rows, err := s.Store.Setting.Query().All(viewer.System(ctx, viewer.ChannelSystem))
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(rows))
	for _, r := range rows {
		out[r.Name] = r.Value
	}
	return out, nil
}

// Put stores a value; the history notes that a secret one changed, never
// the value.
func (s SettingStore) Put(ctx context.Context, name string, value json.RawMessage) error {
	if info, ok := settings.Lookup(name); ok && info.Secret {
		ctx = audit.WithSecrets(ctx, setting.FieldValue)
	}
	return s.Store.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		n, err := tx.Setting.Update().Where(setting.Name(name)).SetValue(value).Save(ctx)
		if err != nil || n > 0 {
			return err
		}
		return tx.Setting.Create().SetName(name).SetValue(value).Exec(ctx)
	})
}

// Delete removes a stored value.
func (s SettingStore) Delete(ctx context.Context, name string) error {
	return s.Store.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		_, err := tx.Setting.Delete().Where(setting.Name(name)).Exec(ctx)
		return err
	})
}

type SettingName struct {
	Name string `path:"name" maxLength:"128" pattern:"^[A-Z][A-Z0-9_]*$"`
}

// SettingValue is the body that sets a setting.
type SettingValue struct {
	Value any `json:"value" doc:"A value of the setting's type: string, integer, boolean, list of strings, or a duration such as \"90m\"."`
}

func (s *Server) settingRoutes() {
	st := SettingStore{s.st}
	huma.Register(s.api, op("list-settings", http.MethodGet, "/settings", "List settings (staff)", "Settings"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []settings.Info }, error) {
			if err := authz.RequireStaff(ctx); err != nil {
				return nil, fail(ctx, err)
			}
			return &struct{ Body []settings.Info }{settings.All()}, nil
		})
	huma.Register(s.api, op("get-setting", http.MethodGet, "/settings/{name}", "Get a setting (staff)", "Settings"),
		func(ctx context.Context, in *SettingName) (*struct{ Body settings.Info }, error) {
			if err := authz.RequireStaff(ctx); err != nil {
				return nil, fail(ctx, err)
			}
			info, ok := settings.Lookup(in.Name)
			if !ok {
				return nil, fail(ctx, settings.ErrUnknown)
			}
			return &struct{ Body settings.Info }{info}, nil
		})
	put := op("set-setting", http.MethodPut, "/settings/{name}", "Store a setting's value (staff)", "Settings")
	huma.Register(s.api, put, func(ctx context.Context, in *struct {
		SettingName
		Body SettingValue
	}) (*struct{ Body settings.Info }, error) {
		if err := authz.RequireStaff(ctx); err != nil {
			return nil, fail(ctx, err)
		}
		raw, err := json.Marshal(in.Body.Value)
		if err != nil {
			return nil, fail(ctx, err)
		}
		if err := settings.Set(ctx, st, in.Name, raw); err != nil {
			return nil, fail(ctx, err)
		}
		info, _ := settings.Lookup(in.Name)
		return &struct{ Body settings.Info }{info}, nil
	})
	huma.Register(s.api, op("reset-setting", http.MethodDelete, "/settings/{name}", "Forget a setting's stored value (staff)", "Settings"),
		func(ctx context.Context, in *SettingName) (*struct{}, error) {
			if err := authz.RequireStaff(ctx); err != nil {
				return nil, fail(ctx, err)
			}
			return nil, fail(ctx, settings.Reset(ctx, st, in.Name))
		})
}
