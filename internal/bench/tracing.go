package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-chi/chi/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/server"
	"github.com/porticohq/portico/internal/tracing"
)

// TracingConfig is the tracing bench: requests through Portico's router
// with tracing on against tracing off. Off is the router as it was before
// tracing: no span middleware, no query tracer, the plain log handler.
type TracingConfig struct {
	// Duration is how long each of the three runs.
	Duration time.Duration
}

// Validate names the bad setting.
func (c TracingConfig) Validate() error {
	if c.Duration <= 0 {
		return usage("--duration must be positive")
	}
	return nil
}

// RunTracing serves a route that logs one line, in process, with the
// router and middleware of `serve`: tracing off (tracing.otlp_endpoint
// empty), the baseline, and tracing on (every request sampled, the log
// handler adding the trace id, spans batched to an exporter that keeps
// nothing).
func RunTracing(ctx context.Context, cfg TracingConfig, out Output) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	discard := slog.NewTextHandler(discardWriter{}, nil)
	onTP := tracing.NewWith(sdktrace.NewBatchSpanProcessor(tracetest.NewNoopExporter()), config.Default().Tracing)
	defer func() { _ = onTP.Shutdown(context.Background()) }()
	runs := []struct {
		name   string
		logger *slog.Logger
		tp     *tracing.Provider
	}{
		{"off", slog.New(discard), nil},
		{"on", slog.New(tracing.LogHandler(discard)), onTP},
	}
	handlers := make([]http.Handler, len(runs))
	for i, r := range runs {
		opts := server.Options{Config: config.Default().HTTP, Logger: r.logger, Registry: metrics.NewRegistry(),
			Mount: func(cr chi.Router) {
				cr.Get("/api/v1/cases/{id}", func(w http.ResponseWriter, req *http.Request) {
					r.logger.InfoContext(req.Context(), "case read", slog.String("id", chi.URLParam(req, "id")))
					w.WriteHeader(http.StatusOK)
				})
			}}
		if r.tp != nil {
			opts.Tracer = r.tp
		}
		handlers[i] = server.NewRouter(opts)
	}
	serve := func(h http.Handler, d time.Duration) (int, time.Duration, error) {
		n := 0
		start := time.Now()
		for time.Since(start) < d {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
			req := httptest.NewRequest(http.MethodGet, "/api/v1/cases/500A0000001", nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				return 0, 0, fmt.Errorf("bench: status %d", rec.Code)
			}
			n++
		}
		return n, time.Since(start), nil
	}
	// A warm-up, then the modes take turns in short slices so that the
	// machine's other load falls on each alike.
	for _, h := range handlers {
		if _, _, err := serve(h, cfg.Duration/10); err != nil {
			return err
		}
	}
	const rounds = 10
	counts := make([]int, len(runs))
	took := make([]time.Duration, len(runs))
	for range rounds {
		for i, h := range handlers {
			n, d, err := serve(h, cfg.Duration/rounds)
			if err != nil {
				return fmt.Errorf("%s run: %w", runs[i].name, err)
			}
			counts[i] += n
			took[i] += d
		}
	}
	perSec := map[string]float64{}
	for i, r := range runs {
		perSec[r.name] = float64(counts[i]) / took[i].Seconds()
		fmt.Fprintf(out.Stdout, "%-8s %.0f requests/s\n", r.name, perSec[r.name])
	}
	return writeResult(out.Stdout, map[string]any{
		"bench":             "tracing",
		"off_per_s":         math.Round(perSec["off"]),
		"on_per_s":          math.Round(perSec["on"]),
		"ratio":             round2(perSec["on"] / perSec["off"]),
		"duration_per_mode": cfg.Duration.String(),
	})
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
