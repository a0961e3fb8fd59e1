package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/porticohq/portico/internal/jsonbody"
)

// maxBody caps a request body. The largest write, a document upload, has
// its own limit in its intake schema; everything else is a few fields.
const maxBody = 64 << 10

// FieldError names one bad input field by its path.
type FieldError = jsonbody.Field

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
}

// replier writes JSON answers and logs server errors with the request id.
type replier struct{ log *slog.Logger }

// json answers v with status, no ETag.
func (rp replier) json(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		rp.internal(w, nil, fmt.Errorf("api: encoding answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// get answers a GET with an ETag over the body, and 304 when the client
// already holds it.
func (rp replier) get(w http.ResponseWriter, r *http.Request, v any) {
	b, etag, err := encodeGet(v)
	if err != nil {
		rp.internal(w, r, err)
		return
	}
	rp.raw(w, r, b, etag)
}

// encodeGet encodes a GET answer and its ETag.
func encodeGet(v any) ([]byte, string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, "", fmt.Errorf("api: encoding answer: %w", err)
	}
	b = append(b, '\n')
	sum := sha256.Sum256(b)
	return b, `"` + hex.EncodeToString(sum[:16]) + `"`, nil
}

// raw answers a GET with an encoded body (ending in a newline) and its
// ETag. Cache-Control is private: bodies depend on the user.
func (rp replier) raw(w http.ResponseWriter, r *http.Request, body []byte, etag string) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Vary", "Cookie, Authorization")
	if matchesETag(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// matchesETag implements If-None-Match's weak comparison.
func matchesETag(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func (rp replier) error(w http.ResponseWriter, status int, code, msg string, fields []FieldError) {
	rp.json(w, status, errorBody{Error: errorDetail{Code: code, Message: msg, Fields: fields}})
}

// notFound is the one answer for a record that does not exist and for one
// outside the scope: the same body, so that ids cannot be probed.
func (rp replier) notFound(w http.ResponseWriter) {
	rp.error(w, http.StatusNotFound, "not_found", "no such record", nil)
}

func (rp replier) invalid(w http.ResponseWriter, fields []FieldError) {
	rp.error(w, http.StatusUnprocessableEntity, "invalid", "some fields are invalid", fields)
}

// internal answers 500 and logs err with the request id.
func (rp replier) internal(w http.ResponseWriter, r *http.Request, err error) {
	id := ""
	if r != nil && r.Context().Err() != nil {
		// The client went away mid-request: nothing is wrong here.
		rp.log.DebugContext(r.Context(), "api: request abandoned by the client", slog.String("error", err.Error()))
		rp.error(w, http.StatusServiceUnavailable, "abandoned", "the request was cancelled", nil)
		return
	}
	if r != nil {
		id = middleware.GetReqID(r.Context())
		rp.log.ErrorContext(r.Context(), "api: internal error", slog.String("request_id", id), slog.String("error", err.Error()))
	} else {
		rp.log.Error("api: internal error", slog.String("error", err.Error()))
	}
	rp.error(w, http.StatusInternalServerError, "internal", "internal error; quote request id "+id, nil)
}

// decode reads one JSON object into dst (jsonbody.Read: 415, 413, 422
// naming the field, 400 for what is not JSON). It answers the request
// itself and returns false on bad input.
func (rp replier) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	if e := jsonbody.Read(w, r, maxBody, dst); e != nil {
		rp.error(w, e.Status, e.Code, e.Message, e.Fields)
		return false
	}
	return true
}
