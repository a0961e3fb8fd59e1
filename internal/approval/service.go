package approval

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/store"
)

// DB is where states are kept: a pool.
type DB interface {
	store.DBTX
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Service stores and audits requests' transitions and signatures.
type Service struct {
	db  DB
	now func() time.Time
}

// New builds a Service; now nil is time.Now.
func New(db DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// Request names one approval request: a record of a portal object, and
// the account it belongs to (for the audit log).
type Request struct {
	TenantID                     int64
	Connection, Object, RecordID string
	AccountID                    string
}

// Status is a request's stored state with who opened and decided it.
type Status struct {
	State     State
	ViewedAt  *time.Time
	ViewedBy  string
	DecidedAt *time.Time
	DecidedBy string
}

// Observe brings the stored state in line with what the source says
// (presented, decided, expired, withdrawn; those transitions are the
// system's) and then applies the customer's own event, if any: EventView
// when they open it, EventApprove or EventReject when they decide. actor
// is the customer; r, when not nil, gives the audit its address and user
// agent. A customer event the state does not take is ErrTransition, and
// then nothing changes, not even what the source demanded.
func (s *Service) Observe(ctx context.Context, req Request, src Source, actor audit.Actor, r *http.Request, ev Event) (Status, error) {
	var out Status
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		row, err := store.ApprovalStateLock(ctx, tx, store.ApprovalStateLockParams{
			TenantID: req.TenantID, Connection: req.Connection, Object: req.Object, RecordID: req.RecordID})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		cur := toStatus(row)
		now := s.now()
		type step struct {
			e     Event
			actor audit.Actor
		}
		var steps []step
		after := cur.State
		for _, e := range src.events(cur.State, now) {
			steps = append(steps, step{e, audit.SystemActor()})
			after, _ = Next(after, e)
		}
		if ev == EventView && after != Requested {
			ev = "" // opening it again, or a decided one, changes nothing
		}
		if ev != "" {
			steps = append(steps, step{ev, actor})
		}
		if len(steps) == 0 {
			out = cur
			return nil
		}
		for _, st := range steps {
			next, err := Next(cur.State, st.e)
			if err != nil {
				return err
			}
			e := audit.Event{TenantID: req.TenantID, Actor: st.actor, AccountID: req.AccountID,
				Action: "approval." + string(st.e), Object: req.Object, ObjectID: req.RecordID,
				Before: map[string]any{"state": cur.State}, After: map[string]any{"state": next}}
			if r != nil && st.actor.Kind != audit.KindSystem {
				e = e.WithRequest(r)
			}
			if err := audit.Record(ctx, tx, e); err != nil {
				return err
			}
			switch {
			case st.e == EventView:
				cur.ViewedAt, cur.ViewedBy = &now, st.actor.ID
			case st.e == EventApprove || st.e == EventReject:
				cur.DecidedAt, cur.DecidedBy = &now, st.actor.String()
			case st.e == EventRequest:
				cur.ViewedAt, cur.ViewedBy, cur.DecidedAt, cur.DecidedBy = nil, "", nil, ""
			}
			cur.State = next
		}
		out = cur
		return store.ApprovalStatePut(ctx, tx, store.ApprovalStatePutParams{
			TenantID: req.TenantID, Connection: req.Connection, Object: req.Object, RecordID: req.RecordID,
			State: string(cur.State), ViewedAt: tsPtr(cur.ViewedAt), ViewedBy: text(cur.ViewedBy),
			DecidedAt: tsPtr(cur.DecidedAt), DecidedBy: text(cur.DecidedBy), UpdatedAt: ts(now)})
	})
	if err != nil {
		return Status{}, fmt.Errorf("approval: %w", err)
	}
	return out, nil
}

func toStatus(r store.ApprovalState) Status {
	st := Status{State: State(r.State), ViewedBy: r.ViewedBy.String, DecidedBy: r.DecidedBy.String}
	if r.ViewedAt.Valid {
		t := r.ViewedAt.Time
		st.ViewedAt = &t
	}
	if r.DecidedAt.Valid {
		t := r.DecidedAt.Time
		st.DecidedAt = &t
	}
	return st
}

// Get reads a request's stored state without changing it; State is ""
// before its first observation.
func (s *Service) Get(ctx context.Context, req Request) (Status, error) {
	row, err := store.ApprovalStateGet(ctx, s.db, store.ApprovalStateGetParams{
		TenantID: req.TenantID, Connection: req.Connection, Object: req.Object, RecordID: req.RecordID})
	if errors.Is(err, store.ErrNotFound) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("approval: %w", err)
	}
	return toStatus(row), nil
}

// Current reads a request's stored state brought in line with what src
// says now (as Observe would, by the service's clock) without recording
// it. Times stored for a state the source has since moved on from are
// left out.
func (s *Service) Current(ctx context.Context, req Request, src Source) (Status, error) {
	st, err := s.Get(ctx, req)
	if err != nil {
		return Status{}, err
	}
	now := src.Settle(st.State, s.now())
	if now != st.State {
		st.DecidedAt, st.DecidedBy = nil, ""
		if now == Requested {
			st.ViewedAt, st.ViewedBy = nil, ""
		}
		st.State = now
	}
	return st, nil
}

// SignedFile is the stored file of a request's latest signature (the
// sealed PDF) and when it was signed.
type SignedFile struct {
	FileID   int64
	SignedAt time.Time
}

// LastSignature returns a request's latest signature; nil when it has none.
func (s *Service) LastSignature(ctx context.Context, req Request) (*SignedFile, error) {
	rows, err := store.SignatureListByRecord(ctx, s.db, store.SignatureListByRecordParams{
		TenantID: req.TenantID, Connection: req.Connection, Object: req.Object, RecordID: req.RecordID})
	if err != nil {
		return nil, fmt.Errorf("approval: signatures: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &SignedFile{FileID: rows[0].FileID, SignedAt: rows[0].SignedAt.Time}, nil
}

// Signature is a sealed signature to keep: the request, the stored file
// holding the sealed PDF, and the evidence.
type Signature struct {
	Request
	FileID         int64
	SignerUserID   string
	DocumentSHA256 []byte
	SealedSHA256   []byte
	ConsentVersion string
	SignedAt       time.Time
	Evidence       any // as sealed into the PDF
}

// RecordSignature keeps a signature and audits it by id and hashes only
// (the evidence's personal data stays out of the audit log).
func (s *Service) RecordSignature(ctx context.Context, sig Signature, actor audit.Actor, r *http.Request) (int64, error) {
	evidence, err := json.Marshal(sig.Evidence)
	if err != nil {
		return 0, fmt.Errorf("approval: evidence: %w", err)
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		id, err = store.SignatureInsert(ctx, tx, store.SignatureInsertParams{
			TenantID: sig.TenantID, Connection: sig.Connection, Object: sig.Object, RecordID: sig.RecordID,
			FileID: sig.FileID, SignerUserID: sig.SignerUserID, DocumentSha256: sig.DocumentSHA256,
			SealedSha256: sig.SealedSHA256, ConsentVersion: sig.ConsentVersion, Evidence: evidence, SignedAt: ts(sig.SignedAt)})
		if err != nil {
			return err
		}
		e := audit.Event{TenantID: sig.TenantID, Actor: actor, AccountID: sig.AccountID, Action: "approval.signed",
			Object: sig.Object, ObjectID: sig.RecordID, After: map[string]any{
				"signature_id": id, "file_id": sig.FileID, "consent_version": sig.ConsentVersion,
				"document_sha256": hex.EncodeToString(sig.DocumentSHA256), "sealed_sha256": hex.EncodeToString(sig.SealedSHA256)}}
		if r != nil {
			e = e.WithRequest(r)
		}
		return audit.Record(ctx, tx, e)
	})
	if err != nil {
		return 0, fmt.Errorf("approval: signature: %w", err)
	}
	return id, nil
}

func ts(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: true} }

func tsPtr(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return ts(*t)
}

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// Reconcile brings up to max stored requests in line with what the cache
// now says of their records, as the system: a quote staff took back to
// draft or deleted is withdrawn, one presented again is requested, one
// past its expiry date undecided is expired, one decided at the source is
// approved or rejected. It returns how many changed.
func (s *Service) Reconcile(ctx context.Context, max int) (int, error) {
	rows, err := store.ApprovalStatesToReconcile(ctx, s.db, int32(max))
	if err != nil {
		return 0, fmt.Errorf("approval: reconcile: %w", err)
	}
	changed := 0
	for _, r := range rows {
		src := Source{Status: r.RecordStatus, Visible: !r.Gone}
		if len(r.ExpiresOn) >= 10 {
			src.ExpiresOn, _ = time.Parse("2006-01-02", r.ExpiresOn[:10])
		}
		if len(src.events(State(r.State), s.now())) == 0 {
			continue
		}
		req := Request{TenantID: r.TenantID, Connection: r.Connection, Object: r.Object, RecordID: r.RecordID, AccountID: r.OwnerAccount}
		if _, err := s.Observe(ctx, req, src, audit.SystemActor(), nil, ""); err != nil {
			return changed, err
		}
		changed++
	}
	return changed, nil
}

// ReconcileArgs is the periodic job that runs Reconcile.
type ReconcileArgs struct{}

// Kind implements river.JobArgs.
func (ReconcileArgs) Kind() string { return "approval_reconcile" }

// InsertOpts: one at a time, on the default queue.
func (ReconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDefault, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// ReconcileWorker works ReconcileArgs.
type ReconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	Service *Service
}

// reconcileBatch bounds one run; the next run takes the rest (oldest
// updated first).
const reconcileBatch = 1000

// Work implements river.Worker.
func (w *ReconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	_, err := w.Service.Reconcile(ctx, reconcileBatch)
	return err
}

// Register adds the reconciling worker and runs it every interval.
func Register(reg *jobs.Registry, s *Service, interval time.Duration) {
	river.AddWorker(reg.Workers, &ReconcileWorker{Service: s})
	reg.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
		&river.PeriodicJobOpts{ID: "approval_reconcile"}))
}
