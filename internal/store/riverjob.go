package store

import (
	"context"
	"strconv"
	"time"

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

// PrivacyMailJobsErase deletes the notify queue's jobs that name a
// person (a reset mail's address, an invitation's user, an SMTP error
// quoting the address): the mail logs an erasure removes. A running job
// is left to finish. By hand for the reason RiverJobCounts is.
func PrivacyMailJobsErase(ctx context.Context, db DBTX, email string, userID int64) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM river_job
WHERE queue = 'notify' AND state <> 'running'
  AND (strpos(args::text, $1) > 0 OR strpos(coalesce(array_to_string(errors, ' '), ''), $1) > 0
       OR (kind = 'invitation_mail' AND args ->> 'user_id' = $2))`, email, strconv.FormatInt(userID, 10))
	if err != nil {
		return 0, interpretError(err)
	}
	return tag.RowsAffected(), nil
}

// PrivacyPurgeMailJobs deletes finished notify-queue jobs (sent,
// cancelled or discarded mail) older than before: the mail logs'
// retention. River keeps finished jobs a day by default; this bounds any
// longer setting too.
func PrivacyPurgeMailJobs(ctx context.Context, db DBTX, before time.Time) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM river_job
WHERE queue = 'notify' AND state IN ('completed', 'cancelled', 'discarded') AND finalized_at < $1`, before)
	if err != nil {
		return 0, interpretError(err)
	}
	return tag.RowsAffected(), nil
}
