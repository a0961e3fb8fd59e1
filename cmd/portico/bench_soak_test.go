package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
)

// TestBenchSoak is CI's short soak: 60 s of the mixed load on two serve
// and two worker processes (this test binary running as the CLI), with
// 5% source faults; every goal must be reported, and met but for the
// memory growth, which takes the full soak's warm-up.
func TestBenchSoak(t *testing.T) {
	// Not parallel: it runs four processes and a load on a shared machine.
	if testing.Short() {
		t.Skip("runs serve and worker processes for a minute")
	}
	code, stdout, stderr := portico(t, "--database-url", dbtest.ServerURL(t), "bench", "soak",
		"--duration", "60s", "--sample", "10s", "--warmup", "20s", "--records", "500", "--rate", "5")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var fig struct {
		Bench    string `json:"bench"`
		Requests int    `json:"requests"`
		Errors   struct {
			Other    int      `json:"other"`
			Injected int      `json:"injected_source_answers"`
			Examples []string `json:"examples"`
		} `json:"errors"`
		Routes  map[string]map[string]float64 `json:"routes"`
		Samples []struct {
			Processes map[string]struct {
				RSS        float64 `json:"rss_mb"`
				Goroutines float64 `json:"goroutines"`
			} `json:"processes"`
			DB struct {
				Total int `json:"total"`
			} `json:"db_connections"`
			Queues map[string]any             `json:"queues"`
			Hits   map[string]float64         `json:"cache_hit_rate"`
			Routes map[string]json.RawMessage `json:"routes"`
		} `json:"samples"`
		Actions struct {
			Accepted int `json:"accepted"`
			Applied  int `json:"applied"`
		} `json:"actions"`
		Mails        int                `json:"mails"`
		Goals        map[string]bool    `json:"goals"`
		GoalsFailed  []string           `json:"goals_failed"`
		GoalMet      bool               `json:"goal_met"`
		RSSGrowthPct map[string]float64 `json:"rss_growth_pct"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), "%s\n%s", stdout, stderr)
	require.Equal(t, "soak", fig.Bench)
	require.Len(t, fig.Goals, 5)
	// A minute is too short for the memory goal: race-enabled processes on
	// a shared machine still grow 20 s in (the 10-minute soak's two-minute
	// warm-up is what it is measured after). Every other goal must hold,
	// and a goal missed fails the command.
	for goal, met := range fig.Goals {
		if goal != "rss_growth_under_10pc" {
			require.True(t, met, "goal %s not met: %v\n%s", goal, fig.Errors.Examples, stdout)
		}
	}
	if fig.GoalMet {
		require.Equal(t, exitOK, code, stderr)
	} else {
		require.Equal(t, []string{"rss_growth_under_10pc"}, fig.GoalsFailed)
		require.Equal(t, exitFailed, code, stderr)
	}
	require.Len(t, fig.RSSGrowthPct, 4, "the memory growth of every process is reported")
	require.Zero(t, fig.Errors.Other)
	require.Positive(t, fig.Errors.Injected, "the sources' faults were injected")
	require.GreaterOrEqual(t, len(fig.Samples), 6, "a sample every 10 s")
	for _, s := range fig.Samples {
		require.Len(t, s.Processes, 4, "two serve and two worker processes")
		for name, p := range s.Processes {
			require.Positive(t, p.RSS, name)
			require.Positive(t, p.Goroutines, name)
		}
		require.Positive(t, s.DB.Total)
		require.Contains(t, s.Hits, "sessions")
		require.NotEmpty(t, s.Routes)
	}
	for _, route := range []string{"GET /", "GET /api/v1/cases", "POST /api/v1/cases", "POST /api/v1/cases/{id}/comments", "POST /api/v1/cases/{id}/files"} {
		require.Contains(t, fig.Routes, route)
		require.Positive(t, fig.Routes[route]["p50_ms"], route)
	}
	require.Positive(t, fig.Actions.Accepted)
	require.Equal(t, fig.Actions.Accepted, fig.Actions.Applied)
	require.Positive(t, fig.Mails, "staff edits notified the customers by mail")

	code, _, _ = portico(t, "bench", "soak", "--duration", "1s")
	require.Equal(t, exitUsage, code)
}
