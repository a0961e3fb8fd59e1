// Package writeback carries customer actions to the systems of record:
// accepting one (validated against the mapping, stored with its River job
// and a pending projection in the cache, all in one transaction), applying
// it exactly once (the connector write carries an idempotency key derived
// from the action id, so a retry after a lost answer never writes twice),
// and showing its state to the customer and to staff.
//
// Its rules, each with a test:
//   - an accepted action is never lost: the action row, the job and the
//     pending record commit together;
//   - a retried submission with the same client idempotency key returns
//     the first action and creates nothing;
//   - a source that cannot answer now (rate limit, outage, open breaker,
//     expired authentication) snoozes the job; a wait is not a failure;
//   - a stale version becomes a conflict holding both the customer's
//     change and the source's current values: never last-writer-wins;
//   - a source that refuses the change fails the action with the source's
//     own reason, in words a customer can read;
//   - actions on one record apply in the order they were accepted;
//   - the applied record from the source replaces the pending projection
//     in the same transaction that settles the action. River completes
//     the job after that, in its batches: a job run again because its
//     completion was lost finds its action settled and does nothing.
//
// It owns the action table and the /admin/actions routes. The portal's
// HTTP API calls Submit, Get and List; it does not touch the table.
package writeback
