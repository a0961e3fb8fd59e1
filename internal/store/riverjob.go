package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// RiverJobCount is how many River jobs of a kind are in a state.
type RiverJobCount struct {
	Kind  string
	State string
	Count int64
}

// RiverJobCounts counts River's jobs by kind and state. It is written by
// hand because River, not migrations/, owns the river_job table, so sqlc
// does not know its schema.
func RiverJobCounts(ctx context.Context, db DBTX) ([]RiverJobCount, error) {
	rows, err := db.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job GROUP BY kind, state`)
	if err != nil {
		return nil, interpretError(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[RiverJobCount])
	return out, interpretError(err)
}
