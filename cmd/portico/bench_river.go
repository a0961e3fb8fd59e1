package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/jobs"
)

// benchRiverCmd measures River with Portico's fetch settings against
// River's defaults in the same run: jobs per second through one worker
// slot, and the queue wait of jobs arriving one at a time.
func (c *cli) benchRiverCmd() *cobra.Command {
	var jobsN, trickle int
	cmd := &cobra.Command{
		Use:   "river",
		Short: "Queue throughput per worker slot and queue wait: Portico's fetch settings vs River's defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if jobsN < 1 || trickle < 1 {
				return usageErr("--jobs and --trickle must be positive")
			}
			pool, _, closeDB, err := c.benchDatabase(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			ours := config.Default().River
			type setting struct {
				name              string
				cooldown, pollInt time.Duration
			}
			settings := []setting{
				{"river_defaults", 100 * time.Millisecond, time.Second},
				{"portico", ours.FetchCooldown, ours.FetchPollInterval},
			}
			results := map[string]riverFigures{}
			for _, s := range settings {
				fmt.Fprintf(c.stdout, "%s (fetch_cooldown=%s, fetch_poll_interval=%s)\n", s.name, s.cooldown, s.pollInt)
				f, err := benchRiverOnce(cmd.Context(), pool, s.cooldown, s.pollInt, jobsN, trickle)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "  one worker slot: %d jobs in %s = %.1f jobs/s\n", jobsN, f.elapsed.Round(time.Millisecond), f.perSlot)
				fmt.Fprintf(c.stdout, "  queue wait, one job at a time: p50 %s  p99 %s\n", f.p50, f.p99)
				results[s.name] = f
			}
			base, mine := results["river_defaults"], results["portico"]
			return benchResult(c.stdout, map[string]any{
				"bench":                  "river",
				"jobs":                   jobsN,
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
		},
	}
	cmd.Flags().IntVar(&jobsN, "jobs", 200, "jobs through one worker slot")
	cmd.Flags().IntVar(&trickle, "trickle", 50, "jobs inserted one at a time for the queue-wait figure")
	return cmd
}

type riverFigures struct {
	elapsed  time.Duration
	perSlot  float64
	p50, p99 time.Duration
}

func benchRiverOnce(ctx context.Context, pool *pgxpool.Pool, cooldown, poll time.Duration, n, trickle int) (riverFigures, error) {
	var mu sync.Mutex
	var waits []time.Duration
	done := make(chan struct{}, n+trickle)
	workers := river.NewWorkers()
	river.AddWorker(workers, &jobs.PingWorker{OnDone: func(d time.Duration) {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		done <- struct{}{}
	}})
	queue := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:            slog.New(slog.DiscardHandler),
		FetchCooldown:     cooldown,
		FetchPollInterval: poll,
		Queues:            map[string]river.QueueConfig{queue: {MaxWorkers: 1}},
		Workers:           workers,
	})
	if err != nil {
		return riverFigures{}, err
	}
	if err := client.Start(ctx); err != nil {
		return riverFigures{}, err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	}()
	wait := func(k int) error {
		deadline := time.After(5 * time.Minute)
		for range k {
			select {
			case <-done:
			case <-deadline:
				return fmt.Errorf("bench: jobs not worked within 5 minutes")
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}

	// Throughput: n jobs at once through one slot.
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: jobs.PingArgs{Queue: queue, Inserted: time.Now()}}
	}
	start := time.Now()
	if _, err := client.InsertMany(ctx, params); err != nil {
		return riverFigures{}, err
	}
	if err := wait(n); err != nil {
		return riverFigures{}, err
	}
	elapsed := time.Since(start)

	// Queue wait: one job at a time, each inserted after the last ran.
	mu.Lock()
	waits = waits[:0]
	mu.Unlock()
	for range trickle {
		if _, err := client.Insert(ctx, jobs.PingArgs{Queue: queue, Inserted: time.Now()}, nil); err != nil {
			return riverFigures{}, err
		}
		if err := wait(1); err != nil {
			return riverFigures{}, err
		}
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	return riverFigures{
		elapsed: elapsed,
		perSlot: float64(n) / elapsed.Seconds(),
		p50:     percentile(waits, 0.50),
		p99:     percentile(waits, 0.99),
	}, nil
}

// percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i].Round(100 * time.Microsecond)
}

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }
func round1(f float64) float64   { return float64(int64(f*10+0.5)) / 10 }
func round2(f float64) float64   { return float64(int64(f*100+0.5)) / 100 }
