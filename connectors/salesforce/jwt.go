package salesforce

import (
	"crypto/rsa"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/porticohq/portico/connectors"
)

// DefaultJWTAudience is the audience of a JWT bearer assertion for a
// production org; a sandbox's is https://test.salesforce.com.
const DefaultJWTAudience = "https://login.salesforce.com"

// jwtBearer is Salesforce's OAuth 2.0 JWT bearer flow, for
// server-to-server use: the connected app holds the certificate of key,
// and the integration user (user) is pre-authorized for it. Each
// authentication signs a new short-lived assertion; there is no refresh
// token to keep.
type jwtBearer struct {
	key  *rsa.PrivateKey
	user string
	aud  string
}

// parseJWT takes the JWT settings (jwt_key_file: the PEM private key,
// jwt_user: the username, jwt_audience) out of set; nil when none is
// given. It returns the other settings.
func parseJWT(set map[string]string) (*jwtBearer, map[string]string, error) {
	rest := maps.Clone(set)
	file, user, aud := rest["jwt_key_file"], rest["jwt_user"], rest["jwt_audience"]
	delete(rest, "jwt_key_file")
	delete(rest, "jwt_user")
	delete(rest, "jwt_audience")
	if file == "" && user == "" && aud == "" {
		return nil, rest, nil
	}
	if file == "" || user == "" {
		return nil, nil, &connectors.InvalidError{Field: "settings.jwt_key_file", Msg: "the JWT bearer flow needs both jwt_key_file (the connected app's private key, PEM) and jwt_user (the integration user's username)"}
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, &connectors.InvalidError{Field: "settings.jwt_key_file", Msg: err.Error()}
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pem)
	if err != nil {
		return nil, nil, &connectors.InvalidError{Field: "settings.jwt_key_file", Msg: fmt.Sprintf("%s: not an RSA private key in PEM: %v", file, err)}
	}
	if aud == "" {
		aud = DefaultJWTAudience
	}
	return &jwtBearer{key: key, user: strings.TrimSpace(user), aud: strings.TrimRight(aud, "/")}, rest, nil
}

// assertion signs the claims Salesforce asks for (RS256): iss the
// connected app's consumer key, sub the username, aud the login URL (a
// string, not a list), exp at most three minutes ahead.
func (j *jwtBearer) assertion(clientID string, now time.Time) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": clientID, "sub": j.user, "aud": j.aud, "exp": now.Add(3 * time.Minute).Unix(),
	})
	return tok.SignedString(j.key)
}
