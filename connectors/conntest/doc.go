// Package conntest is the conformance suite every connector passes
// against its simulated source system (internal/fakesource): full and
// incremental pulls that miss nothing (shared stamps, late-visible
// records, edits while paging), deletions, reads, a create retried after
// a lost answer applying once, stale-version conflicts, Retry-After, the
// circuit breaker, re-authentication, and the write share of the quota.
//
// A connector package runs it from its own test with conntest.Run and a
// Harness that says how to build the connector and which objects to use.
package conntest
