package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/reply"
)

// contactFields are the contact details a user may change, in form order.
var contactFields = []string{"first_name", "last_name", "phone", "title"}

// profilePage is the profile: the contact's details as the source has
// them, the user's API tokens, and a new token's secret once.
type profilePage struct {
	// HasContact is false for a user without a contact, or one not
	// synced yet.
	HasContact bool
	// HasAccount: the user's account is synced, and its files are shown.
	HasAccount bool
	Email      string
	Tokens     []tokenRow
	NewToken   string
	freshness
	Scopes []string
	Key    string
	// Notify are the notification preferences, in form order.
	Notify []notifyOption
	// Files are the files of the user's account and the upload form.
	Files filesBlock
	// CanExport offers "download my data"; Exports are the recent
	// requests, and ExportLink the one-time link of the one just made
	// (shown once, on that answer).
	CanExport  bool
	Exports    []exportRow
	ExportLink string
}

// notifyOption is one notification preference: its form field and
// whether it is on.
type notifyOption struct {
	Name string
	On   bool
}

// notifyFields are the preferences' form fields, as PATCH
// /api/v1/me/notifications names them.
var notifyFields = []string{"email", "case_updates", "order_updates", "invoice_issued", "approvals"}

// notifyPatch is the posted form as a patch: a box not ticked is off.
func notifyPatch(form map[string][]string) api.NotificationsPatch {
	on := func(name string) *bool { b := len(form[name]) > 0; return &b }
	return api.NotificationsPatch{Email: on("email"), CaseUpdates: on("case_updates"), OrderUpdates: on("order_updates"),
		InvoiceIssued: on("invoice_issued"), Approvals: on("approvals")}
}

// profileNotifications saves the notification preferences, as PATCH
// /api/v1/me/notifications does.
func (wb *Web) profileNotifications(w http.ResponseWriter, r *http.Request) {
	if _, err := wb.d.API.SetNotifications(r, notifyPatch(r.PostForm)); err != nil {
		wb.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/profile?sent=notifications#notifications", http.StatusSeeOther)
}

type tokenRow struct {
	ID                             int64
	Name, Scopes, Expires, LastUse string
	Revoked                        bool
}

func (wb *Web) profile(w http.ResponseWriter, r *http.Request) {
	wb.showProfile(w, r, http.StatusOK, nil, "")
}

// showProfile renders the profile with status; bad holds a form's field
// errors, shown inline, and secret a token just created.
func (wb *Web) showProfile(w http.ResponseWriter, r *http.Request, status int, bad *reply.Error, secret string, extra ...func(*profilePage, *view)) {
	v := wb.newView(r, key("profile.title"), nil)
	v.Section = "profile"
	p := profilePage{Email: v.User.Email, NewToken: secret, Scopes: []string{auth.ScopePortalRead, auth.ScopePortalWrite}, Key: formKey()}
	if id := api.MyContactID(r.Context()); id != "" && wb.d.API.Reaches(r.Context(), "contact") {
		rec, err := wb.d.API.Record(r.Context(), "contact", id, false)
		switch {
		case err == nil:
			p.HasContact = true
			for _, f := range contactFields {
				v.Form[f] = str(*rec, f)
			}
			p.freshness = wb.recordFreshness(v.L, rec.Freshness, "contact")
		case !errors.Is(err, api.ErrNotFound):
			wb.internal(w, r, err)
			return
		}
	}
	n, err := wb.d.API.Notifications(r.Context())
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	for i, on := range []bool{n.Email, n.CaseUpdates, n.OrderUpdates, n.InvoiceIssued, n.Approvals} {
		p.Notify = append(p.Notify, notifyOption{Name: notifyFields[i], On: on})
	}
	tokens, err := wb.d.Auth.APITokens(r.Context())
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	for _, t := range tokens {
		row := tokenRow{ID: t.ID, Name: t.Name, Scopes: strings.Join(t.Scopes, ", "), Expires: v.L.Date(t.ExpiresAt), Revoked: t.RevokedAt != nil}
		if t.LastUsedAt != nil {
			row.LastUse = v.L.DateTime(*t.LastUsedAt)
		}
		p.Tokens = append(p.Tokens, row)
	}
	if account := api.MyAccount(r.Context()); account != "" && wb.d.API.Reaches(r.Context(), "account") {
		files, err := wb.files(r, v.L, "account", account, true, "/profile/files", "/profile")
		if err != nil && !errors.Is(err, api.ErrNotFound) {
			wb.internal(w, r, err)
			return
		}
		p.Files, p.HasAccount = files, err == nil
		p.Files.Intro = v.L.T("files.account_intro")
	}
	if v.uploadRefused(r, bad) {
		bad = nil
	}
	if bad != nil {
		v.Fields = fieldErrors(v.L, bad.Fields)
		v.Alert = key("form.fix_fields")
		for name, vals := range r.PostForm {
			if name != csrfField {
				v.Form[name] = first(vals)
			}
		}
	}
	switch r.URL.Query().Get("sent") {
	case "contact":
		v.Notice = key("profile.contact_sent")
	case "notifications":
		v.Notice = key("profile.notifications_saved")
	case "revoked":
		v.Notice = key("profile.token_revoked")
	case "file":
		v.Notice = key("files.sent")
	}
	if secret != "" {
		v.Notice = key("profile.token_created")
	}
	if err := wb.exportsOf(r, v, &p); err != nil {
		wb.internal(w, r, err)
		return
	}
	for _, f := range extra {
		f(&p, v)
	}
	v.Page = p
	wb.render(w, r, status, "profile", v)
}

// profileContact sends the user's contact details as an update_contact
// write-back, as PATCH /api/v1/me/contact does.
func (wb *Web) profileContact(w http.ResponseWriter, r *http.Request) {
	if api.MyContactID(r.Context()) == "" {
		wb.notFound(w, r)
		return
	}
	input := map[string]any{}
	for _, f := range contactFields {
		input[f] = strings.TrimSpace(r.PostForm.Get(f))
	}
	s := wb.d.API.ContactUpdate(r.Context(), input)
	s.IdempotencyKey = formIdempotencyKey(r)
	_, _, e := wb.d.API.Submit(r, s)
	switch {
	case e == nil:
		http.Redirect(w, r, "/profile?sent=contact", http.StatusSeeOther)
	case e.Status == http.StatusNotFound:
		wb.notFound(w, r)
	case e.Status == http.StatusUnprocessableEntity:
		wb.showProfile(w, r, e.Status, e, "")
	default:
		wb.fail(w, r, e)
	}
}

// profileTokenCreate creates an API token and shows its secret once, on
// this answer only (never in a URL).
func (wb *Web) profileTokenCreate(w http.ResponseWriter, r *http.Request) {
	days := 0
	if d := strings.TrimSpace(r.PostForm.Get("expires_in_days")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			wb.showProfile(w, r, http.StatusUnprocessableEntity, reply.Invalid(reply.Field{Path: "expires_in_days", Message: key("field.whole_number")}), "")
			return
		}
		days = n
	}
	tok, err := wb.d.Auth.CreateAPIToken(r, auth.TokenRequest{Name: r.PostForm.Get("name"), Scopes: r.PostForm["scopes"], ExpiresInDays: days})
	var v *auth.ValidationError
	switch {
	case errors.As(err, &v):
		wb.showProfile(w, r, http.StatusUnprocessableEntity, reply.Invalid(formPaths(v.Fields)...), "")
	case err != nil:
		wb.internal(w, r, err)
	default:
		r.PostForm = nil
		wb.showProfile(w, r, http.StatusOK, nil, tok.Token)
	}
}

// profileTokenRevoke revokes one of the user's own tokens; someone
// else's is the 404 page.
func (wb *Web) profileTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err == nil && id > 0 {
		err = wb.d.Auth.RevokeAPIToken(r, id)
	} else {
		err = auth.ErrNotFound
	}
	switch {
	case errors.Is(err, auth.ErrNotFound):
		wb.notFound(w, r)
	case err != nil:
		wb.internal(w, r, err)
	default:
		http.Redirect(w, r, "/profile?sent=revoked#tokens", http.StatusSeeOther)
	}
}
