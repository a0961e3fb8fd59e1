package bench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/porticohq/portico/internal/mapping/mappingbench"
)

// MappingConfig is the mapping bench: the mapping engine on a 20-field
// Case against encoding/json plus lookups.
type MappingConfig struct {
	// Duration is how long each of the engine and the baseline runs.
	Duration time.Duration
	// Workers map in parallel; 0 is one per core.
	Workers int
}

// Validate names the bad setting.
func (c MappingConfig) Validate() error {
	if c.Duration <= 0 || c.Workers < 0 {
		return usage("--duration must be positive and --workers not negative")
	}
	return nil
}

// mappingGoal is records/s per core the engine must reach.
const mappingGoal = 200_000

// RunMapping measures records/s per core of the engine and the baseline.
func RunMapping(ctx context.Context, cfg MappingConfig, out Output) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	r, err := mappingbench.Run(ctx, cfg.Duration, workers, out.Stdout)
	if err != nil {
		return err
	}
	// Per core is judged on CPU time when the OS reports it: on a shared
	// machine wall-clock time also counts other processes.
	perCore := r.PerCore
	if r.PerCPUSecond > 0 {
		perCore = r.PerCPUSecond
	}
	verdict := "meets"
	if perCore < mappingGoal {
		verdict = "misses"
	}
	fmt.Fprintf(out.Stdout, "%.0f records/s per core %s the goal of %d\n", perCore, verdict, mappingGoal)
	return writeResult(out.Stdout, map[string]any{
		"bench":                       "mapping",
		"fields":                      20,
		"records":                     r.Records,
		"workers":                     r.Workers,
		"records_per_s":               math.Round(r.PerSecond),
		"records_per_s_per_core":      math.Round(perCore),
		"records_per_s_per_core_wall": math.Round(r.PerCore),
		"records_per_cpu_s":           math.Round(r.PerCPUSecond),
		"baseline_per_cpu_s":          math.Round(r.BaselinePerCPU),
		"baseline_per_s":              math.Round(r.BaselinePerSec),
		"ratio":                       round2(r.Ratio),
		"goal_per_core":               mappingGoal,
	})
}
