// Package records is the read API over the cache: get and list portal
// records under an access scope, each with its freshness (synced_at, a
// stale flag from the object's freshness target, and since when its source
// has been unavailable). A stale read enqueues a refresh and answers at
// once with what the cache holds (stale-while-revalidate); a fresh read
// goes to the source first, within a short timeout, unless its breaker is
// open. It does not decide scopes (internal/access) and does not sync
// (internal/syncer).
package records

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/internal/textcheck"
)

// ErrNotFound is returned for a record that does not exist or is outside
// the scope: callers answer both the same way (404).
var ErrNotFound = errors.New("records: not found")

// ErrInvalid is returned for a bad list parameter; its message names it.
var ErrInvalid = errors.New("records: invalid")

// Freshness says how current a record is.
type Freshness struct {
	SyncedAt               time.Time  `json:"synced_at"`
	Stale                  bool       `json:"stale"`
	SourceUnavailableSince *time.Time `json:"source_unavailable_since"`
}

// Record is one portal record as a caller may see it.
type Record struct {
	ID          string          `json:"id"`
	Object      string          `json:"object"`
	Status      string          `json:"status,omitempty"`
	StatusLabel string          `json:"status_label,omitempty"`
	NextStep    string          `json:"next_step,omitempty"`
	Fields      json.RawMessage `json:"fields"` // the visible fields, a JSON object
	Account     string          `json:"account_id,omitempty"`
	Modified    time.Time       `json:"updated_at"`
	Version     string          `json:"version"`
	Freshness   Freshness       `json:"freshness"`
	// PendingAction is the customer action changing or creating this
	// record that the source has not applied yet (or that conflicts).
	PendingAction *PendingAction `json:"pending_action,omitempty"`

	connection   string
	sourceObject string
	staleAt      time.Time
}

// StaleAt is when the record turns stale: its sync time plus its object's
// freshness target.
func (r *Record) StaleAt() time.Time { return r.staleAt }

// Connection is the connection the record was synced from, SourceObject
// its object there.
func (r *Record) Connection() string { return r.connection }

// SourceObject is the record's object at its source (ContentVersion).
func (r *Record) SourceObject() string { return r.sourceObject }

// Field returns the decoded value of one visible field, nil when the
// record has no such field (or the user may not see it).
func (r *Record) Field(name string) any {
	return gjson.GetBytes(r.Fields, gjson.Escape(name)).Value()
}

// PendingAction is a write-back action shown on the record it changes.
type PendingAction struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"`
	State string `json:"state"`
}

// Health reports whether a connection's breaker refuses calls.
type Health interface {
	BreakerOpen(connection string) bool
}

// Options are the reader's dependencies.
type Options struct {
	Pool *pgxpool.Pool
	// Read picks the pool of a read that tolerates replica lag
	// (internal/replica); nil reads Pool.
	Read     func(ctx context.Context) *pgxpool.Pool
	Mappings *mapping.Set
	// Enqueue schedules a refresh of a stale record; nil disables it.
	Enqueue func(ctx context.Context, args syncer.RefreshArgs) error
	// Refresh reads one record through from the source (syncer.Refresh).
	Refresh      func(ctx context.Context, connection, object, id string) error
	Health       Health
	FreshTimeout time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// Reader reads records.
type Reader struct{ opts Options }

// New returns a Reader.
func New(opts Options) *Reader {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FreshTimeout == 0 {
		opts.FreshTimeout = 3 * time.Second
	}
	if opts.Read == nil {
		opts.Read = func(context.Context) *pgxpool.Pool { return opts.Pool }
	}
	return &Reader{opts: opts}
}

// GetOptions adjust Get.
type GetOptions struct {
	// Fresh reads through to the source first.
	Fresh bool
}

// Get reads one record of a portal object by id. Outside the scope it is
// ErrNotFound, exactly as if it did not exist.
func (rd *Reader) Get(ctx context.Context, scope access.Scope, object, id string, opts GetOptions) (*Record, error) {
	obj, ok := rd.visibleObject(scope, object)
	if !ok {
		return nil, ErrNotFound
	}
	rec, err := rd.get(ctx, scope, obj, id)
	if err != nil {
		return nil, err
	}
	if opts.Fresh && rd.opts.Refresh != nil && (rd.opts.Health == nil || !rd.opts.Health.BreakerOpen(rec.connection)) {
		fctx, cancel := context.WithTimeout(ctx, rd.opts.FreshTimeout)
		err := rd.opts.Refresh(fctx, rec.connection, rec.sourceObject, rec.ID)
		cancel()
		if err == nil {
			// Re-read under the scope: the refresh may have moved it away.
			return rd.get(ctx, scope, obj, id)
		}
		rd.opts.Logger.WarnContext(ctx, "fresh read fell back to the cache", slog.String("object", object), slog.String("error", err.Error()))
		rec.Freshness.Stale = true
		return rec, nil
	}
	rd.revalidate(ctx, obj, rec)
	return rec, nil
}

func (rd *Reader) get(ctx context.Context, scope access.Scope, obj *mapping.Object, id string) (*Record, error) {
	// One round trip: the scope's settings and the query in one pipeline.
	v, err := store.ScopedRecord(ctx, rd.opts.Read(ctx), scoped(scope, obj).Store(), obj.Name(), obj.Public(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	rec := rd.record(v, obj, scope)
	return &rec, nil
}

// ListOptions filter and page a list.
type ListOptions struct {
	Status string // mapped status value
	// StatusNot leaves out records in this mapped status ("closed": the
	// open ones).
	StatusNot string
	// Search keeps records one of whose SearchFields contains it, case
	// insensitively. The caller names only fields the scope's roles see.
	Search       string
	SearchFields []string
	UpdatedSince time.Time // records modified at or after
	// Sort is "-updated_at" (default, newest first) or "updated_at".
	Sort   string
	Cursor string // from the previous page's Next
	Limit  int    // 1..200, default 50
}

// Page is one page of a list.
type Page struct {
	Records []Record `json:"data"`
	Next    string   `json:"next_cursor,omitempty"`
}

// List reads a page of a portal object's records within the scope.
func (rd *Reader) List(ctx context.Context, scope access.Scope, object string, lo ListOptions) (*Page, error) {
	pages, err := rd.ListMany(ctx, []ListRequest{{Scope: scope, Object: object, Options: lo}})
	if err != nil {
		return nil, err
	}
	return pages[0], nil
}

// ListRequest is one list of ListMany: a page of Object's records within
// Scope.
type ListRequest struct {
	Scope   access.Scope
	Object  string
	Options ListOptions
}

// ListMany reads a page for each request, as List reads one, in one round
// trip to the database (a page that shows several objects, such as the
// status hub, reads them all at once). The requests are one principal's:
// their scopes are all staff or all not.
func (rd *Reader) ListMany(ctx context.Context, reqs []ListRequest) ([]*Page, error) {
	pages := make([]*Page, len(reqs))
	objs := make([]*mapping.Object, len(reqs))
	var filters []store.RecordFilter
	var read []int // the requests read, by filter
	for i, req := range reqs {
		obj, f, err := rd.filter(req.Scope, req.Object, &reqs[i].Options)
		if err != nil {
			return nil, err
		}
		if obj == nil {
			pages[i] = &Page{Records: []Record{}}
			continue
		}
		objs[i] = obj
		filters = append(filters, f)
		read = append(read, i)
	}
	if len(filters) == 0 {
		return pages, nil
	}
	views, err := store.ScopedRecordLists(ctx, rd.opts.Read(ctx), filters)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	for k, i := range read {
		obj, lo := objs[i], reqs[i].Options
		page := rd.page(views[k], obj, reqs[i].Scope)
		if len(page.Records) > lo.Limit {
			page.Records = page.Records[:lo.Limit]
			last := page.Records[lo.Limit-1]
			page.Next = encodeCursor(last.Modified, last.ID)
		}
		for j := range page.Records {
			rd.revalidate(ctx, obj, &page.Records[j])
		}
		pages[i] = page
	}
	return pages, nil
}

func (rd *Reader) list(ctx context.Context, scope access.Scope, obj *mapping.Object, f store.RecordFilter) (*Page, error) {
	views, err := store.ScopedRecords(ctx, rd.opts.Read(ctx), f)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	return rd.page(views, obj, scope), nil
}

func (rd *Reader) page(views []store.RecordView, obj *mapping.Object, scope access.Scope) *Page {
	page := &Page{Records: make([]Record, len(views))}
	for i, v := range views {
		page.Records[i] = rd.record(v, obj, scope)
	}
	return page
}

// filter is the store's filter for a list of object; a nil object for one
// the scope does not reach (an empty list). It fills in lo's default
// limit.
func (rd *Reader) filter(scope access.Scope, object string, lo *ListOptions) (*mapping.Object, store.RecordFilter, error) {
	obj, ok := rd.visibleObject(scope, object)
	if !ok {
		return nil, store.RecordFilter{}, nil
	}
	if lo.Limit == 0 {
		lo.Limit = 50
	}
	if lo.Limit < 1 || lo.Limit > 200 {
		return nil, store.RecordFilter{}, fmt.Errorf("%w: limit must be between 1 and 200", ErrInvalid)
	}
	desc := true
	switch lo.Sort {
	case "", "-updated_at":
	case "updated_at":
		desc = false
	default:
		return nil, store.RecordFilter{}, fmt.Errorf("%w: sort must be updated_at or -updated_at", ErrInvalid)
	}
	f := store.RecordFilter{Scope: scoped(scope, obj).Store(), Object: obj.Name(), Public: obj.Public(),
		Status: lo.Status, StatusNot: lo.StatusNot, Contains: lo.Search, ContainsFields: lo.SearchFields,
		UpdatedSince: lo.UpdatedSince, Limit: lo.Limit + 1}
	if !desc {
		f.Order = store.OldestFirst
	}
	if lo.Cursor != "" {
		at, id, err := decodeCursor(lo.Cursor)
		if err != nil {
			return nil, store.RecordFilter{}, err
		}
		f.After = &store.RecordCursor{At: at, ID: id}
	}
	return obj, f, nil
}

// Related reads up to f.Limit records of a portal object that belong to
// another record (a case's comments, an invoice's payments) or match a
// knowledge search, as f selects; the reader fills in f's scope and
// object. Its records are not revalidated.
func (rd *Reader) Related(ctx context.Context, scope access.Scope, object string, f store.RecordFilter) ([]Record, error) {
	obj, ok := rd.visibleObject(scope, object)
	if !ok {
		return []Record{}, nil
	}
	f.Scope, f.Object, f.Public = scoped(scope, obj).Store(), obj.Name(), obj.Public()
	page, err := rd.list(ctx, scope, obj, f)
	if err != nil {
		return nil, err
	}
	return page.Records, nil
}

// RelatedIn is Related for the mapping of object that connection feeds
// (an object several connections map, as documents), its roles and
// fields; records of other connections are left out.
func (rd *Reader) RelatedIn(ctx context.Context, scope access.Scope, connection, object string, f store.RecordFilter) ([]Record, error) {
	obj, ok := rd.opts.Mappings.For(connection, object)
	if !ok || (!scope.Staff && !obj.VisibleTo(scope.Roles)) {
		return []Record{}, nil
	}
	f.Scope, f.Object, f.Public = scoped(scope, obj).Store(), obj.Name(), obj.Public()
	page, err := rd.list(ctx, scope, obj, f)
	if err != nil {
		return nil, err
	}
	out := page.Records[:0]
	for _, r := range page.Records {
		if r.connection == connection {
			out = append(out, r)
		}
	}
	return out, nil
}

func (rd *Reader) visibleObject(scope access.Scope, object string) (*mapping.Object, bool) {
	obj, ok := rd.opts.Mappings.Object(object)
	if !ok {
		return nil, false
	}
	if !scope.Staff && !obj.VisibleTo(scope.Roles) {
		return nil, false
	}
	return obj, true
}

// scoped narrows the scope's public objects to obj, for RLS.
func scoped(scope access.Scope, obj *mapping.Object) access.Scope {
	if obj.Public() {
		scope.PublicObjects = []string{obj.Name()}
	}
	return scope
}

func (rd *Reader) record(v store.RecordView, obj *mapping.Object, scope access.Scope) Record {
	rec := Record{ID: v.SourceID, Version: v.Version, connection: v.Connection, sourceObject: v.SourceObject}
	if pa := v.Pending; pa != nil {
		rec.PendingAction = &PendingAction{ID: pa.ID, Kind: pa.Kind, State: pa.State}
	}
	// An object fed by several connections (documents) has one mapping
	// per connection: use the record's own.
	if own, ok := rd.opts.Mappings.For(rec.connection, obj.Name()); ok {
		obj = own
	}
	roles := scope.Roles
	if scope.Staff {
		roles = []string{mapping.RoleOperatorAdmin}
	}
	rec.Object = obj.Name()
	rec.Account = v.OwnerAccount
	shown := obj.Show(roles, v.Data)
	rec.Status, rec.StatusLabel, rec.NextStep, rec.Fields = shown.Status, shown.StatusLabel, shown.NextStep, shown.Fields
	rec.Modified = v.Modified
	rec.Freshness.SyncedAt = v.SyncedAt
	rec.staleAt = v.SyncedAt.Add(obj.Freshness())
	rec.Freshness.Stale = rd.opts.Now().After(rec.staleAt)
	rec.Freshness.SourceUnavailableSince = v.FailingSince
	return rec
}

// revalidate enqueues a refresh of a stale record; the unique job
// collapses many readers of one stale record into one refresh.
func (rd *Reader) revalidate(ctx context.Context, obj *mapping.Object, rec *Record) {
	if !rec.Freshness.Stale || rd.opts.Enqueue == nil {
		return
	}
	err := rd.opts.Enqueue(ctx, syncer.RefreshArgs{Connection: rec.connection, Object: rec.sourceObject, ID: rec.ID})
	if err != nil {
		rd.opts.Logger.WarnContext(ctx, "enqueueing refresh of a stale record", slog.String("object", obj.Name()), slog.String("error", err.Error()))
	}
}

// noTime marks a cursor at a record with no modification time; the list
// sorts those as -infinity.
const noTime = "-infinity"

func encodeCursor(at time.Time, id string) string {
	ts := noTime
	if !at.IsZero() {
		ts = at.UTC().Format(time.RFC3339Nano)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(ts + "|" + id))
}

func decodeCursor(c string) (pgtype.Timestamptz, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		ts, id, ok := strings.Cut(string(raw), "|")
		ok = ok && textcheck.Valid(id)
		if ok && ts == noTime {
			return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, id, nil
		}
		if at, perr := time.Parse(time.RFC3339Nano, ts); ok && perr == nil {
			return pgtype.Timestamptz{Time: at, Valid: true}, id, nil
		}
	}
	return pgtype.Timestamptz{}, "", fmt.Errorf("%w: cursor is not one this API returned", ErrInvalid)
}
