package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// Lifetimes of one-time tokens.
const (
	InvitationTTL    = 7 * 24 * time.Hour
	PasswordResetTTL = time.Hour
)

const (
	purposeInvitation = "invitation"
	purposeReset      = "password_reset"
)

// Paths of the portal pages the links open; the page posts the token to
// /auth/activate or /auth/password-reset/confirm.
const (
	ActivatePath = "/activate"
	ResetPath    = "/reset-password"
)

// issueToken stores the hash of a new one-time token and returns the token.
func issueToken(ctx context.Context, db store.DBTX, userID int64, purpose string, now time.Time, ttl time.Duration) (string, error) {
	if err := store.AuthUserTokensSpend(ctx, db, store.AuthUserTokensSpendParams{UserID: userID, Purpose: purpose, Now: ts(now)}); err != nil {
		return "", fmt.Errorf("auth: spend older tokens: %w", err)
	}
	tok := randomToken()
	err := store.AuthUserTokenCreate(ctx, db, store.AuthUserTokenCreateParams{
		UserID: userID, Purpose: purpose, TokenHash: tokenHash(tok), ExpiresAt: ts(now.Add(ttl)), Now: ts(now),
	})
	if err != nil {
		return "", fmt.Errorf("auth: store token: %w", err)
	}
	return tok, nil
}

type InviteRequest struct {
	Email            string   `json:"email"`
	AccountID        string   `json:"account_id"`
	ContactID        string   `json:"contact_id"`
	Roles            []string `json:"roles"`
	SeeChildAccounts bool     `json:"see_child_accounts"`
	Staff            bool     `json:"staff"`
}

// Invite creates an invited user (or refreshes the invitation of one not
// yet activated) and returns the activation link, for the CLI to print.
// The API mails it instead (InviteTx).
func Invite(ctx context.Context, db store.DBTX, nu NewUser, linkBase string, now time.Time) (User, string, error) {
	row, err := inviteUser(ctx, db, nu, now)
	if err != nil {
		return User{}, "", err
	}
	tok, err := issueToken(ctx, db, row.ID, purposeInvitation, now, InvitationTTL)
	if err != nil {
		return User{}, "", err
	}
	return userFromRow(row), linkBase + ActivatePath + "?token=" + tok, nil
}

// inviteUser creates an invited user, or finds the one whose invitation is
// refreshed.
func inviteUser(ctx context.Context, db store.DBTX, nu NewUser, now time.Time) (store.AuthUser, error) {
	nu.Invited, nu.Password, nu.Now = true, "", now
	if nu.TenantID == 0 {
		var err error
		if nu.TenantID, err = defaultTenant(ctx, db); err != nil {
			return store.AuthUser{}, err
		}
	}
	// The request is checked in full even when it only refreshes an
	// invitation: a re-invite must not be a way around the checks.
	params, err := checkNewUser(nu)
	if err != nil {
		return store.AuthUser{}, err
	}
	// Looked up first rather than caught as a unique violation, which
	// would abort the caller's transaction.
	row, err := store.AuthUserByEmail(ctx, db, store.AuthUserByEmailParams{TenantID: nu.TenantID, Email: params.Email})
	switch {
	case err == nil && (row.Status != "invited" || row.Staff != params.Staff || row.AccountID.String != params.AccountID.String):
		// Active, or pending in another account (or as staff): the same
		// answer either way, so another account's invitations cannot be
		// probed, refreshed or taken over.
		return store.AuthUser{}, fmt.Errorf("%s: %w", params.Email, ErrDuplicate)
	case errors.Is(err, store.ErrNotFound):
		row, err = createUser(ctx, db, nu)
	}
	return row, err
}

func (s *Service) handleInvite(w http.ResponseWriter, r *http.Request) {
	var in InviteRequest
	if !s.decode(w, r, &in) {
		return
	}
	user, err := s.InviteUser(r, in)
	var v *ValidationError
	if errors.Is(err, ErrForbidden) && errors.As(err, &v) {
		s.rp.Error(w, r, http.StatusForbidden, "forbidden", "you may grant only rights you hold, in your own account", v.Fields...)
		return
	}
	if !s.userError(w, r, err) {
		return
	}
	s.rp.JSON(w, r, http.StatusCreated, map[string]any{"user": user})
}

// InviteUser invites a user (or refreshes the invitation of one not yet
// activated) and queues the invitation mail, as the request's principal:
// an account admin invites into their own account only, granting only
// rights they hold (else an error wrapping ErrForbidden and a
// *ValidationError naming the fields). Bad input is a *ValidationError,
// an email already used ErrDuplicate.
func (s *Service) InviteUser(r *http.Request, in InviteRequest) (User, error) {
	p := PrincipalFrom(r.Context())
	if p == nil || !p.HasRole(RoleAccountAdmin, RoleOperatorAdmin) || (!p.Staff && p.AccountID == "") {
		return User{}, fmt.Errorf("%w: only an account admin or an operator admin invites", ErrForbidden)
	}
	if v := beyondRights(p, in, s.roleCovered); v.err() != nil {
		return User{}, fmt.Errorf("%w: %w", ErrForbidden, v)
	}
	if !p.Staff {
		in.AccountID = p.AccountID
	}
	user, err := s.invite(r.Context(), in)
	if err != nil {
		return User{}, err
	}
	s.audit(r, Event{Action: "auth.invite", Object: "user", ObjectID: strconv.FormatInt(user.ID, 10),
		Detail: map[string]string{"email": user.Email, "account_id": user.AccountID}})
	return user, nil
}

// invite checks the contact of in against its account, then invites as
// InviteTx does; the caller has checked the inviter's rights.
func (s *Service) invite(ctx context.Context, in InviteRequest) (User, error) {
	if err := s.contactOfAccount(ctx, in); err != nil {
		return User{}, err
	}
	nu := NewUser{TenantID: s.tenantID, Email: in.Email, AccountID: in.AccountID, ContactID: in.ContactID,
		Roles: in.Roles, Staff: in.Staff, SeeChildAccounts: in.SeeChildAccounts}
	var user User
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		user, err = s.InviteTx(ctx, tx, nu)
		return err
	})
	return user, err
}

// beyondRights lists what an invitation would grant beyond the inviter's
// own rights. Staff hold every right; an account admin invites into their
// own account only, with roles whose rights they hold (by name, or because
// covered says the mappings give that role nothing the inviter's roles do
// not reach; unknown roles are left to checkNewUser) and the child accounts
// only if they see them.
func beyondRights(p *Principal, in InviteRequest, covered func(held []string, role string) bool) *ValidationError {
	v := &ValidationError{}
	if p.Staff {
		return v
	}
	if in.Staff {
		v.add("staff", "only staff may invite staff")
	}
	if in.AccountID != "" && in.AccountID != p.AccountID {
		v.add("account_id", "must be your own account")
	}
	for i, role := range in.Roles {
		role = strings.TrimSpace(role) // as checkNewUser takes it
		if slices.Contains(AccountRoles, role) && !grantable(p, role, covered) {
			v.add(fmt.Sprintf("roles[%d]", i), "you do not hold the role %s", role)
		}
	}
	if in.SeeChildAccounts && !p.SeeChildAccounts {
		v.add("see_child_accounts", "you do not see the child accounts yourself")
	}
	return v
}

// grantable reports whether p may grant role: staff any, an account user
// a role they hold, or one whose rights covered says their roles reach.
func grantable(p *Principal, role string, covered func(held []string, role string) bool) bool {
	return p.Staff || p.HasRole(role) || (covered != nil && covered(p.Roles, role))
}

// contactOfAccount refuses a contact_id that is not a contact of the
// account invited into (a *ValidationError), with the same answer whether
// the contact belongs to another account or does not exist.
func (s *Service) contactOfAccount(ctx context.Context, in InviteRequest) error {
	account, contact := strings.TrimSpace(in.AccountID), strings.TrimSpace(in.ContactID)
	if contact == "" || account == "" || in.Staff {
		return nil // nothing to check, or checkNewUser refuses it
	}
	ok := false
	if s.contactIn != nil {
		var err error
		if ok, err = s.contactIn(ctx, s.tenantID, account, contact); err != nil {
			return fmt.Errorf("invite: check contact: %w", err)
		}
	}
	if !ok {
		return invalid("contact_id", "no such contact in the account %s", account)
	}
	return nil
}

// userError answers a CreateUser-style error; it returns true when err is nil.
func (s *Service) userError(w http.ResponseWriter, r *http.Request, err error) bool {
	var v *ValidationError
	switch {
	case err == nil:
		return true
	case errors.As(err, &v):
		s.rp.Invalid(w, r, v.Fields...)
	case errors.Is(err, ErrDuplicate):
		s.rp.Error(w, r, http.StatusConflict, "conflict", "a user with this email already exists",
			reply.Field{Path: "email", Message: "already has a portal user"})
	default:
		s.rp.Internal(w, r, err)
	}
	return false
}

func (s *Service) linkBase() string {
	if s.publicURL == "" {
		return "http://localhost"
	}
	return s.publicURL
}

type tokenPasswordRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// resetConfirmRequest is a password reset. API tokens are revoked with
// the old password unless the user chooses to keep them: whoever knew the
// password may have minted some.
type resetConfirmRequest struct {
	tokenPasswordRequest
	KeepAPITokens bool `json:"keep_api_tokens"`
}

func (s *Service) handleActivate(w http.ResponseWriter, r *http.Request) {
	s.redeem(w, r, purposeInvitation, "auth.activate")
}

func (s *Service) handleResetConfirm(w http.ResponseWriter, r *http.Request) {
	s.redeem(w, r, purposeReset, "auth.password_reset")
}

var errBadToken = errors.New("auth: token invalid, used or expired")

// redeem answers an activation or a password reset from its JSON body.
func (s *Service) redeem(w http.ResponseWriter, r *http.Request, purpose, action string) {
	var in resetConfirmRequest
	var dst any = &in.tokenPasswordRequest // activation has no tokens to keep
	if purpose == purposeReset {
		dst = &in
	}
	if !s.decode(w, r, dst) {
		return
	}
	user, revoked, err := s.setPassword(r, purpose, action, in)
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		s.rp.Invalid(w, r, ve.Fields...)
		return
	case err != nil:
		s.rp.Internal(w, r, err)
		return
	}
	out := map[string]any{"user": user}
	if purpose == purposeReset {
		out["api_tokens_revoked"] = revoked
	}
	s.rp.JSON(w, r, http.StatusOK, out)
}

// Activate sets the first password of an invited user from the token of
// their invitation. A bad token or password is a *ValidationError naming
// "token" or "password", and spends nothing.
func (s *Service) Activate(r *http.Request, token, password string) (User, error) {
	u, _, err := s.setPassword(r, purposeInvitation, "auth.activate",
		resetConfirmRequest{tokenPasswordRequest: tokenPasswordRequest{Token: token, Password: password}})
	return u, err
}

// ResetPassword sets a new password from a reset token, ends the user's
// sessions and, unless keepAPITokens, revokes their API tokens (it
// returns how many). Errors as Activate.
func (s *Service) ResetPassword(r *http.Request, token, password string, keepAPITokens bool) (User, int, error) {
	return s.setPassword(r, purposeReset, "auth.password_reset",
		resetConfirmRequest{tokenPasswordRequest: tokenPasswordRequest{Token: token, Password: password}, KeepAPITokens: keepAPITokens})
}

// setPassword spends a one-time token and sets the password, in one
// transaction: a refused password leaves the token unspent.
func (s *Service) setPassword(r *http.Request, purpose, action string, in resetConfirmRequest) (User, int, error) {
	v := &ValidationError{}
	if in.Token == "" {
		v.add("token", "is required")
	}
	if in.Password == "" {
		v.add("password", "is required")
	}
	if err := v.err(); err != nil {
		return User{}, 0, err
	}
	ctx := r.Context()
	now := s.now()
	var (
		user    store.AuthUser
		revoked []int64
	)
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		uid, err := store.AuthUserTokenUse(ctx, tx, store.AuthUserTokenUseParams{TokenHash: tokenHash(in.Token), Purpose: purpose, Now: ts(now)})
		if errors.Is(err, store.ErrNotFound) {
			return errBadToken
		}
		if err != nil {
			return err
		}
		if user, err = store.AuthUserByID(ctx, tx, uid); err != nil {
			return err
		}
		if user.Status == "disabled" || (purpose == purposeReset && user.Status != "active") {
			return errBadToken
		}
		if err := CheckPassword(in.Password, user.Email); err != nil {
			return invalid("password", "%s", err)
		}
		hash, err := HashPassword(in.Password, s.hash)
		if err != nil {
			return err
		}
		if err := store.AuthUserSetPassword(ctx, tx, store.AuthUserSetPasswordParams{ID: user.ID, PasswordHash: optText(hash), Now: ts(now)}); err != nil {
			return err
		}
		if purpose == purposeReset {
			if err := store.AuthUserTokensSpend(ctx, tx, store.AuthUserTokensSpendParams{UserID: user.ID, Purpose: purpose, Now: ts(now)}); err != nil {
				return err
			}
			if !in.KeepAPITokens {
				if revoked, err = revokeAPITokens(ctx, tx, user.ID, now); err != nil {
					return err
				}
			}
			// Whoever knew the old password is logged out.
			return endAllSessions(ctx, tx, user.ID)
		}
		return nil
	})
	if errors.Is(err, errBadToken) {
		return User{}, 0, invalid("token", "is invalid, already used or expired")
	}
	if err != nil {
		return User{}, 0, err
	}
	if purpose == purposeReset {
		s.cache.invalidate("u:" + strconv.FormatInt(user.ID, 10))
	}
	user.Status = "active"
	user.PasswordHash.Valid = true
	e := Event{Action: action, Actor: actor(user.ID), ActorName: user.Email, AccountID: user.AccountID.String,
		Object: "user", ObjectID: strconv.FormatInt(user.ID, 10)}
	if purpose == purposeReset {
		e.Detail = map[string]string{"api_tokens_revoked": strconv.Itoa(len(revoked))}
	}
	s.audit(r, e)
	return userFromRow(user), len(revoked), nil
}

type resetRequest struct {
	Email string `json:"email"`
}

// handleResetRequest always answers 202 so that it reveals nothing about
// which emails have users.
func (s *Service) handleResetRequest(w http.ResponseWriter, r *http.Request) {
	var in resetRequest
	if !s.decode(w, r, &in) {
		return
	}
	var ve *ValidationError
	if err := s.RequestPasswordReset(r.Context(), in.Email); errors.As(err, &ve) {
		s.rp.Invalid(w, r, ve.Fields...)
		return
	}
	s.rp.JSON(w, r, http.StatusAccepted, map[string]string{"status": "if the email has a portal user, a reset link is on its way"})
}

// RequestPasswordReset queues a reset mail if email belongs to an active
// user. Only a missing email is an error (*ValidationError): whether the
// email has a user is never told, and a failure to queue is logged.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	if email == "" {
		return invalid("email", "is required")
	}
	email, err := normalizeEmail(email)
	if err != nil {
		return nil
	}
	if err := s.asAPI(ctx, func(tx pgx.Tx) error { return s.RequestResetTx(ctx, tx, email) }); err != nil {
		s.log.ErrorContext(ctx, "auth: password reset", "err", err)
	}
	return nil
}
