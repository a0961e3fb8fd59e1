package fakesource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// sfCompositeMax is how many sub-requests one Composite call may carry.
const sfCompositeMax = 25

// sfComposite serves POST /services/data/{v}/composite: up to 25 GET
// sub-requests (query, and an object's deleted or updated list) answered
// in one response that counts as one API call. As in Salesforce, a
// sub-request that fails answers with its own status and error body
// inside the call's 200; with allOrNone false, the others still run.
func (s *Sim) sfComposite(w http.ResponseWriter, r *http.Request) {
	v, ok := sfCheckVersion(w, r)
	if !ok {
		return
	}
	var body struct {
		AllOrNone bool `json:"allOrNone"`
		Requests  []struct {
			Method      string `json:"method"`
			URL         string `json:"url"`
			ReferenceID string `json:"referenceId"`
		} `json:"compositeRequest"`
	}
	if err := readJSON(r, &body); err != nil {
		sfError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not valid JSON")
		return
	}
	if len(body.Requests) == 0 || len(body.Requests) > sfCompositeMax {
		sfError(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("compositeRequest must have between 1 and %d subrequests", sfCompositeMax))
		return
	}
	type sub struct {
		Body        json.RawMessage   `json:"body"`
		HTTPHeaders map[string]string `json:"httpHeaders"`
		Status      int               `json:"httpStatusCode"`
		ReferenceID string            `json:"referenceId"`
	}
	out := make([]sub, 0, len(body.Requests))
	for _, sr := range body.Requests {
		rec := httptest.NewRecorder()
		s.sfSubRequest(rec, r, v, sr.Method, sr.URL)
		b := bytes.TrimSpace(rec.Body.Bytes())
		if len(b) == 0 {
			b = []byte("null")
		}
		out = append(out, sub{Body: b, HTTPHeaders: map[string]string{}, Status: rec.Code, ReferenceID: sr.ReferenceID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"compositeResponse": out})
}

// sfSubRequest answers one Composite sub-request with the handler the
// same call would reach on its own, without counting it as a call.
func (s *Sim) sfSubRequest(w http.ResponseWriter, parent *http.Request, version, method, raw string) {
	u, err := url.Parse(raw)
	prefix := "/services/data/" + version + "/"
	if err != nil || !strings.HasPrefix(u.Path, prefix) {
		sfError(w, http.StatusBadRequest, "INVALID_URL", "The sub-request URL must start with "+prefix)
		return
	}
	if method != http.MethodGet {
		sfError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "The simulator's Composite answers GET sub-requests only")
		return
	}
	req := httptest.NewRequestWithContext(parent.Context(), method, u.String(), nil)
	req.SetPathValue("v", version)
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(u.Path, prefix), "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "query":
		s.sfQuery(false)(w, req)
	case len(parts) == 3 && parts[0] == "sobjects" && (parts[2] == "deleted" || parts[2] == "updated"):
		s.sfChanges(w, req, parts[1], parts[2])
	default:
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}
