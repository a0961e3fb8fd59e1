package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/mapping"
)

// Actions is the write-back service as the API uses it: it accepts a
// customer action (validated against the mapping's intake schema, stored
// with its job in one transaction) and reports its state.
type Actions interface {
	Submit(ctx context.Context, s Submission) (*Action, error)
	// Get returns an action the scope may see, or ErrActionNotFound.
	Get(ctx context.Context, scope access.Scope, id string) (*Action, error)
}

// PendingLister is the optional ability to say which records have an
// action on its way to the source.
type PendingLister interface {
	Pending(ctx context.Context, scope access.Scope, object string, ids []string) (map[string]ActionRef, error)
}

// ErrActionNotFound is a missing or foreign action.
var ErrActionNotFound = errors.New("api: action not found")

// Submission is one customer action.
type Submission struct {
	Principal *auth.Principal
	Scope     access.Scope
	Object    string
	Op        mapping.Op
	// RecordID is the record an update changes; empty for creates.
	RecordID string
	Input    map[string]any
	// IdempotencyKey, when the client sent one, makes a retried request
	// return the first request's action instead of a second one.
	IdempotencyKey string
}

// Action is a customer action and where it stands.
type Action struct {
	ID       string     `json:"id"`
	Object   string     `json:"object"`
	Op       string     `json:"op"`
	RecordID *string    `json:"record_id"`
	State    string     `json:"state"`
	Error    *string    `json:"error"`
	Created  time.Time  `json:"created_at"`
	Updated  time.Time  `json:"updated_at"`
	Applied  *time.Time `json:"applied_at"`
	Input    any        `json:"input"`
	SourceID *string    `json:"source_id"`
}

// ActionRef is the short form of an action on a record.
type ActionRef struct {
	ID    string `json:"id"`
	Op    string `json:"op"`
	State string `json:"state"`
}

const maxIdempotencyKey = 200

// submit hands an action to the write-back service and answers 202 with
// it, 422 with the mapping's field errors, or 503 when writes are off.
func (a *API) submit(w http.ResponseWriter, r *http.Request, s Submission) {
	if a.d.Actions == nil {
		a.rp.error(w, http.StatusServiceUnavailable, "writes_unavailable", "this server does not accept writes", nil)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		a.rp.invalid(w, []FieldError{{Path: "header.Idempotency-Key", Message: "must be at most 200 visible ASCII characters"}})
		return
	}
	s.Principal, s.Scope, s.IdempotencyKey = auth.PrincipalFrom(r.Context()), scopeFrom(r.Context()), key
	act, err := a.d.Actions.Submit(r.Context(), s)
	var ve *mapping.ValidationError
	switch {
	case errors.As(err, &ve):
		fields := make([]FieldError, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = FieldError{Path: f.Path, Message: f.Message}
		}
		a.rp.invalid(w, fields)
		return
	case errors.Is(err, ErrActionNotFound):
		a.rp.notFound(w)
		return
	case err != nil:
		a.rp.internal(w, r, err)
		return
	}
	a.audit(r, audit.Event{Action: s.Object + "." + string(s.Op) + "_requested", Object: "action", ObjectID: act.ID, After: s.Input})
	w.Header().Set("Location", "/api/v1/actions/"+act.ID)
	a.rp.json(w, http.StatusAccepted, act)
}

// action answers GET /actions/{id}.
func (a *API) action(w http.ResponseWriter, r *http.Request) {
	if a.d.Actions == nil {
		a.rp.notFound(w)
		return
	}
	act, err := a.d.Actions.Get(r.Context(), scopeFrom(r.Context()), chi.URLParam(r, "id"))
	if errors.Is(err, ErrActionNotFound) {
		a.rp.notFound(w)
		return
	}
	if err != nil {
		a.rp.internal(w, r, err)
		return
	}
	a.rp.get(w, r, act)
}

// audit records a change the API made, with who and from where. A failed
// audit append is logged, not hidden: the action itself is already
// committed by the write-back service.
func (a *API) audit(r *http.Request, e audit.Event) {
	if a.d.Audit == nil {
		return
	}
	p := auth.PrincipalFrom(r.Context())
	e.TenantID, e.AccountID = p.TenantID, p.AccountID
	e.Actor = actorOf(p)
	if err := a.d.Audit.Record(r.Context(), e.WithRequest(r)); err != nil {
		a.d.Logger.ErrorContext(r.Context(), "api: audit", slog.String("action", e.Action), slog.String("error", err.Error()))
	}
}

func actorOf(p *auth.Principal) audit.Actor {
	id := strconvI(p.UserID)
	switch {
	case p.ViaToken():
		return audit.TokenActor(strconvI(p.TokenID))
	case p.Staff:
		return audit.StaffActor(id)
	default:
		return audit.UserActor(id)
	}
}
