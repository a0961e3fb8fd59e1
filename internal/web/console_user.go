package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/reply"
)

// The console's changes to users: invite (a customer of any account, or
// staff), change a customer's roles, disable and enable, through the auth
// service's staff methods (as /admin/users), audited as the signed-in
// staff member. Each answers 303 to the user's page; bad input changes
// nothing and is named beside its field (422).

// consoleUserDone are the notices of the user page, by ?done=.
var consoleUserDone = map[string]string{
	"invited": key("console.user.invited"), "roles": key("console.user.roles_changed"),
	"disabled": key("console.user.disabled"), "enabled": key("console.user.enabled"),
	"resent": key("account.invitation_resent"),
}

type consoleUserPage struct {
	auth.User
	Account, Created, LastLogin, StatusLabel string
	RoleLabels                               string
	Roles                                    []string
	// Has marks the roles the roles form ticks: the user's, or those of a
	// refused form.
	Has                   map[string]bool
	Self                  bool
	CanDisable, CanEnable bool
	CanResend             bool
}

// staffBy is the signed-in staff member as the audit log names them.
func staffBy(r *http.Request) string {
	return audit.StaffActor(strconv.FormatInt(signedIn(r).UserID, 10)).String()
}

// consoleUserID is the {id} of the path; false when it is not one.
func consoleUserID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	return id, err == nil && id > 0
}

func (wb *Web) consoleUser(w http.ResponseWriter, r *http.Request) {
	wb.showConsoleUser(w, r, http.StatusOK, nil)
}

// showConsoleUser renders one user's page; bad are a refused form's
// field errors (message keys).
func (wb *Web) showConsoleUser(w http.ResponseWriter, r *http.Request, status int, bad map[string]string) {
	id, ok := consoleUserID(r)
	if !ok {
		wb.notFound(w, r)
		return
	}
	u, err := wb.d.Auth.StaffUser(r.Context(), id)
	if wb.authFailed(w, r, err) {
		return
	}
	v := wb.newView(r, key("console.users.title"), nil)
	v.Section = "console"
	l := v.L
	p := consoleUserPage{User: u, Account: u.AccountID, Created: l.DateTime(u.CreatedAt), LastLogin: l.T("console.users.never"),
		StatusLabel: l.T("console.users.status." + u.Status), Roles: auth.AccountRoles, Has: map[string]bool{},
		Self: u.ID == v.User.UserID}
	if u.Staff {
		p.Account = l.T("console.users.staff")
	}
	if u.LastLoginAt != nil {
		p.LastLogin = l.DateTime(*u.LastLoginAt)
	}
	labels := make([]string, len(u.Roles))
	for i, role := range u.Roles {
		labels[i] = l.T("role." + role)
	}
	p.RoleLabels = strings.Join(labels, ", ")
	p.CanDisable = !p.Self && u.Status != "disabled"
	p.CanEnable = u.Status == "disabled"
	p.CanResend = u.Status == "invited"
	held := u.Roles
	if _, ok := bad["roles"]; ok {
		held = r.PostForm["roles"]
	}
	for _, role := range held {
		p.Has[role] = true
	}
	if len(bad) > 0 {
		v.Alert = key("form.fix_fields")
		for f, k := range bad {
			v.Fields[f] = l.T(k)
		}
		if k, ok := bad["confirm"]; ok && !p.CanDisable {
			v.Alert = k // no form to show it beside
		}
	} else if n, ok := consoleUserDone[r.URL.Query().Get("done")]; ok {
		v.Notice = n
	}
	v.Page = p
	wb.render(w, r, status, "console_user", v)
}

// consoleInvite invites a customer user into any account, or a staff
// user, as `portico users invite` does, and mails the invitation.
func (wb *Web) consoleInvite(w http.ResponseWriter, r *http.Request) {
	staff := r.PostForm.Get("staff") == "yes"
	in := auth.InviteRequest{Email: r.PostForm.Get("email"), Staff: staff, Roles: r.PostForm["roles"],
		AccountID: strings.TrimSpace(r.PostForm.Get("account_id")), ContactID: strings.TrimSpace(r.PostForm.Get("contact_id")),
		SeeChildAccounts: r.PostForm.Get("see_child_accounts") == "yes"}
	u, err := wb.d.Auth.StaffInviteUser(r, staffBy(r), in)
	var v *auth.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/console/users/"+strconv.FormatInt(u.ID, 10)+"?done=invited", http.StatusSeeOther)
	case errors.As(err, &v):
		wb.showConsoleUsers(w, r, http.StatusUnprocessableEntity, inviteErrors(v, staff))
	case errors.Is(err, auth.ErrDuplicate):
		wb.showConsoleUsers(w, r, http.StatusConflict, map[string]string{"email": key("field.email_taken")})
	default:
		wb.internal(w, r, err)
	}
}

// inviteErrors are the invitation form's messages for the fields auth
// refused.
func inviteErrors(v *auth.ValidationError, staff bool) map[string]string {
	msgs := map[string]string{"email": key("console.user.bad_email"), "account_id": key("console.user.bad_account"),
		"contact_id": key("console.user.bad_contact"), "roles": key("field.choose_role")}
	if staff {
		msgs["account_id"], msgs["contact_id"], msgs["roles"] = key("console.user.staff_account"), key("console.user.staff_account"), key("console.user.staff_roles")
	}
	out := map[string]string{}
	for _, f := range formPaths(v.Fields) {
		if m, ok := msgs[f.Path]; ok {
			out[f.Path] = m
		} else {
			out["email"] = key("console.user.bad_email")
		}
	}
	return out
}

// consoleUserRoles gives a customer user exactly the roles ticked.
func (wb *Web) consoleUserRoles(w http.ResponseWriter, r *http.Request) {
	id, ok := consoleUserID(r)
	if !ok {
		wb.notFound(w, r)
		return
	}
	_, err := wb.d.Auth.StaffSetUserRoles(r, staffBy(r), id, r.PostForm["roles"])
	var v *auth.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/console/users/"+strconv.FormatInt(id, 10)+"?done=roles", http.StatusSeeOther)
	case errors.Is(err, auth.ErrLastAdmin):
		wb.showConsoleUser(w, r, http.StatusUnprocessableEntity, map[string]string{"roles": key("console.user.last_admin")})
	case errors.As(err, &v):
		wb.showConsoleUser(w, r, http.StatusUnprocessableEntity, map[string]string{"roles": key("field.choose_role")})
	default:
		wb.authFailed(w, r, err)
	}
}

// consoleUserDisable disables a user once the form confirms it; without
// the confirmation nothing changes and the form says why.
func (wb *Web) consoleUserDisable(w http.ResponseWriter, r *http.Request) {
	id, ok := consoleUserID(r)
	if !ok {
		wb.notFound(w, r)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		wb.showConsoleUser(w, r, http.StatusUnprocessableEntity, map[string]string{"confirm": key("console.user.bad_confirm")})
		return
	}
	_, err := wb.d.Auth.StaffDisableUser(r, staffBy(r), id)
	if errors.Is(err, auth.ErrForbidden) {
		wb.showConsoleUser(w, r, http.StatusUnprocessableEntity, map[string]string{"confirm": key("console.user.not_yourself")})
		return
	}
	if wb.authFailed(w, r, err) {
		return
	}
	http.Redirect(w, r, "/console/users/"+strconv.FormatInt(id, 10)+"?done=disabled", http.StatusSeeOther)
}

// consoleUserResend sends an invited user's invitation again with a
// fresh link.
func (wb *Web) consoleUserResend(w http.ResponseWriter, r *http.Request) {
	id, ok := consoleUserID(r)
	if !ok {
		wb.notFound(w, r)
		return
	}
	_, err := wb.d.Auth.StaffResendInvitation(r, staffBy(r), id)
	if errors.Is(err, auth.ErrNotInvited) {
		wb.fail(w, r, &reply.Error{Status: http.StatusConflict, Code: "not_invited", Message: "the user is not waiting for an invitation"})
		return
	}
	if wb.authFailed(w, r, err) {
		return
	}
	http.Redirect(w, r, "/console/users/"+strconv.FormatInt(id, 10)+"?done=resent", http.StatusSeeOther)
}

// consoleUserEnable lets a disabled user sign in again.
func (wb *Web) consoleUserEnable(w http.ResponseWriter, r *http.Request) {
	id, ok := consoleUserID(r)
	if !ok {
		wb.notFound(w, r)
		return
	}
	_, err := wb.d.Auth.StaffEnableUser(r, staffBy(r), id)
	if errors.Is(err, auth.ErrNotDisabled) {
		// Enabled in the meantime: the page shows how the user is now.
		err = nil
	}
	if wb.authFailed(w, r, err) {
		return
	}
	http.Redirect(w, r, "/console/users/"+strconv.FormatInt(id, 10)+"?done=enabled", http.StatusSeeOther)
}
