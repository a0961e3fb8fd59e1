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
	code, stdout, stderr := portico(t, "--database-url", dbtest.ServerURL(t), "bench", "writeback", "--rate", "50", "--duration", "1s")
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

	code, _, _ = portico(t, "bench", "writeback", "--rate", "0")
	require.Equal(t, exitUsage, code)
}
