package connectors

import (
	"fmt"
	"sort"
	"sync"
)

// Factory builds a connector for one configured connection. Deps carries
// the shared HTTP client and credential store the connector must use.
type Factory[D any] func(deps D) (Connector, error)

// Registry maps connection types to factories. cmd/portico builds it; no
// package registers itself.
type Registry[D any] struct {
	mu        sync.RWMutex
	factories map[string]Factory[D]
}

// NewRegistry returns an empty registry.
func NewRegistry[D any]() *Registry[D] {
	return &Registry[D]{factories: map[string]Factory[D]{}}
}

// Register adds a factory; registering a type twice is an error.
func (r *Registry[D]) Register(typ string, f Factory[D]) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.factories[typ]; ok {
		return fmt.Errorf("connectors: type %q registered twice", typ)
	}
	r.factories[typ] = f
	return nil
}

// MustRegister is Register that panics, for wiring at start-up.
func (r *Registry[D]) MustRegister(typ string, f Factory[D]) {
	if err := r.Register(typ, f); err != nil {
		panic(err)
	}
}

// New builds a connector of type typ.
func (r *Registry[D]) New(typ string, deps D) (Connector, error) {
	r.mu.RLock()
	f, ok := r.factories[typ]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("connectors: unknown type %q (known: %v)", typ, r.Types())
	}
	return f(deps)
}

// Types lists the registered types.
func (r *Registry[D]) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.factories))
	for t := range r.factories {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
