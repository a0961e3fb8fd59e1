package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/devenv"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mail/mailtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
)

// SoakConfig is the soak: Serves `portico serve` and Workers `portico
// worker` processes of the binary on one database, under a mixed load for
// Duration (the demo customers browsing the portal's pages and the API,
// opening cases, commenting and uploading; staff editing and replying in
// the simulated CRM, which notifies them by mail; FaultRate of the
// simulated sources' answers failing), sampled every Sample. At the end
// the cache must equal the sources and every action be applied once.
type SoakConfig struct {
	Server Server
	Deps   DepsFunc
	// Command starts a process of the portico binary.
	Command  CommandFunc
	Duration time.Duration
	// Sample is how often the processes, the database and the routes'
	// latencies are looked at.
	Sample time.Duration
	// Warmup is how long after the start the memory and goroutine
	// baselines are taken: the first sample at or after it.
	Warmup  time.Duration
	Serves  int
	Workers int
	// Rate is the load's requests per second, over all users.
	Rate int
	// Records seed the simulated sources (with the demo story).
	Records int
	// FaultRate is the share of the sources' answers that fail: four
	// fifths 500/503, one fifth 429.
	FaultRate float64
	// StaffEvery is how often staff edit a case in the CRM.
	StaffEvery time.Duration
}

// Validate names the bad setting.
func (c SoakConfig) Validate() error {
	switch {
	case c.Duration < 10*time.Second:
		return usage("--duration must be at least 10s; got %s", c.Duration)
	case c.Sample < time.Second || c.Sample > c.Duration:
		return usage("--sample must be between 1s and --duration; got %s", c.Sample)
	case c.Warmup < 0 || c.Warmup >= c.Duration:
		return usage("--warmup must be at least 0 and less than --duration; got %s", c.Warmup)
	case c.Serves < 1 || c.Workers < 1 || c.Serves > 8 || c.Workers > 8:
		return usage("--serves and --workers must be between 1 and 8; got %d and %d", c.Serves, c.Workers)
	case c.Rate < 1 || c.Rate > 1000:
		return usage("--rate must be between 1 and 1000; got %d", c.Rate)
	case c.Records < 100:
		return usage("--records must be at least 100; got %d", c.Records)
	case c.FaultRate < 0 || c.FaultRate > 0.5:
		return usage("--fault-rate must be between 0 and 0.5; got %g", c.FaultRate)
	case c.StaffEvery <= 0:
		return usage("--staff-every must be positive; got %s", c.StaffEvery)
	}
	return nil
}

// soakGrowth is the soak's goal for resident memory: under 10% growth
// from the warm-up's end to the run's end, in every process.
const soakGrowth = 0.10

// RunSoak runs the soak, prints its figures and fails when a goal is not
// met.
func RunSoak(ctx context.Context, cfg SoakConfig, out Output) error {
	if cfg.Command == nil {
		return errors.New("bench: the soak needs a command that starts the binary's processes")
	}
	out.Stderr = &syncWriter{w: out.Stderr}
	return withDatabase(ctx, cfg, cfg.Server, out, func(db *database) error {
		s := &soak{cfg: cfg, out: out}
		defer s.close()
		figures, err := s.run(ctx, db)
		if err != nil {
			return err
		}
		if err := writeResult(out.Stdout, figures); err != nil {
			return err
		}
		if failed, _ := figures["goals_failed"].([]string); len(failed) > 0 {
			return fmt.Errorf("soak: goals not met: %s", strings.Join(failed, ", "))
		}
		return nil
	})
}

// soak is a run of the soak.
type soak struct {
	cfg   SoakConfig
	out   Output
	st    *stack
	set   *mapping.Set
	procs *procs
	load  *soakLoad
	mails atomic.Int64
	start time.Time
	stops []func()

	samples []map[string]any // per sample: time, processes, database, queues, routes
	sampled time.Time
	// steady are the processes' samples from the warm-up's end on; base
	// and last are the medians of their first and last few (steadyWindow).
	steady     []map[string]procSample
	base, last map[string]procSample
}

// steadyWindow is how many samples the growth figures take the median
// of, at each end: one sample lands anywhere in a garbage collector's
// cycle (a serve process's heap swings by a third between two of them),
// and growth from one such point to another measures the cycle, not
// the trend.
const steadyWindow = 3

func (s *soak) close() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

func (s *soak) run(ctx context.Context, db *database) (map[string]any, error) {
	loadStart := readLoadAvg()
	fmt.Fprintf(s.out.Stdout, "soak: %d serve and %d worker processes, %s of load at %d requests/s, %.0f%% source faults; load average %s\n",
		s.cfg.Serves, s.cfg.Workers, s.cfg.Duration, s.cfg.Rate, s.cfg.FaultRate*100, loadStart)
	if err := s.startStack(ctx, db); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := s.waitConverged(ctx, 3*time.Minute); err != nil {
		return nil, fmt.Errorf("soak: the first sync: %w", err)
	}
	fmt.Fprintf(s.out.Stdout, "first sync done in %s: the cache equals the sources\n", time.Since(t0).Round(100*time.Millisecond))
	users, _, err := devenv.DemoUsers(ctx, s.st.app.Pool(), s.st.sim, "portico bench soak")
	if err != nil {
		return nil, err
	}
	s.load = newSoakLoad(s.procs.serves())
	if err := s.load.signIn(ctx, users); err != nil {
		return nil, err
	}
	if s.load.writers() == 0 {
		return nil, errors.New("soak: no demo customer sees an open case to write on")
	}
	fmt.Fprintf(s.out.Stdout, "%d demo customers signed in, %d of them with open cases\n", len(s.load.users), s.load.writers())
	before := s.st.sim.Stats().Records[fakesource.Salesforce]
	replies, err := s.loadFor(ctx)
	if err != nil {
		return nil, err
	}
	return s.finish(ctx, before, replies, loadStart)
}

// startStack starts the simulators (with the demo story, their webhooks
// pointed at the first serve), an SMTP server, and the processes, with
// this process's own app (neither serving nor working) for the checks.
func (s *soak) startStack(ctx context.Context, db *database) error {
	serveAddrs := make([]string, s.cfg.Serves)
	for i := range serveAddrs {
		var err error
		if serveAddrs[i], err = freeAddr(); err != nil {
			return err
		}
	}
	smtp, err := mailtest.Listen()
	if err != nil {
		return err
	}
	s.stops = append(s.stops, func() { _ = smtp.Close() })
	smtp.OnData(func(string, time.Time) { s.mails.Add(1) })
	simOpts := fakesource.Options{Seed: 11, Records: s.cfg.Records, WebhookURL: "http://" + serveAddrs[0] + "/hooks/{system}"}
	st, err := startStack(ctx, db.url, s.cfg.Deps, s.out, simOpts, func(c *config.Config) { soakProcessConfig(c, smtp.Addr()) })
	if err != nil {
		return err
	}
	s.st = st
	s.stops = append(s.stops, st.stop)
	if _, err := st.sim.TellStory(); err != nil {
		return err
	}
	deps, err := s.cfg.Deps(st.cfg)
	if err != nil {
		return err
	}
	s.set = deps.Mappings
	dir, err := os.MkdirTemp("", "portico-soak-")
	if err != nil {
		return err
	}
	s.stops = append(s.stops, func() { _ = os.RemoveAll(dir) })
	raw, err := st.cfg.YAML()
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		return err
	}
	t0 := time.Now()
	if s.procs, err = startProcs(ctx, s.cfg.Command, file, serveAddrs, s.cfg.Workers, s.out); err != nil {
		return err
	}
	s.stops = append(s.stops, s.procs.stop)
	fmt.Fprintf(s.out.Stdout, "processes up in %s:", time.Since(t0).Round(100*time.Millisecond))
	for _, p := range s.procs.procs {
		fmt.Fprintf(s.out.Stdout, " %s (pid %d)", p.name, p.cmd.Process.Pid)
	}
	fmt.Fprintln(s.out.Stdout)
	return nil
}

// soakProcessConfig is what every process runs with: JSON logs at warn
// (the soak counts their errors), mail to the soak's SMTP server, and
// worker slots and pools sized for a machine the soak shares.
func soakProcessConfig(c *config.Config, smtpAddr string) {
	c.Log.Level, c.Log.Format = "warn", "json"
	c.Admin.Token = "soak-admin-token-0123456789"
	c.Mail.SMTPURL, c.Mail.From = "smtp://"+smtpAddr, "Portal <portal@soak.example>"
	c.Notify.DailyCap = 0 // every notice mailed: the soak counts them
	c.River.SyncWorkers, c.River.WritebackWorkers, c.River.NotifyWorkers, c.River.DefaultWorkers = 4, 6, 2, 2
	c.DatabaseMaxConns = 16
}

// waitConverged waits until the cache equals the sources.
func (s *soak) waitConverged(ctx context.Context, timeout time.Duration) error {
	var last []string
	err := pollFor(ctx, timeout, time.Second, func() bool {
		n, some, err := cacheDiff(ctx, s.st.app)
		if err != nil {
			last = []string{err.Error()}
			return false
		}
		last = some
		return n == 0
	})
	if err != nil {
		return fmt.Errorf("%w; differences: %s", err, strings.Join(last, "; "))
	}
	return nil
}

// loadFor runs the load, the staff and the faults for the duration,
// sampling every interval, and returns the staff's replies.
func (s *soak) loadFor(ctx context.Context) (int, error) {
	sim := s.st.sim
	f := s.cfg.FaultRate
	if err := sim.SetFaults("", fakesource.Faults{ErrorRate: f * 0.8, RateLimitRate: f * 0.2, RetryAfterSeconds: 1}); err != nil {
		return 0, err
	}
	lctx, cancel := context.WithTimeout(ctx, s.cfg.Duration)
	defer cancel()
	s.start = time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { s.load.run(lctx, s.cfg.Rate) })
	var replies int
	wg.Go(func() { replies = staffEdits(lctx, sim, s.load, s.cfg.StaffEvery, s.load.stats) })
	tick := time.NewTicker(s.cfg.Sample)
	defer tick.Stop()
	var serr error
	for lctx.Err() == nil && serr == nil {
		select {
		case <-lctx.Done():
		case <-tick.C:
			serr = s.sample(ctx)
		}
	}
	cancel()
	wg.Wait()
	if serr != nil {
		return 0, serr
	}
	if time.Since(s.sampled) >= s.cfg.Sample/2 { // the last window
		if err := s.sample(ctx); err != nil {
			return 0, err
		}
	}
	return replies, sim.SetFaults("", fakesource.Faults{})
}

// sample looks at every process, the database and the routes' window,
// and prints a progress line.
func (s *soak) sample(ctx context.Context) error {
	if gone := s.procs.exited(); len(gone) > 0 {
		return fmt.Errorf("soak: processes exited during the run: %s", strings.Join(gone, ", "))
	}
	s.sampled = time.Now()
	t := time.Since(s.start)
	procs := map[string]any{}
	now := map[string]procSample{}
	var line []string
	for _, p := range s.procs.procs {
		ps, err := p.sample(ctx)
		if err != nil {
			return err
		}
		now[p.name] = ps
		procs[p.name] = map[string]any{"rss_mb": round1(float64(ps.RSSKB) / 1024), "rss_anon_mb": round1(float64(ps.AnonKB) / 1024), "heap_inuse_mb": round1(ps.HeapInuse / (1 << 20)), "goroutines": ps.Goroutines}
		line = append(line, fmt.Sprintf("%s %.0f MB %.0f gr", p.name, float64(ps.RSSKB)/1024, ps.Goroutines))
	}
	if t >= s.cfg.Warmup {
		s.steady = append(s.steady, now)
		k := min(steadyWindow, (len(s.steady)+1)/2)
		s.base, s.last = medianSample(s.steady[:k]), medianSample(s.steady[len(s.steady)-k:])
	}
	conns, err := store.BenchConnections(ctx, s.st.app.Pool())
	if err != nil {
		return err
	}
	byState, total := map[string]int64{}, int64(0)
	for _, c := range conns {
		byState[c.State] = c.N
		total += c.N
	}
	depths, err := store.RiverQueueDepths(ctx, s.st.app.Pool())
	if err != nil {
		return err
	}
	queues, qline := map[string]any{}, []string{}
	for _, d := range depths {
		queues[d.Queue] = map[string]int64{"waiting": d.Waiting, "running": d.Running}
		qline = append(qline, fmt.Sprintf("%s %d+%d", d.Queue, d.Waiting, d.Running))
	}
	hits := cacheHitRates(now)
	routes := s.load.stats.flush()
	_, n := s.load.stats.total()
	errs, _ := s.load.stats.errorCounts()
	s.samples = append(s.samples, map[string]any{"t_s": round1(t.Seconds()), "processes": procs,
		"db_connections": map[string]any{"total": total, "by_state": byState}, "queues": queues,
		"cache_hit_rate": hits, "routes": routes})
	fmt.Fprintf(s.out.Stdout, "%6s: %d requests (%d shed), %d errors, %d mails | %s | db conns %d | queues (waiting+running) %s | cache hits %s\n",
		t.Round(time.Second), n, s.load.shed.Load(), errs, s.mails.Load(), strings.Join(line, ", "), total, strings.Join(qline, " "), describeRates(hits))
	return nil
}

// cacheHitRates sums the serves' in-memory caches' hits and misses so
// far, per cache.
func cacheHitRates(samples map[string]procSample) map[string]float64 {
	hits, misses := map[string]float64{}, map[string]float64{}
	for _, ps := range samples {
		for series, v := range ps.Metrics {
			name, labels, ok := strings.Cut(series, "{")
			if !ok {
				continue
			}
			_, cache, ok := strings.Cut(labels, `cache="`)
			if !ok {
				continue
			}
			cache, _, _ = strings.Cut(cache, `"`)
			switch name {
			case "portico_cache_hits_total":
				hits[cache] += v
			case "portico_cache_misses_total":
				misses[cache] += v
			}
		}
	}
	out := map[string]float64{}
	for cache, h := range hits {
		out[cache] = hitRatio(int64(h), int64(misses[cache]))
	}
	return out
}

func describeRates(rates map[string]float64) string {
	var parts []string
	for c, r := range rates {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", c, r*100))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// finish lets the write-backs settle and the cache converge with the
// faults off, checks every action, stops the processes and returns the
// figures with the goals.
func (s *soak) finish(ctx context.Context, before map[string]int, replies int, loadStart loadAvg) (map[string]any, error) {
	pool := s.st.app.Pool()
	t0 := time.Now()
	settleErr := waitFor(ctx, 3*time.Minute, func() bool {
		open, err := store.BenchActionsOpen(ctx, pool)
		return err == nil && open == 0
	})
	if settleErr != nil {
		fmt.Fprintf(s.out.Stdout, "actions still open: %s\n", waitReasons(ctx, pool))
	}
	convergeErr := s.waitConverged(ctx, 3*time.Minute)
	settled := time.Since(t0)
	check, err := checkActions(ctx, s.st.app, s.set, s.st.sim, len(s.load.actionIDs()), before, replies)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.out.Stdout, "after the load (faults off, %s): %s\n", settled.Round(100*time.Millisecond), check.describe())
	if convergeErr != nil {
		fmt.Fprintf(s.out.Stdout, "the cache did not converge: %v\n", convergeErr)
	} else {
		fmt.Fprintln(s.out.Stdout, "the cache equals the sources")
	}
	jobErrs, err := store.RiverAttemptErrors(ctx, pool)
	if err != nil {
		return nil, err
	}
	s.procs.stop()
	return s.figures(check, replies, convergeErr == nil, settled, jobErrs, loadStart), nil
}

// figures are the closing line: the run's errors, latencies, samples,
// checks and goals.
func (s *soak) figures(check actionCheck, replies int, converged bool, settled time.Duration, jobErrs []store.RiverAttemptError, loadStart loadAvg) map[string]any {
	routes, requests := s.load.stats.total()
	loadErrs, examples := s.load.stats.errorCounts()
	injectedJobs, otherJobs := 0, 0
	for _, e := range jobErrs {
		if isInjected(e.Message) {
			injectedJobs++
			continue
		}
		otherJobs++
		if len(examples) < 20 {
			examples = append(examples, "job "+e.Kind+": "+e.Message)
		}
	}
	injectedLogs, otherLogs, warnings := 0, 0, 0
	for _, p := range s.procs.procs {
		w, lines := p.logs.counts()
		warnings += w
		for _, l := range lines {
			if isInjected(l) {
				injectedLogs++
				continue
			}
			otherLogs++
			if len(examples) < 20 {
				examples = append(examples, p.name+": "+l)
			}
		}
	}
	sourceFaults := 0
	for _, status := range []int{500, 503, 429} {
		sourceFaults += s.st.sim.Stats().CallCount("", "", status)
	}
	other := loadErrs + otherJobs + otherLogs
	growth, goroutines, flat := s.growth()
	maxGrowth := 0.0
	for _, g := range growth {
		maxGrowth = max(maxGrowth, g)
	}
	goals := map[string]bool{
		"no_other_errors":       other == 0,
		"rss_growth_under_10pc": maxGrowth < soakGrowth*100,
		"goroutines_flat":       flat,
		"cache_equals_source":   converged,
		"actions_applied_once":  check.appliedOnce(),
	}
	var failed []string
	for g, ok := range goals {
		if !ok {
			failed = append(failed, g)
		}
	}
	sort.Strings(failed)
	fmt.Fprintf(s.out.Stdout, "%d requests; errors: %d not injected (%d requests, %d job attempts, %d log lines), injected: %d source answers, %d job attempts and %d log lines they caused; %d warnings\n",
		requests, other, loadErrs, otherJobs, otherLogs, sourceFaults, injectedJobs, injectedLogs, warnings)
	fmt.Fprintf(s.out.Stdout, "RSS growth after warm-up (%%): %v; goroutines (after warm-up -> end): %v; %d mails sent\n", growth, goroutines, s.mails.Load())
	if len(failed) > 0 {
		fmt.Fprintf(s.out.Stdout, "goals not met: %s\n", strings.Join(failed, ", "))
	} else {
		fmt.Fprintln(s.out.Stdout, "every goal met")
	}
	return map[string]any{
		"bench": "soak", "duration_s": s.cfg.Duration.Seconds(), "sample_s": s.cfg.Sample.Seconds(), "warmup_s": s.cfg.Warmup.Seconds(),
		"serves": s.cfg.Serves, "workers": s.cfg.Workers, "rate_per_s": s.cfg.Rate, "records": s.cfg.Records,
		"fault_rate": s.cfg.FaultRate, "users": len(s.load.users), "requests": requests, "shed": s.load.shed.Load(),
		"errors": map[string]any{
			"other": other, "other_requests": loadErrs, "other_job_attempts": otherJobs, "other_log_lines": otherLogs,
			"injected_source_answers": sourceFaults, "injected_job_attempts": injectedJobs, "injected_log_lines": injectedLogs,
			"warnings": warnings, "examples": examples,
		},
		"routes": routes, "samples": s.samples, "rss_growth_pct": growth, "rss_anon_growth_pct": s.anonGrowth(), "heap_growth_pct": s.heapGrowth(), "goroutines": goroutines,
		"mails": s.mails.Load(), "staff_replies": replies,
		"actions": check, "settle_s": round1(settled.Seconds()),
		"goals": goals, "goals_failed": failed, "goal_met": len(failed) == 0,
		"loadavg_start": loadStart, "loadavg_end": readLoadAvg(),
	}
}

// medianSample is, per process, the median of each figure over samples.
func medianSample(samples []map[string]procSample) map[string]procSample {
	out := map[string]procSample{}
	for name := range samples[0] {
		var rss, anon []int64
		var heap, gr []float64
		for _, m := range samples {
			p := m[name]
			rss, anon, heap, gr = append(rss, p.RSSKB), append(anon, p.AnonKB), append(heap, p.HeapInuse), append(gr, p.Goroutines)
		}
		out[name] = procSample{RSSKB: median(rss), AnonKB: median(anon), HeapInuse: median(heap), Goroutines: median(gr)}
	}
	return out
}

func median[T int64 | float64](v []T) T {
	slices.Sort(v)
	return v[len(v)/2]
}

// anonGrowth is each process's anonymous resident memory growth (RSS
// without its binary's mapped code) from the warm-up's end (base) to the last
// samples (last), in percent.
func (s *soak) anonGrowth() map[string]float64 {
	out := map[string]float64{}
	for name, b := range s.base {
		if l := s.last[name]; b.AnonKB > 0 {
			out[name] = round1(float64(l.AnonKB-b.AnonKB) / float64(b.AnonKB) * 100)
		}
	}
	return out
}

// heapGrowth is each process's Go heap growth (spans in use) from the
// warm-up's end (base) to the last samples (last), in percent: a leak
// grows it; RSS alone also holds memory the runtime keeps for later.
func (s *soak) heapGrowth() map[string]float64 {
	out := map[string]float64{}
	for name, b := range s.base {
		if l := s.last[name]; b.HeapInuse > 0 {
			out[name] = round1((l.HeapInuse - b.HeapInuse) / b.HeapInuse * 100)
		}
	}
	return out
}

// growth is each process's resident memory growth from the warm-up's end
// (base) to the last samples (last), in percent, its goroutines then and
// at the end, and whether those stayed flat: within 10% or 10
// goroutines, whichever is more.
func (s *soak) growth() (map[string]float64, map[string][2]float64, bool) {
	growth, gr, flat := map[string]float64{}, map[string][2]float64{}, true
	for name, b := range s.base {
		l := s.last[name]
		growth[name] = round1(float64(l.RSSKB-b.RSSKB) / float64(b.RSSKB) * 100)
		gr[name] = [2]float64{b.Goroutines, l.Goroutines}
		if l.Goroutines-b.Goroutines > max(10, b.Goroutines/10) {
			flat = false
		}
	}
	if s.base == nil {
		flat = false
	}
	return growth, gr, flat
}
