package fleet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/store"
)

// observeEvery bounds how often one process writes the source's usage
// report: Salesforce sends one with every response, and writing each
// would double the cost of a call.
const observeEvery = time.Second

// Budget is one connection's shared call budget as this process sees it.
// It implements httpclient.Budget.
type Budget struct {
	f          *Fleet
	connection string
	lease      int

	mu          sync.Mutex
	leased      int // read calls taken from the shared budget, not spent yet
	left        httpclient.Remaining
	lastObserve time.Time
}

func (f *Fleet) budget(ctx context.Context, s httpclient.Settings) (*Budget, error) {
	row, err := store.SourceBudgetEnsure(ctx, f.pool, store.SourceBudgetEnsureParams{
		Connection: s.Name, DayLimit: int32(s.Quota.PerDay), MinuteLimit: int32(s.Quota.PerMinute), WriteShare: s.Quota.WriteShare,
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: budget of %s: %w", s.Name, err)
	}
	b := &Budget{f: f, connection: s.Name, lease: f.lease}
	b.left = remaining(row.DayTokens, row.DayCap, row.MinuteTokens, row.MinuteCap)
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.budgets[s.Name]; ok {
		return old, nil
	}
	f.budgets[s.Name] = b
	return b, nil
}

func remaining(day, dayCap, minute, minuteCap float64) httpclient.Remaining {
	r := httpclient.Remaining{Minute: -1, Day: -1}
	if dayCap > 0 {
		r.Day = max(0, int(math.Floor(day)))
	}
	if minuteCap > 0 {
		r.Minute = max(0, int(math.Floor(minute)))
	}
	return r
}

// Take implements httpclient.Budget: a read spends a leased call if this
// process holds one, else takes a new lease (or one call); a write always
// takes one call of its own, since it may spend the share reads may not.
func (b *Budget) Take(ctx context.Context, write bool) error {
	n := 1
	if !write && b.lease > 1 {
		b.mu.Lock()
		if b.leased > 0 {
			b.leased--
			b.mu.Unlock()
			return nil
		}
		b.mu.Unlock()
		n = b.lease
	}
	row, err := b.take(ctx, n, write)
	if err != nil {
		return err
	}
	if !row.Granted && n > 1 {
		// A whole lease does not fit; one call may.
		n = 1
		if row, err = b.take(ctx, 1, write); err != nil {
			return err
		}
	}
	if !row.Granted {
		return b.exhausted(row, n, write)
	}
	if n > 1 {
		b.mu.Lock()
		b.leased += n - 1
		b.mu.Unlock()
	}
	return nil
}

func (b *Budget) take(ctx context.Context, n int, write bool) (store.SourceBudgetTakeRow, error) {
	row, err := store.SourceBudgetTake(ctx, b.f.pool, store.SourceBudgetTakeParams{Connection: b.connection, N: int32(n), Write: write})
	if err != nil {
		if ctx.Err() != nil {
			return row, ctx.Err()
		}
		if errors.Is(err, store.ErrNotFound) {
			err = errors.New("the shared budget's row is missing (it is made when the process starts)")
		}
		return row, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("%s: shared quota: %w", b.connection, err))
	}
	b.mu.Lock()
	b.left = remaining(row.DayTokens, row.DayCap, row.MinuteTokens, row.MinuteCap)
	b.mu.Unlock()
	return row, nil
}

// exhausted says how long until n calls fit again, from the buckets'
// levels and refill rates.
func (b *Budget) exhausted(row store.SourceBudgetTakeRow, n int, write bool) error {
	keep, kind := row.WriteShare, "background reads"
	if write {
		keep, kind = 0, "writes"
	}
	var wait time.Duration
	var which string
	for _, bk := range []struct {
		name        string
		tokens, cap float64
		period      time.Duration
	}{{"day", row.DayTokens, row.DayCap, 24 * time.Hour}, {"minute", row.MinuteTokens, row.MinuteCap, time.Minute}} {
		if bk.cap <= 0 {
			continue
		}
		need := bk.cap*keep + float64(n) - bk.tokens
		if need <= 0 {
			continue
		}
		w := time.Duration(need / bk.cap * float64(bk.period))
		if w > wait {
			wait, which = w, bk.name
		}
	}
	wait = max(wait, time.Second)
	return &connectors.RateLimitedError{
		RetryAfter: wait,
		Msg:        fmt.Sprintf("quota: the fleet's shared %s budget has no calls left for %s (%.0f left, %.0f kept for writes)", which, kind, math.Max(0, pick(which == "day", row.DayTokens, row.MinuteTokens)), pick(which == "day", row.DayCap, row.MinuteCap)*keep),
	}
}

func pick(c bool, a, b float64) float64 {
	if c {
		return a
	}
	return b
}

// Refund implements httpclient.Budget: a read goes back to this process's
// lease (or to the shared budget without one), a write to the shared
// budget.
func (b *Budget) Refund(ctx context.Context, write bool) {
	if !write && b.lease > 1 {
		b.mu.Lock()
		b.leased++
		b.mu.Unlock()
		return
	}
	b.give(ctx, 1)
}

func (b *Budget) give(ctx context.Context, n int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := store.SourceBudgetGive(ctx, b.f.pool, store.SourceBudgetGiveParams{Connection: b.connection, N: int32(n)}); err != nil {
		b.f.log.WarnContext(ctx, "fleet: giving calls back to the shared budget", "connection", b.connection, "calls", n, "error", err.Error())
	}
}

// giveBack returns the calls leased and not spent.
func (b *Budget) giveBack(ctx context.Context) {
	b.mu.Lock()
	n := b.leased
	b.leased = 0
	b.mu.Unlock()
	if n > 0 {
		b.give(ctx, n)
	}
}

// Observe implements httpclient.Budget: the source's report becomes what
// is left of the day, at most once per observeEvery per process.
func (b *Budget) Observe(ctx context.Context, used, limit int) {
	now := time.Now()
	b.mu.Lock()
	if now.Sub(b.lastObserve) < observeEvery {
		b.mu.Unlock()
		return
	}
	b.lastObserve = now
	b.mu.Unlock()
	row, err := store.SourceBudgetObserve(ctx, b.f.pool, store.SourceBudgetObserveParams{Connection: b.connection, ReportUsed: int32(used), ReportMax: int32(limit)})
	if err != nil {
		if ctx.Err() == nil {
			b.f.log.WarnContext(ctx, "fleet: recording the source's usage report", "connection", b.connection, "error", err.Error())
		}
		return
	}
	b.mu.Lock()
	b.left = remaining(row.DayTokens, row.DayCap, row.MinuteTokens, row.MinuteCap)
	b.mu.Unlock()
}

// Remaining implements httpclient.Budget: what the fleet had left at this
// process's last take, plus what it holds leased.
func (b *Budget) Remaining() httpclient.Remaining {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.left
	if r.Day >= 0 {
		r.Day += b.leased
	}
	if r.Minute >= 0 {
		r.Minute += b.leased
	}
	return r
}
