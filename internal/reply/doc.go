// Package reply writes the JSON answers and errors of every HTTP surface
// (/api/v1, /auth, /admin, /hooks, the health checks and the 404/405
// answers), as Miniflux's internal/http/response does, so that they keep
// one error shape:
//
//	{"error":{"code":"invalid","message":"some fields are invalid","fields":[{"path":"email","message":"is required"}]}}
//
// It owns Field, the one type that names a bad input field, and Error,
// the one error answer. Every 5xx it writes is logged with the request id
// (chi's middleware.GetReqID), so that a user quoting an id finds the
// cause.
//
// Nothing else encodes JSON onto an http.ResponseWriter; guard_test.go
// fails when a package does. It does not read requests (internal/jsonbody
// does, and answers its refusals as Errors), and it renders no HTML: web
// pages show the same Fields beside their inputs.
package reply
