package connectors

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// Deps is what cmd/portico hands a connector factory: the connection's
// settings, the shared HTTP client every request must go through, the
// credential store, and a logger.
type Deps struct {
	Connection  Connection
	HTTP        HTTPDoer
	Credentials CredentialStore
	// Logger already carries the connection attribute (internal/sources
	// adds it); a connector must not add it again.
	Logger *slog.Logger
}

// HTTPDoer sends one request. connectors/httpclient implements it with
// retries, the circuit breaker and the quota budget; the response body is
// already read and size-capped, so callers may read it without a deadline.
type HTTPDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Credentials are what a connection authenticates with. Secrets never
// appear in logs.
type Credentials struct {
	AccessToken  string            `json:"access_token,omitempty"`
	RefreshToken string            `json:"refresh_token,omitempty"`
	Expiry       time.Time         `json:"expiry,omitzero"`
	InstanceURL  string            `json:"instance_url,omitempty"`
	Realm        string            `json:"realm,omitempty"`
	Extra        map[string]string `json:"extra,omitempty"`
}

// ErrNoCredentials means nothing is stored for the connection yet.
var ErrNoCredentials = errors.New("no stored credentials")

// CredentialStore keeps a connection's credentials durably. Save returns
// only once the value is committed: a connector that receives a rotated
// refresh token saves it before using the new access token, so a crash
// never loses the only valid refresh token.
type CredentialStore interface {
	Load(ctx context.Context, connection string) (Credentials, error)
	Save(ctx context.Context, connection string, c Credentials) error
}

// Connection is what a connector knows of its configured connection: who
// it is and how it authenticates. Tuning (retries, breaker, quota,
// timeouts) is the shared HTTP client's, not the connector's.
type Connection struct {
	Name    string
	BaseURL string
	// TokenURL is the OAuth2 token endpoint; empty means BaseURL's default.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// RefreshToken seeds the credential store on first start.
	RefreshToken string
	// AccessToken is a static bearer token (Square-style).
	AccessToken string
	// Realm is the company or organization id the source names.
	Realm string
	// WebhookSecret verifies inbound change notices; empty turns them off.
	WebhookSecret string
	// Fields lists, per source object, the source paths the loaded mappings
	// read (dotted for a related record's field: "Account.Name"; "*" when a
	// transform reads the whole record). A connector that can choose what a
	// read returns builds its select from them, plus what the sync itself
	// needs; for an object not listed, or with a nil map, it reads its own
	// default fields.
	Fields map[string][]string
	// Settings are the connector's own keys from the connection's `settings:`
	// (each connector documents and checks its keys; an unknown key is an
	// error of the factory).
	Settings map[string]string
}
