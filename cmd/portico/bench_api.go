package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
)

// benchAPICmd measures GET /api/v1/cases as a logged-in user through the
// whole server (middleware, session, access policy, RLS transaction,
// JSON, ETag) next to a bare chi handler returning a fixed body, both
// over loopback HTTP with the same load generator in the same run; then
// again with a much larger cache, to show that the p99 does not grow
// with it. Each API figure comes twice: as configured (rendered pages kept
// in memory until the database reports a change) and with the page cache
// off, where every request reads and renders its page.
func (c *cli) benchAPICmd() *cobra.Command {
	var (
		cases, accounts, big, concurrency int
		dense                             bool
		duration                          time.Duration
		cpuProfile                        string
	)
	cmd := &cobra.Command{
		Use:   "api",
		Short: "GET /api/v1/cases as a logged-in user vs a bare chi handler (requests/s, p99), at two cache sizes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cases < 1 || accounts < 1 || accounts > cases || concurrency < 1 || duration <= 0 || (big != 0 && big <= cases) {
				return usageErr("--cases and --accounts must be positive with accounts <= cases, --big 0 or more than --cases, --concurrency and --duration positive")
			}
			pool, _, closeDB, err := c.benchDatabase(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			figures, err := c.benchAPI(cmd.Context(), cfg, pool, cases, accounts, big, dense, concurrency, duration, cpuProfile)
			if err != nil {
				return failed(err)
			}
			return benchResult(c.stdout, figures)
		},
	}
	cmd.Flags().IntVar(&cases, "cases", 10000, "cached cases in the first run")
	cmd.Flags().IntVar(&accounts, "accounts", 500, "accounts the cases belong to")
	cmd.Flags().BoolVar(&dense, "big-dense", false, "put the second run's extra cases into the same accounts (pages of 50 instead of the first run's size) instead of into new accounts at the same density")
	cmd.Flags().IntVar(&big, "big", 1000000, "cached records in the second run (0 skips it)")
	cmd.Flags().IntVar(&concurrency, "concurrency", 64, "concurrent connections")
	cmd.Flags().DurationVar(&duration, "duration", 10*time.Second, "how long each measurement runs")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the first API measurement to this file")
	return cmd
}

// load is one measurement's figures.
type load struct {
	requests int
	errors   int
	perSec   float64
	p50, p99 time.Duration
}

func (c *cli) benchAPI(ctx context.Context, cfg *config.Config, pool *pgxpool.Pool, cases, accounts, big int, dense bool, concurrency int, duration time.Duration, cpuProfile string) (map[string]any, error) {
	deps, err := appDeps(cfg)
	if err != nil {
		return nil, err
	}
	obj, ok := deps.Mappings.Object("case")
	if !ok {
		return nil, errors.New("the mappings have no case object")
	}
	start := time.Now()
	if err := seedBenchCases(ctx, pool, obj, 0, cases, 0, accounts); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, "ANALYZE record"); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stdout, "cached %d cases across %d accounts through the %s mapping in %s\n", cases, accounts, obj.File(), time.Since(start).Round(time.Millisecond))

	// A user of the first account; the real password hash and login.
	const email, password = "bench.user@portico.test", "bench-violet-harbour-lantern-42"
	if _, err := auth.CreateUser(ctx, pool, auth.NewUser{Email: email, Password: password, AccountID: benchAccount(0), Roles: []string{auth.RoleMember}}); err != nil {
		return nil, err
	}
	acfg := *cfg
	acfg.DatabaseURL = pool.Config().ConnString()
	acfg.Connections = nil
	acfg.Log.Level = "warn"
	quiet := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Two API processes on the database: one as configured (its page
	// cache on by default), one with the page cache off, to show what each
	// request costs when it has to render its page.
	serveApp := func(cfg config.Config) (*app.App, string, func(), error) {
		a, err := app.Open(ctx, &cfg, quiet, app.Mode{Serve: true}, deps)
		if err != nil {
			return nil, "", nil, err
		}
		h, err := a.Handler(ctx)
		if err != nil {
			a.Close()
			return nil, "", nil, err
		}
		url, stop, err := serveLoopback(h)
		if err != nil {
			a.Close()
			return nil, "", nil, err
		}
		return a, url, func() { stop(); a.Close() }, nil
	}
	a, apiURL, stopAPI, err := serveApp(acfg)
	if err != nil {
		return nil, err
	}
	defer stopAPI()
	ucfg := acfg
	ucfg.HTTP.PageCacheMB = 0
	_, uncachedURL, stopUncached, err := serveApp(ucfg)
	if err != nil {
		return nil, err
	}
	defer stopUncached()
	fixed := []byte(`{"data":[],"next_cursor":null}` + "\n")
	bare := chi.NewRouter()
	bare.Get("/api/v1/cases", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixed)
	})
	bareURL, stopBare, err := serveLoopback(bare)
	if err != nil {
		return nil, err
	}
	defer stopBare()

	cookie, err := benchLogin(ctx, apiURL, email, password)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: concurrency * 2, MaxIdleConnsPerHost: concurrency * 2, MaxConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	get := func(base, cookie string) func(context.Context) error {
		return func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/cases", nil)
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || n < 20 {
				return fmt.Errorf("GET /api/v1/cases: %d", res.StatusCode)
			}
			return nil
		}
	}
	// One request first, to check the answer is a real page of cases.
	if err := checkBenchPage(ctx, client, apiURL, cookie, cases/accounts); err != nil {
		return nil, err
	}

	measure := func(label string, base, cookie string) load {
		// A healthy syncer keeps the cache within its freshness target; so
		// does this, or every list would schedule refreshes of stale cases.
		if _, err := pool.Exec(ctx, `INSERT INTO sync_cursor (tenant_id, connection, object, synced_through, last_success_at)
			VALUES (1, $1, $2, now(), now()) ON CONFLICT (tenant_id, connection, object) DO UPDATE SET synced_through = now()`,
			obj.Connection(), obj.SourceObject()); err != nil {
			fmt.Fprintf(c.stderr, "marking the cache fresh: %v\n", err)
		}
		l := generate(ctx, concurrency, duration, get(base, cookie))
		fmt.Fprintf(c.stdout, "%-28s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (%d requests, %d errors)\n", label, l.perSec, ms(l.p50), ms(l.p99), l.requests, l.errors)
		return l
	}
	fmt.Fprintf(c.stdout, "%d connections, %s per measurement\n", concurrency, duration)
	base1 := measure("bare chi, fixed body", bareURL, "")
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	_, hits0, misses0 := a.API().PageCacheStats()
	api1 := measure(fmt.Sprintf("GET /api/v1/cases @ %d", cases), apiURL, cookie)
	_, hits1, misses1 := a.API().PageCacheStats()
	unc1 := measure("  same, page cache off", uncachedURL, cookie)
	figures := map[string]any{
		"bench": "api", "cases": cases, "accounts": accounts, "concurrency": concurrency,
		"duration_s": duration.Seconds(), "requests_per_s": round1(api1.perSec), "p50_ms": ms(api1.p50), "p99_ms": ms(api1.p99),
		"errors": api1.errors + base1.errors, "baseline_per_s": round1(base1.perSec), "baseline_p99_ms": ms(base1.p99),
		"ratio": round2(api1.perSec / base1.perSec), "goal_ratio": 0.25, "goal_p99_ms": 20,
		"baseline_is":             "bare chi handler returning a fixed body, same loopback load generator, same run",
		"page_cache_hit_ratio":    hitRatio(hits1-hits0, misses1-misses0),
		"uncached_requests_per_s": round1(unc1.perSec), "uncached_p50_ms": ms(unc1.p50), "uncached_p99_ms": ms(unc1.p99),
		"uncached_ratio": round2(unc1.perSec / base1.perSec),
	}
	figures["errors"] = figures["errors"].(int) + unc1.errors
	goal := api1.perSec/base1.perSec >= 0.25 && api1.p99 <= 20*time.Millisecond
	if big > 0 {
		start := time.Now()
		// By default the extra cases belong to new accounts at the first
		// run's density, so the user's page is the same page and only the
		// cache's size differs; --big-dense piles them onto the same
		// accounts (the user's page grows to the 50-case default limit).
		firstAccount, bigAccounts, want := accounts, max(1, (big-cases)/max(1, cases/accounts)), cases/accounts
		if dense {
			firstAccount, bigAccounts, want = 0, accounts, min(50, big/accounts)
		}
		if err := seedBenchCases(ctx, pool, obj, cases, big, firstAccount, bigAccounts); err != nil {
			return nil, err
		}
		// As a settled database would be: vacuumed, analyzed, checkpointed
		// (autovacuum and the checkpointer would otherwise run during the
		// measurement and slow the baseline too).
		for _, sql := range []string{"VACUUM ANALYZE record", "CHECKPOINT"} {
			if _, err := pool.Exec(ctx, sql); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(c.stdout, "cached %d records in all (+%d in %d accounts) in %s\n", big, big-cases, bigAccounts, time.Since(start).Round(time.Millisecond))
		if err := checkBenchPage(ctx, client, apiURL, cookie, want); err != nil {
			return nil, err
		}
		base2 := measure("bare chi, fixed body", bareURL, "")
		api2 := measure(fmt.Sprintf("GET /api/v1/cases @ %d", big), apiURL, cookie)
		unc2 := measure("  same, page cache off", uncachedURL, cookie)
		figures["big_uncached_requests_per_s"] = round1(unc2.perSec)
		figures["big_uncached_p99_ms"] = ms(unc2.p99)
		figures["uncached_p99_growth"] = round2(float64(unc2.p99) / float64(unc1.p99))
		figures["errors"] = figures["errors"].(int) + unc2.errors
		growth := float64(api2.p99) / float64(api1.p99)
		figures["big_records"] = big
		figures["big_dense"] = dense
		figures["big_requests_per_s"] = round1(api2.perSec)
		figures["big_p99_ms"] = ms(api2.p99)
		figures["big_baseline_per_s"] = round1(base2.perSec)
		figures["big_ratio"] = round2(api2.perSec / base2.perSec)
		figures["p99_growth"] = round2(growth)
		figures["goal_p99_growth"] = 1.5
		figures["errors"] = figures["errors"].(int) + api2.errors + base2.errors
		goal = goal && growth <= 1.5
	}
	figures["goal_met"] = goal
	return figures, nil
}

func hitRatio(hits, misses int64) float64 {
	if hits+misses == 0 {
		return 0
	}
	return round2(float64(hits) / float64(hits+misses))
}

func benchAccount(i int) string { return fmt.Sprintf("001B%011d", i) }

// seedBenchCases caches cases [from, to) through the real mapping, spread
// evenly over accounts firstAccount.., in pages as the syncer stores them.
func seedBenchCases(ctx context.Context, pool *pgxpool.Pool, obj *mapping.Object, from, to, firstAccount, accounts int) error {
	const page = 2000
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]store.Row, 0, page)
	flush := func() error {
		_, err := store.UpsertRows(ctx, pool, store.Page{TenantID: 1, Connection: obj.Connection(), Object: obj.Name(), SourceObject: obj.SourceObject(), MappingHash: obj.Hash()}, rows)
		rows = rows[:0]
		return err
	}
	statuses := []string{"New", "Working", "Escalated", "Waiting on Customer", "Closed"}
	for i := from; i < to; i++ {
		id := fmt.Sprintf("500B%011d", i)
		acc := benchAccount(firstAccount + i%accounts)
		mod := t0.Add(time.Duration(i) * time.Second)
		raw, err := json.Marshal(map[string]any{
			"attributes": map[string]any{"type": "Case"}, "Id": id, "CaseNumber": fmt.Sprintf("%08d", i),
			"Subject": fmt.Sprintf("Printer %d does not print", i), "Description": "It jams on every page since the update.",
			"Status": statuses[i%len(statuses)], "Priority": "Medium", "Type": "Problem", "Origin": "Web",
			"AccountId": acc, "ContactId": "003" + acc[3:], "Account": map[string]any{"Name": "Account " + acc},
			"CreatedDate": mod.Format("2006-01-02T15:04:05.000+0000"), "SystemModstamp": mod.Format("2006-01-02T15:04:05.000+0000"),
			"LastModifiedDate": mod.Format("2006-01-02T15:04:05.000+0000"),
		})
		if err != nil {
			return err
		}
		row, err := syncer.MapRecord(obj, connectors.Record{Object: obj.SourceObject(), ID: id, Version: mod.String(), Modified: mod, Raw: raw})
		if err != nil {
			return err
		}
		rows = append(rows, row)
		if len(rows) == page {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(rows) > 0 {
		return flush()
	}
	return nil
}

func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	// Shutdown, not Close: it waits for handlers (and their log lines) to
	// finish before the bench reports.
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// benchLogin logs in through POST /auth/login and returns the Cookie
// header that carries the session.
func benchLogin(ctx context.Context, base, email, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return "", fmt.Errorf("login: %d %s", res.StatusCode, b)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == auth.SessionCookie {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", errors.New("login: no session cookie")
}

// checkBenchPage makes sure the measured request answers a page of the
// user's cases, not an error or an empty list.
func checkBenchPage(ctx context.Context, client *http.Client, base, cookie string, want int) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/cases", nil)
	req.Header.Set("Cookie", cookie)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var page struct {
		Data []struct {
			AccountID string `json:"account_id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
		return fmt.Errorf("GET /api/v1/cases: %d: %w", res.StatusCode, err)
	}
	if len(page.Data) != min(want, 50) {
		return fmt.Errorf("GET /api/v1/cases answered %d cases, want %d", len(page.Data), min(want, 50))
	}
	for _, r := range page.Data {
		if r.AccountID != benchAccount(0) {
			return fmt.Errorf("GET /api/v1/cases answered a case of %s", r.AccountID)
		}
	}
	return nil
}

// generate runs do from n goroutines for d and reports throughput and
// latency percentiles.
func generate(ctx context.Context, n int, d time.Duration, do func(context.Context) error) load {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			bad := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				err := do(ctx)
				if ctx.Err() != nil {
					break // a request cut off by the deadline counts for nothing
				}
				if err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	l := load{requests: len(lat), errors: errs, perSec: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		l.p50, l.p99 = percentile(lat, .5), percentile(lat, .99)
	}
	return l
}
