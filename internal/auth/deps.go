package auth

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/config"
)

// Deps is what the auth service needs from the process.
type Deps struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Config is complete, as config.Load leaves it: New fills no default
	// and refuses a zero timeout or throttle (config.Default().Auth for
	// tests).
	Config config.AuthConfig
	// PublicURL is http.public_url: the base of invitation and reset links,
	// and an https URL turns on Secure cookies.
	PublicURL string
	// TenantID is the tenant whose users log in here; 0 means the tenant
	// with slug "default".
	TenantID int64

	// Insert queues invitation and reset mail in the caller's transaction
	// (the process's River client's InsertTx); nil: an insert-only River
	// client on Pool. internal/mail works the jobs.
	Insert  InsertFunc
	Auditor Auditor // nil: events are only logged at debug
	// SignedIn, if set, is told of every sign-in (password or single
	// sign-on) after its session starts, for the reports' active users;
	// it must return at once (reports.Recorder queues).
	SignedIn func(userID int64, accountID string)
	// ContactByEmail finds the CRM contact for an email, for single sign-on
	// with auth.unknown_oidc_email: match_contact.
	ContactByEmail func(ctx context.Context, tenantID int64, email string) (accountID, contactID string, ok bool, err error)
	// ContactInAccount reports whether the CRM contact belongs to the
	// account, so that an invitation names only a contact of the account
	// it invites into. Nil refuses every invitation that names a contact.
	ContactInAccount func(ctx context.Context, tenantID int64, accountID, contactID string) (bool, error)
	// RoleCovered reports whether the roles held reach everything role
	// reaches (the loaded mappings' Covers), so that an account admin may
	// invite a member without holding "member" by name. Nil: only roles
	// held by name may be granted.
	RoleCovered func(held []string, role string) bool

	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time
	// HashParams are argon2id's costs; zero means DefaultHashParams.
	HashParams HashParams
	// HTTPClient reaches the OIDC provider; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Message is one outgoing email. Link is the action URL, also inside Body,
// kept separate so tests and other channels can use it directly: it is a
// live credential, never to be logged outside development.
type Message struct {
	To      string
	Subject string
	Body    string
	Link    string
	Kind    string // "invitation" or "password_reset"
}

// Auditor records security events. The audit log implements it.
type Auditor interface {
	Record(ctx context.Context, e Event) error
}

// Event is one audited identity event.
type Event struct {
	At        time.Time
	TenantID  int64
	Actor     string // "user:42", or "" when nobody is logged in
	ActorName string // the actor's email, or the email a failed login gave
	AccountID string
	IP        string
	UserAgent string
	// Action is auth.login, auth.login_failed, auth.logout,
	// auth.logout_all, auth.invite, auth.activate, auth.password_reset,
	// auth.token_create or auth.token_revoke.
	Action   string
	Object   string // "user", "session" or "api_token"
	ObjectID string
	Detail   map[string]string
	// Before is what a change replaced (a user's roles or status before
	// a staff change); nil for none.
	Before map[string]string
}
