package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// The benchmarks' SQL that sqlc cannot compile: it lives here, beside the
// static queries of queries/bench.sql, so that nothing outside store runs
// SQL.

// RecordSettle leaves the cache as a settled database has it: vacuumed,
// analyzed and checkpointed, so that autovacuum and the checkpointer do not
// run during a measurement. VACUUM cannot run inside a transaction, so db
// must be a pool or a connection.
func RecordSettle(ctx context.Context, db DBTX) error {
	for _, sql := range []string{"VACUUM ANALYZE record", "CHECKPOINT"} {
		if _, err := db.Exec(ctx, sql); err != nil {
			return interpret(err, sql)
		}
	}
	return nil
}

// recordColumns are the cache's columns a CopyFrom baseline copies, in the
// order RecordSnapshot reads them.
var recordColumns = []string{"tenant_id", "connection", "object", "source_id", "source_object", "owner_account", "owner_ref_key",
	"owner_ref_value", "owner_contact", "hidden", "status", "data", "raw", "source_version", "source_modified", "synced_at", "mapping_hash"}

// RecordSnapshot reads every cached row as plain values, in the order
// RecordCopyFrom writes them. It is hand-written because the rows feed a
// raw CopyFrom (the sync bench's baseline), which takes untyped values;
// data and raw come as text, as a loader would send them.
func RecordSnapshot(ctx context.Context, db DBTX) ([][]any, error) {
	rows, err := db.Query(ctx, `SELECT tenant_id, connection, object, source_id, source_object, owner_account, owner_ref_key,
		owner_ref_value, owner_contact, hidden, status, data::text, raw::text, source_version, source_modified, synced_at, mapping_hash FROM record`)
	if err != nil {
		return nil, interpret(err, "record snapshot")
	}
	defer rows.Close()
	var all [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, interpret(err, "record snapshot")
		}
		all = append(all, v)
	}
	return all, interpret(rows.Err(), "record snapshot")
}

// CopyFromer is what RecordCopyFrom runs on: a pool or a connection.
type CopyFromer interface {
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// RecordCopyFrom writes rows read by RecordSnapshot back with COPY, the
// fastest way PostgreSQL loads rows: it is the ingest baseline, so it is
// pgx's CopyFrom with nothing in between (sqlc's :copyfrom would add a
// conversion per row to what is timed).
func RecordCopyFrom(ctx context.Context, db CopyFromer, rows [][]any) (int64, error) {
	n, err := db.CopyFrom(ctx, pgx.Identifier{"record"}, recordColumns, pgx.CopyFromRows(rows))
	return n, interpret(err, "record copy")
}

// RiverJobsRunning counts River's running jobs. This and the other River
// counts below are hand-written because River, not migrations/, owns the
// river_job table, so sqlc does not know its schema.
func RiverJobsRunning(ctx context.Context, db DBTX) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'running'`).Scan(&n)
	return n, interpret(err, "count running jobs")
}

// RiverJobTrouble counts the jobs of a kind that were snoozed at least
// once and those with at least one failed attempt.
func RiverJobTrouble(ctx context.Context, db DBTX, kind string) (snoozed, retried int, err error) {
	err = db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE coalesce((metadata->>'snoozes')::int, 0) > 0),
		count(*) FILTER (WHERE coalesce(array_length(errors, 1), 0) > 0) FROM river_job WHERE kind = $1`, kind).Scan(&snoozed, &retried)
	return snoozed, retried, interpret(err, "count job trouble")
}

// RiverJobsRescued counts the jobs of a kind that River rescued after
// their worker stopped heartbeating (a killed process).
func RiverJobsRescued(ctx context.Context, db DBTX, kind string) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND errors::text LIKE '%Stuck job rescued%'`, kind).Scan(&n)
	return n, interpret(err, "count rescued jobs")
}

// RiverQueueDepth is one queue's jobs waiting (available, retryable,
// scheduled) and running.
type RiverQueueDepth struct {
	Queue            string
	Waiting, Running int64
}

// RiverQueueDepths reads every queue's depth, by queue name.
func RiverQueueDepths(ctx context.Context, db DBTX) ([]RiverQueueDepth, error) {
	rows, err := db.Query(ctx, `SELECT queue,
		count(*) FILTER (WHERE state IN ('available', 'retryable', 'scheduled')),
		count(*) FILTER (WHERE state = 'running')
		FROM river_job GROUP BY queue ORDER BY queue`)
	if err != nil {
		return nil, interpret(err, "queue depths")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[RiverQueueDepth])
	return out, interpret(err, "queue depths")
}

// RiverAttemptError is one failed attempt of a job, as River recorded it.
type RiverAttemptError struct {
	Kind, Message string
}

// RiverAttemptErrors lists every failed attempt River recorded, of jobs in
// any state.
func RiverAttemptErrors(ctx context.Context, db DBTX) ([]RiverAttemptError, error) {
	rows, err := db.Query(ctx, `SELECT kind, coalesce(e->>'error', '') FROM river_job, unnest(errors) AS e
		WHERE errors IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, interpret(err, "job errors")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[RiverAttemptError])
	return out, interpret(err, "job errors")
}
