package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
)

// TestMain runs the tests, or the CLI: a process that a command starts
// of os.Executable() (the soak's serve and worker processes) is this test
// binary, given the CLI's arguments rather than the test flags that `go
// test` always passes.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-test.") {
		os.Exit(cliMain(os.Args[1:]))
	}
	dbtest.Main(m)
}

// portico runs the CLI in-process and returns its exit code and output.
func portico(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portico.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	code, _, stderr := portico(t, "no-such-command")
	require.Equal(t, exitUsage, code, stderr)

	code, _, stderr = portico(t, "migrate", "up", "--no-such-flag")
	require.Equal(t, exitUsage, code, stderr)

	bad := writeConfig(t, "http:\n  addr: 127.0.0.1:8080\n  read_timout: 5s\n")
	code, _, stderr = portico(t, "--config", bad, "config", "print")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, bad+":3: http.read_timout: unknown key")

	code, _, stderr = portico(t, "--config", writeConfig(t, "log:\n  level: info\n"), "serve")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "database_url: is required")

	code, _, stderr = portico(t, "--config", writeConfig(t, "log:\n  level: info\n"), "--log-level", "chatty", "config", "print")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "log.level")

	code, stdout, _ := portico(t, "version")
	require.Equal(t, exitOK, code)
	require.True(t, strings.HasPrefix(stdout, "portico "))
}

func TestConfigPrintRedactsSecrets(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "database_url: postgres://u:pw-secret@db.example/p\nadmin:\n  token: admin-secret-0123456789\n")
	code, stdout, stderr := portico(t, "--config", file, "config", "print")
	require.Equal(t, exitOK, code, stderr)
	require.NotContains(t, stdout, "pw-secret")
	require.NotContains(t, stdout, "admin-secret")
	require.Contains(t, stdout, "REDACTED")
	require.Contains(t, stdout, "addr: 127.0.0.1:8080")
}

func TestServeRefusesUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	url := dbtest.EmptyURL(t)
	for _, cmd := range []string{"serve", "worker", "run"} {
		code, _, stderr := portico(t, "--database-url", url, cmd)
		require.Equal(t, exitFailed, code, cmd)
		require.Contains(t, stderr, "run `portico migrate up`", cmd)
	}
}

func TestMigrateUpTwiceAndStatus(t *testing.T) {
	t.Parallel()
	url := dbtest.EmptyURL(t)

	code, _, stderr := portico(t, "--database-url", url, "migrate", "status")
	require.Equal(t, exitFailed, code, "pending migrations fail the status check")
	require.Contains(t, stderr, "pending")

	code, stdout, stderr := portico(t, "--database-url", url, "--log-level", "warn", "migrate", "up")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "applied portico 001_tenant")

	code, stdout, stderr = portico(t, "--database-url", url, "--log-level", "warn", "migrate", "up")
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, "database is up to date\n", stdout)

	code, stdout, _ = portico(t, "--database-url", url, "migrate", "status")
	require.Equal(t, exitOK, code)
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		require.Contains(t, line, "applied", line)
	}
}

// TestHealthExitsByReadiness: the container's health check exits 0 when
// the process answers /readyz with 200, 1 when it answers otherwise or not
// at all, 2 on a bad URL.
func TestHealthExitsByReadiness(t *testing.T) {
	t.Parallel()
	ready := true
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !ready {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	health := func(url string) int {
		code, _, _ := portico(t, "health", "--url", url)
		return code
	}
	require.Equal(t, 0, health(srv.URL+"/readyz"))
	mu.Lock()
	ready = false
	mu.Unlock()
	require.Equal(t, 1, health(srv.URL+"/readyz"))
	srv.Close()
	require.Equal(t, 1, health(srv.URL+"/readyz"), "nothing listening")
	require.Equal(t, 2, health("::not a url"))
}
