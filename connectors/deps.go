package connectors

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/porticohq/portico/internal/config"
)

// Deps is what cmd/portico hands a connector factory: the connection's
// configuration, the shared HTTP client every request must go through,
// the credential store, and a logger.
type Deps struct {
	Connection  config.ConnectionConfig
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
