package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/server"
)

// TestServeDrainsInFlightRequests: a request running when shutdown starts
// still gets its full response, and new connections are refused.
func TestServeDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	cfg := config.Default().HTTP
	cfg.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, cfg, h, slog.New(slog.DiscardHandler), func(a string) { addrc <- a })
	}()
	addr := <-addrc

	type result struct {
		body string
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		resc <- result{string(b), err}
	}()
	<-started
	cancel()
	// Shutdown has begun once new connections are refused.
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	close(release)

	res := <-resc
	require.NoError(t, res.err)
	require.Equal(t, "finished", res.body)
	require.NoError(t, <-done)
}
