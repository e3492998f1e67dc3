package api

import (
	"context"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
)

// Services declare their API from init: the models (Declare) and the
// operations that are not a model's standard ones (Operations). Every API
// server built afterwards has them; internal/api imports no service.
var (
	declaredMu sync.Mutex
	declared   []declaration
	operations []func(*Server)
)

type declaration interface{ register(*Server) }

// Declare adds a model's standard operations to every API server.
func Declare[E any, Q modelQuery[Q, E], O, C, P any, L Lister](m Model[E, Q, O, C, P, L]) {
	declaredMu.Lock()
	defer declaredMu.Unlock()
	declared = append(declared, m)
}

// Operations adds a service's own operations (a zone import, a permission
// grant) to every API server: f registers them on s.API(), reading and
// writing through s.Store().
func Operations(f func(s *Server)) {
	declaredMu.Lock()
	defer declaredMu.Unlock()
	operations = append(operations, f)
}

// registerDeclared adds what services declared to s.
func (s *Server) registerDeclared() {
	declaredMu.Lock()
	defer declaredMu.Unlock()
	for _, d := range declared {
		d.register(s)
	}
	for _, f := range operations {
		f(s)
	}
}

// Store is the store the server reads and writes.
func (s *Server) Store() *store.Store { return s.st }

// Op declares an authenticated operation under Prefix; public ones clear
// Security. POST answers 201 and DELETE 204 unless changed.
func Op(id, method, path, summary string, tags ...string) huma.Operation {
	return op(id, method, path, summary, tags...)
}

// Fail turns an error of the store or the rules into the API's one error
// shape (problem details with field-level errors).
func Fail(ctx context.Context, err error) error { return fail(ctx, err) }

// ETag is the entity tag of an object at version.
func ETag(version int) string { return etag(version) }

// Example declares body as o's example request (see example).
func Example(o huma.Operation, body map[string]any) huma.Operation { return example(o, body) }

// BoolParam is an optional boolean query parameter ("" means not given).
type BoolParam = boolParam

// Executor is the executor of this process, for a service's operations
// that run units (503 when the server has none).
func (s *Server) Executor(ctx context.Context) (*orchestration.Executor, error) {
	return s.executor(ctx)
}
