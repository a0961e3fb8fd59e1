package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/store/dbsqlc"
)

// Row is one mapped record ready for the cache.
type Row struct {
	SourceID      string
	OwnerAccount  string // empty when unknown or resolved through OwnerRefKey
	OwnerRefKey   string
	OwnerRefValue string
	OwnerContact  string
	// OwnerParentObject and OwnerParentID name the record (of the same
	// connection) whose owner this one shares.
	OwnerParentObject string
	OwnerParentID     string
	Hidden            bool
	Status            string
	Data              json.RawMessage // the mapped portal record
	Raw               json.RawMessage // the source payload as received
	Version           string
	Modified          time.Time
}

// Page names where a batch of rows goes.
type Page struct {
	TenantID     int64
	Connection   string
	Object       string // portal object
	SourceObject string // vendor object
	MappingHash  string
}

// UpsertRows stores rows in one statement and returns how many changed.
// Rows whose version and mapping hash are unchanged are not rewritten.
func UpsertRows(ctx context.Context, db dbsqlc.DBTX, p Page, rows []Row) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	params := dbsqlc.RecordUpsertBatchParams{
		TenantID:           p.TenantID,
		Connection:         p.Connection,
		Object:             p.Object,
		SourceObject:       p.SourceObject,
		MappingHash:        p.MappingHash,
		SourceIds:          make([]string, len(rows)),
		OwnerAccounts:      make([]string, len(rows)),
		OwnerRefKeys:       make([]string, len(rows)),
		OwnerRefValues:     make([]string, len(rows)),
		OwnerContacts:      make([]string, len(rows)),
		OwnerParentObjects: make([]string, len(rows)),
		OwnerParentIds:     make([]string, len(rows)),
		Hiddens:            make([]bool, len(rows)),
		Statuses:           make([]string, len(rows)),
		Datas:              make([]string, len(rows)),
		Raws:               make([]string, len(rows)),
		SourceVersions:     make([]string, len(rows)),
		SourceModifieds:    make([]pgtype.Timestamptz, len(rows)),
	}
	seen := make(map[string]int, len(rows))
	n := 0
	for _, r := range rows {
		// ON CONFLICT cannot touch one row twice in a statement: keep the
		// last occurrence of an id in the page.
		i, dup := seen[r.SourceID]
		if !dup {
			i = n
			seen[r.SourceID] = i
			n++
		}
		params.SourceIds[i] = r.SourceID
		params.OwnerAccounts[i] = r.OwnerAccount
		params.OwnerRefKeys[i] = r.OwnerRefKey
		params.OwnerRefValues[i] = r.OwnerRefValue
		params.OwnerContacts[i] = r.OwnerContact
		params.OwnerParentObjects[i] = r.OwnerParentObject
		params.OwnerParentIds[i] = r.OwnerParentID
		params.Hiddens[i] = r.Hidden
		params.Statuses[i] = r.Status
		params.Datas[i] = string(r.Data)
		params.Raws[i] = string(r.Raw)
		params.SourceVersions[i] = r.Version
		params.SourceModifieds[i] = pgtype.Timestamptz{Time: r.Modified, Valid: !r.Modified.IsZero()}
	}
	params.SourceIds, params.OwnerAccounts, params.OwnerRefKeys = params.SourceIds[:n], params.OwnerAccounts[:n], params.OwnerRefKeys[:n]
	params.OwnerRefValues, params.OwnerContacts, params.Hiddens = params.OwnerRefValues[:n], params.OwnerContacts[:n], params.Hiddens[:n]
	params.OwnerParentObjects, params.OwnerParentIds = params.OwnerParentObjects[:n], params.OwnerParentIds[:n]
	params.Statuses, params.Datas, params.Raws = params.Statuses[:n], params.Datas[:n], params.Raws[:n]
	params.SourceVersions, params.SourceModifieds = params.SourceVersions[:n], params.SourceModifieds[:n]
	changed, err := Queries.RecordUpsertBatch(ctx, db, params)
	if err != nil {
		return 0, interpret(err, fmt.Sprintf("upserting %d %s records", n, p.Object))
	}
	// Records of this page may be parents whose children arrived first.
	if _, err := Queries.RecordResolveChildren(ctx, db, dbsqlc.RecordResolveChildrenParams{
		TenantID: p.TenantID, Connection: p.Connection, ParentObject: pgtype.Text{String: p.Object, Valid: true}, ParentIds: params.SourceIds,
	}); err != nil {
		return 0, interpret(err, "resolving children of "+p.Object)
	}
	return changed, nil
}

// Tombstone marks ids deleted; it returns how many were live.
func Tombstone(ctx context.Context, db dbsqlc.DBTX, tenantID int64, connection, object string, ids []string, at time.Time) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := Queries.RecordTombstone(ctx, db, dbsqlc.RecordTombstoneParams{
		TenantID: tenantID, Connection: connection, Object: object, SourceIds: ids,
		DeletedAt: pgtype.Timestamptz{Time: at, Valid: !at.IsZero()},
	})
	return n, interpret(err, "tombstoning "+object)
}

// CachedRecord is a record as the read API sees it.
type CachedRecord struct {
	dbsqlc.RecordGetRow
}

// SyncedAt is when the record was last confirmed against the source: its
// own sync time, or later if a successful incremental run since covered it.
func (r CachedRecord) SyncedAt() time.Time {
	t := r.RecordGetRow.SyncedAt.Time
	if r.SyncedThrough.Valid && r.SyncedThrough.Time.After(t) {
		t = r.SyncedThrough.Time
	}
	return t
}

// GetRecord reads one cached record, tombstones included.
func GetRecord(ctx context.Context, db dbsqlc.DBTX, tenantID int64, connection, object, id string) (CachedRecord, error) {
	row, err := Queries.RecordGet(ctx, db, dbsqlc.RecordGetParams{TenantID: tenantID, Connection: connection, Object: object, SourceID: id})
	return CachedRecord{row}, interpret(err, object+" "+id)
}

// Xref says that a cross-reference key's value names an account.
type Xref struct {
	Key, Value, AccountID string
}

// StoreXrefs records cross-references, then gives their account to the
// records that name them (they may have arrived first, or the reference
// may have moved), and to those records' children in turn.
func StoreXrefs(ctx context.Context, db dbsqlc.DBTX, tenantID int64, xrefs []Xref) error {
	if len(xrefs) == 0 {
		return nil
	}
	p := dbsqlc.AccountXrefUpsertBatchParams{TenantID: tenantID}
	for _, x := range xrefs {
		p.Keys = append(p.Keys, x.Key)
		p.RefValues = append(p.RefValues, x.Value)
		p.AccountIds = append(p.AccountIds, x.AccountID)
	}
	if err := Queries.AccountXrefUpsertBatch(ctx, db, p); err != nil {
		return interpret(err, "storing account cross-references")
	}
	moved, err := Queries.RecordResolveOwners(ctx, db, dbsqlc.RecordResolveOwnersParams{TenantID: tenantID, Keys: p.Keys, RefValues: p.RefValues})
	if err != nil {
		return interpret(err, "resolving owner references")
	}
	type parent struct{ connection, object string }
	byParent := map[parent][]string{}
	for _, m := range moved {
		k := parent{m.Connection, m.Object}
		byParent[k] = append(byParent[k], m.SourceID)
	}
	for k, ids := range byParent {
		if _, err := Queries.RecordResolveChildren(ctx, db, dbsqlc.RecordResolveChildrenParams{
			TenantID: tenantID, Connection: k.connection, ParentObject: pgtype.Text{String: k.object, Valid: true}, ParentIds: ids,
		}); err != nil {
			return interpret(err, "resolving children of "+k.object)
		}
	}
	return nil
}
