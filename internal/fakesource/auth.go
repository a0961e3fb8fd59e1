package fakesource

import (
	"fmt"
	"time"
)

// Fixed identities of the simulated tenants.
var (
	sfOrgID = sfID("00D", 4242)
	qbRealm = "9130357766902476"
)

type accessToken struct {
	system  string
	expires time.Time // zero: never
}

type refreshInfo struct {
	validUntil time.Time // zero: valid until rotated
}

// authState holds client credentials and the tokens issued so far.
type authState struct {
	sfClientID, sfClientSecret, sfRefresh        string
	qbClientID, qbClientSecret, qbInitialRefresh string
	sqClientID, sqClientSecret, sqRefresh        string
	sqStaticToken                                string
	qbRefresh                                    map[string]refreshInfo
	qbCurrent                                    string // the refresh token issued last
	access                                       map[string]accessToken
	codes                                        map[string]authCode // authorization codes not yet traded
	issued                                       int
}

// newAuthState derives the client credentials from the seed so a restarted simulator
// with the same seed accepts the same configuration.
func newAuthState(seed int64) *authState {
	r := newRnd(seed, tagOf("credentials"), 0)
	tok := func(prefix string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = b62[r.intn(62)]
		}
		return prefix + string(b)
	}
	a := &authState{
		sfClientID: tok("3MVG9sim", 40), sfClientSecret: tok("", 32), sfRefresh: tok("5Aep861sim", 40),
		qbClientID: tok("ABsim", 40), qbClientSecret: tok("", 40), qbInitialRefresh: tok("AB1sim", 40),
		sqClientID: tok("sq0idp-sim", 22), sqClientSecret: tok("sq0csp-sim", 40), sqRefresh: tok("EQAAEsimR", 40),
		sqStaticToken: tok("EAAAEsim", 56),
		qbRefresh:     map[string]refreshInfo{}, access: map[string]accessToken{},
	}
	a.qbRefresh[a.qbInitialRefresh] = refreshInfo{}
	a.qbCurrent = a.qbInitialRefresh
	a.access[a.sqStaticToken] = accessToken{system: Inventory}
	return a
}

// issue records a new access token for system; callers hold s.mu.
func (s *Sim) issueTokenLocked(system string) (string, time.Time) {
	s.auth.issued++
	var tok string
	switch system {
	case Salesforce:
		tok = fmt.Sprintf("%s!AQ%s", sfOrgID[:15], s.rng.token(90))
	case Accounting:
		tok = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2In0." + s.rng.token(120)
	default:
		tok = "EAAAE" + s.rng.token(59)
	}
	exp := s.now().Add(s.opts.TokenTTL)
	s.auth.access[tok] = accessToken{system: system, expires: exp}
	if s.journal != nil {
		s.journalLocked(journalEntry{Access: &journalToken{Token: tok, System: system, Until: exp}})
	}
	return tok, exp
}

// tokenStatus classifies a bearer token for system: "ok", "expired" or "unknown".
func (s *Sim) tokenStatusLocked(system, tok string) string {
	t, ok := s.auth.access[tok]
	if !ok || t.system != system {
		return "unknown"
	}
	if !t.expires.IsZero() && !s.now().Before(t.expires) {
		return "expired"
	}
	return "ok"
}
