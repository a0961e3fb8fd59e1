package httpclient_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/porticohq/portico/connectors/httpclient"
)

// TestCallIsASpanWithItsRetries: below a recording span a call is a
// client span, each retry an event on it, and the source receives the
// trace context; with no span in the context nothing is recorded.
func TestCallIsASpanWithItsRetries(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	var traceparent atomic.Value
	b := setup(t, httpclient.Settings{}, func(w http.ResponseWriter, r *http.Request) {
		traceparent.Store(r.Header.Get("Traceparent"))
		if n.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "job")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/x", nil)
	require.NoError(t, err)
	resp, err := b.client.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parent.End()

	spans := exp.GetSpans().Snapshots()
	require.Len(t, spans, 2)
	call := spans[0]
	require.Equal(t, "test GET", call.Name())
	require.Equal(t, trace.SpanKindClient, call.SpanKind())
	require.Equal(t, parent.SpanContext().SpanID(), call.Parent().SpanID())
	require.Contains(t, call.Attributes(), attribute.Int("http.response.status_code", http.StatusOK))
	var retries []int64
	for _, e := range call.Events() {
		if e.Name == "retry" {
			for _, a := range e.Attributes {
				if a.Key == "attempt" {
					retries = append(retries, a.Value.AsInt64())
				}
			}
		}
	}
	require.Equal(t, []int64{1, 2}, retries, "two retries, two events")
	require.Contains(t, traceparent.Load(), call.SpanContext().TraceID().String(), "the source is told the trace")

	exp.Reset()
	n.Store(0)
	traceparent.Store("")
	resp, err = get(t, b)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, exp.GetSpans(), "no span in the context: nothing recorded")
	require.Empty(t, traceparent.Load())
}
