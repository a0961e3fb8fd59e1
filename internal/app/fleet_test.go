package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/app/apptest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/auth/authtest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/proctest"
	"github.com/porticohq/portico/mappings"
)

// The test binary doubles as a `portico worker` process: with workerEnv
// set, TestMain opens the app in worker mode on the database and the
// simulated Salesforce named there, and runs it until SIGTERM.
const workerEnv = "PORTICO_APP_TEST_WORKER"

type workerSpec struct {
	DatabaseURL string                       `json:"database_url"`
	Creds       fakesource.SystemCredentials `json:"creds"`
	// SoftStop overrides river.soft_stop_timeout when set.
	SoftStop time.Duration `json:"soft_stop,omitempty"`
	// Serve runs `portico serve` on Addr instead of a worker.
	Serve bool   `json:"serve,omitempty"`
	Addr  string `json:"addr,omitempty"`
}

// fleetConfig is the configuration every process of the fleet test runs
// with: syncs every 300 ms, a breaker that opens after 3 failures for 3 s.
func fleetConfig(spec workerSpec) *config.Config {
	cfg := config.Default()
	cfg.DatabaseURL = spec.DatabaseURL
	cfg.Admin.Token = "test-admin-token-0123456789"
	cfg.Secrets.EncryptionKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	cfg.Sync.Interval = 300 * time.Millisecond
	cr := spec.Creds
	conn := config.DefaultConnection(config.ConnectionConfig{
		Name: "salesforce", Type: "salesforce", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
		ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken, Realm: cr.Realm,
	})
	conn.Breaker = config.BreakerConfig{Failures: 3, OpenTimeout: 3 * time.Second}
	conn.Retry = config.RetryConfig{Max: 1, WaitMin: 10 * time.Millisecond, WaitMax: 50 * time.Millisecond}
	cfg.Connections = []config.ConnectionConfig{conn}
	if spec.SoftStop > 0 {
		cfg.River.SoftStopTimeout = spec.SoftStop
	}
	if spec.Addr != "" {
		cfg.HTTP.Addr = spec.Addr
		cfg.HTTP.PublicURL = "http://" + spec.Addr
	}
	return &cfg
}

func runWorkerChild(ctx context.Context, logger *slog.Logger) int {
	var spec workerSpec
	if err := json.Unmarshal([]byte(os.Getenv(workerEnv)), &spec); err != nil {
		logger.Error("worker child: spec", "error", err)
		return 2
	}
	return apptest.Run(ctx, fleetConfig(spec), logger, app.Mode{Work: !spec.Serve, Serve: spec.Serve})
}

func startWorkerProcess(t *testing.T, spec workerSpec) *exec.Cmd {
	t.Helper()
	b, err := json.Marshal(spec)
	require.NoError(t, err)
	return proctest.StartChild(t, workerEnv+"="+string(b))
}

// TestWorkerProcessesShareTheBreakerAndBudget runs two real worker
// processes over one database and a simulated Salesforce. When the source
// goes down, the process whose breaker opens first stops both: while the
// fleet's breaker is open no process calls the source, and each half-open
// round sends one probe for the whole fleet, not one per process. When the
// source is back the breaker closes for both and syncs succeed again; one
// API process's /admin/sync shows what the whole fleet spent and who
// tripped the breaker.
func TestWorkerProcessesShareTheBreakerAndBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	t.Parallel()
	ctx := context.Background()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 4, Records: 200})
	spec := workerSpec{DatabaseURL: dbtest.URL(t), Creds: sim.Credentials(srv.URL).Salesforce}
	pool, err := pgxpool.New(ctx, spec.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	pids := map[string]bool{}
	for range 2 {
		cmd := startWorkerProcess(t, spec)
		pids[strconv.Itoa(cmd.Process.Pid)] = true
	}
	calls := func() int { return sim.Stats().CallCount(fakesource.Salesforce, "", 0) }
	succeeded := func(after time.Time) bool {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM sync_run WHERE state = 'succeeded' AND started_at > $1`, after).Scan(&n))
		return n > 0
	}
	require.Eventually(t, func() bool { return succeeded(time.Time{}) }, 60*time.Second, 50*time.Millisecond, "the workers sync")

	// The source goes down.
	require.NoError(t, sim.SetFaults(fakesource.Salesforce, fakesource.Faults{OutageSeconds: 3600}))
	var trippedBy string
	var trippedAt, openUntil time.Time
	require.Eventually(t, func() bool {
		err := pool.QueryRow(ctx, `SELECT coalesce(tripped_by, ''), coalesce(tripped_at, now()), coalesce(open_until, now()) FROM source_breaker WHERE connection = 'salesforce' AND state = 'open'`).
			Scan(&trippedBy, &trippedAt, &openUntil)
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "a worker's breaker opens for the fleet")
	_, pid, _ := strings.Cut(trippedBy, ":")
	require.True(t, pids[pid], "tripped by one of the worker processes, not %q", trippedBy)

	// While it is open, nobody calls: the other process heard of the trip
	// (calls already in flight at the trip land within its first 500 ms).
	waitUntil(t, trippedAt.Add(500*time.Millisecond))
	before := calls()
	waitUntil(t, openUntil.Add(-200*time.Millisecond))
	require.Equal(t, before, calls(), "no process calls the source while the fleet's breaker is open")

	// Half-open: the first sync job to wake (they snoozed on the open
	// breaker) sends the one probe for the fleet; it fails, and the breaker
	// opens again for everyone, so nothing else is sent within the open
	// time (two processes probing on their own would send one each).
	require.Eventually(t, func() bool { return calls() > before }, 60*time.Second, 5*time.Millisecond, "a probe goes out once the open time is up")
	probeAt := time.Now()
	waitUntil(t, probeAt.Add(2500*time.Millisecond))
	require.Equal(t, before+1, calls(), "one probe across the fleet, then the breaker is open again")

	// The source is back: the next probe closes the breaker for everyone.
	require.NoError(t, sim.SetFaults(fakesource.Salesforce, fakesource.Faults{}))
	back := time.Now()
	require.Eventually(t, func() bool {
		var state string
		require.NoError(t, pool.QueryRow(ctx, `SELECT state FROM source_breaker WHERE connection = 'salesforce'`).Scan(&state))
		return state == "closed" && succeeded(back)
	}, 30*time.Second, 50*time.Millisecond, "the breaker closes and syncs succeed again")

	// One API process shows the fleet's view.
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	a, err := app.Open(ctx, fleetConfig(spec), slog.New(slog.DiscardHandler), app.Mode{Serve: true}, app.Deps{Connectors: builtin.Registry(), Mappings: set})
	require.NoError(t, err)
	h, err := a.Handler(ctx)
	require.NoError(t, err)
	api := httptest.NewServer(h)
	t.Cleanup(func() { api.Close(); a.Close() })
	get := func(path string) string {
		req, err := http.NewRequest(http.MethodGet, api.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer test-admin-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		return string(b)
	}
	var status struct {
		Connections []struct {
			Connection string `json:"connection"`
			Breaker    string `json:"breaker"`
			Fleet      *struct {
				Spent      int64  `json:"spent"`
				SourceUsed int    `json:"source_used"`
				SourceMax  int    `json:"source_max"`
				Breaker    string `json:"breaker"`
			} `json:"fleet"`
		} `json:"connections"`
	}
	require.NoError(t, json.Unmarshal([]byte(get("/admin/sync")), &status))
	require.Len(t, status.Connections, 1)
	f := status.Connections[0].Fleet
	require.NotNil(t, f)
	require.Equal(t, "closed", f.Breaker)
	require.Positive(t, f.Spent, "the calls of both workers, counted by this process that made none")
	require.Equal(t, 100000, f.SourceMax, "the simulator's Sforce-Limit-Info reached the shared budget")
	metrics := get("/metrics")
	require.Contains(t, metrics, `portico_fleet_quota_spent{connection="salesforce"}`)
	require.Contains(t, metrics, `portico_fleet_breaker_state{connection="salesforce",tripped_by=""} 0`)
}

// TestWorkerDrainsOnSIGTERM: a real worker process told to stop (SIGTERM)
// while its sync jobs wait on a slow source stops fetching, gives its
// running jobs river.soft_stop_timeout to finish, cancels the rest, which
// River hands back (retryable, to run again on any worker), and exits 0
// within that timeout plus River's 10 s hard stop. No job is left running
// in the database, so none waits for River's rescue.
func TestWorkerDrainsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a worker process")
	}
	t.Parallel()
	ctx := context.Background()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 4, Records: 200})
	require.NoError(t, sim.SetFaults(fakesource.Salesforce, fakesource.Faults{LatencyMinMS: 3000, LatencyMaxMS: 3000}))
	spec := workerSpec{DatabaseURL: dbtest.URL(t), Creds: sim.Credentials(srv.URL).Salesforce, SoftStop: 500 * time.Millisecond}
	pool, err := pgxpool.New(ctx, spec.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	cmd := startWorkerProcess(t, spec)
	running := func() int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'running'`).Scan(&n))
		return n
	}
	require.Eventually(t, func() bool { return running() > 0 }, 60*time.Second, 20*time.Millisecond, "sync jobs run, waiting on the slow source")

	stopped := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		require.NoError(t, err, "exit 0")
	case <-time.After(500*time.Millisecond + 10*time.Second + 5*time.Second):
		t.Fatal("the worker did not stop within soft_stop_timeout + River's hard stop")
	}
	require.Less(t, time.Since(stopped), 12*time.Second)
	require.Zero(t, running(), "no job left running: finished or handed back")
	var handedBack int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state IN ('retryable', 'available') AND kind IN ('sync', 'sync_poll') AND attempt > 0`).Scan(&handedBack))
	require.Positive(t, handedBack, "the cancelled jobs wait to run again")
}

// TestServeDrainsOnSIGTERM: a real `serve` process told to stop (SIGTERM)
// with a live-update stream open closes the stream at once, after having
// told the browser to reconnect in 5 s (retry: 5000), stops accepting
// connections, and exits 0 well within http.shutdown_timeout.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a serve process")
	}
	t.Parallel()
	ctx := context.Background()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 4, Records: 50})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	spec := workerSpec{DatabaseURL: dbtest.URL(t), Creds: sim.Credentials(srv.URL).Salesforce, Serve: true, Addr: addr}
	pool, err := pgxpool.New(ctx, spec.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = auth.CreateUser(ctx, pool, auth.NewUser{Email: "ops@portico.test", Password: authtest.Password, Staff: true, Roles: []string{"operator_admin"}})
	require.NoError(t, err)
	cmd := startWorkerProcess(t, spec)
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "serve is ready")

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar}
	login, err := client.Post(base+"/auth/login", "application/json",
		strings.NewReader(`{"email":"ops@portico.test","password":"`+authtest.Password+`"}`))
	require.NoError(t, err)
	login.Body.Close()
	require.Equal(t, http.StatusOK, login.StatusCode)
	stream, err := client.Get(base + "/events")
	require.NoError(t, err)
	defer stream.Body.Close()
	require.Equal(t, http.StatusOK, stream.StatusCode)
	lines := bufio.NewReader(stream.Body)
	first, err := lines.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "retry: 5000\n", first, "the stream tells the browser when to reconnect")

	stopped := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, lines); ended <- err }()
	select {
	case err := <-ended:
		_ = err // the stream ends, at EOF or cut: either way it is closed
	case <-time.After(10 * time.Second):
		t.Fatal("the live stream stayed open after SIGTERM")
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		require.NoError(t, err, "exit 0")
	case <-time.After(25 * time.Second):
		t.Fatal("serve did not exit within http.shutdown_timeout")
	}
	require.Less(t, time.Since(stopped), 20*time.Second, "the open stream does not hold the shutdown to its timeout")
	resp, err := http.Get(base + "/readyz")
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "no longer accepting connections")
}

// waitUntil waits for the wall clock to pass t.
func waitUntil(t *testing.T, at time.Time) {
	t.Helper()
	if d := time.Until(at); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		<-timer.C
	}
}
