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
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
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
		findMax          bool
		steps            []int
		stepDuration     time.Duration
		cpuProfile       string
		warmup           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "writeback",
		Short: "Accept-to-applied latency of customer actions (p50, p99) vs Heroku Connect's 10 s batch; --find-max: the highest rate with p99 under 500 ms; --chaos: exactly once through faults and a killed worker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workerDB != "" {
				return c.benchWritebackWorker(cmd.Context(), workerDB, workerCreds)
			}
			if rate < 1 || rate > 1000 || duration <= 0 || actions < 1 || outage < 0 || poolConns < 0 || warmup < 0 {
				return usageErr("--rate must be 1..1000, --duration and --actions positive, --outage, --warmup and --pool-max-conns not negative")
			}
			if findMax && chaos {
				return usageErr("--find-max and --chaos are separate runs: give one")
			}
			if findMax && (stepDuration < time.Second || len(steps) == 0 || !slices.IsSorted(steps) || steps[0] < 1 || steps[len(steps)-1] > 5000) {
				return usageErr("--steps must be rising rates from 1 to 5000 and --step-duration at least 1s")
			}
			_, url, closeDB, err := c.benchDatabase(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			var figures map[string]any
			switch {
			case chaos:
				figures, err = c.benchWritebackChaos(cmd.Context(), url, actions, rate, outage)
			case findMax:
				figures, err = c.benchWritebackFindMax(cmd.Context(), url, steps, stepDuration, warmup, poolConns, cpuProfile)
			default:
				figures, err = c.benchWritebackLatency(cmd.Context(), url, rate, duration, warmup, poolConns, cpuProfile)
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
	cmd.Flags().BoolVar(&findMax, "find-max", false, "step the rate up (--steps, each held --step-duration) and report the highest at which p99 stays under 500 ms")
	cmd.Flags().IntSliceVar(&steps, "steps", []int{100, 150, 200, 250, 300, 400, 500, 600, 800, 1000}, "rates of the --find-max run, rising")
	cmd.Flags().DurationVar(&stepDuration, "step-duration", 20*time.Second, "how long --find-max holds each rate")
	cmd.Flags().DurationVar(&warmup, "warmup", 5*time.Second, "apply actions at the (first) rate for this long before measuring, uncounted (0: none)")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the measured actions (not the chaos run) to this file")
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

// latencyBench is the latency run's stack: one process accepting and
// applying actions against the simulated CRM, with its sealer running.
type latencyBench struct {
	c         *cli
	st        *benchStack
	customers []benchCustomer
	raw       []time.Duration // the bare connector creates, sorted
	load      loadAvg         // at the start
	stop      func()
}

func (c *cli) startLatencyBench(ctx context.Context, dbURL string, poolConns int, cpuProfile string) (*latencyBench, error) {
	load := readLoadAvg()
	fmt.Fprintf(c.stdout, "load average at start: %s (%d CPUs); other processes on this machine share them\n", load, runtime.NumCPU())
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
	a := st.app
	runCtx, cancel := context.WithCancel(ctx)
	lb := &latencyBench{c: c, st: st, load: load}
	var sealer sync.WaitGroup
	lb.stop = func() {
		cancel()
		sealer.Wait()
		stopCtx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = a.River().Stop(stopCtx)
		st.stop()
	}
	if err := a.River().Start(runCtx); err != nil {
		lb.stop()
		return nil, err
	}
	sealer.Go(func() { a.Sealer().Run(runCtx) }) // as a running process does: sealing is part of the load
	if lb.customers, err = benchCustomers(st.sim, 50); err != nil {
		lb.stop()
		return nil, err
	}
	if lb.raw, err = lb.bare(ctx, 200, "raw"); err != nil {
		lb.stop()
		return nil, err
	}
	fmt.Fprintf(c.stdout, "baseline: a bare connector create (write + read-back): p50 %.1f ms, p99 %.1f ms\n", ms(percentile(lb.raw, .5)), ms(percentile(lb.raw, .99)))
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			lb.stop()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		stop := lb.stop
		lb.stop = func() {
			pprof.StopCPUProfile()
			_ = f.Close()
			stop()
		}
	}
	return lb, nil
}

// bare is the baseline: the same create as a bare connector call, no
// queue, no database: what the source alone costs.
func (lb *latencyBench) bare(ctx context.Context, n int, tag string) ([]time.Duration, error) {
	conn := lb.st.app.Sources().Connectors()[fakesource.Salesforce]
	var raw []time.Duration
	for i := range n {
		cu := lb.customers[i%len(lb.customers)]
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

// latencyStep is one rate held for a while, measured over its own actions.
type latencyStep struct {
	Rate     int     `json:"rate_per_s"`
	Accepted float64 `json:"accepted_per_s"`
	Actions  int     `json:"actions"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	OK       bool    `json:"ok"`
	lat      []time.Duration
	start    time.Time
}

// step accepts actions at rate for duration, waits until every one is
// applied (or drain passes), and measures accept to applied.
func (lb *latencyBench) step(ctx context.Context, rate int, duration, drain time.Duration, tag string) (latencyStep, error) {
	a := lb.st.app
	pool := a.Pool()
	n := rate * int(duration/time.Second)
	fmt.Fprintf(lb.c.stdout, "accepting %d actions at %d/s for %s\n", n, rate, duration)
	start := time.Now()
	ids, err := submitAt(ctx, a.Actions(), a.TenantID(), lb.customers, n, rate, tag)
	if err != nil {
		return latencyStep{}, err
	}
	accepted := time.Since(start)
	if len(ids) == 0 {
		return latencyStep{}, errors.New("no action was accepted")
	}
	// The step's actions are the only ones in its id range (the bench
	// submits nothing else meanwhile). Counting them by range on
	// action_state_idx, every 100 ms, keeps the wait off the machine it
	// measures: counting them by id list every 5 ms took about a core of
	// PostgreSQL while the step's last actions drained.
	lo, hi := slices.Min(ids), slices.Max(ids)
	applied := func() int {
		var k int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM action WHERE tenant_id = $1 AND state = 'applied' AND id BETWEEN $2 AND $3`,
			a.TenantID(), lo, hi).Scan(&k)
		return k
	}
	if err := pollFor(ctx, drain, 100*time.Millisecond, func() bool { return applied() >= len(ids) }); err != nil {
		return latencyStep{}, fmt.Errorf("waiting for %d actions to apply (%d applied): %w", len(ids), applied(), err)
	}
	rows, err := pool.Query(ctx, `SELECT applied_at - created_at FROM action WHERE id = ANY($1) ORDER BY 1`, ids)
	if err != nil {
		return latencyStep{}, err
	}
	s := latencyStep{Rate: rate, Actions: len(ids), Accepted: round1(float64(len(ids)) / accepted.Seconds()), start: start}
	for rows.Next() {
		var d time.Duration
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return latencyStep{}, err
		}
		s.lat = append(s.lat, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return latencyStep{}, err
	}
	if len(s.lat) == 0 {
		return latencyStep{}, errors.New("no action was measured")
	}
	s.P50, s.P99, s.Max = ms(percentile(s.lat, .5)), ms(percentile(s.lat, .99)), ms(s.lat[len(s.lat)-1])
	// Steady: the tail stays under the goal, and the process accepted
	// nearly what was asked (a saturated machine falls behind in accepting
	// too; the submitting ticker itself slips a few percent on a busy one).
	s.OK = s.P99 < goalP99ms && s.Accepted >= 0.9*float64(rate)
	return s, nil
}

// warmUp applies actions at rate for d without counting them: the first
// seconds of a process (connections opening, statements being prepared
// on each) are not its steady state.
func (lb *latencyBench) warmUp(ctx context.Context, rate int, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	s, err := lb.step(ctx, rate, d, 2*time.Minute, "warmup")
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fmt.Fprintf(lb.c.stdout, "warm-up (not counted): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", s.P50, s.P99, s.Max)
	return nil
}

// The goals of issue 11: at 100 actions/s p50 <= 100 ms and p99 <= 500
// ms, and a sustainable rate (p99 under 500 ms) of at least 250/s.
const (
	goalP50ms     = 100
	goalP99ms     = 500
	goalMaxPerSec = 250
)

func (c *cli) benchWritebackLatency(ctx context.Context, dbURL string, rate int, duration, warmup time.Duration, poolConns int, cpuProfile string) (map[string]any, error) {
	lb, err := c.startLatencyBench(ctx, dbURL, poolConns, cpuProfile)
	if err != nil {
		return nil, err
	}
	defer lb.stop()
	pool := lb.st.app.Pool()
	if err := lb.warmUp(ctx, rate, warmup); err != nil {
		return nil, err
	}
	s, err := lb.step(ctx, rate, duration, 2*time.Minute, "latency")
	if err != nil {
		return nil, err
	}
	if brows, err := pool.Query(ctx, `SELECT floor(extract(epoch FROM created_at - min(created_at) OVER ()) / 5)::int AS b,
		applied_at - created_at FROM action WHERE state = 'applied' AND created_at >= $1`, s.start); err == nil {
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
	if after, err := lb.bare(ctx, 100, "after"); err == nil {
		fmt.Fprintf(c.stdout, "bare connector create after the run: p50 %.1f ms, p99 %.1f ms\n", ms(percentile(after, .5)), ms(percentile(after, .99)))
	}
	var snoozed, retried int
	_ = pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE coalesce((metadata->>'snoozes')::int, 0) > 0),
		count(*) FILTER (WHERE coalesce(array_length(errors, 1), 0) > 0) FROM river_job WHERE kind = 'writeback_apply'`).Scan(&snoozed, &retried)
	fmt.Fprintf(c.stdout, "jobs snoozed at least once: %d; jobs with a failed attempt: %d\n", snoozed, retried)
	p50 := percentile(s.lat, .5)
	rawP50 := percentile(lb.raw, .5)
	fmt.Fprintf(c.stdout, "accept to applied over %d actions (%.1f/s accepted): p50 %.1f ms, p99 %.1f ms, max %.1f ms (load average at start %s)\n",
		s.Actions, s.Accepted, s.P50, s.P99, s.Max, lb.load)
	fmt.Fprintf(c.stdout, "reference: Heroku Connect batches every %s: %.0f ms on average, up to %.0f ms\n",
		herokuConnectBatch, ms(herokuConnectBatch/2), ms(herokuConnectBatch))
	return map[string]any{
		"bench":               "writeback",
		"actions":             s.Actions,
		"rate_per_s":          s.Accepted,
		"p50_ms":              s.P50,
		"p99_ms":              s.P99,
		"baseline_p50_ms":     ms(rawP50),
		"baseline_p99_ms":     ms(percentile(lb.raw, .99)),
		"ratio":               round2(float64(p50) / float64(rawP50)),
		"heroku_connect_ms":   ms(herokuConnectBatch),
		"vs_heroku_connect":   round1(float64(herokuConnectBatch/2) / float64(p50)),
		"goal_p50_ms":         goalP50ms,
		"goal_p99_ms":         goalP99ms,
		"goal_met":            s.P50 <= goalP50ms && s.P99 <= goalP99ms,
		"pool_max_conns":      poolConns,
		"loadavg_start":       lb.load,
		"cpus":                runtime.NumCPU(),
		"warmup_s":            warmup.Seconds(),
		"baseline_is":         "bare connector create with read-back, same simulator, same run",
		"heroku_connect_note": "10 s batch: 5000 ms average wait",
	}, nil
}

// benchWritebackFindMax steps the rate up until a step's p99 reaches
// 500 ms, and reports the highest rate that stayed under it.
func (c *cli) benchWritebackFindMax(ctx context.Context, dbURL string, rates []int, stepDuration, warmup time.Duration, poolConns int, cpuProfile string) (map[string]any, error) {
	lb, err := c.startLatencyBench(ctx, dbURL, poolConns, cpuProfile)
	if err != nil {
		return nil, err
	}
	defer lb.stop()
	if err := lb.warmUp(ctx, rates[0], warmup); err != nil {
		return nil, err
	}
	best := 0
	var steps []latencyStep
	for i, rate := range rates {
		// A step the workers cannot keep up with drains after it ends; a
		// drain that takes minutes is a failed step, not a wait.
		s, err := lb.step(ctx, rate, stepDuration, max(time.Minute, 2*stepDuration), fmt.Sprintf("max%d", i))
		if err != nil {
			fmt.Fprintf(c.stdout, "  %d/s: %v\n", rate, err)
			steps = append(steps, latencyStep{Rate: rate})
			break
		}
		steps = append(steps, s)
		verdict := "ok"
		if !s.OK {
			verdict = "FAIL"
		}
		fmt.Fprintf(c.stdout, "  %d/s: %s: accepted %.1f/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms (load average now %s)\n",
			rate, verdict, s.Accepted, s.P50, s.P99, s.Max, readLoadAvg())
		if !s.OK {
			break
		}
		best = rate
	}
	fmt.Fprintf(c.stdout, "highest steady rate with p99 under %d ms: %d actions/s (goal %d/s; load average at start %s, %d CPUs)\n",
		goalP99ms, best, goalMaxPerSec, lb.load, runtime.NumCPU())
	return map[string]any{
		"bench":           "writeback_find_max",
		"max_rate_per_s":  best,
		"steps":           steps,
		"step_s":          stepDuration.Seconds(),
		"goal_p99_ms":     goalP99ms,
		"goal_per_s":      goalMaxPerSec,
		"goal_met":        best >= goalMaxPerSec,
		"baseline_p50_ms": ms(percentile(lb.raw, .5)),
		"baseline_p99_ms": ms(percentile(lb.raw, .99)),
		"baseline_is":     "bare connector create with read-back, same simulator, same run",
		"ratio":           round2(float64(best) / goalMaxPerSec),
		"pool_max_conns":  poolConns,
		"loadavg_start":   lb.load,
		"cpus":            runtime.NumCPU(),
		"warmup_s":        warmup.Seconds(),
	}, nil
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute figures; empty where the
// system has none.
type loadAvg []float64

func readLoadAvg() loadAvg {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	fields := strings.Fields(string(b))
	if len(fields) < 3 {
		return nil
	}
	var out loadAvg
	for _, f := range fields[:3] {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

func (l loadAvg) String() string {
	if len(l) == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2])
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
