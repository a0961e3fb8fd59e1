package audit

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/store"
)

// Appended is what the database assigned to an appended event. Its seq
// and hash come later, when the sealer links it into the chain.
type Appended struct {
	ID         int64
	OccurredAt time.Time
}

// Record appends e on db: pass the transaction that makes the audited
// change so both commit together (a *pgxpool.Pool, pgx.Conn or pgx.Tx all
// fit). It refuses an invalid event with ErrInvalid and writes nothing.
// An event about a person (Event.Subject) has its personal fields sealed
// under the person's key, which is read (or made) on db first; an event
// about nobody reads nothing back.
func Record(ctx context.Context, db store.DBTX, e Event) error {
	p, err := insertParams(e)
	if err != nil {
		return err
	}
	if err := sealEvent(ctx, db, e, &p); err != nil {
		return err
	}
	if err := store.AuditAppend(ctx, db, store.AuditAppendParams(p)); err != nil {
		return fmt.Errorf("audit: recording %s: %w", e.Action, err)
	}
	return nil
}

// Append is Record that also returns the stored row's id and time.
func Append(ctx context.Context, db store.DBTX, e Event) (Appended, error) {
	p, err := insertParams(e)
	if err != nil {
		return Appended{}, err
	}
	if err := sealEvent(ctx, db, e, &p); err != nil {
		return Appended{}, err
	}
	row, err := store.AuditInsert(ctx, db, p)
	if err != nil {
		return Appended{}, fmt.Errorf("audit: recording %s: %w", e.Action, err)
	}
	return Appended{ID: row.ID, OccurredAt: row.OccurredAt.Time}, nil
}

// insertParams validates e and encodes it as stored.
func insertParams(e Event) (store.AuditInsertParams, error) {
	if err := e.validate(); err != nil {
		return store.AuditInsertParams{}, err
	}
	before, err := marshalState("before", e.Before)
	if err != nil {
		return store.AuditInsertParams{}, err
	}
	after, err := marshalState("after", e.After)
	if err != nil {
		return store.AuditInsertParams{}, err
	}
	var ip *netip.Addr
	if e.IP.IsValid() {
		a := e.IP.Unmap()
		ip = &a
	}
	return store.AuditInsertParams{
		TenantID:   e.TenantID,
		OccurredAt: pgtype.Timestamptz{Time: e.OccurredAt, Valid: !e.OccurredAt.IsZero()},
		Actor:      e.Actor.String(),
		ActorKind:  string(e.Actor.Kind),
		AccountID:  optText(e.AccountID, 0),
		Ip:         ip,
		UserAgent:  optText(e.UserAgent, maxUserAgent),
		Action:     e.Action,
		Object:     optText(e.Object, 0),
		ObjectID:   optText(e.ObjectID, 0),
		Before:     before,
		After:      after,
		RequestID:  optText(e.RequestID, 200),
	}, nil
}

// optText stores "" as NULL.
func optText(s string, max int) pgtype.Text {
	if s == "" {
		return pgtype.Text{}
	}
	return pgtype.Text{String: cleanText(s, max), Valid: true}
}

// Log is the audit trail on a connection pool: the Recorder for callers
// without a transaction of their own, and the source of the staff listing.
type Log struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
}

// New returns the log on pool. logger receives failures of the admin
// listing.
func New(pool *pgxpool.Pool, logger *slog.Logger) *Log {
	return &Log{pool: pool, logger: logger}
}

// Record appends e in a transaction of its own.
func (l *Log) Record(ctx context.Context, e Event) error {
	return Record(ctx, l.pool, e)
}

// In returns a Recorder that appends on db, for handing a transaction to
// code that only knows the Recorder interface.
func In(db store.DBTX) Recorder { return txRecorder{db} }

type txRecorder struct{ db store.DBTX }

func (r txRecorder) Record(ctx context.Context, e Event) error { return Record(ctx, r.db, e) }
