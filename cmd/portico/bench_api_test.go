package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
)

func TestBenchAPILastLineIsJSON(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := portico(t, "--database-url", dbtest.ServerURL(t), "bench", "api",
		"--cases", "300", "--accounts", "10", "--big", "600", "--duration", "300ms", "--concurrency", "4")
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), stdout)
	require.Equal(t, "api", fig["bench"])
	require.Positive(t, fig["requests_per_s"])
	require.Positive(t, fig["baseline_per_s"])
	// Under -race and a 300 ms run the ratio can round to 0.00; it must be
	// there and make sense, the figure itself is for real runs.
	require.Contains(t, fig, "ratio")
	require.GreaterOrEqual(t, fig["ratio"], 0.0)
	require.Less(t, fig["ratio"], 2.0)
	require.Positive(t, fig["big_requests_per_s"])
	require.Positive(t, fig["uncached_requests_per_s"], "the page cache off is measured too")
	require.Positive(t, fig["big_uncached_requests_per_s"])
	require.Greater(t, fig["page_cache_hit_ratio"], 0.0, "repeated reads of one page are served from memory")
	require.Zero(t, fig["errors"])

	code, _, _ = portico(t, "bench", "api", "--accounts", "0")
	require.Equal(t, exitUsage, code)
}
