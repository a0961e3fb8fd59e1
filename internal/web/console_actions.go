package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/writeback"
)

// StaffActions is the write-back's staff service (*writeback.Service):
// the console lists the actions that need a person and retries, discards
// or resolves them through it, as /admin/actions does.
type StaffActions interface {
	List(ctx context.Context, tenantID int64, states []string, afterID int64, limit int) ([]writeback.Action, error)
	Retry(ctx context.Context, tenantID, id int64, ev audit.Event) (*writeback.Action, error)
	Discard(ctx context.Context, tenantID, id int64, ev audit.Event) (*writeback.Action, error)
	Resolve(ctx context.Context, tenantID, id int64, r writeback.Resolution, ev audit.Event) (*writeback.Action, error)
}

// consoleActionLimit bounds the list: the oldest first, as staff work
// through them.
const consoleActionLimit = 200

type consoleAction struct {
	ID, Created, Account, Kind, Object, Target, State, Detail string
	Conflict                                                  bool
}

type consoleActionsPage struct {
	Actions []consoleAction
}

// consoleSteps are the console's changes to an action, by path.
var consoleSteps = map[string]string{
	"retry": key("console.actions.retried"), "discard": key("console.actions.discarded"),
	"keep_mine": key("console.actions.kept_mine"), "keep_theirs": key("console.actions.kept_theirs"),
}

func (wb *Web) consoleActions(w http.ResponseWriter, r *http.Request) {
	wb.showConsoleActions(w, r, http.StatusOK, "")
}

func (wb *Web) showConsoleActions(w http.ResponseWriter, r *http.Request, status int, alert string) {
	if wb.d.StaffActions == nil {
		wb.notFound(w, r)
		return
	}
	list, err := wb.d.StaffActions.List(r.Context(), wb.d.TenantID, []string{writeback.StateFailed, writeback.StateConflict}, 0, consoleActionLimit)
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	v := wb.newView(r, key("console.actions.title"), nil)
	v.Section = "console"
	v.Alert = alert
	if done, ok := consoleSteps[r.URL.Query().Get("done")]; ok && alert == "" {
		v.Notice = done
	}
	var p consoleActionsPage
	for _, a := range list {
		p.Actions = append(p.Actions, consoleAction{ID: strconv.FormatInt(a.ID, 10), Created: v.L.DateTime(a.CreatedAt),
			Account: a.AccountID, Kind: string(a.Kind), Object: a.Object, Target: a.Target, State: a.State,
			Detail: a.ErrorDetail, Conflict: a.State == writeback.StateConflict})
	}
	v.Page = p
	wb.render(w, r, status, "console_actions", v)
}

// consoleActionStep retries, discards or resolves one action, audited as
// the signed-in staff member, then shows the list again (303).
func (wb *Web) consoleActionStep(w http.ResponseWriter, r *http.Request) {
	step := chi.URLParam(r, "step")
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if _, ok := consoleSteps[step]; !ok || err != nil || wb.d.StaffActions == nil {
		wb.notFound(w, r)
		return
	}
	ev := audit.Event{Actor: audit.StaffActor(strconv.FormatInt(signedIn(r).UserID, 10))}.WithRequest(r)
	s := wb.d.StaffActions
	switch step {
	case "retry":
		_, err = s.Retry(r.Context(), wb.d.TenantID, id, ev)
	case "discard":
		_, err = s.Discard(r.Context(), wb.d.TenantID, id, ev)
	default:
		_, err = s.Resolve(r.Context(), wb.d.TenantID, id, writeback.Resolution(step), ev)
	}
	switch {
	case errors.Is(err, writeback.ErrNotFound):
		wb.notFound(w, r)
	case errors.Is(err, writeback.ErrState):
		wb.showConsoleActions(w, r, http.StatusConflict, key("console.actions.moved_on"))
	case err != nil:
		wb.internal(w, r, err)
	default:
		http.Redirect(w, r, "/console/actions?done="+step, http.StatusSeeOther)
	}
}
