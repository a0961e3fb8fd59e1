package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/reply"
)

// userRow is one user of the account as the list shows them.
type userRow struct {
	ID                                int64
	Email, Roles, Status, StatusLabel string
	LastLogin                         string
	Self, CanDisable, CanResend       bool
	// Has marks the roles the user holds, as the roles form ticks them.
	Has map[string]bool
}

func (wb *Web) accountUsers(w http.ResponseWriter, r *http.Request) {
	wb.showAccount(w, r, http.StatusOK, nil)
}

// accountPage is the account's users and the roles an invitation offers.
type accountPage struct {
	Users []userRow
	Roles []string
	// Chosen are the roles ticked in a refused invitation.
	Chosen map[string]bool
	// RolesFor is the user whose roles form was refused, RolesError why.
	RolesFor   int64
	RolesError string
	// DisableFor is the user whose disabling was not confirmed.
	DisableFor int64
}

// showAccount renders the users page with status; bad are an
// invitation's field errors, shown inline.
func (wb *Web) showAccount(w http.ResponseWriter, r *http.Request, status int, bad []reply.Field) {
	wb.showAccountFor(w, r, status, bad, 0, 0)
}

// showAccountFor is showAccount; when rolesFor names a user, bad are the
// errors of that user's roles form, shown in their row with what was
// ticked; when disableFor does, their disable form is open with its
// confirmation asked for (a user not of the account is the 404 page).
func (wb *Web) showAccountFor(w http.ResponseWriter, r *http.Request, status int, bad []reply.Field, rolesFor, disableFor int64) {
	users, err := wb.d.Auth.AccountUsers(r.Context())
	if wb.authFailed(w, r, err) {
		return
	}
	v := wb.newView(r, key("account.title"), nil)
	v.Section = "account"
	p := accountPage{Roles: auth.AccountRoles, Chosen: map[string]bool{}}
	for _, u := range users {
		labels := make([]string, len(u.Roles))
		for i, role := range u.Roles {
			labels[i] = v.L.T("role." + role)
		}
		row := userRow{ID: u.ID, Email: u.Email, Roles: strings.Join(labels, ", "), Status: u.Status,
			StatusLabel: v.L.T("account.status." + u.Status), Self: u.ID == v.User.UserID}
		if u.LastLoginAt != nil {
			row.LastLogin = v.L.DateTime(*u.LastLoginAt)
		}
		row.CanDisable = !row.Self && u.Status != "disabled"
		row.CanResend = u.Status == "invited"
		row.Has = map[string]bool{}
		held := u.Roles
		if u.ID == rolesFor {
			held = r.PostForm["roles"]
		}
		for _, role := range held {
			row.Has[role] = true
		}
		p.Users = append(p.Users, row)
	}
	if disableFor != 0 {
		// A user not of the account is the 404 page, as for every action.
		if !slices.ContainsFunc(p.Users, func(u userRow) bool { return u.ID == disableFor }) {
			wb.notFound(w, r)
			return
		}
		p.DisableFor = disableFor
		v.Alert = key("form.fix_fields")
	}
	switch {
	case bad != nil && rolesFor != 0:
		p.RolesFor = rolesFor
		// The handler names one message key for the form.
		p.RolesError = v.L.T(bad[0].Message)
		v.Alert = key("form.fix_fields")
	case bad != nil:
		v.Fields = fieldErrors(v.L, bad)
		v.Alert = key("form.fix_fields")
		v.Form["email"] = r.PostForm.Get("email")
		for _, role := range r.PostForm["roles"] {
			p.Chosen[role] = true
		}
	}
	switch r.URL.Query().Get("done") {
	case "disabled":
		v.Notice = key("account.user_disabled")
	case "resent":
		v.Notice = key("account.invitation_resent")
	case "invited":
		v.Notice = key("account.invited")
	case "roles":
		v.Notice = key("account.roles_changed")
	}
	v.Page = p
	wb.render(w, r, status, "account", v)
}

// accountInvite invites a user into the admin's account through the auth
// service, within its limits: roles the admin does not hold are refused
// (403) and named beside the field, as bad input is (422).
func (wb *Web) accountInvite(w http.ResponseWriter, r *http.Request) {
	_, err := wb.d.Auth.InviteUser(r, auth.InviteRequest{Email: r.PostForm.Get("email"), Roles: r.PostForm["roles"]})
	var v *auth.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/account/users?done=invited", http.StatusSeeOther)
	case errors.As(err, &v):
		status := http.StatusUnprocessableEntity
		if errors.Is(err, auth.ErrForbidden) {
			status = http.StatusForbidden
		}
		wb.showAccount(w, r, status, formPaths(v.Fields))
	case errors.Is(err, auth.ErrDuplicate):
		wb.showAccount(w, r, http.StatusConflict, []reply.Field{{Path: "email", Message: key("field.email_taken")}})
	default:
		wb.authFailed(w, r, err)
	}
}

// accountUserRoles sets the roles of one user of the account through the
// auth service, within its limits: a role the admin may not grant is the
// 403 status, bad input (no role, the account's last admin) 422, each
// named in the user's row; a user of another account is the 404 page.
func (wb *Web) accountUserRoles(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		wb.notFound(w, r)
		return
	}
	_, err = wb.d.Auth.SetAccountUserRoles(r, id, r.PostForm["roles"])
	var v *auth.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/account/users?done=roles", http.StatusSeeOther)
	case errors.Is(err, auth.ErrForbidden) && errors.As(err, &v):
		wb.showAccountFor(w, r, http.StatusForbidden, []reply.Field{{Path: "roles", Message: key("account.role_not_yours")}}, id, 0)
	case errors.Is(err, auth.ErrLastAdmin):
		wb.showAccountFor(w, r, http.StatusUnprocessableEntity, []reply.Field{{Path: "roles", Message: key("account.last_admin")}}, id, 0)
	case errors.As(err, &v):
		msg := key("field.choose")
		if len(r.PostForm["roles"]) == 0 {
			msg = key("field.choose_role")
		}
		wb.showAccountFor(w, r, http.StatusUnprocessableEntity, []reply.Field{{Path: "roles", Message: msg}}, id, 0)
	default:
		wb.authFailed(w, r, err)
	}
}

// formPaths names list fields ("roles[1]") by their form field ("roles").
func formPaths(fields []reply.Field) []reply.Field {
	for i, f := range fields {
		if j := strings.IndexByte(f.Path, '['); j > 0 {
			fields[i].Path = f.Path[:j]
		}
	}
	return fields
}

// accountUserDisable disables a user of the account once the form
// confirms it: a slip of the finger would lock a colleague out until the
// portal's staff turn them on again. Without the confirmation nothing
// changes, and the user's row asks for it (422).
func (wb *Web) accountUserDisable(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		wb.notFound(w, r)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		wb.showAccountFor(w, r, http.StatusUnprocessableEntity, nil, 0, id)
		return
	}
	wb.accountUserAction(func(r *http.Request, id int64) error {
		_, err := wb.d.Auth.DisableAccountUser(r, id)
		return err
	}, "disabled")(w, r)
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
		var v *auth.ValidationError
		if errors.As(err, &v) && !errors.Is(err, auth.ErrForbidden) {
			wb.showAccount(w, r, http.StatusUnprocessableEntity, formPaths(v.Fields))
			return
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
