// Package tracing owns Portico's OpenTelemetry traces: the tracer provider
// built from config (an OTLP/HTTP exporter, or the no-op provider when
// tracing is off), the HTTP middleware naming a request's span after its
// route pattern, the River middleware carrying a trace through a job's
// metadata, the pgx query tracer, a span helper for source calls and the
// slog handler that adds trace_id and span_id to log lines.
//
// It must not hold business logic nor choose what to trace: packages call
// it where their work begins. Spans below a request or job are made from
// the provider of the span already in the context, so a context without a
// recording span costs nothing and no package needs a provider passed in.
package tracing
