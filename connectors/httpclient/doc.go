// Package httpclient is the one HTTP client every connector sends its
// requests through. Per connection it owns: retries with exponential
// backoff and jitter that honour Retry-After and only repeat requests
// that are safe to repeat; a circuit breaker; a call budget (per minute,
// per day, and the source's own usage headers) with a share reserved for
// customer writes; a per-request timeout and a response size cap; and the
// Prometheus series that show all of it. Failures come back as the
// classified errors of package connectors.
//
// It knows no vendor's wire format beyond the usage headers: connectors
// parse bodies and classify vendor error codes themselves.
package httpclient
