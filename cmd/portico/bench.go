package main

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/bench"
	"github.com/porticohq/portico/internal/config"
)

// benchCmd groups the benchmarks of internal/bench. Each prints progress
// for people and, as its last line, one JSON object with its figures
// (DESIGN.md); these commands only turn flags into the bench's Config.
func (c *cli) benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run a benchmark; the last line of output is one JSON object of figures",
	}
	cmd.AddCommand(
		c.benchRiverCmd(),
		c.benchSyncCmd(),
		c.benchConnectorsCmd(),
		c.benchMappingCmd(),
		c.benchAPICmd(),
		c.benchWritebackCmd(),
		c.benchWebCmd(),
		c.benchNotifyCmd(),
		c.benchQuotaCmd(),
		c.benchFilesCmd(),
		c.benchTracingCmd(),
		c.benchSoakCmd(),
	)
	return cmd
}

// validator is a bench Config.
type validator interface{ Validate() error }

// runBench validates cfg (bad usage exits 2); for a bench with a
// database, loads the configuration and hands it to configured; then runs
// the bench (a failure exits 1).
func runBench[C validator](cmd *cobra.Command, c *cli, cfg *C, configured func(*config.Config), run func(context.Context, C, bench.Output) error) error {
	if err := (*cfg).Validate(); err != nil {
		return usageErr("%v", err)
	}
	if configured != nil {
		loaded, err := c.loadConfig(cmd)
		if err != nil {
			return err
		}
		configured(loaded)
	}
	if err := run(cmd.Context(), *cfg, c.benchOutput()); err != nil {
		return failed(err)
	}
	return nil
}

// benchCommand is the command of a bench whose flags fill cfg.
func benchCommand[C validator](c *cli, use, short string, cfg *C, configured func(*config.Config), run func(context.Context, C, bench.Output) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd, c, cfg, configured, run)
		},
	}
}

func (c *cli) benchOutput() bench.Output { return bench.Output{Stdout: c.stdout, Stderr: c.stderr} }

// benchServer is where a bench makes its databases: the configured
// server, or a private cluster when none is configured.
func (c *cli) benchServer(cfg *config.Config) bench.Server {
	return bench.Server{URL: cfg.DatabaseURL, Logger: c.logger(cfg)}
}

// serverInto sets *srv from the loaded configuration.
func (c *cli) serverInto(srv *bench.Server) func(*config.Config) {
	return func(loaded *config.Config) { *srv = c.benchServer(loaded) }
}

func (c *cli) benchRiverCmd() *cobra.Command {
	var cfg bench.RiverConfig
	cmd := benchCommand(c, "river", "Queue throughput per worker slot and queue wait: Portico's fetch settings vs River's defaults", &cfg, c.serverInto(&cfg.Server), bench.RunRiver)
	cmd.Flags().IntVar(&cfg.Jobs, "jobs", 200, "jobs through one worker slot")
	cmd.Flags().IntVar(&cfg.Trickle, "trickle", 50, "jobs inserted one at a time for the queue-wait figure")
	return cmd
}

func (c *cli) benchSyncCmd() *cobra.Command {
	cfg := bench.SyncConfig{Deps: appDeps, WorkerCommand: syncWorkerCommand}
	cmd := benchCommand(c, "sync", "Sync ingest vs raw CopyFrom, staff-edit-to-visible latency with and without webhooks, API calls per record; --workers 1,3: the first sync by fleets of worker processes within a shared budget", &cfg, c.serverInto(&cfg.Server), bench.RunSync)
	cmd.Flags().IntVar(&cfg.Records, "records", 340000, "records the simulators are seeded with (the synced share is reported)")
	cmd.Flags().IntVar(&cfg.Edits, "edits", 200, "staff edits timed for freshness")
	cmd.Flags().DurationVar(&cfg.Interval, "interval", 2*time.Second, "polling interval for the run without webhooks")
	cmd.Flags().BoolVar(&cfg.Wide, "wide", true, "also time the ingest with a mapping of 60 fields per object (custom fields of the simulated org, filled) against the shipped mappings'")
	cmd.Flags().IntSliceVar(&cfg.Workers, "workers", nil, "run the fleet ingest instead: the first sync of the same data by each count of `portico worker` processes (the first is the baseline), e.g. 1,3, then the largest fleet bound by half the Salesforce calls the first needed")
	cmd.Flags().IntVar(&cfg.Budget, "budget", 100000, "each connection's daily call budget the fleet shares (connections.*.quota.per_day) in the --workers runs")
	return cmd
}

// syncWorkerCommand is a worker process of `bench sync --workers`: this
// binary as `portico --config FILE worker`.
func syncWorkerCommand(ctx context.Context, configFile string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.CommandContext(ctx, self, "--config", configFile, "worker"), nil
}

func (c *cli) benchQuotaCmd() *cobra.Command {
	var cfg bench.QuotaConfig
	cmd := benchCommand(c, "quota", "Cost per source call of the call budget every process shares in PostgreSQL (one statement per call, and leased in tens) vs one process's in-memory budget", &cfg, c.serverInto(&cfg.Server), bench.RunQuota)
	cmd.Flags().IntVar(&cfg.Processes, "processes", 3, "simulated processes (a pool and a client each) calling at once")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 8, "calls in flight per process")
	cmd.Flags().IntVar(&cfg.Calls, "calls", 20000, "calls per measurement, over all processes")
	cmd.Flags().DurationVar(&cfg.Latency, "latency", 0, "the simulated source's answer time (0: the budget's own cost against a loopback)")
	return cmd
}

func (c *cli) benchConnectorsCmd() *cobra.Command {
	cfg := bench.ConnectorsConfig{Registry: connectorRegistry()}
	cmd := benchCommand(c, "connectors", "Pull throughput through the connectors and shared HTTP client vs raw net/http + encoding/json", &cfg, nil, bench.RunConnectors)
	cmd.Flags().IntVar(&cfg.Records, "records", 100000, "records seeded in the simulator (all objects)")
	cmd.Flags().IntVar(&cfg.Rounds, "rounds", 5, "timed rounds; the best of each side is reported")
	cmd.Flags().StringVar(&cfg.Only, "connector", "all", "all, salesforce, accounting or inventory")
	cmd.Flags().StringVar(&cfg.Select, "select", "compare", "Salesforce select: compare (the shipped mappings' select of Case, then a 60-field mapping's, from the same simulator, and their ratio), shipped, 60, or empty for the connector's defaults (CaseComment)")
	return cmd
}

func (c *cli) benchMappingCmd() *cobra.Command {
	var cfg bench.MappingConfig
	cmd := benchCommand(c, "mapping", "Map a 20-field Case record: records/s per core, vs encoding/json + lookups", &cfg, nil, bench.RunMapping)
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 3*time.Second, "how long to run each of the engine and the baseline")
	cmd.Flags().IntVar(&cfg.Workers, "workers", 0, "goroutines mapping in parallel (0: one per core)")
	return cmd
}

func (c *cli) benchTracingCmd() *cobra.Command {
	var cfg bench.TracingConfig
	cmd := benchCommand(c, "tracing", "Requests/s through the router with tracing on vs off (off is the router before tracing)", &cfg, nil, bench.RunTracing)
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 3*time.Second, "how long to run each of off and on")
	return cmd
}

func (c *cli) benchAPICmd() *cobra.Command {
	cfg := bench.APIConfig{Deps: appDeps}
	cmd := benchCommand(c, "api", "GET /api/v1/cases as a logged-in user vs a bare chi handler (requests/s, p99), at two cache sizes", &cfg,
		func(loaded *config.Config) { cfg.App, cfg.Server = loaded, c.benchServer(loaded) }, bench.RunAPI)
	cmd.Flags().IntVar(&cfg.Cases, "cases", 10000, "cached cases in the first run")
	cmd.Flags().IntVar(&cfg.Accounts, "accounts", 500, "accounts the cases belong to")
	cmd.Flags().BoolVar(&cfg.Dense, "big-dense", false, "put the second run's extra cases into the same accounts (pages of 50 instead of the first run's size) instead of into new accounts at the same density")
	cmd.Flags().IntVar(&cfg.Big, "big", 1000000, "cached records in the second run (0 skips it)")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 64, "concurrent connections")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long each measurement runs")
	cmd.Flags().StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the first API measurement to this file")
	return cmd
}

func (c *cli) benchFilesCmd() *cobra.Command {
	var cfg bench.FilesConfig
	cmd := benchCommand(c, "files", "Upload and download throughput of one file through the file store vs a plain io.Copy over loopback, the clamd scan's cost, and peak RSS during concurrent uploads", &cfg, c.serverInto(&cfg.Server), bench.RunFiles)
	f := cmd.Flags()
	f.IntVar(&cfg.MB, "mb", 20, "the file's size in MiB")
	f.IntVar(&cfg.Rounds, "rounds", 3, "timed transfers of each kind (the best is reported)")
	f.IntVar(&cfg.Concurrent, "concurrent", 10, "uploads at once for the peak-RSS figure")
	f.StringVar(&cfg.Clamd, "clamd", "auto", "clamd for the scan's cost: unix:/path or tcp:host:port, auto (start Debian's clamd with the EICAR-only database when installed), or off")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed uploads through the file store (without the scan) to this file")
	f.StringVar(&cfg.Store, "store", "postgres", "the file store measured: postgres (chunks in file_chunk) or dir (files.store: dir)")
	f.StringVar(&cfg.Dir, "dir", "", "with --store dir: the directory (default: a temporary one, removed afterwards)")
	return cmd
}

func (c *cli) benchWebCmd() *cobra.Command {
	cfg := bench.WebConfig{Deps: appDeps}
	cmd := benchCommand(c, "web", "The status hub (GET /) as a signed-in demo user vs a bare chi handler rendering its template (requests/s, p50, p99), with the page cache on and off; --lighthouse adds Lighthouse's scores", &cfg,
		func(loaded *config.Config) { cfg.App, cfg.Server = loaded, c.benchServer(loaded) }, bench.RunWeb)
	f := cmd.Flags()
	f.IntSliceVar(&cfg.Conns, "conns", []int{64, 8}, "concurrent connections of each measurement, the first the headline's (the page cache off is measured at each)")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long each measurement runs")
	f.IntVar(&cfg.Records, "records", 2000, "records the simulated sources are seeded with and synced into the cache (as portico dev)")
	f.BoolVar(&cfg.Uncached, "uncached", false, "measure only the hub with the page cache off (and the baseline)")
	f.BoolVar(&cfg.Lighthouse, "lighthouse", false, "also run Lighthouse 12.2.3 (mobile preset) on the hub and a case page, signed in (needs node, npm and chromium)")
	f.StringVar(&cfg.LighthouseScript, "lighthouse-script", "scripts/lighthouse.sh", "the script that runs Lighthouse")
	f.StringVar(&cfg.LighthouseOut, "lighthouse-out", "", "keep Lighthouse's full reports in this directory")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the hub's measurement at the first --conns count (page cache on) to this file")
	return cmd
}

func (c *cli) benchWritebackCmd() *cobra.Command {
	cfg := bench.WritebackConfig{Deps: appDeps, WorkerCommand: writebackWorkerCommand}
	var worker bench.WorkerConfig
	cmd := &cobra.Command{
		Use:   "writeback",
		Short: "Accept-to-applied latency of customer actions (p50, p99) vs Heroku Connect's 10 s batch; --find-max: the highest rate with p99 under 500 ms; --chaos: exactly once through faults and a killed worker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if worker.DatabaseURL != "" {
				worker.Deps = appDeps
				err := bench.RunWritebackWorker(cmd.Context(), worker, c.benchOutput())
				if bench.IsUsage(err) {
					return usageErr("%v", err)
				}
				return err
			}
			return runBench(cmd, c, &cfg, c.serverInto(&cfg.Server), bench.RunWriteback)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Rate, "rate", 100, "actions accepted per second")
	f.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long to accept actions (latency run)")
	f.BoolVar(&cfg.Chaos, "chaos", false, "run the chaos check instead: faults, an outage, a worker killed with SIGKILL")
	f.IntVar(&cfg.Actions, "actions", 2000, "actions in the chaos run")
	f.DurationVar(&cfg.Outage, "outage", 30*time.Second, "source outage in the chaos run")
	f.BoolVar(&cfg.FindMax, "find-max", false, "step the rate up (--steps, each held --step-duration) and report the highest at which p99 stays under 500 ms")
	f.IntSliceVar(&cfg.Steps, "steps", []int{100, 150, 200, 250, 300, 400, 500, 600, 800, 1000}, "rates of the --find-max run, rising")
	f.DurationVar(&cfg.StepDuration, "step-duration", 20*time.Second, "how long --find-max holds each rate")
	f.DurationVar(&cfg.Warmup, "warmup", 5*time.Second, "apply actions at the (first) rate for this long before measuring, uncounted (0: none)")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured actions (not the chaos run) to this file")
	f.IntVar(&cfg.PoolConns, "pool-max-conns", 24, "database connections of the latency run's process (0: the driver's default, max(4, CPUs))")
	f.StringVar(&worker.DatabaseURL, "worker-db", "", "internal: run as the chaos run's worker process on this database")
	f.StringVar(&worker.Credentials, "worker-creds", "", "internal: the simulator's credentials for --worker-db")
	_ = f.MarkHidden("worker-db")
	_ = f.MarkHidden("worker-creds")
	return cmd
}

// writebackWorkerCommand is the chaos run's worker process: this binary
// again, as `bench writeback --worker-db`.
func writebackWorkerCommand(ctx context.Context, dbURL, creds string) (*exec.Cmd, error) {
	return selfCommand(ctx, "bench", "writeback", "--worker-db", dbURL, "--worker-creds", creds)
}

// selfCommand is a process of this binary with args. Cancelling ctx sends
// it SIGTERM, so that it drains as it would under a supervisor.
func selfCommand(ctx context.Context, args ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	return cmd, nil
}

func (c *cli) benchSoakCmd() *cobra.Command {
	cfg := bench.SoakConfig{Deps: appDeps, Command: selfCommand}
	cmd := benchCommand(c, "soak", "A mixed load (portal pages and API, new cases, comments, uploads, notifications, staff edits, source faults) on serve and worker processes of this binary for --duration: errors, latency per route over time, memory, goroutines, connections, queues, cache hits; fails unless every goal is met", &cfg,
		c.serverInto(&cfg.Server), bench.RunSoak)
	f := cmd.Flags()
	f.DurationVar(&cfg.Duration, "duration", 10*time.Minute, "how long the load runs")
	f.DurationVar(&cfg.Sample, "sample", 30*time.Second, "how often processes, database, queues and latencies are sampled")
	f.DurationVar(&cfg.Warmup, "warmup", 2*time.Minute, "memory and goroutine baselines are the first sample at or after this")
	f.IntVar(&cfg.Serves, "serves", 2, "`portico serve` processes")
	f.IntVar(&cfg.Workers, "workers", 2, "`portico worker` processes")
	f.IntVar(&cfg.Rate, "rate", 20, "requests per second of the demo customers, over all of them")
	f.IntVar(&cfg.Records, "records", 2000, "records the simulated sources are seeded with, besides the demo story")
	f.Float64Var(&cfg.FaultRate, "fault-rate", 0.05, "share of the sources' answers that fail (4/5 500 or 503, 1/5 429)")
	f.DurationVar(&cfg.StaffEvery, "staff-every", 2*time.Second, "how often staff change a case's status in the CRM (and every third time reply on it)")
	return cmd
}

func (c *cli) benchNotifyCmd() *cobra.Command {
	cfg := bench.NotifyConfig{Deps: appDeps}
	cmd := benchCommand(c, "notify", "Notices per second from a case status change in the cache to mail accepted by an in-process SMTP server, at --events, vs raw SMTP sends; and the p50/p99 delay of an immediate notice at a steady --rate", &cfg,
		c.serverInto(&cfg.Server), bench.RunNotify)
	f := cmd.Flags()
	f.IntVar(&cfg.Events, "events", 10000, "events in the throughput burst (one notice and one mail each)")
	f.IntVar(&cfg.Accounts, "accounts", 100, "accounts the cases belong to, one recipient each")
	f.IntVar(&cfg.Rate, "rate", 20, "events per second of the delay run")
	f.DurationVar(&cfg.Trickle, "trickle", 10*time.Second, "how long the delay run lasts")
	f.IntVar(&cfg.Workers, "workers", 20, "River's notify workers (river.notify_workers)")
	f.DurationVar(&cfg.Hold, "hold", time.Second, "notify.hold: how long an immediate notice waits for more events about its record")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the burst (the whole pipeline runs in this process) to this file")
	return cmd
}
