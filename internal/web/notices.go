package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/reply"
)

// inboxLimit is how many notices the inbox shows.
const inboxLimit = 100

// inboxOf reports whether the signed-in user has an inbox: a customer of
// a portal with notifications.
func (wb *Web) inboxOf(r *http.Request) (tenant, user int64, ok bool) {
	p := signedIn(r)
	if p == nil || p.Staff || wb.d.Notify == nil {
		return 0, 0, false
	}
	return p.TenantID, p.UserID, true
}

func (wb *Web) hasInbox(r *http.Request) bool {
	_, _, ok := wb.inboxOf(r)
	return ok
}

// unread is the header's count of unread notices (0 without an inbox,
// or when it cannot be read: the page does not fail for a counter).
func (wb *Web) unread(r *http.Request) int {
	tenant, user, ok := wb.inboxOf(r)
	if !ok {
		return 0
	}
	n, err := wb.d.Notify.Unread(r.Context(), tenant, user)
	if err != nil {
		wb.d.Logger.WarnContext(r.Context(), "web: unread notices", "error", err.Error())
		return 0
	}
	return n
}

// inboxPage is the user's notices, newest first.
type inboxPage struct {
	Notices []notify.Notice
}

func (wb *Web) inbox(w http.ResponseWriter, r *http.Request) {
	tenant, user, ok := wb.inboxOf(r)
	if !ok {
		wb.notFound(w, r)
		return
	}
	notices, err := wb.d.Notify.Inbox(r.Context(), tenant, user, inboxLimit)
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	v := wb.newView(r, key("inbox.title"), inboxPage{Notices: notices})
	v.Section = "inbox"
	if r.URL.Query().Get("sent") == "read" {
		v.Notice = key("inbox.marked")
	}
	wb.render(w, r, http.StatusOK, "notifications", v)
}

// inboxRead marks one notice ({id}) or all read, then shows the inbox.
func (wb *Web) inboxRead(w http.ResponseWriter, r *http.Request) {
	tenant, user, ok := wb.inboxOf(r)
	if !ok {
		wb.notFound(w, r)
		return
	}
	var id int64
	if s := chi.URLParam(r, "id"); s != "" {
		var err error
		if id, err = strconv.ParseInt(s, 10, 64); err != nil || id <= 0 {
			wb.notFound(w, r)
			return
		}
		// Another user's notice is the 404 of a missing one, as in the API.
		mine, err := wb.d.Notify.InInbox(r.Context(), tenant, user, id)
		if err != nil {
			wb.internal(w, r, err)
			return
		}
		if !mine {
			wb.notFound(w, r)
			return
		}
	}
	if _, err := wb.d.Notify.MarkRead(r.Context(), tenant, user, id); err != nil {
		wb.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/notifications?sent=read", http.StatusSeeOther)
}

// prefsPage is the preferences form: a row per event with its email and
// inbox choice, the time zone and the quiet hours.
type prefsPage struct {
	Rows                 []prefsRow
	TimeZone             string
	QuietStart, QuietEnd string // HH:MM
}

type prefsRow struct {
	Event, Email, Inbox string
}

func (wb *Web) notifyPrefs(w http.ResponseWriter, r *http.Request) {
	wb.showPrefs(w, r, http.StatusOK, nil)
}

func (wb *Web) showPrefs(w http.ResponseWriter, r *http.Request, status int, bad error) {
	tenant, user, ok := wb.inboxOf(r)
	if !ok {
		wb.notFound(w, r)
		return
	}
	prefs, err := wb.d.Notify.Preferences(r.Context(), tenant, user)
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	p := prefsPage{TimeZone: prefs.Settings.TimeZone, QuietStart: hhmm(prefs.Settings.QuietStart), QuietEnd: hhmm(prefs.Settings.QuietEnd)}
	for _, ev := range notify.Events {
		p.Rows = append(p.Rows, prefsRow{Event: ev, Email: prefs.Modes[ev][notify.ChannelEmail], Inbox: prefs.Modes[ev][notify.ChannelInbox]})
	}
	v := wb.newView(r, key("prefs.title"), nil)
	v.Section = "inbox"
	if bad != nil {
		// What was typed stays, beside its message.
		p.TimeZone, p.QuietStart, p.QuietEnd = r.PostForm.Get("time_zone"), r.PostForm.Get("quiet_start"), r.PostForm.Get("quiet_end")
		for i := range p.Rows {
			p.Rows[i].Email = r.PostForm.Get(p.Rows[i].Event + "_email")
			p.Rows[i].Inbox = r.PostForm.Get(p.Rows[i].Event + "_inbox")
		}
		v.Alert = key("form.fix_fields")
		v.Fields[notify.Field(bad)] = v.L.T("prefs.invalid." + fieldKind(notify.Field(bad)))
	}
	if r.URL.Query().Get("sent") == "prefs" {
		v.Notice = key("prefs.saved")
	}
	v.Page = p
	wb.render(w, r, status, "notifyprefs", v)
}

// fieldKind is the message family of a preferences field.
func fieldKind(field string) string {
	switch {
	case field == "time_zone":
		return "time_zone"
	case strings.HasPrefix(field, "quiet_"):
		return "time"
	}
	return "mode"
}

func (wb *Web) notifyPrefsSave(w http.ResponseWriter, r *http.Request) {
	tenant, user, ok := wb.inboxOf(r)
	if !ok {
		wb.notFound(w, r)
		return
	}
	modes := map[string]map[string]string{}
	for _, ev := range notify.Events {
		modes[ev] = map[string]string{}
		for _, ch := range []string{notify.ChannelEmail, notify.ChannelInbox} {
			if m := r.PostForm.Get(ev + "_" + ch); m != "" {
				modes[ev][ch] = m
			}
		}
	}
	start, err1 := parseHHMM(r.PostForm.Get("quiet_start"))
	end, err2 := parseHHMM(r.PostForm.Get("quiet_end"))
	var err error
	switch {
	case err1 != nil:
		err = fieldErr("quiet_start")
	case err2 != nil:
		err = fieldErr("quiet_end")
	default:
		err = wb.d.Notify.SetPreferences(r.Context(), tenant, user, modes,
			notify.Settings{TimeZone: strings.TrimSpace(r.PostForm.Get("time_zone")), QuietStart: start, QuietEnd: end})
	}
	if errors.Is(err, notify.ErrInvalid) {
		wb.showPrefs(w, r, http.StatusUnprocessableEntity, err)
		return
	}
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/notifications/preferences?sent=prefs", http.StatusSeeOther)
}

func fieldErr(field string) error { return notify.InvalidField(field, "must be a time of day (HH:MM)") }

func hhmm(minutes int) string { return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60) }

// parseHHMM reads a time input's value ("" is midnight).
func parseHHMM(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(s) != 5 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// unsubscribePage answers an unsubscribe link opened in a browser: a
// button that confirms (a GET changes nothing: link checkers open links).
type unsubscribePage struct {
	Action string
	Done   bool
}

func (wb *Web) unsubscribeConfirm(w http.ResponseWriter, r *http.Request) {
	v := wb.newView(r, key("unsubscribe.title"), unsubscribePage{Action: "/notify/unsubscribe?" + r.URL.RawQuery})
	wb.render(w, r, http.StatusOK, "unsubscribe", v)
}

// unsubscribe is the RFC 8058 one-click POST (from a mail client, with
// List-Unsubscribe=One-Click) and the confirm page's button alike. The
// signed link is its authority, not a session or a form token.
func (wb *Web) unsubscribe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	err := wb.d.Notify.Unsubscribe(r.Context(), q.Get("u"), q.Get("e"), q.Get("t"))
	if errors.Is(err, notify.ErrBadLink) {
		wb.fail(w, r, &reply.Error{Status: http.StatusBadRequest, Code: "bad_link", Message: key("unsubscribe.bad")})
		return
	}
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	v := wb.newView(r, key("unsubscribe.title"), unsubscribePage{Done: true})
	wb.render(w, r, http.StatusOK, "unsubscribe", v)
}

// noticeClick is a notice's mail link: notify counts the click and marks
// the notice read, and the reader goes on to its page (signed in or not:
// the page itself asks for the session). The signed link is its
// authority; a forged one is the 404 page.
func (wb *Web) noticeClick(w http.ResponseWriter, r *http.Request) {
	to, err := wb.d.Notify.Click(r.Context(), chi.URLParam(r, "id"), r.URL.Query().Get("t"))
	switch {
	case errors.Is(err, notify.ErrBadLink):
		wb.notFound(w, r)
	case err != nil:
		wb.internal(w, r, err)
	default:
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}
