package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
)

// Actions is the write-back service as the API uses it: it accepts a
// customer action (validated against the mapping's intake schema, stored
// with its job in one transaction) and reports its state.
type Actions interface {
	// Submit returns the action and whether this call created it (false
	// for a retry with the same idempotency key).
	Submit(ctx context.Context, s Submission) (*Action, bool, error)
	// Get returns an action the scope may see, or ErrActionNotFound.
	Get(ctx context.Context, scope access.Scope, id string) (*Action, error)
	// Resolve settles a conflict as the customer decides ("keep_mine" or
	// "keep_theirs"). ErrActionNotFound outside the scope, ErrForbidden
	// for someone else's action (unless an account admin), ErrNotPossible
	// when the action is not a conflict.
	Resolve(ctx context.Context, p *auth.Principal, scope access.Scope, id, resolution string, ev audit.Event) (*Action, error)
	// Mine returns the principal's own actions in states, newest first,
	// at most limit, leaving out those the scope no longer sees.
	Mine(ctx context.Context, p *auth.Principal, scope access.Scope, states []string, limit int) ([]Action, error)
}

// Errors an Actions implementation returns besides *mapping.ValidationError.
var (
	// ErrActionNotFound is a missing or foreign action or target record.
	ErrActionNotFound = errors.New("api: action not found")
	// ErrForbidden is an action the user's roles do not allow.
	ErrForbidden = errors.New("api: not allowed")
	// ErrKeyReused is an Idempotency-Key already used for another action.
	ErrKeyReused = errors.New("api: idempotency key already used for a different action")
	// ErrNotOffered is a write this installation does not offer.
	ErrNotOffered = errors.New("api: not offered")
	// ErrNotPossible is a write the record's state does not allow now.
	ErrNotPossible = errors.New("api: not possible now")
)

// Submission is one customer action.
type Submission struct {
	Principal *auth.Principal
	Scope     access.Scope
	Object    string
	Op        mapping.Op
	// RecordID is the record an update changes; empty for creates.
	RecordID string
	// Connection and ParentObject place a file: the system holding the
	// record it is attached to, and that record's object.
	Connection   string
	ParentObject string
	Input        map[string]any
	// IdempotencyKey, when the client sent one, makes a retried request
	// return the first request's action instead of a second one.
	IdempotencyKey string
	// Audit is recorded with the action, in its transaction.
	Audit audit.Event
}

// Action is a customer action and where it stands, as the customer may
// see it.
type Action struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Object string `json:"object"`
	// Target is the record acted on: its id, or "pending:<id>" for a
	// create the source has not assigned an id to yet.
	Target   string         `json:"target"`
	State    string         `json:"state"` // pending, sending, applied, conflict, failed, rejected
	Message  *string        `json:"message"`
	Conflict map[string]any `json:"conflict"`
	ResultID *string        `json:"result_id"`
	Input    map[string]any `json:"input"`
	Created  time.Time      `json:"created_at"`
	Updated  time.Time      `json:"updated_at"`
	Applied  *time.Time     `json:"applied_at"`
}

// ActionRef is the short form of an action on a record.
type ActionRef struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	State string `json:"state"`
}

const maxIdempotencyKey = 200

// submit hands an action to the write-back service and answers 202 with
// it, 422 with the mapping's field errors, or 503 when writes are off.
func (a *API) submit(w http.ResponseWriter, r *http.Request, s Submission) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		a.rp.Invalid(w, r, reply.Field{Path: "header.Idempotency-Key", Message: "must be at most 200 visible ASCII characters"})
		return
	}
	s.IdempotencyKey = key
	act, created, e := a.Submit(r, s)
	if e != nil {
		if e.Status == http.StatusUnprocessableEntity && len(e.Fields) == 1 && e.Fields[0].Path == "idempotency_key" {
			e.Fields[0].Path = "header.Idempotency-Key"
		}
		a.fail(w, r, e)
		return
	}
	if !created {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/api/v1/actions/"+act.ID)
	a.rp.JSON(w, r, http.StatusAccepted, act)
}

// fail answers e; a 500 for a client that has gone is not an error.
func (a *API) fail(w http.ResponseWriter, r *http.Request, e *reply.Error) {
	if e.Status == http.StatusInternalServerError && e.Cause != nil {
		a.rp.Internal(w, r, e.Cause)
		return
	}
	a.rp.Fail(w, r, e)
}

// Submit hands a customer action to the write-back service, as the
// request's principal under its scope (WithScope), and returns it with
// whether this call created it. A refusal is a *reply.Error: 422 with the
// mapping's field errors, 404 for a missing or foreign record, 403, 409,
// 501, 503 when writes are off, or 500. The JSON API and the portal's
// pages submit through it.
func (a *API) Submit(r *http.Request, s Submission) (*Action, bool, *reply.Error) {
	if a.d.Actions == nil {
		return nil, false, &reply.Error{Status: http.StatusServiceUnavailable, Code: "writes_unavailable", Message: "this server does not accept writes"}
	}
	_, scope, ok := a.object(r.Context(), s.Object)
	if s.Connection != "" {
		// An object fed by several connections (documents): the roles of
		// the one written to decide.
		var obj *mapping.Object
		if obj, ok = a.d.Mappings.For(s.Connection, s.Object); ok {
			scope, ok = scopeFrom(r.Context()).For(obj)
		}
	}
	if !ok {
		return nil, false, errForbidden("your role does not allow this")
	}
	s.Principal, s.Scope = auth.PrincipalFrom(r.Context()), scope
	s.Audit = a.auditEvent(r, audit.Event{Action: "action.submit", Object: s.Object})
	act, created, err := a.d.Actions.Submit(r.Context(), s)
	var ve *mapping.ValidationError
	switch {
	case errors.As(err, &ve):
		fields := make([]reply.Field, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = reply.Field{Path: f.Path, Message: f.Message}
		}
		return nil, false, reply.Invalid(fields...)
	case errors.Is(err, ErrActionNotFound):
		return nil, false, notFoundError()
	case errors.Is(err, ErrForbidden):
		return nil, false, errForbidden("your role does not allow this")
	case errors.Is(err, ErrKeyReused):
		return nil, false, reply.Invalid(reply.Field{Path: "idempotency_key", Message: "was already used for a different request"})
	case errors.Is(err, ErrNotOffered):
		return nil, false, &reply.Error{Status: http.StatusNotImplemented, Code: "not_offered", Message: "this installation does not offer this change"}
	case errors.Is(err, ErrNotPossible):
		return nil, false, &reply.Error{Status: http.StatusConflict, Code: "not_possible", Message: err.Error()}
	case err != nil:
		return nil, false, reply.InternalError(r, err)
	}
	if s.Object == "approval_request" && s.Op == mapping.OpUpdate && created {
		if rec, err := a.Record(r.Context(), s.Object, s.RecordID, false); err == nil {
			status, _ := s.Input["status"].(string)
			a.decided(r, rec, status)
		}
	}
	// The change is committed: this process's pages go now, so that the
	// user's next list shows it (other processes drop theirs when the
	// commit's notification reaches them).
	a.pages.Notify("")
	return act, created, nil
}

func errForbidden(msg string) *reply.Error {
	return &reply.Error{Status: http.StatusForbidden, Code: "forbidden", Message: msg}
}

// MyActions returns the request's principal's own actions in states
// (e.g. conflict, failed), newest first, under the request's scope
// (WithScope); none when writes are off.
//
// The list is kept with the list pages (pages.go) until an action of the
// tenant changes: the status hub asks for it on every view, and it rarely
// changes.
func (a *API) MyActions(ctx context.Context, states []string, limit int) ([]Action, error) {
	if a.d.Actions == nil {
		return []Action{}, nil
	}
	p, scope := auth.PrincipalFrom(ctx), scopeFrom(ctx)
	if p == nil {
		return []Action{}, nil
	}
	key := pageKey(scope, actionsObject, records.ListOptions{Status: strings.Join(states, ","), Limit: limit}) + "|user " + strconvI(p.UserID)
	if e, ok := a.pages.get(key, a.d.Now()); ok {
		if acts, ok := e.value.([]Action); ok {
			return acts, nil
		}
	}
	ticket := a.pages.begin(group{scope.TenantID, actionsObject})
	acts, err := a.d.Actions.Mine(ctx, p, scope, states, limit)
	if err != nil {
		return nil, err
	}
	if body, etag, err := reply.Encode(acts); err == nil {
		now := a.d.Now()
		a.pages.put(ticket, key, rendered{body: body, etag: etag, until: now.Add(pageTTL), value: acts}, now)
	}
	return acts, nil
}

// resolutions are the answers to a conflict.
var resolutions = []string{"keep_mine", "keep_theirs"}

// resolve answers POST /actions/{id}/resolve: the customer settles a
// conflict between their change and a newer version at the source, either
// applying their change over it (202: queued again) or withdrawing it
// (200: the source's record stands).
func (a *API) resolve(w http.ResponseWriter, r *http.Request) {
	if a.d.Actions == nil {
		a.rp.Error(w, r, http.StatusServiceUnavailable, "writes_unavailable", "this server does not accept writes")
		return
	}
	var body struct {
		Resolution string `json:"resolution"`
	}
	if !a.decode(w, r, &body) {
		return
	}
	act, e := a.Resolve(r, chi.URLParam(r, "id"), body.Resolution)
	switch {
	case e != nil:
		a.fail(w, r, e)
	case body.Resolution == "keep_mine":
		w.Header().Set("Location", "/api/v1/actions/"+act.ID)
		a.rp.JSON(w, r, http.StatusAccepted, act)
	default:
		a.rp.JSON(w, r, http.StatusOK, act)
	}
}

// Resolve settles the request's user's conflict id with resolution
// ("keep_mine" or "keep_theirs"), under the request's scope (WithScope).
// A refusal is a *reply.Error: 422 naming resolution, 404 for a missing or
// foreign action (or one whose record the user no longer reaches), 403
// for someone else's action, 409 when it is not a conflict, 503 when
// writes are off. The JSON API and the portal's pages resolve through it.
func (a *API) Resolve(r *http.Request, id, resolution string) (*Action, *reply.Error) {
	if a.d.Actions == nil {
		return nil, &reply.Error{Status: http.StatusServiceUnavailable, Code: "writes_unavailable", Message: "this server does not accept writes"}
	}
	if !slices.Contains(resolutions, resolution) {
		return nil, reply.Invalid(reply.Field{Path: "resolution", Message: "must be keep_mine or keep_theirs"})
	}
	// Resolving sends the change again: the user must still reach the
	// record it changes (a role lost, or the record moved to another
	// account since, answers as for a record that does not exist).
	act, err := a.d.Actions.Get(r.Context(), scopeFrom(r.Context()), id)
	if err == nil && !strings.HasPrefix(act.Target, "pending:") {
		if _, err = a.d.Records.Get(r.Context(), mustScope(a, r, act.Object), act.Object, act.Target, records.GetOptions{}); errors.Is(err, records.ErrNotFound) {
			err = ErrActionNotFound
		}
	}
	if err == nil {
		ev := a.auditEvent(r, audit.Event{})
		act, err = a.d.Actions.Resolve(r.Context(), auth.PrincipalFrom(r.Context()), scopeFrom(r.Context()), id, resolution, ev)
	}
	switch {
	case errors.Is(err, ErrActionNotFound):
		return nil, notFoundError()
	case errors.Is(err, ErrForbidden):
		return nil, errForbidden("only the person who submitted this change, or an account admin, can resolve it")
	case errors.Is(err, ErrNotPossible):
		return nil, &reply.Error{Status: http.StatusConflict, Code: "not_in_conflict", Message: err.Error()}
	case err != nil:
		return nil, reply.InternalError(r, err)
	}
	a.pages.Notify("")
	return act, nil
}

// Action returns one action the request's user may see under the
// request's scope (WithScope), or ErrNotFound for a missing or foreign one.
func (a *API) Action(ctx context.Context, id string) (*Action, error) {
	if a.d.Actions == nil {
		return nil, ErrNotFound
	}
	act, err := a.d.Actions.Get(ctx, scopeFrom(ctx), id)
	if errors.Is(err, ErrActionNotFound) {
		return nil, ErrNotFound
	}
	return act, err
}

// mustScope is the request's scope for object; a role that cannot see the
// object gets a scope that sees no account.
func mustScope(a *API, r *http.Request, object string) access.Scope {
	if _, s, ok := a.object(r.Context(), object); ok {
		return s
	}
	s := scopeFrom(r.Context())
	s.Accounts, s.Staff = []string{}, false
	return s
}

// action answers GET /actions/{id}.
func (a *API) action(w http.ResponseWriter, r *http.Request) {
	if a.d.Actions == nil {
		a.notFound(w, r)
		return
	}
	act, err := a.d.Actions.Get(r.Context(), scopeFrom(r.Context()), chi.URLParam(r, "id"))
	if errors.Is(err, ErrActionNotFound) {
		a.notFound(w, r)
		return
	}
	if err != nil {
		a.rp.Internal(w, r, err)
		return
	}
	a.rp.Get(w, r, act)
}

// audit records a change the API made, with who and from where. A failed
// audit append is logged, not hidden: the action itself is already
// committed by the write-back service.
// auditEvent is the audit event of a request, for recording inside the
// transaction of the change it describes.
func (a *API) auditEvent(r *http.Request, e audit.Event) audit.Event {
	p := auth.PrincipalFrom(r.Context())
	e.TenantID, e.AccountID = p.TenantID, p.AccountID
	e.Actor = actorOf(p)
	return e.WithRequest(r)
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
