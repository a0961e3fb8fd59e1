package reply_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/logtest"
	"github.com/porticohq/portico/internal/reply"
)

// request returns a GET carrying a request id, as chi's RequestID
// middleware leaves it.
func request(id string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/admin/things", nil)
	return r.WithContext(context.WithValue(r.Context(), middleware.RequestIDKey, id))
}

// errorBody is the one error shape, decoded strictly.
type errorBody struct {
	Error struct {
		Code    string        `json:"code"`
		Message string        `json:"message"`
		Fields  []reply.Field `json:"fields"`
	} `json:"error"`
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	var b errorBody
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&b))
	return b
}

func TestServerErrorsAreLoggedWithTheRequestID(t *testing.T) {
	t.Parallel()
	rec := logtest.New()
	rp := reply.New(rec.Logger())

	w := httptest.NewRecorder()
	rp.Internal(w, request("host/abc-000042"), errors.New("database is on fire"))
	require.Equal(t, http.StatusInternalServerError, w.Code)
	b := decodeError(t, w)
	require.Equal(t, "internal", b.Error.Code)
	require.Equal(t, "internal error; quote request id host/abc-000042", b.Error.Message)
	require.NotContains(t, b.Error.Message, "fire", "the cause is logged, never shown")

	w = httptest.NewRecorder()
	rp.Error(w, request("host/abc-000043"), http.StatusServiceUnavailable, "unavailable", "try again")
	require.Equal(t, http.StatusServiceUnavailable, w.Code)

	w = httptest.NewRecorder()
	rp.JSON(w, request("host/abc-000044"), http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
	require.Equal(t, http.StatusServiceUnavailable, w.Code)

	logged := rec.Matching("server error")
	require.Len(t, logged, 3)
	for i, id := range []string{"host/abc-000042", "host/abc-000043", "host/abc-000044"} {
		require.Equal(t, slog.LevelError, logged[i].Level)
		v, ok := logged[i].Value("request_id")
		require.True(t, ok, logged[i].Keys())
		require.Equal(t, id, v.String())
	}
	cause, _ := logged[0].Value("error")
	require.Equal(t, "database is on fire", cause.String())
	code, _ := logged[1].Value("code")
	require.Equal(t, "unavailable", code.String())
}

func TestClientErrorsAreNotLogged(t *testing.T) {
	t.Parallel()
	rec := logtest.New()
	rp := reply.New(rec.Logger())
	for _, status := range []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict} {
		rp.Error(httptest.NewRecorder(), request("x"), status, "nope", "no")
	}
	rp.JSON(httptest.NewRecorder(), request("x"), http.StatusOK, map[string]int{"n": 1})
	require.Empty(t, rec.Records())
}

func TestErrorShape(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	reply.Refuse(w, request("x"), http.StatusForbidden, "forbidden", "staff only")
	require.Equal(t, http.StatusForbidden, w.Code)
	require.JSONEq(t, `{"error":{"code":"forbidden","message":"staff only"}}`, w.Body.String(),
		"no fields: the key is left out")

	w = httptest.NewRecorder()
	rp := reply.New(slog.New(slog.DiscardHandler))
	rp.NoMethod(w, request("x"))
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Equal(t, "method_not_allowed", decodeError(t, w).Error.Code)
	w = httptest.NewRecorder()
	rp.NoEndpoint(w, request("x"))
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Equal(t, "not_found", decodeError(t, w).Error.Code)
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	rp := reply.New(slog.New(slog.DiscardHandler))
	w := httptest.NewRecorder()
	rp.Invalid(w, request("x"), reply.Field{Path: "email", Message: "is required"}, reply.Field{Path: "header.Idempotency-Key", Message: "is too long"})
	require.Equal(t, http.StatusUnprocessableEntity, w.Code)
	require.JSONEq(t, `{"error":{"code":"invalid","message":"some fields are invalid","fields":[
		{"path":"email","message":"is required"},{"path":"header.Idempotency-Key","message":"is too long"}]}}`, w.Body.String())

	// An *Error is an error too: code returning one can be answered as is.
	var err error = reply.Invalid(reply.Field{Path: "limit", Message: "must be an integer"})
	var e *reply.Error
	require.ErrorAs(t, err, &e)
	require.Contains(t, err.Error(), "limit: must be an integer")
	w = httptest.NewRecorder()
	rp.Fail(w, request("x"), e)
	require.Equal(t, []reply.Field{{Path: "limit", Message: "must be an integer"}}, decodeError(t, w).Error.Fields)
}

func TestAbandonedRequestIsNotAnError(t *testing.T) {
	t.Parallel()
	rec := logtest.New()
	rp := reply.New(rec.Logger())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	rp.Internal(w, request("x").WithContext(ctx), context.Canceled)
	require.Equal(t, http.StatusServiceUnavailable, w.Code)
	require.Equal(t, "abandoned", decodeError(t, w).Error.Code)
	require.Len(t, rec.Records(), 1)
	require.Equal(t, slog.LevelDebug, rec.Records()[0].Level)
}

func TestUnencodableAnswerIs500(t *testing.T) {
	t.Parallel()
	rec := logtest.New()
	w := httptest.NewRecorder()
	reply.New(rec.Logger()).JSON(w, request("id-7"), http.StatusOK, map[string]any{"f": func() {}})
	require.Equal(t, http.StatusInternalServerError, w.Code)
	require.Equal(t, "internal", decodeError(t, w).Error.Code)
	require.Len(t, rec.Matching("server error"), 1)
}

func TestGetAnswers304ForTheSameETag(t *testing.T) {
	t.Parallel()
	rp := reply.New(slog.New(slog.DiscardHandler))
	w := httptest.NewRecorder()
	rp.Get(w, request("x"), map[string]int{"n": 1})
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "{\"n\":1}\n", w.Body.String())
	etag := w.Header().Get("ETag")
	require.NotEmpty(t, etag)
	require.Equal(t, "private, no-cache", w.Header().Get("Cache-Control"))

	r := request("x")
	r.Header.Set("If-None-Match", `"other", W/`+etag)
	w = httptest.NewRecorder()
	rp.Get(w, r, map[string]int{"n": 1})
	require.Equal(t, http.StatusNotModified, w.Code)
	require.Empty(t, w.Body.String())
}

func TestDocument(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	reply.Document(w, []byte(`{"openapi":"3.1.0"}`), 5*time.Minute)
	require.Equal(t, "public, max-age=300", w.Header().Get("Cache-Control"))
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
}
