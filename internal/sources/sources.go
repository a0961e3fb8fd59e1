// Package sources opens the configured connections: for each one the
// shared HTTP client (retries, breaker, quota) and the connector the
// registry builds for its type. It owns the per-connection health view
// (breaker state, quota left) that the syncer and the admin views read.
// It knows no vendor.
package sources

import (
	"fmt"
	"log/slog"
	"math"
	"sort"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/config"
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
}

// Open builds every configured connection.
func Open(opts Options) (*Sources, error) {
	s := &Sources{byName: map[string]*Source{}, floor: opts.QuotaFloor}
	creds := opts.Credentials
	if creds != nil {
		fp := &fingerprinted{inner: creds, fps: map[string]string{}}
		for _, cfg := range opts.Connections {
			fp.fps[cfg.Name] = fingerprint(cfg)
		}
		creds = fp
	}
	for _, cfg := range opts.Connections {
		logger := opts.Logger.With(slog.String("connection", cfg.Name))
		client, err := httpclient.New(httpclient.Options{Connection: cfg, Metrics: opts.Metrics, Logger: logger})
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

// QuotaRemaining is a connection's call budget left (-1: no limit known).
func (s *Sources) QuotaRemaining(name string) (minute, day int) {
	src, ok := s.byName[name]
	if !ok {
		return -1, -1
	}
	r := src.Client.Quota()
	return r.Minute, r.Day
}
