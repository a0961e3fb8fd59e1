package writeback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/proctest"
	"github.com/porticohq/portico/internal/writeback"
)

// The test binary doubles as a worker process: with childEnv set, TestMain
// runs a write-back worker against the database and simulator named in
// the environment until it is killed.
const (
	childEnv   = "PORTICO_WRITEBACK_CHILD"
	childDB    = "PORTICO_WRITEBACK_CHILD_DB"
	childCreds = "PORTICO_WRITEBACK_CHILD_CREDS"
)

func runChildWorker(ctx context.Context, logger *slog.Logger) int {
	var cr fakesource.Credentials
	if err := json.Unmarshal([]byte(os.Getenv(childCreds)), &cr); err != nil {
		logger.Error("child: credentials", "error", err)
		return 2
	}
	pool, err := pgxpool.New(ctx, os.Getenv(childDB))
	if err != nil {
		logger.Error("child: database", "error", err)
		return 2
	}
	defer pool.Close()
	st, err := buildStack(ctx, pool, cr, stackOptions{
		rescueAfter: 3 * time.Second, jobTimeout: 2 * time.Second, breakerFaults: 5, workers: 20,
	}, logger)
	if err != nil {
		logger.Error("child: stack", "error", err)
		return 2
	}
	if err := st.river.Start(ctx); err != nil {
		logger.Error("child: river", "error", err)
		return 2
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = st.river.Stop(stopCtx)
	return 0
}

// startWorker runs a worker process on the test's database and simulator.
func startWorker(t *testing.T, dbURL string, cr fakesource.Credentials) *exec.Cmd {
	t.Helper()
	creds, err := json.Marshal(cr)
	require.NoError(t, err)
	return proctest.StartChild(t, childEnv+"=1", childDB+"="+dbURL, childCreds+"="+string(creds))
}

// TestChaosEveryActionAppliedOnce is the short form of `portico bench
// writeback --chaos`: actions against a simulated CRM with 20% 5xx, 429s
// and an outage, while the worker process is killed with SIGKILL mid-run
// and another takes over. Every action must be applied exactly once (the
// simulator's record count grows by exactly the number accepted, each
// record carries its own action's key), none lost, and the cache must
// match the source. PORTICO_WRITEBACK_CHAOS_ACTIONS sets the volume.
func TestChaosEveryActionAppliedOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	t.Parallel()
	ctx := context.Background()
	total := 200
	if v := os.Getenv("PORTICO_WRITEBACK_CHAOS_ACTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		total = n
	}
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 11, Records: 500})
	cr := sim.Credentials(srv.URL)
	dbURL := dbtest.URL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	// The accepting side (an API server) only inserts jobs.
	front, err := buildStack(ctx, pool, cr, stackOptions{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	e := &env{stack: front, pool: pool, db: pool, sim: sim, creds: cr}
	chaos := fakesource.Faults{ErrorRate: 0.2, RateLimitRate: 0.05, RetryAfterSeconds: 1, LatencyMinMS: 5, LatencyMaxMS: 40}
	require.NoError(t, sim.SetFaults(fakesource.Salesforce, chaos))
	cases0 := sim.Stats().Records[fakesource.Salesforce]["Case"]

	customers := make([]customer, 20)
	for i := range customers {
		customers[i] = e.customer(t, i)
	}
	first := startWorker(t, dbURL, cr)

	var (
		mu  sync.Mutex
		ids []int64
	)
	submitted := make(chan error, 1)
	go func() {
		for i := range total {
			c := customers[i%len(customers)]
			a, _, err := front.svc.Submit(ctx, c.request(writeback.KindCreateCase, "",
				map[string]any{"subject": fmt.Sprint("chaos ", i)}, fmt.Sprint("chaos-", i)))
			if err != nil {
				submitted <- err
				return
			}
			mu.Lock()
			ids = append(ids, a.ID)
			mu.Unlock()
			time.Sleep(10 * time.Millisecond) // a steady stream, not one burst
		}
		submitted <- nil
	}()

	count := func(q string, args ...any) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, q, args...).Scan(&n))
		return n
	}
	// Kill the worker while it holds running jobs, some actions already applied.
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM action WHERE state = 'applied'`) >= total/10 &&
			count(`SELECT count(*) FROM river_job WHERE state = 'running'`) > 0
	}, 30*time.Second, time.Millisecond)
	require.NoError(t, first.Process.Kill()) // SIGKILL
	_ = first.Wait()
	orphaned := count(`SELECT count(*) FROM river_job WHERE state = 'running'`)
	t.Logf("worker killed with %d jobs running", orphaned)
	chaos.OutageSeconds = 5
	require.NoError(t, sim.SetFaults(fakesource.Salesforce, chaos))
	startWorker(t, dbURL, cr)
	require.NoError(t, <-submitted)

	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM action WHERE state = 'applied'`) == total
	}, 90*time.Second, 100*time.Millisecond, "not every action was applied: %v",
		func() string {
			rows, _ := pool.Query(ctx, `SELECT state || ':' || count(*) FROM action GROUP BY state`)
			defer rows.Close()
			var out []string
			for rows.Next() {
				var s string
				_ = rows.Scan(&s)
				out = append(out, s)
			}
			return fmt.Sprint(out)
		})
	if orphaned > 0 {
		require.Positive(t, count(`SELECT count(*) FROM river_job WHERE kind = 'writeback_apply' AND errors::text LIKE '%Stuck job rescued%'`),
			"the killed worker's jobs were rescued and run again")
	}

	// Exactly once: the source gained one case per action, each carrying
	// its own action's key; the cache holds the source's version of each.
	require.NoError(t, sim.SetFaults(fakesource.Salesforce, fakesource.Faults{}))
	require.Len(t, ids, total)
	created := sim.Stats().Records[fakesource.Salesforce]["Case"] - cases0
	conn := front.srcs.Connectors()["salesforce"]
	seen := map[string]bool{}
	for _, id := range ids {
		a, err := front.svc.Get(ctx, 1, id)
		require.NoError(t, err)
		require.False(t, seen[a.ResultID], "two actions share source record %s", a.ResultID)
		seen[a.ResultID] = true
		src, err := sim.Record(fakesource.Salesforce, "Case", a.ResultID)
		require.NoError(t, err)
		require.Equal(t, writeback.SourceKey(1, id), src["Portico_Action_Id__c"])
		rec, err := conn.Get(ctx, "Case", a.ResultID)
		require.NoError(t, err)
		data, pending := e.cachedData(t, "case", a.ResultID)
		require.Nil(t, pending)
		require.Equal(t, src["Subject"], data["fields"].(map[string]any)["subject"])
		var version string
		require.NoError(t, pool.QueryRow(ctx, `SELECT source_version FROM record WHERE object = 'case' AND source_id = $1`, a.ResultID).Scan(&version))
		require.Equal(t, rec.Version, version, "cache matches the source")
	}
	require.Zero(t, count(`SELECT count(*) FROM record WHERE source_id LIKE 'pending:%'`), "no provisional record is left")
	st := sim.Stats()
	t.Logf("accepted %d, applied %d, duplicates %d, lost %d (key replays at the source: %d)",
		total, count(`SELECT count(*) FROM action WHERE state = 'applied'`), created-total, total-len(seen), st.Duplicates)
	require.Equal(t, total, created, "one source record per action: no duplicates, none lost")
}
