package store

import "context"

// StoreApplied stores the source's record after a write-back in place of
// its pending projection, even when its version equals the cached one
// (the cached data shows the pending change), through the same statement
// and owner locks as UpsertRows. db may queue statements (the
// write-back's pipeline) as long as it sends the queue before a query.
func StoreApplied(ctx context.Context, db DBTX, p Page, r Row) error {
	_, err := upsertRows(ctx, db, p, []Row{r}, true)
	return err
}
