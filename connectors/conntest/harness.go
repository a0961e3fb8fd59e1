package conntest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// Object names one object twice: as the connector calls it and as the
// simulator's staff helpers do.
type Object struct {
	Name string // connector object, e.g. "order"
	Sim  string // simulator object, e.g. "Order"
}

// Harness tells the suite how to drive one connector.
type Harness struct {
	// System is the simulator system: fakesource.Salesforce, Accounting or Inventory.
	System string
	// Type is the connection type ("salesforce", ...).
	Type string
	// Connection fills the connection settings from the simulator's
	// credentials (tuning knobs are set by the suite).
	Connection func(fakesource.SystemCredentials) config.ConnectionConfig
	// New builds the connector. now is the suite's clock, shared with the
	// simulator.
	New func(deps connectors.Deps, now func() time.Time) (connectors.Connector, error)
	// Pull is the object of the pull cases; records are created and edited
	// on it through the simulator.
	Pull Object
	// CreateSim returns fields for a record staff create on Pull.Sim.
	CreateSim func(sim *fakesource.Sim, i int) map[string]any
	// EditSim returns fields for a staff edit of a Pull record.
	EditSim func(i int) map[string]any
	// Delete is an object whose deletions the connector reports; empty
	// Name skips the deletion case.
	Delete Object
	// Write is a writable object; Create returns its fields for a create,
	// Update fields for an update.
	Write       Object
	WriteCreate func(sim *fakesource.Sim) map[string]any
	WriteUpdate map[string]any
	// Renews says whether access tokens expire and are renewed (false for
	// static bearer tokens).
	Renews bool
	// Records sizes the simulator (default 400).
	Records int
}

// Start is the suite's fixed "now": after every seed record's stamp.
var Start = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// Clock is a manual clock shared by simulator and connector.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// MemoryCredentials is a CredentialStore for tests that need none of the
// database's durability (internal/credentials is the real one).
type MemoryCredentials struct {
	mu    sync.Mutex
	m     map[string]connectors.Credentials
	saves atomic.Int64
}

// Load implements connectors.CredentialStore.
func (s *MemoryCredentials) Load(_ context.Context, name string) (connectors.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[name]
	if !ok {
		return c, connectors.ErrNoCredentials
	}
	return c, nil
}

// Save implements connectors.CredentialStore.
func (s *MemoryCredentials) Save(_ context.Context, name string, c connectors.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]connectors.Credentials{}
	}
	s.m[name] = c
	s.saves.Add(1)
	return nil
}

// lossy drops the answer of the next request it is armed for, after the
// source has processed it: the write happened, the caller never heard.
type lossy struct {
	base  http.RoundTripper
	armed atomic.Bool
	lost  atomic.Int64
}

func (l *lossy) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(req)
	if err == nil && req.Method != http.MethodGet && l.armed.CompareAndSwap(true, false) {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		l.lost.Add(1)
		return nil, errors.New("conntest: connection reset after the request was sent")
	}
	return resp, err
}

// env is one case's world: a fresh simulator, its clock, the shared HTTP
// client and the connector under test.
type env struct {
	t      *testing.T
	h      Harness
	clock  *Clock
	sim    *fakesource.Sim
	srv    *httptest.Server
	cfg    config.ConnectionConfig
	client *httpclient.Client
	conn   connectors.Connector
	creds  *MemoryCredentials
	lossy  *lossy
}

type setupOpts struct {
	sim  func(*fakesource.Options)
	conn func(*config.ConnectionConfig)
}

func setup(t *testing.T, h Harness, o setupOpts) *env {
	t.Helper()
	clock := &Clock{now: Start}
	so := fakesource.Options{Seed: 11, Records: 400, Now: clock.Now, TokenTTL: time.Hour}
	if h.Records > 0 {
		so.Records = h.Records
	}
	if o.sim != nil {
		o.sim(&so)
	}
	sim, srv := fakesourcetest.Start(t, so)
	var sc fakesource.SystemCredentials
	cr := sim.Credentials(srv.URL)
	switch h.System {
	case fakesource.Salesforce:
		sc = cr.Salesforce
	case fakesource.Accounting:
		sc = cr.Accounting
	default:
		sc = cr.Inventory
	}
	cfg := h.Connection(sc)
	cfg.Name, cfg.Type = "conformance-"+h.Type, h.Type
	cfg.Retry = config.RetryConfig{Max: 3, WaitMin: 5 * time.Millisecond, WaitMax: 2 * time.Second}
	cfg.Breaker = config.BreakerConfig{Failures: 3, OpenTimeout: 300 * time.Millisecond}
	cfg.RequestTimeout = 5 * time.Second
	if o.conn != nil {
		o.conn(&cfg)
	}
	l := &lossy{base: srv.Client().Transport}
	metrics, err := httpclient.NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	client, err := httpclient.New(httpclient.Options{Connection: cfg, Metrics: metrics, Transport: l})
	require.NoError(t, err)
	creds := &MemoryCredentials{}
	conn, err := h.New(connectors.Deps{Connection: cfg.Connector(), HTTP: client, Credentials: creds}, clock.Now)
	require.NoError(t, err)
	return &env{t: t, h: h, clock: clock, sim: sim, srv: srv, cfg: cfg, client: client, conn: conn, creds: creds, lossy: l}
}

// pulled is everything one pull returned.
type pulled struct {
	records  map[string]connectors.Record // last version seen per id
	seen     []connectors.Record
	deleted  map[string]bool
	cursor   string
	pages    int
	maxStamp time.Time
}

// pull runs one pull to its end, optionally calling between after each page.
func (e *env) pull(object, cursor string, limit int, between func(page int)) pulled {
	e.t.Helper()
	out := pulled{records: map[string]connectors.Record{}, deleted: map[string]bool{}}
	page := ""
	for {
		p, err := e.conn.Pull(context.Background(), connectors.PullRequest{Object: object, Cursor: cursor, Page: page, Limit: limit})
		require.NoError(e.t, err, "page %d", out.pages)
		out.pages++
		for _, r := range p.Records {
			require.Equal(e.t, object, r.Object)
			require.NotEmpty(e.t, r.ID)
			require.NotEmpty(e.t, r.Version, "record %s has a version", r.ID)
			require.False(e.t, r.Modified.IsZero(), "record %s has a stamp", r.ID)
			require.True(e.t, json.Valid(r.Raw), "record %s raw is one JSON value", r.ID)
			require.Contains(e.t, string(r.Raw), strings.SplitN(r.ID, ":", 2)[0], "record %s raw is its own", r.ID)
			out.records[r.ID] = r
			out.seen = append(out.seen, r)
		}
		for _, d := range p.Deleted {
			out.deleted[d.ID] = true
		}
		out.cursor = p.Cursor
		if p.Next == "" {
			return out
		}
		require.Less(e.t, out.pages, 10000, "a pull must end")
		if between != nil {
			between(out.pages)
		}
		page = p.Next
	}
}

// simIDs lists the simulator's seed ids of object.
func (e *env) simIDs(object string) []string {
	var ids []string
	for i := 0; ; i++ {
		id, err := e.sim.SeedID(e.h.System, object, i)
		if err != nil {
			require.ErrorIs(e.t, err, fakesource.ErrNotFound)
			return ids
		}
		ids = append(ids, id)
	}
}

func (e *env) liveCount(object string) int {
	return e.sim.Stats().Records[e.h.System][object]
}

func (e *env) create(i int, opts ...fakesource.CreateOption) string {
	e.t.Helper()
	id, err := e.sim.CreateRecord(e.h.System, e.h.Pull.Sim, e.h.CreateSim(e.sim, i), opts...)
	require.NoError(e.t, err)
	return id
}

func (e *env) edit(id string, i int) {
	e.t.Helper()
	require.NoError(e.t, e.sim.StaffEdit(e.h.System, e.h.Pull.Sim, id, e.h.EditSim(i)))
}

func (e *env) calls(endpoint string, status int) int {
	return e.sim.Stats().CallCount(e.h.System, endpoint, status)
}

func key(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}
