package fakesource

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
)

// Salesforce's sObject Collections (composite/sobjects): up to 200 records
// of any objects created, updated or deleted in one call, each answered
// as its single-record call would be, in the usual
// [{"id","success","errors":[{"statusCode","message","fields"}]}] form;
// GET reads records of one object by id. allOrNone=true (roll every
// record back when one fails) is not simulated and answers 400.
//
//	POST   /services/data/vNN.N/composite/sobjects           {"allOrNone":false,"records":[{"attributes":{"type":"Case"},...}]}
//	PATCH  /services/data/vNN.N/composite/sobjects           records carry their id
//	DELETE /services/data/vNN.N/composite/sobjects?ids=a,b&allOrNone=false
//	GET    /services/data/vNN.N/composite/sobjects/{Obj}?ids=a,b&fields=F1,F2
func (s *Sim) compositeRoutes(mux *http.ServeMux) {
	for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodDelete} {
		mux.Handle(m+" /services/data/{v}/composite/sobjects", s.api(Salesforce, m+" composite/sobjects", kindAPI, s.sfCollection(m)))
	}
	mux.Handle("GET /services/data/{v}/composite/sobjects/{obj}", s.api(Salesforce, "GET composite/sobjects/{Obj}", kindAPI, s.sfCollectionGet))
}

const sfCollectionMax = 200

type sfResult struct {
	ID      any        `json:"id"`
	Success bool       `json:"success"`
	Errors  []sfColErr `json:"errors"`
}

type sfColErr struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func (s *Sim) sfCollection(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := sfCheckVersion(w, r)
		if !ok {
			return
		}
		var ids []string
		allOrNone := false
		var records []map[string]any
		if method == http.MethodDelete {
			q := r.URL.Query()
			ids = strings.Split(q.Get("ids"), ",")
			allOrNone = q.Get("allOrNone") == "true"
			if q.Get("ids") == "" {
				sfError(w, http.StatusBadRequest, "INVALID_FIELD", "ids is required")
				return
			}
		} else {
			var body struct {
				AllOrNone bool             `json:"allOrNone"`
				Records   []map[string]any `json:"records"`
			}
			if err := readJSON(r, &body); err != nil {
				sfError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not valid JSON")
				return
			}
			allOrNone, records = body.AllOrNone, body.Records
		}
		n := max(len(ids), len(records))
		switch {
		case allOrNone:
			sfError(w, http.StatusBadRequest, "INVALID_FIELD", "allOrNone=true is not simulated: send allOrNone=false")
			return
		case n == 0 || n > sfCollectionMax:
			sfError(w, http.StatusBadRequest, "INVALID_BATCH_SIZE", "the number of records must be between 1 and 200")
			return
		}
		out := make([]sfResult, 0, n)
		for i := range n {
			var res sfResult
			switch method {
			case http.MethodDelete:
				res = s.sfOne(r, v, http.MethodDelete, "", ids[i], nil)
			default:
				rec := records[i]
				typ := ""
				if at, ok := rec["attributes"].(map[string]any); ok {
					typ, _ = at["type"].(string)
				}
				id, _ := rec["id"].(string)
				if id == "" {
					id, _ = rec["Id"].(string)
				}
				switch {
				case typ == "":
					res = sfResult{Errors: []sfColErr{{StatusCode: "INVALID_TYPE", Message: "Must send a concrete entity type.", Fields: []string{}}}}
				case method == http.MethodPost && id != "":
					res = sfResult{Errors: []sfColErr{{StatusCode: "INVALID_FIELD", Message: "cannot specify Id in an insert call", Fields: []string{"Id"}}}}
				case method == http.MethodPatch && id == "":
					res = sfResult{Errors: []sfColErr{{StatusCode: "MISSING_ARGUMENT", Message: "Id not specified in an update call", Fields: []string{}}}}
				default:
					fields := map[string]any{}
					for k, val := range rec {
						if k != "attributes" && k != "id" && k != "Id" {
							fields[k] = val
						}
					}
					res = s.sfOne(r, v, method, typ, id, fields)
				}
			}
			out = append(out, res)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// sfOne runs one record of a collection through the single-record
// handler and turns its answer into a collection result.
func (s *Sim) sfOne(r *http.Request, v, method, obj, id string, fields map[string]any) sfResult {
	var body []byte
	if fields != nil {
		body, _ = json.Marshal(fields)
	}
	sub, _ := http.NewRequestWithContext(r.Context(), method, r.URL.String(), bytes.NewReader(body))
	sub.Header = r.Header.Clone()
	sub.Header.Set("Content-Type", "application/json")
	sub.SetPathValue("v", v)
	rec := httptest.NewRecorder()
	switch {
	case method == http.MethodPost:
		s.sfCreate(rec, sub, obj)
	case obj == "":
		// A delete names ids only: the id's prefix says the object.
		canon := ""
		for name, p := range sfPrefixes {
			if len(id) >= 3 && id[:3] == p {
				canon = name
			}
		}
		if canon == "" {
			return sfResult{ID: id, Errors: []sfColErr{{StatusCode: "MALFORMED_ID", Message: "malformed id " + id, Fields: []string{}}}}
		}
		s.sfByID(rec, sub, method, canon, id)
	default:
		s.sfByID(rec, sub, method, obj, id)
	}
	if rec.Code < 300 {
		res := sfResult{ID: id, Success: true, Errors: []sfColErr{}}
		if method == http.MethodPost {
			var created struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &created)
			res.ID = created.ID
		}
		return res
	}
	var errs []sfErr
	_ = json.Unmarshal(rec.Body.Bytes(), &errs)
	res := sfResult{Errors: []sfColErr{}}
	if method != http.MethodPost {
		res.ID = id
	}
	for _, e := range errs {
		f := e.Fields
		if f == nil {
			f = []string{}
		}
		res.Errors = append(res.Errors, sfColErr{StatusCode: e.ErrorCode, Message: e.Message, Fields: f})
	}
	return res
}

// sfCollectionGet reads records of one object by id: the records in the
// order of ids, null for an id that names none.
func (s *Sim) sfCollectionGet(w http.ResponseWriter, r *http.Request) {
	v, ok := sfCheckVersion(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if q.Get("ids") == "" || q.Get("fields") == "" {
		sfError(w, http.StatusBadRequest, "MALFORMED_QUERY", "ids and fields are required")
		return
	}
	if _, ok := sfCanonObject(r.PathValue("obj")); !ok {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	ids := strings.Split(q.Get("ids"), ",")
	if len(ids) > 2000 {
		sfError(w, http.StatusBadRequest, "INVALID_BATCH_SIZE", "at most 2000 ids")
		return
	}
	var out []any
	for _, id := range ids {
		sub, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "/?fields="+q.Get("fields"), nil)
		sub.Header = r.Header.Clone()
		sub.SetPathValue("v", v)
		rec := httptest.NewRecorder()
		s.sfByID(rec, sub, http.MethodGet, r.PathValue("obj"), id)
		switch {
		case rec.Code == http.StatusOK:
			out = append(out, json.RawMessage(rec.Body.Bytes()))
		case rec.Code == http.StatusNotFound:
			out = append(out, nil)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}
