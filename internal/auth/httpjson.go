package auth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/porticohq/portico/internal/jsonbody"
)

// maxBody caps a request body; every auth request is a few small fields.
const maxBody = 16 << 10

// FieldError names one bad input field.
type FieldError = jsonbody.Field

// ValidationError is bad input, field by field. HTTP answers it with 422;
// the CLI maps paths to flags.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Path + ": " + f.Message
	}
	return "auth: invalid input: " + strings.Join(parts, "; ")
}

// add records a bad field.
func (e *ValidationError) add(path, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns e, or nil when no field was bad.
func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

func invalid(path, format string, args ...any) *ValidationError {
	v := &ValidationError{}
	v.add(path, format, args...)
	return v
}

type errorBody struct {
	Error struct {
		Code    string       `json:"code"`
		Message string       `json:"message"`
		Fields  []FieldError `json:"fields,omitempty"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, _ *http.Request, status int, code, msg string, fields []FieldError) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Fields = code, msg, fields
	writeJSON(w, status, b)
}

func writeInvalid(w http.ResponseWriter, r *http.Request, v *ValidationError) {
	writeError(w, r, http.StatusUnprocessableEntity, "invalid", "some fields are invalid", v.Fields)
}

// decode reads a JSON object into dst (jsonbody.Read: 415, 413, 422
// naming the field, 400 for what is not JSON), as the API does. It
// answers the request and returns false on bad input.
func decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	if e := jsonbody.Read(w, r, maxBody, dst); e != nil {
		writeError(w, r, e.Status, e.Code, e.Message, e.Fields)
		return false
	}
	return true
}
