package store

import (
	"context"

	"github.com/jackc/pgx/v5/pgtype"
)

// StoreApplied stores the source's record after a write-back in place of
// its pending projection, under the same owner locks as UpsertRows (see
// xrefLock), so an owner resolves whatever sync commits beside it. It
// reads one row through the indexes: UpsertRows' generic plan reads every
// record of the connection for one row. db may queue statements (the
// write-back's pipeline) as long as it sends the queue before a query.
func StoreApplied(ctx context.Context, db DBTX, p Page, r Row) error {
	rows := []Row{r}
	if hasRefs(rows) {
		if err := lockOwner(ctx, db, xrefLock(p.TenantID), false); err != nil {
			return err
		}
	}
	waiting, err := RecordStoreApplied(ctx, db, appliedParams(p, r))
	if err != nil {
		return interpret(err, "storing the applied "+p.Object)
	}
	if waiting {
		if err := lockParents(ctx, db, p.TenantID, p.Connection, rows); err != nil {
			return err
		}
		if err := RecordResolveWaiting(ctx, db, RecordResolveWaitingParams{
			TenantID: p.TenantID, Connection: p.Connection, Object: p.Object, SourceIds: []string{r.SourceID},
		}); err != nil {
			return interpret(err, "resolving the owner of "+p.Object)
		}
	}
	if p.Childless {
		return nil
	}
	return ResolveChildren(ctx, db, p.TenantID, p.Connection, p.Object, []string{r.SourceID})
}

func appliedParams(p Page, r Row) RecordStoreAppliedParams {
	return RecordStoreAppliedParams{
		TenantID: p.TenantID, Connection: p.Connection, Object: p.Object, SourceID: r.SourceID, SourceObject: p.SourceObject,
		OwnerAccount: r.OwnerAccount, OwnerRefKey: r.OwnerRefKey, OwnerRefValue: r.OwnerRefValue, OwnerContact: r.OwnerContact,
		OwnerParentObject: r.OwnerParentObject, OwnerParentID: r.OwnerParentID,
		Hidden: r.Hidden, Status: r.Status, Data: r.Data, Raw: r.Raw, SourceVersion: r.Version,
		SourceModified: pgtype.Timestamptz{Time: r.Modified, Valid: !r.Modified.IsZero()}, MappingHash: p.MappingHash,
	}
}
