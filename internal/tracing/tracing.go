package tracing

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/porticohq/portico/internal/config"
)

// scope is the instrumentation scope of every Portico span.
const scope = "github.com/porticohq/portico"

// propagator is W3C trace context, used for job metadata and outgoing
// source calls.
var propagator = propagation.TraceContext{}

// Provider is the process's tracer provider and how to flush it.
type Provider struct {
	trace.TracerProvider
	shutdown func(context.Context) error
	on       bool
}

// On says whether spans are recorded: callers leave their middleware out
// when not.
func (p *Provider) On() bool { return p.on }

// Off is the no-op provider: spans cost nothing and nothing is exported.
func Off() *Provider {
	return &Provider{TracerProvider: noop.NewTracerProvider(), shutdown: func(context.Context) error { return nil }}
}

// New builds the provider from config: the no-op provider when
// tracing.otlp_endpoint is empty, else a batching OTLP/HTTP exporter with
// a parent-based ratio sampler.
func New(ctx context.Context, cfg config.TracingConfig) (*Provider, error) {
	if cfg.OTLPEndpoint == "" {
		return Off(), nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.OTLPEndpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	return NewWith(sdktrace.NewBatchSpanProcessor(exp), cfg), nil
}

// NewWith builds a recording provider over sp (tests pass a synchronous
// processor over an in-memory exporter).
func NewWith(sp sdktrace.SpanProcessor, cfg config.TracingConfig) *Provider {
	res := resource.NewSchemaless(semconv.ServiceName(cfg.ServiceName))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(sp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return &Provider{TracerProvider: tp, shutdown: tp.Shutdown, on: true}
}

// Shutdown flushes and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error { return p.shutdown(ctx) }

// Start starts a span below the one in ctx, from that span's provider: a
// context with no recording span gets a no-op span.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(scope).Start(ctx, name, opts...)
}
