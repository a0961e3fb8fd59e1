package tracing

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Pgx is a pgx QueryTracer (pgx.ConnConfig.Tracer): a client span per
// query below the span in the query's context, none when there is no
// recording span. The statement is recorded, never its arguments (they
// may be customer field values).
//
// Written here: a QueryTracer is two methods, and the otelpgx modules are
// not among those the module proxy serves.
type Pgx struct{}

var _ pgx.QueryTracer = Pgx{}

// TraceQueryStart starts the query's span.
func (Pgx) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	ctx, _ = Start(ctx, "db "+operation(data.SQL), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("db.system.name", "postgresql"),
			attribute.String("db.query.text", data.SQL),
		))
	return ctx
}

// TraceQueryEnd ends it.
func (Pgx) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if data.Err != nil {
		span.RecordError(data.Err)
		span.SetStatus(codes.Error, data.Err.Error())
	}
	span.SetAttributes(attribute.Int64("db.response.rows", data.CommandTag.RowsAffected()))
	span.End()
}

// operation is the statement's first word after sqlc's "-- name: X"
// comment: SELECT, INSERT, ... or the query's sqlc name when it has one.
func operation(sql string) string {
	s := strings.TrimSpace(sql)
	if name, ok := strings.CutPrefix(s, "-- name: "); ok {
		if f := strings.Fields(name); len(f) > 0 {
			return f[0]
		}
	}
	for strings.HasPrefix(s, "--") {
		_, rest, _ := strings.Cut(s, "\n")
		s = strings.TrimSpace(rest)
	}
	if f := strings.Fields(s); len(f) > 0 {
		return strings.ToUpper(f[0])
	}
	return "query"
}
