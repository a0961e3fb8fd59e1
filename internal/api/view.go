package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/replica"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/reports"
	"github.com/porticohq/portico/internal/textcheck"
)

// Freshness says how current a record is, and whether a customer action
// on it is still on its way to the source.
type Freshness struct {
	SyncedAt               time.Time  `json:"synced_at"`
	Stale                  bool       `json:"stale"`
	SourceUnavailableSince *time.Time `json:"source_unavailable_since"`
	PendingAction          *ActionRef `json:"pending_action"`
}

// Record is a portal record as the API shows it: the visible fields only,
// with the status label and next step from the mapping.
type Record struct {
	ID          string          `json:"id"`
	Object      string          `json:"object"`
	Status      string          `json:"status"`
	StatusLabel string          `json:"status_label"`
	NextStep    string          `json:"next_step"`
	Fields      json.RawMessage `json:"fields"` // a JSON object of the visible fields
	AccountID   string          `json:"account_id"`
	UpdatedAt   *time.Time      `json:"updated_at"`
	Version     string          `json:"version"`
	Freshness   Freshness       `json:"freshness"`
}

// List is one page of records.
type List struct {
	Data       []Record `json:"data"`
	NextCursor *string  `json:"next_cursor"`
}

func view(r records.Record) Record {
	v := Record{
		ID: r.ID, Object: r.Object, Status: r.Status, StatusLabel: r.StatusLabel, NextStep: r.NextStep,
		Fields: r.Fields, AccountID: r.Account, Version: r.Version,
		Freshness: Freshness{SyncedAt: r.Freshness.SyncedAt, Stale: r.Freshness.Stale, SourceUnavailableSince: r.Freshness.SourceUnavailableSince},
	}
	if v.Fields == nil {
		v.Fields = json.RawMessage(`{}`)
	}
	if pa := r.PendingAction; pa != nil {
		v.Freshness.PendingAction = &ActionRef{ID: strconvI(pa.ID), Kind: pa.Kind, State: pa.State}
	}
	if !r.Modified.IsZero() {
		t := r.Modified
		v.UpdatedAt = &t
	}
	return v
}

// object returns the mapping of a portal object and the request's scope
// for it; false means the user's roles do not reach the object.
func (a *API) object(ctx context.Context, name string) (*mapping.Object, access.Scope, bool) {
	obj, ok := a.d.Mappings.Object(name)
	if !ok {
		return nil, access.Scope{}, false
	}
	s, ok := scopeFrom(ctx).For(obj)
	return obj, s, ok
}

// record reads one record under the scope; it answers 404 itself (and
// returns nil) for a missing, foreign or unreachable record.
func (a *API) record(w http.ResponseWriter, r *http.Request, object, id string) (*Record, access.Scope) {
	_, scope, _ := a.object(r.Context(), object)
	fresh, _ := strconv.ParseBool(r.URL.Query().Get("fresh"))
	rec, err := a.Record(r.Context(), object, id, fresh)
	if errors.Is(err, ErrNotFound) {
		a.notFound(w, r)
		return nil, scope
	}
	if err != nil {
		a.rp.Internal(w, r, err)
		return nil, scope
	}
	return rec, scope
}

// lookupObjects are the objects whose detail view is a status lookup: a
// customer finding out where their request stands without asking staff.
var lookupObjects = map[string]bool{"case": true, "order": true, "invoice": true, "approval_request": true, "shipment": true}

// Viewed records that the request's user read one record, for the
// self-service report (internal/reports): a knowledge article is a
// knowledge view, a case, order, invoice or approval a status lookup.
// It only queues the event. The JSON API's and the pages' detail
// handlers call it once per view; internal reads do not.
func (a *API) Viewed(ctx context.Context, object, id string) {
	kind := reports.StatusLookup
	switch {
	case a.d.Events == nil:
		return
	case object == "knowledge_article":
		kind = reports.KnowledgeView
	case !lookupObjects[object]:
		return
	}
	e := reports.Event{Kind: kind, Object: object, Subject: id}
	if p := auth.PrincipalFrom(ctx); p != nil {
		e.UserID, e.AccountID = p.UserID, p.AccountID
	}
	a.d.Events.Record(e)
}

// ErrNotFound is a record that does not exist, is outside the scope, or
// whose object the user's roles do not reach: all answered alike.
var ErrNotFound = errors.New("api: no such record")

// Record reads one record of object under the request's scope (WithScope);
// fresh reads through to the source first. ErrNotFound for a missing,
// foreign or unreachable record. The JSON API and the pages read through it.
func (a *API) Record(ctx context.Context, object, id string, fresh bool) (*Record, error) {
	_, scope, ok := a.object(ctx, object)
	if !ok || !textcheck.Valid(id) {
		return nil, ErrNotFound
	}
	rec, err := a.d.Records.Get(ctx, scope, object, id, records.GetOptions{Fresh: fresh})
	if errors.Is(err, records.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	v := view(*rec)
	return &v, nil
}

// listOptions parses the list query: status, updated_since, sort, cursor
// and limit. Bad values are field errors named by parameter.
func listOptions(obj *mapping.Object, r *http.Request) (records.ListOptions, []reply.Field) {
	q := r.URL.Query()
	var lo records.ListOptions
	var bad []reply.Field
	if s := q.Get("status"); s != "" {
		if _, _, ok := obj.StatusInfo(s); !ok {
			bad = append(bad, reply.Field{Path: "status", Message: "is not a status of " + obj.Name()})
		}
		lo.Status = s
	}
	if s := q.Get("updated_since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			bad = append(bad, reply.Field{Path: "updated_since", Message: "must be an RFC 3339 date-time"})
		}
		lo.UpdatedSince = t
	}
	switch s := q.Get("sort"); s {
	case "", "updated_at", "-updated_at":
		lo.Sort = s
	default:
		bad = append(bad, reply.Field{Path: "sort", Message: "must be updated_at or -updated_at"})
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			bad = append(bad, reply.Field{Path: "limit", Message: "must be an integer from 1 to 200"})
		}
		lo.Limit = n
	}
	lo.Cursor = q.Get("cursor")
	return lo, bad
}

// list answers a page of one object's records, from the page cache when
// it holds the page.
func (a *API) list(w http.ResponseWriter, r *http.Request, object string) {
	obj, scope, ok := a.object(r.Context(), object)
	if !ok {
		a.rp.Get(w, r, List{Data: []Record{}})
		return
	}
	lo, bad := listOptions(obj, r)
	if len(bad) > 0 {
		a.rp.Invalid(w, r, bad...)
		return
	}
	key := pageKey(scope, object, lo)
	if p, ok := a.pages.get(key, a.d.Now()); ok {
		reply.Tagged(w, r, p.body, p.etag)
		return
	}
	ticket := a.pages.begin(group{scope.TenantID, object})
	out, page, err := a.listPage(ticket.readContext(r.Context()), scope, object, lo)
	if errors.Is(err, records.ErrInvalid) {
		a.rp.Invalid(w, r, reply.Field{Path: "cursor", Message: "is not a cursor this API returned"})
		return
	}
	if err != nil {
		a.rp.Internal(w, r, err)
		return
	}
	body, etag, err := reply.Encode(out)
	if err != nil {
		a.rp.Internal(w, r, err)
		return
	}
	now := a.d.Now()
	a.pages.put(ticket, key, rendered{body: body, etag: etag, until: freshUntil(page.Records, now), value: out}, now)
	reply.Tagged(w, r, body, etag)
}

// Records reads a page of object's records under the request's scope
// (WithScope), bypassing the page cache; records.ErrInvalid for a bad
// cursor. An object the roles do not reach lists nothing.
func (a *API) Records(ctx context.Context, object string, lo records.ListOptions) (List, error) {
	lists, err := a.recordLists(ctx, []ListQuery{{Object: object, Options: lo}}, false)
	if err != nil {
		return List{}, err
	}
	return lists[0], nil
}

// ListQuery is one list of RecordLists.
type ListQuery struct {
	Object  string
	Options records.ListOptions
}

// RecordLists reads a page for each query as Records reads one, but
// through the page cache, as the JSON API's lists: a page it holds comes
// from memory, the others are read in one round trip to the database and
// kept. The status hub reads its blocks so; a change to an object drops
// its pages, so a first view after a sync reads them.
func (a *API) RecordLists(ctx context.Context, qs []ListQuery) ([]List, error) {
	return a.recordLists(ctx, qs, true)
}

// listRead is a list recordLists reads from the database.
type listRead struct {
	i      int // its query
	key    string
	ticket ticket
}

func (a *API) recordLists(ctx context.Context, qs []ListQuery, cached bool) ([]List, error) {
	out := make([]List, len(qs))
	var reqs []records.ListRequest
	var reads []listRead
	kept := false // a page read will be kept in memory
	for i, q := range qs {
		obj, scope, ok := a.object(ctx, q.Object)
		if !ok {
			out[i] = List{Data: []Record{}}
			continue
		}
		// Searching a field the roles cannot see would tell its values.
		lo := q.Options
		probe := map[string]any{}
		for _, f := range lo.SearchFields {
			probe[f] = ""
		}
		seen := obj.VisibleFields(scope.Roles, probe)
		lo.SearchFields = slices.DeleteFunc(slices.Clone(lo.SearchFields), func(f string) bool { _, ok := seen[f]; return !ok })
		if lo.Search != "" && len(lo.SearchFields) == 0 {
			out[i] = List{Data: []Record{}}
			continue
		}
		read := listRead{i: i}
		if cached {
			read.key = pageKey(scope, q.Object, lo)
			if p, ok := a.pages.get(read.key, a.d.Now()); ok {
				if l, ok := p.value.(List); ok {
					out[i] = l
					continue
				}
			}
			read.ticket = a.pages.begin(group{scope.TenantID, q.Object})
			kept = kept || read.ticket.keep
		}
		reqs = append(reqs, records.ListRequest{Scope: scope, Object: q.Object, Options: lo})
		reads = append(reads, read)
	}
	if len(reqs) == 0 {
		return out, nil
	}
	if kept {
		ctx = replica.Primary(ctx)
	}
	pages, err := a.d.Records.ListMany(ctx, reqs)
	if err != nil {
		return nil, err
	}
	now := a.d.Now()
	for k, read := range reads {
		out[read.i] = listOf(pages[k])
		if !cached {
			continue
		}
		// Kept as the JSON API keeps the same page: one entry serves both.
		if body, etag, err := reply.Encode(out[read.i]); err == nil {
			a.pages.put(read.ticket, read.key, rendered{body: body, etag: etag, until: freshUntil(pages[k].Records, now), value: out[read.i]}, now)
		}
	}
	return out, nil
}

// Reaches reports whether the request's roles (WithScope) reach object at
// all: the pages show a block or a menu entry only then.
func (a *API) Reaches(ctx context.Context, object string) bool {
	_, _, ok := a.object(ctx, object)
	return ok
}

// Audience is whose records of object the request's scope (WithScope)
// shows: the account ids, or every account (all) for staff; ok is false
// when the roles do not reach object. The portal's live updates listen
// for exactly these.
func (a *API) Audience(ctx context.Context, object string) (accounts []string, all, ok bool) {
	_, scope, ok := a.object(ctx, object)
	if !ok {
		return nil, false, false
	}
	return slices.Clone(scope.Accounts), scope.Staff, true
}

// SeesAccount reports whether the request's scope (WithScope) shows the
// records of object owned by account.
func (a *API) SeesAccount(ctx context.Context, object, account string) bool {
	_, scope, ok := a.object(ctx, object)
	return ok && scope.Sees(account)
}

func (a *API) listPage(ctx context.Context, scope access.Scope, object string, lo records.ListOptions) (List, *records.Page, error) {
	page, err := a.d.Records.List(ctx, scope, object, lo)
	if err != nil {
		return List{}, nil, err
	}
	return listOf(page), page, nil
}

// listOf is a page of records as the API shows it.
func listOf(page *records.Page) List {
	out := List{Data: make([]Record, len(page.Records))}
	for i, rec := range page.Records {
		out.Data[i] = view(rec)
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	return out
}

// simple is a read-only resource whose records carry everything
// (orders hold their lines and shipments).
type simple struct {
	a      *API
	object string
}

func (s simple) list(w http.ResponseWriter, r *http.Request) { s.a.list(w, r, s.object) }

func (s simple) get(w http.ResponseWriter, r *http.Request) {
	if rec, _ := s.a.record(w, r, s.object, chi.URLParam(r, "id")); rec != nil {
		s.a.Viewed(r.Context(), s.object, rec.ID)
		s.a.rp.Get(w, r, rec)
	}
}
