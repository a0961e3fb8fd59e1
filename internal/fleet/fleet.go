package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/pgnotify"
	"github.com/porticohq/portico/internal/store"
)

// Channel is the channel on which the breaker rows announce a change.
const Channel = "portico_breaker"

// Options configure a Fleet.
type Options struct {
	Pool *pgxpool.Pool
	// Process names this process in the breaker rows and /admin/sync;
	// empty means host:pid.
	Process string
	// Lease is how many read calls a process takes from a shared budget
	// at once (1: one statement per call). Writes always take one.
	Lease  int
	Logger *slog.Logger
}

// Fleet is this process's handle on the shared budgets and breakers.
type Fleet struct {
	pool    *pgxpool.Pool
	process string
	lease   int
	log     *slog.Logger

	mu       sync.Mutex
	budgets  map[string]*Budget
	breakers map[string]*Breaker

	events chan func(context.Context)
	stop   context.CancelFunc
	done   chan struct{}
}

// New starts a Fleet; Close stops it.
func New(opts Options) *Fleet {
	if opts.Process == "" {
		opts.Process = DefaultProcess()
	}
	if opts.Lease < 1 {
		opts.Lease = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fleet{
		pool: opts.Pool, process: opts.Process, lease: opts.Lease, log: opts.Logger,
		budgets: map[string]*Budget{}, breakers: map[string]*Breaker{},
		events: make(chan func(context.Context), 64), stop: cancel, done: make(chan struct{}),
	}
	go f.run(ctx)
	return f
}

// DefaultProcess names this process: host:pid.
func DefaultProcess() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// Process is this process's name.
func (f *Fleet) Process() string { return f.process }

// run writes the breaker trips and recoveries the breakers' state changes
// announce, in order, outside their locks.
func (f *Fleet) run(ctx context.Context) {
	defer close(f.done)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-f.events:
			ev(ctx)
		}
	}
}

func (f *Fleet) enqueue(ev func(context.Context)) {
	select {
	case f.events <- ev:
	default:
		f.log.Warn("fleet: breaker signal queue full; a trip or recovery is not shared (other processes read the row again within breaker.open_timeout)")
	}
}

// Close gives back the calls this process leased and stops the signal
// writer.
func (f *Fleet) Close(ctx context.Context) {
	f.stop()
	<-f.done
	f.mu.Lock()
	budgets := make([]*Budget, 0, len(f.budgets))
	for _, b := range f.budgets {
		budgets = append(budgets, b)
	}
	f.mu.Unlock()
	for _, b := range budgets {
		b.giveBack(ctx)
	}
}

// Subscriptions are what pgnotify.Listen feeds: the breaker rows' channel.
func (f *Fleet) Subscriptions() map[string]pgnotify.Subscriber {
	return map[string]pgnotify.Subscriber{Channel: subscriber{f}}
}

type subscriber struct{ f *Fleet }

// SetLive marks every breaker view to be read again: while the listener
// was down a change may have been missed.
func (s subscriber) SetLive(bool) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	for _, b := range s.f.breakers {
		b.invalidate()
	}
}

// Notify reads the named connection's breaker row again, at once (so
// this process's metrics and status show the trip) and in any case before
// its next call.
func (s subscriber) Notify(connection string) {
	s.f.mu.Lock()
	b := s.f.breakers[connection]
	s.f.mu.Unlock()
	if b != nil {
		b.invalidate()
		s.f.enqueue(b.refresh)
	}
}

// Status is the fleet's view of one connection, for metrics and
// /admin/sync.
type Status struct {
	Connection string `json:"connection"`
	// Spent is the calls every process took from the shared budget.
	Spent int64 `json:"spent"`
	// DayLeft and MinuteLeft are what is left now (-1: no limit).
	DayLeft    int `json:"day_left"`
	MinuteLeft int `json:"minute_left"`
	// SourceUsed and SourceMax are the source's last report (0: none).
	SourceUsed int        `json:"source_used,omitempty"`
	SourceMax  int        `json:"source_max,omitempty"`
	SourceAt   *time.Time `json:"source_reported_at,omitempty"`
	// Breaker is the fleet's breaker: closed, open or half-open (its open
	// time is up, a probe may go).
	Breaker   string     `json:"breaker"`
	TrippedBy string     `json:"tripped_by,omitempty"`
	TrippedAt *time.Time `json:"tripped_at,omitempty"`
	ProbeBy   string     `json:"probe_by,omitempty"`
}

// Status reads every connection's shared budget and breaker.
func (f *Fleet) Status(ctx context.Context) (map[string]Status, error) {
	budgets, err := store.SourceBudgetList(ctx, f.pool)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	breakers, err := store.SourceBreakerList(ctx, f.pool)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	out := map[string]Status{}
	for _, b := range budgets {
		s := Status{Connection: b.Connection, Spent: b.Spent, DayLeft: -1, MinuteLeft: -1, Breaker: "closed"}
		if b.DayCap > 0 {
			s.DayLeft = max(0, int(b.DayLeft))
		}
		if b.MinuteCap > 0 {
			s.MinuteLeft = max(0, int(b.MinuteLeft))
		}
		if b.SourceMax.Valid {
			s.SourceUsed, s.SourceMax = int(b.SourceUsed.Int32), int(b.SourceMax.Int32)
			t := b.SourceSeenAt.Time
			s.SourceAt = &t
		}
		out[b.Connection] = s
	}
	now := time.Now()
	for _, r := range breakers {
		s, ok := out[r.Connection]
		if !ok {
			s = Status{Connection: r.Connection, DayLeft: -1, MinuteLeft: -1}
		}
		s.Breaker = "closed"
		if r.State == "open" {
			s.Breaker = "open"
			if r.OpenUntil.Valid && !now.Before(r.OpenUntil.Time) {
				s.Breaker = "half-open"
			}
			s.TrippedBy = r.TrippedBy.String
			t := r.TrippedAt.Time
			s.TrippedAt = &t
			if r.ProbeUntil.Valid && now.Before(r.ProbeUntil.Time) {
				s.ProbeBy = r.ProbeBy.String
			}
		}
		out[r.Connection] = s
	}
	return out, nil
}

// Attach gives a connection's client settings their shared budget and
// breaker signal, making the budget's row if it is new.
func (f *Fleet) Attach(ctx context.Context, s httpclient.Settings) (*Budget, *Breaker, error) {
	b, err := f.budget(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	return b, f.breaker(s), nil
}

var _ httpclient.Budget = (*Budget)(nil)
var _ httpclient.BreakerSignal = (*Breaker)(nil)
