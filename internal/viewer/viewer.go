// Package viewer carries who is acting, and through which channel, in a
// context. Authorization and the audit history read it; nothing else decides
// identity.
package viewer

import "context"

// Channels through which changes arrive; recorded in the history.
const (
	ChannelAPI    = "api"
	ChannelWeb    = "web"
	ChannelCLI    = "cli"
	ChannelSystem = "system"
)

// Viewer is the acting account.
type Viewer struct {
	AccountID int
	Username  string
	Superuser bool
	Channel   string
	// System marks the panel's own work (migrations, login checks, jobs):
	// unrestricted and recorded as "system".
	System bool
}

// Unrestricted reports whether v may see and change everything.
func (v Viewer) Unrestricted() bool { return v.System || v.Superuser }

type key struct{}

// With returns ctx acting as v.
func With(ctx context.Context, v Viewer) context.Context { return context.WithValue(ctx, key{}, v) }

// From returns the viewer of ctx; ok is false for anonymous contexts.
func From(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(key{}).(Viewer)
	return v, ok
}

// System returns ctx acting as the panel itself through channel.
func System(ctx context.Context, channel string) context.Context {
	return With(ctx, Viewer{Username: "system", Channel: channel, System: true})
}
