package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/writeback"
)

// herokuConnectBatch is the reference: Heroku Connect writes back in
// batches every 10 s, so an action waits 5 s on average, up to 10 s.
const herokuConnectBatch = 10 * time.Second

// benchWritebackCmd measures customer actions end to end against the
// simulated CRM: accept-to-applied latency at a steady rate (next to a
// bare connector write measured in the same run, and to Heroku Connect's
// 10 s batch), or, with --chaos, exactly-once delivery through faults, an
// outage and a worker process killed with SIGKILL.
func (c *cli) benchWritebackCmd() *cobra.Command {
	var (
		rate             int
		duration, outage time.Duration
		chaos            bool
		actions          int
		workerDB         string
		workerCreds      string
		poolConns        int
	)
	cmd := &cobra.Command{
		Use:   "writeback",
		Short: "Accept-to-applied latency of customer actions (p50, p99) vs Heroku Connect's 10 s batch; --chaos: exactly once through faults and a killed worker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workerDB != "" {
				return c.benchWritebackWorker(cmd.Context(), workerDB, workerCreds)
			}
			if rate < 1 || rate > 1000 || duration <= 0 || actions < 1 || outage < 0 || poolConns < 0 {
				return usageErr("--rate must be 1..1000, --duration and --actions positive, --outage and --pool-max-conns not negative")
			}
			_, url, closeDB, err := c.benchDatabase(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			var figures map[string]any
			if chaos {
				figures, err = c.benchWritebackChaos(cmd.Context(), url, actions, rate, outage)
			} else {
				figures, err = c.benchWritebackLatency(cmd.Context(), url, rate, duration, poolConns)
			}
			if err != nil {
				return failed(err)
			}
			if err := benchResult(c.stdout, figures); err != nil {
				return err
			}
			if ok, _ := figures["exactly_once"].(bool); chaos && !ok {
				return failed(errors.New("write-back chaos: not every action was applied exactly once"))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&rate, "rate", 100, "actions accepted per second")
	cmd.Flags().DurationVar(&duration, "duration", 60*time.Second, "how long to accept actions (latency run)")
	cmd.Flags().BoolVar(&chaos, "chaos", false, "run the chaos check instead: faults, an outage, a worker killed with SIGKILL")
	cmd.Flags().IntVar(&actions, "actions", 2000, "actions in the chaos run")
	cmd.Flags().DurationVar(&outage, "outage", 30*time.Second, "source outage in the chaos run")
	cmd.Flags().IntVar(&poolConns, "pool-max-conns", 24, "database connections of the latency run's process (0: the driver's default, max(4, CPUs))")
	cmd.Flags().StringVar(&workerDB, "worker-db", "", "internal: run as the chaos run's worker process on this database")
	cmd.Flags().StringVar(&workerCreds, "worker-creds", "", "internal: the simulator's credentials for --worker-db")
	_ = cmd.Flags().MarkHidden("worker-db")
	_ = cmd.Flags().MarkHidden("worker-creds")
	return cmd
}

// benchCustomer is a portal user of a seeded account.
type benchCustomer struct{ user, account, contact string }

func benchCustomers(sim *fakesource.Sim, n int) ([]benchCustomer, error) {
	out := make([]benchCustomer, 0, n)
	for i := range n {
		id, err := sim.SeedID(fakesource.Salesforce, "Contact", i)
		if err != nil {
			return nil, err
		}
		rec, err := sim.Record(fakesource.Salesforce, "Contact", id)
		if err != nil {
			return nil, err
		}
		acc, _ := rec["AccountId"].(string)
		out = append(out, benchCustomer{user: "bench-" + id, account: acc, contact: id})
	}
	return out, nil
}

func (b benchCustomer) createCase(tenant int64, subject, key string) writeback.Request {
	return writeback.Request{
		Scope:  access.Scope{TenantID: tenant, Accounts: []string{b.account}, Contact: b.contact, Roles: []string{mapping.RoleMember}},
		UserID: b.user, AccountID: b.account, ContactID: b.contact, Kind: writeback.KindCreateCase,
		Input: map[string]any{"subject": subject}, IdempotencyKey: key,
	}
}

// submitAt accepts n actions at rate per second, concurrently as an API
// would, and returns their ids.
func submitAt(ctx context.Context, svc *writeback.Service, tenant int64, customers []benchCustomer, n, rate int, tag string) ([]int64, error) {
	var (
		mu   sync.Mutex
		ids  []int64
		errs []error
		wg   sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cu := customers[i%len(customers)]
			a, _, err := svc.Submit(ctx, cu.createCase(tenant, fmt.Sprintf("%s %d", tag, i), fmt.Sprintf("%s-%d", tag, i)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids = append(ids, a.ID)
		}()
	}
	wg.Wait()
	return ids, errors.Join(errs...)
}

// waitReasons summarises why open actions wait, for progress lines.
func waitReasons(ctx context.Context, pool *pgxpool.Pool) string {
	rows, err := pool.Query(ctx, `SELECT state || ' ' || coalesce(left(error_detail, 60), '-') || ': ' || count(*)
		FROM action WHERE state IN ('pending', 'sending') GROUP BY state, left(error_detail, 60) ORDER BY count(*) DESC LIMIT 3`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if rows.Scan(&s) == nil {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

func countActions(ctx context.Context, pool *pgxpool.Pool, state string) int {
	var n int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM action WHERE state = $1`, state).Scan(&n)
	return n
}

func (c *cli) benchWritebackLatency(ctx context.Context, dbURL string, rate int, duration time.Duration, poolConns int) (map[string]any, error) {
	if poolConns > 0 {
		// pgx's default pool is max(4, CPUs) connections, fewer than the
		// River workers sharing it; at 100 actions/s that queue, not the
		// write-back, dominates the tail. Production sets it in the URL too.
		sep := "?"
		if strings.Contains(dbURL, "?") {
			sep = "&"
		}
		dbURL += fmt.Sprintf("%spool_max_conns=%d", sep, poolConns)
		fmt.Fprintf(c.stdout, "database pool: %d connections (pool_max_conns)\n", poolConns)
	}
	st, err := c.startBenchStack(ctx, dbURL, fakesource.Options{Seed: 3, Records: 500}, func(cfg *config.Config) {
		cfg.Connections = cfg.Connections[:1] // the CRM alone: no sync of the others competes
		cfg.Sync.Interval = time.Hour
	})
	if err != nil {
		return nil, err
	}
	defer st.stop()
	a := st.app
	pool := a.Pool()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := a.River().Start(runCtx); err != nil {
		return nil, err
	}
	go a.Sealer().Run(runCtx) // as a running process does: sealing is part of the load
	defer func() {
		stopCtx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = a.River().Stop(stopCtx)
	}()
	customers, err := benchCustomers(st.sim, 50)
	if err != nil {
		return nil, err
	}

	// Baseline: the same create as a bare connector call, no queue, no
	// database: what the source alone costs.
	conn := a.Sources().Connectors()[fakesource.Salesforce]
	bare := func(n int, tag string) ([]time.Duration, error) {
		var raw []time.Duration
		for i := range n {
			cu := customers[i%len(customers)]
			t0 := time.Now()
			_, err := conn.Write(ctx, connectors.Write{
				Op: connectors.OpCreate, Object: "Case", IdempotencyKey: fmt.Sprint("bench-", tag, "-", i),
				Fields: map[string]any{"Subject": fmt.Sprint(tag, " ", i), "AccountId": cu.account, "ContactId": cu.contact, "Origin": "Web", "Status": "New", "Priority": "Medium"},
			})
			if err != nil {
				return nil, fmt.Errorf("baseline write: %w", err)
			}
			raw = append(raw, time.Since(t0))
		}
		slices.Sort(raw)
		return raw, nil
	}
	raw, err := bare(200, "raw")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stdout, "baseline: a bare connector create (write + read-back): p50 %.1f ms, p99 %.1f ms\n", ms(percentile(raw, .5)), ms(percentile(raw, .99)))

	n := rate * int(duration/time.Second)
	fmt.Fprintf(c.stdout, "accepting %d actions at %d/s for %s\n", n, rate, duration)
	start := time.Now()
	ids, err := submitAt(ctx, a.Actions(), a.TenantID(), customers, n, rate, "latency")
	if err != nil {
		return nil, err
	}
	accepted := time.Since(start)
	if err := waitFor(ctx, 2*time.Minute, func() bool { return countActions(ctx, pool, writeback.StateApplied) >= len(ids) }); err != nil {
		return nil, fmt.Errorf("waiting for %d actions to apply (%d applied): %w", len(ids), countActions(ctx, pool, writeback.StateApplied), err)
	}
	rows, err := pool.Query(ctx, `SELECT applied_at - created_at FROM action WHERE state = 'applied' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	var lat []time.Duration
	for rows.Next() {
		var d time.Duration
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return nil, err
		}
		lat = append(lat, d)
	}
	rows.Close()
	if brows, err := pool.Query(ctx, `SELECT floor(extract(epoch FROM created_at - min(created_at) OVER ()) / 5)::int AS b,
		applied_at - created_at FROM action WHERE state = 'applied'`); err == nil {
		worst := map[int]time.Duration{}
		for brows.Next() {
			var b int
			var d time.Duration
			if brows.Scan(&b, &d) == nil && d > worst[b] {
				worst[b] = d
			}
		}
		brows.Close()
		keys := slices.Sorted(maps.Keys(worst))
		line := []string{}
		for _, k := range keys {
			line = append(line, fmt.Sprintf("%ds:%.0fms", k*5, ms(worst[k])))
		}
		fmt.Fprintf(c.stdout, "slowest action per 5 s of the run: %s\n", strings.Join(line, " "))
	}
	if after, err := bare(100, "after"); err == nil {
		fmt.Fprintf(c.stdout, "bare connector create after the run: p50 %.1f ms, p99 %.1f ms\n", ms(percentile(after, .5)), ms(percentile(after, .99)))
	}
	var snoozed, retried int
	_ = pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE coalesce((metadata->>'snoozes')::int, 0) > 0),
		count(*) FILTER (WHERE coalesce(array_length(errors, 1), 0) > 0) FROM river_job WHERE kind = 'writeback_apply'`).Scan(&snoozed, &retried)
	fmt.Fprintf(c.stdout, "jobs snoozed at least once: %d; jobs with a failed attempt: %d\n", snoozed, retried)
	p50, p99 := percentile(lat, .5), percentile(lat, .99)
	rawP50 := percentile(raw, .5)
	fmt.Fprintf(c.stdout, "accept to applied over %d actions (%.1f/s accepted): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		len(lat), float64(len(ids))/accepted.Seconds(), ms(p50), ms(p99), ms(lat[len(lat)-1]))
	fmt.Fprintf(c.stdout, "reference: Heroku Connect batches every %s: %.0f ms on average, up to %.0f ms\n",
		herokuConnectBatch, ms(herokuConnectBatch/2), ms(herokuConnectBatch))
	return map[string]any{
		"bench":               "writeback",
		"actions":             len(lat),
		"rate_per_s":          round1(float64(len(ids)) / accepted.Seconds()),
		"p50_ms":              ms(p50),
		"p99_ms":              ms(p99),
		"baseline_p50_ms":     ms(rawP50),
		"baseline_p99_ms":     ms(percentile(raw, .99)),
		"ratio":               round2(float64(p50) / float64(rawP50)),
		"heroku_connect_ms":   ms(herokuConnectBatch),
		"vs_heroku_connect":   round1(float64(herokuConnectBatch/2) / float64(p50)),
		"goal_p50_ms":         100,
		"goal_p99_ms":         500,
		"goal_met":            p50 <= 100*time.Millisecond && p99 <= 500*time.Millisecond,
		"pool_max_conns":      poolConns,
		"baseline_is":         "bare connector create with read-back, same simulator, same run",
		"heroku_connect_note": "10 s batch: 5000 ms average wait",
	}, nil
}

// benchWritebackWorker is the chaos run's worker process: a Portico
// worker on the given database, pointed at the parent's simulator.
func (c *cli) benchWritebackWorker(ctx context.Context, dbURL, credsJSON string) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	var cr fakesource.SystemCredentials
	if err := json.Unmarshal([]byte(credsJSON), &cr); err != nil {
		return usageErr("--worker-creds: %v", err)
	}
	cfg := benchWorkerConfig(dbURL, cr)
	deps, err := appDeps(&cfg)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.Open(ctx, &cfg, logger, app.Mode{Work: true}, deps)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx, nil)
}

func benchWorkerConfig(dbURL string, cr fakesource.SystemCredentials) config.Config {
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.Secrets.EncryptionKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	cfg.Sync.Interval = time.Hour
	// A killed worker's jobs run again 10 s after they started.
	cfg.River.RescueStuckJobsAfter = 10 * time.Second
	cfg.Connections = []config.ConnectionConfig{config.DefaultConnection(config.ConnectionConfig{
		Name: fakesource.Salesforce, Type: fakesource.Salesforce, BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
		ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken, AccessToken: cr.AccessToken,
		RequestTimeout: 2 * time.Second,
	})}
	return cfg
}

func (c *cli) benchWritebackChaos(ctx context.Context, dbURL string, total, rate int, outage time.Duration) (map[string]any, error) {
	st, err := c.startBenchStack(ctx, dbURL, fakesource.Options{Seed: 4, Records: 2000}, func(cfg *config.Config) {
		cfg.Connections = cfg.Connections[:1]
	})
	if err != nil {
		return nil, err
	}
	defer st.stop()
	a, sim, pool := st.app, st.sim, st.app.Pool() // this process only accepts: its River client is never started
	cr := sim.Credentials(st.srv.URL).Salesforce
	creds, err := json.Marshal(cr)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var workers []*exec.Cmd
	startWorker := func() error {
		w := exec.CommandContext(ctx, self, "bench", "writeback", "--worker-db", dbURL, "--worker-creds", string(creds))
		w.Stdout, w.Stderr = c.stderr, c.stderr
		if err := w.Start(); err != nil {
			return err
		}
		workers = append(workers, w)
		return nil
	}
	defer func() {
		for _, w := range workers {
			_ = w.Process.Signal(syscall.SIGTERM)
			_ = w.Wait()
		}
	}()
	faults := fakesource.Faults{ErrorRate: 0.2, RateLimitRate: 0.05, RetryAfterSeconds: 1, LatencyMinMS: 5, LatencyMaxMS: 50}
	if err := sim.SetFaults(fakesource.Salesforce, faults); err != nil {
		return nil, err
	}
	cases0 := sim.Stats().Records[fakesource.Salesforce]["Case"]
	customers, err := benchCustomers(sim, 50)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stdout, "chaos: %d actions at %d/s; 20%% 5xx, 5%% 429, a %s outage, one worker killed with SIGKILL\n", total, rate, outage)
	if err := startWorker(); err != nil {
		return nil, err
	}
	start := time.Now()
	type submitted struct {
		ids []int64
		err error
	}
	done := make(chan submitted, 1)
	go func() {
		ids, err := submitAt(ctx, a.Actions(), a.TenantID(), customers, total, rate, "chaos")
		done <- submitted{ids, err}
	}()
	count := func(q string) int {
		var n int
		_ = pool.QueryRow(ctx, q).Scan(&n)
		return n
	}
	if err := waitFor(ctx, 5*time.Minute, func() bool {
		return countActions(ctx, pool, writeback.StateApplied) >= total/10 && count(`SELECT count(*) FROM river_job WHERE state = 'running'`) > 0
	}); err != nil {
		return nil, fmt.Errorf("waiting for the first worker to get going: %w", err)
	}
	if err := workers[0].Process.Kill(); err != nil { // SIGKILL
		return nil, err
	}
	_ = workers[0].Wait()
	workers = workers[1:]
	orphaned := count(`SELECT count(*) FROM river_job WHERE state = 'running'`)
	fmt.Fprintf(c.stdout, "  %.1fs: worker killed with SIGKILL holding %d running jobs (%d applied so far); outage of %s begins; a new worker starts\n",
		time.Since(start).Seconds(), orphaned, countActions(ctx, pool, writeback.StateApplied), outage)
	faults.OutageSeconds = outage.Seconds()
	if err := sim.SetFaults(fakesource.Salesforce, faults); err != nil {
		return nil, err
	}
	if err := startWorker(); err != nil {
		return nil, err
	}
	sub := <-done
	if sub.err != nil {
		return nil, sub.err
	}
	fmt.Fprintf(c.stdout, "  %.1fs: %d actions accepted\n", time.Since(start).Seconds(), len(sub.ids))
	last, lastReport := -1, time.Now()
	err = waitFor(ctx, 10*time.Minute, func() bool {
		n := countActions(ctx, pool, writeback.StateApplied)
		if n/(total/10+1) != last/(total/10+1) || time.Since(lastReport) > 10*time.Second {
			fmt.Fprintf(c.stdout, "  %.1fs: %d applied; waiting: %s\n", time.Since(start).Seconds(), n, waitReasons(ctx, pool))
			lastReport = time.Now()
		}
		last = n
		return n >= len(sub.ids) || count(`SELECT count(*) FROM action WHERE state IN ('pending', 'sending')`) == 0
	})
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("waiting for the actions: %w", err)
	}

	// Check against the source with the faults off.
	if err := sim.SetFaults(fakesource.Salesforce, fakesource.Faults{}); err != nil {
		return nil, err
	}
	conn := a.Sources().Connectors()[fakesource.Salesforce]
	applied, mismatched, wrongKey := 0, 0, 0
	seen := map[string]bool{}
	for _, id := range sub.ids {
		act, err := a.Actions().Get(ctx, a.TenantID(), id)
		if err != nil {
			return nil, err
		}
		if act.State != writeback.StateApplied {
			continue
		}
		applied++
		seen[act.ResultID] = true
		src, err := sim.Record(fakesource.Salesforce, "Case", act.ResultID)
		if err != nil || src["Portico_Action_Id__c"] != writeback.SourceKey(a.TenantID(), id) {
			wrongKey++
			continue
		}
		rec, err := conn.Get(ctx, "Case", act.ResultID)
		if err != nil {
			return nil, err
		}
		var version string
		if err := pool.QueryRow(ctx, `SELECT source_version FROM record WHERE object = 'case' AND source_id = $1 AND pending_action_id IS NULL`,
			act.ResultID).Scan(&version); err != nil || version != rec.Version {
			mismatched++
		}
	}
	created := sim.Stats().Records[fakesource.Salesforce]["Case"] - cases0
	duplicates := created - len(seen)
	lost := len(sub.ids) - applied
	rescued := count(`SELECT count(*) FROM river_job WHERE kind = 'writeback_apply' AND errors::text LIKE '%Stuck job rescued%'`)
	exactlyOnce := duplicates == 0 && lost == 0 && wrongKey == 0 && mismatched == 0 && created == len(sub.ids)
	fmt.Fprintf(c.stdout, "accepted %d, applied %d, duplicates %d, lost %d; cache mismatches %d; %d jobs of the killed worker rescued; %.1fs\n",
		len(sub.ids), applied, duplicates, lost, mismatched, rescued, elapsed.Seconds())
	return map[string]any{
		"bench":             "writeback_chaos",
		"accepted":          len(sub.ids),
		"applied":           applied,
		"duplicates":        duplicates,
		"lost":              lost,
		"cache_mismatches":  mismatched,
		"wrong_keys":        wrongKey,
		"key_replays":       sim.Stats().Duplicates,
		"orphaned_jobs":     orphaned,
		"rescued_jobs":      rescued,
		"outage_s":          outage.Seconds(),
		"seconds":           round1(elapsed.Seconds()),
		"exactly_once":      exactlyOnce,
		"baseline_accepted": len(sub.ids), // the baseline of a chaos run: every accepted action, once
		"ratio":             round2(float64(applied-duplicates) / float64(max(len(sub.ids), 1))),
	}, nil
}
