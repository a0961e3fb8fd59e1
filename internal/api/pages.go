package api

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/replica"
)

// PagesChannel is where migration 068's triggers announce, at commit,
// which tenant's object changed: "r:<tenant>:<object>" (a cached record),
// "a:<tenant>:<object>" (an action on one) or
// "c:<tenant>:<connection>:<source object>" (a sync cursor moved); any
// other payload drops every page.
const PagesChannel = "portico_records"

// pages keeps rendered list pages in memory, keyed by everything that
// decides a page's content: the access scope (not the user, so users of
// one account with the same roles share pages), the object and the list
// options. A committed change to an object's cached records, its actions
// or its sync cursor drops that tenant's pages of that object in every
// process (PostgreSQL notifies them, see internal/pgnotify), and a page
// expires when its first record would turn stale, so a page served from
// memory is the page the database would render now. Pages holding a stale
// record are not kept: reading them must schedule refreshes. While the
// listener is disconnected nothing is kept.
//
// A render that raced a change must not be kept: renders note their
// group's generation (and the epoch, bumped when everything is dropped)
// before reading, and are kept only if neither moved meanwhile.
type pages struct {
	mu      sync.Mutex
	live    bool
	epoch   uint64
	gens    map[group]uint64
	entries map[string]rendered
	byGroup map[group][]string
	bytes   int
	max     int // bytes
	// objectsOf names the portal objects a sync cursor feeds.
	objectsOf func(connection, sourceObject string) []string

	hits, misses atomic.Int64
}

// group is the pages a change can affect: one tenant's pages of one
// portal object.
type group struct {
	tenant int64
	object string
}

type rendered struct {
	body  []byte
	etag  string
	until time.Time
	// value is what body encodes, decoded (a List, or a user's []Action):
	// shared by every reader, who must not change it. The pages read it
	// so, without decoding body again on each view.
	value any
}

// actionsObject is the group of a tenant's cached action lists (MyActions):
// any change to an action of the tenant drops them. No portal object has
// this name.
const actionsObject = "\x00actions"

// ticket is what a render started from.
type ticket struct {
	g          group
	epoch, gen uint64
	keep       bool
}

// readContext is ctx for the render's reads: a page that will be kept is
// read from the primary, since the primary's notifications are what drop
// it, and a replica may not have replayed the change notified yet.
func (t ticket) readContext(ctx context.Context) context.Context {
	if t.keep {
		return replica.Primary(ctx)
	}
	return ctx
}

// pageTTL bounds a page's life even without notifications.
const pageTTL = time.Minute

func newPages(maxBytes int, objectsOf func(connection, sourceObject string) []string) *pages {
	return &pages{
		entries: map[string]rendered{}, byGroup: map[group][]string{}, gens: map[group]uint64{},
		max: maxBytes, objectsOf: objectsOf,
	}
}

// SetLive implements pgnotify.Subscriber.
func (p *pages) SetLive(live bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = live
	p.dropAll()
}

// Notify implements pgnotify.Subscriber.
func (p *pages) Notify(payload string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kind, rest, _ := strings.Cut(payload, ":")
	t, rest, _ := strings.Cut(rest, ":")
	tenant, err := strconv.ParseInt(t, 10, 64)
	switch {
	case err != nil:
		p.dropAll()
	case kind == "r":
		p.dropGroup(group{tenant, rest})
	case kind == "a":
		p.dropGroup(group{tenant, rest})
		p.dropGroup(group{tenant, actionsObject})
	case kind == "c" && p.objectsOf != nil:
		connection, sourceObject, _ := strings.Cut(rest, ":")
		for _, o := range p.objectsOf(connection, sourceObject) {
			p.dropGroup(group{tenant, o})
		}
	default:
		p.dropAll()
	}
}

func (p *pages) dropAll() {
	p.epoch++
	clear(p.entries)
	clear(p.byGroup)
	clear(p.gens) // the epoch outdates every ticket
	p.bytes = 0
}

func (p *pages) dropGroup(g group) {
	p.gens[g]++
	for _, key := range p.byGroup[g] {
		if e, ok := p.entries[key]; ok {
			p.bytes -= len(e.body)
			delete(p.entries, key)
		}
	}
	delete(p.byGroup, g)
}

func (p *pages) isLive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live
}

// begin returns the ticket a render of g's page starts from.
func (p *pages) begin(g group) ticket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ticket{g: g, epoch: p.epoch, gen: p.gens[g], keep: p.live && p.max > 0}
}

func (p *pages) get(key string, now time.Time) (rendered, bool) {
	p.mu.Lock()
	e, ok := p.entries[key]
	p.mu.Unlock()
	if !ok || !now.Before(e.until) {
		p.misses.Add(1)
		return rendered{}, false
	}
	p.hits.Add(1)
	return e, true
}

// put keeps a page rendered from ticket t, unless its group changed since
// or it would not stay fresh.
func (p *pages) put(t ticket, key string, e rendered, now time.Time) {
	if !t.keep || !now.Before(e.until) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.live || p.epoch != t.epoch || p.gens[t.g] != t.gen || len(e.body) > p.max/16 {
		return
	}
	if p.bytes+len(e.body) > p.max {
		// A full cache starts over: simpler than LRU, and rare at its
		// size. Renders in flight stay valid: nothing changed.
		clear(p.entries)
		clear(p.byGroup)
		p.bytes = 0
	}
	if old, ok := p.entries[key]; ok {
		p.bytes -= len(old.body)
	} else {
		p.byGroup[t.g] = append(p.byGroup[t.g], key)
	}
	p.entries[key] = e
	p.bytes += len(e.body)
}

// freshUntil is when the first of recs turns stale (zero when one
// already is), capped at pageTTL from now.
func freshUntil(recs []records.Record, now time.Time) time.Time {
	until := now.Add(pageTTL)
	for i := range recs {
		if recs[i].Freshness.Stale {
			return time.Time{}
		}
		if t := recs[i].StaleAt(); t.Before(until) {
			until = t
		}
	}
	return until
}

// pageKey names a list page: the scope's tenant, staff flag, accounts,
// roles and public objects (sorted: the same scope is one key), the
// object and the options.
func pageKey(s access.Scope, object string, lo records.ListOptions) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(s.TenantID, 10))
	b.WriteString(strconv.FormatBool(s.Staff))
	for _, part := range [][]string{s.Accounts, s.Roles, s.PublicObjects} {
		b.WriteByte('|')
		sorted := slices.Clone(part)
		slices.Sort(sorted)
		for _, v := range sorted {
			b.WriteString(strconv.Quote(v))
		}
	}
	for _, v := range []string{s.Contact, object, lo.Status, lo.StatusNot, lo.Search, fmt.Sprintf("%q", lo.SearchFields), lo.Sort, lo.Cursor, strconv.Itoa(lo.Limit)} {
		b.WriteByte('|')
		b.WriteString(strconv.Quote(v))
	}
	if !lo.UpdatedSince.IsZero() {
		b.WriteString(lo.UpdatedSince.UTC().Format(time.RFC3339Nano))
	}
	return b.String()
}
