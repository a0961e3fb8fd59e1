package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// browser is the operator's terminal and browser: it reads what connect
// prints, and opens the consent URL it shows (the simulated vendor has
// the user approve at once and redirects to the callback).
type browser struct {
	mu     sync.Mutex
	out    bytes.Buffer
	opened chan error
	once   sync.Once
}

var consentURL = regexp.MustCompile(`https?://\S+(oauth2/authorize|connect/oauth2)\S*`)

func (b *browser) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.out.Write(p)
	if u := consentURL.FindString(b.out.String()); u != "" {
		b.once.Do(func() {
			go func() {
				resp, err := http.Get(u) // follows the redirect to connect's callback
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("the callback answered %s", resp.Status)
					}
				}
				b.opened <- err
			}()
		})
	}
	return len(p), nil
}

func (b *browser) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String()
}

// freePort is a redirect URL on a port nothing listens on.
func freeRedirect(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr + "/callback"
}

// The three vendors' consent flows run end to end against the
// simulators: connect prints the consent URL, the browser's approval
// reaches the callback, the code is traded for tokens, which are stored
// encrypted; the connection then works with nothing but them (the
// configuration has no refresh token).
func TestConnectorsConnectConsentFlows(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 5, Records: 50})
	cr := sim.Credentials(srv.URL)
	conn := func(name, typ string, c fakesource.SystemCredentials, extra string) string {
		return fmt.Sprintf("  - name: %s\n    type: %s\n    base_url: %s\n    token_url: %s\n    client_id: %s\n    client_secret: %q\n    redirect_url: %s\n%s",
			name, typ, c.BaseURL, c.TokenURL, c.ClientID, c.ClientSecret, freeRedirect(t), extra)
	}
	db := dbtest.URL(t)
	cfg := writeConfig(t, fmt.Sprintf("database_url: %s\nsecrets: {encryption_key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}\nconnections:\n", db)+
		conn("crm", "salesforce", cr.Salesforce, "")+
		conn("books", "accounting", cr.Accounting, "    auth_url: "+srv.URL+"/connect/oauth2\n")+
		conn("shop", "inventory", cr.Inventory, ""))

	for _, name := range []string{"crm", "books", "shop"} {
		if name != "crm" { // Salesforce's client credentials flow needs no stored token
			code, stdout, _ := portico(t, "--config", cfg, "connectors", "check", "--connection", name)
			require.Equal(t, exitFailed, code, "%s: nothing to authenticate with before connecting: %s", name, stdout)
		}

		b := &browser{opened: make(chan error, 1)}
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"--config", cfg, "connectors", "connect", name, "--no-browser", "--timeout", "30s"}, b, &stderr)
		require.Equal(t, exitOK, code, "%s: %s%s", name, b, stderr.String())
		require.NoError(t, <-b.opened, name)
		out := b.String()
		require.Contains(t, out, "Open this address in a browser and allow access:", name)
		require.Contains(t, out, "connected: stored the tokens", name)
		require.Contains(t, out, "\nok\n", "%s: the check after connecting passes: %s", name, out)

		code, stdout, stderr2 := portico(t, "--config", cfg, "connectors", "check", "--connection", name)
		require.Equal(t, exitOK, code, "%s: the stored tokens work: %s%s", name, stdout, stderr2)
	}
	require.Equal(t, 1, sim.Stats().CallCount(fakesource.Salesforce, "POST /services/oauth2/token", http.StatusOK),
		"Salesforce was asked for a token once, for the code: the checks used the stored access token")
	require.Equal(t, []string{"staff:cli connection.connect connection:crm", "staff:cli connection.connect connection:books",
		"staff:cli connection.connect connection:shop"}, auditTrail(t, db), "each connect is audited")
}

// The consent URL carries what each vendor requires: Salesforce's PKCE
// challenge, QuickBooks' accounting scope, Square's session=false.
func TestConnectorsConnectConsentURL(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 5, Records: 20})
	cr := sim.Credentials(srv.URL).Salesforce
	cfg := writeConfig(t, fmt.Sprintf("database_url: %s\nsecrets: {encryption_key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}\nconnections:\n"+
		"  - {name: crm, type: salesforce, base_url: %s, client_id: %s, client_secret: %q, redirect_url: %s}\n",
		dbtest.URL(t), cr.BaseURL, cr.ClientID, cr.ClientSecret, freeRedirect(t)))
	b := &browser{opened: make(chan error, 1)}
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--config", cfg, "connectors", "connect", "crm", "--no-browser", "--timeout", "30s"}, b, &stderr)
	require.Equal(t, exitOK, code, "%s%s", b, stderr.String())
	u := consentURL.FindString(b.String())
	for _, want := range []string{"code_challenge=", "code_challenge_method=S256", "response_type=code", "state=", "redirect_uri=http%3A%2F%2F127.0.0.1"} {
		require.Contains(t, u, want)
	}

	// Without a database and key there is nowhere to keep the tokens.
	bare := writeConfig(t, fmt.Sprintf("connections:\n  - {name: crm, type: salesforce, base_url: %s, client_id: x}\n", cr.BaseURL))
	code, _, stderr2 := portico(t, "--config", bare, "connectors", "connect", "crm")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr2, "set database_url and secrets.encryption_key")
}

// Server to server: the JWT bearer flow (Salesforce) and a personal
// access token (Square) connect without a consent page.
func TestConnectorsConnectWithoutConsent(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 5, Records: 20})
	cr := sim.Credentials(srv.URL)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "server.key")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	db := dbtest.URL(t)
	cfg := writeConfig(t, fmt.Sprintf("database_url: %s\nsecrets: {encryption_key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}\nconnections:\n"+
		"  - name: crm\n    type: salesforce\n    base_url: %s\n    client_id: %s\n    settings: {jwt_key_file: %s, jwt_user: integration@example.com}\n"+
		"  - {name: shop, type: inventory, base_url: %s}\n",
		db, cr.Salesforce.BaseURL, cr.Salesforce.ClientID, keyFile, cr.Inventory.BaseURL))

	code, stdout, stderr := portico(t, "--config", cfg, "connectors", "connect", "crm")
	require.Equal(t, exitOK, code, stdout+stderr)
	require.Contains(t, stdout, "connecting crm by the JWT bearer flow as integration@example.com")
	require.Contains(t, stdout, "\nok\n")

	code, stdout, _ = portico(t, "--config", cfg, "connectors", "connect", "shop", "--token", "EAAAE-not-a-token")
	require.Equal(t, exitFailed, code, "a token the source refuses fails the check: %s", stdout)
	code, stdout, stderr = portico(t, "--config", cfg, "connectors", "connect", "shop", "--token", cr.Inventory.AccessToken)
	require.Equal(t, exitOK, code, stdout+stderr)
	require.Contains(t, stdout, "stored the access token of shop")
	require.Contains(t, stdout, "\nok\n")

	code, _, stderr = portico(t, "--config", cfg, "connectors", "connect", "crm", "--token", "x")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "--token is for Square")
	// The JWT connect once its check passed; each stored token, the one
	// the source then refused included; the refused usage nothing.
	require.Equal(t, []string{"staff:cli connection.connect connection:crm", "staff:cli connection.connect connection:shop",
		"staff:cli connection.connect connection:shop"}, auditTrail(t, db))
}
