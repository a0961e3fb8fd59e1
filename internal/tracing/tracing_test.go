package tracing_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/tracing"
)

// TestLogLinesCarryTheTraceID: a line logged with a span's context
// carries trace_id and span_id, through With; one without carries neither.
func TestLogLinesCarryTheTraceID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(tracing.LogHandler(slog.NewTextHandler(&buf, nil))).With(slog.String("component", "test"))
	tp := tracing.NewWith(sdktrace.NewSimpleSpanProcessor(tracetest.NewInMemoryExporter()), config.Default().Tracing)
	ctx, span := tp.Tracer("test").Start(context.Background(), "work")
	defer span.End()

	logger.InfoContext(ctx, "traced")
	require.Contains(t, buf.String(), "trace_id="+span.SpanContext().TraceID().String())
	require.Contains(t, buf.String(), "span_id="+span.SpanContext().SpanID().String())
	require.Contains(t, buf.String(), "component=test")

	buf.Reset()
	logger.InfoContext(context.Background(), "untraced")
	require.NotContains(t, buf.String(), "trace_id")
}

// TestOffRecordsNothing: with no endpoint the provider is the no-op one.
func TestOffRecordsNothing(t *testing.T) {
	t.Parallel()
	p, err := tracing.New(context.Background(), config.Default().Tracing)
	require.NoError(t, err)
	require.False(t, p.On())
	_, span := p.Tracer("test").Start(context.Background(), "x")
	require.False(t, span.IsRecording())
	require.NoError(t, p.Shutdown(context.Background()))

	_, child := tracing.Start(context.Background(), "below nothing")
	require.False(t, child.IsRecording())
}
