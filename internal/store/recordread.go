package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The portal's reads of the cache are built here by hand, not by sqlc:
// the owner predicate depends on the scope (equality for one account so
// that PostgreSQL reads the owner index in order, ANY for several, none
// for staff), and a list adds only the filters it uses, so that each
// shape keeps its own plan. Every value is a parameter; only the LIMIT
// and the sort direction are spelled into the text.

// RecordView is one cached record as the portal reads it, with its
// freshness and the customer action pending on it.
type RecordView struct {
	Connection   string
	SourceObject string
	SourceID     string
	OwnerAccount string // empty for ownerless records
	Data         []byte // the mapped portal record
	Version      string
	Modified     time.Time // zero when the source gave none
	// SyncedAt is the later of the record's own sync and its object's
	// last successful sync.
	SyncedAt     time.Time
	FailingSince *time.Time // when the object's syncs began to fail
	Pending      *RecordPending
}

// RecordPending is the write-back action pending on a record.
type RecordPending struct {
	ID    int64
	Kind  string
	State string
}

// RecordOrder orders a record list.
type RecordOrder int

const (
	// NewestFirst sorts by modification time, newest first.
	NewestFirst RecordOrder = iota
	// OldestFirst sorts by modification time, oldest first.
	OldestFirst
	// BestMatch sorts a search by rank, best first.
	BestMatch
)

// RecordCursor is where a keyset page continues: after the record
// modified At (-infinity for none) with id ID, in the list's order.
type RecordCursor struct {
	At pgtype.Timestamptz
	ID string
}

// RecordFilter selects a page of one portal object's live records.
type RecordFilter struct {
	Scope  Scope
	Object string
	Public bool // an ownerless object: only records without an owner
	// Status keeps records whose mapped status is Status, StatusNot those
	// whose status is not StatusNot (or that have none).
	Status    string
	StatusNot string
	// Contains keeps records where any of ContainsFields, mapped fields,
	// holds Contains as literal text, case-insensitively.
	Contains       string
	ContainsFields []string
	// UpdatedSince keeps records modified at or after it.
	UpdatedSince time.Time
	After        *RecordCursor
	// CaseID keeps the comments of one case, InvoiceID the payments of
	// one invoice (each through its index of migration 060), ApprovalID
	// the lines of one approval request (migration 090).
	CaseID     string
	InvoiceID  string
	ApprovalID string
	// RelatedID keeps the documents published to one record (their
	// related_id).
	RelatedID string
	// Search keeps knowledge articles matching a web-search query and
	// sorts them by rank.
	Search string
	Order  RecordOrder
	Limit  int
}

const recordSelect = `SELECT r.connection, r.source_object, r.source_id, r.owner_account, r.data, r.source_version,
	r.source_modified, greatest(r.synced_at, c.synced_through), c.failing_since, pa.id, pa.kind, pa.state
	FROM record r LEFT JOIN sync_cursor c
	ON c.tenant_id = r.tenant_id AND c.connection = r.connection AND c.object = r.source_object
	LEFT JOIN action pa ON pa.id = r.pending_action_id
	WHERE r.tenant_id = $1 AND r.object = $2`

const recordLive = ` AND r.deleted_at IS NULL AND NOT r.hidden`

// ScopedRecord reads one live record of a portal object under the scope (RLS
// and the owner predicate). Outside the scope it is ErrNotFound, as if it
// did not exist.
func ScopedRecord(ctx context.Context, pool *pgxpool.Pool, s Scope, object string, public bool, id string) (RecordView, error) {
	a := args{s.TenantID, object, id}
	q := recordSelect + ` AND r.source_id = $3` + recordLive
	if f := s.ownerFilter("r", public, &a); f != "" {
		q += ` AND ` + f
	}
	var v RecordView
	err := readScoped(ctx, pool, s, q, a, func(rows pgx.Rows) error {
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return pgx.ErrNoRows
		}
		return scanRecordView(rows, &v)
	})
	if err != nil {
		return RecordView{}, fmt.Errorf("store: reading a record: %w", err)
	}
	return v, nil
}

// ScopedRecords reads a page of one portal object's live records under the
// scope.
func ScopedRecords(ctx context.Context, pool *pgxpool.Pool, f RecordFilter) ([]RecordView, error) {
	pages, err := ScopedRecordLists(ctx, pool, []RecordFilter{f})
	if err != nil {
		return nil, err
	}
	return pages[0], nil
}

// ScopedRecordLists reads a page for each filter in one round trip, as
// ScopedRecords reads one: the queries, each after its scope's settings
// (queued again only where they differ from the query before's), go in
// one pipeline, which PostgreSQL runs as one implicit transaction. The
// filters' scopes are all staff or all not (one principal's reads).
func ScopedRecordLists(ctx context.Context, pool *pgxpool.Pool, filters []RecordFilter) ([][]RecordView, error) {
	b := &pgx.Batch{}
	settings := make([]bool, 0, 2*len(filters)) // per queued statement: the scope's settings?
	var prev string
	for _, f := range filters {
		if f.Scope.Staff != filters[0].Scope.Staff {
			return nil, errors.New("store: listing records: staff and customer scopes in one read")
		}
		if !f.Scope.Staff {
			set, err := f.Scope.settings()
			if err != nil {
				return nil, err
			}
			if key := fmt.Sprint(set...); key != prev {
				b.Queue(scopeSQL, set...)
				settings, prev = append(settings, true), key
			}
		}
		q, a := f.sql()
		b.Queue(q, a...)
		settings = append(settings, false)
	}
	out := make([][]RecordView, 0, len(filters))
	br := pool.SendBatch(ctx, b)
	err := func() error {
		for _, isSettings := range settings {
			if isSettings {
				if _, err := br.Exec(); err != nil {
					return fmt.Errorf("applying scope: %w", err)
				}
				continue
			}
			page, err := scanRecordViews(br)
			if err != nil {
				return err
			}
			out = append(out, page)
		}
		return nil
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("store: listing records: %w", interpretError(err))
	}
	return out, nil
}

// scanRecordViews reads the rows of the batch's next query.
func scanRecordViews(br pgx.BatchResults) ([]RecordView, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]RecordView, 0, 16)
	for rows.Next() {
		var v RecordView
		if err := scanRecordView(rows, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (f RecordFilter) sql() (string, args) {
	a := args{f.Scope.TenantID, f.Object}
	var q strings.Builder
	q.WriteString(recordSelect + recordLive)
	and := func(pred string) {
		if pred != "" {
			q.WriteString(" AND " + pred)
		}
	}
	and(f.Scope.ownerFilter("r", f.Public, &a))
	if f.Status != "" {
		and(`r.status IS NOT NULL AND r.data->>'status' = ` + a.add(f.Status))
	}
	if f.StatusNot != "" {
		and(`r.data->>'status' IS DISTINCT FROM ` + a.add(f.StatusNot))
	}
	if f.Contains != "" && len(f.ContainsFields) > 0 {
		pattern := a.add("%" + likeEscaper.Replace(f.Contains) + "%")
		ors := make([]string, len(f.ContainsFields))
		for i, field := range f.ContainsFields {
			ors[i] = `r.data->'fields'->>` + a.add(field) + ` ILIKE ` + pattern
		}
		and(`(` + strings.Join(ors, ` OR `) + `)`)
	}
	if !f.UpdatedSince.IsZero() {
		and(`r.source_modified >= ` + a.add(f.UpdatedSince))
	}
	if f.CaseID != "" {
		and(`r.data->'fields'->>'case_id' = ` + a.add(f.CaseID))
	}
	if f.RelatedID != "" {
		and(`r.data->'fields'->>'related_id' = ` + a.add(f.RelatedID))
	}
	if f.ApprovalID != "" {
		and(`r.data->'fields'->>'approval_id' = ` + a.add(f.ApprovalID))
	}
	if f.InvoiceID != "" {
		and(`r.data->'fields'->'invoice_ids' @> jsonb_build_array(` + a.add(f.InvoiceID) + `::text)`)
	}
	var tsq string
	if f.Search != "" {
		tsq = `websearch_to_tsquery('english', ` + a.add(f.Search) + `)`
		and(`record_article_search(r.data) @@ ` + tsq)
	}
	if c := f.After; c != nil {
		op := "<"
		if f.Order == OldestFirst {
			op = ">"
		}
		and(fmt.Sprintf(`(coalesce(r.source_modified, '-infinity'), r.source_id) %s (%s, %s)`, op, a.add(c.At), a.add(c.ID)))
	}
	switch {
	case f.Search != "" && f.Order == BestMatch:
		q.WriteString(` ORDER BY ts_rank(record_article_search(r.data), ` + tsq + `) DESC, r.source_id`)
	case f.Order == OldestFirst:
		q.WriteString(` ORDER BY coalesce(r.source_modified, '-infinity') ASC, r.source_id ASC`)
	default:
		q.WriteString(` ORDER BY coalesce(r.source_modified, '-infinity') DESC, r.source_id DESC`)
	}
	fmt.Fprintf(&q, ` LIMIT %d`, f.Limit)
	return q.String(), a
}

// likeEscaper makes a text match itself in ILIKE.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func scanRecordView(rows pgx.Rows, v *RecordView) error {
	var (
		account                   pgtype.Text
		modified, synced, failing pgtype.Timestamptz
		paID                      pgtype.Int8
		paKind, paState           pgtype.Text
	)
	if err := rows.Scan(&v.Connection, &v.SourceObject, &v.SourceID, &account, &v.Data, &v.Version, &modified, &synced, &failing,
		&paID, &paKind, &paState); err != nil {
		return err
	}
	v.OwnerAccount, v.Modified, v.SyncedAt = account.String, modified.Time, synced.Time
	if failing.Valid {
		t := failing.Time
		v.FailingSince = &t
	}
	if paID.Valid {
		v.Pending = &RecordPending{ID: paID.Int64, Kind: paKind.String, State: paState.String}
	}
	return nil
}

// StatusChange is one status change of a record that the source confirmed.
type StatusChange struct {
	Status string // empty when the source cleared it
	At     time.Time
}

// ScopedStatusChanges reads the status changes of one live record under
// the scope, oldest first, at most limit.
func ScopedStatusChanges(ctx context.Context, pool *pgxpool.Pool, s Scope, object string, public bool, id string, limit int) ([]StatusChange, error) {
	a := args{s.TenantID, object, id}
	q := `SELECT h.status, h.at FROM record_status_change h
		JOIN record r ON r.tenant_id = h.tenant_id AND r.connection = h.connection AND r.object = h.object AND r.source_id = h.source_id
		WHERE h.tenant_id = $1 AND h.object = $2 AND h.source_id = $3 AND r.deleted_at IS NULL`
	if f := s.ownerFilter("r", public, &a); f != "" {
		q += ` AND ` + f
	}
	q += fmt.Sprintf(` ORDER BY h.at, h.id LIMIT %d`, limit)
	var out []StatusChange
	err := readScoped(ctx, pool, s, q, a, func(rows pgx.Rows) error {
		for rows.Next() {
			var status pgtype.Text
			var ch StatusChange
			if err := rows.Scan(&status, &ch.At); err != nil {
				return err
			}
			ch.Status = status.String
			out = append(out, ch)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: status history: %w", err)
	}
	return out, nil
}
