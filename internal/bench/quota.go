package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/fleet"
)

// QuotaConfig is the quota bench: what the budget every process shares in
// PostgreSQL costs per source call, against the in-memory budget of one
// process, in the same run.
type QuotaConfig struct {
	Server Server
	// Processes are simulated processes (a pool, a Fleet and a client
	// each) calling at once.
	Processes int
	// Concurrency is the calls in flight per process.
	Concurrency int
	// Calls is the calls per measurement, over all processes.
	Calls int
	// Latency is the simulated source's answer time (a real source takes
	// 50–500 ms; 0 measures the budget's own cost against a loopback).
	Latency time.Duration
}

// Validate names the bad setting.
func (c QuotaConfig) Validate() error {
	if c.Processes < 1 || c.Concurrency < 1 || c.Calls < 1 || c.Latency < 0 {
		return usage("--processes, --concurrency and --calls must be positive, --latency not negative")
	}
	return nil
}

type quotaFigures struct {
	perCall  time.Duration // wall time per call, all processes together
	p50, p99 time.Duration // one call's latency
	spent    int64         // what the shared budget counted
}

// RunQuota sends the same calls through the client with each budget.
func RunQuota(ctx context.Context, cfg QuotaConfig, out Output) error {
	return withDatabase(ctx, cfg, cfg.Server, out, func(db *database) error {
		var calls atomic.Int64
		src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			if cfg.Latency > 0 {
				time.Sleep(cfg.Latency)
			}
			_, _ = w.Write([]byte(`{"records":[]}`))
		}))
		defer src.Close()
		fmt.Fprintf(out.Stdout, "%d calls, %d processes x %d in flight, source latency %s\n", cfg.Calls, cfg.Processes, cfg.Concurrency, cfg.Latency)
		results := map[string]quotaFigures{}
		for _, run := range []struct {
			name  string
			lease int // 0: in memory
		}{{"in_memory", 0}, {"shared", 1}, {"shared_lease10", 10}} {
			f, err := quotaOnce(ctx, db, cfg, src.URL, run.name, run.lease)
			if err != nil {
				return fmt.Errorf("bench: %s: %w", run.name, err)
			}
			fmt.Fprintf(out.Stdout, "  %-15s %7.1f µs per call (wall, all processes)  p50 %s  p99 %s\n",
				run.name, float64(f.perCall)/float64(time.Microsecond), f.p50, f.p99)
			if run.lease > 0 && f.spent != int64(cfg.Calls) {
				return fmt.Errorf("bench: the shared budget counted %d calls of %d", f.spent, cfg.Calls)
			}
			results[run.name] = f
		}
		base, shared, leased := results["in_memory"], results["shared"], results["shared_lease10"]
		us := func(d time.Duration) float64 { return round1(float64(d) / float64(time.Microsecond)) }
		return writeResult(out.Stdout, map[string]any{
			"bench":                   "quota",
			"calls":                   cfg.Calls,
			"processes":               cfg.Processes,
			"latency_ms":              ms(cfg.Latency),
			"shared_us_per_call":      us(shared.perCall),
			"lease10_us_per_call":     us(leased.perCall),
			"baseline_us_per_call":    us(base.perCall),
			"ratio":                   round2(float64(base.perCall) / float64(shared.perCall)),
			"lease10_ratio":           round2(float64(base.perCall) / float64(leased.perCall)),
			"shared_p99_ms":           ms(shared.p99),
			"lease10_p99_ms":          ms(leased.p99),
			"baseline_p99_ms":         ms(base.p99),
			"shared_overhead_us_p50":  us(shared.p50 - base.p50),
			"lease10_overhead_us_p50": us(leased.p50 - base.p50),
		})
	})
}

func quotaOnce(ctx context.Context, db *database, cfg QuotaConfig, url, name string, lease int) (quotaFigures, error) {
	settings := httpclient.Settings{
		Name: "bench_" + name, Quota: httpclient.Quota{PerDay: 10 * cfg.Calls, WriteShare: 0.2},
		Breaker:        httpclient.Breaker{Failures: 5, OpenTimeout: 30 * time.Second},
		Retry:          httpclient.Retry{Max: 0, WaitMin: time.Millisecond, WaitMax: time.Millisecond},
		RequestTimeout: 30 * time.Second, MaxResponseBytes: 1 << 20,
	}
	clients := make([]*httpclient.Client, cfg.Processes)
	var fleets []*fleet.Fleet
	defer func() {
		for _, f := range fleets {
			f.Close(context.Background())
		}
	}()
	for i := range clients {
		opts := httpclient.Options{Connection: settings}
		if lease > 0 {
			pool, err := pgxpool.New(ctx, db.url)
			if err != nil {
				return quotaFigures{}, err
			}
			defer pool.Close()
			f := fleet.New(fleet.Options{Pool: pool, Process: fmt.Sprintf("bench-%d", i), Lease: lease})
			fleets = append(fleets, f)
			budget, signal, err := f.Attach(ctx, settings)
			if err != nil {
				return quotaFigures{}, err
			}
			opts.Budget, opts.Signal = budget, signal
		}
		c, err := httpclient.New(opts)
		if err != nil {
			return quotaFigures{}, err
		}
		clients[i] = c
	}
	var next atomic.Int64
	lat := make([][]time.Duration, cfg.Processes*cfg.Concurrency)
	errs := make([]error, len(lat))
	var wg sync.WaitGroup
	start := time.Now()
	for w := range lat {
		c := clients[w%cfg.Processes]
		wg.Go(func() {
			for next.Add(1) <= int64(cfg.Calls) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					errs[w] = err
					return
				}
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					var rl *connectors.RateLimitedError
					if errors.As(err, &rl) {
						err = fmt.Errorf("the budget ran out: %w", err)
					}
					errs[w] = err
					return
				}
				_ = resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return quotaFigures{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	f := quotaFigures{perCall: elapsed / time.Duration(cfg.Calls), p50: percentile(all, 0.5), p99: percentile(all, 0.99)}
	if len(fleets) > 0 {
		for _, fl := range fleets {
			fl.Close(ctx) // leases back
		}
		st, err := fleets[0].Status(ctx)
		if err != nil {
			return f, err
		}
		f.spent = st[settings.Name].Spent
	}
	return f, nil
}
