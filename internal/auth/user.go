package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/store"
)

// ErrNotFound means no such user, token or session.
var ErrNotFound = errors.New("auth: not found")

// ErrDuplicate means the tenant already has a user with that email.
var ErrDuplicate = errors.New("auth: a user with this email already exists")

// User is a portal user as the API shows it (never the password hash).
type User struct {
	ID               int64      `json:"id"`
	TenantID         int64      `json:"tenant_id"`
	Email            string     `json:"email"`
	AccountID        string     `json:"account_id,omitempty"`
	ContactID        string     `json:"contact_id,omitempty"`
	Roles            []string   `json:"roles"`
	Staff            bool       `json:"staff"`
	SeeChildAccounts bool       `json:"see_child_accounts"`
	Status           string     `json:"status"`
	HasPassword      bool       `json:"has_password"`
	CreatedAt        time.Time  `json:"created_at"`
	LastLoginAt      *time.Time `json:"last_login_at,omitempty"`
}

func userFromRow(u store.AuthUser) User {
	out := User{
		ID: u.ID, TenantID: u.TenantID, Email: u.Email,
		AccountID: u.AccountID.String, ContactID: u.ContactID.String,
		Roles: u.Roles, Staff: u.Staff, SeeChildAccounts: u.SeeChildAccounts,
		Status: u.Status, HasPassword: u.PasswordHash.Valid, CreatedAt: u.CreatedAt.Time,
	}
	if u.LastLoginAt.Valid {
		t := u.LastLoginAt.Time
		out.LastLoginAt = &t
	}
	return out
}

func principalFromRow(u store.AuthUser) *Principal {
	return &Principal{
		UserID: u.ID, TenantID: u.TenantID, AccountID: u.AccountID.String, ContactID: u.ContactID.String,
		Email: u.Email, Roles: u.Roles, Staff: u.Staff, SeeChildAccounts: u.SeeChildAccounts, Locale: u.Locale,
	}
}

// NewUser describes a user to create.
type NewUser struct {
	TenantID int64 // 0: the "default" tenant
	Email    string
	// Password, when set, must pass the policy; empty leaves the user
	// without a local password (single sign-on, or a reset later).
	Password         string
	AccountID        string
	ContactID        string
	Roles            []string
	Staff            bool
	SeeChildAccounts bool
	// Invited creates the user waiting for activation.
	Invited bool
	// HashParams zero means DefaultHashParams.
	HashParams HashParams
	Now        time.Time // zero: time.Now()
}

// CreateUser validates and inserts a user. Bad input is a
// *ValidationError whose paths are email, password, account_id,
// contact_id, roles and staff; an existing email is ErrDuplicate.
func CreateUser(ctx context.Context, db store.DBTX, nu NewUser) (User, error) {
	row, err := createUser(ctx, db, nu)
	if err != nil {
		return User{}, err
	}
	return userFromRow(row), nil
}

func createUser(ctx context.Context, db store.DBTX, nu NewUser) (store.AuthUser, error) {
	params, err := checkNewUser(nu)
	if err != nil {
		return store.AuthUser{}, err
	}
	if params.TenantID == 0 {
		if params.TenantID, err = defaultTenant(ctx, db); err != nil {
			return store.AuthUser{}, err
		}
	}
	if nu.Password != "" {
		hp := nu.HashParams
		if hp == (HashParams{}) {
			hp = DefaultHashParams
		}
		hash, err := HashPassword(nu.Password, hp)
		if err != nil {
			return store.AuthUser{}, err
		}
		params.PasswordHash = pgtype.Text{String: hash, Valid: true}
	}
	row, err := store.AuthUserCreate(ctx, db, params)
	if errors.Is(err, store.ErrConflict) {
		return row, fmt.Errorf("%s: %w", params.Email, ErrDuplicate)
	}
	if err != nil {
		return row, fmt.Errorf("auth: create user: %w", err)
	}
	return row, nil
}

// Validate checks nu without touching the database (CreateUser checks it
// again); errors are *ValidationError.
func (nu NewUser) Validate() error {
	_, err := checkNewUser(nu)
	return err
}

func checkNewUser(nu NewUser) (store.AuthUserCreateParams, error) {
	v := &ValidationError{}
	email, err := normalizeEmail(nu.Email)
	if err != nil {
		v.add("email", "%s", err)
	}
	roles := dedupe(nu.Roles)
	switch {
	case nu.Staff:
		if nu.AccountID != "" {
			v.add("account_id", "must be empty for staff users")
		}
		if nu.ContactID != "" {
			v.add("contact_id", "must be empty for staff users")
		}
		if len(roles) > 1 || (len(roles) == 1 && roles[0] != RoleOperatorAdmin) {
			v.add("roles", "staff users hold only %s", RoleOperatorAdmin)
		}
		roles = []string{RoleOperatorAdmin}
	default:
		if strings.TrimSpace(nu.AccountID) == "" {
			v.add("account_id", "is required (the CRM account id) for a customer user")
		}
		if len(roles) == 0 {
			v.add("roles", "needs at least one of %s", strings.Join(AccountRoles, ", "))
		}
		for _, r := range roles {
			if !slices.Contains(AccountRoles, r) {
				v.add("roles", "unknown role %q; use %s", r, strings.Join(AccountRoles, ", "))
			}
		}
	}
	if nu.Password != "" {
		if err := CheckPassword(nu.Password, email); err != nil {
			v.add("password", "%s", err)
		}
	}
	if err := v.err(); err != nil {
		return store.AuthUserCreateParams{}, err
	}
	now := nu.Now
	if now.IsZero() {
		now = time.Now()
	}
	status := "active"
	if nu.Invited {
		status = "invited"
	}
	return store.AuthUserCreateParams{
		TenantID: nu.TenantID, Email: email, Roles: roles, Staff: nu.Staff,
		AccountID:        optText(strings.TrimSpace(nu.AccountID)),
		ContactID:        optText(strings.TrimSpace(nu.ContactID)),
		SeeChildAccounts: nu.SeeChildAccounts, Status: status, Now: ts(now),
	}, nil
}

// ListUsers returns the tenant's users, optionally of one account.
func ListUsers(ctx context.Context, db store.DBTX, tenantID int64, accountID string) ([]User, error) {
	if tenantID == 0 {
		var err error
		if tenantID, err = defaultTenant(ctx, db); err != nil {
			return nil, err
		}
	}
	rows, err := store.AuthUserList(ctx, db, store.AuthUserListParams{TenantID: tenantID, AccountID: optText(accountID)})
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = userFromRow(r)
	}
	return out, nil
}

// DisableUser stops a user from logging in and ends their sessions and
// API tokens' use (tokens of a disabled user no longer authenticate).
func DisableUser(ctx context.Context, db store.DBTX, tenantID int64, email string, now time.Time) (User, error) {
	if tenantID == 0 {
		var err error
		if tenantID, err = defaultTenant(ctx, db); err != nil {
			return User{}, err
		}
	}
	norm, err := normalizeEmail(email)
	if err != nil {
		return User{}, invalid("email", "%s", err)
	}
	row, err := store.AuthUserSetStatus(ctx, db, store.AuthUserSetStatusParams{TenantID: tenantID, Email: norm, Status: "disabled", Now: ts(now)})
	if errors.Is(err, store.ErrNotFound) {
		return User{}, fmt.Errorf("%s: %w", norm, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: disable user: %w", err)
	}
	if err := endAllSessions(ctx, db, row.ID); err != nil {
		return User{}, err
	}
	return userFromRow(row), nil
}

// userByEmail is the tenant's user of the email; ErrNotFound for none.
func userByEmail(ctx context.Context, db store.DBTX, tenantID int64, email string) (User, error) {
	norm, err := normalizeEmail(email)
	if err != nil {
		return User{}, invalid("email", "%s", err)
	}
	row, err := store.AuthUserByEmail(ctx, db, store.AuthUserByEmailParams{TenantID: tenantID, Email: norm})
	if errors.Is(err, store.ErrNotFound) {
		return User{}, fmt.Errorf("%s: %w", norm, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: user %s: %w", norm, err)
	}
	return userFromRow(row), nil
}

// EnableUser lets a disabled user sign in again: active when they have
// signed in before or hold a password, else invited again (their
// invitation can be sent anew). A user who is not disabled is
// ErrNotDisabled.
func EnableUser(ctx context.Context, db store.DBTX, tenantID int64, email string, now time.Time) (User, error) {
	u, err := userByEmail(ctx, db, tenantID, email)
	if err != nil {
		return User{}, err
	}
	if u.Status != "disabled" {
		return User{}, fmt.Errorf("%s is %s: %w", u.Email, u.Status, ErrNotDisabled)
	}
	status := "invited"
	if u.HasPassword || u.LastLoginAt != nil {
		status = "active"
	}
	row, err := store.AuthUserSetStatus(ctx, db, store.AuthUserSetStatusParams{TenantID: tenantID, Email: u.Email, Status: status, Now: ts(now)})
	if err != nil {
		return User{}, fmt.Errorf("auth: enable user: %w", err)
	}
	return userFromRow(row), nil
}

// SetUserRoles gives a customer user exactly roles (staff users hold
// operator_admin alone: a *ValidationError on roles). The account keeps an
// active account admin: taking the role from the last one is ErrLastAdmin
// with a *ValidationError on roles.
func SetUserRoles(ctx context.Context, db store.DBTX, tenantID int64, email string, roles []string, now time.Time) (User, error) {
	u, err := userByEmail(ctx, db, tenantID, email)
	if err != nil {
		return User{}, err
	}
	if u.Staff {
		return User{}, invalid("roles", "staff users hold only %s", RoleOperatorAdmin)
	}
	v := &ValidationError{}
	want := dedupe(roles)
	if len(want) == 0 {
		v.add("roles", "needs at least one of %s", strings.Join(AccountRoles, ", "))
	}
	for i, role := range roles {
		if role = strings.TrimSpace(role); !slices.Contains(AccountRoles, role) {
			v.add(fmt.Sprintf("roles[%d]", i), "unknown role %q; use %s", role, strings.Join(AccountRoles, ", "))
		}
	}
	if err := v.err(); err != nil {
		return User{}, err
	}
	return storeRoles(ctx, db, u, want, now)
}

// storeRoles stores want as u's roles, refusing to leave u's account
// without an active account admin (the account's admins are locked
// while it looks).
func storeRoles(ctx context.Context, db store.DBTX, u User, want []string, now time.Time) (User, error) {
	if slices.Contains(u.Roles, RoleAccountAdmin) && !slices.Contains(want, RoleAccountAdmin) && u.Status == "active" {
		admins, err := store.AuthAccountAdminsLock(ctx, db, store.AuthAccountAdminsLockParams{TenantID: u.TenantID,
			AccountID: optText(u.AccountID)})
		if err != nil {
			return User{}, fmt.Errorf("auth: account admins: %w", err)
		}
		if !slices.ContainsFunc(admins, func(a int64) bool { return a != u.ID }) {
			return User{}, fmt.Errorf("%w: %w", ErrLastAdmin,
				invalid("roles", "the account needs an active %s; make another user one first", RoleAccountAdmin))
		}
	}
	row, err := store.AuthUserSetRoles(ctx, db, store.AuthUserSetRolesParams{ID: u.ID, TenantID: u.TenantID, Roles: want, Now: ts(now)})
	if err != nil {
		return User{}, fmt.Errorf("auth: set roles: %w", err)
	}
	return userFromRow(row), nil
}

func endAllSessions(ctx context.Context, db store.DBTX, userID int64) error {
	if err := store.AuthWebSessionsDeleteForUser(ctx, db, userID); err != nil {
		return fmt.Errorf("auth: end sessions: %w", err)
	}
	if _, err := store.AuthSessionsDeleteForUser(ctx, db, userID); err != nil {
		return fmt.Errorf("auth: end sessions: %w", err)
	}
	return nil
}

// revokeAPITokens revokes every live API token of a user and returns
// their ids. Committed, the cache trigger tells every process.
func revokeAPITokens(ctx context.Context, db store.DBTX, userID int64, now time.Time) ([]int64, error) {
	ids, err := store.AuthAPITokensRevokeForUser(ctx, db, store.AuthAPITokensRevokeForUserParams{UserID: userID, Now: ts(now)})
	if err != nil {
		return nil, fmt.Errorf("auth: revoke api tokens: %w", err)
	}
	return ids, nil
}

func defaultTenant(ctx context.Context, db store.DBTX) (int64, error) {
	t, err := store.TenantBySlug(ctx, db, "default")
	if err != nil {
		return 0, fmt.Errorf("auth: default tenant: %w", err)
	}
	return t.ID, nil
}

// normalizeEmail lower-cases a bare address and refuses anything else
// (display names, several addresses).
func normalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", errors.New("is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", errors.New("must be an email address such as ana@example.com")
	}
	return s, nil
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func optText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

func ts(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: true} }
