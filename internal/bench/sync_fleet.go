package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/store"
)

// WorkerCommandFunc makes the command of one `portico worker` process
// reading its configuration from configFile.
type WorkerCommandFunc func(ctx context.Context, configFile string) (*exec.Cmd, error)

// fleetRun is one first sync of every object by a fleet of worker
// processes.
type fleetRun struct {
	workers int
	// bound is the Salesforce connection's daily budget when the run
	// was bound by it (0: the run's --budget).
	bound int
	done  bool // every object's first sync succeeded
	// records are the live records cached; stored what the full runs
	// stored, resumed and repeated runs included.
	records, stored int64
	// repeats are the objects whose first sync took more than one run.
	repeats []string
	// span is from the first full sync's start to the last one's end;
	// wall adds the processes' start.
	span, wall time.Duration
	calls      map[string]int // per connection, as the simulator counted them
	budgets    []store.SourceBudgetListRow
}

func (r fleetRun) rate() float64 { return float64(r.records) / r.span.Seconds() }

// overBudget names every connection whose calls the simulator counted
// exceed the day's budget the fleet shared.
func (r fleetRun) overBudget() []string {
	var over []string
	for _, b := range r.budgets {
		if b.DayCap > 0 && float64(r.calls[b.Connection]) > b.DayCap {
			over = append(over, fmt.Sprintf("%s: %d calls, budget %.0f", b.Connection, r.calls[b.Connection], b.DayCap))
		}
	}
	return over
}

// syncFleet runs the first sync of the same simulated data with each
// --workers count of real worker processes, then once more with the
// largest fleet and Salesforce's daily budget at half the calls the first
// run made, which the fleet must stop at.
func syncFleet(ctx context.Context, cfg SyncConfig, out Output, db *database) error {
	if cfg.WorkerCommand == nil {
		return errors.New("bench: --workers needs a worker command")
	}
	fmt.Fprintf(out.Stdout, "fleet ingest: %d records seeded, the first sync by 1 worker process and by more, each on a database of its own; budget %d calls per connection and day\n",
		cfg.Records, cfg.Budget)
	var runs []fleetRun
	for _, n := range cfg.Workers {
		r, err := fleetIngest(ctx, cfg, out, db, n, 0)
		if err != nil {
			return err
		}
		if !r.done {
			return fmt.Errorf("bench: %d workers did not finish the first sync", n)
		}
		runs = append(runs, r)
	}
	base, top := runs[0], runs[len(runs)-1]
	bound := max(20, base.calls[fakesource.Salesforce]/2)
	b, err := fleetIngest(ctx, cfg, out, db, top.workers, bound)
	if err != nil {
		return err
	}
	figures := map[string]any{
		"bench":          "sync_fleet",
		"records":        top.records,
		"workers":        top.workers,
		"records_per_s":  round1(top.rate()),
		"baseline":       fmt.Sprintf("%d worker process", base.workers),
		"baseline_per_s": round1(base.rate()),
		"ratio":          round2(top.rate() / base.rate()),
	}
	var over []string
	var list []map[string]any
	for _, r := range append(runs, b) {
		over = append(over, r.overBudget()...)
		list = append(list, r.figures())
	}
	figures["runs"] = list
	figures["bound_salesforce_budget"] = bound
	figures["bound_salesforce_calls"] = b.calls[fakesource.Salesforce]
	figures["never_over_budget"] = len(over) == 0
	fmt.Fprintf(out.Stdout, "ingest %d worker processes vs %d: %.0f vs %.0f records/s, ratio %.2f\n", top.workers, base.workers, top.rate(), base.rate(), top.rate()/base.rate())
	fmt.Fprintf(out.Stdout, "bound run: %d workers with Salesforce's budget at %d calls made %d Salesforce calls\n", b.workers, bound, b.calls[fakesource.Salesforce])
	if len(over) > 0 {
		return fmt.Errorf("bench: the fleet exceeded its budget: %s", strings.Join(over, "; "))
	}
	if b.calls[fakesource.Salesforce] > bound {
		return fmt.Errorf("bench: the bound fleet made %d Salesforce calls, over its budget of %d", b.calls[fakesource.Salesforce], bound)
	}
	return writeResult(out.Stdout, figures)
}

func (r fleetRun) figures() map[string]any {
	f := map[string]any{
		"workers": r.workers, "done": r.done, "records": r.records, "records_stored": r.stored, "repeated_full_runs": len(r.repeats),
		"seconds": round2(r.span.Seconds()), "wall_seconds": round2(r.wall.Seconds()),
		"records_per_s": round1(r.rate()),
	}
	if r.bound > 0 {
		f["bound_salesforce_budget"] = r.bound
	}
	for _, b := range r.budgets {
		f[b.Connection] = map[string]any{"calls": r.calls[b.Connection], "budget_spent": b.Spent, "budget_day_cap": b.DayCap}
	}
	return f
}

// fleetIngest seeds a simulator, starts workers worker processes on a new
// database and waits for the first sync of every object, or, with bound
// set (Salesforce's daily budget), until the fleet stops calling.
func fleetIngest(ctx context.Context, cfg SyncConfig, out Output, db *database, workers, bound int) (fleetRun, error) {
	run := fleetRun{workers: workers, bound: bound, calls: map[string]int{}}
	url, drop, err := db.extra(ctx, fmt.Sprintf("fleet%d", workers))
	if err != nil {
		return run, err
	}
	defer drop()
	sim, err := fakesource.New(fakesource.Options{Seed: 1, Records: cfg.Records})
	if err != nil {
		return run, err
	}
	srv := httptest.NewServer(sim.Handler())
	defer func() { srv.Close(); sim.Close() }()
	acfg := stackConfig(url, sim.Credentials(srv.URL), func(c *config.Config) {
		for i := range c.Connections {
			c.Connections[i].Quota.PerDay = cfg.Budget
			if bound > 0 && c.Connections[i].Name == fakesource.Salesforce {
				c.Connections[i].Quota.PerDay = bound
			}
		}
	})
	deps, err := cfg.Deps(&acfg)
	if err != nil {
		return run, err
	}
	targets := 0
	for _, obj := range deps.Mappings.Objects() {
		if slices.ContainsFunc(acfg.Connections, func(c config.ConnectionConfig) bool { return c.Name == obj.Connection() }) {
			targets++
		}
	}
	dir, err := os.MkdirTemp("", "portico-bench-fleet-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "worker.yaml")
	raw, err := acfg.YAML()
	if err != nil {
		return run, err
	}
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		return run, err
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return run, err
	}
	defer pool.Close()

	label := fmt.Sprintf("%d worker processes", workers)
	if bound > 0 {
		label += fmt.Sprintf(", Salesforce's budget %d calls", bound)
	}
	fmt.Fprintf(out.Stdout, "  %s: starting\n", label)
	start := time.Now()
	var procs []*exec.Cmd
	defer func() { stopWorkers(procs) }()
	for range workers {
		cmd, err := cfg.WorkerCommand(ctx, file)
		if err != nil {
			return run, err
		}
		cmd.Stdout, cmd.Stderr = out.Stderr, out.Stderr
		if err := cmd.Start(); err != nil {
			return run, err
		}
		procs = append(procs, cmd)
	}
	var row store.BenchFullSyncsRow
	lastCalls, still := -1, time.Now()
	err = pollFor(ctx, 30*time.Minute, 100*time.Millisecond, func() bool {
		row, err = store.BenchFullSyncs(ctx, pool)
		if err != nil {
			return false
		}
		if row.ObjectsDone >= int64(targets) {
			run.done = true
			return true
		}
		if bound == 0 {
			return false
		}
		// Bound: done once Salesforce has had no call for 3 s.
		n := sim.Stats().CallCount(fakesource.Salesforce, "", 0)
		if n != lastCalls {
			lastCalls, still = n, time.Now()
		}
		return n > 0 && time.Since(still) > 3*time.Second
	})
	run.wall = time.Since(start)
	if err != nil {
		return run, fmt.Errorf("bench: %s: %w", label, err)
	}
	stopWorkers(procs)
	procs = nil
	if row, err = store.BenchFullSyncs(ctx, pool); err != nil {
		return run, err
	}
	run.records, run.stored = row.Cached, row.Records
	if run.repeats, err = store.BenchFullSyncRepeats(ctx, pool); err != nil {
		return run, err
	}
	run.span = row.LastFinished.Time.Sub(row.FirstStarted.Time)
	st := sim.Stats()
	for _, c := range acfg.Connections {
		run.calls[c.Name] = st.CallCount(c.Name, "", 0)
	}
	if run.budgets, err = store.SourceBudgetList(ctx, pool); err != nil {
		return run, err
	}
	fmt.Fprintf(out.Stdout, "  %s: %d records in %s (%.0f records/s; %s with the processes' start), all objects done: %v\n",
		label, run.records, run.span.Round(time.Millisecond), run.rate(), run.wall.Round(time.Millisecond), run.done)
	fmt.Fprintf(out.Stdout, "    the full runs stored %d records; objects with more than one full run: %s\n", run.stored, orNone(run.repeats))
	for _, b := range run.budgets {
		fmt.Fprintf(out.Stdout, "    %-10s %6d calls counted by the source, %6d taken from the shared budget of %.0f a day\n",
			b.Connection, run.calls[b.Connection], b.Spent, b.DayCap)
	}
	return run, nil
}

// stopWorkers stops worker processes as an operator would: SIGTERM, then
// waiting for them to drain.
func stopWorkers(procs []*exec.Cmd) {
	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		_ = p.Wait()
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}
