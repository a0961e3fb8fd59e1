package syncer

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
)

// Kind of sync run.
type Kind string

const (
	KindIncremental Kind = "incremental"
	KindFull        Kind = "full"
	KindReconcile   Kind = "reconcile"
	KindRefresh     Kind = "refresh"
)

// Options are the syncer's dependencies.
type Options struct {
	Pool       *pgxpool.Pool
	TenantID   int64
	Connectors map[string]connectors.Connector // by connection name
	Mappings   *mapping.Set
	Logger     *slog.Logger
	Metrics    *Metrics // nil: not exported
	PageSize   int
	// Progress, if set, is told after every stored page (CLI progress).
	Progress func(Progress)
	Now      func() time.Time
}

// Progress reports a run in flight.
type Progress struct {
	Connection, Object string
	Kind               Kind
	Pages              int
	Records            int
	Deleted            int
}

// Syncer runs syncs.
type Syncer struct {
	opts     Options
	refKeys  []string
	accounts map[string]bool // connection/source object pairs that feed the account object
	analyze  *analyzer
}

// New builds a Syncer.
func New(opts Options) *Syncer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PageSize == 0 {
		opts.PageSize = 2000
	}
	s := &Syncer{opts: opts, accounts: map[string]bool{}, analyze: &analyzer{}}
	for _, def := range mapping.Model() {
		if def.Name == "account" {
			s.refKeys = def.RefKeys
		}
	}
	for _, obj := range opts.Mappings.Objects() {
		if obj.Name() == "account" {
			s.accounts[obj.Connection()+"/"+obj.SourceObject()] = true
		}
	}
	return s
}

// Result is a finished run.
type Result struct {
	RunID   int64
	Kind    Kind
	Pages   int
	Records int
	// Changed counts the records stored with a new version (an
	// incremental pull repeats the records of its overlap unchanged).
	Changed     int
	Deleted     int
	Differences int
}

// Targets lists every (connection, source object) the mappings feed from
// a configured connection. Accounts come first, then objects other records
// are owned through, then the rest: records that arrive after what owns
// them get their owner as they are stored, instead of being rewritten
// when it arrives.
func (s *Syncer) Targets() []Target {
	parents := map[string]bool{}
	for _, obj := range s.opts.Mappings.Objects() {
		if p := obj.OwnerParentObject(); p != "" {
			parents[p] = true
		}
	}
	rank := func(portal string) int {
		switch {
		case portal == "account":
			return 0
		case parents[portal]:
			return 1
		}
		return 2
	}
	var out []Target
	for _, obj := range s.opts.Mappings.Objects() {
		if _, ok := s.opts.Connectors[obj.Connection()]; ok {
			out = append(out, Target{Connection: obj.Connection(), Object: obj.SourceObject(), Portal: obj.Name()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].Portal) < rank(out[j].Portal) })
	return out
}

// Target is one synced source object.
type Target struct {
	Connection string `json:"connection"`
	Object     string `json:"object"` // vendor object
	Portal     string `json:"portal"` // portal object
}

// Syncs says whether a mapping reads the connection's source object.
func (s *Syncer) Syncs(connection, object string) bool {
	_, _, err := s.target(connection, object)
	return err == nil
}

// ErrNotSynced is a connection or source object that nothing syncs: no
// such connection, or no mapping reads the object. A webhook names every
// object its source changed, mapped or not.
var ErrNotSynced = errors.New("not synced")

// ErrBusy is a pull of an object asked for while another pull of it runs,
// in this process or another: one pull of an object at a time across the
// fleet, so that no page is fetched and stored twice (a poll beside the
// first-sync job every worker enqueues at start would otherwise both run
// an object's first full sync).
var ErrBusy = errors.New("another pull of this object is running")

// pullLease is how long a pull holds its object without storing a page;
// each page renews it. A pull whose process died frees the object when it
// runs out.
const pullLease = 2 * time.Minute

// lease takes or renews the pull lease of key's object for owner.
func (s *Syncer) lease(ctx context.Context, key store.SyncCursorEnsureParams, owner string) error {
	n, err := store.SyncPullLease(ctx, s.opts.Pool, store.SyncPullLeaseParams{
		Owner: owner, Seconds: pullLease.Seconds(), TenantID: key.TenantID, Connection: key.Connection, Object: key.Object,
	})
	if err != nil {
		return fmt.Errorf("syncer: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("syncer: %s %s: %w", key.Connection, key.Object, ErrBusy)
	}
	return nil
}

// release frees key's object after owner's pull, whatever its outcome.
func (s *Syncer) release(key store.SyncCursorEnsureParams, owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := store.SyncPullRelease(ctx, s.opts.Pool, store.SyncPullReleaseParams{
		Owner: owner, TenantID: key.TenantID, Connection: key.Connection, Object: key.Object,
	})
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "syncer: releasing a pull (it runs out by itself)", slog.String("connection", key.Connection),
			slog.String("object", key.Object), slog.String("error", err.Error()))
	}
}

func (s *Syncer) target(connection, object string) (connectors.Connector, *mapping.Object, error) {
	conn, ok := s.opts.Connectors[connection]
	if !ok {
		return nil, nil, fmt.Errorf("syncer: unknown connection %q: %w", connection, ErrNotSynced)
	}
	obj, ok := s.opts.Mappings.BySource(connection, object)
	if !ok {
		return nil, nil, fmt.Errorf("syncer: no mapping for %s object %q: %w", connection, object, ErrNotSynced)
	}
	return conn, obj, nil
}

// Incremental pulls the changes since the object's cursor. An object never
// synced before gets a full run instead.
func (s *Syncer) Incremental(ctx context.Context, connection, object string) (Result, error) {
	return s.pull(ctx, connection, object, KindIncremental)
}

// Full pulls everything, resuming an interrupted full run where it stopped.
func (s *Syncer) Full(ctx context.Context, connection, object string) (Result, error) {
	return s.pull(ctx, connection, object, KindFull)
}

func (s *Syncer) pull(ctx context.Context, connection, object string, kind Kind) (res Result, err error) {
	conn, obj, err := s.target(connection, object)
	if err != nil {
		return Result{}, err
	}
	key := s.cursorKey(connection, object)
	if _, err := store.SyncCursorEnsure(ctx, s.opts.Pool, store.SyncCursorEnsureParams(key)); err != nil {
		return Result{}, fmt.Errorf("syncer: %w", err)
	}
	owner := rand.Text()
	if err := s.lease(ctx, key, owner); err != nil {
		return Result{}, err
	}
	defer s.release(key, owner)
	// Read after the lease: the cursor as the last pull left it.
	cur, err := store.SyncCursorGet(ctx, s.opts.Pool, store.SyncCursorGetParams(key))
	if err != nil {
		return Result{}, fmt.Errorf("syncer: %w", err)
	}
	if kind == KindIncremental && cur.Cursor == "" && !cur.LastSuccessAt.Valid {
		kind = KindFull // the first sync of an object is a full, resumable one
	}
	started := s.opts.Now()
	run, err := s.startRun(ctx, connection, object, kind, cur)
	if err != nil {
		return Result{}, err
	}
	res = Result{RunID: run, Kind: kind}
	defer func() { s.finishRun(ctx, connection, object, &res, err) }()

	// A full run while the mapping reads paths the stored payloads lack
	// rewrites every record, unchanged versions included.
	repull := kind == KindFull && len(newPaths(obj.SourcePaths(), cur.SourcePaths)) > 0
	req := connectors.PullRequest{Object: object, Cursor: cur.Cursor, Limit: s.opts.PageSize}
	if kind == KindFull {
		req.Cursor = ""
		if cur.FullPage.Valid {
			req.Page = cur.FullPage.String
		}
	}
	// The next page is fetched while the current one is stored: source
	// latency and database writes overlap instead of adding up.
	pages := newPrefetcher(ctx, conn, func(p *connectors.Page) ([]store.Row, error) { return s.mapRecords(obj, p.Records) })
	defer pages.stop()
	pages.fetch(req)
	for {
		f := pages.next()
		if f.err != nil {
			return res, fmt.Errorf("syncer: %s %s page %d: %w", connection, object, res.Pages+1, f.err)
		}
		page := f.page
		if page.Next != "" {
			req.Page = page.Next
			pages.fetch(req)
		}
		if err := s.lease(ctx, key, owner); err != nil {
			return res, err // the lease ran out and another pull took the object
		}
		if err := s.storeRows(ctx, key, obj, kind, run, page, f.rows, repull, &res); err != nil {
			return res, err
		}
		if page.Next == "" {
			break
		}
	}
	if kind == KindIncremental || kind == KindFull {
		err := store.SyncCursorSucceeded(ctx, s.opts.Pool, store.SyncCursorSucceededParams{
			SyncedThrough: pgtype.Timestamptz{Time: started, Valid: true},
			TenantID:      key.TenantID, Connection: key.Connection, Object: key.Object,
		})
		if err != nil {
			return res, fmt.Errorf("syncer: %w", err)
		}
		// A full run's payloads carry every path the mapping reads now;
		// an object whose paths were not known takes them as its start.
		if kind == KindFull || cur.SourcePaths == nil {
			if err := store.SyncCursorPulledWith(ctx, s.opts.Pool, store.SyncCursorPulledWithParams{
				SourcePaths: obj.SourcePaths(), TenantID: key.TenantID, Connection: key.Connection, Object: key.Object,
			}); err != nil {
				return res, fmt.Errorf("syncer: %w", err)
			}
		}
	}
	return res, nil
}

// storePage maps a page and stores it, its deletions and the advanced
// cursor in one transaction.
func (s *Syncer) storePage(ctx context.Context, key store.SyncCursorEnsureParams, obj *mapping.Object, kind Kind, run int64, page *connectors.Page, res *Result) error {
	rows, err := s.mapRecords(obj, page.Records)
	if err != nil {
		return err
	}
	return s.storeRows(ctx, key, obj, kind, run, page, rows, false, res)
}

// storeRows stores a page's mapped rows, deletions and cursor.
// rewrite stores unchanged versions too (a re-pull for new source fields).
// Pages take the owner locks (store.LockDerived) before any record lock,
// but a write-back that already holds a child's row can wait for the lock
// whose holder moves that child to its parent's new owner; if PostgreSQL
// picks the page as the victim, the page's rows are still in hand and it
// is simply redone.
func (s *Syncer) storeRows(ctx context.Context, key store.SyncCursorEnsureParams, obj *mapping.Object, kind Kind, run int64, page *connectors.Page, rows []store.Row, rewrite bool, res *Result) error {
	var deleted, changed int64
	err := store.RetryDeadlock(func() error {
		return pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
			if _, err := store.SyncCursorLock(ctx, tx, store.SyncCursorLockParams(key)); err != nil {
				return err
			}
			p := s.page(key, obj)
			p.Rewrite = rewrite
			var err error
			if changed, err = store.UpsertRows(ctx, tx, p, rows); err != nil {
				return err
			}
			if len(page.Deleted) > 0 {
				ids := make([]string, len(page.Deleted))
				for i, d := range page.Deleted {
					ids[i] = d.ID
				}
				n, err := store.Tombstone(ctx, tx, key.TenantID, key.Connection, obj.Name(), ids, time.Time{})
				if err != nil {
					return err
				}
				deleted = n
			}
			if s.accounts[key.Connection+"/"+key.Object] {
				if err := s.storeXrefs(ctx, tx, key.TenantID, rows); err != nil {
					return err
				}
			}
			if page.Cursor != "" && (kind == KindIncremental || kind == KindFull) {
				if err := store.SyncCursorAdvance(ctx, tx, store.SyncCursorAdvanceParams{
					Cursor: page.Cursor, TenantID: key.TenantID, Connection: key.Connection, Object: key.Object,
				}); err != nil {
					return err
				}
			}
			if kind == KindFull {
				next := pgtype.Text{String: page.Next, Valid: page.Next != ""}
				runID := pgtype.Int8{Int64: run, Valid: page.Next != ""}
				if err := store.SyncCursorFullProgress(ctx, tx, store.SyncCursorFullProgressParams{
					FullPage: next, FullRunID: runID, TenantID: key.TenantID, Connection: key.Connection, Object: key.Object,
				}); err != nil {
					return err
				}
			}
			return store.SyncRunProgress(ctx, tx, store.SyncRunProgressParams{Records: int32(len(rows)), Deleted: int32(deleted), ID: run})
		})
	})
	if err != nil {
		return fmt.Errorf("syncer: storing %s %s page: %w", key.Connection, key.Object, err)
	}
	res.Pages++
	res.Records += len(rows)
	res.Changed += int(changed)
	res.Deleted += int(deleted)
	s.analyze.wrote(ctx, s.opts.Pool, len(rows), s.opts.Logger)
	s.opts.Metrics.records(key.Connection, key.Object, len(rows))
	if s.opts.Progress != nil {
		s.opts.Progress(Progress{Connection: key.Connection, Object: key.Object, Kind: kind, Pages: res.Pages, Records: res.Records, Deleted: res.Deleted})
	}
	return nil
}

func (s *Syncer) page(key store.SyncCursorEnsureParams, obj *mapping.Object) store.Page {
	return store.Page{TenantID: key.TenantID, Connection: key.Connection, Object: obj.Name(), SourceObject: key.Object, MappingHash: obj.Hash(),
		Childless: !s.opts.Mappings.OwnsThrough(key.Connection, obj.Name())}
}

// mapRecords converts source records to cache rows. A record the mapping
// cannot read at all (not an object, no key) fails the page: storing
// around it would silently drop it.
func (s *Syncer) mapRecords(obj *mapping.Object, recs []connectors.Record) ([]store.Row, error) {
	rows := make([]store.Row, 0, len(recs))
	for _, rec := range recs {
		row, err := MapRecord(obj, rec)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// MapRecord converts one source record to a cache row.
func MapRecord(obj *mapping.Object, rec connectors.Record) (store.Row, error) {
	m, err := obj.ToPortal(rec.Raw)
	if err != nil {
		return store.Row{}, fmt.Errorf("syncer: mapping %s %s: %w", rec.Object, rec.ID, err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return store.Row{}, err
	}
	row := store.Row{
		SourceID:     rec.ID,
		OwnerAccount: m.OwnerAccount,
		OwnerContact: m.OwnerContact,
		Hidden:       m.Hidden,
		Status:       m.Status,
		Data:         data,
		Raw:          rec.Raw,
		Version:      rec.Version,
		Modified:     rec.Modified,
	}
	if row.SourceID == "" {
		row.SourceID = m.ID
	}
	if row.Version == "" {
		row.Version = m.Version
	}
	if row.Modified.IsZero() {
		row.Modified = m.Modified
	}
	if m.OwnerRef != nil {
		row.OwnerRefKey, row.OwnerRefValue = m.OwnerRef.Key, m.OwnerRef.Value
	}
	if m.OwnerParent != nil {
		row.OwnerParentObject, row.OwnerParentID = m.OwnerParent.Object, m.OwnerParent.ID
	}
	return row, nil
}

// storeXrefs records which portal account each cross-reference key names,
// then resolves records that were waiting for it.
func (s *Syncer) storeXrefs(ctx context.Context, tx pgx.Tx, tenant int64, rows []store.Row) error {
	var xrefs []store.Xref
	for _, r := range rows {
		var m struct {
			Fields map[string]any `json:"fields"`
		}
		if err := json.Unmarshal(r.Data, &m); err != nil {
			return err
		}
		for _, key := range s.refKeys {
			v, ok := m.Fields[key]
			if !ok || v == nil || fmt.Sprint(v) == "" {
				continue
			}
			xrefs = append(xrefs, store.Xref{Key: key, Value: fmt.Sprint(v), AccountID: r.SourceID})
		}
	}
	return store.StoreXrefs(ctx, tx, tenant, xrefs)
}

func (s *Syncer) cursorKey(connection, object string) store.SyncCursorEnsureParams {
	return store.SyncCursorEnsureParams{TenantID: s.opts.TenantID, Connection: connection, Object: object}
}

func (s *Syncer) startRun(ctx context.Context, connection, object string, kind Kind, _ store.SyncCursor) (int64, error) {
	run, err := store.SyncRunStart(ctx, s.opts.Pool, store.SyncRunStartParams{
		TenantID: s.opts.TenantID, Connection: connection, Object: object, Kind: string(kind),
	})
	if err != nil {
		return 0, fmt.Errorf("syncer: %w", err)
	}
	return run.ID, nil
}

// finishRun records the outcome. It runs on a context that outlives a
// cancelled job, so an interrupted run is still recorded as failed.
func (s *Syncer) finishRun(ctx context.Context, connection, object string, res *Result, runErr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	state := "succeeded"
	var errText pgtype.Text
	if runErr != nil {
		state = "failed"
		errText = pgtype.Text{String: runErr.Error(), Valid: true}
	}
	var diffs pgtype.Int4
	if res.Kind == KindReconcile && runErr == nil {
		diffs = pgtype.Int4{Int32: int32(res.Differences), Valid: true}
	}
	if _, err := store.SyncRunFinish(ctx, s.opts.Pool, store.SyncRunFinishParams{State: state, Error: errText, Differences: diffs, ID: res.RunID}); err != nil {
		s.opts.Logger.ErrorContext(ctx, "syncer: recording run result", slog.String("error", err.Error()))
	}
	if runErr != nil {
		_ = store.SyncCursorFailed(ctx, s.opts.Pool, store.SyncCursorFailedParams{
			Error: errText, TenantID: s.opts.TenantID, Connection: connection, Object: object,
		})
		s.opts.Logger.WarnContext(ctx, "sync run failed", slog.String("connection", connection), slog.String("object", object),
			slog.String("kind", string(res.Kind)), slog.String("error", runErr.Error()))
	}
	s.opts.Metrics.run(connection, object, res.Kind, runErr)
}

// Refresh fetches one record and stores it, or tombstones it when the
// source says it is gone.
func (s *Syncer) Refresh(ctx context.Context, connection, object, id string) error {
	conn, obj, err := s.target(connection, object)
	if err != nil {
		return err
	}
	rec, err := conn.Get(ctx, object, id)
	if errors.Is(err, connectors.ErrNotFound) {
		_, err := store.Tombstone(ctx, s.opts.Pool, s.opts.TenantID, connection, obj.Name(), []string{id}, time.Time{})
		return err
	}
	if err != nil {
		return fmt.Errorf("syncer: refreshing %s %s %s: %w", connection, object, id, err)
	}
	row, err := MapRecord(obj, *rec)
	if err != nil {
		return err
	}
	key := s.cursorKey(connection, object)
	return pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		n, err := store.UpsertRows(ctx, tx, s.page(key, obj), []store.Row{row})
		if err != nil {
			return err
		}
		if n == 0 {
			if err := store.RecordTouch(ctx, tx, store.RecordTouchParams{
				TenantID: key.TenantID, Connection: connection, Object: obj.Name(), SourceID: row.SourceID,
			}); err != nil {
				return err
			}
		}
		if s.accounts[connection+"/"+object] {
			return s.storeXrefs(ctx, tx, key.TenantID, []store.Row{row})
		}
		return nil
	})
}

func (s *Syncer) cursor(ctx context.Context, connection, object string) (store.SyncCursor, error) {
	return store.SyncCursorEnsure(ctx, s.opts.Pool, s.cursorKey(connection, object))
}

// PurgeTombstones deletes records tombstoned before the given time.
func (s *Syncer) PurgeTombstones(ctx context.Context, before time.Time) (int64, error) {
	n, err := store.RecordPurgeTombstones(ctx, s.opts.Pool, pgtype.Timestamptz{Time: before, Valid: true})
	if err != nil {
		return 0, fmt.Errorf("syncer: purging tombstones: %w", err)
	}
	return n, nil
}

// WithProgress returns a Syncer that reports every stored page to f.
func (s *Syncer) WithProgress(f func(Progress)) *Syncer {
	cp := *s
	cp.opts.Progress = f
	return &cp
}

// WithPageSize returns a Syncer asking for n records per page.
func (s *Syncer) WithPageSize(n int) *Syncer {
	cp := *s
	cp.opts.PageSize = n
	return &cp
}

// prefetcher fetches and maps at most one page ahead of the caller, so
// the source, the mapping and the database work at the same time.
type prefetcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	conn   connectors.Connector
	mapper func(*connectors.Page) ([]store.Row, error)
	out    chan fetched
	busy   bool
}

type fetched struct {
	page *connectors.Page
	rows []store.Row
	err  error
}

func newPrefetcher(ctx context.Context, conn connectors.Connector, mapper func(*connectors.Page) ([]store.Row, error)) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	return &prefetcher{ctx: ctx, cancel: cancel, conn: conn, mapper: mapper, out: make(chan fetched, 1)}
}

func (p *prefetcher) fetch(req connectors.PullRequest) {
	p.busy = true
	go func() {
		page, err := p.conn.Pull(p.ctx, req)
		var rows []store.Row
		if err == nil {
			rows, err = p.mapper(page)
		}
		p.out <- fetched{page, rows, err}
	}()
}

func (p *prefetcher) next() fetched {
	f := <-p.out
	p.busy = false
	return f
}

// stop abandons a fetch in flight and waits for it to return.
func (p *prefetcher) stop() {
	p.cancel()
	if p.busy {
		<-p.out
		p.busy = false
	}
}

// analyzer refreshes the cache table's statistics while a sync fills it.
// PostgreSQL plans the page upserts from statistics (and caches the
// plans); autovacuum analyzes far too late for a bulk load, and plans
// made when the table was empty turn every page into table scans. So
// once the rows written since the last ANALYZE reach half of what it
// saw (at least 5,000), the syncer runs it. That is a logarithmic number
// of ANALYZEs for a load, each sampling a bounded number of rows.
type analyzer struct {
	mu        sync.Mutex
	written   int64
	base      int64
	analyzing bool
}

func (a *analyzer) wrote(ctx context.Context, pool *pgxpool.Pool, n int, logger *slog.Logger) {
	a.mu.Lock()
	a.written += int64(n)
	due := !a.analyzing && a.written >= max(5000, a.base/2)
	if due {
		a.analyzing = true
		a.base += a.written
		a.written = 0
	}
	a.mu.Unlock()
	if !due {
		return
	}
	if err := store.RecordAnalyze(ctx, pool); err != nil {
		logger.WarnContext(ctx, "syncer: analyzing the cache", slog.String("error", err.Error()))
	}
	a.mu.Lock()
	a.analyzing = false
	a.mu.Unlock()
}
