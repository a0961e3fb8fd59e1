// Package syncer keeps the read cache converged with the sources. It owns
// the sync runs (incremental from a cursor, resumable full resync,
// reconciliation of ids and versions, targeted refresh of one record), the
// River jobs that schedule them, and the sync metrics.
//
// Its rules, each with a test:
//   - the cursor advances in the same transaction as the page it covers;
//   - a failed page fails the run, records its error and leaves the cursor;
//   - a failed run never tombstones anything, and reconciliation only
//     tombstones a record after the source confirms it is gone;
//   - a run is reported as succeeded only when every page was stored;
//   - an unavailable source (breaker open, outage, rate limit) snoozes the
//     job instead of failing it.
//
// It does not serve records: the read API (internal/records) does.
package syncer
