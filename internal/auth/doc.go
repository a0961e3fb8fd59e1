// Package auth owns who a request is: portal users (tenant, CRM account,
// contact, roles), local passwords (argon2id), invitations and password
// resets (single-use hashed tokens), browser sessions in PostgreSQL with
// CSRF protection, login throttling, API tokens with scopes, and OIDC
// single sign-on. Its middleware puts a *Principal in the request context.
//
// It decides identity, not visibility: which records a principal may see
// is the access policy's job (the cache layer resolves account hierarchy
// from Principal.AccountID and SeeChildAccounts).
//
// Every /auth route says in one table (authRoutes, RouteScopes) whether
// it is public, for browser sessions only, or which API token scope it
// needs; a password reset and logging out everywhere also revoke the
// user's API tokens unless the user keeps them.
//
// Its queries live in internal/store/queries/auth.sql. Every time they
// compare against comes in as a parameter from Deps.Now, so that tests can
// move the clock through expiries, lockouts and session timeouts. It sends no mail itself:
// it queues River jobs (mailjobs.go) that internal/mail works. It keeps no
// audit log (Auditor, injected).
package auth
