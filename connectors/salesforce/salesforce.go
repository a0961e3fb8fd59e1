package salesforce

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

// APIVersion is the REST API version the connector speaks.
const APIVersion = "v59.0"

// ExternalIDField is the default external-id field that holds the
// idempotency key of records Portico creates (settings.external_id_field
// names another, or none).
const ExternalIDField = "Portico_Action_Id__c"

// defaultMarkers are the default settings.marker_fields: where a create
// leaves its key when the org lacks the external-id field.
const defaultMarkers = "Case:Description,CaseComment:CommentBody"

// Options tunes the connector; the zero value of each field means its
// default: an overlap of 5m, batches of 2000 per page (Salesforce honours
// 200 to 2000), and the clock for getDeleted's end.
type Options struct {
	wire.Tuning
	// QueryLimit is the SOQL LIMIT of one query (default 50000); a pull
	// that reaches it goes on with a new query from the last stamp.
	QueryLimit int
	// Fields adds fields to what is selected per object (besides the
	// mapped paths, or the defaults).
	Fields map[string][]string
}

// Connector talks to one Salesforce org.
type Connector struct {
	wire.Base
	opts Options
	wire *wire.Caller

	// extID is the external-id field of idempotent creates ("" for none);
	// markers the field per object where a create leaves its key without it.
	extID   string
	markers map[string]string
	// jwt, when the connection's settings configure it, authenticates by
	// the JWT bearer flow instead of a refresh token.
	jwt *jwtBearer

	mu        sync.Mutex
	token     string
	instance  string // instance_url from the token response
	selects   map[string][]string
	missing   map[string][]string // mapped fields the org lacks, dropped from selects
	described map[string]*describeResult
}

// New is the registry factory.
func New(deps connectors.Deps) (connectors.Connector, error) {
	return NewWithOptions(deps, Options{})
}

// NewWithOptions builds a connector with non-default tuning.
func NewWithOptions(deps connectors.Deps, opts Options) (*Connector, error) {
	base, err := wire.NewBase("salesforce", deps)
	if err != nil {
		return nil, err
	}
	opts.Tuning = opts.WithDefaults(5*time.Minute, 2000)
	if opts.QueryLimit <= 0 {
		opts.QueryLimit = 50000
	}
	selects, err := planSelects(deps.Connection.Fields, opts.Fields)
	if err != nil {
		return nil, &connectors.InvalidError{Field: "fields", Msg: err.Error()}
	}
	jwtFlow, settings, err := parseJWT(deps.Connection.Settings)
	if err != nil {
		return nil, err
	}
	extID, markers, err := parseSettings(settings)
	if err != nil {
		return nil, err
	}
	c := &Connector{Base: base, opts: opts, token: deps.Connection.AccessToken, extID: extID, markers: markers, jwt: jwtFlow,
		selects: selects, missing: map[string][]string{}, described: map[string]*describeResult{}}
	c.wire = &wire.Caller{Name: "salesforce", HTTP: deps.HTTP, URL: c.restURL, Token: c.currentToken, Renew: c.reauthenticate}
	return c, nil
}

// parseSettings reads the connection's settings: external_id_field and
// marker_fields ("Object:Field,..."). An unknown key is an error.
func parseSettings(set map[string]string) (string, map[string]string, error) {
	extID, markerList := ExternalIDField, defaultMarkers
	for k, v := range set {
		switch k {
		case "external_id_field":
			extID = strings.TrimSpace(v)
		case "marker_fields":
			markerList = v
		default:
			return "", nil, &connectors.InvalidError{Field: "settings." + k, Msg: "unknown salesforce setting (known: external_id_field, marker_fields, jwt_key_file, jwt_user, jwt_audience)"}
		}
	}
	if extID != "" && !fieldName.MatchString(extID) || strings.Contains(extID, ".") {
		return "", nil, &connectors.InvalidError{Field: "settings.external_id_field", Msg: fmt.Sprintf("%q is not a Salesforce field name", extID)}
	}
	markers := map[string]string{}
	for _, pair := range strings.Split(markerList, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		obj, field, ok := strings.Cut(pair, ":")
		obj, field = strings.TrimSpace(obj), strings.TrimSpace(field)
		if _, known := objects[obj]; !ok || !known || !fieldName.MatchString(field) || strings.Contains(field, ".") {
			return "", nil, &connectors.InvalidError{Field: "settings.marker_fields", Msg: fmt.Sprintf("%q is not Object:Field with a synced object and a field name", pair)}
		}
		markers[obj] = field
	}
	return extID, markers, nil
}

// tokenResponse is the OAuth2 token endpoint's answer.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	InstanceURL      string `json:"instance_url"`
	ExpiresIn        int    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func (c *Connector) tokenURL() string {
	if c.Conn.TokenURL != "" {
		return c.Conn.TokenURL
	}
	return strings.TrimRight(c.Conn.BaseURL, "/") + "/services/oauth2/token"
}

// currentToken returns a usable access token, loading stored credentials
// or authenticating when there is none.
func (c *Connector) currentToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	if c.Creds != nil {
		cr, err := c.Creds.Load(ctx, c.Conn.Name)
		switch {
		case err == nil && cr.AccessToken != "" && (cr.Expiry.IsZero() || time.Until(cr.Expiry) > time.Minute):
			c.mu.Lock()
			c.token, c.instance = cr.AccessToken, cr.InstanceURL
			c.mu.Unlock()
			return cr.AccessToken, nil
		case err != nil && !errors.Is(err, connectors.ErrNoCredentials):
			return "", fmt.Errorf("salesforce: load credentials: %w", err)
		}
	}
	return c.authenticate(ctx, "")
}

// authenticate obtains a new access token unless another goroutine
// already replaced stale (the token that just failed).
func (c *Connector) authenticate(ctx context.Context, stale string) (string, error) {
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
	form := url.Values{"client_id": {c.Conn.ClientID}, "client_secret": {c.Conn.ClientSecret}}
	switch {
	case c.jwt != nil:
		a, err := c.jwt.assertion(c.Conn.ClientID, c.opts.Now())
		if err != nil {
			return "", connectors.Classify(connectors.ErrPermanent, fmt.Errorf("salesforce: sign the JWT assertion: %w", err))
		}
		form = url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}
		refresh = ""
	case refresh != "":
		form.Set("grant_type", "refresh_token")
		form.Set("refresh_token", refresh)
	default:
		form.Set("grant_type", "client_credentials")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", connectors.Classify(connectors.ErrPermanent, fmt.Errorf("salesforce: token request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// Salesforce refresh tokens do not rotate, so asking twice is harmless;
	// and authentication must work even when reads have spent their budget.
	resp, err := c.HTTP.Do(httpclient.Write(httpclient.Idempotent(req)))
	if err != nil {
		return "", fmt.Errorf("salesforce: token: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	_ = json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return "", tokenError(resp, tr, body)
	}
	c.token, c.instance = tr.AccessToken, tr.InstanceURL
	if c.Creds != nil {
		cr := connectors.Credentials{AccessToken: tr.AccessToken, RefreshToken: refresh, InstanceURL: tr.InstanceURL}
		if tr.RefreshToken != "" {
			cr.RefreshToken = tr.RefreshToken
		}
		if tr.ExpiresIn > 0 {
			cr.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
		}
		if err := c.Creds.Save(ctx, c.Conn.Name, cr); err != nil {
			return "", fmt.Errorf("salesforce: store credentials: %w", err)
		}
	}
	c.Log.InfoContext(ctx, "authenticated")
	return c.token, nil
}

func tokenError(resp *http.Response, tr tokenResponse, body []byte) error {
	if tr.Error != "" {
		msg := tr.Error + ": " + tr.ErrorDescription
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			wait, _ := httpclient.RetryAfter(resp.Header)
			return fmt.Errorf("salesforce: token: %w", connectors.FromStatus(resp.StatusCode, wait, msg))
		}
		// invalid_grant, invalid_client: the operator must reconnect.
		return fmt.Errorf("salesforce: token: %w", connectors.Classify(connectors.ErrAuthExpired, errors.New(msg)))
	}
	return fmt.Errorf("salesforce: token: %w", classify(resp, body))
}

// apiBase is where REST calls go: the token's instance_url, else BaseURL.
func (c *Connector) apiBase() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.instance != "" {
		return strings.TrimRight(c.instance, "/")
	}
	return strings.TrimRight(c.Conn.BaseURL, "/")
}

// restURL is where a call's path goes: an absolute /services/ path, or
// one relative to /services/data/vNN, under apiBase.
func (c *Connector) restURL(path string) (string, error) {
	if !strings.HasPrefix(path, "/services/") {
		path = "/services/data/" + APIVersion + path
	}
	return c.apiBase() + path, nil
}

// reauthenticate is the Caller's answer to a 401 INVALID_SESSION_ID.
func (c *Connector) reauthenticate(ctx context.Context, stale string) (string, error) {
	c.Log.InfoContext(ctx, "session expired; authenticating again")
	return c.authenticate(ctx, stale)
}

// do sends one call with the current token; on 401 INVALID_SESSION_ID it
// authenticates once and sends it again. It returns the body of a 2xx (or
// 300) response and a classified error otherwise.
func (c *Connector) do(ctx context.Context, r wire.Call) (*http.Response, []byte, error) {
	resp, body, err := c.wire.Do(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, body, nil
	}
	return resp, body, c.wire.Errorf(r, classify(resp, body))
}
