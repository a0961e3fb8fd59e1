// Package jsonbody reads the JSON body of a request, for the portal API
// and /auth alike, so that both refuse bad input the same way: 415 for
// another media type, 413 past the size cap, 422 naming the field for a
// value of the wrong type, an unknown field, text PostgreSQL cannot
// store (textcheck) or a number beyond float64, and 400 only for a body
// that is not one JSON object. It writes no response itself: a refusal
// is a *reply.Error, which the caller answers with reply.Replier.Fail.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/textcheck"
)

// Read reads r's body, at most limit bytes of application/json, into dst
// with Decode.
func Read(w http.ResponseWriter, r *http.Request, limit int64, dst any) *reply.Error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &reply.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send Content-Type: application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &reply.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body exceeds %d bytes", limit)}
	}
	if err != nil {
		return &reply.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "reading the body: " + err.Error()}
	}
	return Decode(body, dst)
}

// Decode decodes one JSON value into dst: no unknown fields, nothing
// after the value, numbers kept as json.Number where dst takes any. The
// body's raw bytes are checked first, because encoding/json silently
// turns invalid UTF-8 into U+FFFD.
func Decode(body []byte, dst any) *reply.Error {
	if p, bad := textcheck.JSON(body); bad {
		return invalid(p.Path, p.Message)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(dst)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON object")
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return &reply.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "the body must be " + jsonType(typeErr.Type)}
	case errors.As(err, &typeErr):
		return invalid(typeErr.Field, "must be "+jsonType(typeErr.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return invalid(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "is not a known field")
	}
	return &reply.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "malformed JSON: " + err.Error()}
}

func invalid(path, msg string) *reply.Error {
	return reply.Invalid(reply.Field{Path: path, Message: msg})
}

// jsonType names a Go type as JSON calls it, with its article.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	}
	return "a number"
}
