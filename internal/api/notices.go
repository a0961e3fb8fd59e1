package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/reply"
)

// maxInbox is how many notices GET /me/notifications returns at most (the
// inbox page shows as many).
const maxInbox = 100

// Notice is one entry of the user's inbox.
type Notice struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Link      string    `json:"link"`
	Events    int       `json:"events"`
	Read      bool      `json:"read"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Inbox is GET /me/notifications: the newest notices first, and how many
// are unread.
type Inbox struct {
	Unread int      `json:"unread"`
	Data   []Notice `json:"data"`
}

// MarkedRead answers the mark-read routes: how many notices they marked,
// and how many are unread now.
type MarkedRead struct {
	Marked int `json:"marked"`
	Unread int `json:"unread"`
}

// notices is the /me/notifications resource: the in-portal inbox, served
// by the notifications service as the inbox page is.
type notices struct{ a *API }

// inboxOf is the request's user's inbox: a customer's, when the portal
// has notifications (staff have none, as on the pages).
func (n notices) inboxOf(r *http.Request) (tenant, user int64, ok bool) {
	p := auth.PrincipalFrom(r.Context())
	if p == nil || p.Staff || n.a.d.Notify == nil {
		return 0, 0, false
	}
	return p.TenantID, p.UserID, true
}

func (n notices) list(w http.ResponseWriter, r *http.Request) {
	tenant, user, ok := n.inboxOf(r)
	if !ok {
		n.a.notFound(w, r)
		return
	}
	limit := maxInbox
	if s := r.URL.Query().Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxInbox {
			n.a.rp.Invalid(w, r, reply.Field{Path: "limit", Message: fmt.Sprintf("must be a number from 1 to %d", maxInbox)})
			return
		}
		limit = v
	}
	got, err := n.a.d.Notify.Inbox(r.Context(), tenant, user, limit)
	if err != nil {
		n.a.rp.Internal(w, r, err)
		return
	}
	unread, err := n.a.d.Notify.Unread(r.Context(), tenant, user)
	if err != nil {
		n.a.rp.Internal(w, r, err)
		return
	}
	out := Inbox{Unread: unread, Data: make([]Notice, 0, len(got))}
	for _, x := range got {
		out.Data = append(out.Data, Notice{ID: strconvI(x.ID), Kind: x.Kind, Title: x.Title, Body: x.Body, Link: x.Link,
			Events: x.Events, Read: x.Read, UpdatedAt: x.Updated})
	}
	n.a.rp.JSON(w, r, http.StatusOK, out)
}

// read marks one notice ({id}) read: another user's, or no notice at all,
// is the 404 of a record that does not exist, and changes nothing.
func (n notices) read(w http.ResponseWriter, r *http.Request) {
	tenant, user, ok := n.inboxOf(r)
	if !ok {
		n.a.notFound(w, r)
		return
	}
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		n.a.notFound(w, r)
		return
	}
	mine, err := n.a.d.Notify.InInbox(r.Context(), tenant, user, id)
	if err != nil {
		n.a.rp.Internal(w, r, err)
		return
	}
	if !mine {
		n.a.notFound(w, r)
		return
	}
	n.mark(w, r, tenant, user, id)
}

// readAll marks every notice of the user's read.
func (n notices) readAll(w http.ResponseWriter, r *http.Request) {
	tenant, user, ok := n.inboxOf(r)
	if !ok {
		n.a.notFound(w, r)
		return
	}
	n.mark(w, r, tenant, user, 0)
}

func (n notices) mark(w http.ResponseWriter, r *http.Request, tenant, user, id int64) {
	marked, err := n.a.d.Notify.MarkRead(r.Context(), tenant, user, id)
	if err != nil {
		n.a.rp.Internal(w, r, err)
		return
	}
	unread, err := n.a.d.Notify.Unread(r.Context(), tenant, user)
	if err != nil {
		n.a.rp.Internal(w, r, err)
		return
	}
	n.a.rp.JSON(w, r, http.StatusOK, MarkedRead{Marked: marked, Unread: unread})
}

// NotificationPreferences are a user's choices per event and channel
// (immediate, digest for email, or off), their time zone and quiet hours
// (HH:MM in that zone; equal times: none).
type NotificationPreferences struct {
	Modes      map[string]map[string]string `json:"modes"`
	TimeZone   string                       `json:"time_zone"`
	QuietStart string                       `json:"quiet_start"`
	QuietEnd   string                       `json:"quiet_end"`
}

func (n notices) prefs(w http.ResponseWriter, r *http.Request) {
	tenant, user, ok := n.inboxOf(r)
	if !ok {
		n.a.notFound(w, r)
		return
	}
	n.writePrefs(w, r, tenant, user)
}

func (n notices) writePrefs(w http.ResponseWriter, r *http.Request, tenant, user int64) {
	p, err := n.a.d.Notify.Preferences(r.Context(), tenant, user)
	if err != nil {
		n.a.rp.Internal(w, r, err)
		return
	}
	n.a.rp.JSON(w, r, http.StatusOK, NotificationPreferences{Modes: p.Modes, TimeZone: p.Settings.TimeZone,
		QuietStart: clock(p.Settings.QuietStart), QuietEnd: clock(p.Settings.QuietEnd)})
}

// putPrefs sets the modes sent (events left out keep theirs), the time
// zone and the quiet hours, all or nothing: a bad value is a 422 naming
// its field.
func (n notices) putPrefs(w http.ResponseWriter, r *http.Request) {
	tenant, user, ok := n.inboxOf(r)
	if !ok {
		n.a.notFound(w, r)
		return
	}
	var in NotificationPreferences
	if !n.a.decode(w, r, &in) {
		return
	}
	for ev := range in.Modes {
		if !slices.Contains(notify.Events, ev) {
			n.a.rp.Invalid(w, r, reply.Field{Path: "modes." + ev, Message: "is not an event (" + strings.Join(notify.Events, ", ") + ")"})
			return
		}
	}
	st := notify.Settings{TimeZone: strings.TrimSpace(in.TimeZone)}
	for _, f := range []struct {
		name, in string
		out      *int
	}{{"quiet_start", in.QuietStart, &st.QuietStart}, {"quiet_end", in.QuietEnd, &st.QuietEnd}} {
		m, err := minutesOf(f.in)
		if err != nil {
			n.a.rp.Invalid(w, r, reply.Field{Path: f.name, Message: "must be a time of day (HH:MM)"})
			return
		}
		*f.out = m
	}
	err := n.a.d.Notify.SetPreferences(r.Context(), tenant, user, in.Modes, st)
	if errors.Is(err, notify.ErrInvalid) {
		n.a.rp.Invalid(w, r, reply.Field{Path: prefsPath(notify.Field(err), in.Modes), Message: strings.TrimPrefix(err.Error(), notify.Field(err)+": ")})
		return
	}
	if err != nil {
		n.a.rp.Internal(w, r, err)
		return
	}
	n.writePrefs(w, r, tenant, user)
}

// prefsPath is the body's path of a field the service names: its
// "event_channel" is modes.event.channel.
func prefsPath(field string, modes map[string]map[string]string) string {
	for ev, chans := range modes {
		for ch := range chans {
			if field == ev+"_"+ch {
				return "modes." + ev + "." + ch
			}
		}
	}
	return field
}

func clock(minutes int) string { return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60) }

// minutesOf reads HH:MM as minutes after midnight ("" is midnight).
func minutesOf(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}
