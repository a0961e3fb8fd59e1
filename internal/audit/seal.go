package audit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/porticohq/portico/internal/store"
)

// DefaultSealInterval is how often a Sealer looks for committed events to
// seal: an event is in the chain well within a second of its commit.
const DefaultSealInterval = 200 * time.Millisecond

// sealBatch bounds the events one sealing statement links, and so how
// long it holds the chain heads.
const sealBatch = 1000

// sealRetry is how long Seal waits before asking again while another
// session seals.
const sealRetry = 20 * time.Millisecond

// sealPass runs sealing statements until the visible unsealed events are
// sealed. busy means another session was sealing, and nothing was done.
func sealPass(ctx context.Context, db store.DBTX) (sealed int64, busy bool, err error) {
	for {
		n, err := store.AuditSeal(ctx, db, sealBatch)
		if err != nil {
			return sealed, false, fmt.Errorf("audit: sealing: %w", err)
		}
		if n < 0 {
			return sealed, sealed == 0, nil
		}
		sealed += n
		if n < sealBatch {
			return sealed, false, nil
		}
	}
}

// Seal links every event committed before the call into its tenant's
// chain, waiting while another session seals, and returns how many events
// it sealed itself. Running processes seal on their own (Sealer); Seal is
// for `portico audit seal` and tests. Call it outside a transaction.
func Seal(ctx context.Context, db store.DBTX) (int64, error) {
	for {
		n, busy, err := sealPass(ctx, db)
		if err != nil || !busy {
			return n, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(sealRetry):
		}
	}
}

// Sealer seals committed events in the background. Every Portico process
// runs one; an advisory lock lets one of them seal at a time, and the
// others skip their turn.
type Sealer struct {
	db       store.DBTX
	interval time.Duration
	logger   *slog.Logger
}

// NewSealer returns a sealer on db (a pool) that looks every interval
// (DefaultSealInterval when zero).
func NewSealer(db store.DBTX, interval time.Duration, logger *slog.Logger) *Sealer {
	if interval <= 0 {
		interval = DefaultSealInterval
	}
	return &Sealer{db: db, interval: interval, logger: logger}
}

// Run seals until ctx ends. A failure is logged once, and again only
// after sealing has worked in between.
func (s *Sealer) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, _, err := sealPass(ctx, s.db)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			s.logger.ErrorContext(ctx, "audit events are not being sealed", slog.String("error", err.Error()))
			failing = true
		case err == nil && failing:
			s.logger.InfoContext(ctx, "audit events are being sealed again")
			failing = false
		}
	}
}
