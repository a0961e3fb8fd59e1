package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/connect"
)

// ConnectFlows runs the connections' consent flows for the console's
// Connect buttons (internal/connect.Console).
type ConnectFlows interface {
	// Connectable says whether the connection has a consent flow.
	Connectable(connection string) bool
	// CallbackURL is where the vendors answer: /console/connect/callback
	// at the portal's public URL.
	CallbackURL() string
	// Begin returns the vendor's consent URL and what Finish needs.
	Begin(connection string) (string, connect.Pending, error)
	// Finish trades the vendor's answer for tokens, stores them and
	// audits it as ev.
	Finish(ctx context.Context, connection string, p connect.Pending, answer url.Values, ev audit.Event) error
}

// connectCookie keeps a begun flow's state and verifier in the
// operator's browser until the vendor redirects it back: any serving
// process can finish it, and nobody else can (HttpOnly, and the vendor's
// answer must carry the state).
const connectCookie = "portico_connect"

// connectCookiePath is where the cookie is sent: the callback alone.
const connectCookiePath = "/console/connect"

// pendingConnect is the cookie's content.
type pendingConnect struct {
	Connection string          `json:"connection"`
	Pending    connect.Pending `json:"pending"`
}

// consoleConnect begins a connection's consent flow: the cookie, and the
// sync page with the link to the vendor's consent page.
func (wb *Web) consoleConnect(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "connection")
	if wb.d.Connect == nil || !wb.d.Connect.Connectable(name) {
		wb.notFound(w, r)
		return
	}
	consent, p, err := wb.d.Connect.Begin(name)
	if err != nil {
		wb.connectFailed(w, r, http.StatusBadRequest, name, err.Error())
		return
	}
	raw, err := json.Marshal(pendingConnect{Connection: name, Pending: p})
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: connectCookie, Value: base64.RawURLEncoding.EncodeToString(raw), Path: connectCookiePath,
		MaxAge: 600, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	// A link to the consent page, not a redirect: the pages' policy sends
	// forms to this origin only (form-action 'self', which covers a form's
	// redirects), and a boosted form would follow a redirect by fetch.
	wb.renderSync(w, r, http.StatusOK, syncPage{Consent: consent, Connecting: name})
}

// consoleConnectCallback is the vendor's answer: the tokens are traded
// and stored, and the sync page says so; without a flow waiting, or with
// an answer to another one, nothing changes and the page says why.
func (wb *Web) consoleConnectCallback(w http.ResponseWriter, r *http.Request) {
	if wb.d.Connect == nil {
		wb.notFound(w, r)
		return
	}
	var pc pendingConnect
	c, err := r.Cookie(connectCookie)
	if err == nil {
		var raw []byte
		if raw, err = base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			err = json.Unmarshal(raw, &pc)
		}
	}
	if err != nil || pc.Pending.State == "" || !wb.d.Connect.Connectable(pc.Connection) {
		wb.connectFailed(w, r, http.StatusBadRequest, "", "")
		return
	}
	ev := audit.Event{Actor: audit.StaffActor(strconv.FormatInt(signedIn(r).UserID, 10))}.WithRequest(r)
	err = wb.d.Connect.Finish(r.Context(), pc.Connection, pc.Pending, r.URL.Query(), ev)
	if errors.Is(err, connect.ErrStateMismatch) {
		// Not the answer to this browser's flow: keep waiting for it.
		wb.connectFailed(w, r, http.StatusBadRequest, pc.Connection, "")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: connectCookie, Path: connectCookiePath, MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	if err != nil {
		wb.connectFailed(w, r, http.StatusBadGateway, pc.Connection, err.Error())
		return
	}
	http.Redirect(w, r, "/console/sync?connected="+url.QueryEscape(pc.Connection), http.StatusSeeOther)
}

// connectFailed renders the sync page with status and why a Connect of
// connection failed: reason, the vendor's or the flow's words; without
// one, the answer was to no flow waiting (no connection) or to another
// (state mismatch).
func (wb *Web) connectFailed(w http.ResponseWriter, r *http.Request, status int, connection, reason string) {
	l := wb.cats.loc(wb.cats.pick(r), wb.d.Now())
	switch {
	case connection == "":
		reason = l.T("console.connect.none_waiting")
		connection = "–"
	case reason == "":
		reason = l.T("console.connect.state_mismatch")
	}
	wb.renderSync(w, r, status, syncPage{Error: l.T("console.connect.failed", connection, reason)})
}
