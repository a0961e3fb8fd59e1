// Package apitest holds the API contract's checks for tests: it validates
// an HTTP exchange against openapi.json, and compares a router's routes
// with the operations the document declares. The packages that serve a
// part of the contract (api for /api/v1, auth for /auth, server and app
// for /admin) run every answer their tests see through Check, so the
// document cannot drift from what the handlers do. Tests only: it
// imports testing.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/auth"
)

// Exchange is one request and the answer to it, as a test saw them.
type Exchange struct {
	Request *http.Request
	// RequestBody is what was sent; the request's own body is spent.
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte
}

type contract struct {
	doc    *openapi3.T
	router routers.Router
}

// load parses and validates the document once per test binary.
var load = sync.OnceValues(func() (*contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("apitest: openapi.json: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("apitest: openapi.json: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: openapi.json: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// Check fails t unless the answer is what the document says the
// operation answers with that status. An answer the server accepted (any
// status below 400) also needs a request the document accepts, credentials
// included: the document may not ask for less, or other, than the server
// takes. A path the document does not know must answer 404 or 405.
func Check(t testing.TB, x Exchange) {
	t.Helper()
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	req := x.Request
	if req.URL.Path == "/api/openapi.json" {
		return
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if x.Status != http.StatusNotFound && x.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s is not in openapi.json", req.Method, req.URL.Path)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: presented}}
	if x.Status < http.StatusBadRequest {
		req.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s was answered %d, yet openapi.json refuses the request: %v", req.Method, req.URL, x.Status, err)
		}
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: x.Status, Header: x.Header,
		Body:    io.NopCloser(bytes.NewReader(x.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		t.Errorf("%s %s answered %d %s: not as openapi.json says: %v", req.Method, req.URL, x.Status, x.Body, err)
	}
}

var errNotPresented = errors.New("not presented")

// presented reports whether the request carries the credential of a
// security scheme. Whether the credential is valid is the server's
// business; the document only has to name what was sent.
func presented(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	authz := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(authz, " ")
	bearer := strings.EqualFold(scheme, "Bearer")
	ok := false
	switch in.SecuritySchemeName {
	case "session":
		_, err := r.Cookie(auth.SessionCookie)
		ok = err == nil
	case "csrf":
		ok = r.Header.Get(auth.CSRFHeader) != ""
	case "token":
		ok = bearer && strings.HasPrefix(cred, auth.APITokenPrefix)
	case "adminToken":
		ok = bearer && cred != "" && !strings.HasPrefix(cred, auth.APITokenPrefix)
	case "adminBasic":
		_, _, ok = r.BasicAuth()
	default:
		return fmt.Errorf("apitest: unknown security scheme %q", in.SecuritySchemeName)
	}
	if !ok {
		return errNotPresented
	}
	return nil
}

// Operations lists the document's operations under prefix, as
// "METHOD /path/{param}".
func Operations(prefix string) ([]string, error) {
	c, err := load()
	if err != nil {
		return nil, err
	}
	var out []string
	for path, item := range c.doc.Paths.Map() {
		if !strings.HasPrefix(path, prefix) {
			continue
		}
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Routes lists r's routes under prefix as Operations does, skipping the
// paths under any of skip. Mounted routers' trailing slashes go
// ("/admin/audit/" is /admin/audit), and so do the methods chi lists for
// a catch-all handler that no client sends.
func Routes(r chi.Routes, prefix string, skip ...string) ([]string, error) {
	var out []string
	err := chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		switch method {
		case http.MethodConnect, http.MethodTrace, http.MethodOptions:
			return nil
		}
		if !strings.HasPrefix(route, prefix) {
			return nil
		}
		for _, s := range skip {
			if route == s || strings.HasPrefix(route, s+"/") {
				return nil
			}
		}
		if route != "/" {
			route = strings.TrimSuffix(route, "/")
		}
		out = append(out, method+" "+route)
		return nil
	})
	slices.Sort(out)
	return slices.Compact(out), err
}
