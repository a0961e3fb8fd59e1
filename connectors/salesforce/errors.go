package salesforce

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
)

// apiError is one entry of Salesforce's error body.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// parseErrors reads an error body, which is usually an array of errors,
// sometimes a single object, and for 300 Multiple Choices a bare list of
// record URLs.
func parseErrors(body []byte) (errs []apiError, urls []string) {
	body = trimSpace(body)
	if len(body) == 0 {
		return nil, nil
	}
	if body[0] == '{' {
		var e apiError
		if json.Unmarshal(body, &e) == nil && (e.ErrorCode != "" || e.Message != "") {
			return []apiError{e}, nil
		}
		return nil, nil
	}
	if json.Unmarshal(body, &errs) == nil {
		return errs, nil
	}
	if json.Unmarshal(body, &urls) == nil {
		return nil, urls
	}
	return nil, nil
}

func trimSpace(b []byte) []byte {
	return []byte(strings.TrimSpace(string(b)))
}

// defaultLimitWait is how long to back off on REQUEST_LIMIT_EXCEEDED when
// the response carries no Retry-After: the org's 24-hour allowance frees
// up gradually, so checking again in a few minutes is reasonable.
const defaultLimitWait = 5 * time.Minute

// invalidCodes are permanent errors in the request itself; their message
// is shown to the customer.
var invalidCodes = map[string]bool{
	"DUPLICATE_VALUE": true, "INVALID_FIELD": true, "REQUIRED_FIELD_MISSING": true,
	"FIELD_CUSTOM_VALIDATION_EXCEPTION": true, "INVALID_FIELD_FOR_INSERT_UPDATE": true,
	"STRING_TOO_LONG": true, "INVALID_TYPE_ON_FIELD_IN_RECORD": true, "MALFORMED_ID": true,
	"INVALID_CROSS_REFERENCE_KEY": true, "FIELD_INTEGRITY_EXCEPTION": true, "MALFORMED_QUERY": true,
	"MALFORMED_SEARCH": true, "INVALID_TYPE": true, "JSON_PARSER_ERROR": true, "INVALID_EMAIL_ADDRESS": true,
	"NUMBER_OUTSIDE_VALID_RANGE": true, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": true,
	"CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY": true, "ENTITY_IS_LOCKED": true, "INSUFFICIENT_ACCESS_OR_READONLY": true,
	"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": true, "INVALID_ID_FIELD": true,
	"INVALID_QUERY_LOCATOR": true, "INVALID_QUERY_FILTER_OPERATOR": true,
}

// classify turns a non-2xx response into a classified error.
func classify(resp *http.Response, body []byte) error {
	errs, urls := parseErrors(body)
	if resp.StatusCode == http.StatusMultipleChoices || len(urls) > 0 {
		return &connectors.InvalidError{
			Code: "MULTIPLE_CHOICES",
			Msg:  fmt.Sprintf("the key matches more than one record (%s)", strings.Join(urls, ", ")),
		}
	}
	wait, _ := httpclient.RetryAfter(resp.Header)
	if len(errs) == 0 {
		if resp.StatusCode == http.StatusPreconditionFailed {
			return &connectors.ConflictError{Msg: "the record was modified since the expected version"}
		}
		return connectors.FromStatus(resp.StatusCode, wait, strings.TrimSpace(string(body)))
	}
	// Whatever the class, the vendor's code stays on the error, known or not.
	return connectors.WithCode(classifyErrors(resp, errs, wait), errs[0].ErrorCode)
}

// classifyErrors classifies a parsed error body by its first error's code.
func classifyErrors(resp *http.Response, errs []apiError, wait time.Duration) error {
	first := errs[0]
	msg := joinMessages(errs)
	switch code := first.ErrorCode; {
	case code == "INVALID_SESSION_ID":
		return connectors.Classify(connectors.ErrAuthExpired, errors.New(msg))
	case code == "REQUEST_LIMIT_EXCEEDED":
		if wait == 0 {
			wait = defaultLimitWait
		}
		return &connectors.RateLimitedError{RetryAfter: wait, Msg: msg}
	case code == "NOT_FOUND" || code == "ENTITY_IS_DELETED":
		return connectors.Classify(connectors.ErrNotFound, errors.New(msg))
	case code == "PRECONDITION_FAILED" || resp.StatusCode == http.StatusPreconditionFailed:
		return &connectors.ConflictError{Msg: msg}
	case code == "UNABLE_TO_LOCK_ROW" || code == "SERVER_UNAVAILABLE" || resp.StatusCode >= 500:
		return connectors.Classify(connectors.ErrUnavailable, errors.New(msg))
	case invalidCodes[code]:
		var field string
		if len(first.Fields) > 0 {
			field = first.Fields[0]
		}
		return &connectors.InvalidError{Field: field, Msg: first.Message, Code: code}
	}
	return connectors.FromStatus(resp.StatusCode, wait, msg)
}

func joinMessages(errs []apiError) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		parts = append(parts, e.ErrorCode+": "+e.Message)
	}
	return strings.Join(parts, "; ")
}
