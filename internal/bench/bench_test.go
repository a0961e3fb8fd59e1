package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// workerEnv makes the test binary the chaos run's worker process.
const workerEnv = "PORTICO_BENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	if db := os.Getenv(workerEnv); db != "" {
		err := RunWritebackWorker(context.Background(), WorkerConfig{Deps: testDeps, DatabaseURL: db, Credentials: os.Getenv(workerEnv + "_CREDS")},
			Output{Stdout: os.Stderr, Stderr: os.Stderr})
		if err != nil && !strings.Contains(err.Error(), "context canceled") {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	dbtest.Main(m)
}

// testDeps is the binary's wiring: the shipped connectors and mappings.
func testDeps(*config.Config) (app.Deps, error) {
	set, err := mapping.Load(mappings.FS())
	if err != nil {
		return app.Deps{}, err
	}
	return app.Deps{Connectors: builtin.Registry(), Mappings: set}, nil
}

// testWorker runs this test binary as the chaos run's worker process.
func testWorker(ctx context.Context, dbURL, creds string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+dbURL, workerEnv+"_CREDS="+creds)
	return cmd, nil
}

// The tests that run a bench on a database start whole Portico processes,
// each with its own pools (and the chaos run a worker process); they run
// one at a time ("heavy"), so the package stays within a shared server's
// max_connections and does not crowd the machine's cores.
func testServer(t *testing.T) Server { return Server{URL: dbtest.ServerURL(t)} }

// run runs a bench and returns its output and the figures of its last
// line, which must be one JSON object.
func run[C any](t *testing.T, f func(context.Context, C, Output) error, cfg C) (string, map[string]any) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	require.NoError(t, f(context.Background(), cfg, Output{Stdout: &stdout, Stderr: &stderr}), "%s\n%s", stdout.String(), stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), stdout.String())
	return stdout.String(), fig
}

func TestRunRiver(t *testing.T) {
	// Not parallel: heavy (see testServer).
	out, fig := run(t, RunRiver, RiverConfig{Server: testServer(t), Jobs: 20, Trickle: 5})
	require.Contains(t, out, "river_defaults (fetch_cooldown=100ms")
	require.Equal(t, "river", fig["bench"])
	require.EqualValues(t, 20, fig["jobs"])
	require.Positive(t, fig["jobs_per_s_per_slot"])
	require.Positive(t, fig["baseline_per_s"])
	require.Positive(t, fig["ratio"])
	require.Positive(t, fig["wait_p99_ms"])
}

func TestRunMapping(t *testing.T) {
	t.Parallel()
	_, fig := run(t, RunMapping, MappingConfig{Duration: 50 * time.Millisecond, Workers: 1})
	require.Equal(t, "mapping", fig["bench"])
	require.EqualValues(t, 1, fig["workers"])
	require.Positive(t, fig["records_per_s"])
	require.Positive(t, fig["ratio"])
}

func TestRunTracing(t *testing.T) {
	t.Parallel()
	_, fig := run(t, RunTracing, TracingConfig{Duration: 100 * time.Millisecond})
	require.Equal(t, "tracing", fig["bench"])
	for _, k := range []string{"off_per_s", "on_per_s", "ratio"} {
		require.Positive(t, fig[k], k)
	}
	require.Error(t, RunTracing(context.Background(), TracingConfig{}, Output{}), "no duration is bad usage")
}

func TestRunConnectors(t *testing.T) {
	t.Parallel()
	_, fig := run(t, RunConnectors, ConnectorsConfig{Registry: builtin.Registry(), Records: 2000, Rounds: 1, Only: "inventory"})
	require.Equal(t, "connectors", fig["bench"])
	per, ok := fig["connectors"].(map[string]any)
	require.True(t, ok, fig)
	require.Len(t, per, 1, "only the chosen connector is measured")
	require.Contains(t, per, "inventory")
	require.Positive(t, fig["records"])
	require.Positive(t, fig["ratio"])
}

// compare pulls Case selecting the shipped mapping's paths, then the wide
// mapping's, from the same simulator, and reports their ratio.
func TestRunConnectorsCompare(t *testing.T) {
	t.Parallel()
	out, fig := run(t, RunConnectors, ConnectorsConfig{Registry: builtin.Registry(), Records: 2000, Rounds: 1, Only: "salesforce", Select: "compare"})
	require.Contains(t, out, "selecting what the 60-field mapping reads")
	shipped := fig["connectors"].(map[string]any)["salesforce"].(map[string]any)
	wide := fig["wide"].(map[string]any)
	require.Equal(t, "Case", shipped["object"])
	require.Equal(t, shipped["records"], wide["records"], "the same records, wider")
	require.Greater(t, wide["selected_paths"], shipped["selected_paths"])
	require.GreaterOrEqual(t, wide["selected_paths"], float64(WideFields-5))
	require.Greater(t, wide["bytes_per_record"], 2*shipped["bytes_per_record"].(float64), "the custom fields are filled")
	require.Positive(t, fig["wide_vs_shipped"])
	require.EqualValues(t, WideFields, fig["wide_fields"])
}

func TestRunAPI(t *testing.T) {
	// Not parallel: heavy (see testServer).
	app := config.Default()
	out, fig := run(t, RunAPI, APIConfig{Server: testServer(t), App: &app, Deps: testDeps,
		Cases: 200, Accounts: 10, Big: 400, Dense: true, Concurrency: 2, Duration: 500 * time.Millisecond})
	require.Contains(t, out, "cached 200 cases across 10 accounts")
	require.Contains(t, out, "cached 400 records in all (+200 in 10 accounts)", "dense: the extra cases go to the same accounts")
	require.Equal(t, "api", fig["bench"])
	require.Positive(t, fig["requests_per_s"])
	require.Positive(t, fig["uncached_requests_per_s"])
	require.Positive(t, fig["big_requests_per_s"])
	require.Equal(t, true, fig["big_dense"])
	require.Contains(t, fig, "goal_met")
	require.Zero(t, fig["errors"])
}

func TestRunWeb(t *testing.T) {
	// Not parallel: heavy (see testServer).
	app := config.Default()
	out, fig := run(t, RunWeb, WebConfig{Server: testServer(t), App: &app, Deps: testDeps, Records: 300,
		Conns: []int{2, 1}, Duration: 300 * time.Millisecond})
	require.Contains(t, out, "status hub of alice.admin@demo.portico.test (account_admin): cases ")
	require.Contains(t, out, "bare chi, same template")
	require.Equal(t, "web", fig["bench"])
	for _, k := range []string{"requests_per_s", "p50_ms", "p99_ms", "baseline_per_s", "baseline_p99_ms", "ratio",
		"uncached_requests_per_s", "uncached_p99_ms", "uncached_low_requests_per_s", "uncached_low_p99_ms", "hub_bytes_gzip"} {
		require.Positive(t, fig[k], k)
	}
	require.EqualValues(t, 1, fig["low_conns"])
	require.Len(t, fig["runs"], 6, "baseline, hub and hub uncached at each of 2 and 1 connections")
	require.Len(t, fig["loadavg_start"], 3)
	require.Contains(t, fig, "goal_met")
	require.Zero(t, fig["errors"])
}

func TestRunSync(t *testing.T) {
	// Not parallel: heavy (see testServer).
	out, fig := run(t, RunSync, SyncConfig{Server: testServer(t), Deps: testDeps, Records: 300, Edits: 3, Interval: 300 * time.Millisecond, Wide: true})
	require.Contains(t, out, "baseline: CopyFrom of the same ")
	require.Contains(t, out, "ingest with 60 fields per object")
	require.Equal(t, fig["records"], fig["wide_records"], "the same records, mapped wider")
	for _, k := range []string{"wide_records_per_s", "wide_baseline_per_s", "wide_ratio", "wide_vs_shipped"} {
		require.Positive(t, fig[k], k)
	}
	require.Equal(t, "sync", fig["bench"])
	require.Positive(t, fig["records"])
	require.Positive(t, fig["records_per_s"])
	require.Positive(t, fig["baseline_per_s"], "the CopyFrom baseline ran")
	require.Positive(t, fig["idle_calls_per_hour"])
	require.EqualValues(t, 300, fig["fresh_poll_interval_ms"])
	require.Positive(t, fig["fresh_poll_p50_ms"])
	require.Positive(t, fig["fresh_hook_p50_ms"])
	require.NotContains(t, fig, "fresh_hook_interval_ms")
}

func TestRunWriteback(t *testing.T) {
	// Not parallel: heavy (see testServer).
	out, fig := run(t, RunWriteback, WritebackConfig{Server: testServer(t), Deps: testDeps, Rate: 20, Duration: time.Second, Actions: 1, PoolConns: 8})
	require.Contains(t, out, "database pool: 8 connections")
	require.Contains(t, out, "slowest action per 5 s of the run: 0s:")
	require.NotContains(t, out, "warm-up")
	require.Equal(t, "writeback", fig["bench"])
	require.EqualValues(t, 20, fig["actions"])
	require.Positive(t, fig["p50_ms"])
	require.GreaterOrEqual(t, fig["p99_ms"], fig["p50_ms"])
	require.Positive(t, fig["baseline_p50_ms"])
	require.EqualValues(t, 8, fig["pool_max_conns"])
}

func TestRunWritebackChaos(t *testing.T) {
	// Not parallel: heavy (see testServer).
	if testing.Short() {
		t.Skip("kills a worker process and waits for River to rescue its jobs")
	}
	var stdout, stderr bytes.Buffer
	err := RunWriteback(context.Background(), WritebackConfig{Server: testServer(t), Deps: testDeps, WorkerCommand: testWorker,
		Rate: 50, Duration: time.Second, Chaos: true, Actions: 60, Outage: time.Second}, Output{Stdout: &stdout, Stderr: &stderr})
	out := stdout.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), "%s\n%s", out, stderr.String())
	require.Contains(t, out, "worker killed with SIGKILL")
	require.Equal(t, "writeback_chaos", fig["bench"])
	require.Positive(t, fig["orphaned_jobs"], "the killed worker held jobs")
	// No action lost, none applied twice, each under its own key. The cache
	// can lag the source by one version now and then (cache_mismatches,
	// seen before the move into this package too); the run then reports
	// exactly_once false and fails, which is checked here.
	require.EqualValues(t, 60, fig["accepted"])
	require.EqualValues(t, 60, fig["applied"], out)
	require.Zero(t, fig["duplicates"], out)
	require.Zero(t, fig["lost"], out)
	require.Zero(t, fig["wrong_keys"], out)
	if fig["exactly_once"] == true {
		require.NoError(t, err)
	} else {
		require.ErrorContains(t, err, "not every action was applied exactly once")
		require.Positive(t, fig["cache_mismatches"], out)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	wb := WritebackConfig{Rate: 100, Duration: time.Second, Actions: 1, Steps: []int{10, 20}, StepDuration: time.Second}
	ok := []interface{ Validate() error }{
		RiverConfig{Jobs: 1, Trickle: 1},
		MappingConfig{Duration: time.Millisecond},
		ConnectorsConfig{Records: 1, Rounds: 1, Only: "all"},
		APIConfig{Cases: 10, Accounts: 10, Concurrency: 1, Duration: time.Second},
		SyncConfig{Records: 1, Edits: 1, Interval: time.Second},
		WebConfig{Records: 100, Conns: []int{64, 8}, Duration: time.Second},
		wb,
	}
	for _, c := range ok {
		require.NoError(t, c.Validate(), "%#v", c)
	}
	findMax, chaosMax, falling := wb, wb, wb
	findMax.FindMax, chaosMax.FindMax, chaosMax.Chaos, falling.FindMax, falling.Steps = true, true, true, true, []int{20, 10}
	require.NoError(t, findMax.Validate())
	bad := map[string]interface{ Validate() error }{
		"--jobs":              RiverConfig{Jobs: 0, Trickle: 1},
		"--workers":           MappingConfig{Duration: time.Second, Workers: -1},
		"--connector":         ConnectorsConfig{Records: 1, Rounds: 1, Only: "erp"},
		"--records":           ConnectorsConfig{Records: 0, Rounds: 1, Only: "all"},
		"--accounts":          APIConfig{Cases: 10, Accounts: 11, Concurrency: 1, Duration: time.Second},
		"--big":               APIConfig{Cases: 10, Accounts: 10, Big: 10, Concurrency: 1, Duration: time.Second},
		"--interval":          SyncConfig{Records: 1, Edits: 1},
		"--conns":             WebConfig{Records: 100, Conns: []int{64, 0}, Duration: time.Second},
		"--lighthouse-script": WebConfig{Records: 100, Conns: []int{8}, Duration: time.Second, Lighthouse: true},
		"--rate":              WritebackConfig{Rate: 1001, Duration: time.Second, Actions: 1},
		"separate runs":       chaosMax,
		"--steps":             falling,
	}
	for want, c := range bad {
		err := c.Validate()
		require.True(t, IsUsage(err), "%s: %v", want, err)
		require.Contains(t, err.Error(), want)
	}
}

func TestParseLoadAvg(t *testing.T) {
	t.Parallel()
	require.Equal(t, loadAvg{0.5, 1.25, 2}, parseLoadAvg("0.50 1.25 2.00 1/123 4567\n"))
	require.Equal(t, "0.50 1.25 2.00", parseLoadAvg("0.50 1.25 2.00 1/123 4567").String())
	require.Nil(t, parseLoadAvg("0.50 x 2.00"))
	require.Nil(t, parseLoadAvg("0.50"))
	require.Equal(t, "unknown", loadAvg(nil).String())
}

func TestWithPoolConns(t *testing.T) {
	t.Parallel()
	require.Equal(t, "postgres://h/db?pool_max_conns=8", withPoolConns("postgres://h/db", 8))
	require.Equal(t, "postgres://h/db?sslmode=disable&pool_max_conns=8", withPoolConns("postgres://h/db?sslmode=disable", 8))
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	require.Zero(t, percentile(nil, .5))
	lat := []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond}
	require.Equal(t, 2*time.Millisecond, percentile(lat, .5))
	require.Equal(t, 3*time.Millisecond, percentile(lat, .99))
	require.Equal(t, 1.23, ms(1234*time.Microsecond))
}

func TestRunFiles(t *testing.T) {
	// Not parallel: heavy (see testServer).
	_, fig := run(t, RunFiles, FilesConfig{Server: testServer(t), MB: 2, Rounds: 1, Concurrent: 2, Clamd: "off"})
	require.Equal(t, "files", fig["bench"])
	require.Positive(t, fig["upload_mb_s"])
	require.Positive(t, fig["download_mb_s"])
	require.Positive(t, fig["upload_ratio"])
	require.Positive(t, fig["resumable_mb_s"], "a resumable upload measured through tusd and TusStore")
	require.Positive(t, fig["copy_mb_s"], "the same bytes COPY'd from memory")
	require.Positive(t, fig["peak_rss_mb"])
	require.Nil(t, fig["scan_cost_ms"], "--clamd off")
	require.Error(t, FilesConfig{MB: 0, Rounds: 1, Concurrent: 1}.Validate())
}

// The wide mapping has WideFields fields on every object, reads custom
// fields of a mix of types that the simulated org has and fills, and maps
// every object's seeded records with values in them.
func TestWideMapping(t *testing.T) {
	t.Parallel()
	w, err := newWidening(WideFields)
	require.NoError(t, err)
	opts := fakesource.Options{Seed: 1, Records: 300}
	w.SimOptions(&opts)
	require.NotEmpty(t, opts.SalesforceCustomFields["Case"])
	require.Equal(t, "datetime", opts.SalesforceCustomFieldTypes["Case.Wide_60__c"])
	sim, err := fakesource.New(opts)
	require.NoError(t, err)
	defer sim.Close()
	set, err := w.Set()
	require.NoError(t, err)
	shipped, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	require.Len(t, set.Objects(), len(shipped.Objects()))
	for _, o := range set.Objects() {
		if o.Connection() == fakesource.Salesforce {
			// One source path per field, but for the few that share one.
			require.GreaterOrEqual(t, len(o.SourcePaths()), WideFields-5, o.Name())
		}
		id, err := sim.SeedID(o.Connection(), simObjectName(o.SourceObject()), 0)
		require.NoError(t, err, o.Name())
		rec, err := sim.Record(o.Connection(), simObjectName(o.SourceObject()), id)
		require.NoError(t, err)
		raw, err := json.Marshal(rec)
		require.NoError(t, err)
		m, err := o.ToPortal(raw)
		require.NoError(t, err, o.Name())
		require.NotNil(t, m.Fields["x_wide_"+fmt.Sprint(WideFields)], "%s: the last wide field has a value", o.Name())
	}
	sfCase, ok := set.For(fakesource.Salesforce, "case")
	require.True(t, ok)
	require.Contains(t, sfCase.SourcePaths(), "Wide_60__c")
}
