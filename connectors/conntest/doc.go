// Package conntest is the conformance suite every connector passes
// against a simulated source system: full and incremental pulls that miss
// nothing (shared stamps, late-visible records, edits while paging),
// deletions, reads, a create retried after a lost answer applying once,
// stale-version conflicts, Retry-After, the circuit breaker,
// re-authentication, the write share of the quota, and webhooks.
//
// A connector package runs it from its own test with conntest.Run and a
// Harness that says how to start the source, how to build the connector
// and which objects to use. The source is any http.Handler speaking the
// vendor's wire format, with the controls of Source; conntest/fakesim
// adapts internal/fakesource's systems.
package conntest
