package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/syncer"
)

// benchSyncCmd measures the sync engine against the simulators:
//   - ingest: records/s from the simulators over HTTP through connector,
//     mapping and cache upsert, next to a raw CopyFrom of the same mapped
//     rows into the same table;
//   - freshness: from a staff edit to visible in the read API, with and
//     without webhooks;
//   - quota: source calls per synced record, and calls per hour at idle.
func (c *cli) benchSyncCmd() *cobra.Command {
	var records, edits int
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Sync ingest vs raw CopyFrom, staff-edit-to-visible latency with and without webhooks, API calls per record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if records < 1 || records > fakesource.MaxRecords || edits < 1 || interval <= 0 {
				return usageErr("--records must be 1..%d, --edits and --interval positive", fakesource.MaxRecords)
			}
			ctx := cmd.Context()
			pool, url, closeDB, err := c.benchDatabase(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			figures := map[string]any{"bench": "sync"}

			ing, err := c.benchIngest(ctx, pool, url, records)
			if err != nil {
				return failed(err)
			}
			for k, v := range ing {
				figures[k] = v
			}
			for _, hooks := range []bool{false, true} {
				freshURL, drop, err := c.benchExtraDatabase(ctx, fmt.Sprint("fresh_", hooks))
				if err != nil {
					return err
				}
				fr, err := c.benchFreshness(ctx, freshURL, edits, interval, hooks)
				drop()
				if err != nil {
					return failed(err)
				}
				for k, v := range fr {
					figures[k] = v
				}
			}
			return benchResult(c.stdout, figures)
		},
	}
	cmd.Flags().IntVar(&records, "records", 340000, "records the simulators are seeded with (the synced share is reported)")
	cmd.Flags().IntVar(&edits, "edits", 200, "staff edits timed for freshness")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "polling interval for the run without webhooks")
	return cmd
}

// benchStack is an in-process Portico over simulators.
type benchStack struct {
	sim  *fakesource.Sim
	srv  *httptest.Server
	app  *app.App
	cfg  *config.Config
	stop func()
}

func (c *cli) startBenchStack(ctx context.Context, dbURL string, simOpts fakesource.Options, mutate func(*config.Config)) (*benchStack, error) {
	sim, err := fakesource.New(simOpts)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(sim.Handler())
	cr := sim.Credentials(srv.URL)
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.Log.Level = "warn"
	cfg.Secrets.EncryptionKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	conn := func(name string, sc fakesource.SystemCredentials) config.ConnectionConfig {
		return config.DefaultConnection(config.ConnectionConfig{
			Name: name, Type: name, BaseURL: sc.BaseURL, TokenURL: sc.TokenURL, ClientID: sc.ClientID,
			ClientSecret: sc.ClientSecret, RefreshToken: sc.RefreshToken, AccessToken: sc.AccessToken,
			Realm: sc.Realm, WebhookSecret: sc.WebhookSecret,
		})
	}
	cfg.Connections = []config.ConnectionConfig{
		conn(fakesource.Salesforce, cr.Salesforce), conn(fakesource.Accounting, cr.Accounting), conn(fakesource.Inventory, cr.Inventory),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	deps, err := appDeps(&cfg)
	if err != nil {
		srv.Close()
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Open(ctx, &cfg, logger, app.Mode{Serve: true, Work: true}, deps)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &benchStack{sim: sim, srv: srv, app: a, cfg: &cfg, stop: func() {
		a.Close()
		srv.Close()
		sim.Close()
	}}, nil
}

func (c *cli) benchIngest(ctx context.Context, pool *pgxpool.Pool, dbURL string, records int) (map[string]any, error) {
	fmt.Fprintf(c.stdout, "ingest: seeding the simulators with %d records\n", records)
	st, err := c.startBenchStack(ctx, dbURL, fakesource.Options{Seed: 1, Records: records}, nil)
	if err != nil {
		return nil, err
	}
	defer st.stop()
	s := st.app.Syncer()
	calls0 := st.sim.Stats().CallCount("", "", 0)
	start := time.Now()
	// As the workers do: accounts first (what others resolve their owner
	// through), then every other object at once on as many goroutines as
	// the sync queue has worker slots.
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
		fmt.Fprintf(c.stdout, "  %-10s %-16s %7d records in %7s (%6.0f/s)\n", t.Connection, t.Object, res.Records, d.Round(time.Millisecond), float64(res.Records)/d.Seconds())
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range queue {
				syncTarget(t)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	elapsed := time.Since(start)
	calls := st.sim.Stats().CallCount("", "", 0) - calls0
	ingestRate := float64(synced) / elapsed.Seconds()
	fmt.Fprintf(c.stdout, "  synced %d records in %s: %.0f records/s, %d source calls\n", synced, elapsed.Round(time.Millisecond), ingestRate, calls)

	copyRate, err := benchCopyFrom(ctx, pool)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stdout, "  baseline: CopyFrom of the same %d mapped rows into the same table: %.0f records/s\n", synced, copyRate)

	// Idle: a steady-state incremental pass over every object with no
	// changes is what each polling interval costs.
	calls0 = st.sim.Stats().CallCount("", "", 0)
	for _, t := range s.Targets() {
		if _, err := s.Incremental(ctx, t.Connection, t.Object); err != nil {
			return nil, err
		}
	}
	idlePass := st.sim.Stats().CallCount("", "", 0) - calls0
	perHour := float64(idlePass) * float64(time.Hour/st.cfg.Sync.Interval)
	fmt.Fprintf(c.stdout, "  idle: %d calls per polling pass over %d objects = %.0f calls/hour at a %s interval\n",
		idlePass, len(s.Targets()), perHour, st.cfg.Sync.Interval)
	return map[string]any{
		"records":                synced,
		"records_per_s":          round1(ingestRate),
		"baseline_per_s":         round1(copyRate),
		"ratio":                  round2(ingestRate / copyRate),
		"calls_per_1000_records": round2(1000 * float64(calls) / float64(synced)),
		"idle_calls_per_hour":    round1(perHour),
		"idle_interval_seconds":  st.cfg.Sync.Interval.Seconds(),
	}, nil
}

// benchCopyFrom reads the cached rows back, empties the table and times a
// raw CopyFrom of the same rows into it.
func benchCopyFrom(ctx context.Context, pool *pgxpool.Pool) (float64, error) {
	cols := []string{"tenant_id", "connection", "object", "source_id", "source_object", "owner_account", "owner_ref_key",
		"owner_ref_value", "owner_contact", "hidden", "status", "data", "raw", "source_version", "source_modified", "synced_at", "mapping_hash"}
	rows, err := pool.Query(ctx, `SELECT tenant_id, connection, object, source_id, source_object, owner_account, owner_ref_key,
		owner_ref_value, owner_contact, hidden, status, data::text, raw::text, source_version, source_modified, synced_at, mapping_hash FROM record`)
	if err != nil {
		return 0, err
	}
	var all [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(all) == 0 {
		return 0, errors.New("bench: nothing was synced")
	}
	if _, err := pool.Exec(ctx, `TRUNCATE record, record_status_change`); err != nil {
		return 0, err
	}
	start := time.Now()
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"record"}, cols, pgx.CopyFromRows(all))
	if err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// benchFreshness times staff edits until they are visible in the read API.
func (c *cli) benchFreshness(ctx context.Context, dbURL string, edits int, interval time.Duration, hooks bool) (map[string]any, error) {
	mode := "polling"
	if hooks {
		mode = "webhooks"
	}
	prefix := "fresh_poll_"
	if hooks {
		prefix = "fresh_hook_"
	}
	fmt.Fprintf(c.stdout, "freshness with %s: %d staff edits\n", mode, edits)
	// The API must be reachable by the simulator's webhooks: listen first.
	ln, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	apiURL := "http://" + ln.Addr().String()
	simOpts := fakesource.Options{Seed: 2, Records: 3000}
	if hooks {
		simOpts.WebhookURL = apiURL + "/hooks/{system}"
	}
	addr := ln.Addr().String()
	_ = ln.Close() // the app listens on it
	st, err := c.startBenchStack(ctx, dbURL, simOpts, func(cfg *config.Config) {
		cfg.HTTP.Addr = addr
		cfg.HTTP.PublicURL = apiURL
		cfg.Sync.Interval = interval
		if hooks {
			cfg.Sync.Interval = time.Hour // webhooks alone
		}
	})
	if err != nil {
		return nil, err
	}
	defer st.stop()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- st.app.Run(runCtx, nil) }()
	defer func() { cancel(); <-done }() //nolint:errcheck // waits for Run to return; its error after the cancel is not the bench's

	pool := st.app.Pool()
	reader, staff := st.app.Records(), access.Scope{TenantID: st.app.TenantID(), Staff: true}
	visibleVersion := func(id string) string {
		rec, err := reader.Get(ctx, staff, "case", id, records.GetOptions{})
		if err != nil {
			return ""
		}
		return rec.Version
	}
	caseCount := st.sim.Stats().Records["salesforce"]["Case"]
	// Wait for the first sync to cover the cases.
	if err := waitFor(ctx, 2*time.Minute, func() bool { return cachedCases(ctx, pool) >= caseCount }); err != nil {
		return nil, fmt.Errorf("bench: first sync: %w", err)
	}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	calls0 := st.sim.Stats().CallCount("", "", 0)
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			if waitFor(ctx, 10*interval+30*time.Second, func() bool { return visibleVersion(id) != before }) == nil {
				mu.Lock()
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}
		}()
		time.Sleep(50 * time.Millisecond) // an edit every 50 ms: a steady stream, not a burst
	}
	wg.Wait()
	calls := st.sim.Stats().CallCount("", "", 0) - calls0
	if len(lat) < edits {
		return nil, fmt.Errorf("bench: %d of %d edits never became visible", edits-len(lat), edits)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	fmt.Fprintf(c.stdout, "  edit to visible: p50 %s  p99 %s; %d source calls for %d changed records (%.2f per record)\n",
		p50, p99, calls, edits, float64(calls)/float64(edits))
	out := map[string]any{prefix + "p50_ms": ms(p50), prefix + "p99_ms": ms(p99), prefix + "calls_per_changed_record": round2(float64(calls) / float64(edits))}
	if !hooks {
		out[prefix+"interval_ms"] = ms(interval)
	}
	return out, nil
}
