package sshkeys

import (
	"time"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// SSHKey is a key as the API shows it (its fields the entity's).
type SSHKey struct {
	ID         int       `json:"id"`
	Name       string    `json:"name"`
	Key        string    `json:"key"`
	SystemUser int       `json:"system_user"`
	Account    int       `json:"account"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Version    int       `json:"version"`
}

type (
	keyCreate = struct {
		Name       string `json:"name" maxLength:"64" doc:"To tell your keys apart: laptop, deploy."`
		Key        string `json:"key" maxLength:"16384" doc:"The public key, as in a .pub file: ssh-ed25519 AAAA… comment."`
		SystemUser int    `json:"system_user" minimum:"1" doc:"The system user that logs in with it." ent:"system_user_id"`
	}
	keyPatch = struct {
		Name    *string `json:"name,omitempty" maxLength:"64"`
		Key     *string `json:"key,omitempty" maxLength:"16384"`
		Version *int    `json:"version,omitempty"`
	}
)

type list struct {
	api.ListParams
	Account    int `query:"account" minimum:"0"`
	SystemUser int `query:"system_user" minimum:"0"`
}

func (l list) Filters() []any { return []any{"account_id", l.Account, "system_user_id", l.SystemUser} }

func init() {
	api.Declare(api.Model[ent.SSHKey, *ent.SSHKeyQuery, SSHKey, keyCreate, keyPatch, list]{
		Name: "ssh-key", Plural: "ssh-keys", Tag: "SSH keys",
		List: "List SSH keys", Get: "Get an SSH key", Create: "Add an SSH key", Update: "Change an SSH key",
		Delete:        "Remove an SSH key",
		CreateExample: map[string]any{"name": "laptop", "system_user": 1, "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO/mN+nH917fs6RU6JuXR5BH1P13LfJ0FpZ8kWW5uc85 alice@laptop"},
		UpdateExample: map[string]any{"name": "old laptop", "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "name", "created_at", "account_id"}, Search: []string{"name", "key"}, Default: "name"},
		Presentation: api.Presentation{Name: "ssh-key", Fieldsets: []api.Fieldset{api.Set("", "system_user", "name", "key")}, Label: "SSH keys", Singular: "SSH key", Group: "services",
			Title: "name", Columns: []string{"system_user", "account"}, Refs: map[string]string{"system_user": "system-user"},
			Type: "SSHKey"},
		Client: func(c *ent.Client) api.Client[ent.SSHKey, *ent.SSHKeyQuery] { return c.SSHKey },
	})
}
