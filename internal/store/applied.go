package store

import (
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/store/dbsqlc"
)

// AppliedParams stores one row the way UpsertRows would, for the
// write-back's one-row RecordStoreApplied.
func AppliedParams(p Page, r Row) dbsqlc.RecordStoreAppliedParams {
	return dbsqlc.RecordStoreAppliedParams{
		TenantID: p.TenantID, Connection: p.Connection, Object: p.Object, SourceID: r.SourceID, SourceObject: p.SourceObject,
		OwnerAccount: r.OwnerAccount, OwnerRefKey: r.OwnerRefKey, OwnerRefValue: r.OwnerRefValue, OwnerContact: r.OwnerContact,
		OwnerParentObject: r.OwnerParentObject, OwnerParentID: r.OwnerParentID,
		Hidden: r.Hidden, Status: r.Status, Data: r.Data, Raw: r.Raw, SourceVersion: r.Version,
		SourceModified: pgtype.Timestamptz{Time: r.Modified, Valid: !r.Modified.IsZero()}, MappingHash: p.MappingHash,
	}
}
