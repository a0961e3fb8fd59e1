package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
)

// ApplyArgs applies one action.
type ApplyArgs struct {
	ActionID int64 `json:"action_id"`
}

// Kind implements river.JobArgs.
func (ApplyArgs) Kind() string { return "writeback_apply" }

// InsertOpts: the writeback queue. Waits are snoozes, which River does not
// count as attempts; attempts are spent only by unexpected errors.
func (ApplyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueWriteback, MaxAttempts: 25}
}

// Register adds the write-back worker.
func Register(reg *jobs.Registry, s *Service) {
	river.AddWorker(reg.Workers, &Worker{Service: s})
}

// Worker works ApplyArgs.
type Worker struct {
	river.WorkerDefaults[ApplyArgs]
	Service *Service
}

// Timeout bounds one write with its read-back.
func (w *Worker) Timeout(*river.Job[ApplyArgs]) time.Duration { return w.Service.opts.JobTimeout }

// Work implements river.Worker.
func (w *Worker) Work(ctx context.Context, job *river.Job[ApplyArgs]) error {
	return w.Service.apply(ctx, job)
}

// genericFailure is what a customer reads when the source failed in a way
// its words cannot be shown for.
const genericFailure = "We could not apply this change. Our staff have been told and will look into it."

// apply applies the job's action. An error on the job's last attempt
// fails the action instead of leaving it open behind a discarded job.
func (s *Service) apply(ctx context.Context, job *river.Job[ApplyArgs]) error {
	err := s.applyOnce(ctx, job)
	var snooze *river.JobSnoozeError
	var cancel *river.JobCancelError
	if err == nil || errors.As(err, &snooze) || errors.As(err, &cancel) || ctx.Err() != nil || job.Attempt < job.MaxAttempts {
		return err
	}
	a, gerr := store.ActionGet(ctx, s.opts.Pool, job.Args.ActionID)
	if gerr != nil {
		return errors.Join(err, gerr)
	}
	return s.settle(ctx, a, StateFailed, genericFailure, "gave up after "+strconv.Itoa(job.Attempt)+" attempts: "+err.Error(), nil)
}

func (s *Service) applyOnce(ctx context.Context, job *river.Job[ApplyArgs]) error {
	row, err := store.ActionForApply(ctx, s.opts.Pool, job.Args.ActionID)
	a := row.Action
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("writeback: action %d does not exist", job.Args.ActionID))
	}
	if err != nil {
		return fmt.Errorf("writeback: loading action %d: %w", job.Args.ActionID, err)
	}
	if a.State != StatePending && a.State != StateSending {
		return nil // settled already (a duplicate job, or discarded by staff)
	}
	log := s.opts.Logger.With(slog.Int64("action", a.ID), slog.String("kind", a.Kind))
	conn, connOK := s.opts.Connectors[a.Connection]
	obj, objOK := s.opts.Mappings.For(a.Connection, a.Object)
	if !connOK || !objOK {
		return s.settle(ctx, a, StateFailed, genericFailure,
			fmt.Sprintf("connection %s or its mapping of %s is no longer configured", a.Connection, a.Object), nil)
	}
	if row.EarlierOpen {
		return river.JobSnooze(s.opts.OrderWait)
	}
	if s.opts.Health != nil && s.opts.Health.BreakerOpen(a.Connection) {
		s.note(ctx, a.ID, "waiting: the circuit breaker of "+a.Connection+" is open")
		return river.JobSnooze(s.backoff(job))
	}

	var input, refs map[string]any
	if err := json.Unmarshal(a.Input, &input); err != nil {
		return s.settle(ctx, a, StateFailed, genericFailure, "stored input: "+err.Error(), nil)
	}
	actor := mapping.Actor{AccountID: a.AccountID, ContactID: a.ContactID, Refs: map[string]string{}}
	if json.Unmarshal(a.ActorRefs, &refs) == nil {
		for k, v := range refs {
			actor.Refs[k] = fmt.Sprint(v)
		}
	}
	fields, err := obj.ToSource(mapping.Op(a.Op), mappingInput(Kind(a.Kind), input), actor)
	if err != nil {
		// The mapping changed since the action was accepted.
		var ve *mapping.ValidationError
		msg := genericFailure
		if errors.As(err, &ve) && len(ve.Fields) > 0 {
			msg = ve.Fields[0].Message
		}
		return s.settle(ctx, a, StateFailed, msg, err.Error(), nil)
	}
	wr := connectors.Write{
		Op: connectors.Op(a.Op), Object: a.SourceObject, Fields: fields,
		IdempotencyKey: SourceKey(a.TenantID, a.ID), ExpectedVersion: a.ExpectedVersion,
	}
	if a.Op == string(mapping.OpUpdate) {
		wr.ID = a.Target
	}
	if wr.File, err = s.file(ctx, a, input); err != nil {
		var refused *fileRefused
		if errors.As(err, &refused) {
			return s.settle(ctx, a, StateFailed, refused.msg, err.Error(), nil)
		}
		return err
	}
	if _, err := store.ActionMarkSending(ctx, s.opts.Pool, a.ID); err != nil {
		return fmt.Errorf("writeback: marking action %d sending: %w", a.ID, err)
	}
	res, err := conn.Write(ctx, wr)
	if err == nil {
		s.opts.Metrics.auth(a.Connection, false)
		return s.applied(ctx, job, a, obj, conn, res.ID, res.Record)
	}
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the job runs again, the key keeps it single
	}
	var (
		rl *connectors.RateLimitedError
		ce *connectors.ConflictError
		ie *connectors.InvalidError
	)
	switch {
	case errors.As(err, &rl):
		s.note(ctx, a.ID, "waiting: "+err.Error())
		return river.JobSnooze(max(rl.RetryAfter, time.Second))
	case errors.Is(err, connectors.ErrRateLimited), errors.Is(err, connectors.ErrUnavailable):
		s.note(ctx, a.ID, "waiting: "+err.Error())
		return river.JobSnooze(s.backoff(job))
	case errors.Is(err, connectors.ErrAuthExpired):
		// The connector already tried to re-authenticate and could not.
		s.opts.Metrics.auth(a.Connection, true)
		s.note(ctx, a.ID, "waiting: authentication to "+a.Connection+" failed and needs an operator: "+err.Error())
		log.WarnContext(ctx, "write-back waits for re-authentication", slog.String("connection", a.Connection), slog.String("error", err.Error()))
		return river.JobSnooze(s.opts.AuthWait)
	case errors.As(err, &ce):
		return s.conflict(ctx, job, a, obj, conn, input, ce)
	case errors.As(err, &ie):
		msg := ie.Msg
		if msg == "" {
			msg = genericFailure
		}
		return s.settle(ctx, a, StateFailed, msg, err.Error(), nil)
	case errors.Is(err, connectors.ErrNotFound):
		return s.settle(ctx, a, StateFailed, "The record no longer exists.", err.Error(), nil)
	case errors.Is(err, connectors.ErrPermanent):
		return s.settle(ctx, a, StateFailed, genericFailure, err.Error(), nil)
	}
	s.note(ctx, a.ID, "retrying: "+err.Error())
	return fmt.Errorf("writeback: action %d: %w", a.ID, err)
}

// backoff grows with the job's snoozes: 1s, 2s, 4s, ... up to MaxWait.
func (s *Service) backoff(job *river.Job[ApplyArgs]) time.Duration {
	var meta struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(job.Metadata, &meta)
	d := time.Second << min(meta.Snoozes, 10)
	return min(d, s.opts.MaxWait)
}

// note records why an action waits, outside any transaction: it is for
// the admin view and must not fail the job.
func (s *Service) note(ctx context.Context, id int64, detail string) {
	if err := store.ActionNote(ctx, s.opts.Pool, store.ActionNoteParams{
		ErrorDetail: pgtype.Text{String: detail, Valid: true}, ID: id,
	}); err != nil {
		s.opts.Logger.WarnContext(ctx, "writeback: noting a wait", slog.Int64("action", id), slog.String("error", err.Error()))
	}
}

// applied stores the source's authoritative record in place of the
// pending projection and marks the action applied, in one transaction.
// River completes the job once this returns (the settled action makes a
// rerun a no-op), in its batches rather than one statement a job here.
func (s *Service) applied(ctx context.Context, job *river.Job[ApplyArgs], a store.Action, obj *mapping.Object, conn connectors.Connector, id string, rec *connectors.Record) error {
	if rec == nil {
		// The write is done but its read-back was lost: fetch it. If that
		// fails too, the job runs again and the key makes the write a replay.
		got, err := conn.Get(ctx, a.SourceObject, id)
		if err != nil {
			s.note(ctx, a.ID, "applied at the source; reading it back failed: "+err.Error())
			if errors.Is(err, connectors.ErrUnavailable) || errors.Is(err, connectors.ErrRateLimited) {
				return river.JobSnooze(s.backoff(job))
			}
			return fmt.Errorf("writeback: reading back %s %s: %w", a.SourceObject, id, err)
		}
		rec = got
	}
	row, err := syncer.MapRecord(obj, *rec)
	if err != nil {
		return fmt.Errorf("writeback: %w", err)
	}
	if row.OwnerAccount == "" && row.OwnerRefKey == "" && row.OwnerParentID == "" {
		// The mapping names no owner: the acting account owns what it
		// created until a sync says otherwise.
		row.OwnerAccount = a.AccountID
	}
	err = pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		cur, err := store.ActionGetForUpdate(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if cur.State != StatePending && cur.State != StateSending {
			return nil // discarded meanwhile; the source has it, the next sync brings it
		}
		// One round trip for the statements that return nothing, the
		// record among them, then the job.
		p := store.NewPipeline(tx)
		if a.Op == string(mapping.OpCreate) {
			// The provisional record, the only one naming the action, goes;
			// the source's record comes under its own id.
			if err := store.RecordDeleteProvisional(ctx, p, store.RecordDeleteProvisionalParams{
				TenantID: a.TenantID, Connection: a.Connection, Object: a.Object, SourceID: a.Target,
			}); err != nil {
				return err
			}
		} else {
			if err := store.RecordClearPending(ctx, p, store.RecordClearPendingParams{
				TenantID: a.TenantID, PendingActionID: pgtype.Int8{Int64: a.ID, Valid: true},
			}); err != nil {
				return err
			}
			if err := store.ActionRebase(ctx, p, store.ActionRebaseParams{
				NewVersion: row.Version, TenantID: a.TenantID, Connection: a.Connection, Object: a.Object,
				Target: a.Target, ID: a.ID, OldVersion: a.ExpectedVersion,
			}); err != nil {
				return err
			}
		}
		if err := store.ActionApplied(ctx, p, store.ActionAppliedParams{
			ResultID: pgtype.Text{String: row.SourceID, Valid: true}, ResultVersion: pgtype.Text{String: row.Version, Valid: true}, ID: a.ID,
		}); err != nil {
			return err
		}
		if err := auditResult(ctx, p, a, StateApplied, map[string]any{"source_id": row.SourceID, "version": row.Version}); err != nil {
			return err
		}
		if a.Kind == string(KindAttachFile) {
			if err := store.FileSourceConfirmed(ctx, p, store.FileSourceConfirmedParams{
				ActionID: pgtype.Int8{Int64: a.ID, Valid: true}, SourceID: pgtype.Text{String: row.SourceID, Valid: true},
				SourceVersion: pgtype.Text{String: row.Version, Valid: true},
			}); err != nil {
				return err
			}
		}
		if err := s.storeRecord(ctx, p, a, obj, row); err != nil {
			return err
		}
		return p.Flush(ctx)
	})
	if err != nil {
		return fmt.Errorf("writeback: storing applied action %d: %w", a.ID, err)
	}
	s.opts.Metrics.applied(a.Kind, a.CreatedAt.Time)
	return nil
}

// storeRecord writes the source's record into the cache even when its
// version equals the cached one (the cached data shows a pending change),
// then hands its owner to children that arrived first, under sync's owner
// locks. A create's record is new under the id the source gave it, and
// shows no pending change.
func (s *Service) storeRecord(ctx context.Context, p *store.Pipeline, a store.Action, obj *mapping.Object, row store.Row) error {
	return store.StoreApplied(ctx, p, store.Page{
		TenantID: a.TenantID, Connection: a.Connection, Object: obj.Name(), SourceObject: obj.SourceObject(), MappingHash: obj.Hash(),
		Childless: !s.opts.Mappings.OwnsThrough(a.Connection, obj.Name()),
	}, row)
}

// conflict holds a stale write for resolution. A write whose earlier
// attempt did land (its answer was lost) also comes back stale, against
// the version it produced itself: when the source already holds exactly
// the customer's change, the action is applied.
func (s *Service) conflict(ctx context.Context, job *river.Job[ApplyArgs], a store.Action, obj *mapping.Object, conn connectors.Connector, input map[string]any, ce *connectors.ConflictError) error {
	if a.Op != string(mapping.OpUpdate) {
		// A create has no version to be stale against: the source refused it.
		return s.settle(ctx, a, StateFailed, genericFailure, ce.Error(), nil)
	}
	cur, err := conn.Get(ctx, a.SourceObject, a.Target)
	if err != nil {
		s.note(ctx, a.ID, "conflict; reading the current record failed: "+err.Error())
		if errors.Is(err, connectors.ErrUnavailable) || errors.Is(err, connectors.ErrRateLimited) {
			return river.JobSnooze(s.backoff(job))
		}
		return fmt.Errorf("writeback: reading the conflicting %s %s: %w", a.SourceObject, a.Target, err)
	}
	m, err := obj.ToPortal(cur.Raw)
	if err != nil {
		return s.settle(ctx, a, StateFailed, genericFailure, "mapping the current record: "+err.Error(), nil)
	}
	if a.Attempts > 0 && holds(m.Fields, input) {
		return s.applied(ctx, job, a, obj, conn, cur.ID, cur)
	}
	row, err := syncer.MapRecord(obj, *cur)
	if err != nil {
		return fmt.Errorf("writeback: %w", err)
	}
	c, err := json.Marshal(Conflict{Yours: input, Current: m.Fields, CurrentVersion: cur.Version})
	if err != nil {
		return err
	}
	msg := "Someone changed this record after you opened it. Review the current values and submit your change again."
	return s.settle(ctx, a, StateConflict, msg, ce.Error(), func(p *store.Pipeline) error {
		// The cache takes the source's current record; the record keeps
		// naming the action, which shows it in conflict.
		if err := s.storeRecord(ctx, p, a, obj, row); err != nil {
			return err
		}
		return store.RecordMarkPending(ctx, p, store.RecordMarkPendingParams{
			PendingActionID: pgtype.Int8{Int64: a.ID, Valid: true}, TenantID: a.TenantID, Connection: a.Connection,
			Object: a.Object, SourceID: a.Target,
		})
	}, c)
}

// holds reports whether every input field already has the input's value.
func holds(fields, input map[string]any) bool {
	for k, v := range input {
		want, _ := json.Marshal(v)
		got, _ := json.Marshal(fields[k])
		if string(want) != string(got) {
			return false
		}
	}
	return true
}

// settle ends an action as conflict or failed, undoing its pending
// projection unless extra handles the record, in one transaction.
func (s *Service) settle(ctx context.Context, a store.Action, state, msg, detail string, extra func(*store.Pipeline) error, conflict ...[]byte) error {
	err := pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		cur, err := store.ActionGetForUpdate(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if cur.State != StatePending && cur.State != StateSending {
			return nil
		}
		p := store.NewPipeline(tx)
		if extra != nil {
			err = extra(p)
		} else {
			err = undoProjection(ctx, p, a)
		}
		if err != nil {
			return err
		}
		sp := store.ActionSettleParams{
			State: state, Message: pgtype.Text{String: msg, Valid: msg != ""},
			ErrorDetail: pgtype.Text{String: detail, Valid: detail != ""}, ID: a.ID,
		}
		if len(conflict) > 0 {
			sp.Conflict = conflict[0]
		}
		if err := store.ActionSettle(ctx, p, sp); err != nil {
			return err
		}
		if err := auditResult(ctx, p, a, state, map[string]any{"message": msg}); err != nil {
			return err
		}
		return p.Flush(ctx)
	})
	if err != nil {
		return fmt.Errorf("writeback: settling action %d as %s: %w", a.ID, state, err)
	}
	s.opts.Metrics.transition(a.Kind, state)
	s.opts.Logger.InfoContext(ctx, "action settled", slog.Int64("action", a.ID), slog.String("state", state), slog.String("detail", detail))
	return nil
}

// undoProjection removes a failed create's provisional record, or puts
// back the data an update's record had before.
func undoProjection(ctx context.Context, tx store.DBTX, a store.Action) error {
	if a.Op == string(mapping.OpCreate) {
		return store.RecordDeleteProvisional(ctx, tx, store.RecordDeleteProvisionalParams{
			TenantID: a.TenantID, Connection: a.Connection, Object: a.Object, SourceID: a.Target,
		})
	}
	if len(a.PriorData) == 0 {
		return store.RecordClearPending(ctx, tx, store.RecordClearPendingParams{TenantID: a.TenantID, PendingActionID: pgtype.Int8{Int64: a.ID, Valid: true}})
	}
	return store.RecordRestorePrior(ctx, tx, store.RecordRestorePriorParams{
		Data: a.PriorData, TenantID: a.TenantID, PendingActionID: pgtype.Int8{Int64: a.ID, Valid: true},
	})
}

// auditResult records a write-back outcome in the transaction that
// settles the action (invariant 7: every write-back result is audited).
func auditResult(ctx context.Context, tx store.DBTX, a store.Action, state string, after map[string]any) error {
	after["action_id"] = a.ID
	after["kind"] = a.Kind
	return audit.Record(ctx, tx, audit.Event{
		TenantID: a.TenantID, Actor: audit.SystemActor(), AccountID: a.AccountID,
		Action: "action." + state, Object: a.Object, ObjectID: a.Target, After: after,
		Subject: audit.UserIDSubject(a.UserID), // the result quotes the requester's input
	})
}
