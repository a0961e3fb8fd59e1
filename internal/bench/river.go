package bench

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/jobs"
)

// RiverConfig is the river bench: River with Portico's fetch settings
// against River's defaults in the same run.
type RiverConfig struct {
	Server Server
	// Jobs go through one worker slot at once for the throughput figure.
	Jobs int
	// Trickle jobs are inserted one at a time for the queue-wait figure.
	Trickle int
}

// Validate names the bad setting.
func (c RiverConfig) Validate() error {
	if c.Jobs < 1 || c.Trickle < 1 {
		return usage("--jobs and --trickle must be positive")
	}
	return nil
}

// riverSetting is one pair of fetch settings under test.
type riverSetting struct {
	name              string
	cooldown, pollInt time.Duration
}

type riverFigures struct {
	elapsed  time.Duration
	perSlot  float64
	p50, p99 time.Duration
}

// RunRiver measures jobs per second through one worker slot, and the
// queue wait of jobs arriving one at a time, for both settings.
func RunRiver(ctx context.Context, cfg RiverConfig, out Output) error {
	return withDatabase(ctx, cfg, cfg.Server, out, func(db *database) error {
		ours := config.Default().River
		settings := []riverSetting{
			{"river_defaults", 100 * time.Millisecond, time.Second},
			{"portico", ours.FetchCooldown, ours.FetchPollInterval},
		}
		results := map[string]riverFigures{}
		for _, s := range settings {
			fmt.Fprintf(out.Stdout, "%s (fetch_cooldown=%s, fetch_poll_interval=%s)\n", s.name, s.cooldown, s.pollInt)
			f, err := riverOnce(ctx, db.pool, s, cfg.Jobs, cfg.Trickle)
			if err != nil {
				return err
			}
			fmt.Fprintf(out.Stdout, "  one worker slot: %d jobs in %s = %.1f jobs/s\n", cfg.Jobs, f.elapsed.Round(time.Millisecond), f.perSlot)
			fmt.Fprintf(out.Stdout, "  queue wait, one job at a time: p50 %s  p99 %s\n", f.p50, f.p99)
			results[s.name] = f
		}
		base, mine := results["river_defaults"], results["portico"]
		return writeResult(out.Stdout, map[string]any{
			"bench":                  "river",
			"jobs":                   cfg.Jobs,
			"jobs_per_s_per_slot":    round1(mine.perSlot),
			"baseline_per_s":         round1(base.perSlot),
			"ratio":                  round2(mine.perSlot / base.perSlot),
			"wait_p50_ms":            ms(mine.p50),
			"wait_p99_ms":            ms(mine.p99),
			"baseline_wait_p50_ms":   ms(base.p50),
			"baseline_wait_p99_ms":   ms(base.p99),
			"fetch_cooldown_ms":      ms(ours.FetchCooldown),
			"fetch_poll_interval_ms": ms(ours.FetchPollInterval),
		})
	})
}

// pingClient is a River client with one worker slot on a queue of its
// own, whose ping jobs report their queue wait.
type pingClient struct {
	client *river.Client[pgx.Tx]
	queue  string
	done   chan struct{}
	mu     sync.Mutex
	waits  []time.Duration
}

func startPingClient(ctx context.Context, pool *pgxpool.Pool, s riverSetting, capacity int) (*pingClient, error) {
	pc := &pingClient{queue: fmt.Sprintf("bench_%d", time.Now().UnixNano()), done: make(chan struct{}, capacity)}
	workers := river.NewWorkers()
	river.AddWorker(workers, &jobs.PingWorker{OnDone: func(d time.Duration) {
		pc.mu.Lock()
		pc.waits = append(pc.waits, d)
		pc.mu.Unlock()
		pc.done <- struct{}{}
	}})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:            slog.New(slog.DiscardHandler),
		FetchCooldown:     s.cooldown,
		FetchPollInterval: s.pollInt,
		Queues:            map[string]river.QueueConfig{pc.queue: {MaxWorkers: 1}},
		Workers:           workers,
	})
	if err != nil {
		return nil, err
	}
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	pc.client = client
	return pc, nil
}

func (pc *pingClient) stop() {
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = pc.client.Stop(stopCtx)
}

// wait waits for k jobs to be worked.
func (pc *pingClient) wait(ctx context.Context, k int) error {
	deadline := time.After(5 * time.Minute)
	for range k {
		select {
		case <-pc.done:
		case <-deadline:
			return fmt.Errorf("bench: jobs not worked within 5 minutes")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (pc *pingClient) args() jobs.PingArgs {
	return jobs.PingArgs{Queue: pc.queue, Inserted: time.Now()}
}

// riverOnce measures one setting: throughput of n jobs inserted at once,
// then the queue wait of trickle jobs, each inserted after the last ran.
func riverOnce(ctx context.Context, pool *pgxpool.Pool, s riverSetting, n, trickle int) (riverFigures, error) {
	pc, err := startPingClient(ctx, pool, s, n+trickle)
	if err != nil {
		return riverFigures{}, err
	}
	defer pc.stop()
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: pc.args()}
	}
	start := time.Now()
	if _, err := pc.client.InsertMany(ctx, params); err != nil {
		return riverFigures{}, err
	}
	if err := pc.wait(ctx, n); err != nil {
		return riverFigures{}, err
	}
	elapsed := time.Since(start)

	pc.mu.Lock()
	pc.waits = pc.waits[:0]
	pc.mu.Unlock()
	for range trickle {
		if _, err := pc.client.Insert(ctx, pc.args(), nil); err != nil {
			return riverFigures{}, err
		}
		if err := pc.wait(ctx, 1); err != nil {
			return riverFigures{}, err
		}
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	slices.Sort(pc.waits)
	return riverFigures{
		elapsed: elapsed,
		perSlot: float64(n) / elapsed.Seconds(),
		p50:     percentile(pc.waits, 0.50),
		p99:     percentile(pc.waits, 0.99),
	}, nil
}
