package accounting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/wire"
)

// Options tunes the connector; zero values mean the defaults: an overlap
// of 5m (QuickBooks stamps have whole seconds) and pages of 1000
// (MAXRESULTS, QuickBooks' maximum, which also caps a larger PageSize).
type Options struct {
	wire.Tuning
}

// Connector talks to one QuickBooks company (realm).
type Connector struct {
	wire.Base
	opts Options
	wire *wire.Caller

	mu      sync.Mutex
	token   string
	expiry  time.Time
	refresh string
	realm   string

	cdc cdcLog
}

// New is the registry factory.
func New(deps connectors.Deps) (connectors.Connector, error) {
	return NewWithOptions(deps, Options{})
}

// NewWithOptions builds a connector with non-default tuning.
func NewWithOptions(deps connectors.Deps, opts Options) (*Connector, error) {
	base, err := wire.NewBase("accounting", deps)
	if err != nil {
		return nil, err
	}
	opts.Tuning = opts.WithDefaults(5*time.Minute, 1000)
	opts.PageSize = min(opts.PageSize, 1000)
	c := &Connector{Base: base, opts: opts, token: deps.Connection.AccessToken, realm: deps.Connection.Realm}
	c.wire = &wire.Caller{Name: "accounting", HTTP: deps.HTTP, URL: c.apiURL, Token: c.accessToken, Renew: c.renew}
	return c, nil
}

func (c *Connector) tokenURL() string {
	if c.Conn.TokenURL != "" {
		return c.Conn.TokenURL
	}
	return strings.TrimRight(c.Conn.BaseURL, "/") + "/oauth2/v1/tokens/bearer"
}

type tokenResponse struct {
	TokenType             string `json:"token_type"`
	AccessToken           string `json:"access_token"`
	RefreshToken          string `json:"refresh_token"`
	ExpiresIn             int    `json:"expires_in"`
	RefreshTokenExpiresIn int    `json:"x_refresh_token_expires_in"`
	Error                 string `json:"error"`
	ErrorDescription      string `json:"error_description"`
}

// accessToken returns a token that is not about to expire.
func (c *Connector) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, exp := c.token, c.expiry
	c.mu.Unlock()
	if tok != "" && (exp.IsZero() || c.opts.Now().Add(time.Minute).Before(exp)) {
		return tok, nil
	}
	return c.renew(ctx, tok)
}

// renew exchanges the refresh token for a new access token. QuickBooks
// rotates the refresh token; the new one is committed to the credential
// store before the new access token is handed out, so a crash after this
// point leaves a refresh token that works, and a crash before it leaves
// the old one, which the source still honours.
func (c *Connector) renew(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.token != stale && (c.expiry.IsZero() || c.opts.Now().Add(time.Minute).Before(c.expiry)) {
		return c.token, nil // someone else renewed it meanwhile
	}
	if tok, ok := c.adoptStoredLocked(ctx, stale); ok {
		return tok, nil
	}
	refresh, err := c.refreshTokenLocked(ctx)
	if err != nil {
		return "", err
	}
	tr, err := c.exchange(ctx, refresh)
	if err != nil && errors.Is(err, connectors.ErrAuthExpired) && c.Creds != nil {
		// Another worker may have rotated the token since we read it.
		if cr, lerr := c.Creds.Load(ctx, c.Conn.Name); lerr == nil && cr.RefreshToken != "" && cr.RefreshToken != refresh {
			tr, err = c.exchange(ctx, cr.RefreshToken)
		}
	}
	if err != nil {
		return "", err
	}
	next := connectors.Credentials{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Realm: c.realm}
	if next.RefreshToken == "" {
		next.RefreshToken = refresh
	}
	if tr.ExpiresIn > 0 {
		next.Expiry = c.opts.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if c.Creds != nil {
		if err := c.Creds.Save(ctx, c.Conn.Name, next); err != nil {
			return "", fmt.Errorf("accounting: store rotated refresh token: %w", err)
		}
	}
	c.token, c.expiry, c.refresh = next.AccessToken, next.Expiry, next.RefreshToken
	c.Log.InfoContext(ctx, "access token renewed", "rotated", tr.RefreshToken != "" && tr.RefreshToken != refresh)
	return c.token, nil
}

// adoptStoredLocked uses an access token another process renewed and
// stored, if it is still good: renewing again would rotate the refresh
// token for nothing.
func (c *Connector) adoptStoredLocked(ctx context.Context, stale string) (string, bool) {
	if c.Creds == nil {
		return "", false
	}
	cr, err := c.Creds.Load(ctx, c.Conn.Name)
	if err != nil || cr.AccessToken == "" || cr.AccessToken == stale || cr.Expiry.IsZero() ||
		!c.opts.Now().Add(time.Minute).Before(cr.Expiry) {
		return "", false
	}
	c.token, c.expiry, c.refresh = cr.AccessToken, cr.Expiry, cr.RefreshToken
	if cr.Realm != "" && c.realm == "" {
		c.realm = cr.Realm
	}
	return c.token, true
}

// refreshTokenLocked picks the newest refresh token: the stored one (it
// may have been rotated by another process), else ours, else the one in
// the configuration that seeds the store.
func (c *Connector) refreshTokenLocked(ctx context.Context) (string, error) {
	if c.Creds != nil {
		cr, err := c.Creds.Load(ctx, c.Conn.Name)
		switch {
		case err == nil && cr.RefreshToken != "":
			if cr.Realm != "" && c.realm == "" {
				c.realm = cr.Realm
			}
			return cr.RefreshToken, nil
		case err != nil && !errors.Is(err, connectors.ErrNoCredentials):
			return "", fmt.Errorf("accounting: load credentials: %w", err)
		}
	}
	if c.refresh != "" {
		return c.refresh, nil
	}
	if c.Conn.RefreshToken != "" {
		return c.Conn.RefreshToken, nil
	}
	return "", connectors.Classify(connectors.ErrAuthExpired, errors.New("accounting: no refresh token configured or stored; reconnect the company"))
}

func (c *Connector) exchange(ctx context.Context, refresh string) (tokenResponse, error) {
	var tr tokenResponse
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return tr, connectors.Classify(connectors.ErrPermanent, fmt.Errorf("accounting: token request: %w", err))
	}
	req.SetBasicAuth(c.Conn.ClientID, c.Conn.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// Not marked idempotent: a lost answer may have rotated the token, and
	// a blind repeat would spend the old one. The caller retries instead,
	// after reloading the stored token.
	resp, err := c.HTTP.Do(httpclient.Write(req))
	if err != nil {
		return tr, fmt.Errorf("accounting: token: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(body, &tr)
	if resp.StatusCode == http.StatusOK && tr.AccessToken != "" {
		return tr, nil
	}
	return tr, tokenError(resp, tr, body)
}

func tokenError(resp *http.Response, tr tokenResponse, body []byte) error {
	if tr.Error != "" && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
		return fmt.Errorf("accounting: token: %w",
			connectors.Classify(connectors.ErrAuthExpired, errors.New(tr.Error+": "+tr.ErrorDescription)))
	}
	if err := classify(resp, body); err != nil {
		return fmt.Errorf("accounting: token: %w", err)
	}
	return fmt.Errorf("accounting: token: %w", connectors.Classify(connectors.ErrPermanent, errors.New("answer without access_token")))
}

// do sends one call under /v3/company/{realm}, renewing the token once on
// 401, and returns the body of a fault-free 2xx response or a classified
// error. QuickBooks also throttles with 403 (fault 3001), which the shared
// client cannot tell from a refusal without reading the body: the call
// says how (throttled), and the shared client retries it as the 429 it
// means.
func (c *Connector) do(ctx context.Context, k wire.Call) ([]byte, error) {
	k.Throttled = throttled
	resp, body, err := c.wire.Do(ctx, k)
	if err != nil {
		return nil, err
	}
	if err := classifyCall(resp, body, k.Method != http.MethodGet); err != nil {
		return nil, c.wire.Errorf(k, err)
	}
	return body, nil
}

// throttled recognises fault 3001 on a 403.
func throttled(resp *http.Response, body []byte) (time.Duration, bool) {
	var rl *connectors.RateLimitedError
	if resp.StatusCode == http.StatusForbidden && errors.As(classify(resp, body), &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}

// apiURL is where a call's path goes: under the connection's company.
func (c *Connector) apiURL(path string) (string, error) {
	c.mu.Lock()
	realm := c.realm
	c.mu.Unlock()
	if realm == "" {
		return "", &connectors.InvalidError{Field: "realm", Msg: "the connection has no QuickBooks company id (realm)"}
	}
	return strings.TrimRight(c.Conn.BaseURL, "/") + "/v3/company/" + url.PathEscape(realm) + path, nil
}
