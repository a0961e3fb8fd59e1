package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// bench web's flags reach its Config: a bad one is bad usage (exit 2),
// named, before any database is made. The run itself is tested in
// internal/bench (TestRunWeb).
func TestBenchWebBadFlags(t *testing.T) {
	t.Parallel()
	for flag, args := range map[string][]string{
		"--conns":             {"--conns", "64,0"},
		"--records":           {"--records", "10"},
		"--lighthouse-script": {"--lighthouse", "--lighthouse-script", ""},
	} {
		code, _, stderr := portico(t, append([]string{"bench", "web"}, args...)...)
		require.Equal(t, exitUsage, code, flag)
		require.Contains(t, stderr, flag)
	}
}
