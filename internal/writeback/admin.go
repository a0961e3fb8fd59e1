package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// Retry sends a failed or conflicting action again. A conflict is retried
// over the source's current version: a person has looked at both and
// decided the customer's change stands. The step is audited in the same
// transaction.
func (s *Service) Retry(ctx context.Context, tenantID, id int64, ev audit.Event) (*Action, error) {
	return s.adminStep(ctx, tenantID, id, ev, "admin.action.retry", s.retry)
}

// Discard gives up on a failed or conflicting action: it becomes
// rejected and the cache shows the source's record without it.
func (s *Service) Discard(ctx context.Context, tenantID, id int64, ev audit.Event) (*Action, error) {
	return s.adminStep(ctx, tenantID, id, ev, "admin.action.discard", discard("Our staff withdrew this change."))
}

// Resolution is a customer's decision on a conflict.
type Resolution string

const (
	// KeepMine applies the customer's change over the source's current
	// version.
	KeepMine Resolution = "keep_mine"
	// KeepTheirs withdraws it: the source's record stands.
	KeepTheirs Resolution = "keep_theirs"
)

// Resolve settles a conflict the way the customer who sees it decides
// (invariant 6: conflicts are shown and resolved, never overwritten
// silently). Only a conflict can be resolved; the decision is audited in
// the same transaction.
func (s *Service) Resolve(ctx context.Context, tenantID, id int64, r Resolution, ev audit.Event) (*Action, error) {
	if r != KeepMine && r != KeepTheirs {
		return nil, fmt.Errorf("%w: resolution must be %s or %s", ErrInvalid, KeepMine, KeepTheirs)
	}
	return s.adminStep(ctx, tenantID, id, ev, "action.resolve."+string(r), func(ctx context.Context, tx pgx.Tx, a store.Action) error {
		if a.State != StateConflict {
			return fmt.Errorf("%w: only a conflict can be resolved; this action is %s", ErrState, a.State)
		}
		if r == KeepMine {
			return s.retry(ctx, tx, a)
		}
		return discard("You withdrew this change.")(ctx, tx, a)
	})
}

func (s *Service) retry(ctx context.Context, tx pgx.Tx, a store.Action) error {
	if a.State != StateFailed && a.State != StateConflict {
		return fmt.Errorf("%w: a %s action cannot be retried", ErrState, a.State)
	}
	expected := a.ExpectedVersion
	if a.State == StateConflict {
		var c Conflict
		if err := json.Unmarshal(a.Conflict, &c); err != nil {
			return fmt.Errorf("writeback: stored conflict: %w", err)
		}
		expected = c.CurrentVersion
	}
	if err := store.ActionRequeue(ctx, tx, store.ActionRequeueParams{ExpectedVersion: expected, ID: a.ID}); err != nil {
		return err
	}
	if err := s.reproject(ctx, tx, a); err != nil {
		return err
	}
	_, err := s.opts.Insert(ctx, tx, ApplyArgs{ActionID: a.ID}, nil)
	return err
}

// discard settles a failed or conflicting action as rejected with message.
func discard(message string) func(context.Context, pgx.Tx, store.Action) error {
	return func(ctx context.Context, tx pgx.Tx, a store.Action) error {
		if a.State != StateFailed && a.State != StateConflict {
			return fmt.Errorf("%w: a %s action cannot be discarded", ErrState, a.State)
		}
		var err error
		if a.State == StateConflict {
			// The cache already holds the source's current record.
			err = store.RecordClearPending(ctx, tx, store.RecordClearPendingParams{TenantID: a.TenantID, PendingActionID: pgtype.Int8{Int64: a.ID, Valid: true}})
		} else {
			err = undoProjection(ctx, tx, a)
		}
		if err != nil {
			return err
		}
		return store.ActionSettle(ctx, tx, store.ActionSettleParams{
			State: StateRejected, Message: pgtype.Text{String: message, Valid: true},
			ErrorDetail: a.ErrorDetail, Conflict: a.Conflict, ID: a.ID,
		})
	}
}

// reproject shows a retried action as pending again.
func (s *Service) reproject(ctx context.Context, tx pgx.Tx, a store.Action) error {
	if a.Op == string(mapping.OpUpdate) {
		return store.RecordMarkPending(ctx, tx, store.RecordMarkPendingParams{
			PendingActionID: pgtype.Int8{Int64: a.ID, Valid: true}, TenantID: a.TenantID, Connection: a.Connection,
			Object: a.Object, SourceID: a.Target,
		})
	}
	obj, ok := s.opts.Mappings.For(a.Connection, a.Object)
	if !ok {
		return fmt.Errorf("%w: the mapping of %s is gone", ErrState, a.Object)
	}
	var input map[string]any
	if err := json.Unmarshal(a.Input, &input); err != nil {
		return err
	}
	data, err := json.Marshal(mapping.Mapped{Object: obj.Name(), ID: a.Target, Fields: readable(obj, input), Hash: obj.Hash()})
	if err != nil {
		return err
	}
	return store.RecordInsertPending(ctx, tx, store.RecordInsertPendingParams{
		TenantID: a.TenantID, Connection: a.Connection, Object: a.Object, SourceID: a.Target, SourceObject: a.SourceObject,
		OwnerAccount: a.AccountID, OwnerContact: a.ContactID, Data: data, MappingHash: obj.Hash(),
		PendingActionID: pgtype.Int8{Int64: a.ID, Valid: true},
	})
}

func (s *Service) adminStep(ctx context.Context, tenantID, id int64, ev audit.Event, verb string, step func(context.Context, pgx.Tx, store.Action) error) (*Action, error) {
	var out store.Action
	err := pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		a, err := store.ActionGetForUpdate(ctx, tx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && a.TenantID != tenantID {
			return fmt.Errorf("%w: action %d", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		if err := step(ctx, tx, a); err != nil {
			return err
		}
		if out, err = store.ActionGet(ctx, tx, id); err != nil {
			return err
		}
		ev.TenantID, ev.Action, ev.Object, ev.ObjectID, ev.AccountID = tenantID, verb, "action", strconv.FormatInt(id, 10), a.AccountID
		ev.Before = map[string]any{"state": a.State, "expected_version": a.ExpectedVersion}
		ev.After = map[string]any{"state": out.State, "expected_version": out.ExpectedVersion}
		return audit.Record(ctx, tx, ev)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrState) {
			return nil, err
		}
		return nil, fmt.Errorf("writeback: %s %d: %w", verb, id, err)
	}
	if out.State == StateRejected {
		s.opts.Metrics.transition(out.Kind, StateRejected)
	}
	a := toAction(out)
	return &a, nil
}

// AdminRoutes serves /admin/actions for staff: the list by state, and
// retry or discard of one action. tenantID is the tenant the process serves.
func (s *Service) AdminRoutes(tenantID int64) chi.Router {
	r := chi.NewRouter()
	rp := reply.New(s.opts.Logger)
	r.Get("/", func(w http.ResponseWriter, req *http.Request) {
		states := []string{StateFailed, StateConflict}
		if v := req.URL.Query().Get("state"); v != "" {
			states = strings.Split(v, ",")
			for _, st := range states {
				switch st {
				case StatePending, StateSending, StateApplied, StateConflict, StateFailed, StateRejected:
				default:
					badParam(rp, w, req, "state", "unknown state "+strconv.Quote(st)+
						"; use failed, conflict, pending, sending, applied or rejected")
					return
				}
			}
		}
		var after int64
		if v := req.URL.Query().Get("after"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				badParam(rp, w, req, "after", "must be an action id")
				return
			}
			after = n
		}
		const limit = 200
		list, err := s.List(req.Context(), tenantID, states, after, limit)
		if err != nil {
			rp.Internal(w, req, fmt.Errorf("writeback: admin list: %w", err))
			return
		}
		body := map[string]any{"data": list}
		if len(list) == limit {
			body["next_after"] = list[len(list)-1].ID
		}
		rp.JSON(w, req, http.StatusOK, body)
	})
	step := func(f func(context.Context, int64, int64, audit.Event) (*Action, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			id, err := strconv.ParseInt(chi.URLParam(req, "id"), 10, 64)
			if err != nil {
				badParam(rp, w, req, "id", "must be an action id")
				return
			}
			ev := audit.Event{Actor: audit.ActorFrom(req.Context(), audit.TokenActor("admin"))}.WithRequest(req)
			a, err := f(req.Context(), tenantID, id, ev)
			switch {
			case errors.Is(err, ErrNotFound):
				rp.Error(w, req, http.StatusNotFound, "not_found", err.Error())
			case errors.Is(err, ErrState):
				rp.Error(w, req, http.StatusConflict, "conflict", err.Error())
			case err != nil:
				rp.Internal(w, req, err)
			default:
				rp.JSON(w, req, http.StatusOK, a)
			}
		}
	}
	r.Post("/{id}/retry", step(s.Retry))
	r.Post("/{id}/discard", step(s.Discard))
	return r
}

// badParam answers 400 naming the bad query or path parameter.
func badParam(rp reply.Replier, w http.ResponseWriter, req *http.Request, path, msg string) {
	rp.Error(w, req, http.StatusBadRequest, "invalid", path+": "+msg, reply.Field{Path: path, Message: msg})
}
