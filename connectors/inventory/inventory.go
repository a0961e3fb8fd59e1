package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/wire"
)

// SquareVersion pins the API version the connector was written against.
const SquareVersion = "2025-01-23"

// Options tunes the connector; zero values mean the defaults.
type Options struct {
	// Overlap is how far before the cursor an incremental pull starts
	// (default 2m).
	Overlap time.Duration
	// PageSize is the limit asked per page (default 100, capped per
	// endpoint at what Square allows).
	PageSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Connector talks to one Square seller account.
type Connector struct {
	conn  connectors.Connection
	http  connectors.HTTPDoer
	creds connectors.CredentialStore
	log   *slog.Logger
	opts  Options
	wire  *wire.Caller

	mu        sync.Mutex
	token     string
	locations []string
}

// New is the registry factory.
func New(deps connectors.Deps) (connectors.Connector, error) {
	return NewWithOptions(deps, Options{})
}

// NewWithOptions builds a connector with non-default tuning.
func NewWithOptions(deps connectors.Deps, opts Options) (*Connector, error) {
	log, err := wire.Check("inventory", deps)
	if err != nil {
		return nil, err
	}
	if opts.Overlap <= 0 {
		opts.Overlap = 2 * time.Minute
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Connector{conn: deps.Connection, http: deps.HTTP, creds: deps.Credentials, log: log, opts: opts,
		token: deps.Connection.AccessToken}
	c.wire = &wire.Caller{Name: "inventory", HTTP: deps.HTTP, Token: c.bearer,
		URL:    func(path string) (string, error) { return strings.TrimRight(c.conn.BaseURL, "/") + path, nil },
		Header: http.Header{"Square-Version": {SquareVersion}}}
	// Without a refresh token an expired access token needs the operator:
	// a 401 is answered as it is.
	if c.conn.RefreshToken != "" || c.creds != nil {
		c.wire.Renew = c.renew
	}
	return c, nil
}

// bearer returns the access token in use: the configured one, else one
// renewed earlier and stored, else a new one from the refresh token.
func (c *Connector) bearer(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	if c.creds != nil {
		cr, err := c.creds.Load(ctx, c.conn.Name)
		switch {
		case err == nil && cr.AccessToken != "":
			tok = cr.AccessToken
			c.mu.Lock()
			c.token = tok
			c.mu.Unlock()
		case err != nil && !errors.Is(err, connectors.ErrNoCredentials):
			return "", fmt.Errorf("inventory: load credentials: %w", err)
		}
	}
	if tok == "" {
		if c.conn.RefreshToken == "" {
			return "", connectors.Classify(connectors.ErrAuthExpired, errors.New("inventory: no access token configured"))
		}
		return c.renew(ctx, "")
	}
	return tok, nil
}

// renew uses the OAuth refresh token, when one is configured, to replace
// an expired access token. Without one, an expired token needs the
// operator.
func (c *Connector) renew(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.token != stale {
		return c.token, nil
	}
	refresh := c.conn.RefreshToken
	if c.creds != nil {
		if cr, err := c.creds.Load(ctx, c.conn.Name); err == nil && cr.RefreshToken != "" {
			refresh = cr.RefreshToken
		}
	}
	if refresh == "" {
		return "", connectors.Classify(connectors.ErrAuthExpired, errors.New("inventory: access token rejected and no refresh token configured"))
	}
	tokenURL := c.conn.TokenURL
	if tokenURL == "" {
		tokenURL = strings.TrimRight(c.conn.BaseURL, "/") + "/oauth2/token"
	}
	payload, _ := json.Marshal(map[string]string{"client_id": c.conn.ClientID, "client_secret": c.conn.ClientSecret,
		"grant_type": "refresh_token", "refresh_token": refresh})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader(payload))
	if err != nil {
		return "", connectors.Classify(connectors.ErrPermanent, fmt.Errorf("inventory: token request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(httpclient.Write(httpclient.Idempotent(req)))
	if err != nil {
		return "", fmt.Errorf("inventory: token: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresAt    string `json:"expires_at"`
	}
	_ = json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		if err := classify(resp, body); err != nil && !errors.Is(err, connectors.ErrInvalid) {
			return "", fmt.Errorf("inventory: token: %w", err)
		}
		return "", fmt.Errorf("inventory: token: %w", connectors.Classify(connectors.ErrAuthExpired, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)))
	}
	cr := connectors.Credentials{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken}
	if cr.RefreshToken == "" {
		cr.RefreshToken = refresh
	}
	if t, err := time.Parse(time.RFC3339, tr.ExpiresAt); err == nil {
		cr.Expiry = t
	}
	if c.creds != nil {
		if err := c.creds.Save(ctx, c.conn.Name, cr); err != nil {
			return "", fmt.Errorf("inventory: store credentials: %w", err)
		}
	}
	c.token = tr.AccessToken
	return c.token, nil
}

// do sends one call (renewing an expired token once) and returns the body
// of a clean 2xx answer or a classified error.
func (c *Connector) do(ctx context.Context, k wire.Call) ([]byte, error) {
	resp, body, err := c.wire.Do(ctx, k)
	if err != nil {
		return nil, err
	}
	if err := classify(resp, body); err != nil {
		return nil, c.wire.Errorf(k, err)
	}
	return body, nil
}
