// Package api is the portal's JSON API under /api/v1: the current user,
// cases with comments and a status timeline, orders with lines and
// shipments, invoices with payments, knowledge search, approvals, the
// state of submitted actions, and an account admin's signed webhooks
// (through notify's service, as the page /account/webhooks). One chi
// sub-router per resource; handlers are
// methods on structs holding their dependencies.
//
// It decides nothing about visibility itself: every request's scope comes
// from the access policy (internal/access), records are read through the
// records reader or, for the few related-record queries it runs, under
// the same scope and row-level security. Writes are not applied here: they
// are handed to the write-back service, which answers with an action (202);
// the portal's own settings (notification preferences, webhooks) change
// through their services, audited there or here.
//
// Its contract is openapi.json in this directory, served at
// /api/openapi.json. The document also describes /auth (package auth)
// and the staff endpoints under /admin (server, syncer, writeback,
// audit), River UI aside: integrators and staff script those too. The
// tests of those packages validate what they see against it (apitest),
// and app's tests hold the routes and the document's operations equal.
package api
