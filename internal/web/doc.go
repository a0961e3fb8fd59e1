// Package web is the customer portal's pages: server-rendered
// html/template pages (one layout, partials, one file per page under
// templates/) and the static files they use (plain CSS, a small script and
// the vendored htmx), all embedded in the binary.
//
// It owns presentation only. Every page reads and writes through the same
// services as the JSON API: identity through internal/auth (login, logout,
// activation, resets, the session's CSRF token), records and actions
// through internal/api's service methods (Record, Records, Case, Invoice,
// Articles, Submit, MyActions) under the access policy's scope; the menu
// and the hub's blocks show what the user's roles reach (API.Reaches).
// Text from a source or a user is always printed escaped: search matches
// are marked with <mark> around escaped text, and an article's rich text
// is rendered as plain text, not sanitized. It holds no SQL and no
// second read path; errors are internal/reply's types, rendered as HTML.
//
// Every flow works as plain HTML: forms POST and answer 303 to the page
// that shows the result, or re-render with the fields at fault (422).
// htmx, when the browser runs it, swaps only the main region and the
// script moves focus and announces the change; nothing depends on it.
// Every page carries a strict Content-Security-Policy (scripts and styles
// from this origin only, no inline code) besides the server's security
// headers, and every form a synchronizer CSRF token.
//
// Live updates (live.go): GET /events is a Server-Sent Events stream per
// open page, fed by the process's one LISTEN connection (internal/pgnotify,
// channel portico_live, ids only) and fanned out in memory. A stream hears
// of the user's own actions and of the case it names (its comments too),
// each read again under the user's scope before anything is sent; portal.js
// turns an event into "portico:live", on which the marked parts of the page
// re-read themselves with htmx. The status hub's stream hears of records
// of the accounts its user sees, checks the account again, and names only
// the block to read again (GET /hub/{block}, the hub handler rendering one
// block). Without JavaScript the page is right on reload.
//
// Branding (brand.go): the deployment's name, contact and logo are in the
// layout; its colours come from a stylesheet of CSS custom properties and
// the logo from its own URL, both named by their content's hash
// (internal/brand builds them; they may change while serving).
package web
