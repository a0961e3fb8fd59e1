package fakesource

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"
)

// The consent endpoints of the three vendors' OAuth 2.0 authorization
// code flows. The simulated user has already approved the app, so each
// answers at once as the vendor does after approval: a redirect to the
// app's redirect_uri with a one-time code and the state (QuickBooks adds
// the company's realmId). A wrong client_id or a missing redirect_uri is
// refused as the vendor refuses it, with an error page (no redirect to an
// address the app did not prove is its own). The token endpoints trade a
// code once, within 10 minutes, for the same redirect_uri; Salesforce
// checks the PKCE code_verifier against the code_challenge (S256).
//
//	GET /services/oauth2/authorize   Salesforce: response_type=code, client_id, redirect_uri, state, code_challenge(_method)
//	GET /connect/oauth2              QuickBooks (appcenter.intuit.com): client_id, response_type=code, scope, redirect_uri, state
//	GET /oauth2/authorize            Square: client_id, scope, session=false, state (redirect_uri optional)

// authCode is one issued authorization code.
type authCode struct {
	system, redirect, challenge string
	expires                     time.Time
}

const codeTTL = 10 * time.Minute

func (s *Sim) consentRoutes(mux *http.ServeMux) {
	mux.Handle("GET /services/oauth2/authorize", s.api(Salesforce, "GET /services/oauth2/authorize", kindToken, s.consent(Salesforce)))
	mux.Handle("GET /connect/oauth2", s.api(Accounting, "GET /connect/oauth2", kindToken, s.consent(Accounting)))
	mux.Handle("GET /oauth2/authorize", s.api(Inventory, "GET /oauth2/authorize", kindToken, s.consent(Inventory)))
}

func (s *Sim) consent(system string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s.mu.Lock()
		a := s.auth
		clientID := map[string]string{Salesforce: a.sfClientID, Accounting: a.qbClientID, Inventory: a.sqClientID}[system]
		s.mu.Unlock()
		redirect := q.Get("redirect_uri")
		switch {
		case q.Get("client_id") != clientID:
			http.Error(w, "error=invalid_client_id: client identifier invalid", http.StatusBadRequest)
			return
		case redirect == "":
			http.Error(w, "error=redirect_uri_missing: redirect_uri must match configuration", http.StatusBadRequest)
			return
		case system != Inventory && q.Get("response_type") != "code":
			http.Error(w, "error=unsupported_response_type: response type not supported", http.StatusBadRequest)
			return
		case system == Salesforce && q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
			http.Error(w, "error=invalid_request: code_challenge_method must be S256", http.StatusBadRequest)
			return
		}
		target, err := url.Parse(redirect)
		if err != nil || (redirect != "" && !target.IsAbs()) {
			http.Error(w, "error=invalid_request: redirect_uri is not an absolute URL", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		code := map[string]string{Salesforce: "aPrx", Accounting: "AB11", Inventory: "sq0cgp-"}[system] + s.rng.token(40)
		if s.auth.codes == nil {
			s.auth.codes = map[string]authCode{}
		}
		s.auth.codes[code] = authCode{system: system, redirect: redirect, challenge: q.Get("code_challenge"), expires: s.now().Add(codeTTL)}
		s.mu.Unlock()
		back := target.Query()
		back.Set("code", code)
		back.Set("state", q.Get("state"))
		if system == Accounting {
			back.Set("realmId", qbRealm)
		}
		target.RawQuery = back.Encode()
		http.Redirect(w, r, target.String(), http.StatusFound)
	}
}

// redeemCodeLocked trades an authorization code once: it must be the
// system's, unexpired, for the same redirect_uri, and (when the consent
// had a PKCE challenge) come with the matching verifier. It returns an
// OAuth error code and description, or "" when the code is good.
func (s *Sim) redeemCodeLocked(system, code, redirect, verifier string) (string, string) {
	c, ok := s.auth.codes[code]
	if !ok || c.system != system {
		return "invalid_grant", "invalid authorization code"
	}
	delete(s.auth.codes, code) // once, whatever follows
	switch {
	case !s.now().Before(c.expires):
		return "invalid_grant", "expired authorization code"
	case c.redirect != redirect:
		return "invalid_grant", "redirect_uri mismatch"
	case c.challenge != "" && pkceChallenge(verifier) != c.challenge:
		return "invalid_grant", "invalid code verifier"
	}
	return "", ""
}

// pkceChallenge is RFC 7636's S256 challenge of a verifier.
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
