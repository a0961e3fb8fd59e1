// Package connect runs the vendors' OAuth 2.0 authorization code flows
// that connect a source to Portico from the vendor's consent page, for
// `portico connectors connect`: Salesforce's web server flow with PKCE,
// QuickBooks' flow with the company's realm id, and Square's. It builds
// the consent URL, listens on the connection's redirect URL for the
// vendor's answer, checks its state, trades the code for tokens and
// stores them with the connection's credential store (encrypted in
// PostgreSQL by internal/credentials), where the connectors find them.
package connect

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/store"
)

// Flow is one run of a connection's authorization code flow.
type Flow struct {
	// Type is the connector type: salesforce, accounting or inventory.
	Type string
	// Conn names the connection and carries its client id and secret,
	// base URL and token URL.
	Conn connectors.Connection
	// AuthURL is the vendor's consent endpoint; "" for the default.
	AuthURL string
	// Redirect is the callback URL the flow listens on (the connection's
	// redirect_url). It must be http on this machine (a loopback or local
	// address): the vendor redirects the operator's browser to it.
	Redirect string
	// Store keeps the tokens.
	Store connectors.CredentialStore
	// HTTP sends the token request; nil for http.DefaultClient.
	HTTP *http.Client
	// Show is given the consent URL to open in a browser, or to print for
	// a headless machine.
	Show func(consentURL string) error
}

// For is the flow of a configured connection answering to redirect,
// storing the tokens in store.
func For(conn config.ConnectionConfig, redirect string, store connectors.CredentialStore) *Flow {
	return &Flow{Type: conn.Type, AuthURL: conn.AuthURL, Redirect: redirect, Store: store,
		Conn: connectors.Connection{Name: conn.Name, BaseURL: conn.BaseURL, TokenURL: conn.TokenURL, ClientID: conn.ClientID, ClientSecret: conn.ClientSecret}}
}

// HasFlow says whether a connector type has an authorization code flow.
func HasFlow(typ string) bool { _, ok := scopes[typ]; return ok }

// Result is what a connect stored.
type Result struct {
	Credentials connectors.Credentials
}

// authURL is the vendor's consent endpoint.
func (f *Flow) authURL() (string, error) {
	if f.AuthURL != "" {
		return f.AuthURL, nil
	}
	base := strings.TrimRight(f.Conn.BaseURL, "/")
	switch f.Type {
	case "salesforce":
		// The org's My Domain (or login.salesforce.com) serves the consent page.
		return base + "/services/oauth2/authorize", nil
	case "accounting":
		return "https://appcenter.intuit.com/connect/oauth2", nil
	case "inventory":
		return base + "/oauth2/authorize", nil
	}
	return "", fmt.Errorf("connect: the %s connector has no authorization code flow", f.Type)
}

// tokenURL mirrors the connectors' defaults.
func (f *Flow) tokenURL() string {
	if f.Conn.TokenURL != "" {
		return f.Conn.TokenURL
	}
	base := strings.TrimRight(f.Conn.BaseURL, "/")
	switch f.Type {
	case "salesforce":
		return base + "/services/oauth2/token"
	case "accounting":
		return base + "/oauth2/v1/tokens/bearer"
	}
	return base + "/oauth2/token"
}

// scopes are what Portico asks each vendor for: reading and writing what
// the connectors sync, and (Salesforce) a refresh token.
var scopes = map[string][]string{
	"salesforce": {"api", "refresh_token"},
	"accounting": {"com.intuit.quickbooks.accounting"},
	"inventory":  {"ITEMS_READ", "ITEMS_WRITE", "INVENTORY_READ", "ORDERS_READ", "ORDERS_WRITE", "CUSTOMERS_READ"},
}

// answer is the vendor's redirect to the callback.
type answer struct {
	code, realm string
	err         error
}

// Pending is what a begun flow keeps until the vendor answers: the state
// the answer must carry and Salesforce's PKCE verifier. Neither may reach
// anyone but the operator who began the flow.
type Pending struct {
	State    string `json:"state"`
	Verifier string `json:"verifier,omitempty"`
}

// ErrStateMismatch is an answer that is not to the flow waiting (or is
// forged): its state is not the Pending one.
var ErrStateMismatch = errors.New("connect: this is not the answer to the connect request that is waiting (state mismatch)")

// config is the flow's OAuth 2.0 configuration and the consent URL's
// options for verifier ("" when the vendor takes no PKCE).
func (f *Flow) config() (*oauth2.Config, error) {
	if f.Conn.ClientID == "" {
		return nil, errors.New("connect: the connection has no client_id (the app's consumer key)")
	}
	auth, err := f.authURL()
	if err != nil {
		return nil, err
	}
	cfg := &oauth2.Config{ClientID: f.Conn.ClientID, ClientSecret: f.Conn.ClientSecret, RedirectURL: f.Redirect, Scopes: scopes[f.Type],
		Endpoint: oauth2.Endpoint{AuthURL: auth, TokenURL: f.tokenURL(), AuthStyle: oauth2.AuthStyleInParams}}
	if f.Type == "accounting" {
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader // Intuit: HTTP Basic client authentication
	}
	return cfg, nil
}

// Begin starts the flow: the vendor's consent URL, which answers to
// f.Redirect, and what Finish needs when the answer comes.
func (f *Flow) Begin() (string, Pending, error) {
	cfg, err := f.config()
	if err != nil {
		return "", Pending{}, err
	}
	p := Pending{State: random()}
	var opts []oauth2.AuthCodeOption
	switch f.Type {
	case "salesforce":
		p.Verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(p.Verifier))
	case "inventory":
		// Square: the seller signs in afresh instead of reusing a session.
		opts = append(opts, oauth2.SetAuthURLParam("session", "false"))
	}
	consent := cfg.AuthCodeURL(p.State, opts...)
	if f.Type == "inventory" {
		// Square separates scopes with spaces too, and takes no response_type.
		consent = strings.Replace(consent, "response_type=code&", "", 1)
	}
	return consent, p, nil
}

// Finish trades the vendor's answer (the query of its redirect to
// f.Redirect) for tokens and stores them. An answer without p's state is
// ErrStateMismatch.
func (f *Flow) Finish(ctx context.Context, p Pending, q url.Values) (*Result, error) {
	a, ok := answerOf(q, p.State)
	if !ok {
		return nil, ErrStateMismatch
	}
	if a.err != nil {
		return nil, a.err
	}
	return f.finish(ctx, p, a)
}

func (f *Flow) finish(ctx context.Context, p Pending, a answer) (*Result, error) {
	cfg, err := f.config()
	if err != nil {
		return nil, err
	}
	cr, err := f.exchange(ctx, cfg, a, p.Verifier)
	if err != nil {
		return nil, err
	}
	if err := f.Store.Save(ctx, f.Conn.Name, cr); err != nil {
		return nil, fmt.Errorf("connect: store the tokens: %w", err)
	}
	return &Result{Credentials: cr}, nil
}

// answerOf reads the vendor's redirect: the code (and QuickBooks'
// realmId), or the error it carries; false when its state is not state.
func answerOf(q url.Values, state string) (answer, bool) {
	var a answer
	switch {
	case q.Get("error") != "":
		a.err = fmt.Errorf("connect: the vendor refused: %s: %s", q.Get("error"), q.Get("error_description"))
	case q.Get("state") != state:
		return a, false
	case q.Get("code") == "":
		a.err = errors.New("connect: the vendor's answer has no code")
	default:
		a.code, a.realm = q.Get("code"), q.Get("realmId")
	}
	return a, true
}

// Run shows the consent URL, waits for the vendor's answer on the
// redirect URL (until ctx ends), trades the code and stores the tokens.
func (f *Flow) Run(ctx context.Context) (*Result, error) {
	redirect := f.Redirect
	cb, err := url.Parse(redirect)
	if err != nil || cb.Scheme != "http" || cb.Host == "" {
		return nil, fmt.Errorf("connect: redirect_url %q must be an http:// URL on this machine", redirect)
	}
	consent, p, err := f.Begin()
	if err != nil {
		return nil, err
	}
	answers := make(chan answer, 1)
	ln, err := net.Listen("tcp", cb.Host)
	if err != nil {
		return nil, fmt.Errorf("connect: listen on the redirect URL %s: %w", redirect, err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: callback(cb.Path, p.State, answers)}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()

	if err := f.Show(consent); err != nil {
		return nil, err
	}
	var a answer
	select {
	case a = <-answers:
	case <-ctx.Done():
		return nil, fmt.Errorf("connect: no answer from the consent page at %s: %w", redirect, ctx.Err())
	}
	if a.err != nil {
		return nil, a.err
	}
	return f.finish(ctx, p, a)
}

func (f *Flow) client() *http.Client {
	if f.HTTP != nil {
		return f.HTTP
	}
	return http.DefaultClient
}

// exchange trades the code for tokens.
func (f *Flow) exchange(ctx context.Context, cfg *oauth2.Config, a answer, verifier string) (connectors.Credentials, error) {
	if f.Type == "inventory" {
		return f.squareExchange(ctx, cfg, a.code)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, f.client())
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	tok, err := cfg.Exchange(ctx, a.code, opts...)
	if err != nil {
		return connectors.Credentials{}, fmt.Errorf("connect: trade the code for tokens: %w", describe(err))
	}
	cr := connectors.Credentials{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
	switch f.Type {
	case "salesforce":
		cr.InstanceURL, _ = tok.Extra("instance_url").(string)
	case "accounting":
		cr.Realm = a.realm
		if cr.Realm == "" {
			return cr, errors.New("connect: QuickBooks answered without the company's realmId")
		}
	}
	if cr.RefreshToken == "" {
		return cr, errors.New("connect: the vendor gave no refresh token: allow offline access (Salesforce: the refresh_token scope) in the app's settings")
	}
	return cr, nil
}

// squareExchange is Square's ObtainToken, which takes JSON.
func (f *Flow) squareExchange(ctx context.Context, cfg *oauth2.Config, code string) (connectors.Credentials, error) {
	body, _ := json.Marshal(map[string]string{"client_id": cfg.ClientID, "client_secret": cfg.ClientSecret,
		"code": code, "grant_type": "authorization_code", "redirect_uri": cfg.RedirectURL})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Endpoint.TokenURL, bytes.NewReader(body))
	if err != nil {
		return connectors.Credentials{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := f.client().Do(req)
	if err != nil {
		return connectors.Credentials{}, fmt.Errorf("connect: trade the code for tokens: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresAt    string `json:"expires_at"`
		MerchantID   string `json:"merchant_id"`
		Errors       []struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(raw, &tr)
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		msg := strings.TrimSpace(string(raw))
		if len(tr.Errors) > 0 {
			msg = tr.Errors[0].Code + ": " + tr.Errors[0].Detail
		}
		return connectors.Credentials{}, fmt.Errorf("connect: trade the code for tokens: %s (HTTP %d)", msg, resp.StatusCode)
	}
	cr := connectors.Credentials{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Extra: map[string]string{"merchant_id": tr.MerchantID}}
	if t, err := time.Parse(time.RFC3339, tr.ExpiresAt); err == nil {
		cr.Expiry = t
	}
	return cr, nil
}

// describe turns x/oauth2's error into the vendor's own words.
func describe(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return fmt.Errorf("%s: %s", re.ErrorCode, re.ErrorDescription)
	}
	return err
}

// callback answers the vendor's redirect once: the code (and QuickBooks'
// realmId) when the state matches, else the error it carries.
func callback(path, state string, answers chan<- answer) http.Handler {
	if path == "" {
		path = "/"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		a, ok := answerOf(r.URL.Query(), state)
		if !ok {
			// Not the answer to our request (or forged): ignore it and go on waiting.
			http.Error(w, ErrStateMismatch.Error(), http.StatusBadRequest)
			return
		}
		select {
		case answers <- a:
		default: // answered already
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		msg := "Portico is connected. You may close this window."
		if a.err != nil {
			msg = "Portico could not connect: " + a.err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><html lang=\"en\"><title>Portico</title><p>%s</p></html>\n", html.EscapeString(msg))
	})
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Console runs the flows of the configured connections for the operator
// console's Connect buttons: the same flows as `portico connectors
// connect`, answering to the portal's one callback URL instead of a
// listener on the operator's machine.
type Console struct {
	Conns []config.ConnectionConfig
	// Audit records who connected what (RecordConnected); nil records
	// nothing (a test without a database).
	Audit store.DBTX
	// TenantID is the tenant whose audit log records it.
	TenantID int64
	// Callback is the portal's callback URL (http.public_url +
	// /console/connect/callback), registered with each vendor's app.
	Callback string
	// Store keeps the tokens where the connectors read them
	// (sources.Fingerprinted).
	Store connectors.CredentialStore
	// HTTP sends the token requests; nil for http.DefaultClient.
	HTTP *http.Client
}

// ErrUnknownConnection is a connection that is not configured or has no
// consent flow.
var ErrUnknownConnection = errors.New("connect: no such connection with a consent flow")

func (c *Console) flow(name string) (*Flow, error) {
	for _, conn := range c.Conns {
		if conn.Name == name && HasFlow(conn.Type) {
			f := For(conn, c.Callback, c.Store)
			f.HTTP = c.HTTP
			return f, nil
		}
	}
	return nil, ErrUnknownConnection
}

// Connectable says whether the connection has a consent flow.
func (c *Console) Connectable(name string) bool {
	_, err := c.flow(name)
	return err == nil
}

// CallbackURL is the URL to register with the vendors' apps.
func (c *Console) CallbackURL() string { return c.Callback }

// Begin starts the named connection's flow (Flow.Begin).
func (c *Console) Begin(name string) (string, Pending, error) {
	f, err := c.flow(name)
	if err != nil {
		return "", Pending{}, err
	}
	return f.Begin()
}

// Finish ends the named connection's flow (Flow.Finish) and audits it as
// ev (a staff member's, from their request).
func (c *Console) Finish(ctx context.Context, name string, p Pending, answer url.Values, ev audit.Event) error {
	f, err := c.flow(name)
	if err != nil {
		return err
	}
	res, err := f.Finish(ctx, p, answer)
	if err != nil || c.Audit == nil {
		return err
	}
	ev.TenantID = c.TenantID
	return RecordConnected(ctx, c.Audit, ev, name, "consent", res.Credentials)
}

// RecordConnected audits new tokens stored for a connection (invariant
// 7): who connected it, how (consent, token, jwt) and, for QuickBooks,
// the company it was granted for; never a token. The tokens are stored
// first, by the credential store's own commit (a refresh must be kept
// before it is used), so this is a transaction of its own right after.
func RecordConnected(ctx context.Context, db store.DBTX, ev audit.Event, connection, how string, cr connectors.Credentials) error {
	ev.Action, ev.Object, ev.ObjectID = "connection.connect", "connection", connection
	after := map[string]any{"connection": connection, "how": how}
	if cr.Realm != "" {
		after["realm"] = cr.Realm
	}
	ev.After = after
	if err := audit.Record(ctx, db, ev); err != nil {
		return fmt.Errorf("connect: %s is connected, but auditing it failed: %w", connection, err)
	}
	return nil
}
