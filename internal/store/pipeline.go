package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Pipeline sends the statements of a transaction whose results nobody
// reads in one round trip instead of one each: Exec queues a statement,
// and Flush, Query or QueryRow send the queue first, in order. The
// transaction fails at the first statement that fails, as it would
// statement by statement; only the error arrives later. Pass it only to
// :exec queries whose command tag is not read (it is empty here). It is a
// DBTX, so the store's functions run on it as on the transaction.
type Pipeline struct {
	tx    pgx.Tx
	batch pgx.Batch
}

func (p *Pipeline) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p.batch.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (p *Pipeline) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := p.Flush(ctx); err != nil {
		return nil, err
	}
	return p.tx.Query(ctx, sql, args...)
}

func (p *Pipeline) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := p.Flush(ctx); err != nil {
		return errRow{err}
	}
	return p.tx.QueryRow(ctx, sql, args...)
}

// NewPipeline returns a pipeline over tx.
func NewPipeline(tx pgx.Tx) *Pipeline { return &Pipeline{tx: tx} }

// Flush sends the queued statements and returns the first error.
func (p *Pipeline) Flush(ctx context.Context) error {
	if p.batch.Len() == 0 {
		return nil
	}
	b := p.batch
	p.batch = pgx.Batch{}
	return interpretError(p.tx.SendBatch(ctx, &b).Close())
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
