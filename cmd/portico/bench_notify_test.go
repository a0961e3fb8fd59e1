package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
)

func TestBenchNotifyLastLineIsJSON(t *testing.T) {
	t.Parallel()
	profile := filepath.Join(t.TempDir(), "notify.cpu")
	code, stdout, stderr := portico(t, "--database-url", dbtest.ServerURL(t), "bench", "notify",
		"--events", "300", "--accounts", "10", "--rate", "10", "--trickle", "1s", "--workers", "4", "--hold", "100ms",
		"--cpuprofile", profile)
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), stdout)
	require.Equal(t, "notify", fig["bench"])
	require.EqualValues(t, 300, fig["events"])
	require.EqualValues(t, 310, fig["mails"], "every notice of the trickle and the burst was mailed once")
	require.Positive(t, fig["notices_per_s"])
	require.Positive(t, fig["baseline_smtp_per_s"])
	require.Contains(t, fig, "ratio")
	require.Positive(t, fig["p99_ms"])
	require.Contains(t, fig, "goal_met")
	// The machine's load beside the figures, and the burst's profile.
	require.Len(t, fig["loadavg_start"], 3)
	require.Len(t, fig["loadavg_end"], 3)
	b, err := os.ReadFile(profile)
	require.NoError(t, err, "a CPU profile of the burst")
	require.True(t, bytes.HasPrefix(b, []byte{0x1f, 0x8b}), "pprof's gzipped protobuf")

	code, _, _ = portico(t, "bench", "notify", "--events", "0")
	require.Equal(t, exitUsage, code)
}
