package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// loginFailed is the one answer to every wrong email/password pair, so
// that a caller cannot tell an unknown email from a wrong password.
func loginFailed(w http.ResponseWriter, r *http.Request) {
	reply.Refuse(w, r, http.StatusUnauthorized, "invalid_credentials", "the email or password is incorrect")
}

// ErrBadCredentials is the one answer to every wrong email/password pair,
// so that a caller cannot tell an unknown email from a wrong password.
var ErrBadCredentials = errors.New("auth: the email or password is incorrect")

// LockedOut is a login refused by the throttle: too many failures for the
// email or the client address. Wait is how long until the next attempt.
type LockedOut struct{ Wait time.Duration }

func (e *LockedOut) Error() string {
	return fmt.Sprintf("auth: too many failed logins; try again in %s", e.Wait.Round(time.Second))
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if !s.decode(w, r, &in) {
		return
	}
	user, csrf, err := s.Login(w, r, in.Email, in.Password)
	var (
		ve     *ValidationError
		locked *LockedOut
	)
	switch {
	case errors.As(err, &ve):
		s.rp.Invalid(w, r, ve.Fields...)
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(locked.Wait.Seconds()))))
		s.rp.Error(w, r, http.StatusTooManyRequests, "too_many_attempts", "too many failed logins; try again later")
	case errors.Is(err, ErrBadCredentials):
		loginFailed(w, r)
	case err != nil:
		s.rp.Internal(w, r, err)
	default:
		s.rp.JSON(w, r, http.StatusOK, map[string]any{"user": user, "csrf_token": csrf})
	}
}

// Login checks a password login, throttled per email and per client
// address, and starts a browser session on w. It returns the user and the
// session's CSRF token; a *ValidationError for missing fields, a
// *LockedOut, or ErrBadCredentials. The JSON login and the portal's
// sign-in form both log in through it.
func (s *Service) Login(w http.ResponseWriter, r *http.Request, email, password string) (User, string, error) {
	v := &ValidationError{}
	if email == "" {
		v.add("email", "is required")
	}
	if password == "" {
		v.add("password", "is required")
	} else if len(password) > 4*MaxPasswordLength {
		v.add("password", "is too long")
	}
	if err := v.err(); err != nil {
		return User{}, "", err
	}
	ctx := r.Context()
	// Malformed emails are throttled and answered like unknown ones.
	if norm, err := normalizeEmail(email); err == nil {
		email = norm
	}
	ip := clientIP(r)
	wait, err := s.lockedOut(ctx, email, ip)
	if err != nil {
		return User{}, "", err
	}
	if wait > 0 {
		return User{}, "", &LockedOut{Wait: wait}
	}
	user, ok, err := s.checkPassword(ctx, email, password)
	if err != nil {
		return User{}, "", err
	}
	if !ok {
		if err := s.recordFailure(ctx, email, ip); err != nil {
			return User{}, "", err
		}
		s.audit(r, Event{Action: "auth.login_failed", ActorName: email, Object: "user", Detail: map[string]string{"method": "password"}})
		return User{}, "", ErrBadCredentials
	}
	if err := s.clearFailures(ctx, email); err != nil {
		return User{}, "", err
	}
	s.prune(ctx)
	csrf, err := s.loggedIn(w, r, user, "password")
	if err != nil {
		return User{}, "", err
	}
	return userFromRow(user), csrf, nil
}

// loggedIn starts the session and audits the login; it returns the
// session's CSRF token.
func (s *Service) loggedIn(w http.ResponseWriter, r *http.Request, user store.AuthUser, method string) (string, error) {
	csrf, err := s.startSession(w, r, user, method)
	if err != nil {
		return "", err
	}
	s.audit(r, Event{Action: "auth.login", Actor: actor(user.ID), ActorName: user.Email, AccountID: user.AccountID.String,
		Object: "user", ObjectID: strconv.FormatInt(user.ID, 10), Detail: map[string]string{"method": method}})
	if s.signedIn != nil {
		s.signedIn(user.ID, user.AccountID.String)
	}
	return csrf, nil
}

// checkPassword verifies a login. Unknown, disabled, invited and
// password-less users cost one argon2id verification like everyone else.
func (s *Service) checkPassword(ctx context.Context, email, password string) (store.AuthUser, bool, error) {
	var user store.AuthUser
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		user, err = store.AuthUserByEmail(ctx, tx, store.AuthUserByEmailParams{TenantID: s.tenantID, Email: email})
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return user, false, fmt.Errorf("auth: find user: %w", err)
	}
	hash := s.dummyHash
	usable := err == nil && user.Status == "active" && user.PasswordHash.Valid
	if usable {
		hash = user.PasswordHash.String
	}
	ok, verr := VerifyPassword(password, hash)
	if verr != nil {
		return user, false, verr
	}
	return user, ok && usable, nil
}

func emailKey(email string) string { return "email:" + email }
func ipKey(ip string) string       { return "ip:" + ip }

// lockedOut returns how long until the next login attempt is allowed for
// this email or address; zero when it is allowed now.
func (s *Service) lockedOut(ctx context.Context, email, ip string) (time.Duration, error) {
	now := s.now()
	since := now.Add(-s.throttle.Window)
	var wait time.Duration
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		for key, limit := range map[string]int{emailKey(email): s.throttle.PerEmail, ipKey(ip): s.throttle.PerIP} {
			n, err := store.AuthLoginFailureCount(ctx, tx, store.AuthLoginFailureCountParams{TenantID: s.tenantID, Key: key, Since: ts(since)})
			if err != nil {
				return err
			}
			if n < int64(limit) {
				continue
			}
			oldest, err := store.AuthLoginFailureOldest(ctx, tx, store.AuthLoginFailureOldestParams{TenantID: s.tenantID, Key: key, Since: ts(since)})
			if err != nil {
				return err
			}
			wait = max(wait, oldest.Time.Add(s.throttle.Window).Sub(now), time.Second)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("auth: login throttle: %w", err)
	}
	return wait, nil
}

func (s *Service) recordFailure(ctx context.Context, email, ip string) error {
	now := ts(s.now())
	return s.asAPI(ctx, func(tx pgx.Tx) error {
		for _, key := range []string{emailKey(email), ipKey(ip)} {
			if err := store.AuthLoginFailureRecord(ctx, tx, store.AuthLoginFailureRecordParams{TenantID: s.tenantID, Key: key, Now: now}); err != nil {
				return fmt.Errorf("auth: record failed login: %w", err)
			}
		}
		return nil
	})
}

// clearFailures forgets the email's failures after a successful login
// (the address's stay: one good password must not reset a spraying
// client's count), and prunes failures older than the window.
func (s *Service) clearFailures(ctx context.Context, email string) error {
	before := ts(s.now().Add(-s.throttle.Window))
	return s.asAPI(ctx, func(tx pgx.Tx) error {
		return store.AuthLoginFailureClear(ctx, tx, store.AuthLoginFailureClearParams{TenantID: s.tenantID, Key: emailKey(email), Before: before})
	})
}
