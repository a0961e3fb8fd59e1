// Package fleet shares what every Portico process must agree on about a
// source: its call budget and its circuit breaker's trips. Both live in
// PostgreSQL, the one thing every process already shares.
//
// The budget (Budget) is a token bucket per connection, taken from with
// one statement per call, or per small lease of calls; the source's own
// usage reports set what is left when they arrive. The breaker signal
// (Breaker) carries one process's trip to all the others, by a row and
// LISTEN/NOTIFY, and hands the one half-open probe to one process at a
// time. Each process's gobreaker stays its own state machine: this package
// only decides whether a call may leave.
//
// It owns no HTTP and no vendor: connectors/httpclient asks it through
// httpclient.Budget and httpclient.BreakerSignal. Its SQL is in
// internal/store (queries/fleet.sql).
package fleet
