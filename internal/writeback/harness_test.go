package writeback_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/proctest"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/internal/writeback"
	"github.com/porticohq/portico/mappings"
)

func TestMain(m *testing.M) {
	proctest.Child(childEnv, runChildWorker)
	dbtest.Main(m)
}

// switchHealth is a breaker the test opens and closes.
type switchHealth struct{ open atomic.Bool }

func (h *switchHealth) BreakerOpen(string) bool { return h.open.Load() }

// stackOptions shape one process's write-back stack.
type stackOptions struct {
	health        writeback.Health
	rescueAfter   time.Duration
	jobTimeout    time.Duration
	workers       int
	retryMax      int
	breakerFaults int
	metrics       *writeback.Metrics
	authWait      time.Duration
	// wrap, if set, stands between the service and each connector.
	wrap func(connectors.Connector) connectors.Connector
	// creds, if set, changes the simulator's credentials the stack uses.
	creds func(*fakesource.Credentials)
}

// stack is the write-back of one process: connectors over the simulated
// CRM, the service and a working River client.
type stack struct {
	svc   *writeback.Service
	files *files.Service
	river *river.Client[pgx.Tx]
	srcs  *sources.Sources
	set   *mapping.Set
}

func buildStack(ctx context.Context, pool *pgxpool.Pool, creds fakesource.Credentials, o stackOptions, logger *slog.Logger) (*stack, error) {
	var st *stack
	st, err := buildService(pool, creds, o, logger, func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
		return st.river.InsertTx(ctx, tx, args, opts)
	})
	if err != nil {
		return nil, err
	}
	jreg := jobs.NewRegistry()
	writeback.Register(jreg, st.svc)
	rc := config.Default().River
	rc.FetchPollInterval = 50 * time.Millisecond
	rc.FetchCooldown = 10 * time.Millisecond
	if o.workers > 0 {
		rc.WritebackWorkers = o.workers
	}
	if o.rescueAfter > 0 {
		rc.RescueStuckJobsAfter = o.rescueAfter
	}
	st.river, err = jobs.NewClient(pool, rc, jreg, jobs.Work, logger)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// buildService builds the write-back service on db with connectors over
// the simulated sources; insert inserts its jobs.
func buildService(db writeback.DB, creds fakesource.Credentials, o stackOptions, logger *slog.Logger, insert writeback.InsertFunc) (*stack, error) {
	if o.creds != nil {
		o.creds(&creds)
	}
	cr := creds.Salesforce
	if o.retryMax == 0 {
		o.retryMax = 2
	}
	if o.breakerFaults == 0 {
		o.breakerFaults = 1000
	}
	conn := config.ConnectionConfig{
		Name: "salesforce", Type: "salesforce", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
		ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken,
		Breaker:        config.BreakerConfig{Failures: o.breakerFaults, OpenTimeout: 500 * time.Millisecond},
		Retry:          config.RetryConfig{Max: o.retryMax, WaitMin: 5 * time.Millisecond, WaitMax: 50 * time.Millisecond},
		RequestTimeout: 5 * time.Second,
	}
	inv := creds.Inventory
	invConn := config.ConnectionConfig{
		Name: "inventory", Type: "inventory", BaseURL: inv.BaseURL, TokenURL: inv.TokenURL,
		ClientID: inv.ClientID, ClientSecret: inv.ClientSecret, RefreshToken: inv.RefreshToken, AccessToken: inv.AccessToken,
		Breaker: conn.Breaker, Retry: conn.Retry, RequestTimeout: conn.RequestTimeout,
	}
	acc := creds.Accounting
	accConn := config.ConnectionConfig{
		Name: "accounting", Type: "accounting", BaseURL: acc.BaseURL, TokenURL: acc.TokenURL,
		ClientID: acc.ClientID, ClientSecret: acc.ClientSecret, RefreshToken: acc.RefreshToken, Realm: acc.Realm,
		Breaker: conn.Breaker, Retry: conn.Retry, RequestTimeout: conn.RequestTimeout,
	}
	srcs, err := sources.Open(context.Background(), sources.Options{
		Connections: []config.ConnectionConfig{config.DefaultConnection(conn), config.DefaultConnection(invConn), config.DefaultConnection(accConn)}, Registry: builtin.Registry(),
		Credentials: &conntest.MemoryCredentials{}, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	set, err := mapping.Load(mappings.FS())
	if err != nil {
		return nil, err
	}
	st := &stack{srcs: srcs, set: set}
	health := o.health
	if health == nil {
		health = srcs
	}
	conns := srcs.Connectors()
	if o.wrap != nil {
		for name, c := range conns {
			conns[name] = o.wrap(c)
		}
	}
	st.files = files.New(files.Options{Pool: db})
	st.svc = writeback.New(writeback.Options{
		Pool: db, Mappings: set, Connectors: conns, Health: health, Logger: logger, Files: st.files,
		MaxWait: 2 * time.Second, OrderWait: 20 * time.Millisecond, JobTimeout: o.jobTimeout,
		Metrics: o.metrics, AuthWait: o.authWait, Insert: insert,
	})
	return st, nil
}

// env is one test's database, simulator and running stack.
type env struct {
	*stack
	pool *pgxpool.Pool
	// db is where the test reads what the service wrote: the pool, or the
	// transaction a worker test runs in.
	db     writeback.DB
	sim    *fakesource.Sim
	creds  fakesource.Credentials
	health *switchHealth
}

func newEnv(t *testing.T, o stackOptions) *env {
	t.Helper()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 5, Records: 500})
	pool := dbtest.Pool(t)
	e := &env{pool: pool, db: pool, sim: sim, creds: sim.Credentials(srv.URL), health: &switchHealth{}}
	if o.health == nil {
		o.health = e.health
	}
	st, err := buildStack(context.Background(), pool, e.creds, o, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	e.stack = st
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, st.river.Start(ctx))
	t.Cleanup(func() {
		cancel()
		stopCtx, c2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer c2()
		_ = st.river.Stop(stopCtx)
	})
	return e
}

// customer is a portal user of the account that owns contact 0.
type customer struct {
	userID, account, contact string
}

func (e *env) customer(t *testing.T, i int) customer {
	t.Helper()
	id, err := e.sim.SeedID(fakesource.Salesforce, "Contact", i)
	require.NoError(t, err)
	rec, err := e.sim.Record(fakesource.Salesforce, "Contact", id)
	require.NoError(t, err)
	return customer{userID: "user-" + id, account: rec["AccountId"].(string), contact: id}
}

// caseCustomer is a user of the account that owns seeded case i.
func (e *env) caseCustomer(t *testing.T, i int) (customer, string) {
	t.Helper()
	for ; ; i++ {
		id, err := e.sim.SeedID(fakesource.Salesforce, "Case", i)
		require.NoError(t, err)
		rec, err := e.sim.Record(fakesource.Salesforce, "Case", id)
		require.NoError(t, err)
		acc, _ := rec["AccountId"].(string)
		con, _ := rec["ContactId"].(string)
		if acc != "" && con != "" {
			return customer{userID: "user-" + con, account: acc, contact: con}, id
		}
	}
}

func (c customer) request(kind writeback.Kind, target string, input map[string]any, key string) writeback.Request {
	return writeback.Request{
		Scope:  access.Scope{TenantID: 1, Accounts: []string{c.account}, Contact: c.contact, Roles: []string{mapping.RoleAccountAdmin}},
		UserID: c.userID, AccountID: c.account, ContactID: c.contact,
		Kind: kind, Target: target, Input: input, IdempotencyKey: key,
	}
}

// cache pulls one source record into the cache, as a sync would.
func (e *env) cache(t *testing.T, object, id string) {
	t.Helper()
	e.cacheFrom(t, "salesforce", object, id)
}

func (e *env) cacheFrom(t *testing.T, connection, object, id string) {
	t.Helper()
	s := syncer.New(syncer.Options{Pool: e.pool, TenantID: 1, Connectors: e.srcs.Connectors(), Mappings: e.set})
	require.NoError(t, s.Refresh(context.Background(), connection, object, id))
}

// waitState polls until the action reaches state.
func (e *env) waitState(t *testing.T, id int64, state string, within time.Duration) *writeback.Action {
	t.Helper()
	var a *writeback.Action
	require.Eventually(t, func() bool {
		var err error
		a, err = e.svc.Get(context.Background(), 1, id)
		require.NoError(t, err)
		return a.State == state
	}, within, 10*time.Millisecond, "action %d never reached %s", id, state)
	return a
}

func (e *env) cachedData(t *testing.T, object, id string) (data map[string]any, pending *int64) {
	t.Helper()
	var raw []byte
	err := e.db.QueryRow(context.Background(),
		`SELECT data, pending_action_id FROM record WHERE object = $1 AND source_id = $2`, object, id).Scan(&raw, &pending)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &data))
	return data, pending
}

// requireTitle checks that the source's contact and its cached record both
// hold title, and that no action is pending on the record.
func (e *env) requireTitle(t *testing.T, contact, title string) {
	t.Helper()
	src, err := e.sim.Record(fakesource.Salesforce, "Contact", contact)
	require.NoError(t, err)
	require.Equal(t, title, src["Title"])
	data, pending := e.cachedData(t, "contact", contact)
	require.Equal(t, title, data["fields"].(map[string]any)["title"])
	require.Nil(t, pending)
}
