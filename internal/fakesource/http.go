package fakesource

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// callKind says which gates a call passes.
type callKind int

const (
	kindAPI   callKind = iota // bearer token required, counts against the daily quota
	kindToken                 // OAuth token endpoint: no bearer, no quota
)

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	s.salesforceRoutes(mux)
	s.accountingRoutes(mux)
	s.inventoryRoutes(mux)
	s.consentRoutes(mux)
	s.compositeRoutes(mux)
	s.conformanceRoutes(mux)
	s.controlRoutes(mux)
	return mux
}

// statusWriter records the status and optionally trickles the body.
type statusWriter struct {
	http.ResponseWriter
	code int
	bps  int
	req  *http.Request
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.bps <= 0 {
		return w.ResponseWriter.Write(p)
	}
	chunk := max(1, w.bps/10)
	rc := http.NewResponseController(w.ResponseWriter)
	written := 0
	for len(p) > 0 {
		n := min(chunk, len(p))
		m, err := w.ResponseWriter.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		_ = rc.Flush()
		p = p[n:]
		if len(p) > 0 {
			select {
			case <-time.After(100 * time.Millisecond):
			case <-w.req.Context().Done():
				return written, w.req.Context().Err()
			}
		}
	}
	return written, nil
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// api wraps a vendor handler with stats, faults, quota and authentication.
func (s *Sim) api(system, endpoint string, kind callKind, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.learnBaseURL(r)
		f := s.faultsFor(system)
		sw := &statusWriter{ResponseWriter: w, bps: f.SlowBodyBytesPerSec, req: r}
		status := -1
		defer func() {
			if status < 0 {
				status = sw.status()
			}
			s.countCall(system, endpoint, status)
		}()
		if system == Salesforce { // on every answer, faults included; updated once the call counts
			used, limit := s.peekQuota(system, f.DailyQuota)
			sw.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", used, limit))
		}
		if f.LatencyMaxMS > 0 || f.LatencyMinMS > 0 {
			lo, hi := f.LatencyMinMS, max(f.LatencyMinMS, f.LatencyMaxMS)
			d := time.Duration(lo+s.rng.IntN(hi-lo+1)) * time.Millisecond
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if !f.OutageUntil.IsZero() && s.now().Before(f.OutageUntil) {
			retry := int(f.OutageUntil.Sub(s.now()).Seconds()) + 1
			s.writeFault(sw, system, http.StatusServiceUnavailable, retry)
			return
		}
		if f.ResetRate > 0 && s.rng.Float64() < f.ResetRate {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST rather than FIN: a real reset
				}
				_ = conn.Close()
				status = 0
				return
			}
		}
		if kind == kindAPI {
			used, limit, ok := s.useQuota(system, f.DailyQuota)
			if system == Salesforce {
				sw.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", used, limit))
			}
			if !ok {
				s.writeQuotaExceeded(sw, system)
				return
			}
		}
		if f.RateLimitRate > 0 && s.rng.Float64() < f.RateLimitRate {
			s.writeRateLimited(sw, system, max(1, f.RetryAfterSeconds))
			return
		}
		if f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate {
			code := http.StatusInternalServerError
			if s.rng.IntN(2) == 0 {
				code = http.StatusServiceUnavailable
			}
			s.writeFault(sw, system, code, 0)
			return
		}
		if kind == kindAPI && !s.checkBearer(sw, r, system) {
			return
		}
		// Handlers answer into memory while they hold s.mu; the (possibly trickled) body
		// goes out after they return, so a slow client never holds the simulator's lock.
		buf := &bufferedResponse{header: sw.Header()}
		h(buf, r)
		sw.WriteHeader(cmp.Or(buf.status, http.StatusOK))
		if len(buf.body) > 0 {
			_, _ = sw.Write(buf.body)
		}
	})
}

func (s *Sim) learnBaseURL(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL == "" && r.Host != "" {
		s.baseURL = requestBase(r)
	}
}

// requestBase is the scheme and host the client addressed.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Sim) base() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

func (s *Sim) countCall(system, endpoint string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.calls[callKey{system, endpoint, status}]++
}

func (s *Sim) checkBearer(w http.ResponseWriter, r *http.Request, system string) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, _ = strings.CutPrefix(h, "OAuth ") // Salesforce accepts both
	}
	s.mu.Lock()
	st := s.tokenStatusLocked(system, strings.TrimSpace(tok))
	s.mu.Unlock()
	if st == "ok" {
		return true
	}
	switch system {
	case Salesforce:
		sfError(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
	case Accounting:
		qbAuthFault(w, s.now(), st, tok)
	default:
		code, detail := "UNAUTHORIZED", "This request could not be authorized."
		if st == "expired" {
			code, detail = "ACCESS_TOKEN_EXPIRED", "The access token has expired."
		}
		sqError(w, http.StatusUnauthorized, "AUTHENTICATION_ERROR", code, detail, "")
	}
	return false
}

// quotaDay counts calls of one UTC day.
type quotaDay struct {
	day  string
	used int
}

const sfDefaultDailyLimit = 100000

// useQuota counts one call; ok is false (and nothing is counted) once the quota is spent.
func (s *Sim) useQuota(system string, quota int) (used, limit int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	day := s.now().UTC().Format("2006-01-02")
	q := s.quota[system]
	if q == nil || q.day != day {
		q = &quotaDay{day: day}
		s.quota[system] = q
	}
	limit = quota
	if limit <= 0 {
		limit = sfDefaultDailyLimit
	}
	if quota > 0 && q.used >= quota {
		return q.used, limit, false
	}
	q.used++
	return q.used, limit, true
}

// peekQuota reports today's usage without counting a call.
func (s *Sim) peekQuota(system string, quota int) (used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit = quota
	if limit <= 0 {
		limit = sfDefaultDailyLimit
	}
	if q := s.quota[system]; q != nil && q.day == s.now().UTC().Format("2006-01-02") {
		used = q.used
	}
	return used, limit
}

func (s *Sim) secondsToMidnight() int {
	now := s.now().UTC()
	next := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	return int(next.Sub(now).Seconds()) + 1
}

func (s *Sim) writeQuotaExceeded(w http.ResponseWriter, system string) {
	w.Header().Set("Retry-After", strconv.Itoa(s.secondsToMidnight()))
	switch system {
	case Salesforce:
		sfError(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
	case Accounting:
		qbThrottle(w, s.now(), http.StatusTooManyRequests)
	default:
		sqError(w, http.StatusTooManyRequests, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Daily request quota exhausted.", "")
	}
}

func (s *Sim) writeRateLimited(w http.ResponseWriter, system string, retry int) {
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	switch system {
	case Salesforce:
		sfError(w, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
	case Accounting:
		code := http.StatusTooManyRequests
		if s.rng.IntN(4) == 0 { // QuickBooks also throttles with 403
			code = http.StatusForbidden
		}
		qbThrottle(w, s.now(), code)
	default:
		sqError(w, http.StatusTooManyRequests, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limited.", "")
	}
}

func (s *Sim) writeFault(w http.ResponseWriter, system string, code, retry int) {
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	switch system {
	case Salesforce:
		if code == http.StatusServiceUnavailable {
			sfError(w, code, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later.")
		} else {
			sfError(w, code, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)")
		}
	case Accounting:
		if code == http.StatusServiceUnavailable {
			qbFault(w, s.now(), code, "SERVICE", "3003", "Service Unavailable", "The service is temporarily unavailable.", "")
		} else {
			qbFault(w, s.now(), code, "SystemFault", "10000", "An application error has occurred while processing your request", "System Failure Error: An unexpected error occurred while accessing or saving your data.", "")
		}
	default:
		if code == http.StatusServiceUnavailable {
			sqError(w, code, "API_ERROR", "SERVICE_UNAVAILABLE", "Service unavailable.", "")
		} else {
			sqError(w, code, "API_ERROR", "INTERNAL_SERVER_ERROR", "An internal error occurred.", "")
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := appendJSON(make([]byte, 0, 4096), v)
	if err != nil {
		http.Error(w, "fakesource: encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// sfErr is one Salesforce REST error.
type sfErr struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func sfError(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	writeJSON(w, status, []sfErr{{Message: msg, ErrorCode: code, Fields: fields}})
}

func qbNow(t time.Time) string { return t.In(qbZone).Format("2006-01-02T15:04:05.000-07:00") }

// qbFault writes the usual QuickBooks fault envelope.
func qbFault(w http.ResponseWriter, now time.Time, status int, typ, code, msg, detail, element string) {
	e := map[string]any{"Message": msg, "Detail": detail, "code": code}
	if element != "" {
		e["element"] = element
	}
	writeJSON(w, status, map[string]any{"Fault": map[string]any{"Error": []any{e}, "type": typ}, "time": qbNow(now)})
}

func qbValidation(w http.ResponseWriter, now time.Time, code, msg, detail, element string) {
	qbFault(w, now, http.StatusBadRequest, "ValidationFault", code, msg, detail, element)
}

func qbThrottle(w http.ResponseWriter, now time.Time, status int) {
	qbFault(w, now, status, "SERVICE", "3001", fmt.Sprintf("message=ThrottleExceeded; errorCode=003001; statusCode=%d", status), "The request limit was reached.  Try again later", "")
}

// qbAuthFault writes the lower-case 401 envelope QuickBooks uses for authentication.
func qbAuthFault(w http.ResponseWriter, now time.Time, status, tok string) {
	detail := "Token expired: " + truncate(tok, 20)
	if status != "expired" {
		detail = "Token invalid"
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{
		"warnings": nil, "intuitObject": nil,
		"fault": map[string]any{"error": []any{map[string]any{
			"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401", "detail": detail, "code": "3200", "element": nil,
		}}, "type": "AUTHENTICATION"},
		"report": nil, "queryResponse": nil, "batchItemResponse": []any{}, "attachableResponse": []any{},
		"syncErrorResponse": nil, "requestId": nil, "time": now.UnixMilli(), "status": nil, "cdcresponse": []any{},
	})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// sqErr is one Square API error.
type sqErr struct {
	Category string `json:"category"`
	Code     string `json:"code"`
	Detail   string `json:"detail,omitempty"`
	Field    string `json:"field,omitempty"`
}

func sqError(w http.ResponseWriter, status int, category, code, detail, field string) {
	writeJSON(w, status, map[string]any{"errors": []sqErr{{Category: category, Code: code, Detail: detail, Field: field}}})
}

// readJSON decodes a request body of at most 10 MiB.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 10<<20))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}
