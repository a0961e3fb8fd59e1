package api

import (
	"net/http"

	"github.com/porticohq/portico/internal/jsonbody"
	"github.com/porticohq/portico/internal/reply"
)

// maxBody caps a request body. The largest write, a document upload, has
// its own limit in its intake schema; everything else is a few fields.
const maxBody = 64 << 10

// notFound is the one answer for a record that does not exist and for one
// outside the scope: the same body, so that ids cannot be probed.
func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	a.rp.Fail(w, r, notFoundError())
}

// notFoundError is the answer for a missing or foreign record.
func notFoundError() *reply.Error {
	return &reply.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such record"}
}

// decode reads one JSON object into dst (jsonbody.Read: 415, 413, 422
// naming the field, 400 for what is not JSON). It answers the request
// itself and returns false on bad input.
func (a *API) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	if e := jsonbody.Read(w, r, maxBody, dst); e != nil {
		a.rp.Fail(w, r, e)
		return false
	}
	return true
}
