package inventory

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
)

// apiError is one entry of Square's {"errors":[...]}.
type apiError struct {
	Category string `json:"category"`
	Code     string `json:"code"`
	Detail   string `json:"detail"`
	Field    string `json:"field"`
}

type errorBody struct {
	Errors []apiError `json:"errors"`
}

// rateLimitWait is the back-off for RATE_LIMITED without Retry-After.
const rateLimitWait = time.Second

var unavailableCodes = map[string]bool{
	"INTERNAL_SERVER_ERROR": true, "SERVICE_UNAVAILABLE": true, "GATEWAY_TIMEOUT": true,
	"TEMPORARY_ERROR": true, "BAD_GATEWAY": true, "REQUEST_TIMEOUT": true,
}

var authCodes = map[string]bool{
	"UNAUTHORIZED": true, "ACCESS_TOKEN_EXPIRED": true, "ACCESS_TOKEN_REVOKED": true,
	"CLIENT_DISABLED": true, "INSUFFICIENT_SCOPES": true, "FORBIDDEN": true,
}

// classify maps an answer with errors (or a non-2xx status) to a
// connector error; nil for a clean 2xx.
func classify(resp *http.Response, body []byte) error {
	var eb errorBody
	_ = json.Unmarshal(body, &eb)
	if len(eb.Errors) == 0 {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		wait, _ := httpclient.RetryAfter(resp.Header)
		return connectors.FromStatus(resp.StatusCode, wait, strings.TrimSpace(string(body)))
	}
	first := eb.Errors[0]
	msg := joinErrors(eb.Errors)
	wait, _ := httpclient.RetryAfter(resp.Header)
	switch code := first.Code; {
	case code == "RATE_LIMITED" || first.Category == "RATE_LIMIT_ERROR" || resp.StatusCode == http.StatusTooManyRequests:
		if wait == 0 {
			wait = rateLimitWait
		}
		return &connectors.RateLimitedError{RetryAfter: wait, Msg: msg}
	case authCodes[code] || first.Category == "AUTHENTICATION_ERROR":
		return connectors.Classify(connectors.ErrAuthExpired, errors.New(msg))
	case code == "VERSION_MISMATCH" || code == "CONFLICT" || resp.StatusCode == http.StatusConflict:
		return &connectors.ConflictError{Msg: msg}
	case code == "NOT_FOUND" || code == "GONE":
		return connectors.Classify(connectors.ErrNotFound, errors.New(msg))
	case unavailableCodes[code] || resp.StatusCode >= 500:
		return connectors.Classify(connectors.ErrUnavailable, errors.New(msg))
	case first.Category == "INVALID_REQUEST_ERROR" || resp.StatusCode == http.StatusBadRequest:
		return &connectors.InvalidError{Field: first.Field, Msg: first.Detail, Code: code}
	}
	return connectors.FromStatus(resp.StatusCode, wait, msg)
}

func joinErrors(errs []apiError) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		p := e.Code + ": " + e.Detail
		if e.Field != "" {
			p += " (" + e.Field + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
