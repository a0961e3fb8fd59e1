package writeback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
)

// Kind is what a customer asks for.
type Kind string

// The action kinds.
const (
	KindCreateCase     Kind = "create_case"
	KindAddCaseComment Kind = "add_case_comment"
	KindUpdateOrder    Kind = "update_order"
	KindDecideApproval Kind = "decide_approval" // approve or reject
	KindAttachFile     Kind = "attach_file"
	KindUpdateContact  Kind = "update_contact" // the user's own contact details
	KindCloseCase      Kind = "close_case"     // the customer closes their case
)

// Kinds lists every kind.
func Kinds() []Kind {
	return []Kind{KindCreateCase, KindAddCaseComment, KindUpdateOrder, KindDecideApproval, KindAttachFile, KindUpdateContact, KindCloseCase}
}

// spec is the portal object and operation of a kind.
func (k Kind) spec() (object string, op mapping.Op, ok bool) {
	switch k {
	case KindCreateCase:
		return "case", mapping.OpCreate, true
	case KindAddCaseComment:
		return "case_comment", mapping.OpCreate, true
	case KindUpdateOrder:
		return "order", mapping.OpUpdate, true
	case KindDecideApproval:
		return "approval_request", mapping.OpUpdate, true
	case KindAttachFile:
		return "document", mapping.OpCreate, true
	case KindUpdateContact:
		return "contact", mapping.OpUpdate, true
	case KindCloseCase:
		return "case", mapping.OpUpdate, true
	}
	return "", "", false
}

// parent names the record a kind's create hangs under, and the input
// field holding its id.
func (k Kind) parent() (object, field string, ok bool) {
	if k == KindAddCaseComment {
		return "case", "case_id", true
	}
	return "", "", false
}

// objectFor finds the mapping that takes op on a portal object: several
// connections may feed one object (documents from the CRM and from
// accounting), and only some accept writes.
func objectFor(set *mapping.Set, name string, op mapping.Op, connected func(string) bool) (*mapping.Object, bool) {
	for _, o := range set.Objects() {
		if o.Name() == name && o.Writable(op) && connected(o.Connection()) {
			return o, true
		}
	}
	return nil, false
}

// States of an action.
const (
	StatePending  = "pending"
	StateSending  = "sending"
	StateApplied  = "applied"
	StateConflict = "conflict"
	StateFailed   = "failed"
	StateRejected = "rejected"
)

// Errors Submit returns besides *mapping.ValidationError (input that
// breaks the mapping's rules, naming each field).
var (
	// ErrInvalid is a request that can never be accepted as made.
	ErrInvalid = errors.New("writeback: invalid action")
	// ErrNotFound is a target record the user cannot see or that does not exist.
	ErrNotFound = errors.New("writeback: not found")
	// ErrForbidden is an action the user's roles do not allow.
	ErrForbidden = errors.New("writeback: not allowed")
	// ErrKeyReused is an idempotency key sent again with a different action.
	ErrKeyReused = errors.New("writeback: idempotency key already used for a different action")
	// ErrState is an admin step the action's state does not allow.
	ErrState = errors.New("writeback: not possible in the action's state")
)

// InsertFunc inserts a River job in the caller's transaction (a River
// client's InsertTx).
type InsertFunc func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)

// Health tells the worker a connection refuses calls before it spends one.
type Health interface {
	BreakerOpen(connection string) bool
}

// DB is where the service reads and writes and begins its transactions: a
// pool in a process. A worker test passes one transaction, so that the
// worker completes its job in the transaction rivertest holds it in, and
// all of it rolls back at the end.
type DB interface {
	store.DBTX
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Options are the service's dependencies.
type Options struct {
	Pool       DB
	Mappings   *mapping.Set
	Connectors map[string]connectors.Connector // by connection name
	// Files opens the stored files attach_file actions send (nil: none).
	Files   Files
	Health  Health // nil: never open
	Insert  InsertFunc
	Metrics *Metrics // nil: not exported
	Logger  *slog.Logger
	// OrderWait is how long an action waits for an earlier one on the
	// same record before looking again (default 100ms).
	OrderWait time.Duration
	// AuthWait is how long an action waits after re-authentication failed
	// (default 1m).
	AuthWait time.Duration
	// MaxWait caps the growing wait for an unavailable source (default 30s).
	MaxWait time.Duration
	// JobTimeout bounds one attempt: the write with its read-back
	// (default 2m). Keep it below river.rescue_stuck_jobs_after.
	JobTimeout time.Duration
}

// Service accepts and applies actions.
type Service struct{ opts Options }

// New builds a Service.
func New(opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OrderWait <= 0 {
		opts.OrderWait = 100 * time.Millisecond
	}
	if opts.AuthWait <= 0 {
		opts.AuthWait = time.Minute
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 30 * time.Second
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = 2 * time.Minute
	}
	return &Service{opts: opts}
}

// Request is one customer action as the API receives it.
type Request struct {
	// Scope is the user's access scope: the target must be within it.
	Scope access.Scope
	// UserID is the acting portal user; client keys are unique per user.
	UserID string
	// AccountID owns what the action creates (write expressions see it as
	// actor.account_id); ContactID is the user's contact.
	AccountID string
	ContactID string
	// Refs are the account's reference keys for other systems.
	Refs map[string]string
	Kind Kind
	// Connection, when set, picks the mapping of that connection: a file
	// goes to the system that holds the record it is attached to.
	Connection string
	// ParentObject is the portal object an attach_file's file belongs to
	// (case, invoice): its related_id must be such a record the user sees.
	ParentObject string
	// Target is the source id of the record an update changes; empty for
	// creates.
	Target string
	// Input is the portal input, checked against the kind's intake schema.
	Input map[string]any
	// IdempotencyKey is the client's Idempotency-Key header, if any.
	IdempotencyKey string
	// Audit, when its Action is set, is recorded in the transaction that
	// accepts the action (with the action's id and kind added), so an
	// accepted action is never unaudited.
	Audit audit.Event
}

// Action is an action as callers see it.
type Action struct {
	ID              int64           `json:"id"`
	UserID          string          `json:"user_id"`
	AccountID       string          `json:"account_id"`
	Kind            Kind            `json:"kind"`
	Connection      string          `json:"connection"`
	Object          string          `json:"object"`
	Target          string          `json:"target"`
	Input           json.RawMessage `json:"input"`
	State           string          `json:"state"`
	Attempts        int             `json:"attempts"`
	Message         string          `json:"message,omitempty"`
	ErrorDetail     string          `json:"error_detail,omitempty"` // staff only: see ForCustomer
	Conflict        json.RawMessage `json:"conflict,omitempty"`
	ExpectedVersion string          `json:"expected_version,omitempty"`
	ResultID        string          `json:"result_id,omitempty"`
	ResultVersion   string          `json:"result_version,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	AppliedAt       *time.Time      `json:"applied_at,omitempty"`
}

// ForCustomer drops what only staff may read.
func (a Action) ForCustomer() Action {
	a.ErrorDetail = ""
	return a
}

// Conflict is what a conflicting action holds for whoever resolves it.
type Conflict struct {
	Yours          map[string]any `json:"yours"`           // the customer's change
	Current        map[string]any `json:"current"`         // the source's current portal fields
	CurrentVersion string         `json:"current_version"` // retrying applies the change over this
}

func toAction(r store.Action) Action {
	a := Action{
		ID: r.ID, UserID: r.UserID, AccountID: r.AccountID, Kind: Kind(r.Kind), Connection: r.Connection,
		Object: r.Object, Target: r.Target, Input: r.Input, State: r.State, Attempts: int(r.Attempts),
		Message: r.Message.String, ErrorDetail: r.ErrorDetail.String, ExpectedVersion: r.ExpectedVersion,
		ResultID: r.ResultID.String, ResultVersion: r.ResultVersion.String,
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time,
	}
	if len(r.Conflict) > 0 {
		a.Conflict = r.Conflict
	}
	if r.AppliedAt.Valid {
		t := r.AppliedAt.Time
		a.AppliedAt = &t
	}
	return a
}

// SourceKey is the idempotency key the source sees for an action: stable
// across every retry of the action, unique across tenants.
func SourceKey(tenantID, actionID int64) string {
	return "portico-" + strconv.FormatInt(tenantID, 10) + "-" + strconv.FormatInt(actionID, 10)
}

// ProvisionalID is the cache id of a pending create.
func ProvisionalID(actionID int64) string { return "pending:" + strconv.FormatInt(actionID, 10) }

// Submit validates and accepts an action. It returns the action and
// whether this call created it: a retried submission with the same client
// idempotency key returns the first action and creates nothing.
func (s *Service) Submit(ctx context.Context, req Request) (*Action, bool, error) {
	sub, err := s.check(req)
	if err != nil {
		return nil, false, err
	}
	a, err := s.submit(ctx, sub)
	if err == nil || req.IdempotencyKey == "" {
		return a, err == nil, err
	}
	// The client key is looked up only when accepting fails: a retried
	// submission fails on the key's unique index (or before it, when what
	// it names has changed since) and then finds the first action, while a
	// first submission, nearly every one, costs no lookup.
	switch prev, perr := s.byClientKey(ctx, sub.req, sub.input); {
	case perr == nil:
		return prev, false, nil
	case errors.Is(perr, ErrKeyReused):
		return nil, false, perr
	}
	return nil, false, err
}

// submit checks a submission against its mapping and accepts it in one
// transaction.
func (s *Service) submit(ctx context.Context, sub *submission) (*Action, error) {
	if err := sub.checkMapping(); err != nil {
		return nil, err
	}
	var row store.Action
	err := pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		var err error
		row, err = s.accept(ctx, tx, sub)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("writeback: accepting %s: %w", sub.req.Kind, err)
	}
	s.opts.Metrics.transition(row.Kind, StatePending)
	a := toAction(row)
	return &a, nil
}

// submission is a request that passed the checks that need no database,
// with what accepting it needs.
type submission struct {
	req   Request
	obj   *mapping.Object
	op    mapping.Op
	input []byte // req.Input as JSON
}

// check refuses a request that can never be accepted as made: an unknown
// or unoffered kind, roles that do not allow it, missing ids, a target
// where there must be none or none where there must be one.
func (s *Service) check(req Request) (*submission, error) {
	objName, op, ok := req.Kind.spec()
	if !ok {
		return nil, fmt.Errorf("%w: unknown kind %q", ErrInvalid, req.Kind)
	}
	if req.Kind == KindAttachFile && req.Connection == "" {
		// A file goes to the system that holds its record.
		if parent, ok := s.opts.Mappings.Object(req.ParentObject); ok {
			req.Connection = parent.Connection()
		}
	}
	obj, ok := objectFor(s.opts.Mappings, objName, op, func(c string) bool {
		_, ok := s.opts.Connectors[c]
		return ok && (req.Connection == "" || c == req.Connection)
	})
	if !ok {
		return nil, fmt.Errorf("%w: %s is not offered: no configured connection's mapping allows %s of %s", ErrInvalid, req.Kind, op, objName)
	}
	if !req.Scope.Staff && !obj.VisibleTo(req.Scope.Roles) {
		return nil, fmt.Errorf("%w: %s", ErrForbidden, req.Kind)
	}
	if req.Kind == KindDecideApproval && !req.Scope.Staff && !obj.MayDecide(req.Scope.Roles) {
		return nil, fmt.Errorf("%w: %s: the mapping does not let your roles decide", ErrForbidden, req.Kind)
	}
	if req.UserID == "" || req.AccountID == "" || req.Scope.TenantID == 0 {
		return nil, fmt.Errorf("%w: tenant, user and account are required", ErrInvalid)
	}
	if req.Input == nil {
		req.Input = map[string]any{}
	}
	switch {
	case op == mapping.OpCreate && req.Target != "":
		return nil, fmt.Errorf("%w: target: a %s names no target", ErrInvalid, req.Kind)
	case op == mapping.OpUpdate && req.Target == "":
		return nil, fmt.Errorf("%w: target: a %s needs the record's id", ErrInvalid, req.Kind)
	case op == mapping.OpUpdate && strings.HasPrefix(req.Target, "pending:"):
		return nil, fmt.Errorf("%w: target: the record is still being created; try again once it is", ErrInvalid)
	case req.Kind == KindUpdateContact && req.Target != req.ContactID:
		return nil, fmt.Errorf("%w: a user may update only their own contact details", ErrForbidden)
	}
	if _, err := fileRef(req.Kind, req.Input); err != nil {
		return nil, err
	}
	input, err := json.Marshal(req.Input)
	if err != nil {
		return nil, fmt.Errorf("%w: input: %w", ErrInvalid, err)
	}
	return &submission{req: req, obj: obj, op: op, input: input}, nil
}

// FileField is the attach_file input naming the stored file (internal/files)
// by id: the action holds this reference, never the content, and the
// worker streams the file to the source.
const FileField = "file_id"

// fileRef returns an attach_file's file id, which it must have; other
// kinds have none (0).
func fileRef(k Kind, input map[string]any) (int64, error) {
	if k != KindAttachFile {
		return 0, nil
	}
	var id int64
	switch v := input[FileField].(type) {
	case int64:
		id = v
	case int:
		id = int64(v)
	case float64:
		id = int64(v)
	case json.Number:
		id, _ = v.Int64()
	}
	if id <= 0 {
		return 0, fmt.Errorf("%w: %s: an attach_file names its stored file", ErrInvalid, FileField)
	}
	return id, nil
}

// mappingInput is the input the mapping sees: without the file reference,
// which is Portico's, not a field of the source.
func mappingInput(k Kind, input map[string]any) map[string]any {
	if k != KindAttachFile {
		return input
	}
	out := make(map[string]any, len(input))
	for k, v := range input {
		if k != FileField {
			out[k] = v
		}
	}
	return out
}

// checkMapping validates the input against the mapping's write direction;
// a *mapping.ValidationError names the fields.
func (sub *submission) checkMapping() error {
	req := sub.req
	_, err := sub.obj.ToSource(sub.op, mappingInput(req.Kind, req.Input), mapping.Actor{AccountID: req.AccountID, ContactID: req.ContactID, Refs: req.Refs})
	return err
}

// accept stores the action in tx with everything that must commit with
// it: the parent and target checks, the action row, the pending
// projection in the cache, the audit event and the write-back job.
func (s *Service) accept(ctx context.Context, tx pgx.Tx, sub *submission) (store.Action, error) {
	owner, err := sub.parentOwner(ctx, tx)
	if err != nil {
		return store.Action{}, err
	}
	params := sub.insertParams()
	var cached store.RecordForActionRow
	if sub.op == mapping.OpUpdate {
		if cached, err = sub.target(ctx, tx); err != nil {
			return store.Action{}, err
		}
		params.ExpectedVersion, params.PriorData = cached.SourceVersion, cached.Data
	}
	row, err := store.ActionInsert(ctx, tx, params) // a create's target is ProvisionalID(row.ID)
	if err != nil {
		return store.Action{}, err
	}
	// The projection and the audit in one round trip, then the job.
	p := store.NewPipeline(tx)
	if err := sub.project(ctx, p, row, owner, cached.Data); err != nil {
		return store.Action{}, err
	}
	if err := sub.audit(ctx, p, row); err != nil {
		return store.Action{}, err
	}
	if err := p.Flush(ctx); err != nil {
		return store.Action{}, err
	}
	_, err = s.opts.Insert(ctx, tx, ApplyArgs{ActionID: row.ID}, nil)
	return row, err
}

func (sub *submission) insertParams() store.ActionInsertParams {
	req, obj := sub.req, sub.obj
	refs, err := json.Marshal(req.Refs)
	if err != nil || req.Refs == nil {
		refs = []byte("{}")
	}
	return store.ActionInsertParams{
		TenantID: req.Scope.TenantID, UserID: req.UserID, AccountID: req.AccountID, ContactID: req.ContactID,
		ActorRefs: refs, Kind: string(req.Kind), Connection: obj.Connection(), Object: obj.Name(),
		SourceObject: obj.SourceObject(), Op: string(sub.op), Target: req.Target, Input: sub.input,
		ClientKey: pgtype.Text{String: req.IdempotencyKey, Valid: req.IdempotencyKey != ""},
	}
}

// parentOwner returns the owner of what the action creates. A comment goes
// only on a case the user can see, and shares its owner; anything else
// belongs to the user's account.
func (sub *submission) parentOwner(ctx context.Context, tx pgx.Tx) (string, error) {
	req := sub.req
	parentObj, field, ok := req.Kind.parent()
	if req.Kind == KindAttachFile {
		parentObj, field, ok = req.ParentObject, "related_id", true
	}
	if !ok {
		return req.AccountID, nil
	}
	id, _ := req.Input[field].(string)
	parent, err := store.RecordForAction(ctx, tx, store.RecordForActionParams{
		TenantID: req.Scope.TenantID, Connection: sub.obj.Connection(), Object: parentObj, SourceID: id,
	})
	if errors.Is(err, store.ErrNotFound) || err == nil && !req.Scope.Staff && !req.Scope.Sees(parent.OwnerAccount.String) {
		return "", fmt.Errorf("%w: %s: %s %s", ErrNotFound, field, parentObj, id)
	}
	if err != nil {
		return "", err
	}
	if parent.OwnerAccount.Valid {
		return parent.OwnerAccount.String, nil
	}
	return req.AccountID, nil
}

// target reads the cached record an update changes, if the user can see
// it.
func (sub *submission) target(ctx context.Context, tx pgx.Tx) (store.RecordForActionRow, error) {
	req, obj := sub.req, sub.obj
	cached, err := store.RecordForAction(ctx, tx, store.RecordForActionParams{
		TenantID: req.Scope.TenantID, Connection: obj.Connection(), Object: obj.Name(), SourceID: req.Target,
	})
	if errors.Is(err, store.ErrNotFound) || err == nil && !req.Scope.Staff && !req.Scope.Sees(cached.OwnerAccount.String) {
		return store.RecordForActionRow{}, fmt.Errorf("%w: %s %s", ErrNotFound, obj.Name(), req.Target)
	}
	return cached, err
}

// project shows the action in the cache while it is pending: a create adds
// a provisional record owned by owner, an update merges the input into the
// cached record's data (prior).
func (sub *submission) project(ctx context.Context, db store.DBTX, row store.Action, owner string, prior []byte) error {
	obj := sub.obj
	pending := pgtype.Int8{Int64: row.ID, Valid: true}
	if sub.op == mapping.OpCreate {
		data, err := json.Marshal(mapping.Mapped{Object: obj.Name(), ID: row.Target, Fields: readable(obj, sub.req.Input), Hash: obj.Hash()})
		if err != nil {
			return err
		}
		return store.RecordInsertPending(ctx, db, store.RecordInsertPendingParams{
			TenantID: row.TenantID, Connection: row.Connection, Object: row.Object, SourceID: row.Target,
			SourceObject: row.SourceObject, OwnerAccount: owner, OwnerContact: sub.req.ContactID,
			Data: data, MappingHash: obj.Hash(), PendingActionID: pending,
		})
	}
	data, err := project(prior, readable(obj, sub.req.Input))
	if err != nil {
		return err
	}
	return store.RecordSetPending(ctx, db, store.RecordSetPendingParams{
		Data: data, PendingActionID: pending, TenantID: row.TenantID, Connection: row.Connection,
		Object: row.Object, SourceID: row.Target,
	})
}

// audit records the request's audit event, if it has one, with the
// action's id and kind added.
func (sub *submission) audit(ctx context.Context, db store.DBTX, row store.Action) error {
	if sub.req.Audit.Action == "" {
		return nil
	}
	ev := sub.req.Audit
	ev.ObjectID = row.Target
	ev.After = map[string]any{"action_id": row.ID, "kind": row.Kind, "input": sub.req.Input}
	return audit.Record(ctx, db, ev)
}

// byClientKey returns the action a client key already made, refusing the
// key for a different action.
func (s *Service) byClientKey(ctx context.Context, req Request, input []byte) (*Action, error) {
	row, err := store.ActionByClientKey(ctx, s.opts.Pool, store.ActionByClientKeyParams{
		TenantID: req.Scope.TenantID, UserID: req.UserID, ClientKey: pgtype.Text{String: req.IdempotencyKey, Valid: true},
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("writeback: action by client key: %w", err)
	}
	sameTarget := row.Target == req.Target || strings.HasPrefix(row.Target, "pending:") && req.Target == ""
	if row.Kind != string(req.Kind) || !sameTarget || !sameJSON(row.Input, input) {
		return nil, ErrKeyReused
	}
	a := toAction(row)
	return &a, nil
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// readable keeps the input fields the mapping reads back: a write-only
// field (a file's content) never goes into the cache.
func readable(obj *mapping.Object, input map[string]any) map[string]any {
	out := make(map[string]any, len(input))
	for _, name := range obj.FieldNames() {
		if v, ok := input[name]; ok {
			out[name] = v
		}
	}
	return out
}

// project merges the customer's change into a cached record's data so
// the record shows it while the action is pending.
func project(data []byte, input map[string]any) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("writeback: cached record: %w", err)
	}
	fields, _ := m["fields"].(map[string]any)
	if fields == nil {
		fields = map[string]any{}
	}
	for k, v := range input {
		fields[k] = v
	}
	m["fields"] = fields
	if st, ok := input["status"].(string); ok {
		m["status"] = st
		delete(m, "status_label")
		delete(m, "next_step")
	}
	return json.Marshal(m)
}

// Get returns one action of the tenant.
func (s *Service) Get(ctx context.Context, tenantID, id int64) (*Action, error) {
	row, err := store.ActionGet(ctx, s.opts.Pool, id)
	if err != nil || row.TenantID != tenantID {
		return nil, fmt.Errorf("%w: action %d", ErrNotFound, id)
	}
	a := toAction(row)
	return &a, nil
}

// List returns the tenant's actions in the given states, oldest first,
// after the id afterID, at most limit.
func (s *Service) List(ctx context.Context, tenantID int64, states []string, afterID int64, limit int) ([]Action, error) {
	rows, err := store.ActionList(ctx, s.opts.Pool, store.ActionListParams{
		TenantID: tenantID, States: states, AfterID: afterID, MaxRows: int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("writeback: listing actions: %w", err)
	}
	return toActions(rows), nil
}

func toActions(rows []store.Action) []Action {
	out := make([]Action, len(rows))
	for i, r := range rows {
		out[i] = toAction(r)
	}
	return out
}

// ListByUser returns one user's actions in the given states, newest
// first, at most limit.
func (s *Service) ListByUser(ctx context.Context, tenantID int64, userID string, states []string, limit int) ([]Action, error) {
	rows, err := store.ActionListByUser(ctx, s.opts.Pool, store.ActionListByUserParams{
		TenantID: tenantID, UserID: userID, States: states, MaxRows: int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("writeback: listing a user's actions: %w", err)
	}
	return toActions(rows), nil
}
