package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// Staff administration: what operator staff do to any user of the tenant,
// from the operator console and /admin/users. The caller has admitted the
// request as staff (the console's and /admin's guards); by is who acts as
// the audit log names them ("staff:42", "token:admin"). A principal on the
// request, when there is one, cannot disable themselves.

// ErrNotDisabled is enabling a user who is not disabled.
var ErrNotDisabled = errors.New("auth: the user is not disabled")

// StaffUser is user id of the tenant (ErrNotFound if there is none).
func (s *Service) StaffUser(ctx context.Context, id int64) (User, error) {
	var u User
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		row, err := store.AuthUserByID(ctx, tx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && row.TenantID != s.tenantID) {
			return fmt.Errorf("user %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("auth: user %d: %w", id, err)
		}
		u = userFromRow(row)
		return nil
	})
	return u, err
}

// StaffListUsers lists the tenant's users, of one account when accountID
// is not empty.
func (s *Service) StaffListUsers(ctx context.Context, accountID string) ([]User, error) {
	var out []User
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = ListUsers(ctx, tx, s.tenantID, strings.TrimSpace(accountID))
		return err
	})
	return out, err
}

// StaffInviteUser invites a user into any account, or a staff user
// (operator_admin), and queues the invitation mail, as `portico users
// invite` does. Bad input is a *ValidationError (contact_id is checked
// against the account), an email already used ErrDuplicate.
func (s *Service) StaffInviteUser(r *http.Request, by string, in InviteRequest) (User, error) {
	u, err := s.invite(r.Context(), in)
	if err != nil {
		return User{}, err
	}
	s.staffAudit(r, by, "auth.invite", u, nil, map[string]string{"status": u.Status, "roles": strings.Join(u.Roles, ",")})
	return u, nil
}

// StaffResendInvitation sends user id's invitation again with a fresh
// link; a user who is not invited (active or disabled) is ErrNotInvited.
func (s *Service) StaffResendInvitation(r *http.Request, by string, id int64) (User, error) {
	u, err := s.StaffUser(r.Context(), id)
	if err != nil {
		return User{}, err
	}
	if u.Status != "invited" {
		return User{}, fmt.Errorf("%s is %s: %w", u.Email, u.Status, ErrNotInvited)
	}
	return s.StaffInviteUser(r, by, InviteRequest{Email: u.Email, AccountID: u.AccountID, ContactID: u.ContactID,
		Roles: u.Roles, Staff: u.Staff, SeeChildAccounts: u.SeeChildAccounts})
}

// StaffDisableUser disables user id, ending their sessions and their API
// tokens' use, as `portico users disable` does. Staff cannot disable
// themselves (ErrForbidden); a disabled user is left as they are.
func (s *Service) StaffDisableUser(r *http.Request, by string, id int64) (User, error) {
	ctx := r.Context()
	u, err := s.StaffUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	if p := PrincipalFrom(ctx); p != nil && p.UserID == u.ID {
		return User{}, fmt.Errorf("%w: you cannot disable yourself", ErrForbidden)
	}
	if u.Status == "disabled" {
		return u, nil
	}
	before := u.Status
	err = s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = DisableUser(ctx, tx, s.tenantID, u.Email, s.now())
		return err
	})
	if err != nil {
		return User{}, err
	}
	s.staffAudit(r, by, "auth.user_disable", u, map[string]string{"status": before}, map[string]string{"status": u.Status})
	return u, nil
}

// StaffEnableUser lets a disabled user sign in again (EnableUser). A user
// who is not disabled is ErrNotDisabled.
func (s *Service) StaffEnableUser(r *http.Request, by string, id int64) (User, error) {
	ctx := r.Context()
	u, err := s.StaffUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	err = s.asAPI(ctx, func(tx pgx.Tx) error {
		u, err = EnableUser(ctx, tx, s.tenantID, u.Email, s.now())
		return err
	})
	if err != nil {
		return User{}, err
	}
	s.staffAudit(r, by, "auth.user_enable", u, map[string]string{"status": "disabled"}, map[string]string{"status": u.Status})
	return u, nil
}

// StaffSetUserRoles gives customer user id exactly roles (SetUserRoles).
func (s *Service) StaffSetUserRoles(r *http.Request, by string, id int64, roles []string) (User, error) {
	ctx := r.Context()
	u, err := s.StaffUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	before := strings.Join(u.Roles, ",")
	err = s.asAPI(ctx, func(tx pgx.Tx) error {
		u, err = SetUserRoles(ctx, tx, s.tenantID, u.Email, roles, s.now())
		return err
	})
	if err != nil {
		return User{}, err
	}
	s.staffAudit(r, by, "auth.user_roles", u, map[string]string{"roles": before}, map[string]string{"roles": strings.Join(u.Roles, ",")})
	return u, nil
}

// setRoles stores want as u's roles, refusing to leave u's account
// without an active account admin.
func (s *Service) setRoles(ctx context.Context, u User, want []string) (User, error) {
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = storeRoles(ctx, tx, u, want, s.now())
		return err
	})
	return u, err
}

// staffAudit records a staff change to user u, with what it was before
// and is after.
func (s *Service) staffAudit(r *http.Request, by, action string, u User, before, after map[string]string) {
	detail := map[string]string{"email": u.Email, "account_id": u.AccountID}
	maps.Copy(detail, after)
	s.audit(r, Event{Actor: by, Action: action, Object: "user", ObjectID: strconv.FormatInt(u.ID, 10), AccountID: u.AccountID,
		Detail: detail, Before: before})
}

// AdminRoutes is /admin/users, the staff methods for scripts: list and
// read users, invite (201), send an invitation again, set a customer's
// roles, disable and enable.
// by names who acts for the audit log ("staff:42", "token:admin").
func (s *Service) AdminRoutes(by func(*http.Request) string) chi.Router {
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		users, err := s.StaffListUsers(r.Context(), r.URL.Query().Get("account"))
		if err != nil {
			s.rp.Internal(w, r, err)
			return
		}
		s.rp.JSON(w, r, http.StatusOK, map[string]any{"users": users})
	})
	r.Post("/", func(w http.ResponseWriter, r *http.Request) {
		var in InviteRequest
		if !s.decode(w, r, &in) {
			return
		}
		u, err := s.StaffInviteUser(r, by(r), in)
		if s.userError(w, r, err) {
			s.rp.JSON(w, r, http.StatusCreated, map[string]any{"user": u})
		}
	})
	one := func(act func(r *http.Request, id int64) (User, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
			if err != nil || id <= 0 {
				s.rp.Invalid(w, r, reply.Field{Path: "id", Message: "must be a positive integer"})
				return
			}
			u, err := act(r, id)
			switch {
			case errors.Is(err, ErrNotFound):
				s.rp.Error(w, r, http.StatusNotFound, "not_found", "no such user")
			case errors.Is(err, ErrForbidden):
				s.rp.Error(w, r, http.StatusForbidden, "forbidden", "you cannot disable yourself")
			case errors.Is(err, ErrNotDisabled):
				s.rp.Error(w, r, http.StatusConflict, "conflict", "the user is not disabled")
			case errors.Is(err, ErrNotInvited):
				s.rp.Error(w, r, http.StatusConflict, "not_invited", "the user is not waiting for an invitation")
			case s.userError(w, r, err):
				s.rp.JSON(w, r, http.StatusOK, map[string]any{"user": u})
			}
		}
	}
	r.Get("/{id}", one(func(r *http.Request, id int64) (User, error) { return s.StaffUser(r.Context(), id) }))
	r.Put("/{id}/roles", func(w http.ResponseWriter, r *http.Request) {
		var in RolesRequest
		if !s.decode(w, r, &in) {
			return
		}
		one(func(r *http.Request, id int64) (User, error) { return s.StaffSetUserRoles(r, by(r), id, in.Roles) })(w, r)
	})
	r.Post("/{id}/disable", one(func(r *http.Request, id int64) (User, error) { return s.StaffDisableUser(r, by(r), id) }))
	r.Post("/{id}/resend", one(func(r *http.Request, id int64) (User, error) { return s.StaffResendInvitation(r, by(r), id) }))
	r.Post("/{id}/enable", one(func(r *http.Request, id int64) (User, error) { return s.StaffEnableUser(r, by(r), id) }))
	return r
}
