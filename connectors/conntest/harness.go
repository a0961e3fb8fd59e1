package conntest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
)

// Object names one object twice: as the connector calls it and as the
// source's controls do.
type Object struct {
	Name string // connector object, e.g. "order"
	Sim  string // source object, e.g. "Order"
}

// Source is the simulated source system a connector is checked against:
// an http.Handler that speaks the vendor's wire format, and the controls
// the suite drives it with. internal/fakesource's simulators are adapted
// by conntest/fakesim; a new connector may bring a small one of its own.
type Source interface {
	http.Handler
	// SeedIDs lists the ids of object's seeded records, in seed order.
	SeedIDs(object string) []string
	// Live counts object's records that are not deleted.
	Live(object string) int
	// Create adds a record as staff would, stamped at stamp (zero: now).
	Create(object string, fields map[string]any, stamp time.Time) (string, error)
	// Edit changes a record as staff would: a new version and stamp.
	Edit(object, id string, fields map[string]any) error
	// Delete removes a record as staff would.
	Delete(object, id string) error
	// Calls counts the answered calls whose endpoint contains endpoint
	// ("" all; "token" the token endpoint) with status (0 any).
	Calls(endpoint string, status int) int
	// Throttled counts answers that throttled the caller (429, or the
	// source's own way of saying so).
	Throttled() int
	// KeyUses is how many times writes presented an idempotency key
	// containing key.
	KeyUses(key string) int
	// Throttle makes every call answer as throttled with Retry-After
	// retryAfter; 0 turns it off.
	Throttle(retryAfter time.Duration) error
	// Outage makes every call answer 503 while on.
	Outage(on bool) error
}

// SourceOptions is what a case asks of a fresh source.
type SourceOptions struct {
	// Now is the suite's clock; the source stamps records with it and
	// expires tokens by it.
	Now func() time.Time
	// TokenTTL is how long an access token lasts.
	TokenTTL time.Duration
	// VisibilityLag delays when a record becomes visible to queries
	// after its modification stamp.
	VisibilityLag time.Duration
	// WebhookURL, when set, receives the source's change notices. A
	// source that cannot sign its notices posts to WebhookURL/{secret}.
	WebhookURL string
}

// Harness tells the suite how to drive one connector.
type Harness struct {
	// Type is the connection type ("salesforce", ...).
	Type string
	// Source starts a fresh source for one case; the suite serves it on
	// an httptest server.
	Source func(t *testing.T, o SourceOptions) Source
	// Connection is the connector's settings for src served at baseURL
	// (the HTTP client's tuning is set by the suite).
	Connection func(src Source, baseURL string) connectors.Connection
	// New builds the connector. now is the suite's clock, shared with the
	// source.
	New func(deps connectors.Deps, now func() time.Time) (connectors.Connector, error)
	// Pull is the object of the pull cases; records are created and edited
	// on it through the source.
	Pull Object
	// CreateSim returns fields for a record staff create on Pull.Sim.
	CreateSim func(src Source, i int) map[string]any
	// EditSim returns fields for a staff edit of a Pull record.
	EditSim func(i int) map[string]any
	// Delete is an object whose deletions the connector reports; empty
	// Name skips the deletion case.
	Delete Object
	// Write is a writable object; Create returns its fields for a create,
	// Update fields for an update.
	Write       Object
	WriteCreate func(src Source) map[string]any
	WriteUpdate map[string]any
	// Renews says whether access tokens expire and are renewed (false for
	// static bearer tokens).
	Renews bool
}

// Start is the suite's fixed "now": after every seed record's stamp.
var Start = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// Clock is a manual clock shared by simulator and connector, and by any
// test that moves time by hand. The zero value stands at the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at at.
func NewClock(at time.Time) *Clock { return &Clock{now: at} }

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

// env is one case's world: a fresh source, its clock, the shared HTTP
// client and the connector under test.
type env struct {
	t      *testing.T
	h      Harness
	clock  *Clock
	src    Source
	srv    *httptest.Server
	cfg    httpclient.Settings
	conn   connectors.Connection
	client *httpclient.Client
	c      connectors.Connector
	creds  *MemoryCredentials
	lossy  *lossy
}

type setupOpts struct {
	src  func(*SourceOptions)
	conn func(*httpclient.Settings)
}

func setup(t *testing.T, h Harness, o setupOpts) *env {
	t.Helper()
	clock := &Clock{now: Start}
	so := SourceOptions{Now: clock.Now, TokenTTL: time.Hour}
	if o.src != nil {
		o.src(&so)
	}
	src := h.Source(t, so)
	srv := httptest.NewServer(src)
	t.Cleanup(srv.Close)
	conn := h.Connection(src, srv.URL)
	conn.Name = "conformance-" + h.Type
	// Complete client settings, tuned so that the fault cases finish
	// quickly; the client fills nothing itself.
	cfg := httpclient.Settings{
		Name:             conn.Name,
		Quota:            httpclient.Quota{WriteShare: 0.2},
		Breaker:          httpclient.Breaker{Failures: 3, OpenTimeout: 300 * time.Millisecond},
		Retry:            httpclient.Retry{Max: 3, WaitMin: 5 * time.Millisecond, WaitMax: 2 * time.Second},
		RequestTimeout:   5 * time.Second,
		MaxResponseBytes: 32 << 20,
	}
	if o.conn != nil {
		o.conn(&cfg)
	}
	l := &lossy{base: srv.Client().Transport}
	metrics, err := httpclient.NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	client, err := httpclient.New(httpclient.Options{Connection: cfg, Metrics: metrics, Transport: l})
	require.NoError(t, err)
	creds := &MemoryCredentials{}
	c, err := h.New(connectors.Deps{Connection: conn, HTTP: client, Credentials: creds}, clock.Now)
	require.NoError(t, err)
	return &env{t: t, h: h, clock: clock, src: src, srv: srv, cfg: cfg, conn: conn, client: client, c: c, creds: creds, lossy: l}
}

// pulled is everything one pull returned.
type pulled struct {
	records map[string]connectors.Record // last version seen per id
	seen    []connectors.Record
	deleted map[string]bool
	cursor  string
	pages   int
}

// pull runs one pull to its end, optionally calling between after each page.
func (e *env) pull(object, cursor string, limit int, between func(page int)) pulled {
	e.t.Helper()
	out := pulled{records: map[string]connectors.Record{}, deleted: map[string]bool{}}
	page := ""
	for {
		p, err := e.c.Pull(context.Background(), connectors.PullRequest{Object: object, Cursor: cursor, Page: page, Limit: limit})
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

func (e *env) create(i int, stamp time.Time) string {
	e.t.Helper()
	id, err := e.src.Create(e.h.Pull.Sim, e.h.CreateSim(e.src, i), stamp)
	require.NoError(e.t, err)
	return id
}

func (e *env) edit(id string, i int) {
	e.t.Helper()
	require.NoError(e.t, e.src.Edit(e.h.Pull.Sim, id, e.h.EditSim(i)))
}

func key(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// Fixture reads testdata/name of the calling package's directory: a
// recorded response or a vendor's example.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GoldenError is a recorded error answer and what a connector must make of
// it.
type GoldenError struct {
	File   string // under testdata
	Status int
	Class  error  // its class, and it is of no other
	Code   string // the source's code for it (InvalidError.Code), if any
	Detail string // what the test finds in it: a piece of the message, or the field named
}

// RequireOnlyClass fails unless err is of class and of no other of the
// connector error classes.
func RequireOnlyClass(t testing.TB, err, class error) {
	t.Helper()
	require.ErrorIs(t, err, class)
	for _, other := range []error{connectors.ErrRateLimited, connectors.ErrUnavailable, connectors.ErrAuthExpired,
		connectors.ErrConflict, connectors.ErrNotFound, connectors.ErrInvalid, connectors.ErrPermanent} {
		if !errors.Is(other, class) {
			require.False(t, errors.Is(err, other), "%v also matches %v", err, other)
		}
	}
}
