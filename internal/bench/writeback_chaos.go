package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/writeback"
)

// WorkerConfig is the writeback chaos run's worker process: a Portico
// worker on DatabaseURL, pointed at the parent's simulator.
type WorkerConfig struct {
	Deps        DepsFunc
	DatabaseURL string
	// Credentials are the simulated CRM's, as JSON.
	Credentials string
}

// RunWritebackWorker runs the chaos run's worker until SIGTERM.
func RunWritebackWorker(ctx context.Context, cfg WorkerConfig, out Output) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	var cr fakesource.SystemCredentials
	if err := json.Unmarshal([]byte(cfg.Credentials), &cr); err != nil {
		return usage("--worker-creds: %v", err)
	}
	acfg := chaosWorkerConfig(cfg.DatabaseURL, cr)
	deps, err := cfg.Deps(&acfg)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, &acfg, out.errorLogger(), app.Mode{Work: true}, deps)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx, nil)
}

func chaosWorkerConfig(dbURL string, cr fakesource.SystemCredentials) config.Config {
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.Secrets.EncryptionKey = testEncryptionKey
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

// chaosRun is the chaos run's accepting process and its worker processes.
type chaosRun struct {
	cfg     WritebackConfig
	out     Output
	dbURL   string
	st      *stack
	creds   string
	workers []*exec.Cmd
	start   time.Time
}

// startWorker starts one worker process.
func (r *chaosRun) startWorker(ctx context.Context) error {
	w, err := r.cfg.WorkerCommand(ctx, r.dbURL, r.creds)
	if err != nil {
		return err
	}
	w.Stdout, w.Stderr = r.out.Stderr, r.out.Stderr
	if err := w.Start(); err != nil {
		return err
	}
	r.workers = append(r.workers, w)
	return nil
}

func (r *chaosRun) stopWorkers() {
	for _, w := range r.workers {
		_ = w.Process.Signal(syscall.SIGTERM)
		_ = w.Wait()
	}
}

func (r *chaosRun) applied(ctx context.Context) int64 {
	n, _ := store.BenchActionCount(ctx, r.st.app.Pool(), writeback.StateApplied)
	return n
}

func (r *chaosRun) running(ctx context.Context) int {
	n, _ := store.RiverJobsRunning(ctx, r.st.app.Pool())
	return n
}

func (r *chaosRun) elapsed() float64 { return time.Since(r.start).Seconds() }

// chaosResult is what the run saw before the check.
type chaosResult struct {
	ids      []int64
	orphaned int
	elapsed  time.Duration
}

// writebackChaos accepts actions through faults while a worker process is
// killed with SIGKILL and the source goes out, then checks every action
// against the source.
func writebackChaos(ctx context.Context, cfg WritebackConfig, out Output, dbURL string) (map[string]any, error) {
	if cfg.WorkerCommand == nil {
		return nil, fmt.Errorf("bench: the chaos run needs a worker command")
	}
	st, err := startStack(ctx, dbURL, cfg.Deps, out, fakesource.Options{Seed: 4, Records: 2000}, func(c *config.Config) {
		c.Connections = c.Connections[:1]
	})
	if err != nil {
		return nil, err
	}
	defer st.stop()
	// This process only accepts: its River client is never started.
	creds, err := json.Marshal(st.sim.Credentials(st.srv.URL).Salesforce)
	if err != nil {
		return nil, err
	}
	r := &chaosRun{cfg: cfg, out: out, dbURL: dbURL, st: st, creds: string(creds)}
	defer r.stopWorkers()
	cases0 := st.sim.Stats().Records[fakesource.Salesforce]["Case"]
	res, err := r.run(ctx)
	if err != nil {
		return nil, err
	}
	return r.check(ctx, res, cases0)
}

// run accepts the actions, kills the first worker and starts the outage
// on the way, and waits until every action is settled.
func (r *chaosRun) run(ctx context.Context) (chaosResult, error) {
	sim, total := r.st.sim, r.cfg.Actions
	faults := fakesource.Faults{ErrorRate: 0.2, RateLimitRate: 0.05, RetryAfterSeconds: 1, LatencyMinMS: 5, LatencyMaxMS: 50}
	if err := sim.SetFaults(fakesource.Salesforce, faults); err != nil {
		return chaosResult{}, err
	}
	customers, err := seededCustomers(sim, 50)
	if err != nil {
		return chaosResult{}, err
	}
	fmt.Fprintf(r.out.Stdout, "chaos: %d actions at %d/s; 20%% 5xx, 5%% 429, a %s outage, one worker killed with SIGKILL\n", total, r.cfg.Rate, r.cfg.Outage)
	if err := r.startWorker(ctx); err != nil {
		return chaosResult{}, err
	}
	r.start = time.Now()
	type submitted struct {
		ids []int64
		err error
	}
	done := make(chan submitted, 1)
	go func() {
		a := r.st.app
		ids, err := submitAt(ctx, a.Actions(), a.TenantID(), customers, total, r.cfg.Rate, "chaos")
		done <- submitted{ids, err}
	}()
	orphaned, err := r.killFirstWorker(ctx)
	if err != nil {
		return chaosResult{}, err
	}
	faults.OutageSeconds = r.cfg.Outage.Seconds()
	if err := sim.SetFaults(fakesource.Salesforce, faults); err != nil {
		return chaosResult{}, err
	}
	if err := r.startWorker(ctx); err != nil {
		return chaosResult{}, err
	}
	sub := <-done
	if sub.err != nil {
		return chaosResult{}, sub.err
	}
	fmt.Fprintf(r.out.Stdout, "  %.1fs: %d actions accepted\n", r.elapsed(), len(sub.ids))
	if err := r.waitSettled(ctx, len(sub.ids)); err != nil {
		return chaosResult{}, err
	}
	return chaosResult{ids: sub.ids, orphaned: orphaned, elapsed: time.Since(r.start)}, nil
}

// killFirstWorker waits until a tenth of the actions are applied and the
// worker holds running jobs, kills it with SIGKILL and returns how many
// jobs it held.
func (r *chaosRun) killFirstWorker(ctx context.Context) (int, error) {
	total := r.cfg.Actions
	if err := waitFor(ctx, 5*time.Minute, func() bool {
		return r.applied(ctx) >= int64(total/10) && r.running(ctx) > 0
	}); err != nil {
		return 0, fmt.Errorf("waiting for the first worker to get going: %w", err)
	}
	if err := r.workers[0].Process.Kill(); err != nil { // SIGKILL
		return 0, err
	}
	_ = r.workers[0].Wait()
	r.workers = r.workers[1:]
	orphaned := r.running(ctx)
	fmt.Fprintf(r.out.Stdout, "  %.1fs: worker killed with SIGKILL holding %d running jobs (%d applied so far); outage of %s begins; a new worker starts\n",
		r.elapsed(), orphaned, r.applied(ctx), r.cfg.Outage)
	return orphaned, nil
}

// waitSettled waits until n actions are applied or none is open, with a
// progress line every tenth or 10 s.
func (r *chaosRun) waitSettled(ctx context.Context, n int) error {
	pool, total := r.st.app.Pool(), int64(r.cfg.Actions)
	last, lastReport := int64(-1), time.Now()
	err := waitFor(ctx, 10*time.Minute, func() bool {
		k := r.applied(ctx)
		if k/(total/10+1) != last/(total/10+1) || time.Since(lastReport) > 10*time.Second {
			fmt.Fprintf(r.out.Stdout, "  %.1fs: %d applied; waiting: %s\n", r.elapsed(), k, waitReasons(ctx, pool))
			lastReport = time.Now()
		}
		last = k
		open, _ := store.BenchActionsOpen(ctx, pool)
		return k >= int64(n) || open == 0
	})
	if err != nil {
		return fmt.Errorf("waiting for the actions: %w", err)
	}
	return nil
}

// waitReasons summarises why open actions wait, for progress lines.
func waitReasons(ctx context.Context, db store.DBTX) string {
	reasons, err := store.BenchActionWaitReasons(ctx, db)
	if err != nil {
		return err.Error()
	}
	if len(reasons) == 0 {
		return "none"
	}
	return strings.Join(reasons, "; ")
}

// chaosCheck is the check of every accepted action against the source.
type chaosCheck struct {
	applied, mismatched, wrongKey int
	seen                          map[string]bool
}

// check compares every accepted action with the source, faults off, and
// returns the run's figures.
func (r *chaosRun) check(ctx context.Context, res chaosResult, cases0 int) (map[string]any, error) {
	sim, pool := r.st.sim, r.st.app.Pool()
	if err := sim.SetFaults(fakesource.Salesforce, fakesource.Faults{}); err != nil {
		return nil, err
	}
	c, err := r.checkActions(ctx, res.ids)
	if err != nil {
		return nil, err
	}
	created := sim.Stats().Records[fakesource.Salesforce]["Case"] - cases0
	duplicates := created - len(c.seen)
	lost := len(res.ids) - c.applied
	rescued, _ := store.RiverJobsRescued(ctx, pool, writeback.ApplyArgs{}.Kind())
	exactlyOnce := duplicates == 0 && lost == 0 && c.wrongKey == 0 && c.mismatched == 0 && created == len(res.ids)
	fmt.Fprintf(r.out.Stdout, "accepted %d, applied %d, duplicates %d, lost %d; cache mismatches %d; %d jobs of the killed worker rescued; %.1fs\n",
		len(res.ids), c.applied, duplicates, lost, c.mismatched, rescued, res.elapsed.Seconds())
	return map[string]any{
		"bench":             "writeback_chaos",
		"accepted":          len(res.ids),
		"applied":           c.applied,
		"duplicates":        duplicates,
		"lost":              lost,
		"cache_mismatches":  c.mismatched,
		"wrong_keys":        c.wrongKey,
		"key_replays":       sim.Stats().Duplicates,
		"orphaned_jobs":     res.orphaned,
		"rescued_jobs":      rescued,
		"outage_s":          r.cfg.Outage.Seconds(),
		"seconds":           round1(res.elapsed.Seconds()),
		"exactly_once":      exactlyOnce,
		"baseline_accepted": len(res.ids), // the baseline of a chaos run: every accepted action, once
		"ratio":             round2(float64(c.applied-duplicates) / float64(max(len(res.ids), 1))),
	}, nil
}

// checkActions finds, for each applied action, its case at the source by
// the action's key, and compares the cached version with the source's.
func (r *chaosRun) checkActions(ctx context.Context, ids []int64) (chaosCheck, error) {
	a, sim := r.st.app, r.st.sim
	conn := a.Sources().Connectors()[fakesource.Salesforce]
	c := chaosCheck{seen: map[string]bool{}}
	for _, id := range ids {
		act, err := a.Actions().Get(ctx, a.TenantID(), id)
		if err != nil {
			return c, err
		}
		if act.State != writeback.StateApplied {
			continue
		}
		c.applied++
		c.seen[act.ResultID] = true
		src, err := sim.Record(fakesource.Salesforce, "Case", act.ResultID)
		if err != nil || src["Portico_Action_Id__c"] != writeback.SourceKey(a.TenantID(), id) {
			c.wrongKey++
			continue
		}
		rec, err := conn.Get(ctx, "Case", act.ResultID)
		if err != nil {
			return c, err
		}
		if version, err := store.BenchRecordVersion(ctx, a.Pool(), act.ResultID); err != nil || version != rec.Version {
			c.mismatched++
		}
	}
	return c, nil
}
