package tracing

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
)

// TestMetadataKeepsWhatItHeld: the trace context is added beside a job's
// own metadata, and metadata that is not an object is left alone.
func TestMetadataKeepsWhatItHeld(t *testing.T) {
	t.Parallel()
	c := propagation.MapCarrier{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	want := `{"otel":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}`
	require.JSONEq(t, want, string(withCarrier(nil, c)))
	require.JSONEq(t, want, string(withCarrier([]byte("null"), c)))
	require.JSONEq(t, `{"mine":1,"otel":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}`,
		string(withCarrier([]byte(`{"mine":1}`), c)))
	require.Equal(t, `[1]`, string(withCarrier([]byte(`[1]`), c)))
}
