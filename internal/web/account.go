package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/reply"
)

// accountRoutes is /account: an account admin's users of their account.
func (wb *Web) accountRoutes() chi.Router {
	r := wb.subRouter()
	r.Get("/users", wb.accountUsers)
	r.Post("/users/{id}/disable", wb.accountUserAction(func(r *http.Request, id int64) error {
		_, err := wb.d.Auth.DisableAccountUser(r, id)
		return err
	}, "disabled"))
	r.Post("/users/{id}/resend", wb.accountUserAction(func(r *http.Request, id int64) error {
		_, err := wb.d.Auth.ResendInvitation(r, id)
		return err
	}, "resent"))
	return r
}

// userRow is one user of the account as the list shows them.
type userRow struct {
	ID                                int64
	Email, Roles, Status, StatusLabel string
	LastLogin                         string
	Self, CanDisable, CanResend       bool
}

func (wb *Web) accountUsers(w http.ResponseWriter, r *http.Request) {
	users, err := wb.d.Auth.AccountUsers(r.Context())
	if wb.authFailed(w, r, err) {
		return
	}
	v := wb.newView(r, key("account.title"), nil)
	v.Section = "account"
	var rows []userRow
	for _, u := range users {
		row := userRow{ID: u.ID, Email: u.Email, Roles: strings.Join(u.Roles, ", "), Status: u.Status,
			StatusLabel: v.L.T("account.status." + u.Status), Self: u.ID == v.User.UserID}
		if u.LastLoginAt != nil {
			row.LastLogin = v.L.DateTime(*u.LastLoginAt)
		}
		row.CanDisable = !row.Self && u.Status != "disabled"
		row.CanResend = u.Status == "invited"
		rows = append(rows, row)
	}
	switch r.URL.Query().Get("done") {
	case "disabled":
		v.Notice = key("account.user_disabled")
	case "resent":
		v.Notice = key("account.invitation_resent")
	}
	v.Page = rows
	wb.render(w, r, http.StatusOK, "account", v)
}

// accountUserAction does act to one user of the account and goes back to
// the list (303); a user of another account is the 404 page, a role that
// may not the 403 page.
func (wb *Web) accountUserAction(act func(*http.Request, int64) error, done string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
		if err != nil || id <= 0 {
			err = auth.ErrNotFound
		} else {
			err = act(r, id)
		}
		if errors.Is(err, auth.ErrNotInvited) {
			wb.fail(w, r, &reply.Error{Status: http.StatusConflict, Code: "not_invited", Message: "the user is not waiting for an invitation"})
			return
		}
		if wb.authFailed(w, r, err) {
			return
		}
		http.Redirect(w, r, "/account/users?done="+done, http.StatusSeeOther)
	}
}

// authFailed answers an auth service error, and reports whether there
// was one: the 403 page for a role that may not, the 404 page for a user
// not of the account.
func (wb *Web) authFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, auth.ErrForbidden):
		wb.fail(w, r, &reply.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "not allowed"})
	case errors.Is(err, auth.ErrNotFound):
		wb.notFound(w, r)
	default:
		wb.internal(w, r, err)
	}
	return true
}
