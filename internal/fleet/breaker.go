package fleet

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/store"
)

// Breaker is one connection's shared breaker signal as this process sees
// it. It implements httpclient.BreakerSignal.
type Breaker struct {
	f          *Fleet
	connection string
	openFor    time.Duration // breaker.open_timeout: also how stale the view may get
	probeFor   time.Duration // how long a probe may hold the fleet's slot
	now        func() time.Time

	mu          sync.Mutex
	fetched     time.Time // zero: read the row before the next call
	open        bool
	openUntil   time.Time
	trippedBy   string
	probing     bool      // this process holds the fleet's probe
	probeWaitTo time.Time // another process holds it until then
}

func (f *Fleet) breaker(s httpclient.Settings) *Breaker {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.breakers[s.Name]; ok {
		return b
	}
	// A probe is one request with its retries' worth of time.
	probeFor := s.RequestTimeout*time.Duration(s.Retry.Max+1) + s.Retry.WaitMax*time.Duration(s.Retry.Max)
	b := &Breaker{f: f, connection: s.Name, openFor: s.Breaker.OpenTimeout, probeFor: probeFor, now: time.Now}
	f.breakers[s.Name] = b
	return b
}

func (b *Breaker) invalidate() {
	b.mu.Lock()
	b.fetched = time.Time{}
	b.mu.Unlock()
}

// refresh reads the row again when a notification said it changed, or
// when the view is older than one open timeout (a missed notification).
func (b *Breaker) refresh(ctx context.Context) {
	b.mu.Lock()
	now := b.now()
	fresh := !b.fetched.IsZero() && now.Sub(b.fetched) < b.openFor
	b.mu.Unlock()
	if fresh {
		return
	}
	row, err := store.SourceBreakerGet(ctx, b.f.pool, b.connection)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fetched = now
	switch {
	case errors.Is(err, store.ErrNotFound):
		b.open = false
	case err != nil:
		// Keep the last view; this process's own breaker still guards.
		if ctx.Err() == nil {
			b.f.log.WarnContext(ctx, "fleet: reading the shared breaker", "connection", b.connection, "error", err.Error())
		}
	default:
		b.apply(row)
	}
}

func (b *Breaker) apply(row store.SourceBreaker) {
	b.open = row.State == "open"
	b.openUntil = row.OpenUntil.Time
	b.trippedBy = row.TrippedBy.String
	if row.ProbeUntil.Valid && row.ProbeBy.String != b.f.process {
		b.probeWaitTo = row.ProbeUntil.Time
	}
}

// Admit implements httpclient.BreakerSignal.
func (b *Breaker) Admit(ctx context.Context) (probe, ok bool) {
	b.refresh(ctx)
	b.mu.Lock()
	now := b.now()
	switch {
	case !b.open:
		b.mu.Unlock()
		return false, true
	case now.Before(b.openUntil), b.probing, now.Before(b.probeWaitTo):
		b.mu.Unlock()
		return false, false
	}
	b.probing = true
	b.mu.Unlock()

	row, err := store.SourceBreakerProbe(ctx, b.f.pool, store.SourceBreakerProbeParams{
		Connection: b.connection, Process: b.f.process, ProbeSeconds: b.probeFor.Seconds(),
	})
	if err == nil {
		b.mu.Lock()
		b.apply(row)
		b.mu.Unlock()
		return true, true
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
	if !errors.Is(err, store.ErrNotFound) {
		// The database is unreachable: this process's own breaker decides.
		return false, true
	}
	// Someone else holds the probe, or the breaker closed meanwhile.
	b.invalidate()
	b.refresh(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	return false, !b.open
}

// ProbeDone implements httpclient.BreakerSignal.
func (b *Breaker) ProbeDone(ctx context.Context, sent, healthy bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
	switch {
	case !sent:
		err := store.SourceBreakerRelease(ctx, b.f.pool, store.SourceBreakerReleaseParams{Connection: b.connection, Process: b.f.process})
		b.warn(ctx, "releasing the probe", err)
	case healthy:
		b.recover(ctx)
	default:
		b.trip(ctx)
	}
}

// Tripped implements httpclient.BreakerSignal: this process's breaker
// opened, so every process stops calling.
func (b *Breaker) Tripped() {
	b.mu.Lock()
	b.open, b.openUntil, b.trippedBy = true, b.now().Add(b.openFor), b.f.process
	b.mu.Unlock()
	b.f.enqueue(b.trip)
}

// Recovered implements httpclient.BreakerSignal.
func (b *Breaker) Recovered() { b.f.enqueue(b.recover) }

func (b *Breaker) trip(ctx context.Context) {
	row, err := store.SourceBreakerTrip(ctx, b.f.pool, store.SourceBreakerTripParams{
		Connection: b.connection, Process: b.f.process, OpenSeconds: b.openFor.Seconds(),
	})
	if b.warn(ctx, "sharing a trip", err) {
		return
	}
	b.f.log.WarnContext(ctx, "source breaker open for every process", "connection", b.connection,
		"tripped_by", row.TrippedBy.String, "open_until", row.OpenUntil.Time)
	b.mu.Lock()
	b.apply(row)
	b.fetched = b.now()
	b.mu.Unlock()
}

func (b *Breaker) recover(ctx context.Context) {
	row, err := store.SourceBreakerClose(ctx, b.f.pool, store.SourceBreakerCloseParams{Connection: b.connection, Process: b.f.process})
	if errors.Is(err, store.ErrNotFound) {
		return // closed already, or never open
	}
	if b.warn(ctx, "sharing a recovery", err) {
		return
	}
	b.f.log.InfoContext(ctx, "source breaker closed for every process", "connection", b.connection, "closed_by", b.f.process)
	b.mu.Lock()
	b.apply(row)
	b.fetched = b.now()
	b.mu.Unlock()
}

func (b *Breaker) warn(ctx context.Context, what string, err error) bool {
	if err != nil && ctx.Err() == nil {
		b.f.log.WarnContext(ctx, "fleet: "+what, "connection", b.connection, "error", err.Error())
	}
	return err != nil
}

// State implements httpclient.BreakerSignal.
func (b *Breaker) State() (httpclient.BreakerState, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.open:
		return httpclient.BreakerClosed, ""
	case b.now().Before(b.openUntil):
		return httpclient.BreakerOpen, b.trippedBy
	}
	return httpclient.BreakerHalfOpen, b.trippedBy
}
