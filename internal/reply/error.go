package reply

import (
	"fmt"
	"net/http"
)

// Field names one bad input field by its path: a body field ("email",
// "input.tags[0]"), a query parameter or a header ("header.NAME").
type Field struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error is an error answer: the status, and the body's machine-readable
// code, its message and the fields at fault. Cause, when set, is logged
// with a 5xx and never shown.
type Error struct {
	Status  int     `json:"-"`
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Fields  []Field `json:"fields,omitempty"`
	// Details are the values the message names, for a client that says
	// it in its own words (a refused upload's limit, types, signature).
	Details map[string]string `json:"details,omitempty"`
	Cause   error             `json:"-"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	for _, f := range e.Fields {
		s += "; " + f.Path + ": " + f.Message
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// Invalid is the 422 answer to input with bad fields.
func Invalid(fields ...Field) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: "some fields are invalid", Fields: fields}
}

// InternalError is the 500 answer for cause, which the answer does not
// show: it names the request id to quote instead.
func InternalError(r *http.Request, cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "internal",
		Message: "internal error; quote request id " + requestID(r), Cause: cause}
}
