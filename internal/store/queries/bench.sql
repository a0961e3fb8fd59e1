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

-- name: BenchNotifySeedCases :exec
-- The notify bench's cases: n cases spread over the accounts acc000.. as
-- a sync would have stored them (mapped data with status, label and next
-- step), so that a status change is an event like any other.
INSERT INTO record (tenant_id, connection, object, source_id, source_object, owner_account, status, data, raw, source_version, source_modified, mapping_hash)
SELECT 1, 'salesforce', 'case', 'bench' || lpad(i::text, 10, '0'), 'Case', 'acc' || lpad((i % @accounts::int)::text, 3, '0'), 'new',
       jsonb_build_object('status', 'new', 'status_label', 'Received', 'next_step', 'We have your request and will review it shortly.',
           'fields', jsonb_build_object('id', 'bench' || lpad(i::text, 10, '0'), 'number', lpad(i::text, 8, '0'),
               'subject', 'Bench case ' || i, 'status', 'new')),
       '{}'::jsonb, 'v1', now(), @mapping_hash::text
FROM generate_series(1, @cases::int) AS i;

-- name: BenchNotifyChangeCases :execrows
-- Moves the bench's cases from..to (by number) to a status, as a sync of
-- a newer version would: one event each.
UPDATE record SET status = @status::text,
    data = data || jsonb_build_object('status', @status::text, 'status_label', @label::text, 'next_step', @next_step::text),
    source_version = @version::text
WHERE tenant_id = 1 AND object = 'case' AND source_id >= 'bench' || lpad(@first::text, 10, '0')
  AND source_id <= 'bench' || lpad(@last::text, 10, '0');

-- name: BenchNotifyFirstEvents :many
-- When each notice's first event happened, for the delay to its mail.
SELECT ne.notice_id, min(e.created_at)::timestamptz AS first_event
FROM notice_event ne JOIN notify_event e ON e.id = ne.event_id
WHERE ne.notice_id = ANY (@notice_ids::bigint[])
GROUP BY ne.notice_id;

-- name: BenchNotifyCounts :one
SELECT (SELECT count(*) FROM notify_event)::bigint AS events,
       (SELECT count(*) FROM notify_event WHERE processed_at IS NULL)::bigint AS unprocessed,
       (SELECT count(*) FROM notice)::bigint AS notices,
       (SELECT count(*) FROM notice WHERE email = 'sent')::bigint AS sent,
       (SELECT count(*) FROM notice WHERE email = 'pending')::bigint AS pending;

-- name: BenchConnections :many
-- The bench database's server connections by state, for the soak's
-- samples.
SELECT coalesce(state, 'none')::text AS state, count(*)::bigint AS n
FROM pg_catalog.pg_stat_activity WHERE datname = current_database()
GROUP BY 1 ORDER BY 1;

-- name: BenchActionStates :many
-- Every action by state: the soak's are the only ones in its database.
SELECT state, count(*)::bigint AS n FROM action GROUP BY state ORDER BY state;

-- name: BenchAppliedByObject :many
-- Applied actions per connection and portal object, to compare with the
-- records the source gained.
SELECT connection, object, count(*)::bigint AS n FROM action
WHERE state = 'applied' GROUP BY connection, object ORDER BY connection, object;

-- name: BenchSharedResults :one
-- Source records that more than one applied action claims as its result:
-- an action applied twice under two keys would show here.
SELECT count(*) FROM (
    SELECT action.connection, action.object, action.result_id FROM action
    WHERE action.state = 'applied' AND action.result_id IS NOT NULL
    GROUP BY action.connection, action.object, action.result_id HAVING count(*) > 1
) AS shared;

-- name: BenchActionIDs :many
-- Every action's id: the soak's are the only ones in its database.
SELECT id FROM action ORDER BY id;
-- name: BenchFullSyncs :one
-- The first, full syncs of every object as the fleet ran them: how many
-- objects are done, the records they stored, and when the first began and
-- the last ended.
SELECT count(DISTINCT object) FILTER (WHERE state = 'succeeded')::bigint AS objects_done,
       coalesce(sum(records), 0)::bigint AS records,
       (SELECT count(*) FROM record WHERE deleted_at IS NULL)::bigint AS cached,
       coalesce(min(started_at), now())::timestamptz AS first_started,
       coalesce(max(finished_at), now())::timestamptz AS last_finished
FROM sync_run WHERE kind = 'full';

-- name: BenchFullSyncRepeats :many
-- Objects whose first sync took more than one full run, with each run's
-- state and records: a run resumed after a failure, or a second one.
SELECT (object || ': ' || string_agg(state || ' ' || records::text, ', ' ORDER BY id))::text AS runs
FROM sync_run WHERE kind = 'full' GROUP BY object HAVING count(*) > 1 ORDER BY object;
