package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/apiframe/apiendpoint"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivershared/baseservice"
	"github.com/riverqueue/river/rivershared/startstop"
	"riverqueue.com/riverui"
	"riverqueue.com/riverui/uiendpoints"
)

// riverUI is River UI's handler with a stop that waits. The handler's
// background queries (job counts by state, every ten seconds) stop only
// when the context given to Start ends, and Handler offers no way to wait
// for them: one that ran after the pool closed logged "closed pool" as the
// last line of `portico bench api`. stop cancels them and waits.
type riverUI struct {
	http.Handler
	cancel   context.CancelFunc
	bundle   *stoppableBundle
	stopOnce sync.Once
}

func newRiverUI(ctx context.Context, client *river.Client[pgx.Tx], logger *slog.Logger) (*riverUI, error) {
	bundle := &stoppableBundle{Bundle: riverui.NewEndpoints(client, nil)}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: bundle, Logger: logger, Prefix: "/admin/riverui"})
	if err != nil {
		return nil, fmt.Errorf("app: river ui: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	if err := h.Start(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("app: river ui: %w", err)
	}
	return &riverUI{Handler: h, cancel: cancel, bundle: bundle}, nil
}

// stop ends the background queries and returns once none runs.
func (u *riverUI) stop() {
	u.stopOnce.Do(func() {
		u.cancel()
		// Stop is idempotent and waits: the handler's own goroutine may
		// be stopping the same services at the same time.
		startstop.StopAllParallel(u.bundle.services...)
	})
}

// stoppableBundle keeps the background services of the endpoints it
// mounts, which the handler keeps to itself.
type stoppableBundle struct {
	uiendpoints.Bundle
	services []startstop.Service
}

func (b *stoppableBundle) MountEndpoints(archetype *baseservice.Archetype, logger *slog.Logger, mux *http.ServeMux, opts *apiendpoint.MountOpts) []apiendpoint.EndpointInterface {
	endpoints := b.Bundle.MountEndpoints(archetype, logger, mux, opts)
	for _, e := range endpoints {
		if s, ok := e.(interface{ SubServices() []startstop.Service }); ok {
			b.services = append(b.services, s.SubServices()...)
		}
	}
	return endpoints
}
