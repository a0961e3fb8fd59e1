package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
)

// SyncConfig is the sync bench, against the simulators:
//   - ingest: records/s from the simulators over HTTP through connector,
//     mapping and cache upsert, next to a raw CopyFrom of the same mapped
//     rows into the same table;
//   - freshness: from a staff edit to visible in the read API, with and
//     without webhooks;
//   - quota: source calls per synced record, and calls per hour at idle.
type SyncConfig struct {
	Server Server
	Deps   DepsFunc
	// Records seed the simulators (the synced share is reported).
	Records int
	// Edits are timed for freshness.
	Edits int
	// Interval is the polling interval of the run without webhooks.
	Interval time.Duration
	// Wide also times the ingest with a mapping of WideFields fields per
	// object (custom fields of the simulated org, filled), on a database
	// of its own, against the shipped mappings' ingest of the same run.
	Wide bool
	// Workers, when set, runs the fleet ingest instead: the first sync of
	// the same data by each count of real worker processes (the first is
	// the baseline), started with WorkerCommand, each connection's calls
	// bounded by a shared daily Budget.
	Workers       []int
	Budget        int
	WorkerCommand WorkerCommandFunc
}

// Validate names the bad setting.
func (c SyncConfig) Validate() error {
	if c.Records < 1 || c.Records > fakesource.MaxRecords || c.Edits < 1 || c.Interval <= 0 {
		return usage("--records must be 1..%d, --edits and --interval positive", fakesource.MaxRecords)
	}
	for _, n := range c.Workers {
		if n < 1 || n > 32 {
			return usage("--workers must be between 1 and 32 processes each; got %d", n)
		}
	}
	if len(c.Workers) == 1 {
		return usage("--workers needs at least two counts to compare, e.g. 1,3")
	}
	if len(c.Workers) > 0 && c.Budget < 1 {
		return usage("--budget must be positive; got %d", c.Budget)
	}
	return nil
}

// RunSync runs ingest, then freshness with polling and with webhooks, each
// freshness run on a database of its own; with Workers, the fleet ingest
// alone.
func RunSync(ctx context.Context, cfg SyncConfig, out Output) error {
	return withDatabase(ctx, cfg, cfg.Server, out, func(db *database) error {
		if len(cfg.Workers) > 0 {
			return syncFleet(ctx, cfg, out, db)
		}
		figures := map[string]any{"bench": "sync"}
		ing, err := syncIngest(ctx, cfg, out, db.pool, db.url)
		if err != nil {
			return err
		}
		addFigures(figures, ing)
		if cfg.Wide {
			wideURL, drop, err := db.extra(ctx, "wide")
			if err != nil {
				return err
			}
			wide, err := syncWideIngest(ctx, cfg, out, wideURL)
			drop()
			if err != nil {
				return err
			}
			wide["wide_vs_shipped"] = round2(wide["wide_records_per_s"].(float64) / ing["records_per_s"].(float64))
			fmt.Fprintf(out.Stdout, "  %d fields per object vs the shipped mappings: %.2f of their records/s\n", WideFields, wide["wide_vs_shipped"])
			addFigures(figures, wide)
		}
		for _, hooks := range []bool{false, true} {
			freshURL, drop, err := db.extra(ctx, fmt.Sprint("fresh_", hooks))
			if err != nil {
				return err
			}
			fr, err := syncFreshness(ctx, cfg, out, freshURL, hooks)
			drop()
			if err != nil {
				return err
			}
			addFigures(figures, fr)
		}
		return writeResult(out.Stdout, figures)
	})
}

func addFigures(to, from map[string]any) {
	for k, v := range from {
		to[k] = v
	}
}

// ingestRun is what a full sync of every target did.
type ingestRun struct {
	records int
	elapsed time.Duration
	calls   int
}

// syncIngest times a full sync of every object, its CopyFrom baseline and
// the calls of an idle polling pass.
func syncIngest(ctx context.Context, cfg SyncConfig, out Output, pool *pgxpool.Pool, dbURL string) (map[string]any, error) {
	fmt.Fprintf(out.Stdout, "ingest: seeding the simulators with %d records\n", cfg.Records)
	st, err := startStack(ctx, dbURL, cfg.Deps, out, fakesource.Options{Seed: 1, Records: cfg.Records}, nil)
	if err != nil {
		return nil, err
	}
	defer st.stop()
	run, ingestRate, copyRate, err := timeIngest(ctx, st, out, pool, nil)
	if err != nil {
		return nil, err
	}
	perHour, err := idleCalls(ctx, st, out)
	if err != nil {
		return nil, err
	}
	deps, err := cfg.Deps(st.cfg)
	if err != nil {
		return nil, err
	}
	idle, err := idleDay(ctx, st, deps.Mappings, out)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"idle_objects":                      idle.objects,
		"idle_calls_per_day":                idle.calls,
		"idle_calls_per_hour_after":         round1(float64(idle.calls) / 24),
		"idle_calls_per_day_per_10_objects": round1(float64(idle.calls) * 10 / float64(idle.objects)),
		"idle_calls_per_day_before":         round1(perHour * 24),
		"idle_ratio_after_before":           round2(float64(idle.calls) / (perHour * 24)),
		"freshness_bound_worst_ratio":       round2(idle.worstRatio),

		"records":                run.records,
		"records_per_s":          round1(ingestRate),
		"baseline_per_s":         round1(copyRate),
		"ratio":                  round2(ingestRate / copyRate),
		"calls_per_1000_records": round2(1000 * float64(run.calls) / float64(run.records)),
		"idle_calls_per_hour":    round1(perHour),
		"idle_interval_seconds":  beforeInterval.Seconds(),
	}, nil
}

// syncWideIngest times a full sync with the wide mapping against its own
// CopyFrom baseline.
func syncWideIngest(ctx context.Context, cfg SyncConfig, out Output, dbURL string) (map[string]any, error) {
	fmt.Fprintf(out.Stdout, "ingest with %d fields per object: seeding the simulators with %d records\n", WideFields, cfg.Records)
	w, err := newWidening(WideFields)
	if err != nil {
		return nil, err
	}
	set, err := w.Set()
	if err != nil {
		return nil, err
	}
	opts := fakesource.Options{Seed: 1, Records: cfg.Records}
	w.SimOptions(&opts)
	deps := func(c *config.Config) (app.Deps, error) {
		d, err := cfg.Deps(c)
		d.Mappings = set
		return d, err
	}
	st, err := startStack(ctx, dbURL, deps, out, opts, nil)
	if err != nil {
		return nil, err
	}
	defer st.stop()
	run, rate, copyRate, err := timeIngest(ctx, st, out, st.app.Pool(), func() error { return wideCached(ctx, st) })
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"wide_fields": WideFields, "wide_records": run.records, "wide_records_per_s": round1(rate), "wide_baseline_per_s": round1(copyRate),
		"wide_ratio": round2(rate / copyRate), "wide_calls_per_1000_records": round2(1000 * float64(run.calls) / float64(run.records)),
	}, nil
}

// timeIngest times a full sync of every object and, after check (if any)
// has looked at what was synced, a CopyFrom of the same rows into the same
// table through pool.
func timeIngest(ctx context.Context, st *stack, out Output, pool *pgxpool.Pool, check func() error) (run ingestRun, rate, copyRate float64, err error) {
	if run, err = fullSync(ctx, st, out); err != nil {
		return run, 0, 0, err
	}
	rate = float64(run.records) / run.elapsed.Seconds()
	fmt.Fprintf(out.Stdout, "  synced %d records in %s: %.0f records/s, %d source calls\n", run.records, run.elapsed.Round(time.Millisecond), rate, run.calls)
	if check != nil {
		if err := check(); err != nil {
			return run, 0, 0, err
		}
	}
	if copyRate, err = copyBaseline(ctx, pool); err != nil {
		return run, 0, 0, err
	}
	fmt.Fprintf(out.Stdout, "  baseline: CopyFrom of the same %d mapped rows into the same table: %.0f records/s\n", run.records, copyRate)
	return run, rate, copyRate, nil
}

// wideCached checks that the cache holds the wide fields: a case's last
// one has the value the simulated org filled it with.
func wideCached(ctx context.Context, st *stack) error {
	id, err := st.sim.SeedID(fakesource.Salesforce, "Case", 0)
	if err != nil {
		return err
	}
	rec, err := st.app.Records().Get(ctx, access.Scope{TenantID: st.app.TenantID(), Staff: true}, "case", id, records.GetOptions{})
	if err != nil {
		return err
	}
	last := fmt.Sprintf("x_wide_%02d", WideFields)
	var fields map[string]any
	if err := json.Unmarshal(rec.Fields, &fields); err != nil {
		return fmt.Errorf("bench: the cached case %s: %w", id, err)
	}
	if fields[last] == nil {
		return fmt.Errorf("bench: the cached case %s lacks %s", id, last)
	}
	return nil
}

// fullSync syncs every target as the workers do: accounts first (what
// others resolve their owner through), then every other object at once on
// as many goroutines as the sync queue has worker slots.
func fullSync(ctx context.Context, st *stack, out Output) (ingestRun, error) {
	s := st.app.Syncer()
	calls0 := st.sim.Stats().CallCount("", "", 0)
	start := time.Now()
	var (
		mu     sync.Mutex
		synced int
		errs   []error
	)
	syncTarget := func(t syncer.Target) {
		t0 := time.Now()
		res, err := s.Full(ctx, t.Connection, t.Object)
		d := time.Since(t0)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		synced += res.Records
		fmt.Fprintf(out.Stdout, "  %-10s %-16s %7d records in %7s (%6.0f/s)\n", t.Connection, t.Object, res.Records, d.Round(time.Millisecond), float64(res.Records)/d.Seconds())
	}
	queue := make(chan syncer.Target, len(s.Targets()))
	for _, t := range s.Targets() {
		if t.Portal == "account" {
			syncTarget(t)
			continue
		}
		queue <- t
	}
	close(queue)
	var wg sync.WaitGroup
	for range st.cfg.River.SyncWorkers {
		wg.Go(func() {
			for t := range queue {
				syncTarget(t)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return ingestRun{}, errs[0]
	}
	return ingestRun{records: synced, elapsed: time.Since(start), calls: st.sim.Stats().CallCount("", "", 0) - calls0}, nil
}

// copyBaseline reads the cached rows back, empties the table and times a
// raw CopyFrom of the same rows into it.
func copyBaseline(ctx context.Context, pool *pgxpool.Pool) (float64, error) {
	all, err := store.RecordSnapshot(ctx, pool)
	if err != nil {
		return 0, err
	}
	if len(all) == 0 {
		return 0, errors.New("bench: nothing was synced")
	}
	if err := store.BenchRecordsTruncate(ctx, pool); err != nil {
		return 0, err
	}
	start := time.Now()
	n, err := store.RecordCopyFrom(ctx, pool, all)
	if err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// beforeInterval is the one polling interval every object had before
// intervals came from freshness targets (sync.interval's old default).
const beforeInterval = 30 * time.Second

// idleCalls counts the calls of a steady-state incremental pass over every
// object with no changes, which is what each polling interval cost before
// intervals came from freshness, and returns them per hour at the old
// 30 s interval.
func idleCalls(ctx context.Context, st *stack, out Output) (float64, error) {
	s := st.app.Syncer()
	calls0 := st.sim.Stats().CallCount("", "", 0)
	for _, t := range s.Targets() {
		if _, err := s.Incremental(ctx, t.Connection, t.Object); err != nil {
			return 0, err
		}
	}
	idlePass := st.sim.Stats().CallCount("", "", 0) - calls0
	perHour := float64(idlePass) * float64(time.Hour/beforeInterval)
	fmt.Fprintf(out.Stdout, "  idle before: %d calls per polling pass over %d objects = %.0f calls/hour at one %s interval\n",
		idlePass, len(s.Targets()), perHour, beforeInterval)
	return perHour, nil
}

// idleFigures are an idle day's polls as the workers run them now.
type idleFigures struct {
	objects    int
	calls      int
	worstRatio float64 // the longest wait for a change to be seen, over its freshness target
}

// idleDay runs the poll jobs of every connection over a simulated idle
// day: the clock the syncer schedules by is advanced tick by tick, and
// every poll due sends its real calls to the simulators, which count them.
// Only the clock is simulated; the calls, the probes and the pulls are
// real. It also reports the schedule's worst case: a change made just
// after a poll of an object at its longest wait is seen one wait plus one
// tick of its connection's poll later.
func idleDay(ctx context.Context, st *stack, set *mapping.Set, out Output) (idleFigures, error) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := syncer.New(syncer.Options{Pool: st.app.Pool(), TenantID: st.app.TenantID(), Connectors: st.app.Sources().Connectors(),
		Mappings: set, Now: clock, Logger: out.warnLogger()})
	scheds := s.Schedules(nil)
	w := &syncer.PollWorker{Syncer: s, Schedules: scheds}
	tick := map[string]time.Duration{}
	for _, t := range s.Targets() {
		b := scheds[t.Connection+"/"+t.Object].Base
		if cur, ok := tick[t.Connection]; !ok || b < cur {
			tick[t.Connection] = b
		}
	}
	var f idleFigures
	for _, t := range s.Targets() {
		f.objects++
		obj, ok := set.BySource(t.Connection, t.Object)
		if !ok {
			continue
		}
		worst := scheds[t.Connection+"/"+t.Object].Max + tick[t.Connection]
		f.worstRatio = max(f.worstRatio, float64(worst)/float64(obj.Freshness()))
	}
	poll := func(conn string) error {
		return w.Work(ctx, &river.Job[syncer.PollArgs]{Args: syncer.PollArgs{Connection: conn}})
	}
	// Warm-up: the first poll of each object after the full sync, and an
	// hour for the back-off to settle.
	const step = 5 * time.Second
	run := func(d time.Duration) error {
		for el := time.Duration(0); el < d; el += step {
			for conn, every := range tick {
				if el%every == 0 {
					if err := poll(conn); err != nil {
						return err
					}
				}
			}
			mu.Lock()
			now = now.Add(step)
			mu.Unlock()
		}
		return nil
	}
	if err := run(time.Hour); err != nil {
		return f, err
	}
	calls0 := st.sim.Stats().CallCount("", "", 0)
	if err := run(24 * time.Hour); err != nil {
		return f, err
	}
	f.calls = st.sim.Stats().CallCount("", "", 0) - calls0
	fmt.Fprintf(out.Stdout, "  idle after: %d calls in a simulated idle day over %d objects (%.0f per 10 objects), polled from freshness targets with back-off and Composite probes\n",
		f.calls, f.objects, float64(f.calls)*10/float64(f.objects))
	fmt.Fprintf(out.Stdout, "  freshness bound: a change is seen within %.2f of its object's target at worst (longest wait + one tick)\n", f.worstRatio)
	return f, nil
}

// syncFreshness times staff edits until they are visible in the read API.
func syncFreshness(ctx context.Context, cfg SyncConfig, out Output, dbURL string, hooks bool) (map[string]any, error) {
	mode, prefix := "polling", "fresh_poll_"
	if hooks {
		mode, prefix = "webhooks", "fresh_hook_"
	}
	fmt.Fprintf(out.Stdout, "freshness with %s: %d staff edits\n", mode, cfg.Edits)
	st, err := startFreshStack(ctx, cfg, out, dbURL, hooks)
	if err != nil {
		return nil, err
	}
	defer st.stop()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- st.app.Run(runCtx, nil) }()
	defer func() { cancel(); <-done }() //nolint:errcheck // waits for Run to return; its error after the cancel is not the bench's

	caseCount := st.sim.Stats().Records["salesforce"]["Case"]
	// Wait for the first sync to cover the cases.
	if err := waitFor(ctx, 2*time.Minute, func() bool { return cachedCases(ctx, st) >= int64(caseCount) }); err != nil {
		return nil, fmt.Errorf("bench: first sync: %w", err)
	}
	calls0 := st.sim.Stats().CallCount("", "", 0)
	lat, err := timeEdits(ctx, st, cfg.Edits, caseCount, 10*cfg.Interval+30*time.Second)
	if err != nil {
		return nil, err
	}
	calls := st.sim.Stats().CallCount("", "", 0) - calls0
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	fmt.Fprintf(out.Stdout, "  edit to visible: p50 %s  p99 %s; %d source calls for %d changed records (%.2f per record)\n",
		p50, p99, calls, cfg.Edits, float64(calls)/float64(cfg.Edits))
	figures := map[string]any{prefix + "p50_ms": ms(p50), prefix + "p99_ms": ms(p99), prefix + "calls_per_changed_record": round2(float64(calls) / float64(cfg.Edits))}
	if !hooks {
		figures[prefix+"interval_ms"] = ms(cfg.Interval)
	}
	return figures, nil
}

// startFreshStack starts a stack for a freshness run: polling at the
// configured interval, or webhooks alone.
func startFreshStack(ctx context.Context, cfg SyncConfig, out Output, dbURL string, hooks bool) (*stack, error) {
	// The API must be reachable by the simulator's webhooks: pick its
	// address first.
	ln, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	apiURL := "http://" + addr
	_ = ln.Close() // the app listens on it
	simOpts := fakesource.Options{Seed: 2, Records: 3000}
	if hooks {
		simOpts.WebhookURL = apiURL + "/hooks/{system}"
	}
	return startStack(ctx, dbURL, cfg.Deps, out, simOpts, func(c *config.Config) {
		c.HTTP.Addr = addr
		c.HTTP.PublicURL = apiURL
		c.Sync.Interval = cfg.Interval
		if hooks {
			c.Sync.Interval = time.Hour // webhooks alone
		}
	})
}

// cachedCases counts the live cached cases.
func cachedCases(ctx context.Context, st *stack) int64 {
	n, _ := store.BenchCachedRecords(ctx, st.app.Pool(), "Case")
	return n
}

// timeEdits makes edits staff edits of cases, one every 50 ms, and returns
// how long each took to become visible in the read API, sorted.
func timeEdits(ctx context.Context, st *stack, edits, caseCount int, timeout time.Duration) ([]time.Duration, error) {
	reader, staff := st.app.Records(), access.Scope{TenantID: st.app.TenantID(), Staff: true}
	visibleVersion := func(id string) string {
		rec, err := reader.Get(ctx, staff, "case", id, records.GetOptions{})
		if err != nil {
			return ""
		}
		return rec.Version
	}
	var (
		mu  sync.Mutex
		lat []time.Duration
		wg  sync.WaitGroup
	)
	for i := range edits {
		id, err := st.sim.SeedID("salesforce", "Case", i%caseCount)
		if err != nil {
			return nil, err
		}
		before := visibleVersion(id)
		start := time.Now()
		if err := st.sim.StaffEdit("salesforce", "Case", id, map[string]any{"Subject": fmt.Sprintf("bench edit %d", i)}); err != nil {
			return nil, err
		}
		wg.Go(func() {
			if waitFor(ctx, timeout, func() bool { return visibleVersion(id) != before }) == nil {
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}
		})
		time.Sleep(50 * time.Millisecond) // an edit every 50 ms: a steady stream, not a burst
	}
	wg.Wait()
	if len(lat) < edits {
		return nil, fmt.Errorf("bench: %d of %d edits never became visible", edits-len(lat), edits)
	}
	slices.Sort(lat)
	return lat, nil
}
