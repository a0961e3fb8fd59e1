package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
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
	// Childless says that no mapping owns records through this object, so
	// storing it need not wait to give children their owner. The zero
	// value is the safe one.
	Childless bool
	// Rewrite stores rows whose version and mapping hash are unchanged too:
	// a re-pull for new source fields, whose payloads carry what the stored
	// ones lack.
	Rewrite bool
}

// UpsertRows stores rows in one statement and returns how many changed.
// Rows whose version and mapping hash are unchanged are not rewritten,
// unless p.Rewrite.
func UpsertRows(ctx context.Context, db DBTX, p Page, rows []Row) (int64, error) {
	return upsertRows(ctx, db, p, rows, p.Rewrite)
}

// upsertRows is UpsertRows; force rewrites rows whose version is unchanged.
func upsertRows(ctx context.Context, db DBTX, p Page, rows []Row, force bool) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	params := dbsqlc.RecordUpsertBatchParams{
		TenantID:           p.TenantID,
		Connection:         p.Connection,
		Object:             p.Object,
		SourceObject:       p.SourceObject,
		MappingHash:        p.MappingHash,
		Force:              force,
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
	// Records owned through a cross-reference resolve it in the upsert's
	// join, which must see any that a concurrent transaction stores: take
	// that owner lock first (see xrefLock).
	if hasRefs(rows) {
		if err := lockOwner(ctx, db, xrefLock(p.TenantID), false); err != nil {
			return 0, err
		}
	}
	res, err := dbsqlc.New().RecordUpsertBatch(ctx, db, params)
	if err != nil {
		return 0, interpret(err, fmt.Sprintf("upserting %d %s records", n, p.Object))
	}
	if res.Waiting > 0 {
		// Records stored before their parent: resolve them again under the
		// parent object's lock, once any parent stored concurrently has
		// committed, or is visible to that transaction's own fix-up.
		if err := lockParents(ctx, db, p.TenantID, p.Connection, rows); err != nil {
			return 0, err
		}
		if err := dbsqlc.New().RecordResolveWaiting(ctx, db, dbsqlc.RecordResolveWaitingParams{
			TenantID: p.TenantID, Connection: p.Connection, Object: p.Object, SourceIds: params.SourceIds,
		}); err != nil {
			return 0, interpret(err, "resolving owners of "+p.Object)
		}
	}
	if res.Changed == 0 || p.Childless {
		return res.Changed, nil
	}
	// Records of this page may be parents whose children arrived first.
	if err := ResolveChildren(ctx, db, p.TenantID, p.Connection, p.Object, params.SourceIds); err != nil {
		return 0, err
	}
	return res.Changed, nil
}

// The owner locks, one per tenant and source of ownership: the tenant's
// cross-references, or one parent object of a connection.
//
// Owners are resolved by a join when a record is stored, and by a fix-up
// when its parent or cross-reference is stored or moves. Under READ
// COMMITTED neither sees what a concurrent transaction has not committed:
// if both commit, the record stays ownerless for good. So the two sides
// of one source of ownership exclude each other until commit, and
// whichever comes second sees the other's rows. Each side holds the lock
// shared among its own kind:
//   - records owned through a cross-reference (invoices, payments,
//     orders: the bulk of a sync) take it shared before they are stored,
//     so their join runs after any conflicting transaction committed (a
//     moved reference included); accounts storing new cross-references
//     (few, synced first) take it exclusively before their fix-up;
//   - records owned through a parent (comments) are stored first, since
//     their parent's page would wait for the whole of theirs; those that
//     found no owning parent take the parent object's lock exclusively
//     and look again. Parents (cases, which write-back creates at a high
//     rate) take it shared before following their children.
//
// Locks are taken down the ownership chain (cross-reference, then parent
// objects, then children), so no two transactions wait for each other's
// locks in a circle.
func xrefLock(tenantID int64) string { return fmt.Sprintf("%d/xref", tenantID) }

func parentLock(tenantID int64, connection, object string) string {
	return fmt.Sprintf("%d/%s/%s", tenantID, connection, object)
}

func lockOwner(ctx context.Context, db DBTX, key string, exclusive bool) error {
	lock := dbsqlc.New().RecordOwnerLockShared
	if exclusive {
		lock = dbsqlc.New().RecordOwnerLock
	}
	return interpret(lock(ctx, db, key), "taking the owner lock "+key)
}

// LockDerived takes, until the transaction ends, the owner locks it needs
// before it derives the owner of these rows of a connection again (a
// re-map).
func LockDerived(ctx context.Context, db DBTX, tenantID int64, connection string, rows []Row) error {
	if hasRefs(rows) {
		if err := lockOwner(ctx, db, xrefLock(tenantID), false); err != nil {
			return err
		}
	}
	return lockParents(ctx, db, tenantID, connection, rows)
}

func hasRefs(rows []Row) bool {
	return slices.ContainsFunc(rows, func(r Row) bool { return r.OwnerAccount == "" && r.OwnerRefKey != "" })
}

// lockParents takes the locks of the objects rows are owned through,
// exclusively.
func lockParents(ctx context.Context, db DBTX, tenantID int64, connection string, rows []Row) error {
	parents := map[string]bool{}
	for _, r := range rows {
		if r.OwnerParentID != "" {
			parents[r.OwnerParentObject] = true
		}
	}
	for _, obj := range slices.Sorted(maps.Keys(parents)) {
		if err := lockOwner(ctx, db, parentLock(tenantID, connection, obj), true); err != nil {
			return err
		}
	}
	return nil
}

// maxOwnerDepth bounds how many generations of children follow a parent
// (a comment's case's account is two); it also stops a cycle in the data.
const maxOwnerDepth = 8

// ResolveChildren gives the records owned through these parents their
// parent's owner, and their own children in turn, each generation under
// its parent object's owner lock, shared.
func ResolveChildren(ctx context.Context, db DBTX, tenantID int64, connection, object string, ids []string) error {
	level := map[string][]string{object: ids}
	for depth := 0; depth < maxOwnerDepth && len(level) > 0; depth++ {
		next := map[string][]string{}
		for _, obj := range slices.Sorted(maps.Keys(level)) {
			ids := level[obj]
			if err := lockOwner(ctx, db, parentLock(tenantID, connection, obj), false); err != nil {
				return err
			}
			moved, err := dbsqlc.New().RecordResolveChildren(ctx, db, dbsqlc.RecordResolveChildrenParams{
				TenantID: tenantID, Connection: connection, ParentObject: pgtype.Text{String: obj, Valid: true}, ParentIds: ids,
			})
			if err != nil {
				return interpret(err, "resolving children of "+obj)
			}
			for _, m := range moved {
				next[m.Object] = append(next[m.Object], m.SourceID)
			}
		}
		level = next
	}
	return nil
}

// Tombstone marks ids deleted; it returns how many were live.
func Tombstone(ctx context.Context, db DBTX, tenantID int64, connection, object string, ids []string, at time.Time) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := dbsqlc.New().RecordTombstone(ctx, db, dbsqlc.RecordTombstoneParams{
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
func GetRecord(ctx context.Context, db DBTX, tenantID int64, connection, object, id string) (CachedRecord, error) {
	row, err := dbsqlc.New().RecordGet(ctx, db, dbsqlc.RecordGetParams{TenantID: tenantID, Connection: connection, Object: object, SourceID: id})
	return CachedRecord{row}, interpret(err, object+" "+id)
}

// Xref says that a cross-reference key's value names an account.
type Xref struct {
	Key, Value, AccountID string
}

// StoreXrefs records cross-references, then gives their account to the
// records that name them (they may have arrived first, or the reference
// may have moved), and to those records' children in turn.
func StoreXrefs(ctx context.Context, db DBTX, tenantID int64, xrefs []Xref) error {
	if len(xrefs) == 0 {
		return nil
	}
	p := dbsqlc.AccountXrefUpsertBatchParams{TenantID: tenantID}
	for _, x := range xrefs {
		p.Keys = append(p.Keys, x.Key)
		p.RefValues = append(p.RefValues, x.Value)
		p.AccountIds = append(p.AccountIds, x.AccountID)
	}
	added, err := dbsqlc.New().AccountXrefUpsertBatch(ctx, db, p)
	if err != nil {
		return interpret(err, "storing account cross-references")
	}
	if len(added) == 0 {
		return nil // records naming them resolved them when they were stored
	}
	// Records stored concurrently naming these references resolve them
	// under the lock themselves, or are visible once we hold it.
	if err := lockOwner(ctx, db, xrefLock(tenantID), true); err != nil {
		return err
	}
	keys, values := make([]string, len(added)), make([]string, len(added))
	for i, a := range added {
		keys[i], values[i] = a.Key, a.Value
	}
	moved, err := dbsqlc.New().RecordResolveOwners(ctx, db, dbsqlc.RecordResolveOwnersParams{TenantID: tenantID, Keys: keys, RefValues: values})
	if err != nil {
		return interpret(err, "resolving owner references")
	}
	type parent struct{ connection, object string }
	byParent := map[parent][]string{}
	for _, m := range moved {
		k := parent{m.Connection, m.Object}
		byParent[k] = append(byParent[k], m.SourceID)
	}
	for _, k := range slices.SortedFunc(maps.Keys(byParent), func(a, b parent) int {
		return cmp.Or(cmp.Compare(a.connection, b.connection), cmp.Compare(a.object, b.object))
	}) {
		ids := byParent[k]
		if err := ResolveChildren(ctx, db, tenantID, k.connection, k.object, ids); err != nil {
			return err
		}
	}
	return nil
}
