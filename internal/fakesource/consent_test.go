package fakesource_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// consent asks the simulated consent page and returns the code and the
// redirect's query (without following it).
func consent(t *testing.T, e *env, path string, q url.Values) (int, url.Values) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.url + path + "?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return resp.StatusCode, nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "cb.example", loc.Host)
	return resp.StatusCode, loc.Query()
}

func postForm(t *testing.T, u string, form url.Values, basic [2]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic[0] != "" {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Salesforce's web server flow with PKCE: the consent redirects with a
// code and the state; the code is traded once, with the verifier whose
// S256 challenge the consent carried, for an access and a refresh token.
func TestSalesforceConsentWithPKCE(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {e.cr.Salesforce.ClientID}, "redirect_uri": {"http://cb.example/callback"},
		"state": {"s1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	status, back := consent(t, e, "/services/oauth2/authorize", q)
	require.Equal(t, http.StatusFound, status)
	require.Equal(t, "s1", back.Get("state"))
	code := back.Get("code")
	require.NotEmpty(t, code)

	trade := func(code, verifier, redirect string) (int, map[string]any) {
		return postForm(t, e.cr.Salesforce.TokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"client_id": {e.cr.Salesforce.ClientID}, "client_secret": {e.cr.Salesforce.ClientSecret},
			"redirect_uri": {redirect}, "code_verifier": {verifier}}, [2]string{})
	}
	status, body := trade(code, "not-the-verifier", "http://cb.example/callback")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_grant", body["error"])
	status, _ = trade(code, verifier, "http://cb.example/callback")
	require.Equal(t, http.StatusBadRequest, status, "a code is traded once, even after a failed attempt")

	_, back = consent(t, e, "/services/oauth2/authorize", q)
	status, body = trade(back.Get("code"), verifier, "http://elsewhere.example/callback")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "redirect_uri mismatch", body["error_description"])
	_, back = consent(t, e, "/services/oauth2/authorize", q)
	status, body = trade(back.Get("code"), verifier, "http://cb.example/callback")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, e.cr.Salesforce.RefreshToken, body["refresh_token"])
	require.NotEmpty(t, body["access_token"])
	require.Equal(t, e.url, body["instance_url"])

	// An expired code, a wrong client, a missing redirect_uri.
	_, back = consent(t, e, "/services/oauth2/authorize", q)
	e.clock.Advance(11 * time.Minute)
	status, body = trade(back.Get("code"), verifier, "http://cb.example/callback")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "expired authorization code", body["error_description"])
	bad := url.Values{}
	for k, v := range q {
		bad[k] = v
	}
	bad.Set("client_id", "someone-else")
	status, _ = consent(t, e, "/services/oauth2/authorize", bad)
	require.Equal(t, http.StatusBadRequest, status)
	bad = url.Values{"response_type": {"code"}, "client_id": {e.cr.Salesforce.ClientID}}
	status, _ = consent(t, e, "/services/oauth2/authorize", bad)
	require.Equal(t, http.StatusBadRequest, status)
}

// QuickBooks' consent adds the company's realmId; the code trades (HTTP
// Basic client authentication) for a rotating refresh token that renews.
func TestQuickBooksConsent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, back := consent(t, e, "/connect/oauth2", url.Values{"client_id": {e.cr.Accounting.ClientID}, "response_type": {"code"},
		"scope": {"com.intuit.quickbooks.accounting"}, "redirect_uri": {"http://cb.example/cb"}, "state": {"q"}})
	require.Equal(t, e.cr.Accounting.Realm, back.Get("realmId"))
	basic := [2]string{e.cr.Accounting.ClientID, e.cr.Accounting.ClientSecret}
	status, body := postForm(t, e.cr.Accounting.TokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {"http://cb.example/cb"}}, basic)
	require.Equal(t, http.StatusOK, status, body)
	refresh := body["refresh_token"].(string)
	status, body = postForm(t, e.cr.Accounting.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, basic)
	require.Equal(t, http.StatusOK, status, body)
	require.NotEqual(t, refresh, body["refresh_token"], "rotated")
}
