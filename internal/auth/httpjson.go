package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/porticohq/portico/internal/textcheck"
)

// maxBody caps a request body; every auth request is a few small fields.
const maxBody = 16 << 10

// FieldError names one bad input field.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

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

// decode reads a JSON object into dst: JSON only (415), capped size (413),
// no unknown fields and no trailing data (400). It answers the request and
// returns false on bad input.
func decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "send Content-Type: application/json", nil)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		if path, bad := textcheck.JSON(body); bad {
			writeError(w, r, http.StatusUnprocessableEntity, "invalid", "some fields are invalid",
				[]FieldError{{Path: path, Message: "must not contain a NUL character"}})
			return false
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(dst)
		if err == nil && dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var (
		maxErr  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		fields  []FieldError
	)
	msg := "malformed JSON: " + err.Error()
	switch {
	case errors.As(err, &maxErr):
		writeError(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body exceeds %d bytes", maxBody), nil)
		return false
	case errors.As(err, &typeErr):
		fields = []FieldError{{Path: typeErr.Field, Message: "must be a " + typeErr.Type.String()}}
		msg = "a field has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		fields = []FieldError{{Path: name, Message: "is not a known field"}}
		msg = "unknown field " + name
	}
	writeError(w, r, http.StatusBadRequest, "bad_request", msg, fields)
	return false
}
