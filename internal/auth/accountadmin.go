package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// ErrNotInvited is a user whose invitation cannot be sent again: they
// have activated it, or are disabled.
var ErrNotInvited = errors.New("auth: the user is not waiting for an invitation")

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
