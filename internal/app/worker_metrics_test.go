package app_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
)

// TestWorkerServesMetricsOnItsOwnAddress: a worker process, which serves
// no API, exports its metrics (the Go runtime's, its source calls and
// jobs) and /healthz on river.metrics_addr, and nothing else there.
func TestWorkerServesMetricsOnItsOwnAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	openPortal(t, dbtest.URL(t), app.Mode{Work: true}, slog.New(slog.DiscardHandler), app.Deps{}, func(c *config.Config) {
		c.River.MetricsAddr = addr
	})
	get := func(path string) (int, string) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	require.Eventually(t, func() bool { code, _ := get("/healthz"); return code == http.StatusOK }, 10*time.Second, 10*time.Millisecond)
	code, body := get("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "go_goroutines ")
	require.Contains(t, body, "process_resident_memory_bytes ")
	for _, path := range []string{"/admin/sync", "/api/v1/cases", "/readyz"} {
		code, _ := get(path)
		require.Equal(t, http.StatusNotFound, code, path)
	}
}
