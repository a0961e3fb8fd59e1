package devenv

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommandForNamesACommandThatRuns: nothing installs portico on the
// PATH, so the hint is the built binary's path or `go run`.
func TestCommandForNamesACommandThatRuns(t *testing.T) {
	t.Parallel()
	require.Equal(t, "go run ./cmd/portico", commandFor("/tmp/go-build3551/b001/exe/portico"))
	require.Equal(t, "go run ./cmd/portico", commandFor("/root/.cache/go-build/b1/b177-d/portico"))
	require.Equal(t, "/home/me/portico/bin/portico", commandFor("/home/me/portico/bin/portico"))
	require.Equal(t, "/usr/local/bin/portico", commandFor("/usr/local/bin/portico"))
}
