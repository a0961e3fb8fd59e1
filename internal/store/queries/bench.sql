-- Queries of the benchmarks (internal/bench): what they seed, wait on and
-- measure. They run on a benchmark's own database.

-- name: BenchCachedRecords :one
-- Live cached records of a vendor object, to wait for a first sync.
SELECT count(*) FROM record WHERE source_object = @source_object AND deleted_at IS NULL;

-- name: BenchMarkFresh :exec
-- Marks an object's cache fresh, as a healthy syncer keeps it, so that a
-- measured list does not schedule refreshes of stale records.
INSERT INTO sync_cursor (tenant_id, connection, object, synced_through, last_success_at)
VALUES (1, @connection, @object, now(), now())
ON CONFLICT (tenant_id, connection, object) DO UPDATE SET synced_through = now();

-- name: BenchRecordsTruncate :exec
-- Empties the cache before the sync bench's CopyFrom baseline.
TRUNCATE record, record_status_change;

-- name: BenchRecordVersion :one
-- The settled cached version of a case, to compare with the source's.
SELECT source_version FROM record
WHERE object = 'case' AND source_id = @source_id AND pending_action_id IS NULL;

-- name: BenchActionCount :one
SELECT count(*) FROM action WHERE state = @state;

-- name: BenchActionsOpen :one
SELECT count(*) FROM action WHERE state IN ('pending', 'sending');

-- name: BenchActionsApplied :one
-- How many of a tenant's actions in an id range are applied. A bench step's
-- actions are the only ones in its range; counting by range on
-- action_state_idx is cheap enough to poll during the measurement.
SELECT count(*) FROM action
WHERE tenant_id = @tenant_id AND state = 'applied' AND id BETWEEN @lo::bigint AND @hi::bigint;

-- name: BenchActionWaitReasons :many
-- Why open actions wait, the three most common reasons first.
SELECT (state || ' ' || coalesce(left(error_detail, 60), '-') || ': ' || count(*))::text AS reason
FROM action WHERE state IN ('pending', 'sending')
GROUP BY state, left(error_detail, 60) ORDER BY count(*) DESC LIMIT 3;

-- name: BenchActionLatencies :many
-- Accept to applied of the given actions in microseconds, fastest first.
SELECT (extract(epoch FROM applied_at - created_at) * 1000000)::bigint AS micros
FROM action WHERE id = ANY(@ids::bigint[]) ORDER BY 1;

-- name: BenchActionLatencyBuckets :many
-- Accept to applied of the actions applied since @since in microseconds,
-- each with its 5-second bucket of the run.
SELECT floor(extract(epoch FROM created_at - min(created_at) OVER ()) / 5)::int AS bucket,
    (extract(epoch FROM applied_at - created_at) * 1000000)::bigint AS micros
FROM action WHERE state = 'applied' AND created_at >= @since;
