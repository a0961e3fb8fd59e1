package httpclient

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/porticohq/portico/connectors"
)

// Budget is a connection's call budget. The client keeps its own in
// memory (per process) unless Options.Budget gives one shared by every
// process (Portico's internal/fleet keeps it in PostgreSQL).
type Budget interface {
	// Take spends one call before it is sent, or returns a
	// *connectors.RateLimitedError saying how long to wait (any other
	// error is classified too: the caller snoozes). A write may spend the
	// share reserved for writes.
	Take(ctx context.Context, write bool) error
	// Refund returns a call Take granted that was never sent (the breaker
	// refused it).
	Refund(ctx context.Context, write bool)
	// Observe receives the source's own report of its usage (used of
	// limit calls in its daily window), e.g. Sforce-Limit-Info.
	Observe(ctx context.Context, used, limit int)
	// Remaining reports what is left for writes; -1 means no limit.
	Remaining() Remaining
}

// quota is a connection's call budget in fixed minute and day windows
// (UTC), tightened by what the source reports about its own daily usage.
// Background reads stop at (1-WriteShare) of each budget; writes may use
// all of it, so a sync backlog never starves a customer's write.
type quota struct {
	mu    sync.Mutex
	cfg   Quota
	now   func() time.Time
	min   window
	day   window
	src   sourceUsage
	reads float64 // 1 - WriteShare
}

type window struct {
	start time.Time
	used  int
}

// sourceUsage is the source's own count, e.g. Sforce-Limit-Info.
type sourceUsage struct {
	seen      bool
	used, max int
}

// Remaining is what is left of a budget for writes; -1 means unlimited.
type Remaining struct {
	Minute int `json:"minute"`
	Day    int `json:"day"`
}

func newQuota(cfg Quota, now func() time.Time) *quota {
	return &quota{cfg: cfg, now: now, reads: 1 - cfg.WriteShare}
}

func (q *quota) roll(now time.Time) {
	if m := now.Truncate(time.Minute); !m.Equal(q.min.start) {
		q.min = window{start: m}
	}
	if d := now.UTC().Truncate(24 * time.Hour); !d.Equal(q.day.start) {
		q.day = window{start: d}
	}
}

// allowed is how many calls a caller of this kind may make out of limit.
func (q *quota) allowed(limit int, write bool) int {
	if write {
		return limit
	}
	return int(math.Floor(float64(limit) * q.reads))
}

// Take spends one call or says how long to wait for the next window.
func (q *quota) Take(_ context.Context, write bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	q.roll(now)
	kind := "background reads"
	if write {
		kind = "writes"
	}
	if l := q.cfg.PerMinute; l > 0 && q.min.used >= q.allowed(l, write) {
		return &connectors.RateLimitedError{
			RetryAfter: q.min.start.Add(time.Minute).Sub(now),
			Msg:        fmt.Sprintf("quota: %s used %d of %d calls this minute", kind, q.min.used, q.allowed(l, write)),
		}
	}
	if l := q.cfg.PerDay; l > 0 && q.day.used >= q.allowed(l, write) {
		return &connectors.RateLimitedError{
			RetryAfter: q.day.start.Add(24 * time.Hour).Sub(now),
			Msg:        fmt.Sprintf("quota: %s used %d of %d calls today", kind, q.day.used, q.allowed(l, write)),
		}
	}
	if q.src.seen && q.src.max > 0 && q.src.used >= q.allowed(q.src.max, write) {
		return &connectors.RateLimitedError{
			RetryAfter: q.day.start.Add(24 * time.Hour).Sub(now),
			Msg:        fmt.Sprintf("quota: the source reports %d of %d API calls used; %s stop at %d", q.src.used, q.src.max, kind, q.allowed(q.src.max, write)),
		}
	}
	q.min.used++
	q.day.used++
	if q.src.seen {
		q.src.used++ // until the next response corrects it
	}
	return nil
}

// Refund returns a call that never reached the source (breaker open).
func (q *quota) Refund(context.Context, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.min.used = max(0, q.min.used-1)
	q.day.used = max(0, q.day.used-1)
	if q.src.seen {
		q.src.used = max(0, q.src.used-1)
	}
}

// Observe takes the source's own count.
func (q *quota) Observe(_ context.Context, used, limit int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.src = sourceUsage{seen: true, used: used, max: limit}
}

// observe hands the source's usage headers, if any, to the budget.
func observe(ctx context.Context, b Budget, h http.Header) {
	if used, limit, ok := parseLimitInfo(h.Get("Sforce-Limit-Info")); ok {
		b.Observe(ctx, used, limit)
	}
}

// parseLimitInfo parses Salesforce's "api-usage=18/5000" (other
// comma-separated entries may follow).
func parseLimitInfo(v string) (used, limit int, ok bool) {
	for _, part := range strings.Split(v, ",") {
		k, val, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found || k != "api-usage" {
			continue
		}
		a, b, found := strings.Cut(val, "/")
		if !found {
			return 0, 0, false
		}
		u, err1 := strconv.Atoi(strings.TrimSpace(a))
		m, err2 := strconv.Atoi(strings.TrimSpace(b))
		if err1 != nil || err2 != nil || u < 0 || m <= 0 {
			return 0, 0, false
		}
		return u, m, true
	}
	return 0, 0, false
}

// Remaining reports what writes could still spend.
func (q *quota) Remaining() Remaining {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.roll(q.now())
	r := Remaining{Minute: -1, Day: -1}
	if q.cfg.PerMinute > 0 {
		r.Minute = max(0, q.cfg.PerMinute-q.min.used)
	}
	if q.cfg.PerDay > 0 {
		r.Day = max(0, q.cfg.PerDay-q.day.used)
	}
	if q.src.seen {
		left := max(0, q.src.max-q.src.used)
		if r.Day < 0 || left < r.Day {
			r.Day = left
		}
	}
	return r
}
