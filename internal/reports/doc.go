// Package reports computes the figures that show what the portal is worth
// (activation, active users, workflow completion, self-service,
// notification engagement, write-back health), per day and per account,
// in SQL over what Portico already records (internal/store's report
// queries), and serves them to staff as JSON and CSV under
// /admin/reports. It also records the few portal events nothing else
// records (sign-ins, knowledge views, status lookups, notification
// engagement) through a Recorder that batches them off the request path.
// It reads; it never changes a record, an action or a user. The figures
// are defined in docs/reports.md.
package reports
