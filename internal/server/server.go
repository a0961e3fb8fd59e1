// Package server owns Portico's HTTP server: the chi router and its
// middleware (request id, structured logs, panic recovery, metrics), the
// health endpoints, /metrics, the staff-only /admin area with River UI,
// timeouts and graceful shutdown. Resource APIs are mounted by their own
// packages through Options.Mount; this package holds no business logic.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/tracing"
)

// ReadyFunc reports whether the server can serve: nil, or the reason not.
type ReadyFunc func(ctx context.Context) error

// Options are the server's dependencies.
type Options struct {
	Config   config.HTTPConfig
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Ready backs /readyz.
	Ready ReadyFunc
	// AdminToken is the shared admin token, accepted on /admin for
	// bootstrap and scripts. Empty turns it off; /admin is never open.
	AdminToken string
	// Staff admits operator_admin staff users to /admin by session or
	// scoped API token; nil admits only the admin token.
	Staff Staff
	// RiverUI is the River UI handler, mounted at /admin/riverui.
	RiverUI http.Handler
	// Mount adds resource routers (one sub-router per resource).
	Mount func(r chi.Router)
	// MountAdmin adds staff routes under /admin, behind the admin check.
	MountAdmin func(r chi.Router)
	// Tracer starts a span per request; nil when tracing is off (no
	// middleware at all).
	Tracer trace.TracerProvider
}

// NewRouter builds the router.
func NewRouter(opts Options) http.Handler {
	r := chi.NewRouter()
	rp := reply.New(opts.Logger)
	httpMetrics := metrics.NewHTTP(opts.Registry)
	r.Use(
		securityHeaders(strings.HasPrefix(opts.Config.PublicURL, "https://")),
		middleware.RequestID,
	)
	if opts.Tracer != nil {
		// Before the request log, so that its line carries the trace id.
		r.Use(tracing.HTTP(opts.Tracer))
	}
	r.Use(
		clientIP(opts.Config.TrustedProxies),
		requestLogger(opts.Logger),
		recoverer(rp),
		httpMetrics.Middleware,
	)
	// Before any route: chi hands these to the sub-routers mounted below
	// (/admin, /hooks) that set none of their own.
	r.NotFound(rp.NoEndpoint)
	r.MethodNotAllowed(rp.NoMethod)
	r.Get("/healthz", healthz(rp))
	r.Get("/readyz", func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		if err := opts.Ready(ctx); err != nil {
			rp.JSON(w, req, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
		rp.JSON(w, req, http.StatusOK, map[string]string{"status": "ready"})
	})
	r.Method(http.MethodGet, "/metrics", metrics.Handler(opts.Registry))

	r.Route("/admin", func(ar chi.Router) {
		g := adminGuard{token: opts.AdminToken, staff: opts.Staff, publicHost: publicHost(opts.Config.PublicURL)}
		ar.Use(g.refuseCrossSite, g.authenticate)
		if opts.RiverUI != nil {
			// River UI's own script sends neither a CSRF token nor always
			// JSON: a browser's changes need proof of this origin instead.
			ui := riverUIPolicy(g.sameOriginWrites(credAdminBasic, credSession)(opts.RiverUI))
			ar.Handle("/riverui", ui)
			ar.Handle("/riverui/*", ui)
		}
		ar.Group(func(jr chi.Router) {
			jr.Use(jsonBodies, g.sameOriginWrites(credAdminBasic))
			if opts.Staff != nil {
				jr.Use(opts.Staff.RequireCSRF)
			}
			if opts.MountAdmin != nil {
				opts.MountAdmin(jr)
			}
		})
	})
	if opts.Mount != nil {
		opts.Mount(r)
	}
	return r
}

func publicHost(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return ""
	}
	return u.Host
}

// MetricsRouter is what a process without the API serves (a `worker` on
// river.metrics_addr): /healthz and /metrics, nothing else.
func MetricsRouter(logger *slog.Logger, reg *prometheus.Registry) http.Handler {
	r := chi.NewRouter()
	rp := reply.New(logger)
	r.Use(securityHeaders(false), recoverer(rp))
	r.NotFound(rp.NoEndpoint)
	r.MethodNotAllowed(rp.NoMethod)
	r.Get("/healthz", healthz(rp))
	r.Method(http.MethodGet, "/metrics", metrics.Handler(reg))
	return r
}

func healthz(rp reply.Replier) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		rp.JSON(w, req, http.StatusOK, map[string]string{"status": "ok"})
	}
}

// Serve listens on cfg.Addr and serves until ctx ends, then drains
// in-flight requests for up to ShutdownTimeout. ready, if not nil,
// receives the bound address once listening.
func Serve(ctx context.Context, cfg config.HTTPConfig, h http.Handler, logger *slog.Logger, ready func(addr string)) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadTimeout:       cfg.ReadTimeout,
		ReadHeaderTimeout: cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.InfoContext(ctx, "http server listening", slog.String("addr", ln.Addr().String()))
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	logger.Info("http server draining", slog.Duration("timeout", cfg.ShutdownTimeout))
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}
