package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/records"
)

// hubLimit is how many items a block of the status hub shows.
const hubLimit = 5

// block is one block of the status hub.
type block struct {
	ID, Title, Empty string // the anchor, and message keys
	More             string // the list page, where there is one
	Items            []item
	// Fresh says how current the block is, in words (empty for none).
	Fresh string
	Down  bool
}

// item is one line of a block.
type item struct {
	Title, Href, Status, Label, Next, Detail string
	// Pending is the customer's change still on its way, in words.
	Pending string
}

// hubBlock is how to fill one block: what to read, and how each record
// reads as an item.
type hubBlock struct {
	id, object, title, empty, more string
	opts                           records.ListOptions
	item                           func(l *loc, rec api.Record) item
}

var hubBlocks = []hubBlock{
	{id: "cases", object: "case", title: key("hub.cases"), empty: key("hub.cases_empty"), more: "/cases",
		opts: records.ListOptions{StatusNot: "closed", Limit: hubLimit},
		item: func(l *loc, rec api.Record) item {
			return item{Title: str(rec, "subject"), Href: "/cases/" + rec.ID, Detail: caseNumber(l, rec)}
		}},
	{id: "orders", object: "order", title: key("hub.orders"), empty: key("hub.orders_empty"), more: "/orders",
		opts: records.ListOptions{Status: "open", Limit: hubLimit},
		item: func(l *loc, rec api.Record) item {
			return item{Title: l.T("order.title", firstOf(rec, "reference", "id")), Href: "/orders/" + url.PathEscape(rec.ID), Detail: l.Money(num(rec, "total"), str(rec, "currency"))}
		}},
	{id: "invoices", object: "invoice", title: key("hub.invoices"), empty: key("hub.invoices_empty"), more: "/invoices",
		opts: records.ListOptions{StatusNot: "paid", Limit: hubLimit}, item: invoiceItem},
	{id: "approvals", object: "approval_request", title: key("hub.approvals"), empty: key("hub.approvals_empty"), more: "/approvals",
		opts: records.ListOptions{Status: "pending", Limit: hubLimit}, item: approvalList.item},
}

// home is the status hub: each block the user's roles reach. The blocks'
// records are read in one round trip to the database, and the user's
// troubled actions beside it: two connections per view, not one per
// block, which under load queue for the pool.
func (wb *Web) home(w http.ResponseWriter, r *http.Request) {
	v := wb.newView(r, key("hub.title"), nil)
	v.Section = "home"
	ctx := r.Context()
	var (
		blocks   []*block
		specs    []hubBlock
		qs       []api.ListQuery
		lists    []api.List
		troubled []api.Action
		listErr  error
		actErr   error
		wg       sync.WaitGroup
	)
	for _, hb := range hubBlocks {
		if wb.d.API.Reaches(ctx, hb.object) {
			specs = append(specs, hb)
			qs = append(qs, api.ListQuery{Object: hb.object, Options: hb.opts})
		}
	}
	// Staff make no changes through the portal (theirs are /admin's), so
	// their hub has no block of them.
	customer := !auth.PrincipalFrom(ctx).Staff
	if customer {
		wg.Go(func() { troubled, actErr = wb.d.API.MyActions(ctx, []string{"conflict", "failed"}, hubLimit) })
	}
	lists, listErr = wb.d.API.RecordLists(ctx, qs)
	wg.Wait()
	if err := errors.Join(listErr, actErr); err != nil {
		wb.internal(w, r, err)
		return
	}
	for i, hb := range specs {
		b := &block{ID: hb.id, Title: hb.title, Empty: hb.empty, More: hb.more}
		for _, rec := range lists[i].Data {
			it := hb.item(v.L, rec)
			it.Status, it.Label, it.Next = rec.Status, rec.StatusLabel, rec.NextStep
			it.Pending = pendingWords(v.L, rec.Freshness.PendingAction, wb.system(hb.object))
			b.Items = append(b.Items, it)
		}
		b.Fresh, b.Down = wb.freshness(v.L, hb.object, lists[i].Data)
		blocks = append(blocks, b)
	}
	if customer {
		blocks = append(blocks, actionsBlock(v.L, troubled))
	}
	v.Page = blocks
	wb.renderHub(w, r, v)
}

// actionsBlock lists the user's changes that need them: in conflict with
// a newer version, or refused by the source.
func actionsBlock(l *loc, acts []api.Action) *block {
	b := &block{ID: "actions", Title: key("hub.actions"), Empty: key("hub.actions_empty")}
	for _, a := range acts {
		it := item{Title: l.T("action.kind." + a.Kind), Status: a.State, Label: l.T("action.state." + a.State)}
		if a.State == "conflict" {
			it.Next = l.T("action.conflict_next")
		} else if a.Message != nil {
			it.Next = *a.Message
		}
		if a.State == "conflict" {
			it.Href = "/conflicts/" + a.ID
		} else if a.Object == "case" && a.Target != "" && !isPendingTarget(a.Target) {
			it.Href = "/cases/" + a.Target
		}
		it.Detail = l.DateTime(a.Created)
		b.Items = append(b.Items, it)
	}
	return b
}

func isPendingTarget(t string) bool { return len(t) > 8 && t[:8] == "pending:" }

// freshness says in words how current records of object are: the oldest
// sync among them, or since when their source is unavailable.
func (wb *Web) freshness(l *loc, object string, recs []api.Record) (string, bool) {
	if len(recs) == 0 {
		return "", false
	}
	oldest := recs[0].Freshness
	for _, rec := range recs[1:] {
		f := rec.Freshness
		if f.SourceUnavailableSince != nil && (oldest.SourceUnavailableSince == nil || f.SourceUnavailableSince.Before(*oldest.SourceUnavailableSince)) {
			oldest.SourceUnavailableSince = f.SourceUnavailableSince
		}
		if f.SyncedAt.Before(oldest.SyncedAt) {
			oldest.SyncedAt = f.SyncedAt
		}
		oldest.Stale = oldest.Stale || f.Stale
	}
	return freshWords(l, oldest, wb.system(object))
}

// freshness is what a record's page says of its freshness and of the
// user's change to it.
type freshness struct {
	Fresh, Pending string
	Down           bool // its system is down: the last known data
}

// recordFreshness reads f as words, for a record of object.
func (wb *Web) recordFreshness(l *loc, f api.Freshness, object string) freshness {
	system := wb.system(object)
	var out freshness
	out.Fresh, out.Down = freshWords(l, f, system)
	out.Pending = pendingWords(l, f.PendingAction, system)
	return out
}

// freshWords says how fresh one value is: "Updated 12 seconds ago",
// "Updating…" while a stale read refreshes, or that its system is down
// and this is the last known data. The bool is true for the last.
func freshWords(l *loc, f api.Freshness, system string) (string, bool) {
	switch {
	case f.SourceUnavailableSince != nil:
		return l.T("fresh.down", system, l.Clock(*f.SourceUnavailableSince)), true
	case f.SyncedAt.IsZero():
		return "", false
	case f.Stale:
		return l.T("fresh.updating", l.Ago(f.SyncedAt)), false
	default:
		return l.T("fresh.updated", l.Ago(f.SyncedAt)), false
	}
}

// pendingWords says where a customer's change to a record stands.
func pendingWords(l *loc, pa *api.ActionRef, system string) string {
	if pa == nil {
		return ""
	}
	switch pa.State {
	case "pending", "sending":
		return l.T("pending.sending")
	case "applied":
		return l.T("pending.received", system)
	case "conflict":
		return l.T("pending.conflict")
	default:
		return l.T("pending.failed")
	}
}

// pendingOrReceived is pendingWords, or "Received by <System>" for a
// record the user's change reached lately (received).
func pendingOrReceived(l *loc, rec api.Record, received map[string]bool, system string) string {
	if w := pendingWords(l, rec.Freshness.PendingAction, system); w != "" {
		return w
	}
	if received[rec.ID] {
		return l.T("pending.received", system)
	}
	return ""
}

// system names the system of record of a portal object.
func (wb *Web) system(object string) string {
	if obj, ok := wb.d.Mappings.Object(object); ok {
		return systemName(obj.Connection())
	}
	return ""
}

func str(rec api.Record, field string) string { return gjson.GetBytes(rec.Fields, field).String() }

func num(rec api.Record, field string) float64 { return gjson.GetBytes(rec.Fields, field).Float() }

func firstOf(rec api.Record, fields ...string) string {
	for _, f := range fields {
		if s := str(rec, f); s != "" {
			return s
		}
	}
	return rec.ID
}

// dateField formats a date field ("2026-03-01" or a timestamp).
func dateField(l *loc, rec api.Record, field string) string { return dateString(l, str(rec, field)) }

// dateString formats a date or a timestamp; anything else stays as it is.
func dateString(l *loc, s string) string {
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return l.Date(t)
		}
	}
	return s
}

// receivedFor is how long a page says "Received by <System>" of the
// user's change after the source took it: the pending mark is gone from
// the record by then, and the words confirm what happened to it.
const receivedFor = 10 * time.Minute

// received names the records (by id) of the object whose change by this
// user the source took within receivedFor: the record changed, the one
// created (the source's id), or the case a comment went to.
func (wb *Web) received(ctx context.Context, object string) map[string]bool {
	acts, err := wb.d.API.MyActions(ctx, []string{"applied"}, 20)
	out := map[string]bool{}
	if err != nil {
		// The words are a courtesy: the page is right without them.
		wb.d.Logger.WarnContext(ctx, "reading the user's applied actions", slog.String("error", err.Error()))
		return out
	}
	since := wb.d.Now().Add(-receivedFor)
	for _, a := range acts {
		if a.Applied == nil || a.Applied.Before(since) {
			continue
		}
		switch {
		case a.Object == object && a.ResultID != nil:
			out[*a.ResultID] = true
			out[a.Target] = true
		case a.Object == object+"_comment":
			if id, ok := a.Input[object+"_id"].(string); ok {
				out[id] = true
			}
		}
	}
	return out
}
