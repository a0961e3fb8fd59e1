package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// Options tunes the connector; zero values mean the defaults: an overlap
// of 2m and pages of 100 (capped per endpoint at what Square allows).
type Options struct {
	wire.Tuning
}

// Connector talks to one Square seller account.
type Connector struct {
	wire.Base
	opts Options
	wire *wire.Caller

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
	base, err := wire.NewBase("inventory", deps)
	if err != nil {
		return nil, err
	}
	opts.Tuning = opts.WithDefaults(2*time.Minute, 100)
	c := &Connector{Base: base, opts: opts, token: deps.Connection.AccessToken}
	c.wire = &wire.Caller{Name: "inventory", HTTP: deps.HTTP, Token: c.bearer,
		URL:    func(path string) (string, error) { return strings.TrimRight(c.Conn.BaseURL, "/") + path, nil },
		Header: http.Header{"Square-Version": {SquareVersion}}}
	// Without a refresh token an expired access token needs the operator:
	// a 401 is answered as it is.
	if c.Conn.RefreshToken != "" || c.Creds != nil {
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
	if c.Creds != nil {
		cr, err := c.Creds.Load(ctx, c.Conn.Name)
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
		if c.Conn.RefreshToken == "" {
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
	refresh := c.Conn.RefreshToken
	if c.Creds != nil {
		if cr, err := c.Creds.Load(ctx, c.Conn.Name); err == nil && cr.RefreshToken != "" {
			refresh = cr.RefreshToken
		}
	}
	if refresh == "" {
		return "", connectors.Classify(connectors.ErrAuthExpired, errors.New("inventory: access token rejected and no refresh token configured"))
	}
	tokenURL := c.Conn.TokenURL
	if tokenURL == "" {
		tokenURL = strings.TrimRight(c.Conn.BaseURL, "/") + "/oauth2/token"
	}
	payload, _ := json.Marshal(map[string]string{"client_id": c.Conn.ClientID, "client_secret": c.Conn.ClientSecret,
		"grant_type": "refresh_token", "refresh_token": refresh})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader(payload))
	if err != nil {
		return "", connectors.Classify(connectors.ErrPermanent, fmt.Errorf("inventory: token request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(httpclient.Write(httpclient.Idempotent(req)))
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
	if c.Creds != nil {
		if err := c.Creds.Save(ctx, c.Conn.Name, cr); err != nil {
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
