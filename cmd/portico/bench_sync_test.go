package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The fleet ingest's flags are checked before anything runs: a bad count
// of worker processes or budget is bad usage, exit 2, naming the flag.
func TestBenchSyncWorkersUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--workers", "3"},
		{"--workers", "0,3"},
		{"--workers", "1,33"},
		{"--workers", "1,3", "--budget", "0"},
	} {
		code, _, stderr := portico(t, append([]string{"bench", "sync"}, args...)...)
		require.Equal(t, exitUsage, code, "%v: %s", args, stderr)
		require.Contains(t, stderr, "--", args)
	}
}
