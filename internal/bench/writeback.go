package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/writeback"
)

// herokuConnectBatch is the reference: Heroku Connect writes back in
// batches every 10 s, so an action waits 5 s on average, up to 10 s.
const herokuConnectBatch = 10 * time.Second

// The goals of issue 11: at 100 actions/s p50 <= 100 ms and p99 <= 500
// ms, and a sustainable rate (p99 under 500 ms) of at least 250/s.
const (
	goalP50ms     = 100
	goalP99ms     = 500
	goalMaxPerSec = 250
)

// WritebackConfig is the writeback bench: customer actions end to end
// against the simulated CRM. By default it measures accept-to-applied
// latency at a steady rate, next to a bare connector write measured in
// the same run and to Heroku Connect's 10 s batch; FindMax steps the rate
// up to the highest with p99 under 500 ms; Chaos checks exactly-once
// delivery through faults, an outage and a worker process killed with
// SIGKILL.
type WritebackConfig struct {
	Server Server
	Deps   DepsFunc
	// Rate is actions accepted per second, held for Duration (latency
	// run; the chaos run accepts Actions at Rate).
	Rate     int
	Duration time.Duration
	// Warmup applies actions at the (first) rate for this long before
	// measuring, uncounted.
	Warmup time.Duration
	// PoolConns is the database connections of the latency run's process;
	// 0 is the driver's default.
	PoolConns  int
	CPUProfile string

	FindMax      bool
	Steps        []int // rising rates of the find-max run
	StepDuration time.Duration

	Chaos   bool
	Actions int
	Outage  time.Duration
	// WorkerCommand is the chaos run's worker process on dbURL, reaching
	// the simulator with creds (JSON); RunWritebackWorker is its body.
	WorkerCommand func(ctx context.Context, dbURL, creds string) (*exec.Cmd, error)
}

// Validate names the bad setting.
func (c WritebackConfig) Validate() error {
	if c.Rate < 1 || c.Rate > 1000 || c.Duration <= 0 || c.Actions < 1 || c.Outage < 0 || c.PoolConns < 0 || c.Warmup < 0 {
		return usage("--rate must be 1..1000, --duration and --actions positive, --outage, --warmup and --pool-max-conns not negative")
	}
	if c.FindMax && c.Chaos {
		return usage("--find-max and --chaos are separate runs: give one")
	}
	if c.FindMax && (c.StepDuration < time.Second || len(c.Steps) == 0 || !slices.IsSorted(c.Steps) || c.Steps[0] < 1 || c.Steps[len(c.Steps)-1] > 5000) {
		return usage("--steps must be rising rates from 1 to 5000 and --step-duration at least 1s")
	}
	return nil
}

// RunWriteback runs the latency, find-max or chaos run and prints its
// figures; a chaos run that was not exactly once is an error after them.
func RunWriteback(ctx context.Context, cfg WritebackConfig, out Output) error {
	return withDatabase(ctx, cfg, cfg.Server, out, func(db *database) error {
		var (
			figures map[string]any
			err     error
		)
		switch {
		case cfg.Chaos:
			figures, err = writebackChaos(ctx, cfg, out, db.url)
		case cfg.FindMax:
			figures, err = writebackFindMax(ctx, cfg, out, db.url)
		default:
			figures, err = writebackLatency(ctx, cfg, out, db.url)
		}
		if err != nil {
			return err
		}
		if err := writeResult(out.Stdout, figures); err != nil {
			return err
		}
		if ok, _ := figures["exactly_once"].(bool); cfg.Chaos && !ok {
			return errors.New("write-back chaos: not every action was applied exactly once")
		}
		return nil
	})
}

// customer is a portal user of a seeded account.
type customer struct{ user, account, contact string }

func seededCustomers(sim *fakesource.Sim, n int) ([]customer, error) {
	out := make([]customer, 0, n)
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
		out = append(out, customer{user: "bench-" + id, account: acc, contact: id})
	}
	return out, nil
}

func (b customer) createCase(tenant int64, subject, key string) writeback.Request {
	return writeback.Request{
		Scope:  access.Scope{TenantID: tenant, Accounts: []string{b.account}, Contact: b.contact, Roles: []string{mapping.RoleMember}},
		UserID: b.user, AccountID: b.account, ContactID: b.contact, Kind: writeback.KindCreateCase,
		Input: map[string]any{"subject": subject}, IdempotencyKey: key,
	}
}

// submitAt accepts n actions at rate per second, concurrently as an API
// would, and returns their ids.
func submitAt(ctx context.Context, svc *writeback.Service, tenant int64, customers []customer, n, rate int, tag string) ([]int64, error) {
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
		wg.Go(func() {
			cu := customers[i%len(customers)]
			a, _, err := svc.Submit(ctx, cu.createCase(tenant, fmt.Sprintf("%s %d", tag, i), fmt.Sprintf("%s-%d", tag, i)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids = append(ids, a.ID)
		})
	}
	wg.Wait()
	return ids, errors.Join(errs...)
}

// latencyBench is the latency run's stack: one process accepting and
// applying actions against the simulated CRM, with its sealer running.
type latencyBench struct {
	out       Output
	st        *stack
	customers []customer
	raw       []time.Duration // the bare connector creates, sorted
	load      loadAvg         // at the start
	stop      func()
}

// withPoolConns sets pool_max_conns on a database URL.
func withPoolConns(dbURL string, n int) string {
	sep := "?"
	if strings.Contains(dbURL, "?") {
		sep = "&"
	}
	return dbURL + fmt.Sprintf("%spool_max_conns=%d", sep, n)
}

func startLatencyBench(ctx context.Context, cfg WritebackConfig, out Output, dbURL string) (*latencyBench, error) {
	load := readLoadAvg()
	fmt.Fprintf(out.Stdout, "load average at start: %s (%d CPUs); other processes on this machine share them\n", load, runtime.NumCPU())
	if cfg.PoolConns > 0 {
		// pgx's default pool is max(4, CPUs) connections, fewer than the
		// River workers sharing it; at 100 actions/s that queue, not the
		// write-back, dominates the tail. Production sets it in the URL too.
		dbURL = withPoolConns(dbURL, cfg.PoolConns)
		fmt.Fprintf(out.Stdout, "database pool: %d connections (pool_max_conns)\n", cfg.PoolConns)
	}
	st, err := startStack(ctx, dbURL, cfg.Deps, out, fakesource.Options{Seed: 3, Records: 500}, func(c *config.Config) {
		c.Connections = c.Connections[:1] // the CRM alone: no sync of the others competes
		c.Sync.Interval = time.Hour
	})
	if err != nil {
		return nil, err
	}
	lb := &latencyBench{out: out, st: st, load: load}
	if err := lb.start(ctx); err != nil {
		lb.stop()
		return nil, err
	}
	if err := lb.baseline(ctx); err != nil {
		lb.stop()
		return nil, err
	}
	if err := lb.profile(cfg.CPUProfile); err != nil {
		lb.stop()
		return nil, err
	}
	return lb, nil
}

// start runs the process's River client and its sealer, as a running
// process does: sealing is part of the load.
func (lb *latencyBench) start(ctx context.Context) error {
	a := lb.st.app
	runCtx, cancel := context.WithCancel(ctx)
	var sealer sync.WaitGroup
	lb.stop = func() {
		cancel()
		sealer.Wait()
		stopCtx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = a.River().Stop(stopCtx)
		lb.st.stop()
	}
	if err := a.River().Start(runCtx); err != nil {
		return err
	}
	sealer.Go(func() { a.Sealer().Run(runCtx) })
	return nil
}

// baseline measures bare connector creates of the seeded customers.
func (lb *latencyBench) baseline(ctx context.Context) error {
	var err error
	if lb.customers, err = seededCustomers(lb.st.sim, 50); err != nil {
		return err
	}
	if lb.raw, err = lb.bare(ctx, 200, "raw"); err != nil {
		return err
	}
	fmt.Fprintf(lb.out.Stdout, "baseline: a bare connector create (write + read-back): p50 %.1f ms, p99 %.1f ms\n", ms(percentile(lb.raw, .5)), ms(percentile(lb.raw, .99)))
	return nil
}

// profile starts a CPU profile, if one was asked for, until stop.
func (lb *latencyBench) profile(path string) error {
	stopProfile, err := profileCPU(path)
	if err != nil {
		return err
	}
	stop := lb.stop
	lb.stop = func() {
		stopProfile()
		stop()
	}
	return nil
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
	fmt.Fprintf(lb.out.Stdout, "accepting %d actions at %d/s for %s\n", n, rate, duration)
	start := time.Now()
	ids, err := submitAt(ctx, a.Actions(), a.TenantID(), lb.customers, n, rate, tag)
	if err != nil {
		return latencyStep{}, err
	}
	accepted := time.Since(start)
	if len(ids) == 0 {
		return latencyStep{}, errors.New("no action was accepted")
	}
	// Counting the step's actions by id range every 100 ms keeps the wait
	// off the machine it measures: counting them by id list every 5 ms
	// took about a core of PostgreSQL while the step's last actions drained.
	lo, hi := slices.Min(ids), slices.Max(ids)
	applied := func() int64 {
		k, _ := store.BenchActionsApplied(ctx, pool, store.BenchActionsAppliedParams{TenantID: a.TenantID(), Lo: lo, Hi: hi})
		return k
	}
	if err := pollFor(ctx, drain, 100*time.Millisecond, func() bool { return applied() >= int64(len(ids)) }); err != nil {
		return latencyStep{}, fmt.Errorf("waiting for %d actions to apply (%d applied): %w", len(ids), applied(), err)
	}
	micros, err := store.BenchActionLatencies(ctx, pool, ids)
	if err != nil {
		return latencyStep{}, err
	}
	if len(micros) == 0 {
		return latencyStep{}, errors.New("no action was measured")
	}
	s := latencyStep{Rate: rate, Actions: len(ids), Accepted: round1(float64(len(ids)) / accepted.Seconds()), start: start}
	for _, us := range micros {
		s.lat = append(s.lat, time.Duration(us)*time.Microsecond)
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
	fmt.Fprintf(lb.out.Stdout, "warm-up (not counted): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", s.P50, s.P99, s.Max)
	return nil
}

func writebackLatency(ctx context.Context, cfg WritebackConfig, out Output, dbURL string) (map[string]any, error) {
	lb, err := startLatencyBench(ctx, cfg, out, dbURL)
	if err != nil {
		return nil, err
	}
	defer lb.stop()
	if err := lb.warmUp(ctx, cfg.Rate, cfg.Warmup); err != nil {
		return nil, err
	}
	s, err := lb.step(ctx, cfg.Rate, cfg.Duration, 2*time.Minute, "latency")
	if err != nil {
		return nil, err
	}
	lb.reportAfter(ctx, s)
	p50, rawP50 := percentile(s.lat, .5), percentile(lb.raw, .5)
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
		"pool_max_conns":      cfg.PoolConns,
		"loadavg_start":       lb.load,
		"cpus":                runtime.NumCPU(),
		"warmup_s":            cfg.Warmup.Seconds(),
		"baseline_is":         "bare connector create with read-back, same simulator, same run",
		"heroku_connect_note": "10 s batch: 5000 ms average wait",
	}, nil
}

// reportAfter prints what explains a latency run's figures: the slowest
// action of each 5 s, the bare create after the run, the jobs that were
// snoozed or retried, and the run's summary.
func (lb *latencyBench) reportAfter(ctx context.Context, s latencyStep) {
	w, pool := lb.out.Stdout, lb.st.app.Pool()
	if buckets, err := store.BenchActionLatencyBuckets(ctx, pool, pgtype.Timestamptz{Time: s.start, Valid: true}); err == nil {
		worst := map[int32]time.Duration{}
		for _, b := range buckets {
			if d := time.Duration(b.Micros) * time.Microsecond; d > worst[b.Bucket] {
				worst[b.Bucket] = d
			}
		}
		line := []string{}
		for _, k := range slices.Sorted(maps.Keys(worst)) {
			line = append(line, fmt.Sprintf("%ds:%.0fms", k*5, ms(worst[k])))
		}
		fmt.Fprintf(w, "slowest action per 5 s of the run: %s\n", strings.Join(line, " "))
	}
	if after, err := lb.bare(ctx, 100, "after"); err == nil {
		fmt.Fprintf(w, "bare connector create after the run: p50 %.1f ms, p99 %.1f ms\n", ms(percentile(after, .5)), ms(percentile(after, .99)))
	}
	snoozed, retried, _ := store.RiverJobTrouble(ctx, pool, writeback.ApplyArgs{}.Kind())
	fmt.Fprintf(w, "jobs snoozed at least once: %d; jobs with a failed attempt: %d\n", snoozed, retried)
	fmt.Fprintf(w, "accept to applied over %d actions (%.1f/s accepted): p50 %.1f ms, p99 %.1f ms, max %.1f ms (load average at start %s)\n",
		s.Actions, s.Accepted, s.P50, s.P99, s.Max, lb.load)
	fmt.Fprintf(w, "reference: Heroku Connect batches every %s: %.0f ms on average, up to %.0f ms\n",
		herokuConnectBatch, ms(herokuConnectBatch/2), ms(herokuConnectBatch))
}

// writebackFindMax steps the rate up until a step's p99 reaches 500 ms,
// and reports the highest rate that stayed under it.
func writebackFindMax(ctx context.Context, cfg WritebackConfig, out Output, dbURL string) (map[string]any, error) {
	lb, err := startLatencyBench(ctx, cfg, out, dbURL)
	if err != nil {
		return nil, err
	}
	defer lb.stop()
	if err := lb.warmUp(ctx, cfg.Steps[0], cfg.Warmup); err != nil {
		return nil, err
	}
	best, steps := lb.stepUp(ctx, cfg.Steps, cfg.StepDuration)
	fmt.Fprintf(out.Stdout, "highest steady rate with p99 under %d ms: %d actions/s (goal %d/s; load average at start %s, %d CPUs)\n",
		goalP99ms, best, goalMaxPerSec, lb.load, runtime.NumCPU())
	return map[string]any{
		"bench":           "writeback_find_max",
		"max_rate_per_s":  best,
		"steps":           steps,
		"step_s":          cfg.StepDuration.Seconds(),
		"goal_p99_ms":     goalP99ms,
		"goal_per_s":      goalMaxPerSec,
		"goal_met":        best >= goalMaxPerSec,
		"baseline_p50_ms": ms(percentile(lb.raw, .5)),
		"baseline_p99_ms": ms(percentile(lb.raw, .99)),
		"baseline_is":     "bare connector create with read-back, same simulator, same run",
		"ratio":           round2(float64(best) / goalMaxPerSec),
		"pool_max_conns":  cfg.PoolConns,
		"loadavg_start":   lb.load,
		"cpus":            runtime.NumCPU(),
		"warmup_s":        cfg.Warmup.Seconds(),
	}, nil
}

// stepUp holds each rate in turn until one fails, and returns the highest
// that passed and every step run.
func (lb *latencyBench) stepUp(ctx context.Context, rates []int, stepDuration time.Duration) (int, []latencyStep) {
	best := 0
	var steps []latencyStep
	for i, rate := range rates {
		// A step the workers cannot keep up with drains after it ends; a
		// drain that takes minutes is a failed step, not a wait.
		s, err := lb.step(ctx, rate, stepDuration, max(time.Minute, 2*stepDuration), fmt.Sprintf("max%d", i))
		if err != nil {
			fmt.Fprintf(lb.out.Stdout, "  %d/s: %v\n", rate, err)
			steps = append(steps, latencyStep{Rate: rate})
			break
		}
		steps = append(steps, s)
		verdict := "ok"
		if !s.OK {
			verdict = "FAIL"
		}
		fmt.Fprintf(lb.out.Stdout, "  %d/s: %s: accepted %.1f/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms (load average now %s)\n",
			rate, verdict, s.Accepted, s.P50, s.P99, s.Max, readLoadAvg())
		if !s.OK {
			break
		}
		best = rate
	}
	return best, steps
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute figures; empty where the
// system has none.
type loadAvg []float64

func readLoadAvg() loadAvg {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	return parseLoadAvg(string(b))
}

func parseLoadAvg(s string) loadAvg {
	fields := strings.Fields(s)
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
