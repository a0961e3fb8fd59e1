package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
)

// APIConfig is the api bench: GET /api/v1/cases as a logged-in user
// through the whole server (middleware, session, access policy, RLS
// transaction, JSON, ETag) next to a bare chi handler returning a fixed
// body, both over loopback HTTP with the same load generator in the same
// run; then again with a much larger cache, to show that the p99 does not
// grow with it. Each API figure comes twice: as configured (rendered pages
// kept in memory until the database reports a change) and with the page
// cache off, where every request reads and renders its page.
type APIConfig struct {
	Server Server
	// App is the loaded configuration the measured API runs with (its
	// database and connections are the bench's own).
	App  *config.Config
	Deps DepsFunc
	// Cases are cached across Accounts in the first run.
	Cases, Accounts int
	// Big is the cached records of the second run; 0 skips it.
	Big int
	// Dense puts the second run's extra cases into the same accounts
	// instead of into new accounts at the same density.
	Dense       bool
	Concurrency int
	// Duration is how long each measurement runs.
	Duration time.Duration
	// CPUProfile, when set, receives a CPU profile of the API measurements.
	CPUProfile string
}

// Validate names the bad setting.
func (c APIConfig) Validate() error {
	if c.Cases < 1 || c.Accounts < 1 || c.Accounts > c.Cases || c.Concurrency < 1 || c.Duration <= 0 || (c.Big != 0 && c.Big <= c.Cases) {
		return usage("--cases and --accounts must be positive with accounts <= cases, --big 0 or more than --cases, --concurrency and --duration positive")
	}
	return nil
}

// The user the api bench logs in as: a member of the first account, with
// a real password hash and login.
const apiEmail, apiPassword = "bench.user@portico.test", "bench-violet-harbour-lantern-42"

// apiBench is a run of the api bench: its database, the three servers
// measured and a logged-in client.
type apiBench struct {
	cfg      APIConfig
	out      Output
	pool     *pgxpool.Pool
	obj      *mapping.Object
	app      *app.App // the API as configured
	apiURL   string
	uncached string // the API with its page cache off
	bareURL  string
	cookie   string
	client   *http.Client
	first    apiFirst
	stops    []func()
}

// apiFirst is what the second run is compared with.
type apiFirst struct{ api, unc load }

// RunAPI runs the api bench and prints its figures.
func RunAPI(ctx context.Context, cfg APIConfig, out Output) error {
	return withDatabase(ctx, cfg, cfg.Server, out, func(db *database) error {
		figures, err := runAPI(ctx, cfg, out, db.pool)
		if err != nil {
			return err
		}
		return writeResult(out.Stdout, figures)
	})
}

func runAPI(ctx context.Context, cfg APIConfig, out Output, pool *pgxpool.Pool) (map[string]any, error) {
	deps, err := cfg.Deps(cfg.App)
	if err != nil {
		return nil, err
	}
	obj, ok := deps.Mappings.Object("case")
	if !ok {
		return nil, errors.New("the mappings have no case object")
	}
	b := &apiBench{cfg: cfg, out: out, pool: pool, obj: obj}
	defer b.close()
	if err := b.seedFirst(ctx); err != nil {
		return nil, err
	}
	if err := b.startServers(ctx, deps); err != nil {
		return nil, err
	}
	if err := b.login(ctx); err != nil {
		return nil, err
	}
	figures := b.measureFirst(ctx)
	if cfg.Big == 0 {
		return figures, nil
	}
	return figures, b.measureBig(ctx, figures)
}

func (b *apiBench) close() {
	for i := len(b.stops) - 1; i >= 0; i-- {
		b.stops[i]()
	}
}

// seedFirst caches the first run's cases.
func (b *apiBench) seedFirst(ctx context.Context) error {
	start := time.Now()
	if err := seedCases(ctx, b.pool, b.obj, 0, b.cfg.Cases, 0, b.cfg.Accounts); err != nil {
		return err
	}
	if err := store.RecordAnalyze(ctx, b.pool); err != nil {
		return err
	}
	fmt.Fprintf(b.out.Stdout, "cached %d cases across %d accounts through the %s mapping in %s\n",
		b.cfg.Cases, b.cfg.Accounts, b.obj.File(), time.Since(start).Round(time.Millisecond))
	return nil
}

// startServers creates the user and starts the three servers: two API
// processes on the database, one as configured (its page cache on by
// default), one with the page cache off, to show what each request costs
// when it has to render its page; and the bare chi handler.
func (b *apiBench) startServers(ctx context.Context, deps app.Deps) error {
	if _, err := auth.CreateUser(ctx, b.pool, auth.NewUser{Email: apiEmail, Password: apiPassword, AccountID: benchAccount(0), Roles: []string{auth.RoleMember}}); err != nil {
		return err
	}
	acfg := *b.cfg.App
	acfg.DatabaseURL = b.pool.Config().ConnString()
	acfg.Connections = nil
	acfg.Log.Level = "warn"
	a, url, err := serveApp(ctx, acfg, deps, b.out, &b.stops)
	if err != nil {
		return err
	}
	b.app, b.apiURL = a, url
	ucfg := acfg
	ucfg.HTTP.PageCacheMB = 0
	if _, b.uncached, err = serveApp(ctx, ucfg, deps, b.out, &b.stops); err != nil {
		return err
	}
	fixed := []byte(`{"data":[],"next_cursor":null}` + "\n")
	bare := chi.NewRouter()
	bare.Get("/api/v1/cases", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixed)
	})
	url, stop, err := serveLoopback(bare)
	if err != nil {
		return err
	}
	b.bareURL = url
	b.stops = append(b.stops, stop)
	return nil
}

// serveApp opens a serving process with cfg and serves it on a loopback
// port; the function that stops both goes on stops.
func serveApp(ctx context.Context, cfg config.Config, deps app.Deps, out Output, stops *[]func()) (*app.App, string, error) {
	a, err := app.Open(ctx, &cfg, out.warnLogger(), app.Mode{Serve: true}, deps)
	if err != nil {
		return nil, "", err
	}
	h, err := a.Handler(ctx)
	if err != nil {
		a.Close()
		return nil, "", err
	}
	url, stop, err := serveLoopback(h)
	if err != nil {
		a.Close()
		return nil, "", err
	}
	*stops = append(*stops, func() { stop(); a.Close() })
	return a, url, nil
}

// login logs the user in and checks, with one request, that the measured
// answer is a real page of cases.
func (b *apiBench) login(ctx context.Context) error {
	cookie, err := apiLogin(ctx, b.apiURL, apiEmail, apiPassword)
	if err != nil {
		return err
	}
	b.cookie = cookie
	n := b.cfg.Concurrency
	b.client = &http.Client{Transport: &http.Transport{MaxIdleConns: n * 2, MaxIdleConnsPerHost: n * 2, MaxConnsPerHost: n}}
	b.stops = append(b.stops, b.client.CloseIdleConnections)
	return checkAPIPage(ctx, b.client, b.apiURL, b.cookie, b.cfg.Cases/b.cfg.Accounts)
}

// measure runs one measurement against base and prints it.
func (b *apiBench) measure(ctx context.Context, label, base, cookie string) load {
	// A healthy syncer keeps the cache within its freshness target; so
	// does this, or every list would schedule refreshes of stale cases.
	if err := store.BenchMarkFresh(ctx, b.pool, store.BenchMarkFreshParams{Connection: b.obj.Connection(), Object: b.obj.SourceObject()}); err != nil {
		fmt.Fprintf(b.out.Stderr, "marking the cache fresh: %v\n", err)
	}
	l := generate(ctx, b.cfg.Concurrency, b.cfg.Duration, getCases(b.client, base, cookie))
	fmt.Fprintf(b.out.Stdout, "%-28s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (%d requests, %d errors)\n", label, l.perSec, ms(l.p50), ms(l.p99), l.requests, l.errors)
	return l
}

// startProfile starts the CPU profile, if one was asked for; it runs
// until the bench ends.
func (b *apiBench) startProfile() {
	stop, err := profileCPU(b.cfg.CPUProfile)
	if err != nil {
		fmt.Fprintln(b.out.Stderr, err)
		return
	}
	b.stops = append(b.stops, stop)
}

// measureFirst measures the bare handler, the API and the API without its
// page cache at the first run's size.
func (b *apiBench) measureFirst(ctx context.Context) map[string]any {
	cfg := b.cfg
	fmt.Fprintf(b.out.Stdout, "%d connections, %s per measurement\n", cfg.Concurrency, cfg.Duration)
	base1 := b.measure(ctx, "bare chi, fixed body", b.bareURL, "")
	b.startProfile()
	_, hits0, misses0 := b.app.API().PageCacheStats()
	api1 := b.measure(ctx, fmt.Sprintf("GET /api/v1/cases @ %d", cfg.Cases), b.apiURL, b.cookie)
	_, hits1, misses1 := b.app.API().PageCacheStats()
	unc1 := b.measure(ctx, "  same, page cache off", b.uncached, b.cookie)
	b.first = apiFirst{api: api1, unc: unc1}
	return map[string]any{
		"bench": "api", "cases": cfg.Cases, "accounts": cfg.Accounts, "concurrency": cfg.Concurrency,
		"duration_s": cfg.Duration.Seconds(), "requests_per_s": round1(api1.perSec), "p50_ms": ms(api1.p50), "p99_ms": ms(api1.p99),
		"errors": api1.errors + base1.errors + unc1.errors, "baseline_per_s": round1(base1.perSec), "baseline_p99_ms": ms(base1.p99),
		"ratio": round2(api1.perSec / base1.perSec), "goal_ratio": 0.25, "goal_p99_ms": 20,
		"baseline_is":             "bare chi handler returning a fixed body, same loopback load generator, same run",
		"page_cache_hit_ratio":    hitRatio(hits1-hits0, misses1-misses0),
		"uncached_requests_per_s": round1(unc1.perSec), "uncached_p50_ms": ms(unc1.p50), "uncached_p99_ms": ms(unc1.p99),
		"uncached_ratio": round2(unc1.perSec / base1.perSec),
		"goal_met":       api1.perSec/base1.perSec >= 0.25 && api1.p99 <= 20*time.Millisecond,
	}
}

// measureBig grows the cache to Big records and measures again.
func (b *apiBench) measureBig(ctx context.Context, figures map[string]any) error {
	cfg := b.cfg
	start := time.Now()
	// By default the extra cases belong to new accounts at the first run's
	// density, so the user's page is the same page and only the cache's
	// size differs; Dense piles them onto the same accounts (the user's
	// page grows to the 50-case default limit).
	firstAccount, bigAccounts, want := cfg.Accounts, max(1, (cfg.Big-cfg.Cases)/max(1, cfg.Cases/cfg.Accounts)), cfg.Cases/cfg.Accounts
	if cfg.Dense {
		firstAccount, bigAccounts, want = 0, cfg.Accounts, min(50, cfg.Big/cfg.Accounts)
	}
	if err := seedCases(ctx, b.pool, b.obj, cfg.Cases, cfg.Big, firstAccount, bigAccounts); err != nil {
		return err
	}
	if err := store.RecordSettle(ctx, b.pool); err != nil {
		return err
	}
	fmt.Fprintf(b.out.Stdout, "cached %d records in all (+%d in %d accounts) in %s\n", cfg.Big, cfg.Big-cfg.Cases, bigAccounts, time.Since(start).Round(time.Millisecond))
	if err := checkAPIPage(ctx, b.client, b.apiURL, b.cookie, want); err != nil {
		return err
	}
	base2 := b.measure(ctx, "bare chi, fixed body", b.bareURL, "")
	api2 := b.measure(ctx, fmt.Sprintf("GET /api/v1/cases @ %d", cfg.Big), b.apiURL, b.cookie)
	unc2 := b.measure(ctx, "  same, page cache off", b.uncached, b.cookie)
	growth := float64(api2.p99) / float64(b.first.api.p99)
	figures["big_uncached_requests_per_s"] = round1(unc2.perSec)
	figures["big_uncached_p99_ms"] = ms(unc2.p99)
	figures["uncached_p99_growth"] = round2(float64(unc2.p99) / float64(b.first.unc.p99))
	figures["big_records"] = cfg.Big
	figures["big_dense"] = cfg.Dense
	figures["big_requests_per_s"] = round1(api2.perSec)
	figures["big_p99_ms"] = ms(api2.p99)
	figures["big_baseline_per_s"] = round1(base2.perSec)
	figures["big_ratio"] = round2(api2.perSec / base2.perSec)
	figures["p99_growth"] = round2(growth)
	figures["goal_p99_growth"] = 1.5
	figures["errors"] = figures["errors"].(int) + unc2.errors + api2.errors + base2.errors
	figures["goal_met"] = figures["goal_met"].(bool) && growth <= 1.5
	return nil
}

func hitRatio(hits, misses int64) float64 {
	if hits+misses == 0 {
		return 0
	}
	return round2(float64(hits) / float64(hits+misses))
}

func benchAccount(i int) string { return fmt.Sprintf("001B%011d", i) }

// seedCases caches cases [from, to) through the real mapping, spread
// evenly over accounts firstAccount.., in pages as the syncer stores them.
func seedCases(ctx context.Context, pool *pgxpool.Pool, obj *mapping.Object, from, to, firstAccount, accounts int) error {
	const page = 2000
	rows := make([]store.Row, 0, page)
	flush := func() error {
		_, err := store.UpsertRows(ctx, pool, store.Page{TenantID: 1, Connection: obj.Connection(), Object: obj.Name(), SourceObject: obj.SourceObject(), MappingHash: obj.Hash()}, rows)
		rows = rows[:0]
		return err
	}
	for i := from; i < to; i++ {
		row, err := seedCase(obj, i, benchAccount(firstAccount+i%accounts))
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

var seedStatuses = []string{"New", "Working", "Escalated", "Waiting on Customer", "Closed"}

// seedCase is case i of account acc, mapped as the syncer maps it.
func seedCase(obj *mapping.Object, i int, acc string) (store.Row, error) {
	id := fmt.Sprintf("500B%011d", i)
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	stamp := mod.Format("2006-01-02T15:04:05.000+0000")
	raw, err := json.Marshal(map[string]any{
		"attributes": map[string]any{"type": "Case"}, "Id": id, "CaseNumber": fmt.Sprintf("%08d", i),
		"Subject": fmt.Sprintf("Printer %d does not print", i), "Description": "It jams on every page since the update.",
		"Status": seedStatuses[i%len(seedStatuses)], "Priority": "Medium", "Type": "Problem", "Origin": "Web",
		"AccountId": acc, "ContactId": "003" + acc[3:], "Account": map[string]any{"Name": "Account " + acc},
		"CreatedDate": stamp, "SystemModstamp": stamp, "LastModifiedDate": stamp,
	})
	if err != nil {
		return store.Row{}, err
	}
	return syncer.MapRecord(obj, connectors.Record{Object: obj.SourceObject(), ID: id, Version: mod.String(), Modified: mod, Raw: raw})
}

// apiLogin logs in through POST /auth/login and returns the Cookie header
// that carries the session.
func apiLogin(ctx context.Context, base, email, password string) (string, error) {
	s, err := apiSession(ctx, base, email, password)
	return s.cookie, err
}

// session is a signed-in user's Cookie header and CSRF token.
type session struct{ cookie, csrf string }

// apiSession logs in through POST /auth/login and returns the session.
func apiSession(ctx context.Context, base, email, password string) (session, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return session{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return session{}, fmt.Errorf("login: %d %s", res.StatusCode, b)
	}
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&login); err != nil {
		return session{}, fmt.Errorf("login: %w", err)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == auth.SessionCookie {
			return session{cookie: ck.Name + "=" + ck.Value, csrf: login.CSRF}, nil
		}
	}
	return session{}, errors.New("login: no session cookie")
}

// getCases is the measured request: GET /api/v1/cases on base.
func getCases(client *http.Client, base, cookie string) func(context.Context) error {
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

// checkAPIPage makes sure the measured request answers a page of the
// user's cases, not an error or an empty list.
func checkAPIPage(ctx context.Context, client *http.Client, base, cookie string, want int) error {
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

// load is one measurement's figures.
type load struct {
	requests int
	errors   int
	perSec   float64
	p50, p99 time.Duration
}

// generate runs do from n goroutines for d and reports throughput and
// latency percentiles. Requests still running at the end finish
// uncounted, rather than being cut off: a cancelled request would make
// the server log a failure that is the load generator's.
func generate(ctx context.Context, n int, d time.Duration, do func(context.Context) error) load {
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for range n {
		wg.Go(func() {
			mine, bad := loadWorker(ctx, end, do)
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := min(time.Since(start), d)
	slices.Sort(lat)
	l := load{requests: len(lat), errors: errs, perSec: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		l.p50, l.p99 = percentile(lat, .5), percentile(lat, .99)
	}
	return l
}

// loadWorker calls do until end (or until ctx ends) and returns the
// latencies of the calls that finished by end and succeeded, and how many
// failed.
func loadWorker(ctx context.Context, end time.Time, do func(context.Context) error) ([]time.Duration, int) {
	mine := make([]time.Duration, 0, 4096)
	bad := 0
	for ctx.Err() == nil && time.Now().Before(end) {
		t0 := time.Now()
		err := do(ctx)
		if ctx.Err() != nil || time.Now().After(end) {
			break // a request that ends after the deadline counts for nothing
		}
		if err != nil {
			bad++
			continue
		}
		mine = append(mine, time.Since(t0))
	}
	return mine, bad
}
