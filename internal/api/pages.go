package api

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/records"
)

// PagesChannel is where migration 065's triggers announce, at commit,
// any change to what a list can show.
const PagesChannel = "portico_records"

// pages keeps rendered list pages in memory, keyed by everything that
// decides a page's content: the access scope (not the user, so users of
// one account with the same roles share pages), the object and the list
// options. Any committed change to the cached records, the sync cursors or
// the actions drops every page (PostgreSQL notifies every process, see
// internal/pgnotify), and a page expires when its first record would turn
// stale, so a page served from memory is the page the database would
// render now. Pages holding a stale record are not kept: reading them must
// schedule refreshes. While the listener is disconnected nothing is kept.
type pages struct {
	mu      sync.Mutex
	live    bool
	gen     uint64
	entries map[string]rendered
	bytes   int
	max     int // bytes

	hits, misses atomic.Int64
}

type rendered struct {
	body  []byte
	etag  string
	until time.Time
}

// pageTTL bounds a page's life even without notifications.
const pageTTL = time.Minute

func newPages(maxBytes int) *pages {
	return &pages{entries: map[string]rendered{}, max: maxBytes}
}

// SetLive implements pgnotify.Subscriber.
func (p *pages) SetLive(live bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = live
	p.dropAll()
}

// Notify implements pgnotify.Subscriber: every change drops every page.
func (p *pages) Notify(string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropAll()
}

func (p *pages) dropAll() {
	p.gen++
	clear(p.entries)
	p.bytes = 0
}

// begin returns the generation a render starts at, and whether its result
// may be kept.
func (p *pages) begin() (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen, p.live && p.max > 0
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

// put keeps a page rendered at generation gen, unless something changed
// since (a notification bumped the generation) or it would not stay fresh.
func (p *pages) put(gen uint64, key string, e rendered, now time.Time) {
	if !now.Before(e.until) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.live || p.gen != gen || len(e.body) > p.max/16 {
		return
	}
	if p.bytes+len(e.body) > p.max {
		// A full cache starts over: simpler than LRU, and rare at its size.
		clear(p.entries)
		p.bytes = 0
	}
	if old, ok := p.entries[key]; ok {
		p.bytes -= len(old.body)
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
	for _, v := range []string{s.Contact, object, lo.Status, lo.Sort, lo.Cursor, strconv.Itoa(lo.Limit)} {
		b.WriteByte('|')
		b.WriteString(strconv.Quote(v))
	}
	if !lo.UpdatedSince.IsZero() {
		b.WriteString(lo.UpdatedSince.UTC().Format(time.RFC3339Nano))
	}
	return b.String()
}
