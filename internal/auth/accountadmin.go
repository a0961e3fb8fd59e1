package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/reply"
)

// ErrNotInvited is a user whose invitation cannot be sent again: they
// have activated it, or are disabled.
var ErrNotInvited = errors.New("auth: the user is not waiting for an invitation")

// ErrLastAdmin is taking the account admin role from an account's last
// active account admin; it comes with a *ValidationError on roles.
var ErrLastAdmin = errors.New("auth: the account needs an active account admin")

// accountAdmin reports whether p administers their own customer account.
func accountAdmin(p *Principal) bool {
	return p != nil && !p.Staff && p.AccountID != "" && p.HasRole(RoleAccountAdmin)
}

// AccountUsers lists the users of the context's account admin's own
// account; any other principal is ErrForbidden.
func (s *Service) AccountUsers(ctx context.Context) ([]User, error) {
	p := PrincipalFrom(ctx)
	if !accountAdmin(p) {
		return nil, fmt.Errorf("%w: only an account admin lists the account's users", ErrForbidden)
	}
	var out []User
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = ListUsers(ctx, tx, s.tenantID, p.AccountID)
		return err
	})
	return out, err
}

// accountUser is user id of the account admin's own account; a user of
// another account is ErrNotFound, as a missing one is.
func (s *Service) accountUser(ctx context.Context, id int64) (User, error) {
	users, err := s.AccountUsers(ctx)
	if err != nil {
		return User{}, err
	}
	for _, u := range users {
		if u.ID == id {
			return u, nil
		}
	}
	return User{}, fmt.Errorf("user %d: %w", id, ErrNotFound)
}

// DisableAccountUser disables user id of the request's account admin's
// own account, ending their sessions and their API tokens' use. An admin
// cannot disable themselves (ErrForbidden).
func (s *Service) DisableAccountUser(r *http.Request, id int64) (User, error) {
	ctx := r.Context()
	u, err := s.accountUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	if u.ID == PrincipalFrom(ctx).UserID {
		return User{}, fmt.Errorf("%w: you cannot disable yourself", ErrForbidden)
	}
	err = s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = DisableUser(ctx, tx, s.tenantID, u.Email, s.now())
		return err
	})
	if err != nil {
		return User{}, err
	}
	s.audit(r, Event{Action: "auth.user_disable", Object: "user", ObjectID: strconv.FormatInt(u.ID, 10),
		Detail: map[string]string{"email": u.Email, "account_id": u.AccountID}})
	return u, nil
}

// ResendInvitation sends the invitation of user id of the request's
// account admin's own account again, with a fresh link. It is held to the
// invitation's limits: an admin re-sends only rights they hold themselves
// (ErrForbidden), and only to a user still invited (ErrNotInvited).
func (s *Service) ResendInvitation(r *http.Request, id int64) (User, error) {
	ctx := r.Context()
	u, err := s.accountUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	if u.Status != "invited" {
		return User{}, fmt.Errorf("%s is %s: %w", u.Email, u.Status, ErrNotInvited)
	}
	return s.InviteUser(r, InviteRequest{Email: u.Email, ContactID: u.ContactID, Roles: u.Roles, SeeChildAccounts: u.SeeChildAccounts})
}

// SetAccountUserRoles gives user id of the request's account admin's own
// account exactly roles, within the invitation's limits: a role the user
// does not hold yet must be one the admin may grant (else ErrForbidden
// with a *ValidationError naming roles[i]); roles taken away need no
// right. The account keeps at least one active account admin: taking the
// role from the last one is ErrLastAdmin with a *ValidationError on roles. Bad roles are a
// *ValidationError; a user of another account is ErrNotFound.
func (s *Service) SetAccountUserRoles(r *http.Request, id int64, roles []string) (User, error) {
	ctx := r.Context()
	u, err := s.accountUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	p := PrincipalFrom(ctx)
	want := dedupe(roles)
	v, beyond := &ValidationError{}, &ValidationError{}
	if len(want) == 0 {
		v.add("roles", "needs at least one of %s", strings.Join(AccountRoles, ", "))
	}
	for i, role := range roles {
		role = strings.TrimSpace(role)
		switch {
		case !slices.Contains(AccountRoles, role):
			v.add(fmt.Sprintf("roles[%d]", i), "unknown role %q; use %s", role, strings.Join(AccountRoles, ", "))
		case !slices.Contains(u.Roles, role) && !grantable(p, role, s.roleCovered):
			beyond.add(fmt.Sprintf("roles[%d]", i), "you do not hold the role %s", role)
		}
	}
	if err := v.err(); err != nil {
		return User{}, err
	}
	if err := beyond.err(); err != nil {
		return User{}, fmt.Errorf("%w: %w", ErrForbidden, err)
	}
	if u, err = s.setRoles(ctx, u, want); err != nil {
		return User{}, err
	}
	s.audit(r, Event{Action: "auth.user_roles", Object: "user", ObjectID: strconv.FormatInt(u.ID, 10),
		Detail: map[string]string{"email": u.Email, "account_id": u.AccountID, "roles": strings.Join(u.Roles, ",")}})
	return u, nil
}

// RolesRequest is the body of PUT /auth/users/{id}/roles: the user's
// roles from now on.
type RolesRequest struct {
	Roles []string `json:"roles"`
}

// handleUserRoles is PUT /auth/users/{id}/roles (SetAccountUserRoles).
func (s *Service) handleUserRoles(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.rp.Invalid(w, r, reply.Field{Path: "id", Message: "must be a positive integer"})
		return
	}
	var in RolesRequest
	if !s.decode(w, r, &in) {
		return
	}
	user, err := s.SetAccountUserRoles(r, id, in.Roles)
	var v *ValidationError
	switch {
	case errors.Is(err, ErrForbidden) && errors.As(err, &v):
		s.rp.Error(w, r, http.StatusForbidden, "forbidden", "you may grant only rights you hold", v.Fields...)
	case errors.Is(err, ErrForbidden):
		s.rp.Error(w, r, http.StatusForbidden, "forbidden", "only an account admin changes the roles of the account's users")
	case errors.Is(err, ErrNotFound):
		s.rp.Error(w, r, http.StatusNotFound, "not_found", "no such user in your account")
	case s.userError(w, r, err):
		s.rp.JSON(w, r, http.StatusOK, map[string]any{"user": user})
	}
}
