package reply

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
)

// Replier writes answers and logs every 5xx it writes to its logger.
type Replier struct{ log *slog.Logger }

// New returns a Replier logging to log; nil means slog.Default(), so that
// no server error goes unlogged.
func New(log *slog.Logger) Replier { return Replier{log: log} }

func (rp Replier) logger() *slog.Logger {
	if rp.log == nil {
		return slog.Default()
	}
	return rp.log
}

// JSON answers v with status. A value that cannot be encoded is a 500.
func (rp Replier) JSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		rp.Fail(w, r, InternalError(r, fmt.Errorf("reply: encoding the answer: %w", err)))
		return
	}
	if status >= 500 {
		rp.logServerError(r, status, "", "", nil)
	}
	send(w, status, b)
}

// Error answers the error shape with status, code, message and fields.
func (rp Replier) Error(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields ...Field) {
	rp.Fail(w, r, &Error{Status: status, Code: code, Message: msg, Fields: fields})
}

// Invalid answers 422 naming the bad fields.
func (rp Replier) Invalid(w http.ResponseWriter, r *http.Request, fields ...Field) {
	rp.Fail(w, r, Invalid(fields...))
}

// Fail answers e; a 5xx is logged with the request id and e's cause.
func (rp Replier) Fail(w http.ResponseWriter, r *http.Request, e *Error) {
	rp.Log(r, e)
	writeError(w, e)
}

// Log logs e with the request id when it is a 5xx, as Fail does, for a
// handler that shows e in another form (the portal's HTML pages).
func (rp Replier) Log(r *http.Request, e *Error) {
	if e.Status >= 500 {
		rp.logServerError(r, e.Status, e.Code, e.Message, e.Cause)
	}
}

// Internal answers 500 and logs err with the request id. When the client
// went away mid-request, err is most likely that, and nothing is wrong
// here: it answers 503 (which nobody reads) and logs at debug level.
func (rp Replier) Internal(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		rp.logger().DebugContext(r.Context(), "request abandoned by the client",
			slog.String("request_id", requestID(r)), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		writeError(w, &Error{Status: http.StatusServiceUnavailable, Code: "abandoned", Message: "the request was cancelled"})
		return
	}
	rp.Fail(w, r, InternalError(r, err))
}

// NoEndpoint answers 404 for a path no route serves; routers take it as
// their NotFound handler.
func (rp Replier) NoEndpoint(w http.ResponseWriter, r *http.Request) {
	rp.Error(w, r, http.StatusNotFound, "not_found", "no such endpoint")
}

// NoMethod answers 405 for a method the path does not take; routers take
// it as their MethodNotAllowed handler.
func (rp Replier) NoMethod(w http.ResponseWriter, r *http.Request) {
	rp.Error(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "this endpoint does not take that method")
}

// Refuse answers the error shape from code that has no logger at hand,
// such as a middleware refusing a request; a 5xx is logged to
// slog.Default().
func Refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields ...Field) {
	Replier{}.Error(w, r, status, code, msg, fields...)
}

func (rp Replier) logServerError(r *http.Request, status int, code, msg string, cause error) {
	attrs := []slog.Attr{
		slog.String("request_id", requestID(r)),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
	}
	if code != "" {
		attrs = append(attrs, slog.String("code", code), slog.String("message", msg))
	}
	if cause != nil {
		attrs = append(attrs, slog.String("error", cause.Error()))
	}
	rp.logger().LogAttrs(r.Context(), slog.LevelError, "server error", attrs...)
}

func writeError(w http.ResponseWriter, e *Error) {
	send(w, e.Status, Body(e))
}

// Body is e's answer as Fail writes it, for a handler whose library
// writes the response itself (the resumable uploads' tusd).
func Body(e *Error) []byte {
	// Strings, a slice and a map of them: encoding cannot fail.
	b, _ := json.Marshal(struct {
		Error *Error `json:"error"`
	}{e})
	return b
}

// send writes an encoded JSON body. Answers depend on who asks and may
// carry tokens: no cache keeps them.
func send(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func requestID(r *http.Request) string { return middleware.GetReqID(r.Context()) }
