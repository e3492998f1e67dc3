//go:build testbackend

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// With ORCHESTRA_TEST_HOLD set, creating a contact named HOLD never
// commits: its request stays in flight until the process is killed, as a
// crash test needs.
func init() {
	if os.Getenv("ORCHESTRA_TEST_HOLD") == "" {
		return
	}
	store.RegisterHook("Contact", ent.OpCreate, func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if name, _ := m.Field("short_name"); name == "HOLD" {
				fmt.Fprintln(os.Stderr, "testbackend: holding the create of contact HOLD")
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return next.Mutate(ctx, m)
		})
	})
}
