package tracing

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// HTTP is the router middleware: a server span per request (otelhttp:
// method, status, a caller's traceparent continued), renamed after the
// request to "METHOD /route/{pattern}" once chi has matched the route, so
// that spans group by route rather than by URL. With the no-op provider it
// only passes the request on.
func HTTP(tp trace.TracerProvider) func(http.Handler) http.Handler {
	inner := otelhttp.NewMiddleware("http",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagator),
		otelhttp.WithSpanNameFormatter(spanName),
	)
	return func(next http.Handler) http.Handler {
		named := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			span := trace.SpanFromContext(r.Context())
			if !span.IsRecording() {
				return
			}
			// otelhttp renames the span with spanName once the route is
			// known (chi sets Request.Pattern).
			if p := routePattern(r); p != "" {
				span.SetName(r.Method + " " + p)
				span.SetAttributes(semconv.HTTPRoute(p))
			}
		})
		return inner(named)
	}
}

// spanName is "METHOD /pattern" once chi has matched, "METHOD" before.
func spanName(_ string, r *http.Request) string {
	if p := routePattern(r); p != "" {
		return r.Method + " " + p
	}
	return r.Method
}

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return rc.RoutePattern()
	}
	return ""
}
