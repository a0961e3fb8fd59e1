package tracing

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// metadataKey holds the W3C trace context in a job's metadata.
const metadataKey = "otel"

// River is the River middleware carrying a trace through a job: on insert
// it writes the inserting span's context into the job's metadata; the
// worker continues that trace with a span for the job, its child.
//
// Written here rather than taken from rivercontrib/otelriver (v0.12.0):
// otelriver starts each job in a new trace with only a link back to the
// inserter, so a request and the job it enqueued are two traces; Portico
// follows a write-back from the request to the source as one.
type River struct {
	river.MiddlewareDefaults
	tp trace.TracerProvider
}

var (
	_ rivertype.JobInsertMiddleware = (*River)(nil)
	_ rivertype.WorkerMiddleware    = (*River)(nil)
)

// NewRiver returns the middleware; tp starts the job spans.
func NewRiver(tp trace.TracerProvider) *River { return &River{tp: tp} }

// InsertMany adds the caller's trace context to each job's metadata.
func (m *River) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	if trace.SpanContextFromContext(ctx).IsValid() {
		carrier := propagation.MapCarrier{}
		propagator.Inject(ctx, carrier)
		for _, p := range params {
			p.Metadata = withCarrier(p.Metadata, carrier)
		}
	}
	return doInner(ctx)
}

func withCarrier(metadata []byte, carrier propagation.MapCarrier) []byte {
	m := map[string]json.RawMessage{}
	if len(metadata) > 0 {
		if err := json.Unmarshal(metadata, &m); err != nil {
			return metadata // not an object: left as it is
		}
	}
	if m == nil { // "null"
		m = map[string]json.RawMessage{}
	}
	c, err := json.Marshal(carrier)
	if err != nil {
		return metadata
	}
	m[metadataKey] = c
	out, err := json.Marshal(m)
	if err != nil {
		return metadata
	}
	return out
}

// Work runs the job in a consumer span, the child of the span that
// inserted it when its metadata carries one.
func (m *River) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	var meta struct {
		Carrier propagation.MapCarrier `json:"otel"`
	}
	if len(job.Metadata) > 0 && json.Unmarshal(job.Metadata, &meta) == nil && len(meta.Carrier) > 0 {
		ctx = propagator.Extract(ctx, meta.Carrier)
	}
	ctx, span := m.tp.Tracer(scope).Start(ctx, "river.work "+job.Kind,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("river.kind", job.Kind),
			attribute.String("river.queue", job.Queue),
			attribute.Int64("river.job_id", job.ID),
			attribute.Int("river.attempt", job.Attempt),
		))
	defer span.End()
	err := doInner(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}
