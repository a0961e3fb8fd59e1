package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
)

func TestBenchWritebackLastLineIsJSON(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := portico(t, "--database-url", dbtest.ServerURL(t), "bench", "writeback", "--rate", "50", "--duration", "1s", "--warmup", "1s")
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), stdout)
	require.Equal(t, "writeback", fig["bench"])
	require.EqualValues(t, 50, fig["actions"])
	require.Positive(t, fig["p50_ms"])
	require.GreaterOrEqual(t, fig["p99_ms"], fig["p50_ms"])
	require.Positive(t, fig["baseline_p50_ms"])
	require.Positive(t, fig["ratio"])
	require.Len(t, fig["loadavg_start"], 3, "the machine's load average is reported beside the figures")
	require.Contains(t, stdout, "load average at start: ")
	require.EqualValues(t, 1, fig["warmup_s"])
	require.Contains(t, stdout, "warm-up (not counted): ")

	code, _, _ = portico(t, "bench", "writeback", "--rate", "0")
	require.Equal(t, exitUsage, code)
}

func TestBenchWritebackFindMax(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := portico(t, "--database-url", dbtest.ServerURL(t), "bench", "writeback", "--find-max", "--steps", "10,20", "--step-duration", "1s", "--warmup", "1s")
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var fig struct {
		Bench   string    `json:"bench"`
		Max     int       `json:"max_rate_per_s"`
		Load    []float64 `json:"loadavg_start"`
		GoalMet bool      `json:"goal_met"`
		Steps   []struct {
			Rate    int     `json:"rate_per_s"`
			Actions int     `json:"actions"`
			P99     float64 `json:"p99_ms"`
			OK      bool    `json:"ok"`
		} `json:"steps"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), stdout)
	require.Equal(t, "writeback_find_max", fig.Bench)
	require.Len(t, fig.Load, 3)
	require.NotEmpty(t, fig.Steps)
	require.Equal(t, 10, fig.Steps[0].Rate)
	require.Equal(t, 10, fig.Steps[0].Actions)
	// The max is the last step that passed, and steps stop at the first
	// that failed.
	want := 0
	for i, s := range fig.Steps {
		if !s.OK {
			require.Len(t, fig.Steps, i+1, "no step after a failed one")
			break
		}
		want = s.Rate
	}
	require.Equal(t, want, fig.Max)
	require.False(t, fig.GoalMet, "20/s is not the goal of 250/s")
	require.Contains(t, stdout, "highest steady rate with p99 under 500 ms: ")

	code, _, _ = portico(t, "bench", "writeback", "--find-max", "--steps", "200,100")
	require.Equal(t, exitUsage, code)
}
