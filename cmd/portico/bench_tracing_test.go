package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBenchTracingEndsWithJSON(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := portico(t, "bench", "tracing", "--duration", "50ms")
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig))
	require.Equal(t, "tracing", fig["bench"])
	require.Positive(t, fig["ratio"])

	code, _, _ = portico(t, "bench", "tracing", "--duration", "0s")
	require.Equal(t, exitUsage, code, "no duration is bad usage")
}
