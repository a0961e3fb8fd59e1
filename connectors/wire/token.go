package wire

import (
	"encoding/base64"
	"encoding/json"

	"github.com/porticohq/portico/connectors"
)

// EncodeToken writes a connector's page token (any JSON-encodable
// struct) as the opaque string Page.Next carries.
func EncodeToken(t any) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeToken reads a token EncodeToken wrote. Anything else is an
// InvalidError on field "page": the caller passed a token from elsewhere.
func DecodeToken[T any](s string) (T, error) {
	var t T
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil {
		return t, &connectors.InvalidError{Field: "page", Msg: "not a page token from this connector"}
	}
	return t, nil
}
