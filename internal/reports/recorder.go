package reports

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/store"
)

// Event kinds a Recorder takes (portal_event.kind).
const (
	SignIn              = "sign_in"
	KnowledgeView       = "knowledge_view"
	StatusLookup        = "status_lookup"
	NotificationSent    = "notification_sent"
	NotificationOpened  = "notification_opened"
	NotificationClicked = "notification_clicked"
)

// Event is one portal event.
type Event struct {
	Kind      string
	UserID    int64  // auth_user id; 0 for none
	AccountID string // the CRM account; empty for staff
	Object    string // portal object, or "notification"
	Subject   string // record, article or notification id
	At        time.Time
}

// Recorder writes portal events in batches, off the request path: Record
// only queues (it never waits on the database), and one goroutine inserts
// what has queued with a single statement every FlushInterval or once
// BatchSize events wait. When the queue is full an event is dropped and
// counted (Dropped): a report figure may then be short, a request is
// never slowed. A nil *Recorder records nothing.
type Recorder struct {
	db     store.DBTX
	tenant int64
	log    *slog.Logger
	queue  chan Event
	flush  chan chan struct{}

	dropped atomic.Int64
}

// Recorder defaults.
const (
	QueueSize     = 4096
	BatchSize     = 256
	FlushInterval = time.Second
)

// NewRecorder returns a recorder of tenant's events into db; Run it.
func NewRecorder(db store.DBTX, tenant int64, log *slog.Logger) *Recorder {
	return &Recorder{db: db, tenant: tenant, log: log, queue: make(chan Event, QueueSize), flush: make(chan chan struct{})}
}

// Record queues e; it returns at once.
func (r *Recorder) Record(e Event) {
	if r == nil {
		return
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	select {
	case r.queue <- e:
	default:
		r.dropped.Add(1)
	}
}

// Dropped is how many events a full queue refused.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Flush waits until every event queued before it is written, or ctx ends.
func (r *Recorder) Flush(ctx context.Context) {
	done := make(chan struct{})
	select {
	case r.flush <- done:
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Run writes queued events until ctx ends, then writes what is left.
func (r *Recorder) Run(ctx context.Context) {
	tick := time.NewTicker(FlushInterval)
	defer tick.Stop()
	batch := make([]Event, 0, BatchSize)
	write := func(ctx context.Context) {
		for len(batch) < cap(batch) {
			select {
			case e := <-r.queue:
				batch = append(batch, e)
				continue
			default:
			}
			break
		}
		if len(batch) == 0 {
			return
		}
		if err := r.insert(ctx, batch); err != nil {
			r.log.WarnContext(ctx, "recording portal events", slog.Int("events", len(batch)), slog.String("error", err.Error()))
		}
		batch = batch[:0]
	}
	for {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
			if len(batch) == cap(batch) {
				write(ctx)
			}
		case <-tick.C:
			write(ctx)
		case done := <-r.flush:
			for len(r.queue) > 0 || len(batch) > 0 {
				write(ctx)
			}
			close(done)
		case <-ctx.Done():
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			for len(r.queue) > 0 || len(batch) > 0 {
				write(wctx)
			}
			cancel()
			return
		}
	}
}

func (r *Recorder) insert(ctx context.Context, batch []Event) error {
	p := store.PortalEventInsertParams{TenantID: r.tenant}
	for _, e := range batch {
		p.Kinds = append(p.Kinds, e.Kind)
		p.UserIds = append(p.UserIds, e.UserID)
		p.AccountIds = append(p.AccountIds, e.AccountID)
		p.Objects = append(p.Objects, e.Object)
		p.Subjects = append(p.Subjects, e.Subject)
		p.Ats = append(p.Ats, pgtype.Timestamptz{Time: e.At, Valid: true})
	}
	return store.PortalEventInsert(ctx, r.db, p)
}
