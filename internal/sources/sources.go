// Package sources opens the configured connections: for each one the
// shared HTTP client (retries, breaker, quota) and the connector the
// registry builds for its type. It owns the per-connection health view
// (breaker state, quota left) that the syncer and the admin views read.
// It knows no vendor.
package sources

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fleet"
)

// Registry builds connectors by type.
type Registry = connectors.Registry[connectors.Deps]

// Source is one opened connection.
type Source struct {
	Config    config.ConnectionConfig
	Client    *httpclient.Client
	Connector connectors.Connector
}

// Sources are the opened connections.
type Sources struct {
	byName map[string]*Source
	floor  float64
	fleet  *fleet.Fleet
}

// Options configure Open.
type Options struct {
	// Connections are complete, as config.Load leaves them (every default
	// filled); Open fills none and refuses an incomplete one.
	Connections []config.ConnectionConfig
	Registry    *Registry
	Credentials connectors.CredentialStore
	Metrics     *httpclient.Metrics // nil: not exported
	Logger      *slog.Logger
	// Fields gives each connection, by name, the source paths its mappings
	// read per source object (mapping.Set.SourcePaths): connectors select
	// them. A connection not listed reads its connector's default fields.
	Fields map[string]map[string][]string
	// QuotaFloor is the share of the read budget below which QuotaLow
	// reports true.
	QuotaFloor float64
	// Fleet, when set, gives every connection the call budget and the
	// breaker signal all processes share; nil keeps both in this
	// process's memory (a one-off CLI check).
	Fleet *fleet.Fleet
}

// Open builds every configured connection.
func Open(ctx context.Context, opts Options) (*Sources, error) {
	s := &Sources{byName: map[string]*Source{}, floor: opts.QuotaFloor, fleet: opts.Fleet}
	creds := Fingerprinted(opts.Credentials, opts.Connections)
	for _, cfg := range opts.Connections {
		logger := opts.Logger.With(slog.String("connection", cfg.Name))
		hopts := httpclient.Options{Connection: cfg, Metrics: opts.Metrics, Logger: logger}
		if opts.Fleet != nil {
			budget, signal, err := opts.Fleet.Attach(ctx, cfg.ClientSettings())
			if err != nil {
				return nil, fmt.Errorf("sources: %s: %w", cfg.Name, err)
			}
			hopts.Budget, hopts.Signal = budget, signal
		}
		client, err := httpclient.New(hopts)
		if err != nil {
			return nil, fmt.Errorf("sources: %s: %w", cfg.Name, err)
		}
		cc := cfg.Connector()
		cc.Fields = opts.Fields[cfg.Name]
		conn, err := opts.Registry.New(cfg.Type, connectors.Deps{
			Connection: cc, HTTP: client, Credentials: creds, Logger: logger,
		})
		if err != nil {
			return nil, fmt.Errorf("sources: %s: %w", cfg.Name, err)
		}
		s.byName[cfg.Name] = &Source{Config: cfg, Client: client, Connector: conn}
	}
	return s, nil
}

// Get returns the named connection.
func (s *Sources) Get(name string) (*Source, bool) {
	src, ok := s.byName[name]
	return src, ok
}

// Names lists the connections in order.
func (s *Sources) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Connectors maps connection names to connectors.
func (s *Sources) Connectors() map[string]connectors.Connector {
	out := make(map[string]connectors.Connector, len(s.byName))
	for n, src := range s.byName {
		out[n] = src.Connector
	}
	return out
}

// QuotaLow reports whether a connection's read budget has fallen below the
// floor, in either window that has a limit.
func (s *Sources) QuotaLow(name string) bool {
	src, ok := s.byName[name]
	if !ok {
		return false
	}
	left := src.Client.Quota()
	q := src.Config.Quota
	// Reads may spend down to the write share; "low" is within the floor
	// of that line.
	low := func(remaining, limit int) bool {
		line := int(math.Round((q.WriteShare + s.floor) * float64(limit)))
		return limit > 0 && remaining >= 0 && remaining < line
	}
	return low(left.Minute, q.PerMinute) || low(left.Day, q.PerDay)
}

// BreakerOpen reports whether a connection's breaker refuses calls.
func (s *Sources) BreakerOpen(name string) bool {
	src, ok := s.byName[name]
	return ok && src.Client.Breaker() == httpclient.BreakerOpen
}

// BreakerState names a connection's breaker state.
func (s *Sources) BreakerState(name string) string {
	src, ok := s.byName[name]
	if !ok {
		return "unknown"
	}
	return src.Client.Breaker().String()
}

// BreakerTrippedBy names the process that tripped a connection's breaker
// for the fleet ("" when closed or not shared).
func (s *Sources) BreakerTrippedBy(name string) string {
	src, ok := s.byName[name]
	if !ok {
		return ""
	}
	_, by := src.Client.BreakerTrippedBy()
	return by
}

// FleetStatus is every connection's shared budget and breaker as all
// processes see them (nil without a fleet).
func (s *Sources) FleetStatus(ctx context.Context) (map[string]fleet.Status, error) {
	if s.fleet == nil {
		return nil, nil
	}
	return s.fleet.Status(ctx)
}

// QuotaRemaining is a connection's call budget left (-1: no limit known).
func (s *Sources) QuotaRemaining(name string) (minute, day int) {
	src, ok := s.byName[name]
	if !ok {
		return -1, -1
	}
	r := src.Client.Quota()
	return r.Minute, r.Day
}
