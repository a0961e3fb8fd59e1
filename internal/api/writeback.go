package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/writeback"
)

// Writeback adapts the write-back service to Actions.
type Writeback struct {
	Service *writeback.Service
	Pool    *pgxpool.Pool
	// Mappings decide who may see an action: whoever may see its object
	// in its account, with the object's field visibility on the conflict.
	Mappings *mapping.Set
}

// kinds names the write-back kind of each API write.
var kinds = map[[2]string]writeback.Kind{
	{"case", "create"}:             writeback.KindCreateCase,
	{"case_comment", "create"}:     writeback.KindAddCaseComment,
	{"approval_request", "update"}: writeback.KindDecideApproval,
	// Closing a case is an update of the case's status (the mapping allows
	// only "closed").
	{"case", "update"}: writeback.KindCloseCase,
	// A contact's update is the user's own details (PATCH /me/contact).
	{"contact", "update"}: writeback.KindUpdateContact,
	// A file uploaded to a record (POST /{object}/{id}/files); the input
	// names the stored file.
	{"document", "create"}: writeback.KindAttachFile,
}

// Submit implements Actions.
func (wb Writeback) Submit(ctx context.Context, s Submission) (*Action, bool, error) {
	kind, ok := kinds[[2]string{s.Object, string(s.Op)}]
	if !ok {
		return nil, false, fmt.Errorf("%w: no write-back kind for %s %s", ErrNotOffered, s.Op, s.Object)
	}
	a, created, err := wb.Service.Submit(ctx, writeback.Request{
		Scope: s.Scope, UserID: strconvI(s.Principal.UserID), AccountID: s.Principal.AccountID,
		ContactID: s.Principal.ContactID, Kind: kind, Target: s.RecordID, Input: s.Input,
		Connection: s.Connection, ParentObject: s.ParentObject,
		IdempotencyKey: s.IdempotencyKey, Audit: s.Audit,
	})
	switch {
	case errors.Is(err, writeback.ErrNotFound):
		return nil, false, ErrActionNotFound
	case errors.Is(err, writeback.ErrForbidden):
		return nil, false, fmt.Errorf("%w: %v", ErrForbidden, err) //nolint:errorlint // the API's own error classifies; the write-back error is its message only
	case errors.Is(err, writeback.ErrKeyReused):
		return nil, false, ErrKeyReused
	case errors.Is(err, writeback.ErrInvalid) && (strings.Contains(err.Error(), "not offered") || strings.Contains(err.Error(), "unknown kind")):
		return nil, false, fmt.Errorf("%w: %v", ErrNotOffered, err) //nolint:errorlint // the API's own error classifies; the write-back error is its message only
	case errors.Is(err, writeback.ErrInvalid):
		return nil, false, fmt.Errorf("%w: %s", ErrNotPossible, strings.TrimPrefix(err.Error(), writeback.ErrInvalid.Error()+": "))
	case err != nil:
		return nil, false, err
	}
	return toAPIAction(*a), created, nil
}

// Get implements Actions: an action is visible to the scope that sees its
// account.
func (wb Writeback) Get(ctx context.Context, scope access.Scope, id string) (*Action, error) {
	a, obj, roles, err := wb.visible(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	return shownAction(*a, obj, roles), nil
}

// Mine implements Actions: the principal's own actions in states that the
// scope may still see, newest first.
func (wb Writeback) Mine(ctx context.Context, p *auth.Principal, scope access.Scope, states []string, limit int) ([]Action, error) {
	acts, err := wb.Service.ListByUser(ctx, scope.TenantID, strconvI(p.UserID), states, limit)
	if err != nil {
		return nil, err
	}
	out := []Action{}
	for _, a := range acts {
		obj, ok := wb.Mappings.For(a.Connection, a.Object)
		if !ok {
			continue
		}
		if s, ok := scope.For(obj); ok && s.Sees(a.AccountID) {
			out = append(out, *shownAction(a, obj, scope.Roles))
		}
	}
	return out, nil
}

// visible reads an action the scope may see: the user's roles reach its
// object, and the object's scope (narrowed to the user's own account
// unless the object follows the hierarchy) sees its account. Anything
// else is ErrActionNotFound. It returns the object's mapping and the roles
// its fields are shown for.
func (wb Writeback) visible(ctx context.Context, scope access.Scope, id string) (*writeback.Action, *mapping.Object, []string, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, nil, nil, ErrActionNotFound
	}
	a, err := wb.Service.Get(ctx, scope.TenantID, n)
	if errors.Is(err, writeback.ErrNotFound) {
		return nil, nil, nil, ErrActionNotFound
	}
	if err != nil {
		return nil, nil, nil, err
	}
	obj, ok := wb.Mappings.For(a.Connection, a.Object)
	if !ok {
		return nil, nil, nil, ErrActionNotFound
	}
	s, ok := scope.For(obj)
	if !ok || !s.Sees(a.AccountID) {
		return nil, nil, nil, ErrActionNotFound
	}
	roles := scope.Roles
	if scope.Staff {
		roles = []string{mapping.RoleOperatorAdmin}
	}
	return a, obj, roles, nil
}

// shownAction is an action as a user holding roles may see it: the two
// sides of a conflict carry only the fields those roles see.
func shownAction(a writeback.Action, obj *mapping.Object, roles []string) *Action {
	out := toAPIAction(a)
	for _, side := range []string{"yours", "current"} {
		if m, ok := out.Conflict[side].(map[string]any); ok {
			out.Conflict[side] = obj.VisibleFields(roles, m)
		}
	}
	return out
}

// Resolve implements Actions.
func (wb Writeback) Resolve(ctx context.Context, p *auth.Principal, scope access.Scope, id, resolution string, ev audit.Event) (*Action, error) {
	a, obj, roles, err := wb.visible(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	if !p.Staff && a.UserID != strconvI(p.UserID) && !p.HasRole(auth.RoleAccountAdmin) {
		return nil, ErrForbidden
	}
	a, err = wb.Service.Resolve(ctx, scope.TenantID, a.ID, writeback.Resolution(resolution), ev)
	switch {
	case errors.Is(err, writeback.ErrNotFound):
		return nil, ErrActionNotFound
	case errors.Is(err, writeback.ErrState), errors.Is(err, writeback.ErrInvalid):
		return nil, fmt.Errorf("%w: %s", ErrNotPossible, strings.TrimPrefix(err.Error(), writeback.ErrState.Error()+": "))
	case err != nil:
		return nil, err
	}
	return shownAction(*a, obj, roles), nil
}

func toAPIAction(a writeback.Action) *Action {
	a = a.ForCustomer()
	out := &Action{
		ID: strconvI(a.ID), Kind: string(a.Kind), Object: a.Object, Target: a.Target, State: a.State,
		Input: map[string]any{}, Created: a.CreatedAt, Updated: a.UpdatedAt, Applied: a.AppliedAt,
	}
	if a.Message != "" {
		out.Message = &a.Message
	}
	if a.ResultID != "" {
		out.ResultID = &a.ResultID
	}
	if len(a.Input) > 0 {
		_ = json.Unmarshal(a.Input, &out.Input)
	}
	if len(a.Conflict) > 0 {
		var c map[string]any
		if json.Unmarshal(a.Conflict, &c) == nil {
			out.Conflict = c
		}
	}
	return out
}
