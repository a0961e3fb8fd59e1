package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/store"
)

// DefaultSealInterval is how often a Sealer looks for committed events to
// seal: an event is in the chain well within a second of its commit.
const DefaultSealInterval = 200 * time.Millisecond

// sealBatch bounds the events one sealing transaction links, and so how
// long it holds the chain heads.
const sealBatch = 1000

// sealRetry is how long Seal waits before asking again while another
// session seals.
const sealRetry = 20 * time.Millisecond

// sealPass runs sealing transactions until the visible unsealed events
// are sealed. busy means another session was sealing, and nothing was
// done.
func sealPass(ctx context.Context, db Beginner) (sealed int64, busy bool, err error) {
	for {
		n, busy, err := sealOnce(ctx, db, sealBatch)
		if err != nil {
			return sealed, false, fmt.Errorf("audit: sealing: %w", err)
		}
		if busy {
			return sealed, sealed == 0, nil
		}
		sealed += n
		if n < sealBatch {
			return sealed, false, nil
		}
	}
}

// sealOnce seals up to max committed events over every tenant in one
// transaction, under the fleet-wide sealing lock; busy when another
// session holds it.
func sealOnce(ctx context.Context, db Beginner, max int64) (n int64, busy bool, err error) {
	err = pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		locked, err := store.AuditSealLock(ctx, tx)
		if err != nil || !locked {
			busy = err == nil
			return err
		}
		tenants, err := store.AuditUnsealedTenants(ctx, tx)
		if err != nil {
			return err
		}
		for _, t := range tenants {
			if n >= max {
				break
			}
			k, err := sealTenant(ctx, tx, t, max-n)
			if err != nil {
				return fmt.Errorf("tenant %d: %w", t, err)
			}
			n += k
		}
		return nil
	})
	if err != nil || busy {
		return 0, busy, err
	}
	return n, false, nil
}

// sealTenant links up to max of the tenant's oldest committed unsealed
// events, in id order, after its chain head: the hashes are computed
// here (hashV1) and set with one call (audit_seal_link). The head
// stays locked until the transaction ends.
func sealTenant(ctx context.Context, tx pgx.Tx, tenant, max int64) (int64, error) {
	head, err := store.AuditChainHeadLock(ctx, tx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		if err := store.AuditChainHeadEnsure(ctx, tx, tenant); err != nil {
			return 0, err
		}
		head, err = store.AuditChainHeadLock(ctx, tx, tenant)
	}
	if err != nil {
		return 0, fmt.Errorf("locking the chain head: %w", err)
	}
	rows, err := store.AuditUnsealedPage(ctx, tx, store.AuditUnsealedPageParams{TenantID: tenant, MaxRows: int32(max)})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	ids := make([]int64, len(rows))
	hashes := make([][]byte, len(rows))
	prev := head.LastHash
	for i, r := range rows {
		ids[i] = r.ID
		hashes[i] = hashV1(chainRow{
			TenantID: tenant, Seq: head.LastSeq + int64(i) + 1, OccurredAt: r.OccurredAt.Time,
			Actor: r.Actor, ActorKind: r.ActorKind, AccountID: textPtr(r.AccountID),
			IP: r.Ip, UserAgent: textPtr(r.UserAgent), Action: r.Action,
			Object: textPtr(r.Object), ObjectID: textPtr(r.ObjectID),
			Before: r.Before, After: r.After, RequestID: textPtr(r.RequestID),
			PrevHash: prev,
		})
		prev = hashes[i]
	}
	n, err := store.AuditSealLink(ctx, tx, store.AuditSealLinkParams{TenantID: tenant, AfterSeq: head.LastSeq, Ids: ids, Hashes: hashes})
	return int64(n), err
}

// Seal links every event committed before the call into its tenant's
// chain, waiting while another session seals, and returns how many events
// it sealed itself. Running processes seal on their own (Sealer); Seal is
// for `portico audit seal` and tests. Call it outside a transaction.
func Seal(ctx context.Context, db Beginner) (int64, error) {
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
	db       Beginner
	interval time.Duration
	logger   *slog.Logger
}

// NewSealer returns a sealer on db (a pool) that looks every interval
// (DefaultSealInterval when zero).
func NewSealer(db Beginner, interval time.Duration, logger *slog.Logger) *Sealer {
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
